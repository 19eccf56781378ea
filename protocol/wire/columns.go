package wire

import (
	"encoding/binary"
	"fmt"
)

// CodecColumns data (wire version 2) is the batch's records taken apart
// into columns of like values, each compressed on its own (see doc.go,
// "Columns"). It decodes to exactly the bytes CodecNone would carry.

// The columns, in the order they appear in the data.
const (
	colHead  = iota // per record: flags, facility, severity, hops; count; zone offsets
	colKeys         // per record: index into the batch's key table (uvarint)
	colDict         // each new key: node, host, app, procid, msgid, peer, transport
	colSeq          // per record: ID sequence minus the previous record's (zigzag)
	colTimes        // per record: received, then time, each minus the previous one's
	colMsg          // per record: the message (uvarint length | bytes)
	colRest         // per record: parse error, SD, tags and fields as the record has them
	numCols
)

var colNames = [numCols]string{"head", "keys", "dict", "seq", "times", "message", "rest"}

// colMode says how one column is stored.
const (
	colRaw  = 0
	colZstd = 1
)

// columnsMinZstd: smaller columns are stored raw (zstd's frame would cost more).
const columnsMinZstd = 64

// columnSplitter takes records apart into columns. Not safe for concurrent use.
type columnSplitter struct {
	cols [numCols][]byte
	keys map[string]uint32
	key  []byte
	z    []byte // one column compressed
}

// split fills the columns from recs. It returns false when a record is not
// in the binary form it knows (version 1); the caller then sends the batch
// another way.
func (s *columnSplitter) split(recs [][]byte) bool {
	for i := range s.cols {
		s.cols[i] = s.cols[i][:0]
	}
	if s.keys == nil {
		s.keys = make(map[string]uint32, 512)
	} else {
		clear(s.keys)
	}
	var prevSeq uint64
	var prevRecv, prevTime int64
	for _, rec := range recs {
		r := recReader{b: rec}
		if len(rec) < 5 || rec[0] != 1 || rec[1]&^3 != 0 {
			return false
		}
		flags := rec[1]
		s.cols[colHead] = append(s.cols[colHead], flags, rec[2], rec[3], rec[4])
		r.off = 5
		count := r.uvarint()
		s.cols[colHead] = binary.AppendUvarint(s.cols[colHead], count)
		node := r.str()
		seq := r.uvarint()
		s.cols[colSeq] = binary.AppendUvarint(s.cols[colSeq], zigzag(int64(seq-prevSeq)))
		prevSeq = seq
		if flags&2 != 0 {
			t, off := r.varint(), r.varint()
			s.cols[colTimes] = appendTimeDelta(s.cols[colTimes], t-prevRecv)
			s.cols[colHead] = binary.AppendVarint(s.cols[colHead], off)
			prevRecv = t
		}
		if flags&1 != 0 {
			t, off := r.varint(), r.varint()
			s.cols[colTimes] = appendTimeDelta(s.cols[colTimes], t-prevTime)
			s.cols[colHead] = binary.AppendVarint(s.cols[colHead], off)
			prevTime = t
		}
		keyStart := r.off
		r.str() // host
		r.str() // app
		r.str() // procid
		r.str() // msgid
		keyMid := r.off
		r.str() // message
		msgEnd := r.off
		r.str() // peer
		r.str() // transport
		if r.err {
			return false
		}
		// the key: node, then host..msgid and peer..transport as encoded
		s.key = appendStr(s.key[:0], node)
		s.key = append(s.key, rec[keyStart:keyMid]...)
		s.key = append(s.key, rec[msgEnd:r.off]...)
		idx, ok := s.keys[string(s.key)]
		if !ok {
			idx = uint32(len(s.keys))
			s.keys[string(s.key)] = idx
			s.cols[colDict] = append(s.cols[colDict], s.key...)
		}
		s.cols[colKeys] = binary.AppendUvarint(s.cols[colKeys], uint64(idx))
		s.cols[colMsg] = append(s.cols[colMsg], rec[keyMid:msgEnd]...)
		restStart := r.off
		r.tail()
		if r.err || r.off != len(rec) {
			return false
		}
		s.cols[colRest] = append(s.cols[colRest], rec[restStart:]...)
	}
	return true
}

// zigzag and unzigzag are encoding/binary's signed varint mapping.
func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// appendTimeDelta writes a nanosecond difference: whole microseconds (as
// syslog timestamps and received times usually are) take 10 bits less.
// The low bit says which: 1 = microseconds; 0 = nanoseconds, where the value
// 0 (never otherwise produced: a zero difference is whole microseconds) is
// followed by 8 bytes for a difference too large for the shift.
func appendTimeDelta(dst []byte, d int64) []byte {
	if d%1000 == 0 {
		return binary.AppendUvarint(dst, zigzag(d/1000)<<1|1)
	}
	if z := zigzag(d); z < 1<<63 {
		return binary.AppendUvarint(dst, z<<1)
	}
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, uint64(d))
}

// recReader walks a record in the protocol package's binary form, or a
// column; err is set (and stays set) at the first thing out of bounds.
//
// Varints must be minimal: a record is rebuilt byte for byte from the
// values, so one with a padded varint is not split (and a column with one
// is refused).
type recReader struct {
	b   []byte
	off int
	err bool
}

