package journal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Field is one field of a journal entry. Value is exact: binary fields
// are not decoded or changed.
type Field struct {
	Name  string
	Value []byte
}

// FrameError is an export stream that is not Journal Export Format: where
// (byte offset, entry number) and why.
type FrameError struct {
	Offset int64
	Entry  int // 0-based entry index
	Msg    string
	Large  bool // an entry or field larger than the limit
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("journal export format: entry %d (byte %d): %s", e.Entry, e.Offset, e.Msg)
}

// Decoder reads Journal Export Format (systemd.io/JOURNAL_EXPORT_FORMATS)
// entry by entry from a stream, holding at most one entry in memory:
//
//	NAME=text value\n            a field whose value has no newline
//	NAME\n<le64 size><size bytes>\n   a field of any bytes (binary)
//	\n                           ends the entry
//
// Field names are 1-64 of A-Z, 0-9 and _ (not starting with a digit; the
// special __CURSOR, __REALTIME_TIMESTAMP … start with two underscores).
type Decoder struct {
	r        *bufio.Reader
	off      int64
	entry    int
	maxEntry int
	fields   []Field
	buf      []byte // the current entry's values, back to back
}

// NewDecoder reads from r; an entry larger than maxEntry bytes (its fields'
// names and values) is an error.
func NewDecoder(r io.Reader, maxEntry int) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10), maxEntry: maxEntry}
}

// Offset is the number of bytes read so far.
func (d *Decoder) Offset() int64 { return d.off }

// Next returns the next entry's fields, valid until the next call; io.EOF
// at the end of the stream (after a complete entry; a stream may end
// without the last entry's empty line). A *FrameError for bad framing.
func (d *Decoder) Next() ([]Field, error) {
	d.fields = d.fields[:0]
	d.buf = d.buf[:0]
	type span struct {
		name       string
		start, end int
	}
	var spans []span
	size := 0
	for {
		line, err := d.readLine()
		if err == io.EOF && len(line) == 0 {
			if len(spans) == 0 {
				return nil, io.EOF
			}
			break // the last entry, without its empty line
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 {
			if len(spans) == 0 {
				continue // empty lines between entries
			}
			break
		}
		if err == io.EOF {
			return nil, d.bad("stream ends inside a field (no newline)")
		}
		if eq := bytes.IndexByte(line, '='); eq >= 0 {
			name := line[:eq]
			if !validName(name) {
				return nil, d.bad(fmt.Sprintf("bad field name %q", trunc(name)))
			}
			size += len(line)
			if size > d.maxEntry {
				return nil, d.large()
			}
			start := len(d.buf)
			d.buf = append(d.buf, line[eq+1:]...)
			spans = append(spans, span{string(name), start, len(d.buf)})
			continue
		}
		if !validName(line) {
			return nil, d.bad(fmt.Sprintf("bad field name %q (a text field needs '=')", trunc(line)))
		}
		name := string(line)
		var sz [8]byte
		if _, err := io.ReadFull(d.r, sz[:]); err != nil {
			return nil, d.bad("stream ends inside the size of binary field " + name)
		}
		d.off += 8
		n := binary.LittleEndian.Uint64(sz[:])
		size += len(name)
		if n > uint64(d.maxEntry-size) {
			return nil, d.large()
		}
		size += int(n)
		start := len(d.buf)
		d.buf = append(d.buf, make([]byte, n)...)
		if _, err := io.ReadFull(d.r, d.buf[start:]); err != nil {
			return nil, d.bad(fmt.Sprintf("stream ends inside binary field %s (%d bytes announced)", name, n))
		}
		d.off += int64(n)
		nl, err := d.r.ReadByte()
		if err != nil || nl != '\n' {
			return nil, d.bad(fmt.Sprintf("binary field %s of %d bytes is not followed by a newline", name, n))
		}
		d.off++
		spans = append(spans, span{name, start, len(d.buf)})
	}
	for _, s := range spans {
		d.fields = append(d.fields, Field{Name: s.name, Value: d.buf[s.start:s.end:s.end]})
	}
	d.entry++
	return d.fields, nil
}

// readLine reads up to a newline (not included), bounded by maxEntry.
func (d *Decoder) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		d.off += int64(len(chunk))
		if err == nil {
			chunk = chunk[:len(chunk)-1]
			if line == nil {
				return chunk, nil
			}
			return append(line, chunk...), nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			line = append(line, chunk...)
			if len(line) > d.maxEntry {
				return nil, d.large()
			}
			continue
		}
		return append(line, chunk...), err
	}
}

func (d *Decoder) bad(msg string) error {
	return &FrameError{Offset: d.off, Entry: d.entry, Msg: msg}
}

func (d *Decoder) large() error {
	return &FrameError{Offset: d.off, Entry: d.entry, Large: true,
		Msg: fmt.Sprintf("entry larger than [ingest] max_event_size (%d bytes)", d.maxEntry)}
}

func validName(n []byte) bool {
	if len(n) == 0 || len(n) > 64 || (n[0] >= '0' && n[0] <= '9') {
		return false
	}
	for _, c := range n {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
