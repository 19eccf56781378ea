package httpin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"logpacker/protocol"
)

// DecodeError is a body that is not what an endpoint takes: where (the
// event's index and the byte offset) and why.
type DecodeError struct {
	Index  int   // 0-based event index (-1: before the first)
	Offset int64 // byte offset in the (decompressed) body
	Msg    string
	Large  bool // an event larger than max_event_size (413, not 400)
}

func (e *DecodeError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("event %d (byte %d): %s", e.Index, e.Offset, e.Msg)
	}
	return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg)
}

// Keys of a JSON event that map onto the event's own fields; the first one
// present wins. Every other key goes into Fields.
var (
	timeKeys     = []string{"time", "timestamp", "@timestamp", "ts", "date"}
	severityKeys = []string{"severity", "level", "lvl", "loglevel"}
	hostKeys     = []string{"host", "hostname"}
	appKeys      = []string{"app", "appname", "app_name", "service", "program"}
	messageKeys  = []string{"message", "msg", "log"}
	procKeys     = []string{"procid", "pid"}
)

// DecodeJSON reads a JSON ingest body: one object, an array of objects, or
// objects one after another (NDJSON, or any whitespace between them). It
// returns every event or an error: never some of them. An object whose
// encoding is longer than maxEvent bytes is an error (Large).
func DecodeJSON(body []byte, maxEvent int) ([]protocol.Event, error) {
	trim := bytes.TrimLeft(body, " \t\r\n")
	if len(trim) == 0 {
		return nil, &DecodeError{Index: -1, Msg: "empty body: send a JSON object, an array of objects, or NDJSON"}
	}
	base := int64(len(body) - len(trim))
	dec := json.NewDecoder(bytes.NewReader(trim))
	dec.UseNumber()
	array := trim[0] == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, &DecodeError{Index: -1, Offset: base, Msg: err.Error()}
		}
	}
	var evs []protocol.Event
	for {
		if array && !dec.More() {
			if _, err := dec.Token(); err != nil { // the closing ]
				return nil, &DecodeError{Index: len(evs), Offset: base + dec.InputOffset(), Msg: jsonMsg(err)}
			}
			if _, err := dec.Token(); err != io.EOF {
				return nil, &DecodeError{Index: -1, Offset: base + dec.InputOffset(), Msg: "data after the array"}
			}
			break
		}
		start := dec.InputOffset()
		var obj map[string]any
		err := dec.Decode(&obj)
		if err == io.EOF && !array {
			break
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) || (err == nil && obj == nil) {
			return nil, &DecodeError{Index: len(evs), Offset: base + start, Msg: "not a JSON object"}
		}
		if err != nil {
			return nil, &DecodeError{Index: len(evs), Offset: base + dec.InputOffset(), Msg: jsonMsg(err)}
		}
		if size := dec.InputOffset() - start; size > int64(maxEvent) {
			return nil, &DecodeError{Index: len(evs), Offset: base + start, Large: true,
				Msg: fmt.Sprintf("event of %d bytes is larger than max_event_size (%d)", size, maxEvent)}
		}
		ev, err := EventFromMap(obj)
		if err != nil {
			return nil, &DecodeError{Index: len(evs), Offset: base + start, Msg: err.Error()}
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil, &DecodeError{Index: -1, Offset: base, Msg: "no events"}
	}
	return evs, nil
}

func jsonMsg(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return "malformed JSON: unexpected end of body"
	}
	return "malformed JSON: " + err.Error()
}

// EventFromMap maps one JSON object onto an event: time, severity (or
// level), host, app, message, procid, msgid, facility and tags are the
// event's; every other key is in Fields (nested objects flattened with
// dots, other values as their JSON text). An event with a "stack" gets
// a "fingerprint" (Fingerprint) unless it brought one.
func EventFromMap(obj map[string]any) (protocol.Event, error) {
	var ev protocol.Event
	used := map[string]bool{}
	take := func(keys []string) (any, string, bool) {
		for _, k := range keys {
			if v, ok := obj[k]; ok && v != nil {
				used[k] = true
				return v, k, true
			}
		}
		return nil, "", false
	}
	if v, k, ok := take(timeKeys); ok {
		t, err := parseTime(v)
		if err != nil {
			return ev, fmt.Errorf("%s: %v", k, err)
		}
		ev.Time = t
	}
	ev.Severity = protocol.SevInfo
	if v, k, ok := take(severityKeys); ok {
		s, err := parseSeverity(v)
		if err != nil {
			return ev, fmt.Errorf("%s: %v", k, err)
		}
		ev.Severity = s
	}
	ev.Facility = protocol.FacUser
	if v, ok := obj["facility"]; ok && v != nil {
		used["facility"] = true
		f, err := parseFacility(v)
		if err != nil {
			return ev, fmt.Errorf("facility: %v", err)
		}
		ev.Facility = f
	}
	if v, _, ok := take(hostKeys); ok {
		ev.Host = scalar(v)
	}
	if v, _, ok := take(appKeys); ok {
		ev.App = scalar(v)
	}
	if v, _, ok := take(messageKeys); ok {
		ev.Message = scalar(v)
	}
	if v, _, ok := take(procKeys); ok {
		ev.ProcID = scalar(v)
	}
	if v, ok := obj["msgid"]; ok && v != nil {
		used["msgid"] = true
		ev.MsgID = scalar(v)
	}
	if v, ok := obj["tags"]; ok {
		used["tags"] = true
		switch t := v.(type) {
		case []any:
			for _, x := range t {
				ev.Tags = append(ev.Tags, scalar(x))
			}
		case string:
			for _, x := range strings.Split(t, ",") {
				if x = strings.TrimSpace(x); x != "" {
					ev.Tags = append(ev.Tags, x)
				}
			}
		}
	}
	for k, v := range obj {
		if used[k] {
			continue
		}
		if ev.Fields == nil {
			ev.Fields = map[string]string{}
		}
		flatten(ev.Fields, k, v)
	}
	if st := ev.Fields["stack"]; st != "" && ev.Fields["fingerprint"] == "" {
		ev.Fields["fingerprint"] = Fingerprint(FramesFromStack(st), errType(ev.Message, st))
	}
	return ev, nil
}

