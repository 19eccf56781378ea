package victorialogs

import (
	"hash/fnv"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"logpacker/protocol"
)

// VictoriaLogs' limits that make it drop a line, logging a warning but
// answering 200 (so the sender never learns): the encoder keeps every line
// within them (see doc.go, "Lines VictoriaLogs would drop").
const (
	maxFieldName = 128  // bytes in a field name (lib/logstorage maxFieldNameSize)
	maxFields    = 1000 // fields in a line (-insert.maxFieldsPerLine default)
	// fixedFields bounds the fields of a line besides fields.* and sd.*.
	fixedFields = 24
	// minimalCap bounds each string field of a minimal line (see
	// appendLine) but the message.
	minimalCap = 256
	minYear    = 1678 // VictoriaLogs parses RFC 3339 years 1677-2262
	maxYear    = 2261
)

// encoder turns events into VictoriaLogs JSON lines.
type encoder struct {
	maxLine int // bytes in a line, its "\n" included
}

// lineLimits say how much of an event a line carries.
type lineLimits struct {
	msgMax  int  // bytes of the message at most; -1: all
	minimal bool // no tags, fields, sd; other strings cut to minimalCap
}

var full = lineLimits{msgMax: -1}

// appendLine appends ev's line, ending in "\n", and reports whether it had
// to be shortened to fit maxLine: first its message is cut to what fits,
// and if even an empty message does not fit, the line is a minimal one (see
// lineLimits) with the message cut to what fits there.
func (e *encoder) appendLine(dst []byte, ev *protocol.Event) ([]byte, bool) {
	start := len(dst)
	dst, trunc := appendEvent(dst, ev, full)
	if len(dst)-start <= e.maxLine {
		return dst, trunc
	}
	for _, minimal := range []bool{false, true} {
		dst, _ = appendEvent(dst[:start], ev, lineLimits{msgMax: 0, minimal: minimal})
		if base := len(dst) - start; base <= e.maxLine || minimal {
			n := fitEscaped(ev.Message, e.maxLine-base)
			dst, _ = appendEvent(dst[:start], ev, lineLimits{msgMax: n, minimal: minimal})
			break
		}
	}
	return dst, true
}

const truncatedKV = `,"truncated":"true"`

// appendEvent appends ev's line under lim and reports whether something was
// left out (fields beyond maxFields, even under full).
func appendEvent(dst []byte, ev *protocol.Event, lim lineLimits) ([]byte, bool) {
	trunc := lim.msgMax >= 0 && lim.msgMax < len(ev.Message) || lim.minimal
	cut := func(s string) string {
		if lim.minimal {
			return cutUTF8(s, minimalCap)
		}
		return s
	}
	dst = append(dst, `{"id":`...)
	dst = protocol.AppendJSONString(dst, ev.ID.Node)
	dst[len(dst)-1] = ':' // "<node>:<seq>"
	dst = strconv.AppendUint(dst, ev.ID.Seq, 10)
	dst = append(dst, '"')
	t, badTime := lineTime(ev)
	if !t.IsZero() {
		dst = append(dst, `,"_time":"`...)
		dst = t.AppendFormat(dst, protocol.TimeLayout)
		dst = append(dst, '"')
	}
	if badTime {
		// the event's own time, which VictoriaLogs cannot store as _time
		dst = append(dst, `,"time":"`...)
		dst = ev.Time.AppendFormat(dst, protocol.TimeLayout)
		dst = append(dst, '"')
	}
	if !ev.Received.IsZero() {
		dst = append(dst, `,"received":"`...)
		dst = ev.Received.AppendFormat(dst, protocol.TimeLayout)
		dst = append(dst, '"')
	}
	dst = appendKV(dst, "host", cut(ev.Host))
	dst = appendKV(dst, "app", cut(ev.App))
	dst = appendKV(dst, "procid", cut(ev.ProcID))
	dst = appendKV(dst, "msgid", cut(ev.MsgID))
	dst = appendKV(dst, "facility", ev.Facility.String())
	dst = appendKV(dst, "severity", ev.Severity.String())
	if !lim.minimal {
		var more bool
		dst, more = appendExtra(dst, ev)
		trunc = trunc || more
	}
	dst = appendKV(dst, "transport", cut(ev.Transport))
	dst = appendKV(dst, "peer", cut(ev.Peer))
	if ev.Hops > 0 {
		dst = append(dst, `,"hops":"`...)
		dst = strconv.AppendUint(dst, uint64(ev.Hops), 10)
		dst = append(dst, '"')
	}
	if ev.Count > 1 {
		dst = append(dst, `,"count":"`...)
		dst = strconv.AppendUint(dst, uint64(ev.Count), 10)
		dst = append(dst, '"')
	}
	dst = appendKV(dst, "parse_error", cut(ev.ParseErr))
	if trunc {
		dst = append(dst, truncatedKV...)
	}
	msg := ev.Message
	if lim.msgMax >= 0 {
		msg = cutUTF8(msg, lim.msgMax)
	}
	dst = append(dst, `,"_msg":`...)
	dst = protocol.AppendJSONString(dst, msg)
	return append(dst, "}\n"...), trunc
}

