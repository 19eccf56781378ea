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
package syslog
