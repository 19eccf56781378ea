package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openT(t testing.TB, o Options) *Log {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	l, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

func payload(i uint64, size int) []byte {
	p := fmt.Appendf(nil, "rec-%08d|", i)
	for len(p) < size {
		p = append(p, byte('a'+i%26))
	}
	return p
}

func appendN(t testing.TB, l *Log, from, n uint64, size int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		first, err := l.Append(context.Background(), [][]byte{payload(i, size)})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if first != i {
			t.Fatalf("append got index %d, want %d", first, i)
		}
	}
}

// readUpTo reads with c until it has seen index last (or fails).
func readUpTo(t testing.TB, c *Cursor, last uint64) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []Record
	for len(out) == 0 || out[len(out)-1].Index < last {
		recs, err := c.Next(ctx, 100, 1<<20)
		if err != nil {
			t.Fatalf("next (have %d records, want up to %d): %v", len(out), last, err)
		}
		out = append(out, recs...)
	}
	return out
}

func checkRecords(t testing.TB, recs []Record, size int, skip map[uint64]bool) {
	t.Helper()
	prev := uint64(0)
	for _, r := range recs {
		if r.Index <= prev {
			t.Fatalf("index %d after %d", r.Index, prev)
		}
		prev = r.Index
		if skip[r.Index] {
			t.Fatalf("record %d should be lost but was returned", r.Index)
		}
		if !bytes.Equal(r.Data, payload(r.Index, size)) {
			t.Fatalf("record %d: payload %q", r.Index, r.Data)
		}
	}
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"always", "interval", "never"} {
		f, err := ParseFsync(s)
		if err != nil || f.String() != s {
			t.Errorf("ParseFsync(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := ParseFsync("sometimes"); err == nil {
		t.Error("ParseFsync accepted junk")
	}
	for _, s := range []string{"block", "drop_oldest"} {
		w, err := ParseWhenFull(s)
		if err != nil || w.String() != s {
			t.Errorf("ParseWhenFull(%q) = %v, %v", s, w, err)
		}
	}
	if _, err := ParseWhenFull("drop"); err == nil {
		t.Error("ParseWhenFull accepted junk")
	}
}

func TestAppendReadReopen(t *testing.T) {
	for _, pol := range []Fsync{FsyncAlways, FsyncInterval, FsyncNever} {
		t.Run(pol.String(), func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir, Fsync: pol, FsyncInterval: 2 * time.Millisecond, SegmentSize: 4 << 10}
			l := openT(t, o)
			c, err := l.OpenCursor("out")
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, l, 1, 200, 100)
			// A multi-record append.
			first, err := l.Append(context.Background(), [][]byte{payload(201, 100), payload(202, 100)})
			if err != nil || first != 201 {
				t.Fatalf("batch append = %d, %v", first, err)
			}
			recs := readUpTo(t, c, 100)
			checkRecords(t, recs, 100, nil)
			if err := c.Commit(100); err != nil {
				t.Fatal(err)
			}
			st := l.Stats()
			if st.LastIndex != 202 || st.DurableIndex != 202 || st.Segments < 2 || st.Cursors["out"] != 100 {
				t.Fatalf("stats %+v", st)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(context.Background(), [][]byte{[]byte("x")}); !errors.Is(err, ErrClosed) {
				t.Fatalf("append after close: %v", err)
			}
			if _, err := c.Next(context.Background(), 1, 1); !errors.Is(err, ErrClosed) {
				t.Fatalf("next after close: %v", err)
			}

			l = openT(t, o)
			defer l.Close()
			if got := l.Cursors(); len(got) != 1 || got[0] != "out" {
				t.Fatalf("cursors %v", got)
			}
			c, err = l.OpenCursor("out")
			if err != nil {
				t.Fatal(err)
			}
			if c.Committed() != 100 {
				t.Fatalf("committed after reopen %d", c.Committed())
			}
			recs = readUpTo(t, c, 202)
			if recs[0].Index != 101 || len(recs) != 102 {
				t.Fatalf("resumed at %d with %d records", recs[0].Index, len(recs))
			}
			checkRecords(t, recs, 100, nil)
			// Rewind re-reads from the committed position.
			c.Rewind()
			recs = readUpTo(t, c, 101)
			if recs[0].Index != 101 {
				t.Fatalf("after rewind got %d", recs[0].Index)
			}
			appendN(t, l, 203, 5, 100)
		})
	}
}

