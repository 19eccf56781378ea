package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
func (r *segReader) read(size int64, window int) ([]byte, error) {
	n := min(int64(window), size-r.off)
	if n <= 0 {
		return nil, errSegmentEnd
	}
	buf := make([]byte, n)
	if _, err := r.f.ReadAt(buf, r.off); err != nil && err != io.EOF {
		return nil, ioError{err}
	}
	hn, length, err := frame(buf)
	if err != nil {
		return nil, err
	}
	if hn == 0 && n < binary.MaxVarintLen64 {
		return nil, errTruncated
	}
	need := int64(hn) + int64(length)
	if need > size-r.off {
		return nil, errTruncated
	}
	if need > n { // one entry larger than the window
		buf = make([]byte, need)
		if _, err := r.f.ReadAt(buf, r.off); err != nil && err != io.EOF {
			return nil, ioError{err}
		}
	}
	return buf, nil
}

// openSegment creates (truncating) the segment file whose first index is first.
func createSegment(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wal: create segment: %w", err)
	}
	return f, nil
}

// openTail opens an existing segment for appending.
func openTail(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wal: open tail: %w", err)
	}
	return f, nil
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
