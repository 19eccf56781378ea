package syslog

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leodido/go-syslog/v4/rfc5424"

	"logpacker/protocol"
)

const bom = "\xEF\xBB\xBF"

// parse5424 parses msg, which starts with "<PRI>1 " (n is the PRI's length).
// The hand-written fast path handles the well-formed common case; anything it
// does not fully understand goes to go-syslog, whose verdict is final.
func (p *Parser) parse5424(msg []byte, pri, n int, ev *protocol.Event) {
	if p.fast5424(msg, pri, n, ev) {
		return
	}
	p.slow5424(msg, pri, n, ev)
}

// slow5424 runs go-syslog's RFC 5424 machine. Any error keeps the message raw.
// On success the header fields come from go-syslog; structured data is read
// again by scanSD, because go-syslog returns it as a map and loses the order
// of elements and params.
func (p *Parser) slow5424(msg []byte, pri, n int, ev *protocol.Event) {
	res, err := p.goSyslog5424().Parse(msg)
	if err != nil || res == nil {
		reason := "rfc5424: unparsable"
		if err != nil {
			reason = "rfc5424: " + err.Error()
		}
		p.raw(msg, pri, reason, ev)
		return
	}
	m := res.(*rfc5424.SyslogMessage)
	setPRI(ev, pri)
	if m.Timestamp != nil {
		ev.Time = *m.Timestamp
	}
	ev.Host = deref(m.Hostname)
	ev.App = deref(m.Appname)
	ev.ProcID = deref(m.ProcID)
	ev.MsgID = deref(m.MsgID)
	ev.Message = cleanMsg5424(deref(m.Message))
	if m.StructuredData != nil {
		// The header fields have no spaces, so SD starts after the 6th space.
		s := string(msg)
		i, spaces := 0, 0
		for ; i < len(s) && spaces < 6; i++ {
			if s[i] == ' ' {
				spaces++
			}
		}
		if sd, _, ok := scanSD(s, i, false); ok {
			ev.SD = sd
		} else {
			ev.SD = sdFromMap(*m.StructuredData)
		}
	}
}

