// Command lpbench is the end-to-end load benchmark: it sends the same loggen load
// over loopback TCP to logpacker and to rsyslog, one after the other in the same run,
// and prints what each delivered to its output file, how fast, at what CPU cost per
// message and with how much memory.
//
//	lpbench [-receiver both|rsyslog|logpacker] [-duration 10s] [-conns 4] [-size 200] ...
//
// Per receiver:
//   - start it on a free 127.0.0.1 port with its own config in a temporary directory
//     (logpacker: server.ini, TCP syslog only, WAL fsync per -fsync, file output;
//     rsyslog: imtcp → omfile, nothing fsynced, no imuxsock/imklog);
//   - run `loggen -i -S -P -s SIZE --active-connections CONNS -r RATE -I SECS` against it
//     (RFC 5424, octet-counted framing);
//   - poll the output file's size every 100 ms; once loggen has exited and the file has
//     not grown for 1 s (at most 60 s), count its lines: that is "delivered";
//   - msgs/s = delivered / (loggen start → last growth of the output file);
//   - CPU = utime+stime (+ reaped children) of the receiver from /proc/PID/stat over the
//     run; peak RSS = VmHWM from /proc/PID/status just before SIGTERM.
//
// It exits 1 when logpacker delivered fewer messages than loggen sent (TCP has no
// acks, so a loss there is a bug), or when a receiver could not be measured; 130 on
// SIGINT/SIGTERM, after stopping every child process it started.
//
// Only the standard library; only loopback addresses.
package main
