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

	twal "github.com/tidwall/wal"
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
	mu        sync.Mutex // guards pos
	pos       uint64     // last index handed out by Next
	cmu       sync.Mutex // serialises Commit and DropCursor
	committed atomic.Uint64
	dropped   atomic.Bool
	skipped   atomic.Uint64 // corrupt/tombstoned records skipped
	gaps      atomic.Uint64 // records removed by DropOldest before this cursor read them
}

const cursorFileLen = 12 // index(8) | crc32c(4) over the index

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
	b := binary.BigEndian.AppendUint64(make([]byte, 0, cursorFileLen), index)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeCursor(b []byte) (uint64, error) {
	if len(b) != cursorFileLen {
		return 0, fmt.Errorf("cursor file has %d bytes, want %d", len(b), cursorFileLen)
	}
	if crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0, errors.New("cursor file crc mismatch")
	}
	return binary.BigEndian.Uint64(b[:8]), nil
}

// writeCursorFile stores index durably: temp file, fsync, rename, dir fsync.
func writeCursorFile(dir, name string, index uint64) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(encodeCursor(index))
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
		c := &Cursor{l: l, name: n, pos: idx}
		c.committed.Store(idx)
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
		c.cmu.Unlock()
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
	if err := writeCursorFile(l.cursorDir(), c.name, index); err != nil {
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
			recs, err := l.readLocked(c, next, maxRecords, maxBytes)
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

// readLocked reads from index onwards for c, advancing c.pos over what it returns
// and over what it skips.
func (l *Log) readLocked(c *Cursor, from uint64, maxRecords, maxBytes int) ([]Record, error) {
	type ref struct {
		index uint64
		data  []byte
	}
	var refs []ref
	total := 0
	for i := from; i <= l.durable && len(refs) < maxRecords; i++ {
		data, err := l.tw.Read(i)
		var idx uint64
		var payload []byte
		var tomb bool
		if err == nil {
			idx, payload, tomb, err = decodeEntry(data)
			if err == nil && idx != i {
				err = errIndex
			}
		}
		if err != nil {
			if errors.Is(err, twal.ErrClosed) || l.broken != nil {
				if l.broken != nil {
					return nil, l.broken
				}
				return nil, ErrClosed
			}
			si := l.segIndexLocked(i)
			if si >= 0 && si < len(l.segs)-1 && !l.salvaged[l.segs[si].first] {
				if serr := l.salvageLocked(si, err); serr != nil {
					return nil, serr
				}
				i-- // read it again from the rewritten segment
				continue
			}
			// Tail, or already salvaged: skip. With framing errors the whole
			// rest of the segment is unreadable.
			end := i
			if errors.Is(err, twal.ErrCorrupt) && si >= 0 && si < len(l.segs)-1 {
				end = l.segs[si+1].first - 1
			}
			l.countCorruptLocked(i, end, si, err)
			c.skipped.Add(end - i + 1)
			c.pos = end
			i = end
			continue
		}
		if tomb {
			c.skipped.Add(1)
			c.pos = i
			continue
		}
		if len(refs) > 0 && total+len(payload) > maxBytes {
			break
		}
		refs = append(refs, ref{i, payload})
		total += len(payload)
		c.pos = i
	}
	if len(refs) == 0 {
		return nil, nil
	}
	arena := make([]byte, total)
	out := make([]Record, len(refs))
	off := 0
	for k, r := range refs {
		n := copy(arena[off:], r.data)
		out[k] = Record{Index: r.index, Data: arena[off : off+n : off+n]}
		off += n
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
// close tidwall, quarantine + rewrite with tombstones, reopen.
func (l *Log) salvageLocked(si int, cause error) error {
	sf := l.segs[si]
	l.salvaged[sf.first] = true
	maxIdx := l.segs[si+1].first - 1
	if err := l.tw.Close(); err != nil && !errors.Is(err, twal.ErrClosed) {
		l.log.Error("wal: close before salvage", "err", err)
	}
	out, rerr := repairSegment(l.dir, sf, maxIdx)
	tw, err := twal.Open(l.dir, l.twOptions())
	if err != nil {
		l.broken = fmt.Errorf("wal: reopen after salvage: %w", err)
		l.log.Error("wal: unusable", "err", l.broken)
		return l.broken
	}
	l.tw = tw
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