// sdFromMap converts go-syslog's map, sorted by SD-ID and param name (only
// used if scanSD disagrees with go-syslog; kept so SD is never lost).
func sdFromMap(m map[string]map[string]string) []protocol.SDElement {
	out := make([]protocol.SDElement, 0, len(m))
	for id, params := range m {
		el := protocol.SDElement{ID: id}
		for k, v := range params {
			el.Params = append(el.Params, protocol.SDParam{Name: k, Value: v})
		}
		slices.SortFunc(el.Params, func(a, b protocol.SDParam) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, el)
	}
	slices.SortFunc(out, func(a, b protocol.SDElement) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// cleanMsg5424 removes a UTF-8 BOM at the start of MSG (RFC 5424 §6.4), or
// else exactly one leading space: rsyslog forwards messages from legacy inputs
// with the space that followed "tag:", so MSG arrives as " text".
func cleanMsg5424(s string) string {
	if strings.HasPrefix(s, bom) {
		return s[len(bom):]
	}
	if len(s) > 0 && s[0] == ' ' {
		return s[1:]
	}
	return s
}

// fast5424 parses a well-formed RFC 5424 message with one string allocation
// for the whole message (every field is a substring of it) plus the SD
// slices. It returns false, leaving ev untouched, for anything it is not sure
// about; go-syslog then decides. It accepts a subset of what go-syslog
// accepts, with identical results (FuzzFastPathMatchesGoSyslog).
func (p *Parser) fast5424(msg []byte, pri, n int, ev *protocol.Event) bool {
	if n > 3 && msg[1] == '0' { // "<0N>": leading zero, let go-syslog judge
		return false
	}
	i := n + 2
	var t time.Time
	if i < len(msg) && msg[i] == '-' {
		i++
	} else {
		var ok bool
		if t, i, ok = rfc3339(p, msg, i, 6); !ok {
			return false
		}
	}
	if i >= len(msg) || msg[i] != ' ' {
		return false
	}
	i++
	var f [4][2]int
	limits := [4]int{255, 48, 128, 32}
	for k := range f {
		start := i
		for i < len(msg) && msg[i] > ' ' && msg[i] < 0x7f {
			i++
		}
		if i == start || i-start > limits[k] || i >= len(msg) || msg[i] != ' ' {
			return false
		}
		f[k] = [2]int{start, i}
		i++
	}
	if i >= len(msg) {
		return false
	}
	if msg[i] != '-' && msg[i] != '[' {
		return false
	}
	s := p.str(msg)
	sd, j, ok := scanSD(s, i, true)
	if !ok {
		return false
	}
	var text string
	if j < len(s) {
		if s[j] != ' ' {
			return false
		}
		text = cleanMsg5424(s[j+1:])
	}
	setPRI(ev, pri)
	ev.Time = t
	ev.Host = nilDash(s[f[0][0]:f[0][1]])
	ev.App = nilDash(s[f[1][0]:f[1][1]])
	ev.ProcID = nilDash(s[f[2][0]:f[2][1]])
	ev.MsgID = nilDash(s[f[3][0]:f[3][1]])
	ev.SD = sd
	ev.Message = text
	return true
}

func nilDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// rfc3339 parses YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm) at b[i:], with at most
// maxFrac fraction digits, as go-syslog's grammar does (months 01-12, days
// valid for the month, hours 00-23, no leap second). The zone offset of the
// message is kept.
func rfc3339[T string | []byte](p *Parser, b T, i, maxFrac int) (time.Time, int, bool) {
	if len(b)-i < 20 {
		return time.Time{}, i, false
	}
	d := b[i:]
	if d[4] != '-' || d[7] != '-' || d[10] != 'T' || d[13] != ':' || d[16] != ':' {
		return time.Time{}, i, false
	}
	year, ok1 := digits(d[0:4])
	mon, ok2 := digits(d[5:7])
	day, ok3 := digits(d[8:10])
	hh, ok4 := digits(d[11:13])
	mm, ok5 := digits(d[14:16])
	ss, ok6 := digits(d[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mon < 1 || mon > 12 || day < 1 ||
		day > daysIn(time.Month(mon), year) || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, i, false
	}
	j := 19
	ns := 0
	if j < len(d) && d[j] == '.' {
		j++
		start := j
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
		nd := j - start
		if nd == 0 || nd > maxFrac {
			return time.Time{}, i, false
		}
		for k := range 9 {
			ns *= 10
			if k < nd {
				ns += int(d[start+k] - '0')
			}
		}
	}
	if j >= len(d) {
		return time.Time{}, i, false
	}
	var loc *time.Location
	switch d[j] {
	case 'Z':
		loc = time.UTC
		j++
	case '+', '-':
		if len(d)-j < 6 || d[j+3] != ':' {
			return time.Time{}, i, false
		}
		oh, ok1 := digits(d[j+1 : j+3])
		om, ok2 := digits(d[j+4 : j+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, i, false
		}
		off := oh*3600 + om*60
		if d[j] == '-' {
			off = -off
		}
		loc = p.fixedZone(off)
		j += 6
	default:
		return time.Time{}, i, false
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, ns, loc), i + j, true
}

func digits[T string | []byte](b T) (int, bool) {
	v := 0
	for k := 0; k < len(b); k++ {
		c := b[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// scanSD reads STRUCTURED-DATA ("-" or one or more [SD-ID param="value" ...])
// at s[i:] and returns the elements in order, params in order, values
// unescaped (\" \] \\ lose their backslash), and the index after it.
//
// strict (the fast path) also rejects what would make go-syslog's map-based
// result differ: a repeated param name within an element. Both modes reject a
// repeated SD-ID, an unescaped ']' or a backslash before any other character
// in a value, and invalid UTF-8 in a value, as go-syslog does.
func scanSD(s string, i int, strict bool) ([]protocol.SDElement, int, bool) {
	if i >= len(s) {
		return nil, i, false
	}
	if s[i] == '-' {
		return nil, i + 1, true
	}
	// First pass: validate and count, so the result takes two allocations.
	nEl, nPar := 0, 0
	j := i
	for j < len(s) && s[j] == '[' {
		var ok bool
		var np int
		if j, np, ok = sdElement(s, j, nil, nil, strict); !ok {
			return nil, i, false
		}
		nEl++
		nPar += np
	}
	if nEl == 0 {
		return nil, i, false
	}
	els := make([]protocol.SDElement, 0, nEl)
	var params []protocol.SDParam
	if nPar > 0 {
		params = make([]protocol.SDParam, 0, nPar)
	}
	k := i
	for k < j {
		start := len(params)
		var el protocol.SDElement
		k, _, _ = sdElement(s, k, &el.ID, &params, strict)
		if len(params) > start {
			el.Params = params[start:len(params):len(params)]
		}
		for _, prev := range els {
			if prev.ID == el.ID {
				return nil, i, false
			}
		}
		els = append(els, el)
	}
	return els, j, true
}

// sdElement reads one "[ID name="value" ...]" at s[i]=='[' and returns the
// index after it and its number of params. When id and params are not nil it
// stores the SD-ID and appends the params.
func sdElement(s string, i int, id *string, params *[]protocol.SDParam, strict bool) (int, int, bool) {
	i++
	name, i, ok := sdName(s, i)
	if !ok {
		return i, 0, false
	}
	if id != nil {
		*id = name
	}
	np := 0
	var names [8]string
	for {
		if i >= len(s) {
			return i, 0, false
		}
		if s[i] == ']' {
			return i + 1, np, true
		}
		if s[i] != ' ' {
			return i, 0, false
		}
		var name string
		if name, i, ok = sdName(s, i+1); !ok {
			return i, 0, false
		}
		if i+1 >= len(s) || s[i] != '=' || s[i+1] != '"' {
			return i, 0, false
		}
		i += 2
		start, esc := i, false
		for {
			if i >= len(s) {
				return i, 0, false
			}
			c := s[i]
			if c == '"' {
				break
			}
			if c == ']' {
				return i, 0, false
			}
			if c == '\\' {
				if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != ']' && s[i+1] != '\\') {
					return i, 0, false
				}
				esc = true
				i += 2
				continue
			}
			if c < utf8.RuneSelf {
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return i, 0, false
			}
			i += size
		}
		raw := s[start:i]
		i++ // closing quote
		if strict {
			if np < len(names) {
				for _, n := range names[:np] {
					if n == name {
						return i, 0, false
					}
				}
				names[np] = name
			} else {
				return i, 0, false // many params: let the general path handle it
			}
		}
		np++
		if params != nil {
			v := raw
			if esc {
				v = unescapeSD(raw)
			}
			*params = append(*params, protocol.SDParam{Name: name, Value: v})
		}
	}
}

// sdName reads an SD-NAME: 1..32 printable US-ASCII except '=', ' ', ']', '"'.
func sdName(s string, i int) (string, int, bool) {
	start := i
	for i < len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ']' || c == '"' {
			break
		}
		i++
	}
	if i == start || i-start > 32 {
		return "", i, false
	}
	return s[start:i], i, true
}

func unescapeSD(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}
