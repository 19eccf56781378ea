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
// caps: bit 0 = the child can send zstd (CapZstd). codec: 0 none, 1 zstd.
// BATCH data, once decompressed, is exactly rawlen bytes holding exactly
// count records, each uvarint length (≥ 1) | one event in the protocol
// package's binary encoding (which carries the event's ID). A zstd frame
// that announces another content size is refused before it is inflated.
// Attribute keys of WELCOME members are left to the cluster (load figures:
// "cpu_user", "cpu_system", "mem_free", "disk_free", "load1", …); unknown
// keys are ignored.
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
// the parent's WAL and fsynced under the parent's policy (DESIGN invariant
// 1). ACKs are cumulative and increase; a parent may answer several
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
// are removed by ID where events are stored (DESIGN invariant 4), never by
// batch sequence.
package wire
