package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	twal "github.com/tidwall/wal"
)

// Fsync is the durability policy of Append.
type Fsync int

const (
	// FsyncAlways: Append returns after the fsync that covers its records.
	FsyncAlways Fsync = iota
	// FsyncInterval: the writer fsyncs every Options.FsyncInterval; Append returns
	// after the fsync that covers its records.
	FsyncInterval
	// FsyncNever: Append returns after write(2); the kernel writes back when it likes.
	FsyncNever
)

func (f Fsync) String() string {
	switch f {
	case FsyncAlways:
		return "always"
	case FsyncInterval:
		return "interval"
	case FsyncNever:
		return "never"
	}
	return fmt.Sprintf("Fsync(%d)", int(f))
}

// ParseFsync parses "always", "interval" or "never".
func ParseFsync(s string) (Fsync, error) {
	switch s {
	case "always":
		return FsyncAlways, nil
	case "interval":
		return FsyncInterval, nil
	case "never":
		return FsyncNever, nil
	}
	return 0, fmt.Errorf("wal: fsync %q: want always, interval or never", s)
}

// WhenFull is what Append does when MaxSize would be exceeded.
type WhenFull int

const (
	// Block waits until consumers commit and GC frees space (or ctx ends).
	Block WhenFull = iota
	// DropOldest deletes the oldest whole segments, read or not.
	DropOldest
)

func (w WhenFull) String() string {
	switch w {
	case Block:
		return "block"
	case DropOldest:
		return "drop_oldest"
	}
	return fmt.Sprintf("WhenFull(%d)", int(w))
}

// ParseWhenFull parses "block" or "drop_oldest".
func ParseWhenFull(s string) (WhenFull, error) {
	switch s {
	case "block":
		return Block, nil
	case "drop_oldest":
		return DropOldest, nil
	}
	return 0, fmt.Errorf("wal: when_full %q: want block or drop_oldest", s)
}

// Options configure Open.
type Options struct {
	Dir           string
	Fsync         Fsync
	FsyncInterval time.Duration // default 100ms
	SegmentSize   int64         // default 8 MiB; at most MaxSize/4
	MaxSize       int64         // total bytes on disk; 0 = unlimited; enforced at segment granularity
	WhenFull      WhenFull
	Logger        *slog.Logger        // nil → slog.Default()
	OnFsync       func(time.Duration) // optional: called after each fsync with its latency
}

const (
	DefaultSegmentSize   = 8 << 20
	DefaultFsyncInterval = 100 * time.Millisecond
	minMaxSize           = 16 << 10
)

var (
	// ErrClosed is returned by operations on a closed Log.
	ErrClosed = errors.New("wal: closed")
	// ErrTooLarge is returned by Append when one call is more than a quarter of MaxSize.
	ErrTooLarge = errors.New("wal: append larger than a quarter of max_size")
	// ErrCursorDropped is returned by a Cursor whose name was dropped.
	ErrCursorDropped = errors.New("wal: cursor dropped")
)

// request is one Append call waiting for the writer.
type request struct {
	ctx         context.Context
	recs        [][]byte
	size        int64
	state       atomic.Int32 // reqQueued → reqTaken (writer) or reqAbandoned (ctx ended first)
	first, last uint64
	done        chan error
}

const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

