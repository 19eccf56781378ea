package syslog

import (
	"bufio"
	"errors"
	"io"
)

// FrameInfo describes the frame Next returned.
type FrameInfo struct {
	OctetCounted bool // the frame was "MSG-LEN SP SYSLOG-MSG" (RFC 6587 §3.4.1)
	Truncated    bool // the frame was longer than maxSize; the rest was discarded
	Empty        bool // an empty line: no event must be made of it (count it)
	Partial      bool // the stream ended inside the frame (it is returned as is)
	Discarded    int  // bytes dropped past maxSize
}

// Framer splits a byte stream (TCP, TLS, unix stream) into syslog messages,
// detecting the framing of each frame separately. See doc.go.
//
// It is not safe for concurrent use.
type Framer struct {
	r       *bufio.Reader
	max     int
	big     []byte // holds a truncated frame while the rest of it is discarded
	pending error  // returned by the next call (after a partial frame)
	// afterOctet: the last frame was octet-counted; one LF next is dropped.
	afterOctet bool
}

// maxCountDigits is the longest MSG-LEN accepted: 9 digits (< 1 GB).
const maxCountDigits = 9

// NewFramer returns a Framer reading r. maxSize <= 0 means DefaultMaxSize.
// It buffers maxSize plus a little, so that frames up to maxSize are returned
// without copying.
func NewFramer(r io.Reader, maxSize int) *Framer {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	size := maxSize + 16
	if size < 4096 {
		size = 4096
	}
	return &Framer{r: bufio.NewReaderSize(r, size), max: maxSize}
}

// Buffered reports bytes already read but not yet framed.
func (f *Framer) Buffered() int { return f.r.Buffered() }

// maxOctetCount is the largest MSG-LEN believed: a larger count is taken for
// text (a line that happens to start with digits and " <"), not a frame to
// swallow.
func (f *Framer) maxOctetCount() int {
	if m := 16 * f.max; m > 1<<20 {
		return m
	}
	return 1 << 20
}

// Next returns the next frame. The slice is valid until the next call. At the
// end of the stream it returns io.EOF (after any partial frame); other read
// errors are returned as they come.
func (f *Framer) Next() ([]byte, FrameInfo, error) {
	if f.pending != nil {
		err := f.pending
		f.pending = nil
		return nil, FrameInfo{}, err
	}
	if f.afterOctet {
		f.afterOctet = false
		if b, _ := f.r.Peek(1); len(b) == 1 && b[0] == '\n' {
			f.r.Discard(1)
		}
	}
	if n, hdr, ok := f.octetHeader(); ok {
		return f.octetFrame(n, hdr)
	}
	return f.lineFrame()
}

// octetHeader looks for [1-9][0-9]{0,8} SP '<' at the start of the buffered
// stream, peeking only as far as needed to decide (it never waits for bytes
// a newline-framed message would not have sent).
func (f *Framer) octetHeader() (n, hdr int, ok bool) {
	for i := 0; ; i++ {
		b, err := f.r.Peek(i + 1)
		if len(b) <= i {
			_ = err
			return 0, 0, false
		}
		c := b[i]
		switch {
		case c >= '0' && c <= '9' && i < maxCountDigits && !(i == 0 && c == '0'):
			n = n*10 + int(c-'0')
		case c == ' ' && i > 0:
			b, _ = f.r.Peek(i + 2)
			if len(b) < i+2 || b[i+1] != '<' || n > f.maxOctetCount() {
				return 0, 0, false
			}
			return n, i + 1, true
		default:
			return 0, 0, false
		}
	}
}

func (f *Framer) octetFrame(n, hdr int) ([]byte, FrameInfo, error) {
	info := FrameInfo{OctetCounted: true}
	if _, err := f.r.Discard(hdr); err != nil {
		return nil, info, err
	}
	want := n
	if want > f.max {
		want = f.max
	}
	b, err := f.r.Peek(want)
	if len(b) < want {
		// The stream ended (or failed) inside the frame.
		f.r.Discard(len(b))
		if len(b) == 0 {
			return nil, info, eofErr(err)
		}
		info.Partial = true
		f.pending = eofErr(err)
		return b, info, nil
	}
	if n <= f.max {
		f.r.Discard(n) // b stays valid: Discard of buffered bytes does not refill
		f.skipLF()
		return b, info, nil
	}
	// Longer than max: keep the first max bytes, drop the rest unbuffered.
	f.big = append(f.big[:0], b...)
	f.r.Discard(want)
	d, err := f.r.Discard(n - want)
	info.Truncated = true
	info.Discarded = d
	if err != nil {
		info.Partial = true
		f.pending = eofErr(err)
		return f.big, info, nil
	}
	f.skipLF()
	return f.big, info, nil
}

// skipLF notes that an LF right after this octet-counted frame (some senders
// add one) is to be dropped silently by the next call.
func (f *Framer) skipLF() { f.afterOctet = true }

func (f *Framer) lineFrame() ([]byte, FrameInfo, error) {
	var info FrameInfo
	line, err := f.r.ReadSlice('\n')
	switch {
	case err == nil:
		line = trimEOL(line)
	case errors.Is(err, bufio.ErrBufferFull):
		// Longer than the buffer (> max): keep max bytes, drop up to the LF.
		f.big = append(f.big[:0], line[:f.max]...)
		info.Truncated = true
		info.Discarded = len(line) - f.max
		for {
			rest, err := f.r.ReadSlice('\n')
			if err == nil {
				info.Discarded += len(rest) - 1
				if len(rest) >= 2 && rest[len(rest)-2] == '\r' {
					info.Discarded--
				}
				break
			}
			info.Discarded += len(rest)
			if !errors.Is(err, bufio.ErrBufferFull) {
				info.Partial = true
				f.pending = eofErr(err)
				break
			}
		}
		return f.big, info, nil
	default:
		// EOF or a read error: return what there is, then the error.
		if len(line) == 0 {
			return nil, info, err
		}
		info.Partial = true
		f.pending = err
	}
	if len(line) > 0 && line[len(line)-1] == '\r' && err != nil {
		line = line[:len(line)-1]
	}
	if len(line) == 0 {
		info.Empty = true
		return nil, info, nil
	}
	if len(line) > f.max {
		info.Truncated = true
		info.Discarded = len(line) - f.max
		line = line[:f.max]
	}
	return line, info, nil
}

func eofErr(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}
