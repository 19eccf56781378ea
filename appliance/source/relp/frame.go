package relp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits of the frame grammar (librelp's doc/relp.md, "RELP FRAME").
const (
	MaxTxnr       = 999_999_999 // TXNR = 1*9DIGIT
	maxDigits     = 9           // TXNR and DATALEN
	maxCommandLen = 32          // COMMAND = 1*32ALPHA
	// DefaultMaxData is the largest DATA a Reader accepts when none is given:
	// librelp's default maxDataSize (128 KiB).
	DefaultMaxData = 128 << 10
	// readerSize is the bufio buffer of a Reader. Frames whose DATA (plus
	// its trailer) fits are returned without copying.
	readerSize = 64 << 10
)

// The commands of RELP. A Frame's Command is always one of these (interned:
// reading a frame does not allocate its command).
const (
	CmdOpen        = "open"
	CmdSyslog      = "syslog"
	CmdClose       = "close"
	CmdRsp         = "rsp"
	CmdServerClose = "serverclose" // a hint (txnr 0), server to client
	CmdStartTLS    = "starttls"
	CmdAbort       = "abort" // in the specification's first draft; never sent by librelp
)

var knownCommands = []string{CmdSyslog, CmdRsp, CmdOpen, CmdClose, CmdServerClose, CmdStartTLS, CmdAbort}

// Frame is one RELP frame: TXNR SP COMMAND SP DATALEN [SP DATA] LF.
type Frame struct {
	Txnr    int
	Command string
	// Data is the frame's DATA. It points into the Reader's buffers and is
	// valid only until the next call to Next.
	Data []byte
}

// ErrDataTooLarge is wrapped by the FrameError for a DATALEN above the
// Reader's limit. The DATA is not read: the stream cannot be resynchronised
// without reading it, so the connection has to end.
var ErrDataTooLarge = errors.New("frame data larger than the limit")

// FrameError is a malformed frame. After one, the stream is out of step
// (RELP has no resynchronisation point) and the connection must be closed:
// the RELP specification says the peer that detects a framing error closes
// the connection.
type FrameError struct {
	Offset int64  // byte offset of the frame's first byte in the stream
	Field  string // "txnr", "command", "datalen", "data" or "trailer"
	Reason string
	Err    error // ErrDataTooLarge, io.ErrUnexpectedEOF, or nil
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("relp: bad frame at byte %d: %s: %s", e.Offset, e.Field, e.Reason)
}

func (e *FrameError) Unwrap() error { return e.Err }

// Reader reads RELP frames from a byte stream through a buffer.
type Reader struct {
	r *bufio.Reader
	// MaxData is the largest DATALEN accepted (default DefaultMaxData).
	MaxData int
	// Hints accepts txnr 0 (hints such as "0 serverclose 0", which only a
	// server sends). A server reading a client leaves it false: a client's
	// transactions are numbered from 1.
	Hints bool

	big   []byte // DATA that does not fit the bufio buffer
	off   int64  // bytes consumed
	start int64  // offset of the frame being read
}

// NewReader returns a Reader on r with a 64 KiB buffer.
func NewReader(r io.Reader, maxData int) *Reader {
	if maxData <= 0 {
		maxData = DefaultMaxData
	}
	return &Reader{r: bufio.NewReaderSize(r, readerSize), MaxData: maxData}
}

// Buffered is the number of bytes already read from the stream and not yet
// returned as frames. When it is 0, the next call to Next will block on the
// network.
func (r *Reader) Buffered() int { return r.r.Buffered() }

// Offset is the number of bytes consumed by the frames returned so far.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) bad(field, format string, args ...any) *FrameError {
	return &FrameError{Offset: r.start, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func (r *Reader) truncated(field string) *FrameError {
	return &FrameError{Offset: r.start, Field: field,
		Reason: fmt.Sprintf("stream ended inside a frame (after %d bytes of it)", r.off-r.start),
		Err:    io.ErrUnexpectedEOF}
}

// readByte reads one byte. io.EOF becomes a truncated-frame error (we are
// inside a frame); other errors (deadlines, closed connections) are
// returned as they are.
func (r *Reader) readByte(field string) (byte, error) {
	c, err := r.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0, r.truncated(field)
		}
		return 0, err
	}
	r.off++
	return c, nil
}