// Log is the write-ahead log. All methods are safe for concurrent use.
type Log struct {
	opts Options
	log  *slog.Logger
	dir  string

	mu            sync.Mutex // guards everything below and every call into tw
	tw            *twal.Log
	segs          []segFile // model of the files; last is the tail
	first, last   uint64    // first retained, last written; empty: first == last+1
	durable       uint64    // readers see records ≤ durable
	durableCh     chan struct{}
	cursors       map[string]*Cursor
	closed        bool
	broken        error
	salvaged      map[uint64]bool     // non-tail segments rewritten lazily (by first index)
	corruptLogged map[uint64]bool     // segments whose corrupt reads were logged
	corruptSeen   map[uint64]struct{} // indices counted as corrupt by lazy reads
	dropped       uint64
	corrupt       uint64
	repairs       uint64

	// writer side
	qmu      sync.Mutex
	queue    []*request
	qclosed  bool
	qsig     chan struct{}
	gcsig    chan struct{}
	closeCh  chan struct{}
	wdone    chan struct{}
	syncf    *os.File // tail segment, for fsync (writer goroutine only, after Open)
	syncPath string
	batch    twal.Batch
	scratch  []byte
}

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return errors.New("wal: Options.Dir is empty")
	}
	if o.Fsync < FsyncAlways || o.Fsync > FsyncNever {
		return fmt.Errorf("wal: bad fsync policy %d", o.Fsync)
	}
	if o.WhenFull != Block && o.WhenFull != DropOldest {
		return fmt.Errorf("wal: bad when_full %d", o.WhenFull)
	}
	if o.FsyncInterval <= 0 {
		o.FsyncInterval = DefaultFsyncInterval
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxSize < 0 {
		o.MaxSize = 0
	}
	if o.MaxSize > 0 {
		if o.MaxSize < minMaxSize {
			return fmt.Errorf("wal: max_size %d is below the minimum %d", o.MaxSize, minMaxSize)
		}
		if o.SegmentSize > o.MaxSize/4 {
			o.SegmentSize = o.MaxSize / 4
		}
	}
	if o.SegmentSize > 1<<30 {
		o.SegmentSize = 1 << 30
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

func (l *Log) twOptions() *twal.Options {
	return &twal.Options{
		NoSync:           true, // we fsync ourselves (group commit)
		SegmentSize:      int(l.opts.SegmentSize),
		LogFormat:        twal.Binary,
		SegmentCacheSize: 2,
		NoCopy:           true, // payloads are copied out under l.mu
		AllowEmpty:       true, // GC may delete every record
		DirPerms:         0o750,
		FilePerms:        0o640,
	}
}

// Open opens (creating if needed) the log in o.Dir. It repairs the tail segment
// before handing the directory to tidwall/wal (see doc.go).
func Open(o Options) (*Log, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	l := &Log{
		opts: o, log: o.Logger, dir: dir,
		durableCh:     make(chan struct{}),
		cursors:       map[string]*Cursor{},
		salvaged:      map[uint64]bool{},
		corruptLogged: map[uint64]bool{},
		corruptSeen:   map[uint64]struct{}{},
		qsig:          make(chan struct{}, 1),
		gcsig:         make(chan struct{}, 1),
		closeCh:       make(chan struct{}),
		wdone:         make(chan struct{}),
	}
	for _, d := range []string{dir, filepath.Join(dir, "cursors")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("wal: %w", err)
		}
	}
	if err := cleanupTemp(dir); err != nil {
		return nil, fmt.Errorf("wal: cleanup: %w", err)
	}
	if err := l.repairTail(); err != nil {
		return nil, fmt.Errorf("wal: repair tail: %w", err)
	}
	if l.tw, err = twal.Open(dir, l.twOptions()); err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	if err := l.rebuildModel(); err != nil {
		l.tw.Close()
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		l.tw.Close()
		return nil, fmt.Errorf("wal: %w", err)
	}
	if err := l.reopenSyncFile(); err != nil {
		l.tw.Close()
		return nil, err
	}
	// Everything on disk at open is made durable now.
	if err := l.syncf.Sync(); err != nil {
		l.tw.Close()
		l.syncf.Close()
		return nil, fmt.Errorf("wal: fsync tail: %w", err)
	}
	l.durable = l.last
	if err := l.loadCursors(); err != nil {
		l.tw.Close()
		l.syncf.Close()
		return nil, err
	}
	l.log.Info("wal opened", "dir", dir, "first", l.first, "last", l.last, "segments", len(l.segs),
		"cursors", len(l.cursors), "fsync", o.Fsync.String(), "segment_size", o.SegmentSize, "max_size", o.MaxSize)
	go l.run()
	l.kickGC()
	return l, nil
}

// repairTail checks the last segment on disk before tidwall reads it: tidwall
// refuses a torn last entry (ErrCorrupt) and reads a zero-filled tail as phantom
// empty entries.
func (l *Log) repairTail() error {
	segs, err := listSegments(l.dir)
	if err != nil || len(segs) == 0 {
		return err
	}
	tail := segs[len(segs)-1]
	out, err := repairSegment(l.dir, tail, 0)
	if err != nil {
		return err
	}
	switch {
	case out.truncated:
		l.repairs++
		l.log.Warn("wal: torn or zero-filled tail truncated", "segment", filepath.Base(tail.path),
			"from_bytes", tail.size, "to_bytes", out.res.ValidEnd, "last_index", out.res.LastIndex,
			"reason", out.res.Damages[0].Reason)
	case out.rewritten:
		l.repairs++
		lost := lostCount(out.res.Damages)
		l.corrupt += lost
		l.log.Error("wal: corrupt tail segment rewritten; records lost", "segment", filepath.Base(tail.path),
			"lost", lost, "lost_indices", lostRanges(out.res.Damages), "quarantine", out.quarantine)
	}
	return nil
}

// rebuildModel reloads segment files and indices after tidwall (re)opened.
func (l *Log) rebuildModel() error {
	segs, err := listSegments(l.dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if len(segs) == 0 {
		return fmt.Errorf("wal: no segment after open in %s", l.dir)
	}
	first, err := l.tw.FirstIndex()
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	last, err := l.tw.LastIndex()
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	l.segs, l.first, l.last = segs, first, last
	return nil
}

func (l *Log) tailPath() string { return l.segs[len(l.segs)-1].path }

func (l *Log) reopenSyncFile() error {
	p := l.tailPath()
	if l.syncf != nil && l.syncPath == p {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("wal: open tail for fsync: %w", err)
	}
	if l.syncf != nil {
		l.syncf.Close()
	}
	l.syncf, l.syncPath = f, p
	return nil
}

func (l *Log) bytesLocked() int64 {
	var n int64
	for _, s := range l.segs {
		n += s.size
	}
	return n
}

func (l *Log) setDurableLocked(i uint64) {
	if i > l.durable {
		l.durable = i
		close(l.durableCh)
		l.durableCh = make(chan struct{})
	}
}

func (l *Log) kickGC() {
	select {
	case l.gcsig <- struct{}{}:
	default:
	}
}

// Append stores recs as consecutive records and returns the index of the first.
// It returns once they are durable under the fsync policy. Concurrent calls are
// group-committed by one writer goroutine. If ctx ends before the writer took the
// records, nothing was written and ctx.Err() is returned.
func (l *Log) Append(ctx context.Context, recs [][]byte) (uint64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	var size int64
	for _, r := range recs {
		size += entrySize(len(r))
	}
	if l.opts.MaxSize > 0 && size > l.opts.MaxSize/4 {
		return 0, ErrTooLarge
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r := &request{ctx: ctx, recs: recs, size: size, done: make(chan error, 1)}
	l.qmu.Lock()
	if l.qclosed {
		l.qmu.Unlock()
		return 0, ErrClosed
	}
	l.queue = append(l.queue, r)
	l.qmu.Unlock()
	select {
	case l.qsig <- struct{}{}:
	default:
	}
	select {
	case err := <-r.done:
		if err != nil {
			return 0, err
		}
		return r.first, nil
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return 0, ctx.Err()
		}
		// The writer has it: it is being written; wait for the outcome.
		if err := <-r.done; err != nil {
			return 0, err
		}
		return r.first, nil
	}
}

// fits reports whether extra bytes can be written without passing MaxSize.
// With a single segment left nothing can be freed, so it always fits.
func (l *Log) fitsLocked(extra int64) bool {
	return l.opts.MaxSize == 0 || len(l.segs) <= 1 || l.bytesLocked()+extra <= l.opts.MaxSize
}

// run is the single writer goroutine.
func (l *Log) run() {
	defer close(l.wdone)
	var (
		waiting  []*request // taken from the queue, not yet written
		unsynced []*request // FsyncInterval: written, waiting for the next fsync
		timer    *time.Timer
		timerC   <-chan time.Time
		closing  bool
	)
	groupMax := l.opts.SegmentSize / 2
	syncNow := func() {
		err := l.fsync()
		if err == nil {
			l.mu.Lock()
			l.setDurableLocked(l.last)
			l.mu.Unlock()
		}
		for _, r := range unsynced {
			r.done <- err
		}
		unsynced = unsynced[:0]
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
	}
	for {
		l.qmu.Lock()
		waiting = append(waiting, l.queue...)
		clear(l.queue)
		l.queue = l.queue[:0]
		closing = l.qclosed
		l.qmu.Unlock()

		// Build one group: everything queued that fits, up to groupMax bytes.
		var group []*request
		var gsize int64
		blocked := false
		l.mu.Lock()
		for len(waiting) > 0 {
			r := waiting[0]
			if r.ctx.Err() != nil && r.state.CompareAndSwap(reqQueued, reqAbandoned) {
				r.done <- r.ctx.Err()
			}
			if r.state.Load() == reqAbandoned {
				waiting = waiting[1:]
				continue
			}
			if len(group) > 0 && gsize+r.size > groupMax {
				break
			}
			if !l.fitsLocked(gsize + r.size) {
				blocked = len(group) == 0
				break
			}
			if !r.state.CompareAndSwap(reqQueued, reqTaken) {
				waiting = waiting[1:]
				continue
			}
			group = append(group, r)
			gsize += r.size
			waiting = waiting[1:]
		}
		l.mu.Unlock()

		if len(group) > 0 {
			err := l.writeGroup(group)
			switch {
			case err != nil:
				for _, r := range group {
					r.done <- err
				}
			case l.opts.Fsync == FsyncAlways:
				unsynced = append(unsynced, group...)
				syncNow()
			case l.opts.Fsync == FsyncNever:
				for _, r := range group {
					r.done <- nil
				}
			default:
				unsynced = append(unsynced, group...)
				if timer == nil {
					timer = time.NewTimer(l.opts.FsyncInterval)
					timerC = timer.C
				}
			}
			l.kickGC()
			continue
		}
		if blocked {
			if l.gc() {
				continue
			}
			if l.opts.WhenFull == DropOldest {
				if l.dropOldest(waiting[0].size) {
					continue
				}
			}
			if closing {
				for _, r := range waiting {
					if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
						r.done <- ErrClosed
					}
				}
				waiting = waiting[:0]
				continue
			}
		}
		if closing && len(waiting) == 0 {
			l.qmu.Lock()
			empty := len(l.queue) == 0
			l.qmu.Unlock()
			if empty {
				syncNow()
				return
			}
			continue
		}
		var headDone <-chan struct{}
		if blocked {
			headDone = waiting[0].ctx.Done()
		}
		select {
		case <-l.qsig:
		case <-l.gcsig:
			l.gc()
		case <-timerC:
			timer, timerC = nil, nil
			syncNow()
		case <-headDone:
		case <-l.closeCh:
			closing = true
		}
	}
}

// writeGroup writes the records of group as one tidwall batch (write(2), no fsync).
func (l *Log) writeGroup(group []*request) error {
	l.mu.Lock()
	if l.broken != nil {
		l.mu.Unlock()
		return l.broken
	}
	l.batch.Clear()
	segSize := l.opts.SegmentSize
	// Mirror tidwall's cycle rule to know when segment files appear.
	segs := l.segs
	tail := segs[len(segs)-1]
	newSegs := segs[: len(segs)-1 : len(segs)-1]
	var added []segFile
	if tail.size > segSize {
		added = append(added, tail)
		tail = segFile{first: l.last + 1, path: filepath.Join(l.dir, segmentName(l.last+1))}
	}
	idx := l.last + 1
	for _, r := range group {
		r.first = idx
		for _, rec := range r.recs {
			l.scratch = appendEntry(l.scratch[:0], idx, rec, false)
			l.batch.Write(idx, l.scratch)
			tail.size += int64(uvarintLen(uint64(len(l.scratch))) + len(l.scratch))
			if tail.size >= segSize {
				added = append(added, tail)
				tail = segFile{first: idx + 1, path: filepath.Join(l.dir, segmentName(idx+1))}
			}
			idx++
		}
		r.last = idx - 1
	}
	if err := l.tw.WriteBatch(&l.batch); err != nil {
		l.batch.Clear()
		err = fmt.Errorf("wal: write: %w", err)
		l.log.Error("wal: write failed; reopening", "err", err)
		l.recoverLocked()
		l.mu.Unlock()
		l.reopenSyncFileLogged()
		return err
	}
	l.last = idx - 1
	newSegs = append(append(newSegs, added...), tail)
	l.segs = newSegs
	if l.opts.Fsync == FsyncNever {
		l.setDurableLocked(l.last)
	}
	rolled := len(added) > 0
	l.mu.Unlock()
	if rolled {
		if err := l.reopenSyncFile(); err != nil {
			return l.fail(err)
		}
		if err := syncDir(l.dir); err != nil {
			return l.fail(fmt.Errorf("wal: fsync dir: %w", err))
		}
	}
	return nil
}

func (l *Log) reopenSyncFileLogged() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return
	}
	if err := l.reopenSyncFile(); err != nil {
		l.broken = err
		l.log.Error("wal: unusable", "err", err)
	}
}

