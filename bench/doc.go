// Command lpbench is the end-to-end load benchmark: it sends the same loggen load
// over loopback TCP to rsyslog, to logpacker writing a file (the store off) and to
// logpacker with its default outputs (file + the searchable store, what `make run`
// runs), one after the other in the same run, and prints what each delivered (to its
// output file; for the default node, to its store), how fast, at what CPU cost per
// message and with how much memory.
//
// It benchmarks the built binaries from outside, so it lives apart from the
// node's packages: build it with `go build -o bin/lpbench ./bench` (or `make
// build`) and run it from the repository root, where its defaults
// (-logpacker bin/logpacker, -loggen .ci/loggen.sh) are; `make bench` does both.
//
//	lpbench [-scenario single|chain|both] [-receiver all|both|rsyslog,logpacker,logpacker-default]
//	        [-duration 10s] [-conns 4] [-size 200] [-runs 3] ...
//
// -receiver all (the default) runs the three; both is rsyslog and logpacker; a
// comma-separated list picks some.
//
// # Scenario single (the default)
//
// Per receiver:
//   - start it on a free 127.0.0.1 port with its own config in a temporary directory
//     (logpacker: server.ini, TCP syslog only, WAL fsync per -fsync, file output,
//     [output.store] enabled = false; logpacker-default: the same but the store left
//     to its default, on for a root, so file + store as `make run`;
//     rsyslog: imtcp → omfile, nothing fsynced, no imuxsock/imklog);
//   - run `loggen -i -S -P -s SIZE --active-connections CONNS -r RATE -I SECS` against it
//     (RFC 5424, octet-counted framing);
//   - poll the output file's size every 100 ms; once loggen has exited and the file has
//     not grown for 1 s (at most 60 s), count its lines: that is "delivered";
//   - logpacker-default instead: delivered = what the store has, the "total" of
//     GET /api/v1/hits?step=24h&from=(run start − 1 h) polled every 250 ms; the end is
//     loggen exited and the total not grown for 1 s and equal to the count sent (or not
//     grown for 15 s, or still growing -drain after loggen exited). While loggen runs,
//     logpacker_wal_cursor_lag_records{cursor="output.store"} is read from /metrics
//     every 500 ms: the run prints its maximum, its value at 25/50/75/100% of the load
//     and its trend over the second half (records/s, least squares): GROWING when
//     that is more than 1% of the ingest rate (the store falls behind), else bounded;
//     and the store's count at loggen's exit. The hits queries cost the node CPU (and
//     are counted in it): after the run, 10 more on the idle node measure one query's
//     cost, printed as an upper bound of that share. The file's line count is noted;
//   - msgs/s = delivered / (loggen start → last growth of the output file, or of the
//     store's total);
//   - CPU = utime+stime (+ reaped children) of the receiver from /proc/PID/stat over the
//     run; peak RSS = VmHWM from /proc/PID/status just before SIGTERM.
//
// The table shows every run and the medians, then each receiver's medians against
// rsyslog's (throughput, CPU per message and peak RSS ratios), the goal line for
// logpacker-default (CPU per message ≤ 1.0× rsyslog's) and the store's lag per run
// (the goal: bounded, not growing). The figures are reported, not asserted.
//
// # Scenario chain
//
// Three logpacker nodes against two rsyslog instances, each chain on loopback, the
// same load into the first node of each:
//   - logpacker: leaf (TCP syslog in, relay out) → mid ([listen] relay, relay out) →
//     root ([listen] relay, file output); QUIC node links with mutual TLS
//     (certificates made with `logpacker cert ca` / `cert node` in the temporary
//     directory), [relay] compress = true, [wal] fsync per -fsync (default always) at
//     every hop, an HTTP port per node for /metrics;
//   - rsyslog: A (imtcp → omrelp with a disk-assisted LinkedList action queue,
//     saveOnShutdown, resumeRetryCount -1, the RFC 5424 template, windowSize per
//     -relp-window) → B (imrelp → omfile), nothing fsynced;
//   - the load: `loggen -i -S -d -R CORPUS -l --active-connections CONNS -r RATE -I SECS`,
//     each line of CORPUS sent as it is, newline-framed, the file read in a loop.
//     CORPUS is generated (corpus.go: 100,000 realistic RFC 5424 lines of exactly
//     -size bytes from a mixed server fleet, fixed seed) or given with -corpus.
//     loggen's own payload is a padding that compresses ~30:1, which would make the
//     wire-bytes figure meaningless; the header prints how well gzip compresses the
//     corpus, the yardstick for the wire figure;
//   - measured as in single, over the chain's last output file (the end: loggen has
//     exited and the file has every message sent, or has not grown for 15 s, or
//     -drain has passed); CPU and peak RSS of every process of the chain; the
//     first 1000 output lines are checked against the corpus (logpacker: a leaf
//     event, 2 hops, parsed, its message a corpus line's);
//   - logpacker's wire bytes: logpacker_relay_wire_bytes_total (BATCH data as
//     received, compressed) and _record_bytes_total (the same events uncompressed)
//     of mid and root, over logpacker_listener_bytes_total of the leaf (the raw
//     syslog bytes). QUIC and TLS framing are not included.
//
// The chain has no logpacker-default (its root writes a file, as rsyslog's B does).
//
// The chain's table shows per run and median: msgs/s end to end, CPU s per 1M messages
// summed over the chain, peak RSS per process and summed, wire/raw per hop; then
// the ratios against the goals (logpacker ≥ 3× rsyslog's msgs/s, wire ≤ 1/8 raw).
//
// -cpuprofile FILE saves a CPU profile of logpacker taken during the load of the
// first run: single writes FILE (logpacker) and FILE with -default before the
// extension (logpacker-default), chain FILE with -leaf, -mid, -root (go tool pprof
// -top FILE).
//
// It exits 1 when logpacker or logpacker-default delivered fewer messages than
// loggen sent (TCP has no acks, so a loss there is a bug; for logpacker-default,
// the store not reaching the count is one; in the chain also more, a duplicate), or
// when a receiver could not be measured; 130 on SIGINT/SIGTERM, after stopping
// every child process it started. On a loss or a failure a logpacker run prints
// the last lines of the node's log (-keep keeps the whole temporary directory).
//
// Only the standard library; only loopback addresses.
package main
