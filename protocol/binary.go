package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"
)

// binaryVersion is the first byte of every encoded event. Decoders reject
// versions they do not know, so the format can evolve (see doc.go).
const binaryVersion = 1

// MaxFieldLen bounds any single string in the binary form. It protects the
// decoder from absurd lengths in corrupt input (messages are far smaller).
const MaxFieldLen = 16 << 20

const maxCount = 1 << 16 // bound on SD elements, params, tags and fields

const (
	flagTime     = 1 << 0
	flagReceived = 1 << 1
)

// ErrTruncated is returned (wrapped) when the input ends inside a field.
var ErrTruncated = errors.New("truncated")

// AppendBinary appends the compact binary form of e to dst.
// It allocates only when dst must grow (and to sort Fields keys when there are several).
func (e *Event) AppendBinary(dst []byte) []byte {
	var flags byte
	if !e.Time.IsZero() {
		flags |= flagTime
	}
	if !e.Received.IsZero() {
		flags |= flagReceived
	}
	dst = append(dst, binaryVersion, flags, byte(e.Facility), byte(e.Severity), e.Hops)
	dst = binary.AppendUvarint(dst, uint64(e.Count))
	dst = appendStr(dst, e.ID.Node)
	dst = binary.AppendUvarint(dst, e.ID.Seq)
	if flags&flagReceived != 0 {
		dst = appendTime(dst, e.Received)
	}
	if flags&flagTime != 0 {
		dst = appendTime(dst, e.Time)
	}
	dst = appendStr(dst, e.Host)
	dst = appendStr(dst, e.App)
	dst = appendStr(dst, e.ProcID)
	dst = appendStr(dst, e.MsgID)
	dst = appendStr(dst, e.Message)
	dst = appendStr(dst, e.Peer)
	dst = appendStr(dst, e.Transport)
	dst = appendStr(dst, e.ParseErr)
	dst = binary.AppendUvarint(dst, uint64(len(e.SD)))
	for _, el := range e.SD {
		dst = appendStr(dst, el.ID)
		dst = binary.AppendUvarint(dst, uint64(len(el.Params)))
		for _, p := range el.Params {
			dst = appendStr(dst, p.Name)
			dst = appendStr(dst, p.Value)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Tags)))
	for _, t := range e.Tags {
		dst = appendStr(dst, t)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Fields)))
	if len(e.Fields) > 0 {
		for _, k := range sortedKeys(e.Fields) {
			dst = appendStr(dst, k)
			dst = appendStr(dst, e.Fields[k])
		}
	}
	return dst
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (e *Event) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil), nil }

// UnmarshalBinary implements encoding.BinaryUnmarshaler. All strings of the
// event share one allocation copied from b, so b may be reused afterwards.
func (e *Event) UnmarshalBinary(b []byte) error {
	return e.unmarshal(b, string(b))
}

// UnmarshalBinaryShared is UnmarshalBinary without the copy: the event's
// strings point into b, which must never be modified afterwards (b is kept
// alive as long as the event). For buffers read once and not reused, such as
// the records a WAL cursor returns.
func (e *Event) UnmarshalBinaryShared(b []byte) error {
	if len(b) == 0 {
		return e.unmarshal(b, "")
	}
	return e.unmarshal(b, unsafe.String(&b[0], len(b)))
}

func (e *Event) unmarshal(b []byte, s string) error {
	if len(b) < 5 {
		return fmt.Errorf("protocol: decode event: header: %w", ErrTruncated)
	}
	if b[0] != binaryVersion {
		return fmt.Errorf("protocol: decode event: unknown version %d", b[0])
	}
	d := decoder{s: s, off: 5}
	flags := b[1]
	if flags&^(flagTime|flagReceived) != 0 {
		return fmt.Errorf("protocol: decode event: unknown flags %#x", flags)
	}
	*e = Event{Facility: Facility(b[2]), Severity: Severity(b[3]), Hops: b[4]}
	if !e.Facility.Valid() || !e.Severity.Valid() {
		return fmt.Errorf("protocol: decode event: bad facility %d or severity %d", b[2], b[3])
	}
	c := d.uvarint()
	if c > math.MaxUint32 {
		d.fail("count out of range")
	}
	e.Count = uint32(c)
	e.ID.Node = d.str()
	e.ID.Seq = d.uvarint()
	if flags&flagReceived != 0 {
		e.Received = d.time()
	}
	if flags&flagTime != 0 {
		e.Time = d.time()
	}
	e.Host = d.str()
	e.App = d.str()
	e.ProcID = d.str()
	e.MsgID = d.str()
	e.Message = d.str()
	e.Peer = d.str()
	e.Transport = d.str()
	e.ParseErr = d.str()
	if n := d.count(); n > 0 {
		e.SD = make([]SDElement, n)
		for i := range e.SD {
			e.SD[i].ID = d.str()
			if np := d.count(); np > 0 {
				e.SD[i].Params = make([]SDParam, np)
				for j := range e.SD[i].Params {
					e.SD[i].Params[j] = SDParam{Name: d.str(), Value: d.str()}
				}
			}
		}
	}
	if n := d.count(); n > 0 {
		e.Tags = make([]string, n)
		for i := range e.Tags {
			e.Tags[i] = d.str()
		}
	}
	if n := d.count(); n > 0 {
		e.Fields = make(map[string]string, n)
		for range n {
			k := d.str()
			e.Fields[k] = d.str()
		}
	}
	if d.err != nil {
		return fmt.Errorf("protocol: decode event: %w", d.err)
	}
	if d.off != len(d.s) {
		return fmt.Errorf("protocol: decode event: %d trailing bytes", len(d.s)-d.off)
	}
	return nil
}

