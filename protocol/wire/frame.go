package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version this package speaks (HELLO/WELCOME).
// Version 2 added CodecColumns.
const Version = 2

// ALPN is the TLS application protocol of a node link.
const ALPN = "logpacker/1"

// Limits. A decoder rejects anything larger with a *FrameError.
const (
	DefaultMaxFrame = 16 << 20 // bytes of one frame body
	MaxBatchEvents  = 1 << 16  // events in one BATCH
	MaxBatchBytes   = 64 << 20 // uncompressed bytes of one BATCH
	MaxString       = 4 << 10  // node IDs, addresses, attribute keys and values, reasons
	MaxMembers      = 1024     // members in a WELCOME
	MaxAttrs        = 64       // attributes of one member
)

// Type is a frame's first byte.
type Type byte

const (
	TypeHello   Type = 0x01
	TypeWelcome Type = 0x02
	TypeBatch   Type = 0x03
	TypeAck     Type = 0x04
	TypeError   Type = 0x05
	TypePing    Type = 0x06
	TypePong    Type = 0x07
)

func (t Type) String() string {
	switch t {
	case TypeHello:
		return "HELLO"
	case TypeWelcome:
		return "WELCOME"
	case TypeBatch:
		return "BATCH"
	case TypeAck:
		return "ACK"
	case TypeError:
		return "ERROR"
	case TypePing:
		return "PING"
	case TypePong:
		return "PONG"
	}
	return fmt.Sprintf("Type(%#x)", byte(t))
}

// Frame is one of *Hello, *Welcome, *Batch, *Ack, *Error, *Ping, *Pong.
type Frame interface {
	Type() Type
	appendBody(dst []byte) []byte
	decodeBody(d *decoder)
}

// Caps are the capabilities a client announces in HELLO.
type Caps uint64

const (
	CapZstd Caps = 1 << iota // BATCH data may be zstd-compressed
)

// Hello opens a link (client → parent).
type Hello struct {
	Version uint64
	Node    string // the client's node ID
	Caps    Caps
	Window  uint32 // BATCH frames the client may keep unacknowledged
}

// Welcome answers Hello (parent → client) and, sent again later, carries an
// updated cluster view.
type Welcome struct {
	Version uint64 // the version the parent speaks on this link
	Node    string // the parent's node ID
	Members []Member
}

// Member is one node of the parent's cluster view: its relay address and
// whatever it publishes (the Attr* keys: state, spare capacity, load figures).
type Member struct {
	Node  string `json:"node"`
	Addr  string `json:"addr"`
	Attrs []Attr `json:"attrs"`
}

// Attr is one key/value of a Member.
type Attr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Attribute keys a parent's cluster sets on the members of its WELCOME.
// AttrState and AttrSpare steer a child's choice of parent (package relay);
// the load figures are for display (`logpacker status`).
const (
	AttrSpare     = "spare"      // spare capacity in [0,1]: the balancing weight
	AttrState     = "state"      // alive | suspect | dead | left
	AttrCPUUser   = "cpu_user"   // percent
	AttrCPUSystem = "cpu_system" // percent
	AttrMemFree   = "mem_free"   // bytes
	AttrDiskFree  = "disk_free"  // bytes, of the data dir's filesystem
	AttrLoad1     = "load1"
)

// Codec says how a BATCH's data is encoded.
type Codec byte

const (
	CodecNone    Codec = 0
	CodecZstd    Codec = 1
	CodecColumns Codec = 2 // wire version 2 (see doc.go, "Columns")
)

// Batch carries Count encoded events (client → parent). Data is RawLen bytes
// once decompressed: Count × (uvarint length | protocol binary event).
type Batch struct {
	Seq    uint64 // per link, from 1, consecutive
	Count  uint32
	Codec  Codec
	RawLen uint32
	Data   []byte // aliases the decoder's buffer until the next Next
}

// Ack says every BATCH up to and including Seq is durable in the parent's WAL.
type Ack struct{ Seq uint64 }

// ErrCode classifies an ERROR.
type ErrCode uint64

const (
	ErrBadFrame     ErrCode = 1 // undecodable frame: the link is closed
	ErrVersion      ErrCode = 2 // unsupported version
	ErrBadBatch     ErrCode = 3 // a BATCH whose data does not decode: permanent for that batch
	ErrTooLarge     ErrCode = 4 // over a limit
	ErrUnauthorized ErrCode = 5
	ErrUnavailable  ErrCode = 6 // shutting down or full: retry elsewhere or later
)

// Error rejects a batch (Seq > 0) or the link (Seq == 0), with a reason.
type Error struct {
	Seq    uint64
	Code   ErrCode
	Reason string
}

// Ping and Pong keep a link alive and measure it.
type Ping struct{ Nonce uint64 }

// Pong answers a Ping with its nonce.
type Pong struct{ Nonce uint64 }

func (*Hello) Type() Type   { return TypeHello }
func (*Welcome) Type() Type { return TypeWelcome }
func (*Batch) Type() Type   { return TypeBatch }
func (*Ack) Type() Type     { return TypeAck }
func (*Error) Type() Type   { return TypeError }
func (*Ping) Type() Type    { return TypePing }
func (*Pong) Type() Type    { return TypePong }

