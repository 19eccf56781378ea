package protocol

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeLayout is RFC 3339 with nanoseconds, as the JSON form prints times.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AppendJSON appends the public JSON form of e (one object, no newline) to dst.
// Keys, in order: id, received, time (omitted when the message had none),
// facility, severity, host, app, procid, msgid, message, sd, tags, fields,
// transport, peer, hops, count, parse_error (only when set). Invalid UTF-8 is
// replaced by U+FFFD, as encoding/json does.
func (e *Event) AppendJSON(dst []byte) []byte {
	return e.appendJSON(dst, nil)
}

// JSONEncoder appends the JSON form of events like AppendJSON, remembering
// the date and time (to the second) it last printed for each timestamp
// field: consecutive events mostly share them (one receive time per batch,
// messages from the same second), and the rest of the line is cheap. The
// output is byte-identical to AppendJSON. Not safe for concurrent use.
type JSONEncoder struct {
	received, time timeCache
}

// Append appends the JSON form of e to dst.
func (enc *JSONEncoder) Append(dst []byte, e *Event) []byte {
	return e.appendJSON(dst, enc)
}

// timeCache holds one formatted timestamp without its fraction: the
// "YYYY-MM-DDTHH:MM:SS" prefix and the zone suffix for (sec, loc).
type timeCache struct {
	ok     bool
	sec    int64
	loc    *time.Location
	prefix [19]byte
	zone   [6]byte
	zlen   uint8
}

func (e *Event) appendJSON(dst []byte, enc *JSONEncoder) []byte {
	var recv, tm *timeCache
	if enc != nil {
		recv, tm = &enc.received, &enc.time
	}
	// Room for the fixed text and the common fields, so a fresh dst grows once.
	if n := 256 + len(e.ID.Node) + len(e.Host) + len(e.App) + len(e.ProcID) + len(e.MsgID) +
		len(e.Message) + len(e.Transport) + len(e.Peer) + len(e.ParseErr); cap(dst)-len(dst) < n {
		dst = slices.Grow(dst, n)
	}
	dst = append(dst, `{"id":"`...)
	dst = appendEscaped(dst, e.ID.Node)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, e.ID.Seq, 10)
	dst = append(dst, `","received":`...)
	dst = appendJSONTimeCached(dst, e.Received, recv)
	if !e.Time.IsZero() {
		dst = append(dst, `,"time":`...)
		dst = appendJSONTimeCached(dst, e.Time, tm)
	}
	dst = append(dst, `,"facility":"`...)
	dst = append(dst, e.Facility.String()...)
	dst = append(dst, `","severity":"`...)
	dst = append(dst, e.Severity.String()...)
	dst = append(dst, '"')
	dst = appendKV(dst, "host", e.Host)
	dst = appendKV(dst, "app", e.App)
	dst = appendKV(dst, "procid", e.ProcID)
	dst = appendKV(dst, "msgid", e.MsgID)
	dst = appendKV(dst, "message", e.Message)
	dst = append(dst, `,"sd":{`...)
	for i, el := range e.SD {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendQuoted(dst, el.ID)
		dst = append(dst, ":{"...)
		for j, p := range el.Params {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuoted(dst, p.Name)
			dst = append(dst, ':')
			dst = appendQuoted(dst, p.Value)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `},"tags":[`...)
	for i, t := range e.Tags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendQuoted(dst, t)
	}
	dst = append(dst, `],"fields":{`...)
	if len(e.Fields) > 0 {
		// Sorted as sortedKeys does, in a stack buffer for the usual few keys.
		var buf [16]string
		keys := buf[:0]
		for k := range e.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuoted(dst, k)
			dst = append(dst, ':')
			dst = appendQuoted(dst, e.Fields[k])
		}
	}
	dst = append(dst, '}')
	dst = appendKV(dst, "transport", e.Transport)
	dst = appendKV(dst, "peer", e.Peer)
	dst = append(dst, `,"hops":`...)
	dst = strconv.AppendUint(dst, uint64(e.Hops), 10)
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendUint(dst, uint64(e.jsonCount()), 10)
	if e.ParseErr != "" {
		dst = appendKV(dst, "parse_error", e.ParseErr)
	}
	return append(dst, '}')
}