// DecodeEvent is UnmarshalBinary as a function.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	err := e.UnmarshalBinary(b)
	return e, err
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendTime stores Unix nanoseconds and the zone offset in seconds, so the
// sender's offset survives (JSON prints the time as the message gave it).
func appendTime(dst []byte, t time.Time) []byte {
	_, off := t.Zone()
	dst = binary.AppendVarint(dst, t.UnixNano())
	return binary.AppendVarint(dst, int64(off))
}

type decoder struct {
	s   string
	off int
	err error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %s", d.off, msg)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			d.err = fmt.Errorf("at byte %d: %w", d.off, ErrTruncated)
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				d.fail("varint overflows 64 bits")
				return 0
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.fail("varint overflows 64 bits")
	return 0
}

func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) str() string {
	// Most fields are shorter than 128 bytes: a one-byte length.
	if d.err == nil && d.off < len(d.s) {
		if n := int(d.s[d.off]); n < 0x80 && d.off+1+n <= len(d.s) {
			s := d.s[d.off+1 : d.off+1+n]
			d.off += 1 + n
			return s
		}
	}
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > MaxFieldLen {
		d.fail(fmt.Sprintf("string length %d exceeds %d", n, MaxFieldLen))
		return ""
	}
	if uint64(len(d.s)-d.off) < n {
		d.err = fmt.Errorf("at byte %d: string of %d bytes: %w", d.off, n, ErrTruncated)
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) count() int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	// every element takes at least one byte, so a count larger than what is left is corrupt
	if n > maxCount || n > uint64(len(d.s)-d.off) {
		d.fail(fmt.Sprintf("element count %d out of range", n))
		return 0
	}
	return int(n)
}

// zones holds one FixedZone per quarter hour from -18h to +18h, so decoding
// a time does not allocate a Location (and needs no lock: it is read-only).
var zones = func() (z [145]*time.Location) {
	for i := range z {
		z[i] = time.FixedZone("", (i-72)*900)
	}
	return z
}()

func (d *decoder) time() time.Time {
	ns := d.varint()
	off := d.varint()
	if d.err != nil {
		return time.Time{}
	}
	if off < -18*3600 || off > 18*3600 {
		d.fail("zone offset out of range")
		return time.Time{}
	}
	t := time.Unix(0, ns)
	if off == 0 {
		return t.UTC()
	}
	return t.In(fixedZone(int(off)))
}

func fixedZone(off int) *time.Location {
	if off%900 == 0 {
		return zones[off/900+72]
	}
	return time.FixedZone("", off)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// AppendRecordWithID appends the encoded event rec to dst, giving it id when
// it carries no ID (its node is empty), unchanged otherwise. Only the header
// up to the ID is decoded (and checked): this forwards an event to another
// node without decoding and encoding it whole. The result decodes to the
// event of rec with that ID.
func AppendRecordWithID(dst, rec []byte, id ID) ([]byte, error) {
	if len(rec) < 5 {
		return dst, fmt.Errorf("protocol: event header: %w", ErrTruncated)
	}
	if rec[0] != binaryVersion {
		return dst, fmt.Errorf("protocol: event: unknown version %d", rec[0])
	}
	d := decoder{s: unsafe.String(&rec[0], len(rec)), off: 5}
	d.uvarint() // count
	idAt := d.off
	node := d.str()
	d.uvarint() // seq
	if d.err != nil {
		return dst, fmt.Errorf("protocol: event ID: %w", d.err)
	}
	if node != "" {
		return append(dst, rec...), nil
	}
	dst = append(dst, rec[:idAt]...)
	dst = appendStr(dst, id.Node)
	dst = binary.AppendUvarint(dst, id.Seq)
	return append(dst, rec[d.off:]...), nil
}
