// Package protocol defines logpacker's Event and its two encodings. It is
// bytes and types only: no networking, no files.
//
// # Identity
//
// Every event has an ID, (origin, origin WAL index), given once by the
// first node that accepts it. A locally accepted event is appended to the WAL
// with an empty ID; the index the WAL gives it is its Seq, and the reader
// (appliance) fills ID.Node with the node's origin when it reads the record
// back. Relays and outputs keep the ID unchanged; storage writes are keyed on
// it.
//
// The origin is the node ID and the epoch of the WAL that gave the index
// (Origin): "<node>.<epoch>", the epoch being 8 hex digits drawn when that WAL
// was created (package wal). WAL indices start at 1 again in a WAL that was
// deleted or lost and created anew; with the node ID alone its events would
// get the IDs of events delivered before, and every layer that keys on IDs
// (the relays' seen ranges, the file output's check of its last lines, the
// stores) would drop them as duplicates. A WAL created before epochs
// existed keeps an empty epoch, so its origin stays the bare node ID and the
// IDs of what it still holds do not change. The text form, used in JSON and
// as the storage key, is "<origin>:<seq>", e.g. "leaf1.3f9a2c01:20" (or
// "leaf1:20" from a WAL without an epoch); ParseID splits it at the last
// ':'. Node IDs may contain '.', so the origin is compared whole, never
// split into node and epoch. IDs are plain strings everywhere: IDs stored
// before epochs stay valid and need no migration.
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
// The public output format: one object per event with keys id ("origin:seq"),
// received, time (RFC 3339 with nanoseconds; omitted when the message had
// none), facility and severity (keywords), host, app, procid, msgid, message,
// sd ({SD-ID: {param: value}}), tags, fields, transport, peer, hops, count,
// and parse_error (only when set). See README.md.
package protocol
