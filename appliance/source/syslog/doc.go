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
// cannot take more (when_full = block) readers stop reading: TCP senders see
// their windows close (back-pressure, nothing dropped), UDP datagrams queue
// in the 4 MiB socket buffer and, past it, are dropped by the kernel — which
// counts them per socket; we export that count per listener as
// logpacker_listener_kernel_drops_total (from /proc/net/udp{,6}).
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