func (r *recReader) uvarint() uint64 {
	if r.err {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 || n > 1 && r.b[r.off+n-1] == 0 {
		r.err = true
		return 0
	}
	r.off += n
	return v
}

func (r *recReader) varint() int64 { return unzigzag(r.uvarint()) }

func (r *recReader) bytes(n uint64) []byte {
	if r.err || n > uint64(len(r.b)-r.off) {
		r.err = true
		return nil
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *recReader) byte1() byte {
	if r.err || r.off >= len(r.b) {
		r.err = true
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *recReader) str() []byte { return r.bytes(r.uvarint()) }

// tail skips a record's parse error, SD elements, tags and fields.
func (r *recReader) tail() {
	r.str() // parse error
	for range r.count() {
		r.str()
		for range r.count() {
			r.str()
			r.str()
		}
	}
	for range r.count() {
		r.str()
	}
	for range r.count() {
		r.str()
		r.str()
	}
}

// count reads a count of things that take at least one byte each, bounded by
// what is left.
func (r *recReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.off) {
		r.err = true
		return 0
	}
	return int(n)
}

func appendStr(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendColumns writes the column section of a CodecColumns BATCH: for each
// column, mode byte | raw length uvarint | stored length uvarint | bytes.
// compress compresses one column (appending to dst).
func (s *columnSplitter) appendColumns(dst []byte, compress func(src, dst []byte) []byte) []byte {
	for i := range s.cols {
		c := s.cols[i]
		mode := byte(colRaw)
		var stored []byte
		if len(c) >= columnsMinZstd {
			if s.z = compress(c, s.z[:0]); len(s.z) < len(c) {
				mode, stored = colZstd, s.z
			}
		}
		if mode == colRaw {
			stored = c
		}
		dst = append(dst, mode)
		dst = binary.AppendUvarint(dst, uint64(len(c)))
		dst = binary.AppendUvarint(dst, uint64(len(stored)))
		dst = append(dst, stored...)
	}
	return dst
}

// errColumns is why column data does not decode.
type errColumns string

func (e errColumns) Error() string { return string(e) }

// joinColumns rebuilds count records, each uvarint length | record, from
// the columns (already decompressed) and appends them to dst. It checks
// that every column is used up exactly.
func joinColumns(dst []byte, cols *[numCols][]byte, count int, maxLen int) ([]byte, error) {
	var r [numCols]recReader
	for i := range r {
		r[i].b = cols[i]
	}
	type key struct{ node, hostToMsgid, peerTransport []byte }
	var keys []key
	var prevSeq uint64
	var prevRecv, prevTime int64
	var rec []byte
	start := len(dst)
	for n := 0; n < count; n++ {
		h := &r[colHead]
		flags, fac, sev, hops := h.byte1(), h.byte1(), h.byte1(), h.byte1()
		if flags&^3 != 0 {
			return nil, errColumns(fmt.Sprintf("record %d: unknown flags %#x", n, flags))
		}
		rec = append(rec[:0], 1, flags, fac, sev, hops)
		rec = binary.AppendUvarint(rec, h.uvarint())
		idx := r[colKeys].uvarint()
		switch {
		case r[colKeys].err:
		case idx < uint64(len(keys)):
		case idx == uint64(len(keys)):
			d := &r[colDict]
			node := d.str()
			a := d.off
			d.str()
			d.str()
			d.str()
			d.str()
			b := d.off
			d.str()
			d.str()
			if d.err {
				return nil, errColumns(fmt.Sprintf("record %d: key table truncated", n))
			}
			keys = append(keys, key{node, d.b[a:b], d.b[b:d.off]})
		default:
			return nil, errColumns(fmt.Sprintf("record %d: key %d not in the table (%d keys)", n, idx, len(keys)))
		}
		if r[colKeys].err {
			return nil, errColumns(fmt.Sprintf("record %d: keys column truncated", n))
		}
		k := keys[idx]
		rec = appendStr(rec, k.node)
		prevSeq += uint64(unzigzag(r[colSeq].uvarint()))
		rec = binary.AppendUvarint(rec, prevSeq)
		if flags&2 != 0 {
			prevRecv += readTimeDelta(&r[colTimes])
			rec = binary.AppendVarint(rec, prevRecv)
			rec = binary.AppendVarint(rec, h.varint())
		}
		if flags&1 != 0 {
			prevTime += readTimeDelta(&r[colTimes])
			rec = binary.AppendVarint(rec, prevTime)
			rec = binary.AppendVarint(rec, h.varint())
		}
		rec = append(rec, k.hostToMsgid...)
		m := &r[colMsg]
		a := m.off
		m.str()
		rec = append(rec, m.b[a:m.off]...)
		rec = append(rec, k.peerTransport...)
		rs := &r[colRest]
		a = rs.off
		rs.tail()
		rec = append(rec, rs.b[a:rs.off]...)
		for i := range r {
			if r[i].err {
				return nil, errColumns(fmt.Sprintf("record %d: column %s truncated", n, colNames[i]))
			}
		}
		dst = binary.AppendUvarint(dst, uint64(len(rec)))
		dst = append(dst, rec...)
		if len(dst)-start > maxLen {
			return nil, errColumns(fmt.Sprintf("records exceed %d bytes", maxLen))
		}
	}
	for i := range r {
		if r[i].off != len(r[i].b) {
			return nil, errColumns(fmt.Sprintf("column %s: %d bytes left over", colNames[i], len(r[i].b)-r[i].off))
		}
	}
	return dst, nil
}

func readTimeDelta(r *recReader) int64 {
	u := r.uvarint()
	switch {
	case u&1 == 1:
		return unzigzag(u>>1) * 1000
	case u != 0:
		return unzigzag(u >> 1)
	}
	if b := r.bytes(8); !r.err {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}
