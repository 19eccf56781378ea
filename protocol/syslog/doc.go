// Package syslog parses RFC 5424 and RFC 3164 syslog messages into
// protocol.Event and splits byte streams into messages (RFC 6587 framing).
// It does no networking: sources read sockets and call Framer and Parser.
//
// # Parser
//
// Parser.Parse never fails and never drops. A message that does not parse is
// kept whole (after the size cut) in Message with ParseErr set to a short
// reason ("invalid PRI", "no PRI and no syslog header", "rfc5424: <go-syslog
// error with column>"); facility/severity then come from a valid PRI, else
// user.notice. Time, Host, App, ProcID, MsgID and SD are empty in that case:
// we do not keep half-parsed fields.
//
// Before anything else one trailing "\n" or "\r\n" is removed (rsyslog's
// RSYSLOG_SyslogProtocol23Format ends every message with "\n"). A message still
// longer than MaxSize (default 64 KiB) is cut to MaxSize — a few bytes shorter
// if the cut would split a valid UTF-8 character — and Parse returns
// truncated=true; the caller counts and tags it. It is never split.
//
// Detection, per message: "<PRI>1 " is RFC 5424; anything else is RFC 3164 or
// unstructured text. PRI is "<" 1–3 digits ">" with a value 0..191; a
// message that starts with '<' but has no such PRI ("<999>x", "<html>") is
// kept raw with "invalid PRI".
//
// # RFC 5424
//
// A hand-written fast path parses the well-formed common case with one string
// allocation for the whole message (all fields are substrings of it) plus
// two for structured data (one []SDElement, one []SDParam shared by all
// elements) and one per SD value that contains escapes. Anything it is not
// sure of — a leading-zero PRI, more than 6 fraction digits, a repeated param
// name, more than 8 params in an element, any syntax error — goes to
// github.com/leodido/go-syslog/v4 (rfc5424, best effort), whose verdict is
// final: an error keeps the message raw. FuzzFastPathMatchesGoSyslog checks
// that whenever the fast path accepts, the result equals the go-syslog path's.
//
// On top of go-syslog:
//   - Structured data is read by our scanner (scanSD), because go-syslog returns
//     a map: element and param order would be lost. Values are unescaped (\"
//     \] \\ lose the backslash). A repeated param name keeps both, in order.
//   - Like go-syslog we reject, as RFC 5424 does not allow them: a repeated
//     SD-ID, an unescaped ']' in a value, a backslash before any other character
//     (note: RFC 5424 §6.3.3 says to keep such a backslash; go-syslog rejects the
//     message and we follow it, so such messages are kept raw with ParseErr —
//     nothing is lost), invalid UTF-8 in a value, invalid dates (Feb 30).
//   - NILVALUE timestamp is accepted: Time stays zero (vector#21353).
//   - Fractional seconds and the message's own offset are kept in ev.Time
//     (a fixed zone, cached per Parser so times do not allocate).
//   - MSG: a leading UTF-8 BOM is removed; otherwise exactly one leading space
//     is removed, because rsyslog forwards messages from legacy inputs with the
//     space that followed "tag:" ("- -  text"). Embedded newlines are kept.
//   - rsyslog's [timeQuality ...] element is kept like any other.
//   - "-" in HOSTNAME, APP-NAME, PROCID, MSGID means empty.
//
// # RFC 3164
//
// RFC 3164 is parsed by our own code, not go-syslog's rfc3164 machine, which
// loses or mangles real input (control characters give an empty message and no
// error, "<999>" is read as 99, Cisco options and RFC 3339 timestamps exclude
// each other, IPv6 hostnames become the TAG, the TAG is left in the message):
// TestGoSyslog3164Defects records each case. Our rules, in order:
//
//  1. PRI (optional). Without one the event is user.notice, as rsyslog does.
//     Spaces after the PRI are skipped.
//  2. Cisco IOS prefixes, only after a PRI and only if a timestamp follows:
//     up to three "token: " fields — digits are the message counter or
//     sequence number (dropped), a hostname-like token is the origin hostname
//     (ev.Host). "<189>: " (counter disabled) works too.
//  3. Timestamp: an optional Cisco '*' (clock not synced) or '.' marker, then
//     either RFC 3339 (rsyslog sends it; kept with its own offset, up to 9
//     fraction digits) or "Mmm dd hh:mm:ss" with the day space-padded,
//     zero-padded or bare, an optional year ("Mmm dd yyyy hh:mm:ss", Cisco
//     "service timestamps ... year"), optional fractional seconds (Cisco
//     milliseconds), and an optional trailing ':' (Cisco). Second 60 is
//     clamped to 59. A date that does not exist is not a timestamp.
//  4. Zone: a timestamp without offset is in Options.Location (default
//     time.Local) — set it per listener for devices in another zone.
//  5. Year: a timestamp without year gets, among now.Year()-1, now.Year() and
//     now.Year()+1 (in Location, now from Options.Now), the one that puts it
//     closest to now: "Dec 31 23:59:59" received Jan 1 00:00:10 is last
//     year's, "Jan 1 00:00:05" received Dec 31 23:59:58 is next year's. Feb 29
//     only matches leap years among the three; none → not a timestamp.
//     Consequence: a date more than six months away from now lands in the
//     other year (a Cisco box with an unsynced clock at "*Mar 1" in
//     November gets next March) — such clocks are wrong anyway.
//  6. Hostname: the next word is the hostname unless it ends with ':' (then it
//     is the TAG: "sshd[42]: hi" has no hostname) or is not hostname-like.
//     Hostname-like: letters, digits, '.', '-', '_' (host_name.example-1),
//     IPv4, and IPv6 literals (hex digits, ':' and '.': fe80::1); not starting
//     with '.', '-' or '_'; "-" alone means no hostname. So a message that
//     starts with '[' after the hostname keeps the '[' (vector#7796), and the
//     hostname is never left in the message (graylog#17062). Unavoidable: with
//     a timestamp and no hostname, a first word like "Starting" is taken for
//     the hostname (rsyslog does the same).
//  7. TAG: "name: ", "name[pid]: " or "name[pid] " (name up to 48 printable
//     characters without ':' and '['). A word without ':' or "[pid]" is not a
//     TAG and stays in the message (logstash#2812: "myhost sshd hi there" →
//     host myhost, no app, message "sshd hi there"); "key:value" (no space after
//     the colon) is not a TAG either. The Cisco mnemonic is the app
//     ("%SYS-5-CONFIG_I"). One space after the TAG is removed.
//  8. Headerless (a PRI but no timestamp, RFC 3164 §4.3.3): no time, no
//     hostname, a TAG is still recognised ("<13>sshd[1]: x"); the rest is the
//     message, without ParseErr ("<13>just some text").
//  9. No PRI and no timestamp ("plain text line", "GET / HTTP/1.1", binary
//     garbage): kept whole, user.notice, ParseErr "no PRI and no syslog
//     header" — plain text cannot be told from an HTTP request, so both are
//     flagged and counted, never dropped.
//
// Control characters and invalid UTF-8 pass through unchanged everywhere (the
// JSON encoder replaces invalid UTF-8 on output).
//
// # Framer
//
// Framer splits a stream, deciding the framing of every frame on its own, so
// one connection may mix both:
//   - Octet-counted (RFC 6587 §3.4.1): the frame starts with
//     [1-9][0-9]{0,8} SP '<'. The count is believed only up to
//     max(16*maxSize, 1 MiB); a larger one (or 10+ digits, a leading zero, or
//     no '<' after the space) means the line is text and is LF-framed. One LF
//     right after an octet-counted frame (some senders add it) is dropped.
//   - Otherwise the frame runs to the next LF; one CR before it is removed.
//
// The detector peeks only as many bytes as it needs, so a short LF line
// starting with digits ("12\n") is returned without waiting for more input.
// An empty line is returned with Empty=true and no bytes: callers count it and
// make no event. A frame longer than maxSize (LF or octet-counted) is returned
// once, as its first maxSize bytes with Truncated=true and Discarded set; the
// rest is read and dropped without being buffered (a 1 MiB line costs no
// 1 MiB buffer). If the stream ends (or fails) inside a frame, the partial
// frame is returned with Partial=true, then io.EOF (or the read error).
// An HTTP request sent to the port becomes a few text frames that will get
// parse errors; the connection survives. Invalid UTF-8 passes through.
//
// Frames up to maxSize are slices of the bufio.Reader's buffer (no copy),
// valid until the next call; a truncated frame is copied once into a buffer
// the Framer reuses. Buffered reports bytes read but not yet framed, so a
// source can flush its batch when it is about to block.
package syslog
