// Package relay is both ends of the node-to-node link over QUIC (ALPN
// "logpacker/1"), speaking the frames of protocol/wire: Server, the parent's
// input, and Client, the child's output. It owns the link's concerns, so
// that the node only wires them: the links' TLS (LoadTLS), the set of stored
// event IDs and its recovery (Seen, RecoverSeen), the link metrics
// (Collector) and the record type the client forwards (Record).
//
// # Security
//
// Links are mutual TLS 1.3. `logpacker cert ca` and `logpacker cert node`
// make a cluster CA and node certificates with crypto/x509 (ECDSA P-256; no
// external tool). A node certificate is valid for server and client
// authentication, names its node ID as subject and its addresses as subject
// alternative names; the CA may sign node certificates only (path length 0).
// Keys are written 0600 before their certificates, with O_EXCL: nothing is
// overwritten. LoadTLS makes a node's link configuration from those files
// (TLSFiles) and refuses a certificate whose subject is not the node's ID.
// The server verifies a client's chain itself
// (VerifyPeerCertificate), so that every refusal (no certificate, another
// CA) is logged and counted in ServerStats.Refused, and it refuses a HELLO
// whose node ID is not the certificate's subject: a node cannot send as
// another.
//
// # Server
//
// One bidirectional stream per connection, in two stages: the link's reader
// decodes BATCHes while its storer appends the ones before. HELLO is answered
// with WELCOME; each BATCH is decoded whole (zstd size checked before inflating, record
// count and lengths exact, every event must carry its ID) or refused with
// ERROR(seq, ErrBadBatch), and nothing of it is stored; a good one is stored
// through emit (IDs kept, hops + 1) and ACKed only when emit returned, that
// is once durable in the WAL. With ServerOptions.EmitRecords (the node uses
// it) a checked batch is stored as it came — each event's binary form, the
// hop count byte bumped, a received time added only where the sender set
// none — without being decoded and encoded again. Batches that are already decoded when the storer
// gets to them (up to 16,384 events) are stored with one emit — one WAL group
// commit and one journal sync — and answered with one cumulative ACK; a
// refused batch ends such a group and gets its ERROR in order. A frame that does not decode is answered with
// ERROR(0, ErrBadFrame) and the link is closed; a failing emit closes the
// link with ErrUnavailable, so the child resends elsewhere.
//
// # Client
//
// An appliance Sink and WindowSink. Send encodes one BATCH (zstd when
// Compress), writes it, and returns; a reader goroutine per link settles the
// batches in flight from the parent's ACKs (cumulative) and ERRORs, and a
// timer fails the link when a batch waits longer than AckTimeout. The output
// loop keeps up to Window (default 4) batches in flight and commits its
// cursor to the highest contiguous ACK. On any link failure every batch in
// flight fails; the next Send dials the next upstream in the list, and the
// output loop sends again, in order, what was not ACKed. Events keep their
// IDs, so a batch stored before its ACK was lost lands again under the same
// IDs, and the parent's Seen (or storage keyed on IDs) keeps one copy. A
// refused batch is a Permanent error (the output loop dead-letters it).
// SendRecords is Send for Records — each an event's binary form and the WAL
// index it was stored at, as the node's WAL holds them — forwarded without
// being decoded (one without an ID gets ClientOptions.Origin, the node's ID
// and its WAL's epoch, and its index; HELLO names the node by its plain ID,
// the certificate's subject).
// Package relay does not import package wal: the node copies its WAL
// records into Records (appliance's relay output).
//
// # Exactly once
//
// With ServerOptions.Seen the server keeps, per origin (node ID and WAL
// epoch, protocol.Origin: a child whose WAL was created anew is a new
// origin, numbered from 1 again, not a replay), the ranges of
// event sequence numbers it stored (Seen: journaled and fdatasynced before
// the ACK, snapshot on open) and appends only what is new, holding the
// origins' locks from the check to the mark, so a batch resent on any link
// after a lost ACK is acknowledged without a second append. The node opens
// it with RecoverSeen, which re-adds the IDs of its newest WAL records (the
// node passes a function that scans them; relay does not import wal), which
// covers a crash between the WAL append and the journal line.
//
// # Parents and balancing
//
// A Client's parents come from Targets (package discovery: a DNS SRV name,
// re-resolved by a background refresh every second when its TTL has run
// out, or a static list) and from the cluster view a parent sends: with
// ServerOptions.Members a parent puts its cluster's members (relay
// address, state, spare capacity and load; the wire.Attr* keys) in WELCOME, and
// sends WELCOME again whenever the view changed (checked every
// StatusInterval) — the protocol's status frame. The client keeps the latest
// view. To connect it tries, in order: the view's alive members, a weighted
// random order by spare capacity (Efraimidis–Spirakis), then the configured
// targets not among them; a target that failed goes last for Balance.Retry.
//
// Before each batch it asks whether to leave its parent (moveReason): the
// parent is not alive in the view, has left it, has left DNS (when it came
// from DNS), is overloaded (spare below Balance.Overload while another member
// has at least twice as much), or the link is older than Balance.MaxLinkAge
// (±25%; also right after a first link made from the configured list, so
// children spread from the start) and a new weighted pick names another
// member. It moves only when the best candidate is another parent that has
// not failed lately; otherwise it stays and does not ask again for
// Balance.Retry. Leaving is lossless: the old link is marked draining, takes
// no more batches (its WELCOMEs no longer update the view), and closes once
// its batches in flight are ACKed or refused (Close fails them); the next
// batch dials the new parent. ClientStats count dials, failures and moves.
//
// # Metrics
//
// Server.Collector and Client.Collector are Prometheus collectors of their
// Stats, read at each scrape: logpacker_relay_<stat>_total (links, refused,
// batches, events, bad_frames, bad_batches, duplicates, wire_bytes,
// record_bytes, column_batches) and logpacker_relay_client_<stat>_total
// (dials, dial_failures, moves). The node registers them in its /metrics.
package relay