func TestNextBlocksUntilAppend(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir()})
	defer l.Close()
	c, _ := l.OpenCursor("c")
	got := make(chan []Record, 1)
	go func() {
		recs, err := c.Next(context.Background(), 10, 1<<20)
		if err != nil {
			t.Error(err)
		}
		got <- recs
	}()
	appendN(t, l, 1, 1, 10)
	recs := <-got
	if len(recs) != 1 || recs[0].Index != 1 {
		t.Fatalf("got %v", recs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx, 10, 1<<20); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("next on empty: %v", err)
	}
	// maxBytes is respected but at least one record is returned.
	appendN(t, l, 2, 3, 10)
	recs, err := c.Next(context.Background(), 10, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("maxBytes: %v %v", recs, err)
	}
}

func TestGroupCommit(t *testing.T) {
	var fsyncs atomic.Int64
	l := openT(t, Options{Dir: t.TempDir(), Fsync: FsyncAlways, OnFsync: func(time.Duration) { fsyncs.Add(1) }})
	const workers, per = 32, 40
	var wg sync.WaitGroup
	seen := make([]atomic.Bool, workers*per+1)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				idx, err := l.Append(context.Background(), [][]byte{[]byte("x")})
				if err != nil {
					t.Error(err)
					return
				}
				if seen[idx].Swap(true) {
					t.Errorf("index %d handed out twice", idx)
				}
			}
		}()
	}
	wg.Wait()
	before := fsyncs.Load()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	appends := int64(workers * per)
	t.Logf("%d appends, %d fsyncs", appends, before)
	if before >= appends {
		t.Fatalf("no group commit: %d fsyncs for %d appends", before, appends)
	}
}

func TestCursorsAndGC(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, SegmentSize: 4 << 10, Fsync: FsyncNever}
	l := openT(t, o)
	defer l.Close()
	a, _ := l.OpenCursor("a")
	b, _ := l.OpenCursor("b")
	appendN(t, l, 1, 300, 200) // ~15 segments
	files := func() int { s, _ := listSegments(dir); return len(s) }
	n0 := files()
	if n0 < 10 {
		t.Fatalf("only %d segments", n0)
	}
	if err := a.Commit(300); err != nil {
		t.Fatal(err)
	}
	// b holds everything back.
	time.Sleep(20 * time.Millisecond)
	if got := files(); got != n0 {
		t.Fatalf("GC deleted segments while cursor b had committed nothing: %d → %d", n0, got)
	}
	if err := b.Commit(150); err != nil {
		t.Fatal(err)
	}
	eventually(t, "GC up to 150", func() bool { return l.Stats().FirstIndex > 100 })
	st := l.Stats()
	if st.FirstIndex > 151 {
		t.Fatalf("GC deleted records b had not committed: first %d", st.FirstIndex)
	}
	if segs, _ := listSegments(dir); segs[0].first != st.FirstIndex {
		t.Fatalf("first file %d, stats first %d", segs[0].first, st.FirstIndex)
	}
	// b was removed by the operator: DropCursor unblocks GC.
	if err := l.DropCursor("b"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(200); !errors.Is(err, ErrCursorDropped) {
		t.Fatalf("commit on dropped cursor: %v", err)
	}
	eventually(t, "GC after DropCursor", func() bool { return files() == 1 })
	if got := l.Cursors(); len(got) != 1 || got[0] != "a" {
		t.Fatalf("cursors %v", got)
	}
	// Appends continue; a new cursor starts at the first retained record.
	appendN(t, l, 301, 3, 200)
	c, _ := l.OpenCursor("late")
	recs := readUpTo(t, c, 303)
	if recs[0].Index != l.Stats().FirstIndex {
		t.Fatalf("new cursor starts at %d", recs[0].Index)
	}
	checkRecords(t, recs, 200, nil)
	if _, err := l.OpenCursor("../x"); err == nil {
		t.Fatal("bad cursor name accepted")
	}
}

