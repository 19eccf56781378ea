// Package wire is the node-to-node protocol: the frames a child node and its
// parent exchange over QUIC (ALPN "logpacker/1"), their byte layout, and the
// BATCH payload (events, zstd-compressed). It does no networking; package
// relay owns the link.
//
// # Framing
//
// A link is one bidirectional QUIC stream, opened by the child. Each
// direction is a sequence of frames:
//
//	frame = type (1 byte) | length (uvarint) | body (length bytes)
//
// A reader refuses a frame longer than its limit (DefaultMaxFrame, 16 MiB)
// before reading the body, an unknown type, a body that does not decode, and
// a body with trailing bytes. uvarint is encoding/binary's; string = uvarint
// length (at most MaxString, 4 KiB) | UTF-8 bytes.
//
//	0x01 HELLO    version uvarint | node string | caps uvarint | window uvarint
//	0x02 WELCOME  version uvarint | node string | members uvarint (≤ 1024) |
//	              members × (node string | addr string | attrs uvarint (≤ 64) |
//	                         attrs × (key string | value string))
//	0x03 BATCH    seq uvarint (≥ 1) | count uvarint (1..65536) | codec byte |
//	              rawlen uvarint (count..64 MiB) | data (rest of the body)
//	0x04 ACK      seq uvarint
//	0x05 ERROR    seq uvarint (0: the link) | code uvarint | reason string
//	0x06 PING     nonce (8 bytes, big endian)
//	0x07 PONG     nonce (8 bytes, big endian)
//
// caps: bit 0 = the child can send zstd (CapZstd). codec: 0 none, 1 zstd,
// 2 columns (only on a link whose WELCOME says version 2 or more). BATCH
// data, once decompressed (codec 1) or rebuilt (codec 2), is exactly rawlen
// bytes holding exactly count records, each uvarint length (≥ 1) | one event
// in the protocol package's binary encoding (which carries the event's ID). A zstd frame
// that announces another content size is refused before it is inflated.
// Attribute keys of WELCOME members are the Attr* constants: "state"
// (alive, suspect, dead, left) and "spare" (spare capacity in [0,1]), which
// steer a child's choice of parent, and the load figures shown by `logpacker
// status` ("cpu_user", "cpu_system", "mem_free", "disk_free", "load1").
// Unknown keys are ignored.
//
// # Columns (codec 2)
//
// A batch's records are taken apart into seven columns of like values, and
// each column is compressed on its own: zstd then sees hostnames next to
// hostnames and messages next to messages instead of interleaved binary
// headers, times become small differences, and the (node, host, app, procid,
// msgid, peer, transport) of a record, which repeats across a batch, becomes
// an index into a table sent once per batch. On the lpbench chain corpus this
// is about 0.19 of the records' bytes where zstd of the records is 0.27, at
// no more CPU (zstd has less to do; see BenchmarkBatchEncodeColumns). Every
// batch is self-contained: no state carries over from one batch to the next,
// so batches can be resent on another link as they are.
//
//	data   = 7 × (mode byte (0 raw, 1 zstd) | length uvarint | stored uvarint | stored bytes)
//	head   = per record: flags, facility, severity, hops (a byte each) | count uvarint |
//	         the received time's zone offset varint (if flag 2) | the time's (if flag 1)
//	keys   = per record: uvarint index into the batch's key table; the index equal
//	         to the table's size adds the next entry of dict
//	dict   = per new key: node, host, app, procid, msgid, peer, transport (string each)
//	seq    = per record: ID sequence minus the previous record's (zigzag uvarint, from 0)
//	times  = per record: the received time (if flag 2), then the time (if flag 1), each
//	         in nanoseconds minus the previous record's same time (from 0): uvarint
//	         zigzag(d/1000)<<1|1 when d is whole microseconds, else zigzag(d)<<1, or
//	         0 and 8 bytes big endian when that does not fit
//	message = per record: the message string
//	rest   = per record: parse error, SD elements, tags, fields as the record has them
//
// The record is rebuilt byte for byte from these (version byte 1), so the
// sender takes apart only records whose varints are minimal and whose bytes
// it understands whole; a batch with any other record goes as codec 1. A
// column's length may not exceed 3 × rawlen + 64; a column that is not used
// up exactly, an index not in the table, or records longer than rawlen
// make the batch ErrBadBatch.
//
// # Link state machine
//
//	child                                   parent
//	HELLO(version, node, caps, window)  →
//	                                    ←   WELCOME(version, node, members)
//	                                        or ERROR(0, ErrVersion/ErrUnauthorized/ErrUnavailable) and close
//	BATCH(seq=n), BATCH(n+1), …         →   (at most `window` unacknowledged)
//	                                    ←   ACK(k): every batch ≤ k is durable
//	                                    ←   ERROR(s, ErrBadBatch): batch s refused for good
//	PING(x)                             →
//	                                    ←   PONG(x)            (either side may ping)
//	                                    ←   WELCOME(…)         (any time: a new cluster view)
//
// The parent speaks min(its version, the child's); a child that cannot speak
// it closes the link. A frame that does not decode is answered with
// ERROR(0, ErrBadFrame) and the link is closed: nothing of a frame that did
// not decode is ever appended.
//
// # What an ACK promises
//
// ACK(k) is sent only after every event of every BATCH with seq ≤ k is in
// the parent's WAL and fsynced under the parent's policy: nothing is
// acknowledged before it is durable. ACKs are cumulative and increase; a parent may answer several
// batches with one ACK (it stores batches that arrived together at once). A batch refused with ERROR(s,
// ErrBadBatch) counts as settled for the cumulative ACK: the child sends it
// to its dead-letter file, not again. Seq numbers belong to one link: they
// start at 1 on every new link and mean nothing across links.
//
// # Reconnect
//
// The child keeps every unacknowledged batch (in its WAL: its cursor commits
// only up to the highest ACK). On a new link, to the same or another parent,
// it sends them again, renumbered from 1. A parent may therefore receive
// events it already stored (its ACK was lost) or that another parent stored
// (fail-over): events keep the ID the first node gave them, and duplicates
// are removed by ID where events are stored (storage writes are keyed on
// the event ID, and relays keep an exact per-origin set of the ID ranges
// they stored, so at-least-once delivery lands exactly once), never by
// batch sequence.
package wire