func (e *Event) jsonCount() uint32 {
	if e.Count == 0 {
		return 1
	}
	return e.Count
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

type jsonEvent struct {
	ID         *string           `json:"id"`
	Received   *time.Time        `json:"received"`
	Time       *time.Time        `json:"time"`
	Facility   string            `json:"facility"`
	Severity   string            `json:"severity"`
	Host       string            `json:"host"`
	App        string            `json:"app"`
	ProcID     string            `json:"procid"`
	MsgID      string            `json:"msgid"`
	Message    string            `json:"message"`
	SD         orderedSD         `json:"sd"`
	Tags       []string          `json:"tags"`
	Fields     map[string]string `json:"fields"`
	Transport  string            `json:"transport"`
	Peer       string            `json:"peer"`
	Hops       uint8             `json:"hops"`
	Count      uint32            `json:"count"`
	ParseError string            `json:"parse_error"`
}

// UnmarshalJSON reads the form AppendJSON writes. Unknown keys are errors,
// so a typo in hand-written input is reported rather than ignored.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j jsonEvent
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("protocol: event json: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("protocol: event json: trailing data after object")
	}
	ev := Event{Host: j.Host, App: j.App, ProcID: j.ProcID, MsgID: j.MsgID, Message: j.Message,
		SD: j.SD, Tags: j.Tags, Fields: j.Fields, Transport: j.Transport, Peer: j.Peer,
		Hops: j.Hops, Count: j.Count, ParseErr: j.ParseError}
	if j.ID != nil && *j.ID != "" {
		id, err := ParseID(*j.ID)
		if err != nil {
			return err
		}
		ev.ID = id
	}
	if j.Received != nil {
		ev.Received = *j.Received
	}
	if j.Time != nil {
		ev.Time = *j.Time
	}
	var err error
	if j.Facility != "" {
		if ev.Facility, err = ParseFacility(j.Facility); err != nil {
			return err
		}
	}
	if j.Severity != "" {
		if ev.Severity, err = ParseSeverity(j.Severity); err != nil {
			return err
		}
	}
	*e = ev
	return nil
}

// orderedSD decodes the "sd" object keeping element and parameter order.
type orderedSD []SDElement

func (o *orderedSD) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = nil
		return nil
	}
	dec := json.NewDecoder(bytesReader(b))
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	var out []SDElement
	for dec.More() {
		id, err := stringToken(dec)
		if err != nil {
			return err
		}
		if err := expectDelim(dec, '{'); err != nil {
			return err
		}
		el := SDElement{ID: id}
		for dec.More() {
			k, err := stringToken(dec)
			if err != nil {
				return err
			}
			v, err := stringToken(dec)
			if err != nil {
				return fmt.Errorf("sd %q param %q: %w", id, k, err)
			}
			el.Params = append(el.Params, SDParam{Name: k, Value: v})
		}
		if err := expectDelim(dec, '}'); err != nil {
			return err
		}
		out = append(out, el)
	}
	*o = out
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("sd: expected %q, got %v", want, t)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("sd: expected string, got %v", t)
	}
	return s, nil
}

func appendJSONTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = appendTimeLayout(dst, t)
	return append(dst, '"')
}

// appendJSONTimeCached is appendJSONTime through c (nil: no cache). A hit
// needs the same second and the same *Location (so the same offset).
func appendJSONTimeCached(dst []byte, t time.Time, c *timeCache) []byte {
	if c == nil || t.IsZero() {
		return appendJSONTime(dst, t)
	}
	sec, loc := t.Unix(), t.Location()
	if !c.ok || c.sec != sec || c.loc != loc {
		start := len(dst)
		dst = appendJSONTime(dst, t)
		out := dst[start:]
		// "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZONE": cache only the fast path's shape
		if len(out) >= 32 && out[0] == '"' && out[20] == '.' && out[len(out)-1] == '"' && len(out)-31 <= 6 {
			c.ok, c.sec, c.loc = true, sec, loc
			copy(c.prefix[:], out[1:20])
			c.zlen = uint8(copy(c.zone[:], out[30:len(out)-1]))
		} else {
			c.ok = false
		}
		return dst
	}
	dst = append(dst, '"')
	dst = append(dst, c.prefix[:]...)
	var b [10]byte
	b[0] = '.'
	put9(b[1:10], uint32(t.Nanosecond()))
	dst = append(dst, b[:]...)
	dst = append(dst, c.zone[:c.zlen]...)
	return append(dst, '"')
}

// Bounds of the fast path in appendTimeLayout: Unix seconds of 0000-01-01T00:00:00Z
// and 9999-12-31T23:59:59Z, and the largest zone offset it prints itself.
const (
	fastTimeMinUnix   = -62167219200
	fastTimeMaxUnix   = 253402300799
	fastTimeMaxOffset = 99*3600 + 59*60
)

