package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Entry data layout (framed as uvarint(len) | data, tidwall/wal's Binary format):
//
//	magic(4) | index(8, big endian) | crc32c(4, big endian, over index+payload) | payload
const headerLen = 16

var (
	magicRecord    = [4]byte{0xD9, 'L', 'P', 0x01}
	magicTombstone = [4]byte{0xD9, 'L', 'P', 0x02}
	castagnoli     = crc32.MakeTable(crc32.Castagnoli)
)

// maxEntryLen bounds one entry so that a corrupt length can never make us allocate
// more than this (entries are also bounded by the file size).
const maxEntryLen = 1 << 30

var (
	errShort     = errors.New("entry shorter than header")
	errMagic     = errors.New("bad magic")
	errCRC       = errors.New("crc mismatch")
	errIndex     = errors.New("index mismatch")
	errFraming   = errors.New("bad length varint")
	errTruncated = errors.New("entry runs past end of segment")
)

// appendEntry appends the entry data (without the framing) for payload at index.
func appendEntry(dst []byte, index uint64, payload []byte, tomb bool) []byte {
	m := magicRecord
	if tomb {
		m = magicTombstone
	}
	dst = append(dst, m[:]...)
	dst = binary.BigEndian.AppendUint64(dst, index)
	c := crc32.Update(0, castagnoli, dst[len(dst)-8:])
	c = crc32.Update(c, castagnoli, payload)
	dst = binary.BigEndian.AppendUint32(dst, c)
	return append(dst, payload...)
}

// entrySize is the number of bytes a payload occupies on disk, framing included.
func entrySize(payloadLen int) int64 {
	n := headerLen + payloadLen
	return int64(uvarintLen(uint64(n)) + n)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// decodeEntry checks one entry's data. It returns the index, payload (aliasing data)
// and whether it is a tombstone. It never panics on arbitrary input.
func decodeEntry(data []byte) (index uint64, payload []byte, tomb bool, err error) {
	if len(data) < headerLen {
		return 0, nil, false, errShort
	}
	switch [4]byte(data[:4]) {
	case magicRecord:
	case magicTombstone:
		tomb = true
	default:
		return 0, nil, false, errMagic
	}
	index = binary.BigEndian.Uint64(data[4:12])
	want := binary.BigEndian.Uint32(data[12:16])
	payload = data[headerLen:]
	c := crc32.Update(0, castagnoli, data[4:12])
	c = crc32.Update(c, castagnoli, payload)
	if c != want {
		return 0, nil, false, errCRC
	}
	if tomb && len(payload) != 0 {
		return 0, nil, false, errMagic
	}
	return index, payload, tomb, nil
}

// scanned is one valid entry found by scanSegment.
type scanned struct {
	Off, End int64 // byte range of the entry including framing
	Index    uint64
	Tomb     bool
	Payload  []byte // valid only during the callback
}

// Damage is one damaged byte range of a segment and the record indices lost in it.
type Damage struct {
	Off, End            int64  // damaged bytes [Off, End)
	LostFirst, LostLast uint64 // lost index range; LostFirst > LostLast means none known
	Reason              string
}

func (d Damage) String() string {
	s := fmt.Sprintf("bytes [%d,%d): %s", d.Off, d.End, d.Reason)
	if d.LostFirst <= d.LostLast {
		s += fmt.Sprintf(", lost index %d..%d", d.LostFirst, d.LostLast)
	}
	return s
}

// scanResult summarises one segment scan.
type scanResult struct {
	Records, Tombstones int
	FirstIndex          uint64 // first valid entry's index (0 if none)
	LastIndex           uint64 // last valid entry's index (base-1 if none)
	ValidEnd            int64  // offset just after the last valid entry
	Damages             []Damage
	TornTail            bool // damage at the end with no valid entry after it
	Size                int64
}

// segScanner reads a segment through an io.ReaderAt: memory use is one entry plus
// a resync window, never the whole segment.
type segScanner struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	win  []byte
}

// readEntryAt decodes the entry whose framing starts at off. It returns the framing
// length n and the entry data (in s.buf).
func (s *segScanner) readEntryAt(off int64) (n int, data []byte, err error) {
	var hdr [binary.MaxVarintLen64]byte
	h := hdr[:]
	if rem := s.size - off; rem < int64(len(h)) {
		h = h[:rem]
	}
	if len(h) == 0 {
		return 0, nil, errTruncated
	}
	if _, err := s.r.ReadAt(h, off); err != nil && err != io.EOF {
		return 0, nil, err
	}
	l, n := binary.Uvarint(h)
	if n <= 0 {
		if n == 0 {
			return 0, nil, errTruncated
		}
		return 0, nil, errFraming
	}
	if l > uint64(s.size-off-int64(n)) {
		return n, nil, errTruncated
	}
	if l < headerLen {
		return n, nil, errShort
	}
	if l > maxEntryLen {
		return n, nil, errFraming
	}
	if cap(s.buf) < int(l) {
		s.buf = make([]byte, l)
	}
	data = s.buf[:l]
	if _, err := s.r.ReadAt(data, off+int64(n)); err != nil && err != io.EOF {
		return 0, nil, err
	}
	return n, data, nil
}

// ioError marks a read error of the underlying file (as opposed to damage).
type ioError struct{ err error }

func (e ioError) Error() string { return e.err.Error() }
func (e ioError) Unwrap() error { return e.err }

func isDamage(err error) bool {
	switch err {
	case errShort, errMagic, errCRC, errIndex, errFraming, errTruncated:
		return true
	}
	return false
}

// resync searches for the first valid entry that starts at or after from, with an
// index in (after, maxIdx]. It returns its offset or -1.
func (s *segScanner) resync(from int64, after, maxIdx uint64) (int64, error) {
	const chunk = 64 << 10
	prefix := magicRecord[:3]
	if cap(s.win) < chunk {
		s.win = make([]byte, chunk)
	}
	for pos := from; pos < s.size; {
		w := s.win[:chunk]
		if rem := s.size - pos; rem < int64(len(w)) {
			w = w[:rem]
		}
		if _, err := s.r.ReadAt(w, pos); err != nil && err != io.EOF {
			return -1, ioError{err}
		}
		i := 0
		for {
			j := bytes.Index(w[i:], prefix)
			if j < 0 {
				break
			}
			q := pos + int64(i+j)
			for k := int64(1); k <= binary.MaxVarintLen64; k++ {
				st := q - k
				if st < from {
					break
				}
				n, data, err := s.readEntryAt(st)
				if err != nil {
					if !isDamage(err) {
						return -1, ioError{err}
					}
					continue
				}
				if int64(n) != k {
					continue
				}
				idx, _, _, derr := decodeEntry(data)
				if derr == nil && idx > after && idx <= maxIdx {
					return st, nil
				}
			}
			i += j + 1
		}
		if int64(len(w)) < chunk {
			break
		}
		pos += int64(len(w)) - int64(len(prefix)-1)
	}
	return -1, nil
}

// scanSegment walks a segment whose first index is base. maxIdx is the last index
// the segment may hold (0 = unknown, i.e. the tail). fn (optional) sees every valid
// entry, tombstones included, in order; its error stops the scan and is returned.
// Returned errors are I/O errors or fn's; damage is reported in the result.
func scanSegment(r io.ReaderAt, size int64, base, maxIdx uint64, fn func(e scanned) error) (scanResult, error) {
	return scanSegmentOpts(r, size, base, maxIdx, false, fn)
}

// scanSegmentOpts is scanSegment; with stopAtDamage the first damage ends the
// segment (a torn tail) instead of searching past it for valid entries: for a
// recycled tail, whose bytes past the written end are an old segment's, and
// whose old payloads could hold anything that looks like an entry.
func scanSegmentOpts(r io.ReaderAt, size int64, base, maxIdx uint64, stopAtDamage bool, fn func(e scanned) error) (scanResult, error) {
	s := &segScanner{r: r, size: size}
	res := scanResult{Size: size, LastIndex: base - 1}
	expect := base
	var off int64
	for off < size {
		n, data, err := s.readEntryAt(off)
		var idx uint64
		var payload []byte
		var tomb bool
		if err == nil {
			idx, payload, tomb, err = decodeEntry(data)
			if err == nil && (idx != expect || (maxIdx != 0 && idx > maxIdx)) {
				err = errIndex
			}
		} else if !isDamage(err) {
			return res, ioError{err}
		}
		if err == nil {
			end := off + int64(n) + int64(len(data))
			if fn != nil {
				if ferr := fn(scanned{Off: off, End: end, Index: idx, Tomb: tomb, Payload: payload}); ferr != nil {
					return res, ferr
				}
			}
			if res.Records+res.Tombstones == 0 {
				res.FirstIndex = idx
			}
			if tomb {
				res.Tombstones++
			} else {
				res.Records++
			}
			res.LastIndex = idx
			res.ValidEnd = end
			expect = idx + 1
			off = end
			continue
		}
		bound := maxIdx
		if bound == 0 {
			// Every entry takes at least headerLen+1 bytes.
			bound = res.LastIndex + uint64((size-off)/(headerLen+1)) + 1
		}
		if err == errIndex && idx > expect && idx <= bound && !stopAtDamage {
			// A valid entry, but indices are missing before it (no damaged bytes).
			res.Damages = append(res.Damages, Damage{Off: off, End: off, Reason: "index gap",
				LostFirst: expect, LostLast: idx - 1})
			expect = idx
			continue
		}
		// Damage at off: find the next valid entry.
		next := int64(-1)
		if !stopAtDamage {
			var rerr error
			if next, rerr = s.resync(off+1, res.LastIndex, bound); rerr != nil {
				return res, rerr
			}
		}
		d := Damage{Off: off, End: size, Reason: err.Error(), LostFirst: expect, LostLast: expect - 1}
		if next < 0 {
			if maxIdx != 0 {
				d.LostLast = maxIdx
			} else {
				res.TornTail = true
			}
			res.Damages = append(res.Damages, d)
			break
		}
		d.End = next
		_, ndata, _ := s.readEntryAt(next)
		nidx, _, _, _ := decodeEntry(ndata)
		d.LostLast = nidx - 1
		res.Damages = append(res.Damages, d)
		expect = nidx
		off = next
	}
	if maxIdx != 0 && res.LastIndex < maxIdx && (len(res.Damages) == 0 || res.Damages[len(res.Damages)-1].End != size) {
		// Segment ends early (entries missing at its end).
		res.Damages = append(res.Damages, Damage{Off: size, End: size, Reason: "segment ends before the next segment's first index",
			LostFirst: res.LastIndex + 1, LostLast: maxIdx})
	}
	return res, nil
}

// Lost returns the number of record indices lost in the damages.
func lostCount(ds []Damage) uint64 {
	var n uint64
	for _, d := range ds {
		if d.LostFirst <= d.LostLast {
			n += d.LostLast - d.LostFirst + 1
		}
	}
	return n
}
