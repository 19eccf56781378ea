package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

func TestDecodeEntry(t *testing.T) {
	good := appendEntry(nil, 42, []byte("hello"), false)
	tomb := appendEntry(nil, 7, nil, true)
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		return c
	}
	badTomb := appendEntry(nil, 7, []byte("x"), true)
	tests := []struct {
		name    string
		in      []byte
		index   uint64
		payload string
		tomb    bool
		err     error
	}{
		{"record", good, 42, "hello", false, nil},
		{"empty payload", appendEntry(nil, 1, nil, false), 1, "", false, nil},
		{"tombstone", tomb, 7, "", true, nil},
		{"nil", nil, 0, "", false, errShort},
		{"short", good[:headerLen-1], 0, "", false, errShort},
		{"zeros", make([]byte, 32), 0, "", false, errMagic},
		{"bad magic", flip(good, 1), 0, "", false, errMagic},
		{"flipped index", flip(good, 6), 0, "", false, errCRC},
		{"flipped crc", flip(good, 13), 0, "", false, errCRC},
		{"flipped payload", flip(good, headerLen+2), 0, "", false, errCRC},
		{"truncated payload", good[:len(good)-1], 0, "", false, errCRC},
		{"extra byte", append(append([]byte(nil), good...), 'x'), 0, "", false, errCRC},
		{"tombstone with payload", badTomb, 0, "", false, errMagic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idx, p, tb, err := decodeEntry(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if idx != tc.index || string(p) != tc.payload || tb != tc.tomb {
				t.Fatalf("got (%d, %q, %v), want (%d, %q, %v)", idx, p, tb, tc.index, tc.payload, tc.tomb)
			}
		})
	}
}

// segBytes builds a segment holding records base..base+n-1 with the given payloads.
func segBytes(base uint64, payloads ...string) []byte {
	var b []byte
	for i, p := range payloads {
		b = appendFramed(b, base+uint64(i), []byte(p), false)
	}
	return b
}

