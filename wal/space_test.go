package wal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"logpacker/internal/tmpfstest"
)

// fakeDisk makes statFS report free bytes from the returned value and a
// filesystem of size bytes, until the test ends.
func fakeDisk(t *testing.T, size int64) *atomic.Int64 {
	var free atomic.Int64
	free.Store(size)
	old := statFS
	statFS = func(string) (int64, int64, error) { return free.Load(), size, nil }
	t.Cleanup(func() { statFS = old })
	return &free
}

// TestMinFreeBlocksAndResumes: below min_free an append waits (it is not
// failed), the state says why, consumers still read and commit, and the
// append goes through once there is space again.
func TestMinFreeBlocksAndResumes(t *testing.T) {
	free := fakeDisk(t, 1<<30)
	l := openT(t, Options{Dir: t.TempDir(), MinFree: 1 << 20, SegmentSize: 8 << 10})
	defer l.Close()
	c, _ := l.OpenCursor("out")
	appendN(t, l, 1, 10, 500)
	if cause, _ := l.AppendState(); cause != "" {
		t.Fatalf("state %q with space", cause)
	}
	free.Store(1<<20 + 100) // a 500-byte record would leave less than min_free
	done := make(chan error, 1)
	go func() {
		first, err := l.Append(context.Background(), [][]byte{payload(11, 500)})
		if err == nil && first != 11 {
			err = errors.New("wrong index")
		}
		done <- err
	}()
	eventually(t, "append waits below min_free", func() bool { c, _ := l.AppendState(); return c == BlockedMinFree })
	cause, reason := l.AppendState()
	if st := l.Stats(); st.Blocked != cause || st.Blocks[BlockedMinFree] != 1 || st.MinFree != 1<<20 || !strings.Contains(reason, "min_free 1.0 MiB") {
		t.Fatalf("state %q %q, stats %+v", cause, reason, st)
	}
	// Consumers go on: read and commit what is stored.
	checkRecords(t, readUpTo(t, c, 10), 500, nil)
	if err := c.Commit(10); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("append returned below min_free: %v", err)
	default:
	}
	free.Store(1 << 30)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cause, reason := l.AppendState(); cause != "" {
		t.Fatalf("state after space came back: %q %q", cause, reason)
	}
	// Idle and below min_free: the next append would wait, and it says so.
	free.Store(1 << 19)
	if cause, reason := l.AppendState(); cause != BlockedMinFree || !strings.Contains(reason, "below min_free") {
		t.Fatalf("idle state below min_free: %q %q", cause, reason)
	}
}

// TestMinFreeDrainsByItself: a log that waits below min_free frees its
// space once its consumer has delivered everything, even when it is all in
// one segment (GC never deletes the tail: the log starts an empty one).
func TestMinFreeDrainsByItself(t *testing.T) {
	dir := t.TempDir()
	const capacity = 160 << 10 // a 160 KiB disk holding only the WAL: appends wait at about 60 KiB, in the first (64 KiB) segment
	old := statFS
	statFS = func(string) (int64, int64, error) {
		var used int64
		filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					used += fi.Size()
				}
			}
			return nil
		})
		return capacity - used, capacity, nil
	}
	t.Cleanup(func() { statFS = old })
	l := openT(t, Options{Dir: dir, MinFree: 100 << 10, SegmentSize: 1 << 20})
	defer l.Close()
	c, _ := l.OpenCursor("out")
	done := make(chan uint64)
	go func() { // appends until one waits, then that one goes through
		for i := uint64(1); ; i++ {
			if _, err := l.Append(context.Background(), [][]byte{payload(i, 1000)}); err != nil {
				t.Error(err)
				close(done)
				return
			}
			if i > 300 {
				done <- i
				return
			}
		}
	}()
	eventually(t, "appends wait below min_free", func() bool { c, _ := l.AppendState(); return c == BlockedMinFree })
	st := l.Stats()
	if st.Segments != 1 || st.LastIndex >= 300 {
		t.Fatalf("stats while waiting: %+v", st)
	}
	checkRecords(t, readUpTo(t, c, st.LastIndex), 1000, nil)
	if err := c.Commit(st.LastIndex); err != nil {
		t.Fatal(err)
	}
	// delivered: the log frees the segment and the appends go on (the
	// consumer keeps up from here)
	go func() {
		for {
			recs, err := c.Next(context.Background(), 100, 1<<20)
			if err != nil {
				return
			}
			c.Commit(recs[len(recs)-1].Index)
		}
	}()
	select {
	case last := <-done:
		if last != 301 {
			t.Fatalf("appends stopped at %d", last)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("appends still wait although everything was delivered: %+v", l.Stats())
	}
	if st := l.Stats(); st.FirstIndex <= 1 || st.Blocks[BlockedMinFree] == 0 {
		t.Fatalf("the delivered segment was not freed: %+v", st)
	}
}