func TestNoCursorsMeansDelivered(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, SegmentSize: 4 << 10, Fsync: FsyncNever})
	defer l.Close()
	appendN(t, l, 1, 300, 200)
	eventually(t, "GC with no cursors", func() bool { s, _ := listSegments(dir); return len(s) <= 2 })
}

func TestBlockWhenFull(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, MaxSize: 64 << 10, SegmentSize: 8 << 10, WhenFull: Block})
	defer l.Close()
	c, _ := l.OpenCursor("slow")
	var i uint64 = 1
	for ; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := l.Append(ctx, [][]byte{payload(i, 500)})
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 1000 {
			t.Fatal("never blocked")
		}
	}
	st := l.Stats()
	if st.Bytes > 64<<10 || st.LastIndex != i-1 || st.DroppedRecords != 0 {
		t.Fatalf("stats at cap: %+v (blocked at %d)", st, i)
	}
	// A blocked append proceeds once the consumer commits.
	done := make(chan error, 1)
	go func() {
		first, err := l.Append(context.Background(), [][]byte{payload(i, 500)})
		if err == nil && first != i {
			err = fmt.Errorf("got index %d, want %d", first, i)
		}
		done <- err
	}()
	recs := readUpTo(t, c, i-1)
	checkRecords(t, recs, 500, nil)
	if err := c.Commit(i - 1); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Oversized appends are refused outright.
	if _, err := l.Append(context.Background(), [][]byte{make([]byte, 20<<10)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
}

func TestBlockedAppendFailsOnClose(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir(), MaxSize: 64 << 10, SegmentSize: 8 << 10})
	l.OpenCursor("slow")
	for i := uint64(1); ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := l.Append(ctx, [][]byte{payload(i, 500)})
		cancel()
		if err != nil {
			break
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), [][]byte{payload(0, 500)})
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked append on close: %v", err)
	}
}

func TestDropOldestWhenFull(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, MaxSize: 64 << 10, SegmentSize: 8 << 10, WhenFull: DropOldest, Fsync: FsyncNever})
	defer l.Close()
	c, _ := l.OpenCursor("slow")
	appendN(t, l, 1, 1000, 500) // ~520 KB through a 64 KiB log
	st := l.Stats()
	if st.DroppedRecords == 0 || st.FirstIndex <= 1 || st.Bytes > 64<<10+16<<10 {
		t.Fatalf("stats %+v", st)
	}
	if st.DroppedRecords != st.FirstIndex-1 {
		t.Fatalf("dropped %d, first retained %d", st.DroppedRecords, st.FirstIndex)
	}
	recs, err := c.Next(context.Background(), 10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Index != st.FirstIndex {
		t.Fatalf("cursor continued at %d, first retained %d", recs[0].Index, st.FirstIndex)
	}
	if _, gaps := c.Skipped(); gaps != st.FirstIndex-1 {
		t.Fatalf("cursor gap %d", gaps)
	}
	checkRecords(t, recs, 500, nil)
}

func TestAppendContextCancelledNotWritten(t *testing.T) {
	l := openT(t, Options{Dir: t.TempDir()})
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, [][]byte{[]byte("x")}); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if st := l.Stats(); st.LastIndex != 0 {
		t.Fatalf("cancelled append was written: %+v", st)
	}
}

func TestCorruptCursorFile(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir})
	c, _ := l.OpenCursor("c")
	appendN(t, l, 1, 10, 10)
	c.Commit(5)
	l.Close()
	os.WriteFile(filepath.Join(dir, "cursors", "c"), []byte("garbage!"), 0o640)
	l = openT(t, Options{Dir: dir})
	defer l.Close()
	c, _ = l.OpenCursor("c")
	if c.Committed() != 0 {
		t.Fatalf("corrupt cursor file should re-deliver from the start, committed %d", c.Committed())
	}
}

