package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Disk space and the append state: why appends wait or fail, for readiness
// probes and metrics (see doc.go, "Disk space").

// MinFreeAuto as Options.MinFree keeps 1 % of the filesystem free, at least
// 4 MiB (at most a quarter of the filesystem) and at most 64 MiB.
const MinFreeAuto = -1

// The bounds of MinFreeAuto. The floor: 1 % of a small disk (205 KiB of 20
// MiB) is less than one batch of the file output (2048 events, about 1 MB
// of JSON for 200-byte messages), which then cannot write into the reserve,
// so its cursor never moves and the log never drains.
const (
	DefaultMinFree = 64 << 20
	minFreeFloor   = 4 << 20
)

// Why appends wait or fail (Stats.Blocked, Log.AppendState).
const (
	BlockedMinFree = "min_free" // free space on the WAL's filesystem is below Options.MinFree: appends wait
	BlockedMaxSize = "max_size" // MaxSize reached with WhenFull Block: appends wait for consumers
	BlockedIOError = "io_error" // the last write or fsync failed: appends fail (retriable)
)

// BlockedCauses lists every cause, for metrics.
var BlockedCauses = []string{BlockedMinFree, BlockedMaxSize, BlockedIOError}

// diskPoll is how often a writer waiting for disk space (or holding an
// io_error state) looks at the filesystem again: freed space is not signalled.
var diskPoll = 250 * time.Millisecond

// ioErrorHold: an io_error state with no append waiting is cleared this long
// after the last failure (sources retry failed appends more often than this,
// so while they fail the state stays).
var ioErrorHold = 3 * time.Second

// statFS reports the bytes an unprivileged writer may still use on dir's
// filesystem, and its size. A variable so tests can pretend a disk is full.
var statFS = func(dir string) (free, size int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}

// appendState is what the writer last found about appends.
type appendState struct {
	cause  string // "" or Blocked*
	reason string
	since  time.Time
}

// resolveMinFree turns Options.MinFree into bytes, at Open.
func (l *Log) resolveMinFree() {
	l.minFree = l.opts.MinFree
	if l.minFree != MinFreeAuto {
		return
	}
	_, size, err := statFS(l.dir)
	if err != nil {
		l.minFree = 0
		l.log.Warn("wal: cannot read the filesystem's size; min_free disabled", "dir", l.dir, "err", err)
		return
	}
	l.minFree = min(DefaultMinFree, max(size/100, min(minFreeFloor, size/4)))
}

// capSegmentSize keeps segments at most a quarter of the reserve: GC frees
// whole segments only, so outputs catching up on the same disk must reach
// the end of a segment, and free it, within the reserve.
func (l *Log) capSegmentSize() {
	if c := max(l.minFree/4, 64<<10); l.minFree > 0 && l.opts.SegmentSize > c {
		l.log.Info("wal: segment_size capped at a quarter of min_free", "segment_size", c, "configured", l.opts.SegmentSize)
		l.opts.SegmentSize = c
	}
}

// freeBytes is the free space on the WAL's filesystem, or -1 when it cannot
// be read.
func (l *Log) freeBytes() int64 {
	free, _, err := statFS(l.dir)
	if err != nil {
		if !l.statfsWarned.Swap(true) {
			l.log.Warn("wal: cannot read free disk space; min_free not enforced", "dir", l.dir, "err", err)
		}
		return -1
	}
	return free
}

// setStateLocked records why appends wait or fail ("" when they go through),
// logging and counting each change. Caller holds l.mu.
func (l *Log) setStateLocked(cause, reason string) {
	prev := l.state
	if cause == prev.cause {
		l.state.reason = reason
		return
	}
	l.state = appendState{cause: cause, reason: reason, since: time.Now()}
	if cause == "" {
		l.log.Info("wal: appends go through again", "was", prev.cause,
			"after", time.Since(prev.since).Round(time.Millisecond))
		return
	}
	l.blocks[cause]++
	switch cause {
	case BlockedMinFree:
		l.log.Warn("wal: free disk space below min_free; appends wait (inputs are back-pressured) until outputs deliver and GC frees segments, or space is freed",
			"dir", l.dir, "reason", reason)
	case BlockedMaxSize:
		l.log.Warn("wal: max_size reached; appends wait for outputs to deliver (when_full = block)", "reason", reason)
	case BlockedIOError:
		l.log.Error("wal: appends failing; they are retried", "reason", reason)
	}
}

