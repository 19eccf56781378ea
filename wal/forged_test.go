package wal

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestForgedEntryInStaleBytes: record payloads are what senders sent, so they
// may hold a well-formed entry (magic, a future index, a valid CRC). When a
// recycled file is the tail, such payloads sit in its stale bytes; the tail
// repair after a crash must not take them for records.
func TestForgedEntryInStaleBytes(t *testing.T) {
	old := CursorSyncInterval
	CursorSyncInterval = 0
	defer func() { CursorSyncInterval = old }()
	dir := t.TempDir()
	o := Options{Dir: dir, SegmentSize: 4 << 10, Fsync: FsyncAlways}
	l := openT(t, o)
	c, _ := l.OpenCursor("a")
	const forgedIdx = 60
	forged := appendFramed(nil, forgedIdx, []byte("FORGED-EVENT"), false)
	var snap string
	next := uint64(1)
	for round := 0; round < 30 && snap == ""; round++ {
		var recs [][]byte
		for j := 0; j < 3; j++ {
			p := payload(next+uint64(j), 300)
			p = append(append([]byte("evil:"), forged...), p[:200]...)
			recs = append(recs, p)
		}
		if _, err := l.Append(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		next += 3
		readUpTo(t, c, next-1)
		c.Commit(next - 1)
		l.kickGC()
		time.Sleep(2 * time.Millisecond)
		l.mu.Lock()
		tail := l.segs[len(l.segs)-1]
		l.mu.Unlock()
		fi, _ := os.Stat(tail.path)
		if fi.Size() > tail.size && tail.first < forgedIdx && next-1 < forgedIdx {
			snap = t.TempDir()
			copyDir(t, dir, snap)
		}
	}
	l.Close()
	if snap == "" {
		t.Fatal("no snapshot with a stale recycled tail: the test did not test anything")
	}
	l2 := openT(t, Options{Dir: snap, SegmentSize: 4 << 10})
	defer l2.Close()
	st := l2.Stats()
	if st.CorruptRecords != 0 || st.LastIndex >= forgedIdx {
		t.Fatalf("after open: last %d, corrupt %d: stale bytes were taken for records", st.LastIndex, st.CorruptRecords)
	}
	c2, _ := l2.OpenCursor("x")
	recs := readUpTo(t, c2, st.LastIndex)
	for _, r := range recs {
		if string(r.Data) == "FORGED-EVENT" {
			t.Fatalf("forged record delivered at index %d (last %d, corrupt %d)", r.Index, st.LastIndex, st.CorruptRecords)
		}
	}
}
