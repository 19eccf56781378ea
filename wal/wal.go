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
	SegmentSize   int64         // default 8 MiB; at most MaxSize/4 and MinFree/4 (at least 64 KiB)
	MaxSize       int64         // total bytes on disk; 0 = unlimited; enforced at segment granularity
	WhenFull      WhenFull
	// MinFree is the free space, in bytes, appends leave on the WAL's
	// filesystem: below it they wait, as for MaxSize with Block, whatever
	// WhenFull says, while consumers go on reading and committing, so GC
	// frees segments. 0: no reserve; MinFreeAuto: 1 % of the filesystem,
	// within [4 MiB, 64 MiB]. See doc.go, "Disk space".
	MinFree int64
	Logger  *slog.Logger        // nil → slog.Default()
	OnFsync func(time.Duration) // optional: called after each fsync with its latency
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
	opts  Options
	log   *slog.Logger
	dir   string
	epoch string // this directory's incarnation (epoch.go)

	mu            sync.Mutex // guards everything below
	segs          []segFile  // model of the files; last is the tail
	first, last   uint64     // first retained, last written; empty: first == last+1
	durable       uint64     // readers see records ≤ durable
	durableCh     chan struct{}
	cursors       map[string]*Cursor
	closed        bool
	broken        error
	gen           uint64   // bumped when segment files are replaced (salvage, recovery)
	spares        []string // deleted segments kept for reuse (segment.go)
	spareSeq      int
	salvaged      map[uint64]bool     // non-tail segments rewritten lazily (by first index)
	corruptLogged map[uint64]bool     // segments whose corrupt reads were logged
	corruptSeen   map[uint64]struct{} // indices counted as corrupt by lazy reads
	dropped       uint64
	corrupt       uint64
	repairs       uint64
	minFree       int64             // Options.MinFree resolved (space.go)
	state         appendState       // why appends wait or fail now
	blocks        map[string]uint64 // state changes into each cause
	failedAt      time.Time         // last failed write or fsync
	statfsWarned  atomic.Bool

	// writer side
	qmu     sync.Mutex
	queue   []*request
	qclosed bool
	qsig    chan struct{}
	gcsig   chan struct{}
	closeCh chan struct{}
	wdone   chan struct{}
	tail    *os.File // the tail segment, opened for appending (writer goroutine only, after Open)
	wbuf    []byte   // one group's framed entries
	cuts    []cut
}

// cut is where, inside one group's buffer, a new segment starts.
type cut struct {
	pos   int    // offset in Log.wbuf
	first uint64 // the new segment's first index
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
	if o.MinFree < 0 && o.MinFree != MinFreeAuto {
		return fmt.Errorf("wal: min_free %d is negative", o.MinFree)
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

// Open opens (creating if needed) the log in o.Dir. It repairs the tail segment
// first (see doc.go).
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
		blocks:        map[string]uint64{},
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
	// Before the first segment is created: a crash in between must not make
	// a new WAL look like one from before epochs.
	epoch, created, err := loadEpoch(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: epoch: %w", err)
	}
	l.epoch = epoch
	if created && epoch == "" {
		l.log.Info("wal: no epoch file in a WAL from before epochs; it keeps an empty epoch, and the event IDs it gave",
			"dir", dir)
	}
	if err := l.openStore(); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		l.tail.Close()
		return nil, fmt.Errorf("wal: %w", err)
	}
	// Everything on disk at open is made durable now.
	if err := l.tail.Sync(); err != nil {
		l.tail.Close()
		return nil, fmt.Errorf("wal: fsync tail: %w", err)
	}
	l.durable = l.last
	if err := l.loadCursors(); err != nil {
		l.tail.Close()
		return nil, err
	}
	l.resolveMinFree()
	l.capSegmentSize()
	l.log.Info("wal opened", "dir", dir, "epoch", l.epoch, "first", l.first, "last", l.last, "segments", len(l.segs),
		"cursors", len(l.cursors), "fsync", o.Fsync.String(), "segment_size", o.SegmentSize, "max_size", o.MaxSize,
		"min_free", l.minFree)
	go l.run()
	l.kickGC()
	return l, nil
}