// fail handles an error after records were written: reopen (repairing the tail).
func (l *Log) fail(err error) error {
	l.log.Error("wal: i/o error; reopening", "err", err)
	l.mu.Lock()
	l.recoverLocked()
	l.mu.Unlock()
	l.reopenSyncFileLogged()
	return err
}

// recoverLocked closes tidwall, repairs the tail and reopens, so that a failed
// write (disk full) leaves neither a torn entry nor a diverged in-memory state.
func (l *Log) recoverLocked() {
	l.tw.Close()
	if err := l.repairTail(); err != nil {
		l.broken = fmt.Errorf("wal: repair after error: %w", err)
		l.log.Error("wal: unusable", "err", l.broken)
		return
	}
	tw, err := twal.Open(l.dir, l.twOptions())
	if err != nil {
		l.broken = fmt.Errorf("wal: reopen after error: %w", err)
		l.log.Error("wal: unusable", "err", l.broken)
		return
	}
	l.tw = tw
	if err := l.rebuildModel(); err != nil {
		l.broken = err
		return
	}
	if l.durable > l.last {
		l.durable = l.last
	}
}

func (l *Log) fsync() error {
	t := time.Now()
	err := l.syncf.Sync()
	if l.opts.OnFsync != nil {
		l.opts.OnFsync(time.Since(t))
	}
	if err != nil {
		return l.fail(fmt.Errorf("wal: fsync: %w", err))
	}
	return nil
}

