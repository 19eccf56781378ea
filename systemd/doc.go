// Package systemd is what logpacker needs of systemd, without libsystemd and
// without cgo: the notify protocol (sd_notify(3)) and socket activation
// (sd_listen_fds_with_names(3)). The unit files that use them sit next to
// this code (logpacker.service, logpacker*.socket, sysusers.d and
// tmpfiles.d snippets) and are the reader's second stop.
//
// # Notify
//
// A service of Type=notify tells systemd how it is doing by sending
// datagrams of newline-separated KEY=VALUE lines to the unix datagram socket
// named in $NOTIFY_SOCKET (a path, or an abstract name starting with '@').
// logpacker sends:
//
//	READY=1       once the WAL is open (its tail repaired, cursors loaded),
//	              every listener is bound and running, and every output
//	              (the store too) is open: `systemctl start` returns then,
//	              and units ordered After= it find the node taking syslog.
//	              rsyslog sends it before its inputs are up (rsyslog #6810).
//	STATUS=…      what `systemctl status` shows: WAL records and the largest
//	              cursor lag, refreshed with every watchdog tick.
//	WATCHDOG=1    every half of $WATCHDOG_USEC (WatchdogSec=), but only while
//	              the pipeline's heartbeat is healthy: an output whose write
//	              has not returned for longer than the stall limit (5 min;
//	              $LOGPACKER_STALL_LIMIT) stops the pings, and systemd kills and restarts the node (the WAL and
//	              the cursors make the restart lose nothing).
//	STOPPING=1    when SIGTERM starts the drain.
//
// Without $NOTIFY_SOCKET every call is a no-op: the same binary runs under
// systemd, in a container and by hand.
//
// # Socket activation
//
// systemd binds the sockets of the .socket units, so the daemon needs no
// privilege for ports below 1024, and keeps them open while the service
// restarts: datagrams that arrive meanwhile wait in the socket's receive
// buffer (ReceiveBuffer=) instead of being refused, and TCP connections wait
// in the backlog. Listeners passes them on as $LISTEN_FDS file descriptors
// from 3 up, named by $LISTEN_FDNAMES (FileDescriptorName=), checked against
// $LISTEN_PID, and unsets the variables so that children do not take them.
package systemd