// openStore repairs the tail segment (creating the first segment of a new log),
// builds the model of the segment files and opens the tail for appending.
func (l *Log) openStore() error {
	last, err := l.repairTail()
	if err != nil {
		return fmt.Errorf("wal: repair tail: %w", err)
	}
	segs, err := listSegments(l.dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if len(segs) == 0 {
		return fmt.Errorf("wal: no segment in %s", l.dir)
	}
	// After repairTail no segment has stale bytes any more: drop the markers.
	for i := range segs {
		if segs[i].recycled {
			unmarkRecycled(segs[i].path)
			segs[i].recycled = false
		}
	}
	tail, err := openTail(segs[len(segs)-1].path, segs[len(segs)-1].size)
	if err != nil {
		return err
	}
	l.segs, l.first, l.last, l.tail = segs, segs[0].first, last, tail
	return nil
}

// repairTail checks the last segment on disk and returns its last index: a torn
// last entry or a zero-filled tail is cut off, damage followed by valid entries
// is salvaged (see doc.go). A directory without segments gets its first one.
func (l *Log) repairTail() (uint64, error) {
	segs, err := listSegments(l.dir)
	if err != nil {
		return 0, err
	}
	if len(segs) == 0 {
		f, err := createSegment(filepath.Join(l.dir, segmentName(1)))
		if err != nil {
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
		return 0, syncDir(l.dir)
	}
	tail := segs[len(segs)-1]
	out, err := repairSegment(l.dir, tail, 0)
	if err != nil {
		return 0, err
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
	return out.res.LastIndex, nil
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
	poll := time.NewTimer(diskPoll) // waiting for disk space: look again
	poll.Stop()
	defer poll.Stop()
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

		// Build one group: everything queued that fits, up to groupMax bytes,
		// under MaxSize and leaving MinFree on the disk.
		free := int64(-1)
		if l.minFree > 0 && len(waiting) > 0 {
			free = l.freeBytes()
		}
		var group []*request
		var gsize int64
		blocked := "" // why the head of waiting cannot be written
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
				if len(group) == 0 {
					blocked = BlockedMaxSize
				}
				break
			}
			if free >= 0 && free-(gsize+r.size) < l.minFree {
				if len(group) == 0 {
					blocked = BlockedMinFree
				}
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
			if err == nil {
				l.setState("", "") // before the fsync, which may fail
			}
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
		var pollC <-chan time.Time
		if blocked != "" {
			if l.gc() {
				continue
			}
			if blocked == BlockedMaxSize && l.opts.WhenFull == DropOldest {
				if l.dropOldest(waiting[0].size) {
					continue
				}
			}
			if blocked == BlockedMinFree {
				l.mu.Lock()
				dropped := l.dropSparesLocked()
				l.mu.Unlock()
				if dropped || l.rollDelivered() && l.gc() {
					continue
				}
				poll.Reset(diskPoll)
				pollC = poll.C
			}
			l.setState(blocked, l.blockedReason(blocked, free, waiting[0].size))
			if closing {
				for _, r := range waiting {
					if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
						r.done <- ErrClosed
					}
				}
				waiting = waiting[:0]
				continue
			}
		} else if len(waiting) == 0 && l.idleState() {
			poll.Reset(diskPoll)
			pollC = poll.C
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
		if blocked != "" {
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
		case <-pollC:
		case <-l.closeCh:
			closing = true
		}
	}
}

// writeGroup writes the records of group to the tail with one write(2) (one per
// segment when the group crosses into a new one), no fsync. Only the writer
// goroutine calls it; it holds l.mu only to read and update the model, so cursors
// read while it writes.
func (l *Log) writeGroup(group []*request) error {
	l.mu.Lock()
	if l.broken != nil {
		l.failedAt = time.Now() // the state stays io_error while appends come
		l.setStateLocked(BlockedIOError, l.broken.Error())
		l.mu.Unlock()
		return l.broken
	}
	size := l.segs[len(l.segs)-1].size
	size0, tailPath := size, l.segs[len(l.segs)-1].path
	idx := l.last + 1
	l.mu.Unlock()

	segSize := l.opts.SegmentSize
	l.wbuf, l.cuts = l.wbuf[:0], l.cuts[:0]
	for _, r := range group {
		r.first = idx
		for _, rec := range r.recs {
			if size >= segSize {
				// The tail is full: this record starts the next segment.
				l.cuts = append(l.cuts, cut{pos: len(l.wbuf), first: idx})
				size = 0
			}
			l.wbuf = appendFramed(l.wbuf, idx, rec, false)
			size += entrySize(len(rec))
			idx++
		}
		r.last = idx - 1
	}

	// Write: the current tail up to the first cut, then each new segment.
	var added []segFile
	written := int64(0) // bytes written to the file that was the tail on entry
	start := 0
	for k := 0; k <= len(l.cuts); k++ {
		end := len(l.wbuf)
		if k < len(l.cuts) {
			end = l.cuts[k].pos
		}
		if _, err := l.tail.Write(l.wbuf[start:end]); err != nil {
			return l.undo(tailPath, size0, added, fmt.Errorf("wal: write: %w", err))
		}
		if k == 0 {
			written = int64(end - start)
		} else {
			added[k-1].size = int64(end - start)
		}
		if k == len(l.cuts) {
			break
		}
		// Roll: the full segment is sealed and made durable before it stops
		// being the tail.
		sealed, sealedPath := size0+written, tailPath
		if k > 0 {
			sealed, sealedPath = added[k-1].size, added[k-1].path
		}
		if err := sealTail(l.tail, sealed); err != nil {
			return l.undo(tailPath, size0, added, fmt.Errorf("wal: seal segment: %w", err))
		}
		if err := datasync(l.tail); err != nil {
			return l.undo(tailPath, size0, added, fmt.Errorf("wal: fsync: %w", err))
		}
		unmarkRecycled(sealedPath)
		next := segFile{first: l.cuts[k].first, path: filepath.Join(l.dir, segmentName(l.cuts[k].first))}
		l.mu.Lock()
		f := l.takeSpareLocked(next.path)
		l.mu.Unlock()
		if f == nil {
			var err error
			if f, err = createSegment(next.path); err != nil {
				return l.undo(tailPath, size0, append(added, next), err)
			}
		}
		l.tail.Close()
		l.tail = f
		added = append(added, next)
		start = end
	}

	l.mu.Lock()
	l.segs[len(l.segs)-1].size += written
	l.segs = append(l.segs, added...)
	l.last = idx - 1
	if l.opts.Fsync == FsyncNever {
		l.setDurableLocked(l.last)
	}
	l.mu.Unlock()
	if len(added) > 0 {
		if err := syncDir(l.dir); err != nil {
			return l.fail(fmt.Errorf("wal: fsync dir: %w", err))
		}
	}
	return nil
}

// undo takes a failed group's bytes back out before fail repairs the tail:
// the tail (tailPath when the group started) is cut back to size0 and the
// segments the group created are deleted. Nothing of the group was
// acknowledged or visible to readers; without this, the records a short
// write left whole (write(2) stops at ENOSPC mid-buffer) would stay in the
// log while their senders, told the append failed, send them again.
func (l *Log) undo(tailPath string, size0 int64, added []segFile, err error) error {
	if l.tail != nil {
		l.tail.Close()
		l.tail = nil
	}
	for _, a := range added {
		if rerr := os.Remove(a.path); rerr != nil && !os.IsNotExist(rerr) {
			l.log.Error("wal: remove segment of a failed write", "segment", filepath.Base(a.path), "err", rerr)
		}
		unmarkRecycled(a.path)
	}
	if terr := os.Truncate(tailPath, size0); terr != nil {
		l.log.Error("wal: cut back a failed write; the tail repair keeps its whole records", "err", terr)
	}
	return l.fail(err)
}

// fail handles a failed write or fsync: close the tail, repair it (a partial
// write leaves a torn entry) and reopen, so later appends work again once the
// cause (disk full) is gone. The group's appends fail. It is logged at ERROR
// when appends start failing or the error changes, else at DEBUG (sources
// retry failed appends).
func (l *Log) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.cause != BlockedIOError || l.state.reason != err.Error() {
		l.log.Error("wal: i/o error; reopening", "err", err)
	} else {
		l.log.Debug("wal: i/o error again; reopening", "err", err)
	}
	l.failedAt = time.Now()
	l.setStateLocked(BlockedIOError, err.Error())
	l.recoverLocked()
	return err
}

// recoverLocked closes the tail, repairs it and reloads the model of the files.
func (l *Log) recoverLocked() {
	if l.tail != nil {
		l.tail.Close()
		l.tail = nil
	}
	l.gen++
	if err := l.openStore(); err != nil {
		l.broken = fmt.Errorf("wal: reopen after error: %w", err)
		l.log.Error("wal: unusable", "err", l.broken)
		return
	}
	// The failed group may have been rolling into a new (or recycled) file whose
	// directory entry was never fsynced: do it before anything in it is acked.
	if err := syncDir(l.dir); err != nil {
		l.broken = fmt.Errorf("wal: fsync dir after error: %w", err)
		l.log.Error("wal: unusable", "err", l.broken)
		return
	}
	if l.durable > l.last {
		l.durable = l.last
	}
}

func (l *Log) fsync() error {
	if l.tail == nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.broken != nil {
			return l.broken
		}
		return ErrClosed
	}
	t := time.Now()
	err := datasync(l.tail)
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
		if v := c.synced.Load(); v < m {
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

// truncateFrontLocked deletes the files of segs[:k] (never the tail) and fsyncs
// the directory. Runs in the writer goroutine.
func (l *Log) truncateFrontLocked(k int) error {
	k = min(k, len(l.segs)-1)
	for i := 0; i < k; i++ {
		sf := l.segs[i]
		unmarkRecycled(sf.path)
		var err error
		if len(l.spares) < maxSpares && sf.size >= l.opts.SegmentSize/2 {
			l.spareSeq++
			sp := filepath.Join(l.dir, fmt.Sprintf("%s%d", sparePrefix, l.spareSeq))
			if err = os.Rename(sf.path, sp); err == nil {
				l.spares = append(l.spares, sp)
			}
		} else {
			err = os.Remove(sf.path)
		}
		if err != nil && !os.IsNotExist(err) {
			l.segs = append([]segFile(nil), l.segs[i:]...)
			l.first = l.segs[0].first
			l.log.Error("wal: gc: remove segment", "err", err)
			return err
		}
	}
	l.segs = append([]segFile(nil), l.segs[k:]...)
	l.first = l.segs[0].first
	if err := syncDir(l.dir); err != nil {
		l.log.Error("wal: fsync dir after gc", "err", err)
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
	// Blocked is "" while appends go through, else why they wait or fail
	// (BlockedMinFree, BlockedMaxSize, BlockedIOError); BlockedReason says it
	// for people; Blocks counts the changes into each cause.
	Blocked       string
	BlockedReason string
	BlockedSince  time.Time
	Blocks        map[string]uint64
	FreeBytes     int64 // free space on the WAL's filesystem now; -1: unknown
	MinFree       int64 // the space appends leave free (Options.MinFree resolved); 0: none
}

// Stats returns a snapshot.
func (l *Log) Stats() Stats {
	free := l.freeBytes()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{
		FreeBytes:  free,
		FirstIndex: l.first, LastIndex: l.last, DurableIndex: l.durable,
		Bytes: l.bytesLocked(), Segments: len(l.segs),
		DroppedRecords: l.dropped, CorruptRecords: l.corrupt, Repairs: l.repairs,
		Cursors: make(map[string]uint64, len(l.cursors)),
	}
	for n, c := range l.cursors {
		s.Cursors[n] = c.committed.Load()
	}
	s.Blocked, s.BlockedReason, s.BlockedSince = l.state.cause, l.state.reason, l.state.since
	if s.Blocked == "" && l.minFree > 0 && free >= 0 && free < l.minFree {
		s.Blocked, s.BlockedReason = BlockedMinFree, l.blockedReason(BlockedMinFree, free, 0) // the next append would wait
	}
	s.Blocks = make(map[string]uint64, len(l.blocks))
	for k, v := range l.blocks {
		s.Blocks[k] = v
	}
	s.MinFree = l.minFree
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
	l.closed = true
	close(l.durableCh)
	cursors := make([]*Cursor, 0, len(l.cursors))
	for _, c := range l.cursors {
		cursors = append(cursors, c)
	}
	tail := l.tail
	l.tail = nil
	l.mu.Unlock()
	// Readers see closed (under l.mu) before touching their files.
	for _, c := range cursors {
		c.mu.Lock()
		c.rd.close()
		c.mu.Unlock()
		c.cmu.Lock()
		if err := c.sync(); err != nil {
			l.log.Error("wal: cursor sync on close", "cursor", c.name, "err", err)
		}
		if c.file != nil {
			c.file.Close()
			c.file = nil
		}
		c.cmu.Unlock()
	}
	if tail == nil {
		return nil
	}
	l.mu.Lock()
	size, path := l.segs[len(l.segs)-1].size, l.segs[len(l.segs)-1].path
	spares := l.spares
	l.spares = nil
	l.mu.Unlock()
	for _, sp := range spares {
		os.Remove(sp)
	}
	if err := sealTail(tail, size); err != nil {
		l.log.Error("wal: seal tail on close", "err", err)
	} else if err := tail.Sync(); err != nil {
		l.log.Error("wal: fsync tail on close", "err", err)
	} else {
		unmarkRecycled(path)
	}
	if err := tail.Close(); err != nil {
		return fmt.Errorf("wal: close: %w", err)
	}
	return nil
}