// minCommittedLocked is the index every consumer has delivered. With no cursor,
// everything durable counts as delivered.
func (l *Log) minCommittedLocked() uint64 {
	if len(l.cursors) == 0 {
		return l.durable
	}
	m := ^uint64(0)
	for _, c := range l.cursors {
		if v := c.committed.Load(); v < m {
			m = v
		}
	}
	return m
}

// gc deletes whole segments that every cursor has passed. It runs in the writer
// goroutine only. It reports whether it deleted anything.
func (l *Log) gc() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.broken != nil {
		return false
	}
	m := l.minCommittedLocked()
	if m > l.durable {
		m = l.durable
	}
	k := 0
	for k+1 < len(l.segs) && l.segs[k+1].first-1 <= m {
		k++
	}
	if k == 0 {
		return false
	}
	return l.truncateFrontLocked(k) == nil
}

// dropOldest deletes the oldest segments, read or not, until need bytes fit.
func (l *Log) dropOldest(need int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.broken != nil || len(l.segs) <= 1 {
		return false
	}
	total := l.bytesLocked()
	k := 0
	for k+1 < len(l.segs) && total+need > l.opts.MaxSize {
		total -= l.segs[k].size
		k++
	}
	if k == 0 {
		return false
	}
	newFirst := l.segs[k].first
	lo := l.first
	if m := l.minCommittedLocked(); m+1 > lo {
		lo = m + 1
	}
	if err := l.truncateFrontLocked(k); err != nil {
		return false
	}
	if lo < newFirst {
		l.dropped += newFirst - lo
		l.log.Warn("wal: full; dropped oldest undelivered records (when_full = drop_oldest)",
			"first_dropped", lo, "last_dropped", newFirst-1, "count", newFirst-lo, "max_size", l.opts.MaxSize)
	}
	return true
}

