// Package relp is the RELP input: rsyslog's omrelp (librelp) sends syslog
// messages here and gets each one acknowledged only once it is in the WAL.
//
// # The protocol as implemented
//
// RELP (librelp's doc/relp.md) runs over one TCP connection. Every frame is
//
//	TXNR SP COMMAND SP DATALEN [SP DATA] LF
//
// TXNR is 1 to 9 digits (1..999,999,999, then wrapping to 1; 0 is reserved
// for hints, which only a server sends), COMMAND 1 to 32 letters, DATALEN 1
// to 9 digits giving the exact number of DATA bytes; with DATALEN 0 there is
// no SP and no DATA, and LF follows DATALEN directly. The trailing LF is
// checked: it is how framing errors are caught.
//
// A session, as librelp's client runs it:
//
//	C: 1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,…\ncommands=syslog
//	S: 1 rsp 61 200 OK\nrelp_version=0\nrelp_software=logpacker\ncommands=syslog
//	C: 2 syslog 48 <13>1 2026-11-24T10:00:00Z web-1 app - - - hello
//	C: 3 syslog …            (up to the client's window of unacknowledged
//	C: 4 syslog …             transactions: omrelp's windowSize, default 128)
//	S: 2 rsp 6 200 OK
//	S: 3 rsp 6 200 OK …
//	C: 9 close 0
//	S: 9 rsp 6 200 OK
//	S: 0 serverclose 0
//
// The open must offer relp_version (we answer the client's version, capped
// at 1: librelp calls the protocol 0 and refuses a higher answer) and the
// syslog command (else: "500 …" and the connection is closed). The client
// numbers its frames 1, 2, 3, … and we check that every frame carries the
// next number (as librelp's server does), so responses, which we send in the
// order of the commands, always match the client's window. A repeated open
// is answered "200 connection already open - ignored", as librelp does.
//
// # Acknowledged means durable
//
// A connection reads frames through a 64 KiB buffer and parses each syslog
// DATA with protocol/syslog (RFC 5424 or RFC 3164, detected per message,
// the same parser and settings as the syslog listeners: a message that does
// not parse is kept raw with parse_error set, one longer than
// [syslog] max_message_size is truncated once and tagged "truncated", an
// empty one is counted and acknowledged). It collects the messages whose
// frames are already wholly buffered — up to [syslog] batch_size — into one
// batch, calls emit, which returns once the events are in the WAL and
// fsynced under [wal] fsync, and only then writes "rsp 200 OK" for every
// transaction of the batch, in order, and flushes. It never blocks in a read
// with a whole frame unanswered (Reader.Ready): a client whose window is full
// sends nothing more until it is answered. A client that sends slowly gets a
// batch per message; one that fills its window gets one fsync per window,
// and the WAL's group commit shares that fsync among connections.
//
// # Errors
//
//   - The WAL refuses a batch (emit fails): no response is sent for it; we
//     send the serverclose hint and close the connection. librelp marks the
//     session broken, omrelp suspends the action and reconnects, and on
//     reconnect librelp resends every frame that was not acknowledged. We do
//     not answer "500": librelp logs a 500 and drops the message it answers
//     (scrsp.c destroys the frame), which would lose it.
//   - A malformed frame (bad or missing TXNR, TXNR 0, a command that is not
//     letters or longer than 32, an unknown command, a DATALEN that is not
//     digits or longer than 9 digits, DATA that does not end in LF, a frame
//     cut short) and protocol violations (TXNR out of sequence, syslog
//     before open, a client sending rsp/serverclose/starttls): the frames
//     before it are stored and acknowledged, then we send serverclose and
//     close the connection — the RELP specification's answer to a framing
//     error, since a byte stream cannot be resynchronised. Logged (peer,
//     reason, byte offset) and counted in logpacker_relp_bad_frames_total.
//   - DATALEN above max_data_size ([relp] max_data_size, default 128 KiB,
//     librelp's default): refused like a malformed frame, before any DATA is
//     read (counted also in logpacker_relp_oversized_total). omrelp truncates
//     messages to rsyslog's maxMessageSize (8 KiB by default) before sending,
//     so this only happens when the two are misconfigured; librelp would then
//     resend the frame after every reconnect, as it does with imrelp.
//   - Idle for [syslog] idle_timeout, or the node shutting down: what was
//     read is stored and acknowledged, then serverclose, then close.
//   - A client that does not read its acknowledgements for 60 s loses the
//     connection (and resends).
//
// # Duplicates
//
// RELP has no message IDs. If logpacker dies after a batch is fsynced but
// before its "rsp 200" frames reach the client, the client resends those
// messages on its next connection and they are stored twice. RELP delivery
// is therefore at least once; nothing acknowledged is ever lost.
//
// # Metrics
//
// Per listener (label listener="relp"), the families the syslog listeners
// use: logpacker_listener_received_total, _parsed_total,
// _parse_errors_total, _truncated_total, _empty_frames_total, _bytes_total,
// _connections, _connections_total, _rejected_connections_total. RELP's own
// (Stats): logpacker_relp_frames_total, _bad_frames_total,
// _oversized_total, _acked_total, _unacked_closes_total; the Server is the
// prometheus.Collector that exports them (register it with the node's
// registry).
//
// # Settings
//
// The package owns the [relp] section of server.ini: Settings, with
// DefaultSettings (max_data_size = 128k, the embedded server.ini's) and
// Set(key, value), which parses max_data_size (1k..64m) with the same
// messages as the rest of the file; a key that is not [relp]'s is
// ErrUnknownKey. The rest of a RELP listener's settings are [syslog]'s
// (syslog.Settings: max_message_size, timezone, batch_size,
// max_connections, idle_timeout).
package relp
