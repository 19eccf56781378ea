// Package syslog is the syslog input: RFC 5424 and RFC 3164 over UDP
// (RFC 5426), TCP (RFC 6587) and TLS (RFC 5425), and a /dev/log-style unix
// datagram socket.
//
// Every listener binds in its constructor (ListenStream, ListenDgram), so a
// bad address fails the node's start, and Run only serves. Run(ctx, emit)
// reads until ctx ends, then stops reading, emits every batch it already
// parsed, and returns.
//
// # Batching and back-pressure
//
// A reader frames and parses messages into a batch and hands the batch to an
// emitter goroutine whenever the emitter is idle, when the batch holds
// BatchSize events, or when the reader is about to block (TCP: nothing
// buffered; UDP: no datagram for 2 ms). The emitter calls emit, which
// returns once the batch is durable in the WAL. So parsing overlaps the WAL's
// fsync, at most two batches per connection are in memory, and when the WAL
// cannot take more readers stop reading: TCP senders see their windows close
// (back-pressure, nothing dropped), UDP datagrams queue in the 4 MiB socket
// buffer and, past it, are dropped by the kernel — which counts them per
// socket; we export that count per listener as
// logpacker_listener_kernel_drops_total (the "drops" column of
// /proc/net/udp{,6} for the listener's sockets; a closed socket keeps its last
// count).
//
// The WAL "cannot take more" in two ways (stall.go). It waits (max_size with
// when_full = block, free disk space below [wal] min_free): emit does not
// return. Or a write fails (disk full without min_free, an I/O error): emit
// returns an error, nothing of the batch was stored, and the emitter emits it
// again with backoff (50 ms doubling to 2 s, jittered; emit_retries_total)
// — the listener keeps its sockets and connections. A reader whose emit has
// waited 1 s or failed is stalled (stalled_readers); the listener logs once
// per streak (WARN when its first reader stalls, INFO when the last reads
// again) and counts streaks (stalls_total). Only an error that reports
// Permanent() (the WAL is closed: shutdown) ends it: a TCP/TLS connection is
// closed, a datagram listener stops, and every message read and not stored is
// counted in logpacker_listener_dropped_total and logged.
//
// What UDP can lose, and how it is counted: a datagram that reached the
// socket is stored, or dropped by the kernel because the receive buffer was
// full (kernel_drops_total), or read and refused for good by the WAL
// (dropped_total). On shutdown a reader takes what is still queued in its
// socket (reading without waiting, up to what a full buffer holds) before
// the socket closes; only datagrams that arrive in the instant between that
// and the close, or beyond that bound under a flood, are lost uncounted.
// Datagrams lost before they reach the host (the network, the sender's
// buffer) are not seen at all.
//
// # Framing, size, bad input
//
// Stream framing is protocol/syslog's Framer: octet-counted or LF, detected
// per frame. A message longer than max_message_size becomes one event,
// truncated, tagged "truncated" and counted; never several. A message that
// does not parse is kept raw with parse_error set. Empty frames are counted
// and skipped. Invalid UTF-8 passes through (JSON output escapes it).
//
// # Settings
//
// The package owns the [syslog] section of server.ini: Settings, with
// DefaultSettings (the embedded server.ini's values) and Set(key, value),
// which parses one key with the same ranges and messages as the rest of the
// file (max_message_size 480..16m, timezone, udp_read_buffer 0..1g,
// udp_readers 1..64, batch_size 1..65536, max_connections 1..1048576,
// idle_timeout ≥ 0; a key that is not [syslog]'s is ErrUnknownKey).
// Settings.Parse gives the parser options every listener and the RELP
// input share. The node reads the file and says where an error is (file,
// line, key); Set only judges the value.
//
// TLSSettings is the [tls] section (cert_file, key_file, client_ca_file,
// client_auth = none | request | require). Its ServerConfig is the TLS
// listener's configuration: TLS 1.2 at least; the certificate is re-read
// when cert_file's modification time changes, looked at during a handshake
// at most every 5 s, so a rotated certificate is served without a restart; a
// changed pair that does not load (a key not written yet, a broken file) is
// logged and the previous certificate kept until it does. client_auth =
// request verifies a client certificate when one is given, require refuses
// clients without one; both need client_ca_file. Paths are used as given:
// the node resolves relative ones against data_dir first.
package syslog
