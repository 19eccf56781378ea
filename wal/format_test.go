package wal

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	twal "github.com/tidwall/wal"
)

// TestTidwallReadsOurSegments pins the on-disk format: segments written by our
// writer are tidwall/wal Binary segments (uvarint length | entry), named after
// their first index, so the library we started from still opens and reads them,
// and our entries decode from what it returns.
func TestTidwallReadsOurSegments(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, SegmentSize: 4 << 10, Fsync: FsyncNever})
	if _, err := l.OpenCursor("hold"); err != nil { // keeps GC away
		t.Fatal(err)
	}
	const n = 300
	for i := uint64(1); i <= n; i += 10 {
		var recs [][]byte
		for j := i; j < i+10; j++ {
			recs = append(recs, payload(j, 100+int(j%50)))
		}
		if _, err := l.Append(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	if st := l.Stats(); st.Segments < 5 {
		t.Fatalf("want several segments, have %d", st.Segments)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// tidwall wants the segments alone in its directory.
	tdir := t.TempDir()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		b, err := os.ReadFile(s.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tdir, filepath.Base(s.path)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	tw, err := twal.Open(tdir, &twal.Options{NoSync: true, LogFormat: twal.Binary})
	if err != nil {
		t.Fatalf("tidwall open: %v", err)
	}
	defer tw.Close()
	first, _ := tw.FirstIndex()
	last, _ := tw.LastIndex()
	if first != 1 || last != n {
		t.Fatalf("tidwall sees %d..%d, want 1..%d", first, last, n)
	}
	for i := uint64(1); i <= n; i++ {
		data, err := tw.Read(i)
		if err != nil {
			t.Fatalf("tidwall read %d: %v", i, err)
		}
		idx, p, tomb, err := decodeEntry(data)
		if err != nil || idx != i || tomb || !bytes.Equal(p, payload(i, 100+int(i%50))) {
			t.Fatalf("entry %d: index %d tomb %v err %v", i, idx, tomb, err)
		}
	}
}
