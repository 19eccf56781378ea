package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
)

// The segment log itself: the writer appends framed entries to the tail file with
// one write(2) per group, and each cursor reads with its own segReader, which
// remembers the file and byte offset of the next index so that a sequential read
// costs one pread(2) per batch. Nothing is cached in memory beyond the batch
// being read.

// segReader is one cursor's read position in the segment files.
type segReader struct {
	f     *os.File
	first uint64 // first index of the segment f holds
	gen   uint64 // Log.gen when f was opened (salvage and recovery replace files)
	next  uint64 // index of the entry that starts at off
	off   int64
	hdr   []byte
	avg   int // running average entry size, to size reads
}

func (r *segReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// errSegmentEnd: the segment's bytes end before the index looked for.
var errSegmentEnd = errors.New("segment ends before the next segment's first index")

// frame decodes the uvarint framing at the start of b. It returns the header
// length and the entry length; n == 0 means b is too short to tell.
func frame(b []byte) (n int, length uint64, err error) {
	length, n = binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, 0, nil
	case n < 0:
		return 0, 0, errFraming
	case length < headerLen:
		return 0, 0, errShort
	case length > maxEntryLen:
		return 0, 0, errFraming
	}
	return n, length, nil
}

// position opens segment seg (whose bytes end at size) for r and walks its framing
// from the start up to index want. Only lengths are read, not payloads checked.
func (r *segReader) position(seg segFile, size int64, gen, want uint64) error {
	if r.f == nil || r.first != seg.first || r.gen != gen {
		r.close()
		f, err := os.Open(seg.path)
		if err != nil {
			return ioError{err}
		}
		r.f, r.first, r.gen = f, seg.first, gen
		r.next, r.off = seg.first, 0
	}
	if r.next > want || r.off > size {
		r.next, r.off = seg.first, 0
	}
	if cap(r.hdr) < binary.MaxVarintLen64 {
		r.hdr = make([]byte, binary.MaxVarintLen64)
	}
	for r.next < want {
		h := r.hdr[:min(int64(binary.MaxVarintLen64), size-r.off)]
		if len(h) == 0 {
			return errSegmentEnd
		}
		if _, err := r.f.ReadAt(h, r.off); err != nil && err != io.EOF {
			return ioError{err}
		}
		n, length, err := frame(h)
		if err != nil {
			return err
		}
		if n == 0 || int64(length) > size-r.off-int64(n) {
			return errTruncated
		}
		r.off += int64(n) + int64(length)
		r.next++
	}
	return nil
}

// read reads at most window bytes (more if the first entry needs it) from the
// segment at r.off, bounded by size. The returned buffer is fresh: records handed
// out alias it.
func (r *segReader) read(size int64, window int, a *arena) ([]byte, error) {
	n := min(int64(window), size-r.off)
	if n <= 0 {
		return nil, errSegmentEnd
	}
	buf := a.take(int(n))
	if _, err := r.f.ReadAt(buf, r.off); err != nil && err != io.EOF {
		return nil, ioError{err}
	}
	hn, length, err := frame(buf)
	if err != nil {
		return nil, err
	}
	if hn == 0 {
		// a length that does not end within the bytes left (or ten 0x80+ bytes)
		return nil, errTruncated
	}
	need := int64(hn) + int64(length)
	if need > size-r.off {
		return nil, errTruncated
	}
	if need > n { // one entry larger than the window
		buf = a.take(int(need))
		if _, err := r.f.ReadAt(buf, r.off); err != nil && err != io.EOF {
			return nil, ioError{err}
		}
	}
	return buf, nil
}

// arena hands out read buffers from a caller's buffer (Cursor.NextInto), or
// fresh ones once it is used up (or without one).
type arena struct{ buf []byte }

func (a *arena) take(n int) []byte {
	if a == nil || cap(a.buf)-len(a.buf) < n {
		return make([]byte, n)
	}
	b := a.buf[len(a.buf) : len(a.buf)+n : len(a.buf)+n]
	a.buf = a.buf[:len(a.buf)+n]
	return b
}

// createSegment creates (truncating) a segment file.
func createSegment(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wal: create segment: %w", err)
	}
	return f, nil
}

// openTail opens an existing segment for writing at offset size (the end of
// its valid entries; a recycled file holds stale bytes after it).
func openTail(path string, size int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wal: open tail: %w", err)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("wal: open tail: %w", err)
	}
	return f, nil
}

// Segment recycling. A deleted segment's page cache is freed, and a new one
// needs fresh pages: on a VM whose freed memory goes back to the host (free
// page reporting), each fresh page costs a host fault, and ext4 must allocate
// blocks again. So GC keeps up to maxSpares whole segments as spare files and
// the next roll renames one into place and overwrites it: its pages and blocks
// are reused. The stale bytes after the written end are cut when the segment
// is sealed (rolled away from) or the log is closed; after a crash the tail
// repair on open cuts them (the stale entries have older indices, so they can
// never pass for new ones). Spares are deleted on open.
//
// Stale bytes are an old segment's records, and record payloads are whatever
// senders sent: they could hold a well-formed entry with a plausible index.
// So while a recycled file is the tail, a marker file (SEGMENT.recycled) says
// so, and its repair after a crash stops at the first damage instead of
// searching past it for valid entries. Acknowledged records always form an
// unbroken prefix of the tail (they were fdatasynced), so the only cost is for
// a double fault: media damage inside that prefix and a crash before the
// segment was sealed loses the rest of that tail.
const (
	maxSpares      = 2
	sparePrefix    = "spare."
	recycledSuffix = ".recycled"
)

// takeSpareLocked renames a spare file to path and opens it for writing from
// offset 0. It returns nil when there is no spare.
func (l *Log) takeSpareLocked(path string) *os.File {
	for len(l.spares) > 0 {
		sp := l.spares[len(l.spares)-1]
		l.spares = l.spares[:len(l.spares)-1]
		if err := os.Rename(sp, path); err != nil {
			l.log.Warn("wal: spare segment unusable", "file", sp, "err", err)
			os.Remove(sp)
			continue
		}
		f, err := openTail(path, 0)
		if err == nil {
			// made durable by the directory fsync that follows every roll
			err = os.WriteFile(path+recycledSuffix, nil, 0o640)
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			l.log.Warn("wal: spare segment unusable", "file", path, "err", err)
			os.Remove(path)
			continue
		}
		return f
	}
	return nil
}

// unmarkRecycled removes the marker of a segment that is no longer a tail
// with stale bytes (sealed, or deleted).
func unmarkRecycled(path string) {
	if err := os.Remove(path + recycledSuffix); err != nil && !os.IsNotExist(err) {
		slog.Default().Warn("wal: remove recycled marker", "err", err)
	}
}

// sealTail cuts stale bytes after the written end of the tail file (a recycled
// segment) before it stops being the tail or is closed.
func sealTail(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > size {
		return f.Truncate(size)
	}
	return nil
}

// datasync flushes f's data and the metadata needed to read it back (its size):
// fdatasync(2), which skips the timestamp updates fsync(2) would also journal.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