// truncateFrontLocked deletes segs[:k] through tidwall. TruncateFront copies the
// segment holding the new first index, so it is only ever called at a segment
// boundary. Runs in the writer goroutine (it may replace the tail file).
func (l *Log) truncateFrontLocked(k int) error {
	newFirst := l.segs[k].first
	tailReplaced := k == len(l.segs)-1
	if err := l.tw.TruncateFront(newFirst); err != nil {
		err = fmt.Errorf("wal: truncate front to %d: %w", newFirst, err)
		l.log.Error("wal: gc failed; reopening", "err", err)
		l.recoverLocked()
		if l.broken == nil {
			if err := l.reopenSyncFile(); err != nil {
				l.broken = err
			}
		}
		return err
	}
	l.segs = append([]segFile(nil), l.segs[k:]...)
	l.first = newFirst
	if err := syncDir(l.dir); err != nil {
		l.log.Error("wal: fsync dir after gc", "err", err)
	}
	if tailReplaced {
		// The tail file itself was replaced by a copy: reopen our fsync handle.
		l.syncf.Close()
		l.syncf = nil
		if err := l.reopenSyncFile(); err != nil {
			l.broken = err
			return err
		}
	}
	return nil
}

// Stats is a snapshot of the log's state.
type Stats struct {
	FirstIndex, LastIndex, DurableIndex uint64
	Bytes                               int64
	Segments                            int
	DroppedRecords                      uint64            // deleted unread (DropOldest)
	CorruptRecords                      uint64            // lost to corruption
	Repairs                             uint64            // segments repaired (truncated or rewritten)
	Cursors                             map[string]uint64 // committed index per cursor
}

// Stats returns a snapshot.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{
		FirstIndex: l.first, LastIndex: l.last, DurableIndex: l.durable,
		Bytes: l.bytesLocked(), Segments: len(l.segs),
		DroppedRecords: l.dropped, CorruptRecords: l.corrupt, Repairs: l.repairs,
		Cursors: make(map[string]uint64, len(l.cursors)),
	}
	for n, c := range l.cursors {
		s.Cursors[n] = c.committed.Load()
	}
	return s
}

// Close flushes pending appends, fsyncs and closes. Appends waiting for space
// (Block) get ErrClosed.
func (l *Log) Close() error {
	l.qmu.Lock()
	if l.qclosed {
		l.qmu.Unlock()
		<-l.wdone
		return nil
	}
	l.qclosed = true
	close(l.closeCh)
	l.qmu.Unlock()
	<-l.wdone
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	close(l.durableCh)
	err := l.tw.Close()
	if errors.Is(err, twal.ErrClosed) {
		err = nil
	}
	if l.syncf != nil {
		l.syncf.Close()
	}
	if err != nil {
		return fmt.Errorf("wal: close: %w", err)
	}
	return nil
}