// errType is the error's type name: what precedes ": " on the stack's (or
// else the message's) first line, when it looks like a name (TypeError).
func errType(msg, stack string) string {
	for _, s := range []string{stack, msg} {
		line, _, _ := strings.Cut(s, "\n")
		name, _, ok := strings.Cut(line, ":")
		name = strings.TrimPrefix(strings.TrimSpace(name), "Uncaught ")
		if ok && name != "" && !strings.ContainsAny(name, " \t/()@") {
			return name
		}
	}
	return ""
}

func flatten(dst map[string]string, key string, v any) {
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flatten(dst, key+"."+k, m[k])
		}
		return
	}
	dst[key] = scalar(v)
}

// scalar is v as text: strings as they are, other values as JSON.
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
			if tm, err := time.Parse(layout, t); err == nil {
				return tm.UTC(), nil
			}
		}
		if n, err := strconv.ParseFloat(t, 64); err == nil {
			return unixTime(n)
		}
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a Unix time", t)
	case json.Number:
		n, err := t.Float64()
		if err != nil {
			return time.Time{}, err
		}
		return unixTime(n)
	}
	return time.Time{}, fmt.Errorf("want a string or a number")
}

// unixTime reads seconds, milliseconds (≥ 1e11), microseconds (≥ 1e14) or
// nanoseconds (≥ 1e17) since the Unix epoch, as JavaScript's Date.now()
// (ms) and most loggers (s, float) write them.
func unixTime(n float64) (time.Time, error) {
	if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return time.Time{}, fmt.Errorf("%v is not a time", n)
	}
	switch {
	case n >= 1e17:
		return time.Unix(0, int64(n)).UTC(), nil
	case n >= 1e14:
		return time.UnixMicro(int64(n)).UTC(), nil
	case n >= 1e11:
		return time.UnixMilli(int64(n)).UTC(), nil
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

var severityAliases = map[string]protocol.Severity{
	"fatal": protocol.SevCrit, "critical": protocol.SevCrit, "panic": protocol.SevEmerg,
	"error": protocol.SevErr, "warn": protocol.SevWarning, "information": protocol.SevInfo,
	"informational": protocol.SevInfo, "trace": protocol.SevDebug, "log": protocol.SevInfo,
	"verbose": protocol.SevDebug,
}

func parseSeverity(v any) (protocol.Severity, error) {
	switch t := v.(type) {
	case string:
		s := strings.ToLower(strings.TrimSpace(t))
		if sev, ok := severityAliases[s]; ok {
			return sev, nil
		}
		if sev, err := protocol.ParseSeverity(s); err == nil {
			return sev, nil
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 7 {
			return protocol.Severity(n), nil
		}
		return 0, fmt.Errorf("%q is not a severity (emerg … debug, error, warn, fatal, trace, or 0-7)", t)
	case json.Number:
		n, err := strconv.Atoi(t.String())
		if err != nil || n < 0 || n > 7 {
			return 0, fmt.Errorf("%s is not a severity number (0-7)", t)
		}
		return protocol.Severity(n), nil
	}
	return 0, fmt.Errorf("want a name or a number")
}

func parseFacility(v any) (protocol.Facility, error) {
	s := strings.ToLower(scalar(v))
	if f, err := protocol.ParseFacility(s); err == nil {
		return f, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 23 {
		return protocol.Facility(n), nil
	}
	return 0, fmt.Errorf("%q is not a facility (kern … local7, or 0-23)", s)
}

// validText is s with invalid UTF-8 replaced (JSON outputs could not
// carry it otherwise).
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
