package wal

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// entriesOf returns the valid entries of a segment file.
func entriesOf(t testing.TB, path string, base uint64) []scanned {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, es := scanBytes(t, b, base, 0)
	return es
}

func mutate(t testing.TB, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o640); err != nil {
		t.Fatal(err)
	}
}

// buildLog writes n records of size bytes and closes the log.
func buildLog(t testing.TB, o Options, n uint64, size int) []segFile {
	t.Helper()
	l := openT(t, o)
	if _, err := l.OpenCursor("hold"); err != nil { // keeps GC away
		t.Fatal(err)
	}
	appendN(t, l, 1, n, size)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := listSegments(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// checkReopen reopens, reads everything and checks contents, lost indices,
// stats and that appends continue at next.
func checkReopen(t testing.TB, o Options, n uint64, size int, lost map[uint64]bool, wantRepairs uint64, wantCorrupt uint64, next uint64) *Log {
	t.Helper()
	l := openT(t, o)
	c, err := l.OpenCursor("check")
	if err != nil {
		t.Fatal(err)
	}
	recs := readUpTo(t, c, n-uint64(len(lost)))
	for len(recs) > 0 && l.Stats().DurableIndex > recs[len(recs)-1].Index {
		more := readUpTo(t, c, l.Stats().DurableIndex)
		recs = append(recs, more...)
	}
	checkRecords(t, recs, size, lost)
	want := 0
	for i := uint64(1); i < next; i++ {
		if !lost[i] {
			want++
		}
	}
	if len(recs) != want {
		t.Fatalf("read %d records, want %d", len(recs), want)
	}
	st := l.Stats()
	if st.Repairs != wantRepairs || st.CorruptRecords != wantCorrupt {
		t.Fatalf("repairs %d corrupt %d, want %d %d", st.Repairs, st.CorruptRecords, wantRepairs, wantCorrupt)
	}
	first, err := l.Append(context.Background(), [][]byte{payload(next, size)})
	if err != nil || first != next {
		t.Fatalf("append after repair = %d, %v; want %d", first, err, next)
	}
	r, err := c.Next(context.Background(), 10, 1<<20)
	if err != nil || len(r) != 1 || r[0].Index != next || !bytes.Equal(r[0].Data, payload(next, size)) {
		t.Fatalf("read after repair: %v %v", r, err)
	}
	return l
}

func quarantined(t testing.TB, dir string) int {
	des, _ := os.ReadDir(filepath.Join(dir, "quarantine"))
	return len(des)
}

func TestTornTail(t *testing.T) {
	const n, size = 20, 100
	for _, cut := range []int{1, 2, 5, 16, 17, 60, 116} { // bytes cut off the end (last entry is 118 bytes)
		t.Run("cut"+itoa(cut), func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir}
			segs := buildLog(t, o, n, size)
			tail := segs[len(segs)-1].path
			mutate(t, tail, func(b []byte) []byte { return b[:len(b)-cut] })
			l := checkReopen(t, o, n-1, size, nil, 1, 0, n)
			defer l.Close()
			if quarantined(t, dir) != 0 {
				t.Fatal("torn tail should be truncated, not quarantined")
			}
		})
	}
}

func TestZeroFilledTail(t *testing.T) {
	const n, size = 20, 100
	for _, z := range []int{1, 2, 7, 16, 17, 33, 64} {
		t.Run("zeros"+itoa(z), func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir}
			segs := buildLog(t, o, n, size)
			mutate(t, segs[len(segs)-1].path, func(b []byte) []byte { return append(b, make([]byte, z)...) })
			l := checkReopen(t, o, n, size, nil, 1, 0, n+1)
			l.Close()
		})
	}
	t.Run("zeros inside last entry", func(t *testing.T) {
		dir := t.TempDir()
		o := Options{Dir: dir}
		segs := buildLog(t, o, n, size)
		mutate(t, segs[len(segs)-1].path, func(b []byte) []byte {
			for i := len(b) - 30; i < len(b); i++ {
				b[i] = 0
			}
			return b
		})
		l := checkReopen(t, o, n-1, size, nil, 1, 0, n)
		l.Close()
	})
}