// appendTimeLayout appends t formatted exactly as t.AppendFormat(dst, TimeLayout)
// would, without the general layout interpreter. Years outside 0000..9999 and
// offsets of 100 hours or more go through AppendFormat.
func appendTimeLayout(dst []byte, t time.Time) []byte {
	_, offset := t.Zone()
	sec := t.Unix()
	if sec < fastTimeMinUnix || sec > fastTimeMaxUnix ||
		offset > fastTimeMaxOffset || offset < -fastTimeMaxOffset {
		return t.AppendFormat(dst, TimeLayout)
	}
	local := sec + int64(offset) + 719468*86400 // seconds since 0000-03-01
	if local < 0 {
		return t.AppendFormat(dst, TimeLayout) // before year 0 once offset applied
	}
	days := uint64(local) / 86400
	secOfDay := uint32(uint64(local) - days*86400)

	// Civil date from days since 0000-03-01 (H. Hinnant's days_from_civil inverse).
	era := days / 146097
	doe := uint32(days - era*146097)                       // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	year := uint32(era)*400 + yoe
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365], from March 1
	mp := (5*doy + 2) / 153                  // [0, 11], March = 0
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if mp >= 10 {
		month = mp - 9
		year++
	}
	if year > 9999 {
		return t.AppendFormat(dst, TimeLayout)
	}

	var b [35]byte
	b[0] = byte('0' + year/1000)
	b[1] = byte('0' + year/100%10)
	b[2] = byte('0' + year/10%10)
	b[3] = byte('0' + year%10)
	b[4] = '-'
	put2(b[5:7], month)
	b[7] = '-'
	put2(b[8:10], day)
	b[10] = 'T'
	hour := secOfDay / 3600
	put2(b[11:13], hour)
	b[13] = ':'
	rem := secOfDay - hour*3600
	minute := rem / 60
	put2(b[14:16], minute)
	b[16] = ':'
	put2(b[17:19], rem-minute*60)
	b[19] = '.'
	put9(b[20:29], uint32(t.Nanosecond()))
	if offset == 0 {
		b[29] = 'Z'
		return append(dst, b[:30]...)
	}
	// As AppendFormat: whole minutes, truncated toward zero; seconds dropped.
	zone := offset / 60
	b[29] = '+'
	if zone < 0 {
		b[29] = '-'
		zone = -zone
	}
	put2(b[30:32], uint32(zone/60))
	b[32] = ':'
	put2(b[33:35], uint32(zone%60))
	return append(dst, b[:]...)
}

// put9 writes ns (< 1e9) as nine decimal digits.
func put9(b []byte, ns uint32) {
	_ = b[8]
	for i := 8; i >= 0; i-- {
		q := ns / 10
		b[i] = byte('0' + ns - q*10)
		ns = q
	}
}

// put2 writes v (< 100) as two decimal digits.
func put2(b []byte, v uint32) {
	_ = b[1]
	b[0] = byte('0' + v/10)
	b[1] = byte('0' + v%10)
}

func appendKV(dst []byte, k, v string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, k...)
	dst = append(dst, '"', ':')
	return appendQuoted(dst, v)
}

func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] is true for the bytes appendEscaped copies unchanged without
// further thought: printable ASCII other than '"', '\\', '<', '>' and '&'
// (0x7f included). Bytes >= 0x80 are false: they need UTF-8 validation.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

// AppendJSONString appends s as a quoted JSON string, escaped as the event's
// JSON form escapes its strings (see appendEscaped).
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped escapes s for a JSON string body: quotes, backslash, control
// characters, <, >, & (as encoding/json does, so output is safe in HTML),
// U+2028/U+2029, and invalid UTF-8 (as U+FFFD).
//
// Runs of bytes needing no change, including valid multi-byte UTF-8, are
// copied with a single append.
func appendEscaped(dst []byte, s string) []byte {
	if cap(dst)-len(dst) < len(s) {
		dst = slices.Grow(dst, len(s)+len(s)/8)
	}
	start := 0
	i := 0
	for i < len(s) {
		// Fast scan over safe ASCII, eight bytes per step where possible.
		for len(s)-i >= 8 {
			w := s[i : i+8]
			if !(jsonSafe[w[0]] && jsonSafe[w[1]] && jsonSafe[w[2]] && jsonSafe[w[3]] &&
				jsonSafe[w[4]] && jsonSafe[w[5]] && jsonSafe[w[6]] && jsonSafe[w[7]]) {
				break
			}
			i += 8
		}
		for i < len(s) && jsonSafe[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