// FrameError is a malformed frame. Whoever reads one answers with an ERROR
// (ErrBadFrame) and closes the link.
type FrameError struct {
	Type   Type
	Reason string
}

func (e *FrameError) Error() string {
	if e.Type == 0 {
		return "wire: bad frame: " + e.Reason
	}
	return fmt.Sprintf("wire: bad %s frame: %s", e.Type, e.Reason)
}

// ErrShort is returned by DecodeFrame when b holds no whole frame yet.
var ErrShort = errors.New("wire: need more bytes")

// AppendFrame appends f as one frame: type(1) | uvarint(body length) | body.
func AppendFrame(dst []byte, f Frame) []byte {
	dst = append(dst, byte(f.Type()))
	// Reserve the length: bodies are encoded after it and the length patched
	// in; a body under 128 bytes needs one byte, else the body is moved.
	mark := len(dst)
	dst = append(dst, 0)
	dst = f.appendBody(dst)
	n := len(dst) - mark - 1
	if n < 0x80 {
		dst[mark] = byte(n)
		return dst
	}
	var lb [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(lb[:], uint64(n))
	dst = append(dst, lb[:k-1]...) // grow by k-1
	copy(dst[mark+k:], dst[mark+1:mark+1+n])
	copy(dst[mark:], lb[:k])
	return dst
}

func newFrame(t Type) Frame {
	switch t {
	case TypeHello:
		return &Hello{}
	case TypeWelcome:
		return &Welcome{}
	case TypeBatch:
		return &Batch{}
	case TypeAck:
		return &Ack{}
	case TypeError:
		return &Error{}
	case TypePing:
		return &Ping{}
	case TypePong:
		return &Pong{}
	}
	return nil
}

// DecodeFrame decodes the frame at the start of b and returns it with the
// number of bytes it took. ErrShort means b holds no whole frame yet; a
// *FrameError means it never will. Batch.Data aliases b.
func DecodeFrame(b []byte, maxFrame int) (Frame, int, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	if len(b) < 2 {
		return nil, 0, ErrShort
	}
	t := Type(b[0])
	f := newFrame(t)
	if f == nil {
		return nil, 0, &FrameError{Reason: fmt.Sprintf("unknown frame type %#x", b[0])}
	}
	n, k := binary.Uvarint(b[1:])
	switch {
	case k == 0:
		return nil, 0, ErrShort
	case k < 0:
		return nil, 0, &FrameError{Type: t, Reason: "length overflows"}
	case n > uint64(maxFrame):
		return nil, 0, &FrameError{Type: t, Reason: fmt.Sprintf("length %d exceeds %d", n, maxFrame)}
	}
	end := 1 + k + int(n)
	if len(b) < end {
		return nil, 0, ErrShort
	}
	d := decoder{b: b[1+k : end]}
	f.decodeBody(&d)
	if d.err == "" && d.off != len(d.b) {
		d.err = fmt.Sprintf("%d trailing bytes", len(d.b)-d.off)
	}
	if d.err != "" {
		return nil, 0, &FrameError{Type: t, Reason: d.err}
	}
	return f, end, nil
}

// Reader reads frames from a stream.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader reads frames of at most maxFrame body bytes (0: DefaultMaxFrame).
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: maxFrame}
}

// Next returns the next frame. Its Batch.Data is valid until the next call.
// io.EOF means the stream ended between frames; a stream that ends inside
// one is io.ErrUnexpectedEOF.
func (r *Reader) Next() (Frame, error) {
	t, err := r.r.ReadByte()
	if err != nil {
		return nil, err
	}
	if newFrame(Type(t)) == nil {
		return nil, &FrameError{Reason: fmt.Sprintf("unknown frame type %#x", t)}
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		return nil, &FrameError{Type: Type(t), Reason: "length overflows"}
	}
	if n > uint64(r.max) {
		return nil, &FrameError{Type: Type(t), Reason: fmt.Sprintf("length %d exceeds %d", n, r.max)}
	}
	need := 1 + binary.MaxVarintLen64 + int(n)
	if cap(r.buf) < need {
		r.buf = make([]byte, need)
	}
	b := r.buf[:0]
	b = append(b, t)
	b = binary.AppendUvarint(b, n)
	hdr := len(b)
	b = b[:hdr+int(n)]
	if _, err := io.ReadFull(r.r, b[hdr:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	f, _, err := DecodeFrame(b, r.max)
	return f, err
}

// ---- bodies ----

func (h *Hello) appendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, h.Version)
	b = appendString(b, h.Node)
	b = binary.AppendUvarint(b, uint64(h.Caps))
	return binary.AppendUvarint(b, uint64(h.Window))
}

func (h *Hello) decodeBody(d *decoder) {
	h.Version = d.uvarint()
	h.Node = d.str()
	h.Caps = Caps(d.uvarint())
	h.Window = d.u32("window")
	if d.err == "" && h.Node == "" {
		d.fail("empty node ID")
	}
}