// appendExtra appends tags (a JSON array, which VictoriaLogs stores as its
// JSON text), fields.<key> in key order and sd.<SD-ID>.<name>, as many as
// maxFields allows; it reports whether some were left out.
func appendExtra(dst []byte, ev *protocol.Event) ([]byte, bool) {
	if len(ev.Tags) > 0 {
		dst = append(dst, `,"tags":[`...)
		for i, t := range ev.Tags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = protocol.AppendJSONString(dst, t)
		}
		dst = append(dst, ']')
	}
	budget := maxFields - fixedFields
	if len(ev.Fields) > 0 {
		var buf [16]string
		keys := buf[:0]
		for k := range ev.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if budget == 0 {
				return dst, true
			}
			if v := ev.Fields[k]; v != "" {
				dst = appendField(dst, "fields.", k, "", v)
				budget--
			}
		}
	}
	for _, el := range ev.SD {
		for _, p := range el.Params {
			if budget == 0 {
				return dst, true
			}
			if p.Value != "" {
				dst = appendField(dst, "sd."+el.ID+".", p.Name, "", p.Value)
				budget--
			}
		}
	}
	return dst, false
}

// appendField appends ,"<prefix><name><suffix>":"<v>". A name whose valid
// UTF-8 form is longer than maxFieldName bytes becomes its first bytes, '~'
// and 8 hex digits of its FNV-1a hash (VictoriaLogs drops a line with a
// longer name).
func appendField(dst []byte, prefix, name, suffix, v string) []byte {
	n := prefix + name + suffix
	if !utf8.ValidString(n) {
		n = toValidUTF8(n)
	}
	if len(n) > maxFieldName {
		h := fnv.New32a()
		h.Write([]byte(n))
		n = cutUTF8(n, maxFieldName-9) + "~" + strconv.FormatUint(uint64(h.Sum32())|1<<32, 16)[1:]
	}
	dst = append(dst, ',')
	dst = protocol.AppendJSONString(dst, n)
	dst = append(dst, ':')
	return protocol.AppendJSONString(dst, v)
}

// toValidUTF8 replaces invalid bytes with U+FFFD, as the JSON encoding does
// (one per byte).
func toValidUTF8(s string) string {
	b := make([]byte, 0, len(s)+8)
	for _, r := range s { // ranging yields RuneError for each invalid byte
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

func appendKV(dst []byte, k, v string) []byte {
	if v == "" { // VictoriaLogs stores no empty field: leave it out
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, k...)
	dst = append(dst, '"', ':')
	return protocol.AppendJSONString(dst, v)
}

// lineTime is the line's _time: the event's time, or its received time
// when it has none or one VictoriaLogs cannot store (outside years
// 1678-2261; bad then reports that). Zero: neither (VictoriaLogs then uses
// its clock).
func lineTime(ev *protocol.Event) (t time.Time, bad bool) {
	if !ev.Time.IsZero() {
		if y := ev.Time.UTC().Year(); y >= minYear && y <= maxYear {
			return ev.Time, false
		}
		bad = true
	}
	if y := ev.Received.UTC().Year(); !ev.Received.IsZero() && y >= minYear && y <= maxYear {
		return ev.Received, bad
	}
	return time.Time{}, bad
}

// cutUTF8 returns s cut to at most n bytes, not inside a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fitEscaped returns how many bytes of s (not cutting a UTF-8 sequence)
// make at most room bytes once escaped by protocol.AppendJSONString.
func fitEscaped(s string, room int) int {
	n, i := 0, 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		w := size
		switch {
		case r == '"', r == '\\', r == '\n', r == '\r', r == '\t':
			w = 2
		case r == utf8.RuneError && size == 1, r < 0x20, r == '<', r == '>', r == '&', r == '\u2028', r == '\u2029':
			w = 6 // \u00XX, \ufffd, \u2028
		}
		if n+w > room {
			break
		}
		n += w
		i += size
	}
	return i
}