func scanBytes(t testing.TB, b []byte, base, maxIdx uint64) (scanResult, []scanned) {
	var got []scanned
	res, err := scanSegment(bytes.NewReader(b), int64(len(b)), base, maxIdx, func(e scanned) error {
		e.Payload = append([]byte(nil), e.Payload...)
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return res, got
}

func TestScanSegment(t *testing.T) {
	clean := segBytes(10, "a", "bb", "ccc", "dddd", "eeeee")
	// entry offsets: each entry is 1 varint byte + 16 + len(payload)
	off := func(i int) int {
		n := 0
		for k := 0; k < i; k++ {
			n += 17 + k + 1
		}
		return n
	}
	flipAt := func(i int) []byte { c := append([]byte(nil), clean...); c[i] ^= 0xff; return c }
	tests := []struct {
		name     string
		in       []byte
		maxIdx   uint64
		indices  []uint64
		lost     uint64
		torn     bool
		validEnd int
	}{
		{"clean", clean, 0, []uint64{10, 11, 12, 13, 14}, 0, false, len(clean)},
		{"clean bounded", clean, 14, []uint64{10, 11, 12, 13, 14}, 0, false, len(clean)},
		{"missing at end of non-tail", clean, 16, []uint64{10, 11, 12, 13, 14}, 2, false, len(clean)},
		{"torn", clean[:len(clean)-3], 0, []uint64{10, 11, 12, 13}, 0, true, off(4)},
		{"zero tail", append(append([]byte(nil), clean...), 0, 0, 0), 0, []uint64{10, 11, 12, 13, 14}, 0, true, len(clean)},
		{"payload flip", flipAt(off(2) + 17), 0, []uint64{10, 11, 13, 14}, 1, false, len(clean)},
		{"varint flip", flipAt(off(1)), 0, []uint64{10, 12, 13, 14}, 1, false, len(clean)},
		{"varint flip non-tail", flipAt(off(2)), 14, []uint64{10, 11, 13, 14}, 1, false, len(clean)},
		{"empty", nil, 0, nil, 0, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, got := scanBytes(t, tc.in, 10, tc.maxIdx)
			var idx []uint64
			for _, e := range got {
				idx = append(idx, e.Index)
				if want := "abcde"[e.Index-10]; len(e.Payload) != int(e.Index-9) || e.Payload[0] != want {
					t.Errorf("index %d payload %q", e.Index, e.Payload)
				}
			}
			if len(idx) != len(tc.indices) {
				t.Fatalf("indices %v, want %v (damages %v)", idx, tc.indices, res.Damages)
			}
			for i := range idx {
				if idx[i] != tc.indices[i] {
					t.Fatalf("indices %v, want %v", idx, tc.indices)
				}
			}
			if l := lostCount(res.Damages); l != tc.lost {
				t.Errorf("lost %d, want %d (%v)", l, tc.lost, res.Damages)
			}
			if res.TornTail != tc.torn {
				t.Errorf("torn %v, want %v", res.TornTail, tc.torn)
			}
			if res.ValidEnd != int64(tc.validEnd) {
				t.Errorf("validEnd %d, want %d", res.ValidEnd, tc.validEnd)
			}
		})
	}
}

// TestScanVarintFlipTail: in the tail, a damaged length with valid entries after
// it is resynchronised (not taken for a torn tail).
func TestScanVarintFlipTail(t *testing.T) {
	var ps []string
	for i := 0; i < 20; i++ {
		ps = append(ps, string(bytes.Repeat([]byte{'a' + byte(i)}, 40)))
	}
	b := segBytes(1, ps...)
	b[(1+16+40)*5] = 0x7f // length of record 6 now wrong
	res, got := scanBytes(t, b, 1, 0)
	if len(got) != 19 || res.TornTail || lostCount(res.Damages) != 1 || res.Damages[0].LostFirst != 6 {
		t.Fatalf("got %d records, torn %v, damages %v", len(got), res.TornTail, res.Damages)
	}
}

func FuzzRecordDecode(f *testing.F) {
	f.Add(appendEntry(nil, 1, []byte("x"), false))
	f.Add(appendEntry(nil, 9, nil, true))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, p, tomb, err := decodeEntry(b)
		if err != nil {
			return
		}
		var ib [8]byte
		binary.BigEndian.PutUint64(ib[:], idx)
		c := crc32.Update(crc32.Update(0, castagnoli, ib[:]), castagnoli, p)
		if c != binary.BigEndian.Uint32(b[12:16]) {
			t.Fatal("accepted a record whose crc fails")
		}
		if tomb && len(p) != 0 {
			t.Fatal("tombstone with payload")
		}
		// Round trip.
		if !bytes.Equal(appendEntry(nil, idx, p, tomb), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzReadSegment(f *testing.F) {
	f.Add(segBytes(1, "a", "b", "c"), false)
	f.Add(append(segBytes(1, "hello", "world"), 0, 0, 0), true)
	s := segBytes(1, "one", "two", "three", "four")
	s[21] ^= 1
	f.Add(s, false)
	f.Add([]byte{0x80, 0x80, 0x80}, true)
	f.Fuzz(func(t *testing.T, b []byte, bounded bool) {
		var maxIdx uint64
		if bounded {
			maxIdx = 1 + uint64(len(b))/17 + 3
		}
		last := uint64(0)
		res, err := scanSegment(bytes.NewReader(b), int64(len(b)), 1, maxIdx, func(e scanned) error {
			if e.End > int64(len(b)) || e.Off < 0 || e.Off >= e.End {
				t.Fatalf("bad entry bounds %d..%d of %d", e.Off, e.End, len(b))
			}
			n, sz := binary.Uvarint(b[e.Off:])
			if sz <= 0 || e.Off+int64(sz)+int64(n) != e.End {
				t.Fatalf("entry framing does not match bounds")
			}
			idx, p, tomb, err := decodeEntry(b[e.Off+int64(sz) : e.End])
			if err != nil || idx != e.Index || tomb != e.Tomb || !bytes.Equal(p, e.Payload) {
				t.Fatalf("returned an entry that does not decode: %v", err)
			}
			if e.Index <= last {
				t.Fatalf("indices not increasing: %d after %d", e.Index, last)
			}
			if maxIdx != 0 && e.Index > maxIdx {
				t.Fatalf("index %d past max %d", e.Index, maxIdx)
			}
			last = e.Index
			return nil
		})
		if err != nil {
			t.Fatalf("scan of in-memory bytes returned error %v", err)
		}
		if res.ValidEnd > int64(len(b)) {
			t.Fatal("validEnd past end")
		}
	})
}