// number reads 1..9 digits and the byte after them.
func (r *Reader) number(field string, first byte) (n int, next byte, err error) {
	c := first
	digits := 0
	for c >= '0' && c <= '9' {
		if digits == maxDigits {
			return 0, 0, r.bad(field, "more than %d digits", maxDigits)
		}
		n = n*10 + int(c-'0')
		digits++
		if c, err = r.readByte(field); err != nil {
			return 0, 0, err
		}
	}
	if digits == 0 {
		return 0, 0, r.bad(field, "expected a digit, got %s", quoteByte(c))
	}
	return n, c, nil
}

// Next reads one frame. At a clean end of stream (no byte of a new frame
// read) it returns io.EOF. A malformed frame is a *FrameError. Errors of the
// underlying reader (deadlines, resets) are returned unchanged.
func (r *Reader) Next() (Frame, error) {
	r.start = r.off
	if f, datalen, ok := r.fastHeader(); ok {
		return r.data(f, datalen)
	}
	c, err := r.r.ReadByte()
	if err != nil {
		return Frame{}, err // io.EOF here is a clean end
	}
	r.off++

	// TXNR SP
	txnr, c, err := r.number("txnr", c)
	if err != nil {
		return Frame{}, err
	}
	if c != ' ' {
		return Frame{}, r.bad("txnr", "expected a space after the transaction number, got %s", quoteByte(c))
	}
	if txnr == 0 && !r.Hints {
		return Frame{}, r.bad("txnr", "0 is reserved for hints a server sends; a client numbers its transactions from 1")
	}

	// COMMAND SP
	var cmd [maxCommandLen]byte
	n := 0
	for {
		if c, err = r.readByte("command"); err != nil {
			return Frame{}, err
		}
		if c == ' ' {
			break
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return Frame{}, r.bad("command", "expected a letter or a space, got %s", quoteByte(c))
		}
		if n == maxCommandLen {
			return Frame{}, r.bad("command", "longer than %d letters", maxCommandLen)
		}
		cmd[n] = c
		n++
	}
	if n == 0 {
		return Frame{}, r.bad("command", "empty")
	}
	command := intern(cmd[:n])
	if command == "" {
		return Frame{}, r.bad("command", "unknown command %q (RELP commands: open, syslog, close, rsp, serverclose, starttls)", string(cmd[:n]))
	}

	// DATALEN, then SP DATA LF, or LF alone when DATALEN is 0
	if c, err = r.readByte("datalen"); err != nil {
		return Frame{}, err
	}
	datalen, c, err := r.number("datalen", c)
	if err != nil {
		return Frame{}, err
	}
	f := Frame{Txnr: txnr, Command: command}
	if datalen == 0 {
		if c != '\n' {
			return Frame{}, r.bad("trailer", "DATALEN is 0, so LF must follow it; got %s", quoteByte(c))
		}
		return f, nil
	}
	if c != ' ' {
		return Frame{}, r.bad("datalen", "expected a space before %d bytes of data, got %s", datalen, quoteByte(c))
	}
	return r.data(f, datalen)
}

// data reads the DATA of a frame whose header (up to the SP before DATA)
// was read, and the trailer.
func (r *Reader) data(f Frame, datalen int) (Frame, error) {
	if datalen > r.MaxData {
		e := r.bad("datalen", "%d bytes of data, more than the limit of %d", datalen, r.MaxData)
		e.Err = ErrDataTooLarge
		return Frame{}, e
	}
	if datalen+1 <= r.r.Size() {
		// Common case: DATA and trailer fit the buffer; no copy.
		b, err := r.r.Peek(datalen + 1)
		if err != nil {
			if err == io.EOF {
				r.off += int64(len(b))
				return Frame{}, r.truncated("data")
			}
			return Frame{}, err
		}
		if b[datalen] != '\n' {
			r.off += int64(datalen)
			return Frame{}, r.bad("trailer", "expected LF after %d bytes of data, got %s", datalen, quoteByte(b[datalen]))
		}
		f.Data = b[:datalen:datalen]
		r.r.Discard(datalen + 1)
		r.off += int64(datalen + 1)
		return f, nil
	}
	if cap(r.big) < datalen {
		r.big = make([]byte, datalen)
	}
	got, err := io.ReadFull(r.r, r.big[:datalen])
	r.off += int64(got)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Frame{}, r.truncated("data")
		}
		return Frame{}, err
	}
	c, err := r.readByte("trailer")
	if err != nil {
		return Frame{}, err
	}
	if c != '\n' {
		return Frame{}, r.bad("trailer", "expected LF after %d bytes of data, got %s", datalen, quoteByte(c))
	}
	f.Data = r.big[:datalen:datalen]
	return f, nil
}