// setState is setStateLocked for callers without l.mu.
func (l *Log) setState(cause, reason string) {
	l.mu.Lock()
	l.setStateLocked(cause, reason)
	l.mu.Unlock()
}

// blockedReason says why the head append of size bytes waits.
func (l *Log) blockedReason(cause string, free, size int64) string {
	switch cause {
	case BlockedMinFree:
		const wait = "appends wait for outputs to deliver or for space to be freed"
		if size == 0 || free < l.minFree {
			return fmt.Sprintf("free disk space on %s is %s, below min_free %s: %s", l.dir, fmtBytes(free), fmtBytes(l.minFree), wait)
		}
		return fmt.Sprintf("free disk space on %s is %s: the next batch (%s) would leave less than min_free %s: %s",
			l.dir, fmtBytes(free), fmtBytes(size), fmtBytes(l.minFree), wait)
	case BlockedMaxSize:
		l.mu.Lock()
		used := l.bytesLocked()
		l.mu.Unlock()
		return fmt.Sprintf("WAL holds %s, max_size is %s: waiting for outputs to deliver", fmtBytes(used), fmtBytes(l.opts.MaxSize))
	}
	return cause
}

// idleState re-evaluates a wait or failure while no append is waiting, so a
// state does not outlive its cause (a node that is not ready gets no traffic
// to clear it with). It reports whether to look again after diskPoll.
func (l *Log) idleState() bool {
	l.mu.Lock()
	st := l.state
	l.mu.Unlock()
	switch st.cause {
	case "":
		return false
	case BlockedMinFree:
		if free := l.freeBytes(); free < 0 || free >= l.minFree {
			l.setState("", "")
			return false
		}
		return true
	case BlockedIOError:
		l.mu.Lock()
		failed := l.failedAt
		l.mu.Unlock()
		if time.Since(failed) >= ioErrorHold {
			l.setState("", "")
			return false
		}
		return true
	}
	l.setState("", "") // max_size: nothing waits for space
	return false
}

// rollDelivered starts a new, empty tail when every cursor has delivered
// (and synced) everything in the log, so GC, which never deletes the tail,
// can delete the old one: a log waiting for disk space frees all it holds
// once its consumers have caught up, however large segment_size is. It
// reports whether it rolled. Writer goroutine only.
func (l *Log) rollDelivered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	tail := l.segs[len(l.segs)-1]
	if l.closed || l.broken != nil || l.tail == nil || tail.size == 0 ||
		l.durable < l.last || l.minCommittedLocked() < l.last {
		return false
	}
	next := segFile{first: l.last + 1, path: filepath.Join(l.dir, segmentName(l.last+1))}
	f, err := createSegment(next.path)
	if err == nil {
		if err = sealTail(l.tail, tail.size); err == nil {
			err = datasync(l.tail)
		}
		if err == nil {
			err = syncDir(l.dir)
		}
		if err != nil {
			f.Close()
			os.Remove(next.path)
		}
	}
	if err != nil {
		l.log.Warn("wal: cannot start an empty segment to free the delivered one", "err", err)
		return false
	}
	unmarkRecycled(tail.path)
	l.tail.Close()
	l.tail = f
	l.segs = append(l.segs, next)
	return true
}

// dropSparesLocked deletes the spare segments (their space is the disk's
// too). It reports whether there were any.
func (l *Log) dropSparesLocked() bool {
	if len(l.spares) == 0 {
		return false
	}
	for _, sp := range l.spares {
		os.Remove(sp)
	}
	l.spares = nil
	return true
}

// AppendState says whether appends go through now: cause is "" when they
// do, else BlockedMinFree, BlockedMaxSize or BlockedIOError, and reason
// says what is wrong (for readiness probes and people). While no append
// waits, free space below MinFree is reported too (the next one would wait).
func (l *Log) AppendState() (cause, reason string) {
	l.mu.Lock()
	cause, reason = l.state.cause, l.state.reason
	l.mu.Unlock()
	if cause == "" && l.minFree > 0 {
		if free := l.freeBytes(); free >= 0 && free < l.minFree {
			return BlockedMinFree, l.blockedReason(BlockedMinFree, free, 0)
		}
	}
	return cause, reason
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
