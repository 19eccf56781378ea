package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Record is one record returned by Cursor.Next. Data is owned by the caller.
type Record struct {
	Index uint64
	Data  []byte
}

// Cursor is a named, durable read position. A cursor is meant for one consumer;
// its methods are nevertheless safe for concurrent use.
type Cursor struct {
	l         *Log
	name      string
	mu        sync.Mutex    // guards pos
	pos       uint64        // last index handed out by Next
	cmu       sync.Mutex    // serialises Commit and DropCursor
	committed atomic.Uint64 // last Commit (written to the cursor file)
	synced    atomic.Uint64 // last commit known durable (fdatasynced); GC goes by this
	lastSync  time.Time     // guarded by cmu
	syncArmed bool          // a lateSync is pending (guarded by cmu)
	dropped   atomic.Bool
	skipped   atomic.Uint64 // corrupt/tombstoned records skipped
	gaps      atomic.Uint64 // records removed by DropOldest before this cursor read them
	rd        segReader     // guarded by mu
	file      *os.File      // the cursor file, open for commits (guarded by cmu)
	slot      int           // slot of the last commit (guarded by cmu)
}

// A cursor file holds two slots, each index(8) | crc32c(4) over the index. Commits
// alternate between them with pwrite + fdatasync, so a torn write can only damage
// the slot being written and the other still holds the previous commit. The
// committed index is the larger valid slot. (A 12-byte file, one slot, is read too.)
const (
	cursorSlotLen = 12
	cursorFileLen = 2 * cursorSlotLen
)

func validCursorName(name string) error {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return fmt.Errorf("wal: bad cursor name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("wal: bad cursor name %q: use letters, digits, '-', '_', '.'", name)
		}
	}
	return nil
}

func (l *Log) cursorDir() string { return filepath.Join(l.dir, "cursors") }

func encodeCursor(index uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, cursorSlotLen), index)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeCursor(b []byte) (uint64, error) {
	if len(b) != cursorSlotLen && len(b) != cursorFileLen {
		return 0, fmt.Errorf("cursor file has %d bytes, want %d", len(b), cursorFileLen)
	}
	var idx uint64
	ok := false
	for ; len(b) >= cursorSlotLen; b = b[cursorSlotLen:] {
		if crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:cursorSlotLen]) {
			continue
		}
		if v := binary.BigEndian.Uint64(b[:8]); !ok || v > idx {
			idx, ok = v, true
		}
	}
	if !ok {
		return 0, errors.New("cursor file crc mismatch")
	}
	return idx, nil
}

// writeCursorFile creates the cursor file with both slots at index: temp file,
// fsync, rename, dir fsync.
func writeCursorFile(dir, name string, index uint64) error {
	slot := encodeCursor(index)
	return writeFileSync(dir, name, append(slot, slot...))
}