// fastHeader parses a well-formed header of a frame with DATA from the
// bytes already buffered, without a call per byte. Anything else — a header
// not wholly buffered, a frame without DATA, any malformation — is left to
// the byte-wise path, which then reads the same bytes and reports exactly.
func (r *Reader) fastHeader() (f Frame, datalen int, ok bool) {
	b, _ := r.r.Peek(min(r.r.Buffered(), 2*maxDigits+maxCommandLen+3))
	i, txnr := 0, 0
	for i < len(b) && i < maxDigits && b[i] >= '0' && b[i] <= '9' {
		txnr = txnr*10 + int(b[i]-'0')
		i++
	}
	if i == 0 || i >= len(b) || b[i] != ' ' || (txnr == 0 && !r.Hints) {
		return f, 0, false
	}
	i++
	cs := i
	for i < len(b) && i-cs < maxCommandLen && (b[i] >= 'a' && b[i] <= 'z' || b[i] >= 'A' && b[i] <= 'Z') {
		i++
	}
	if i >= len(b) || b[i] != ' ' {
		return f, 0, false
	}
	command := intern(b[cs:i])
	if command == "" {
		return f, 0, false
	}
	i++
	ds := i
	for i < len(b) && i-ds < maxDigits && b[i] >= '0' && b[i] <= '9' {
		datalen = datalen*10 + int(b[i]-'0')
		i++
	}
	if i == ds || i >= len(b) || b[i] != ' ' || datalen == 0 {
		return f, 0, false
	}
	i++
	r.r.Discard(i)
	r.off += int64(i)
	return Frame{Txnr: txnr, Command: command}, datalen, true
}

// Ready reports whether Next can return without reading from the
// underlying reader: a whole frame is buffered, or bytes that Next will
// reject at once. (A RELP server acknowledges what it has before it blocks
// in a read: a client whose window is full sends nothing more until it is
// answered — and it may have sent only part of a frame.)
func (r *Reader) Ready() bool {
	b, _ := r.r.Peek(r.r.Buffered())
	return r.decided(b)
}

// decided reports whether b holds a whole frame or the start of a malformed
// one. It may say false for a malformed start (Next then fails anyway);
// never true for a valid frame that is not whole.
func (r *Reader) decided(b []byte) bool {
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	i := 0
	for i < len(b) && digit(b[i]) {
		if i++; i > maxDigits {
			return true
		}
	}
	if i == len(b) {
		return false
	}
	if i == 0 || b[i] != ' ' {
		return true
	}
	i++
	cs := i
	for i < len(b) && (b[i] >= 'a' && b[i] <= 'z' || b[i] >= 'A' && b[i] <= 'Z') {
		if i++; i-cs > maxCommandLen {
			return true
		}
	}
	if i == len(b) {
		return false
	}
	if i == cs || b[i] != ' ' {
		return true
	}
	i++
	ds, n := i, 0
	for i < len(b) && digit(b[i]) {
		n = n*10 + int(b[i]-'0')
		if i++; i-ds > maxDigits {
			return true
		}
	}
	switch {
	case i == len(b):
		return false
	case i == ds || n == 0 || b[i] != ' ' || n > r.MaxData:
		return true // LF after DATALEN 0 (a whole frame), or an error
	}
	return len(b) >= i+1+n+1 // SP DATA LF
}

// intern returns the constant for a known command, "" for any other.
func intern(b []byte) string {
	for _, k := range knownCommands {
		if string(b) == k { // no allocation: the compiler compares in place
			return k
		}
	}
	return ""
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// AppendFrame appends the encoding of one frame to dst.
func AppendFrame(dst []byte, txnr int, command string, data []byte) []byte {
	dst = strconv.AppendInt(dst, int64(txnr), 10)
	dst = append(dst, ' ')
	dst = append(dst, command...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(data)), 10)
	if len(data) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, data...)
	}
	return append(dst, '\n')
}

// rsp200 is the DATA of an acknowledgement.
const rsp200 = "200 OK"

// AppendOK appends "TXNR rsp 6 200 OK\n", the acknowledgement of one
// transaction, without allocating.
func AppendOK(dst []byte, txnr int) []byte {
	dst = strconv.AppendInt(dst, int64(txnr), 10)
	return append(dst, " rsp 6 "+rsp200+"\n"...)
}

// AppendServerClose appends the serverclose hint, "0 serverclose 0\n".
func AppendServerClose(dst []byte) []byte { return append(dst, "0 serverclose 0\n"...) }

// nextTxnr is the transaction number after t: they wrap from 999,999,999 to 1.
func nextTxnr(t int) int {
	if t >= MaxTxnr {
		return 1
	}
	return t + 1
}