func (w *Welcome) appendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, w.Version)
	b = appendString(b, w.Node)
	b = binary.AppendUvarint(b, uint64(len(w.Members)))
	for _, m := range w.Members {
		b = appendString(b, m.Node)
		b = appendString(b, m.Addr)
		b = binary.AppendUvarint(b, uint64(len(m.Attrs)))
		for _, a := range m.Attrs {
			b = appendString(b, a.Key)
			b = appendString(b, a.Value)
		}
	}
	return b
}

func (w *Welcome) decodeBody(d *decoder) {
	w.Version = d.uvarint()
	w.Node = d.str()
	n := d.count(MaxMembers, "members")
	if n > 0 {
		w.Members = make([]Member, n)
	}
	for i := 0; i < n && d.err == ""; i++ {
		m := &w.Members[i]
		m.Node = d.str()
		m.Addr = d.str()
		na := d.count(MaxAttrs, "attributes")
		if na > 0 {
			m.Attrs = make([]Attr, na)
		}
		for j := 0; j < na && d.err == ""; j++ {
			m.Attrs[j] = Attr{Key: d.str(), Value: d.str()}
		}
	}
}

func (bt *Batch) appendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, bt.Seq)
	b = binary.AppendUvarint(b, uint64(bt.Count))
	b = append(b, byte(bt.Codec))
	b = binary.AppendUvarint(b, uint64(bt.RawLen))
	return append(b, bt.Data...)
}

func (bt *Batch) decodeBody(d *decoder) {
	bt.Seq = d.uvarint()
	c := d.uvarint()
	codec := d.byte()
	raw := d.uvarint()
	switch {
	case d.err != "":
		return
	case bt.Seq == 0:
		d.fail("sequence 0")
	case c == 0 || c > MaxBatchEvents:
		d.fail(fmt.Sprintf("event count %d not in 1..%d", c, MaxBatchEvents))
	case Codec(codec) > CodecColumns:
		d.fail(fmt.Sprintf("unknown codec %d", codec))
	case raw > MaxBatchBytes:
		d.fail(fmt.Sprintf("uncompressed length %d exceeds %d", raw, MaxBatchBytes))
	case raw < c:
		d.fail(fmt.Sprintf("uncompressed length %d too short for %d events", raw, c))
	}
	if d.err != "" {
		return
	}
	bt.Count, bt.Codec, bt.RawLen = uint32(c), Codec(codec), uint32(raw)
	bt.Data = d.b[d.off:len(d.b):len(d.b)]
	d.off = len(d.b)
	if bt.Codec == CodecNone && len(bt.Data) != int(raw) {
		d.fail(fmt.Sprintf("uncompressed data is %d bytes, header says %d", len(bt.Data), raw))
	}
}

func (a *Ack) appendBody(b []byte) []byte { return binary.AppendUvarint(b, a.Seq) }
func (a *Ack) decodeBody(d *decoder)      { a.Seq = d.uvarint() }

func (e *Error) appendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.AppendUvarint(b, uint64(e.Code))
	return appendString(b, e.Reason)
}

func (e *Error) decodeBody(d *decoder) {
	e.Seq = d.uvarint()
	e.Code = ErrCode(d.uvarint())
	e.Reason = d.str()
}

func (p *Ping) appendBody(b []byte) []byte { return binary.BigEndian.AppendUint64(b, p.Nonce) }
func (p *Ping) decodeBody(d *decoder)      { p.Nonce = d.u64() }
func (p *Pong) appendBody(b []byte) []byte { return binary.BigEndian.AppendUint64(b, p.Nonce) }
func (p *Pong) decodeBody(d *decoder)      { p.Nonce = d.u64() }

func appendString(b []byte, s string) []byte {
	if len(s) > MaxString {
		s = s[:MaxString] // the decoder would refuse more; never send it
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads a frame body; the first problem sticks in err.
type decoder struct {
	b   []byte
	off int
	err string
}

func (d *decoder) fail(s string) {
	if d.err == "" {
		d.err = s
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != "" {
		return 0
	}
	v, k := binary.Uvarint(d.b[d.off:])
	if k <= 0 {
		if k == 0 {
			d.fail("truncated")
		} else {
			d.fail("varint overflows")
		}
		return 0
	}
	d.off += k
	return v
}

func (d *decoder) u32(what string) uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail(what + " out of range")
		return 0
	}
	return uint32(v)
}

func (d *decoder) u64() uint64 {
	if d.err != "" {
		return 0
	}
	if len(d.b)-d.off < 8 {
		d.fail("truncated")
		return 0
	}
	v := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) byte() byte {
	if d.err != "" {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated")
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != "" {
		return ""
	}
	if n > MaxString {
		d.fail(fmt.Sprintf("string of %d bytes exceeds %d", n, MaxString))
		return ""
	}
	if uint64(len(d.b)-d.off) < n {
		d.fail("truncated string")
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *decoder) count(max int, what string) int {
	n := d.uvarint()
	if d.err != "" {
		return 0
	}
	// every element takes at least one byte
	if n > uint64(max) || n > uint64(len(d.b)-d.off) {
		d.fail(fmt.Sprintf("%d %s out of range", n, what))
		return 0
	}
	return int(n)
}