func TestMidSegmentCorruption(t *testing.T) {
	const n, size = 50, 100
	cases := []struct {
		name string
		at   func(e scanned) int64 // byte to flip, given entry 20
	}{
		{"payload byte", func(e scanned) int64 { return e.End - 10 }},
		{"length varint", func(e scanned) int64 { return e.Off }},
		{"index byte", func(e scanned) int64 { return e.Off + 1 + 8 }},
		{"magic byte", func(e scanned) int64 { return e.Off + 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir}
			segs := buildLog(t, o, n, size)
			tail := segs[len(segs)-1]
			es := entriesOf(t, tail.path, tail.first)
			pos := tc.at(es[19]) // record 20
			mutate(t, tail.path, func(b []byte) []byte { b[pos] ^= 0x5a; return b })
			l := checkReopen(t, o, n, size, map[uint64]bool{20: true}, 1, 1, n+1)
			defer l.Close()
			if quarantined(t, dir) != 1 {
				t.Fatal("no quarantine copy")
			}
			rep, err := Verify(dir)
			if err != nil || !rep.OK() || rep.Tombstones != 1 || len(rep.Quarantined) != 1 {
				t.Fatalf("verify after repair: %v\n%s", err, rep)
			}
		})
	}
}

func TestCorruptNonTailSegment(t *testing.T) {
	const n, size = 200, 100
	for _, tc := range []struct {
		name  string
		where func(e scanned) int64
	}{
		{"payload", func(e scanned) int64 { return e.End - 5 }},
		{"framing", func(e scanned) int64 { return e.Off }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir, SegmentSize: 4 << 10}
			segs := buildLog(t, o, n, size)
			if len(segs) < 3 {
				t.Fatalf("want several segments, got %d", len(segs))
			}
			s := segs[1]
			es := entriesOf(t, s.path, s.first)
			victim := es[3].Index
			pos := tc.where(es[3])
			mutate(t, s.path, func(b []byte) []byte { b[pos] ^= 0x5a; return b })
			rep, err := Verify(dir)
			if err != nil || rep.OK() || rep.Lost != 1 {
				t.Fatalf("verify before: %v\n%s", err, rep)
			}
			// Damage in older segments is found lazily, by readers.
			l := checkReopen(t, o, n, size, map[uint64]bool{victim: true}, 1, 1, n+1)
			defer l.Close()
			if quarantined(t, dir) != 1 {
				t.Fatal("no quarantine copy")
			}
		})
	}
}

func TestVerifyAndDump(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, SegmentSize: 4 << 10}
	segs := buildLog(t, o, 100, 100)
	rep, err := Verify(dir)
	if err != nil || !rep.OK() || rep.Records != 100 || rep.FirstIndex != 1 || rep.LastIndex != 100 || len(rep.Segments) != len(segs) {
		t.Fatalf("healthy verify: %v\n%s", err, rep)
	}
	if !strings.Contains(rep.String(), "OK") {
		t.Fatal(rep.String())
	}
	var got []uint64
	err = Dump(dir, func(i uint64, d []byte) error {
		if !bytes.Equal(d, payload(i, 100)) {
			t.Fatalf("dump %d: %q", i, d)
		}
		got = append(got, i)
		return nil
	})
	if err != nil || len(got) != 100 || got[99] != 100 {
		t.Fatalf("dump: %v, %d records", err, len(got))
	}
	// Damage: a flipped byte in segment 0 and a torn tail.
	mutate(t, segs[0].path, func(b []byte) []byte { b[40] ^= 1; return b })
	mutate(t, segs[len(segs)-1].path, func(b []byte) []byte { return b[:len(b)-3] })
	rep, err = Verify(dir)
	if err != nil || rep.OK() || rep.Lost != 1 || !rep.Segments[len(rep.Segments)-1].TornTail {
		t.Fatalf("damaged verify: %v\n%s", err, rep)
	}
	s := rep.String()
	if !strings.Contains(s, "DAMAGED") || !strings.Contains(s, "lost index 1..1") {
		t.Fatal(s)
	}
	got = got[:0]
	if err := Dump(dir, func(i uint64, d []byte) error { got = append(got, i); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 98 || got[0] != 2 {
		t.Fatalf("dump of damaged dir: %d records from %d", len(got), got[0])
	}
	// Verify is read-only.
	if rep2, _ := Verify(dir); rep2.Lost != 1 {
		t.Fatal("verify changed the directory")
	}
	if _, err := Verify(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("verify of a missing dir should fail")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