// TestGCWaitsForSyncedCommit: a commit is written at once but fdatasynced at
// most every CursorSyncInterval; GC must only delete what a synced commit
// covers (else a power loss would leave a cursor pointing at deleted records),
// and Close syncs the last commit.
func TestGCWaitsForSyncedCommit(t *testing.T) {
	old := CursorSyncInterval
	CursorSyncInterval = time.Hour
	defer func() { CursorSyncInterval = old }()
	dir := t.TempDir()
	l := openT(t, Options{Dir: dir, SegmentSize: 4 << 10, Fsync: FsyncNever})
	c, _ := l.OpenCursor("a")
	appendN(t, l, 1, 300, 200)
	if err := c.Commit(10); err != nil { // first commit: synced (no sync for an hour before)
		t.Fatal(err)
	}
	if err := c.Commit(300); err != nil { // written, not synced
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	l.kickGC()
	time.Sleep(20 * time.Millisecond)
	if st := l.Stats(); st.FirstIndex > 11 {
		t.Fatalf("GC went past the synced commit 10: first index %d", st.FirstIndex)
	}
	if c.Committed() != 300 {
		t.Fatalf("committed %d", c.Committed())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openT(t, Options{Dir: dir, SegmentSize: 4 << 10, Fsync: FsyncNever})
	defer l.Close()
	if got := l.Stats().Cursors["a"]; got != 300 {
		t.Fatalf("after close and reopen the cursor is at %d, want 300", got)
	}
	eventually(t, "GC after the synced commit", func() bool { return l.Stats().FirstIndex > 250 })
}

// TestRecycledSegments: GC keeps spare segments and rolls into them, so the
// tail is often an old file overwritten from the start with stale entries
// after the written end. A crash snapshot taken then must open with every
// record intact and nothing reported corrupt; a clean close leaves no stale
// bytes.
func TestRecycledSegments(t *testing.T) {
	old := CursorSyncInterval
	CursorSyncInterval = 0 // every commit synced: GC (and recycling) after each round
	defer func() { CursorSyncInterval = old }()
	dir := t.TempDir()
	o := Options{Dir: dir, SegmentSize: 4 << 10, Fsync: FsyncAlways}
	l := openT(t, o)
	c, _ := l.OpenCursor("a")
	next := uint64(1)
	staleTail := false
	var snap string
	for round := 0; round < 40; round++ {
		appendN(t, l, next, 7, 300)
		next += 7
		recs := readUpTo(t, c, next-1)
		checkRecords(t, recs, 300, nil)
		if err := c.Commit(next - 1); err != nil {
			t.Fatal(err)
		}
		l.kickGC()
		time.Sleep(time.Millisecond)
		l.mu.Lock()
		tail := l.segs[len(l.segs)-1]
		nspares := len(l.spares)
		l.mu.Unlock()
		if nspares > maxSpares {
			t.Fatalf("%d spares", nspares)
		}
		fi, err := os.Stat(tail.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > tail.size && snap == "" && round > 10 {
			staleTail = true
			snap = t.TempDir()
			copyDir(t, dir, snap) // what a crash would leave
		}
	}
	if !staleTail {
		t.Fatal("the tail was never a recycled file with stale bytes: the test did not test recycling")
	}
	// uncommitted: several sealed segments stay, some of them recycled files
	appendN(t, l, next, 300, 40) // smaller entries: sealed recycled files would keep stale bytes
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// clean close: no stale bytes, no spares, everything verifies
	rep, err := Verify(dir)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after close: %v\n%s", err, rep)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, sparePrefix+"*")); len(m) != 0 {
		t.Fatalf("spares left after close: %v", m)
	}
	// crash snapshot: the stale bytes are cut on open, nothing lost or corrupt
	l2 := openT(t, Options{Dir: snap, SegmentSize: 4 << 10})
	defer l2.Close()
	st := l2.Stats()
	if st.CorruptRecords != 0 {
		t.Fatalf("snapshot: %d corrupt records", st.CorruptRecords)
	}
	c2, _ := l2.OpenCursor("a")
	last := st.LastIndex
	appendN(t, l2, last+1, 3, 300)
	recs := readUpTo(t, c2, last+3)
	checkRecords(t, recs, 300, nil)
	if recs[len(recs)-1].Index != last+3 || recs[0].Index != st.Cursors["a"]+1 {
		t.Fatalf("snapshot read %d..%d, cursor was at %d", recs[0].Index, recs[len(recs)-1].Index, st.Cursors["a"])
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o750)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o640)
	})
	if err != nil {
		t.Fatal(err)
	}
}
