package wal

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Regressions from a review of the segment reader and the cursor slots.

// A consumer that catches up with a commit inside the cursor sync interval
// must not leave a Block-mode log stalled: the commit is synced later and GC
// runs then.
func TestBlockDoesNotStallOnLateCommit(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir(), MaxSize: 64 << 10, SegmentSize: 8 << 10, WhenFull: Block, Fsync: FsyncNever})
	defer l.Close()
	c, _ := l.OpenCursor("a")
	go func() {
		for {
			recs, err := c.Next(context.Background(), 20, 1<<20)
			if err != nil {
				return
			}
			c.Commit(recs[len(recs)-1].Index)
		}
	}()
	for i := uint64(1); i <= 5000; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := l.Append(ctx, [][]byte{payload(i, 500)})
		cancel()
		if err != nil {
			t.Fatalf("append %d: %v (committed %d, synced %d)", i, err, c.Committed(), c.synced.Load())
		}
	}
}

// A length varint of ten continuation bytes at the end of a segment is
// damage, not "read more": Next must return, not spin holding the log's lock.
func TestTenByteVarintAtSegmentEnd(t *testing.T) {
	dir := t.TempDir()
	seg1 := appendFramed(nil, 1, []byte("one"), false)
	seg1 = append(seg1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), seg1, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(3)), appendFramed(nil, 3, []byte("three"), false), 0o640); err != nil {
		t.Fatal(err)
	}
	// the cursor exists before Open: with no cursor at all, GC may delete
	// segment 1 as delivered before the test reads it
	os.MkdirAll(filepath.Join(dir, "cursors"), 0o750)
	if err := writeCursorFile(filepath.Join(dir, "cursors"), "a", 0); err != nil {
		t.Fatal(err)
	}
	l := openT(t, Options{Dir: dir})
	defer l.Close()
	c, _ := l.OpenCursor("a")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []uint64
	for len(got) == 0 || got[len(got)-1] < 3 {
		recs, err := c.Next(ctx, 100, 1<<20)
		if err != nil {
			t.Fatalf("next: %v (have %v)", err, got)
		}
		for _, r := range recs {
			got = append(got, r.Index)
		}
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("read %v, want [1 3] (2 lost)", got)
	}
	if corrupt, _ := c.Skipped(); corrupt != 1 {
		t.Fatalf("skipped %d, want 1", corrupt)
	}
}

// A cursor moved back on open (its records were cut by a tail repair) is
// persisted, so a later commit and reopen cannot jump over records appended
// in between.
func TestMovedBackCursorIsPersisted(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, Fsync: FsyncNever}
	l := openT(t, o)
	c, _ := l.OpenCursor("a")
	appendN(t, l, 1, 20, 100)
	readUpTo(t, c, 20)
	c.Commit(19)
	if err := c.Commit(20); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// A power loss under FsyncNever: the log lost 11..20, the cursor file did not.
	segs, _ := listSegments(dir)
	tail := segs[len(segs)-1]
	f, err := os.Open(tail.path)
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	scanSegment(f, tail.size, tail.first, 0, func(e scanned) error {
		if e.Index == 10 {
			end = e.End
		}
		return nil
	})
	f.Close()
	if end == 0 || os.Truncate(tail.path, end) != nil {
		t.Fatal("could not cut the tail after index 10")
	}
	l = openT(t, o)
	if got := l.Stats().Cursors["a"]; got != 10 {
		t.Fatalf("cursor %d, want moved back to 10", got)
	}
	c, _ = l.OpenCursor("a")
	appendN(t, l, 11, 10, 100) // new records 11..20, not delivered yet
	readUpTo(t, c, 15)
	if err := c.Commit(15); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openT(t, o)
	defer l.Close()
	if got := l.Stats().Cursors["a"]; got != 15 {
		t.Fatalf("after reopen the cursor is at %d, want 15", got)
	}
}
