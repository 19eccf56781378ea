package protocol

import (
	"encoding/json"
	"fmt"
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
	dst = append(dst, `{"id":"`...)
	dst = appendEscaped(dst, e.ID.Node)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, e.ID.Seq, 10)
	dst = append(dst, `","received":`...)
	dst = appendJSONTime(dst, e.Received)
	if !e.Time.IsZero() {
		dst = append(dst, `,"time":`...)
		dst = appendJSONTime(dst, e.Time)
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
		for i, k := range sortedKeys(e.Fields) {
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
	dst = t.AppendFormat(dst, TimeLayout)
	return append(dst, '"')
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

// appendEscaped escapes s for a JSON string body: quotes, backslash, control
// characters, <, >, & (as encoding/json does, so output is safe in HTML),
// U+2028/U+2029, and invalid UTF-8 (as U+FFFD).
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
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
			i += size
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