// TestMinFreeAuto: the default reserve is 1 % of the filesystem, at least
// 4 MiB (a quarter of a tiny one), at most 64 MiB; 0 disables it.
func TestMinFreeAuto(t *testing.T) {
	for _, tc := range []struct{ size, opt, want int64 }{
		{20 << 20, MinFreeAuto, 4 << 20},      // floor
		{8 << 20, MinFreeAuto, 2 << 20},       // a quarter of a tiny disk
		{200 << 20, MinFreeAuto, 4 << 20},     // 1 % is 2 MiB: floor
		{2 << 30, MinFreeAuto, 2 << 30 / 100}, // 1 %
		{1 << 40, MinFreeAuto, 64 << 20},      // cap
		{1 << 40, 0, 0},
		{1 << 40, 5 << 20, 5 << 20},
	} {
		t.Run("", func(t *testing.T) {
			fakeDisk(t, tc.size)
			l := openT(t, Options{Dir: t.TempDir(), MinFree: tc.opt})
			defer l.Close()
			if got := l.Stats().MinFree; got != tc.want {
				t.Errorf("disk %d, min_free %d: reserve %d, want %d", tc.size, tc.opt, got, tc.want)
			}
			seg := int64(DefaultSegmentSize) // capped at a quarter of the reserve
			if tc.want > 0 {
				seg = min(seg, max(tc.want/4, 64<<10))
			}
			if l.opts.SegmentSize != seg {
				t.Errorf("disk %d, min_free %d: segment size %d, want %d", tc.size, tc.opt, l.opts.SegmentSize, seg)
			}
		})
	}
	if _, err := Open(Options{Dir: t.TempDir(), MinFree: -2}); err == nil {
		t.Error("negative min_free accepted")
	}
}

// TestDiskFullWriteIsUndone: a write that runs out of space (a short write,
// then ENOSPC) fails the append and takes its bytes back out, in the tail
// and in segments it rolled into, so the retried batch is stored once; the
// state says io_error until a write works again.
func TestDiskFullWriteIsUndone(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep int64 // free bytes left when the batch is appended
	}{
		{"in the tail", 30 << 10},
		{"after a roll", 90 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tmpfstest.Mount(t, "2m")
			l := openT(t, Options{Dir: filepath.Join(dir, "wal"), SegmentSize: 64 << 10})
			defer l.Close()
			c, _ := l.OpenCursor("out")
			appendN(t, l, 1, 10, 1000)
			free := tmpfstest.Fill(t, dir, tc.keep)
			batch := make([][]byte, 150) // 150 KB: does not fit, crosses segments
			for i := range batch {
				batch[i] = payload(uint64(11+i), 1000)
			}
			if _, err := l.Append(context.Background(), batch); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("append on a full disk: %v", err)
			}
			if cause, _ := l.AppendState(); cause != BlockedIOError {
				t.Fatalf("state after a failed write: %q", cause)
			}
			if st := l.Stats(); st.LastIndex != 10 || st.Segments != 1 {
				t.Fatalf("failed batch left records: %+v", st)
			}
			free()
			if first, err := l.Append(context.Background(), batch); err != nil || first != 11 {
				t.Fatalf("retry: %d %v", first, err)
			}
			if cause, _ := l.AppendState(); cause != "" {
				t.Fatalf("state after a write worked: %q", cause)
			}
			recs := readUpTo(t, c, 160)
			if len(recs) != 160 {
				t.Fatalf("%d records, want 160", len(recs))
			}
			checkRecords(t, recs, 1000, nil)
			l.Close()
			rep, err := Verify(filepath.Join(dir, "wal"))
			if err != nil || !rep.OK() {
				t.Fatalf("verify: %v %s", err, rep)
			}
		})
	}
}