// writeFileSync creates or replaces dir/name with data durably: temp file
// dir/.name.tmp, fsync, rename, dir fsync.
func writeFileSync(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// CursorSyncInterval bounds how often a cursor file is fdatasynced: a commit
// is written (pwrite) at once, so it survives the process being killed, and
// made durable against power loss by the first commit after this interval (or
// by Close). A power loss can replay at most this much delivered data (sinks
// key on event IDs; the file output matches the IDs at its end). GC deletes
// only what a synced commit covers.
var CursorSyncInterval = 50 * time.Millisecond

// store writes index into the cursor's next slot, and fdatasyncs at most every
// CursorSyncInterval. Caller holds cmu.
func (c *Cursor) store(index uint64) error {
	if c.file == nil {
		f, err := os.OpenFile(filepath.Join(c.l.cursorDir(), c.name), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		c.file = f
	}
	c.slot ^= 1
	if _, err := c.file.WriteAt(encodeCursor(index), int64(c.slot*cursorSlotLen)); err != nil {
		return err
	}
	if now := time.Now(); now.Sub(c.lastSync) >= CursorSyncInterval {
		if err := datasync(c.file); err != nil {
			return err
		}
		c.lastSync = now
		c.synced.Store(index)
	} else if !c.syncArmed {
		// No later commit may come (the consumer caught up, or waits for
		// appends that wait for GC): sync this one when the interval is over.
		c.syncArmed = true
		time.AfterFunc(CursorSyncInterval-now.Sub(c.lastSync), c.lateSync)
	}
	return nil
}

// lateSync is store's deferred fdatasync.
func (c *Cursor) lateSync() {
	c.cmu.Lock()
	c.syncArmed = false
	var err error
	if !c.dropped.Load() {
		err = c.sync()
	}
	c.cmu.Unlock()
	if err != nil {
		c.l.log.Error("wal: cursor sync", "cursor", c.name, "err", err)
		return
	}
	c.l.kickGC()
}

// sync makes the last commit durable (Close). Caller holds cmu.
func (c *Cursor) sync() error {
	if c.file == nil || c.synced.Load() == c.committed.Load() {
		return nil
	}
	if err := datasync(c.file); err != nil {
		return err
	}
	c.lastSync = time.Now()
	c.synced.Store(c.committed.Load())
	return nil
}

func listCursorNames(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, de := range des {
		n := de.Name()
		if !de.Type().IsRegular() || strings.HasPrefix(n, ".") || validCursorName(n) != nil {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// loadCursors reads every cursor file, so that cursors whose consumer has not
// started yet still hold back GC.
func (l *Log) loadCursors() error {
	dir := l.cursorDir()
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("wal: cursors: %w", err)
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") && strings.HasSuffix(de.Name(), ".tmp") {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
	names, err := listCursorNames(dir)
	if err != nil {
		return fmt.Errorf("wal: cursors: %w", err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return fmt.Errorf("wal: cursor %s: %w", n, err)
		}
		idx, derr := decodeCursor(b)
		if derr != nil {
			// Re-deliver rather than lose: start over at the first retained record.
			idx = 0
			if l.first > 0 {
				idx = l.first - 1
			}
			l.log.Error("wal: cursor file unreadable; re-reading from the first retained record",
				"cursor", n, "err", derr, "from", idx+1)
		}
		if idx > l.last {
			// The records it had committed are gone (tail repair, or the segments
			// were removed by hand); new records will reuse those indices.
			l.log.Warn("wal: cursor is past the last record; moving it back", "cursor", n,
				"committed", idx, "last", l.last)
			idx = l.last
		}
		// Rewrite the file with both slots at idx: a value moved back above is
		// persisted, the next commit may use either slot, and what GC goes by
		// (synced) is durable even if the last process was killed before its
		// commit reached the disk.
		if err := writeCursorFile(dir, n, idx); err != nil {
			return fmt.Errorf("wal: cursor %s: %w", n, err)
		}
		c := &Cursor{l: l, name: n, pos: idx}
		c.committed.Store(idx)
		c.synced.Store(idx)
		l.cursors[n] = c
	}
	return nil
}

// OpenCursor returns the named cursor, creating it (positioned before the first
// retained record) if absent. Cursor files live in Dir/cursors/.
func (l *Log) OpenCursor(name string) (*Cursor, error) {
	if err := validCursorName(name); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if c, ok := l.cursors[name]; ok {
		return c, nil
	}
	idx := l.first - 1
	if err := writeCursorFile(l.cursorDir(), name, idx); err != nil {
		return nil, fmt.Errorf("wal: create cursor %s: %w", name, err)
	}
	c := &Cursor{l: l, name: name, pos: idx}
	c.committed.Store(idx)
	c.synced.Store(idx)
	l.cursors[name] = c
	return c, nil
}

// Cursors returns the names of the cursors on disk.
func (l *Log) Cursors() []string {
	names, err := listCursorNames(l.cursorDir())
	if err != nil {
		l.log.Error("wal: list cursors", "err", err)
	}
	return names
}

// DropCursor forgets a cursor (its consumer was removed), so that it no longer
// holds back GC. Open handles of it return ErrCursorDropped.
func (l *Log) DropCursor(name string) error {
	if err := validCursorName(name); err != nil {
		return err
	}
	l.mu.Lock()
	c := l.cursors[name]
	l.mu.Unlock()
	if c != nil {
		c.cmu.Lock()
		c.dropped.Store(true)
		if c.file != nil {
			c.file.Close()
			c.file = nil
		}
		c.cmu.Unlock()
		c.mu.Lock()
		c.rd.close()
		c.mu.Unlock()
	}
	err := os.Remove(filepath.Join(l.cursorDir(), name))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("wal: drop cursor %s: %w", name, err)
	}
	if err := syncDir(l.cursorDir()); err != nil {
		return fmt.Errorf("wal: drop cursor %s: %w", name, err)
	}
	l.mu.Lock()
	delete(l.cursors, name)
	l.mu.Unlock()
	l.log.Info("wal: cursor dropped", "cursor", name)
	l.kickGC()
	return nil
}

// Name returns the cursor's name.
func (c *Cursor) Name() string { return c.name }

// Committed returns the last committed index.
func (c *Cursor) Committed() uint64 { return c.committed.Load() }

// Skipped returns how many corrupt records (and tombstones) Next skipped, and how
// many records DropOldest removed before this cursor read them.
func (c *Cursor) Skipped() (corrupt, dropped uint64) { return c.skipped.Load(), c.gaps.Load() }

// Rewind moves the read position back to Committed: the consumer failed and will
// read again.
func (c *Cursor) Rewind() {
	c.mu.Lock()
	c.pos = c.committed.Load()
	c.mu.Unlock()
}

// Commit durably records that every record ≤ index was delivered, and lets GC
// delete segments every cursor has passed.
func (c *Cursor) Commit(index uint64) error {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	if c.dropped.Load() {
		return ErrCursorDropped
	}
	if index <= c.committed.Load() {
		return nil
	}
	l := c.l
	l.mu.Lock()
	closed, durable := l.closed, l.durable
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if index > durable {
		return fmt.Errorf("wal: cursor %s: commit %d beyond durable index %d", c.name, index, durable)
	}
	if err := c.store(index); err != nil {
		return fmt.Errorf("wal: cursor %s: commit: %w", c.name, err)
	}
	c.committed.Store(index)
	c.mu.Lock()
	if c.pos < index {
		c.pos = index
	}
	c.mu.Unlock()
	l.kickGC()
	return nil
}

// Next blocks until at least one record after the read position is durable (or
// ctx ends), then returns up to maxRecords records and about maxBytes bytes (at
// least one record). Corrupt records and tombstones are skipped and counted.
func (c *Cursor) Next(ctx context.Context, maxRecords, maxBytes int) ([]Record, error) {
	return c.next(ctx, maxRecords, maxBytes, nil)
}

// NextInto is Next reading into buf (from buf[:0], as far as its capacity goes,
// then into fresh buffers): the records alias buf, so the caller must not
// reuse buf while it uses them. A consumer that alternates a few buffers
// allocates nothing per batch.
func (c *Cursor) NextInto(ctx context.Context, maxRecords, maxBytes int, buf []byte) ([]Record, error) {
	return c.next(ctx, maxRecords, maxBytes, &arena{buf: buf[:0]})
}

func (c *Cursor) next(ctx context.Context, maxRecords, maxBytes int, a *arena) ([]Record, error) {
	if maxRecords <= 0 {
		maxRecords = 1
	}
	l := c.l
	for {
		if c.dropped.Load() {
			return nil, ErrCursorDropped
		}
		c.mu.Lock()
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.mu.Unlock()
			return nil, ErrClosed
		}
		next := c.pos + 1
		if next < l.first {
			gap := l.first - next
			c.gaps.Add(gap)
			l.log.Warn("wal: cursor lost records removed while full (drop_oldest)", "cursor", c.name,
				"first_lost", next, "last_lost", l.first-1, "count", gap)
			c.pos = l.first - 1
			next = l.first
		}
		if next <= l.durable {
			recs, err := l.readLocked(c, next, maxRecords, maxBytes, a)
			l.mu.Unlock()
			c.mu.Unlock()
			if err != nil || len(recs) > 0 {
				return recs, err
			}
			continue
		}
		ch := l.durableCh
		l.mu.Unlock()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// segIndexLocked returns the position in l.segs of the segment holding index.
func (l *Log) segIndexLocked(index uint64) int {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > index })
	return i - 1
}

// readWindow sizes one pread of a cursor: enough for the records still wanted at
// the average entry size seen so far, within maxBytes, between 4 KiB and 1 MiB.
func (r *segReader) readWindow(records, maxBytes int) int {
	avg := r.avg
	if avg == 0 {
		avg = 512
	}
	want := min(records*(avg+avg/4), maxBytes)
	return min(max(want, 4<<10), 1<<20) + 64
}

// readLocked reads from index onwards for c, advancing c.pos over what it returns
// and over what it skips. Records alias freshly allocated read buffers.
func (l *Log) readLocked(c *Cursor, from uint64, maxRecords, maxBytes int, a *arena) ([]Record, error) {
	var out []Record
	if n := min(maxRecords, int(l.durable-from+1), 1<<16); n > 0 {
		out = make([]Record, 0, n)
	}
	total := 0
	r := &c.rd
	i := from
	for i <= l.durable && len(out) < maxRecords {
		si := l.segIndexLocked(i)
		if si < 0 {
			return out, fmt.Errorf("wal: index %d before the first segment", i)
		}
		seg := l.segs[si]
		tail := si == len(l.segs)-1
		segLast := l.durable
		if !tail {
			segLast = min(segLast, l.segs[si+1].first-1)
		}
		err := r.position(seg, seg.size, l.gen, i)
		var buf []byte
		if err == nil {
			buf, err = r.read(seg.size, r.readWindow(maxRecords-len(out), maxBytes-total), a)
		}
		// Decode entries from buf while they are whole.
		for err == nil && i <= segLast && len(out) < maxRecords {
			n, length, ferr := frame(buf)
			if ferr != nil {
				err = ferr
				break
			}
			if n == 0 || uint64(len(buf)-n) < length {
				break // the rest is in the next read
			}
			data := buf[n : n+int(length)]
			idx, payload, tomb, derr := decodeEntry(data)
			if derr == nil && idx != i {
				derr = errIndex
			}
			if derr != nil {
				if !tail && !l.salvaged[seg.first] {
					err = derr
					break
				}
				// Already salvaged (or the tail): skip this entry, its framing is sound.
				l.countCorruptLocked(i, i, si, derr)
				c.skipped.Add(1)
			} else if !tomb {
				if len(out) > 0 && total+len(payload) > maxBytes {
					return out, nil
				}
				out = append(out, Record{Index: i, Data: payload[:len(payload):len(payload)]})
				total += len(payload)
			} else {
				c.skipped.Add(1)
			}
			c.pos = i
			r.avg = (r.avg*7 + n + int(length)) / 8
			buf = buf[n+int(length):]
			r.off += int64(n) + int64(length)
			r.next++
			i++
		}
		if err == nil {
			continue
		}
		var ioe ioError
		if errors.As(err, &ioe) {
			return out, fmt.Errorf("wal: read segment %s: %w", segmentName(seg.first), err)
		}
		// Damage. A non-tail segment is salvaged once (rewritten with tombstones) and
		// read again; otherwise the damaged part is skipped and counted.
		if !tail && !l.salvaged[seg.first] {
			if serr := l.salvageLocked(si, err); serr != nil {
				return out, serr
			}
			continue
		}
		end := segLast
		if tail {
			// The framing of the tail is lost from here: skip everything written so
			// far and continue at the current end of the file.
			end = l.last
			r.next, r.off = l.last+1, seg.size
		} else {
			r.close()
		}
		if end >= i {
			l.countCorruptLocked(i, end, si, err)
			c.skipped.Add(end - i + 1)
			c.pos = end
			i = end + 1
		}
		if tail {
			break
		}
	}
	return out, nil
}

func (l *Log) countCorruptLocked(from, to uint64, si int, err error) {
	var n uint64
	for i := from; i <= to; i++ {
		if _, ok := l.corruptSeen[i]; !ok {
			l.corruptSeen[i] = struct{}{}
			n++
		}
	}
	l.corrupt += n
	key := uint64(0)
	if si >= 0 {
		key = l.segs[si].first
	}
	if !l.corruptLogged[key] {
		l.corruptLogged[key] = true
		l.log.Error("wal: corrupt record(s) skipped", "segment", segmentName(key), "first", from, "last", to, "err", err)
	}
}

// salvageLocked rewrites non-tail segment si after a read found damage in it:
// quarantine the original, rewrite it with tombstones for what was lost. Readers
// reopen it (l.gen).
func (l *Log) salvageLocked(si int, cause error) error {
	sf := l.segs[si]
	l.salvaged[sf.first] = true
	l.gen++
	maxIdx := l.segs[si+1].first - 1
	out, rerr := repairSegment(l.dir, sf, maxIdx)
	if rerr != nil {
		l.log.Error("wal: salvage failed; skipping damaged records", "segment", filepath.Base(sf.path), "err", rerr)
		return nil
	}
	if out.rewritten {
		if fi, err := os.Stat(sf.path); err == nil {
			l.segs[si].size = fi.Size()
		}
		lost := lostCount(out.res.Damages)
		l.corrupt += lost
		l.repairs++
		l.corruptLogged[sf.first] = true
		l.log.Error("wal: corrupt segment rewritten; records lost", "segment", filepath.Base(sf.path),
			"cause", cause, "lost", lost, "lost_indices", lostRanges(out.res.Damages), "quarantine", out.quarantine)
	}
	return nil
}
