// Package protocol defines logpacker's Event and its two encodings. It is
// bytes and types only: no networking, no files.
//
// # Identity
//
// Every event has an ID, (origin node, origin WAL index), given once by the
// first node that accepts it. A locally accepted event is appended to the WAL
// with an empty ID; the index the WAL gives it is its Seq, and the reader
// (appliance) fills ID.Node with the node's ID when it reads the record back.
// Relays and outputs keep the ID unchanged; storage writes are keyed on it.
//
// # Binary form (version 1)
//
// Used by the WAL and, later, inside wire frames. Compact and allocation-light:
//
//	byte    version (1)
//	byte    flags   (bit 0: Time present, bit 1: Received present)
//	byte    facility, byte severity, byte hops
//	uvarint count
//	str     id.node ; uvarint id.seq
//	[time]  received: varint unix-nanos, varint zone offset seconds (if flag)
//	[time]  time (if flag)
//	str     host, app, procid, msgid, message, peer, transport, parse_error
//	uvarint n SD elements, each: str id, uvarint n params, each: str name, str value
//	uvarint n tags, each str
//	uvarint n fields, each: str key, str value (keys sorted, so encoding is deterministic)
//
// where str is uvarint length followed by bytes. The decoder rejects unknown
// versions and flags, lengths over MaxFieldLen, counts larger than the bytes
// left, and trailing bytes; all strings of a decoded event share one allocation.
//
// # JSON form
//
// The public output format: one object per event with keys id ("node:seq"),
// received, time (RFC 3339 with nanoseconds; omitted when the message had
// none), facility and severity (keywords), host, app, procid, msgid, message,
// sd ({SD-ID: {param: value}}), tags, fields, transport, peer, hops, count,
// and parse_error (only when set). See README.md.
package protocol
