package syslog

import (
	"time"

	"logpacker/protocol"
)

// parse3164 parses a BSD syslog message; b is what follows the PRI (or the
// whole input when there was none). See doc.go for the heuristics. It is
// hand-written: go-syslog's RFC 3164 machine loses messages on real input
// (TestGoSyslog3164Defects shows each case).
func (p *Parser) parse3164(b []byte, pri int, hadPRI bool, ev *protocol.Event) {
	s := p.str(b)
	setPRI(ev, pri)
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++ // some BSD senders put spaces after the PRI
	}
	t, j, host, ok := p.header3164(s, i, hadPRI)
	if !ok {
		if !hadPRI {
			ev.Message = s
			ev.ParseErr = "no PRI and no syslog header"
			return
		}
		// Headerless (RFC 3164 §4.3.3): no timestamp, no hostname; a TAG is
		// still recognised ("<13>sshd[1]: x").
		ev.App, ev.ProcID, ev.Message = parseTag(s[i:])
		return
	}
	ev.Time = t
	for j < len(s) && s[j] == ' ' {
		j++
	}
	rest := s[j:]
	if host == "" {
		w := rest
		for k := 0; k < len(w); k++ {
			if w[k] == ' ' {
				w = w[:k]
				break
			}
		}
		if w != "" && w[len(w)-1] != ':' && validHost(w) {
			host = w
			rest = rest[len(w):]
			for len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
			}
			if host == "-" {
				host = ""
			}
		}
	}
	ev.Host = host
	ev.App, ev.ProcID, ev.Message = parseTag(rest)
}

// header3164 finds the timestamp at s[i:], after up to three Cisco IOS
// prefixes ("123: " message counter, "000045: " sequence number,
// "router1: " origin hostname) when the message had a PRI. It returns the
// time, the index after the timestamp and the Cisco hostname, if any.
func (p *Parser) header3164(s string, i int, hadPRI bool) (time.Time, int, string, bool) {
	host := ""
	for tries := 0; ; tries++ {
		if t, e, ok := p.timestamp3164(s, i); ok {
			return t, e, host, true
		}
		if !hadPRI || tries == 3 {
			return time.Time{}, 0, "", false
		}
		e := i
		for e < len(s) && s[e] != ':' && s[e] != ' ' {
			e++
		}
		if e+1 >= len(s) || s[e] != ':' || s[e+1] != ' ' {
			return time.Time{}, 0, "", false
		}
		if tok := s[i:e]; !allDigits(tok) {
			if host != "" || !validHost(tok) {
				return time.Time{}, 0, "", false
			}
			host = tok
		}
		i = e + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// timestamp3164 reads, at s[i:], an optional Cisco '*' (clock not synced) or
// '.' marker, then either an RFC 3339 timestamp (kept with its own offset) or
// "Mmm dd[ yyyy] hh:mm:ss[.frac]" (day space- or zero-padded or bare), then an
// optional ':' (Cisco). It must be followed by a space or the end.
func (p *Parser) timestamp3164(s string, i int) (time.Time, int, bool) {
	if i < len(s) && (s[i] == '*' || s[i] == '.') {
		i++
	}
	if len(s)-i < 14 {
		return time.Time{}, 0, false
	}
	var t time.Time
	var j int
	if s[i] >= '0' && s[i] <= '9' {
		var ok bool
		if t, j, ok = rfc3339(p, s, i, 9); !ok {
			return time.Time{}, 0, false
		}
	} else {
		mon := 0
		for k, m := range months {
			if s[i:i+3] == m {
				mon = k + 1
				break
			}
		}
		if mon == 0 || s[i+3] != ' ' {
			return time.Time{}, 0, false
		}
		j = i + 4
		if s[j] == ' ' {
			j++
		}
		day, n := leadingInt(s[j:], 2)
		if n == 0 || day < 1 || day > 31 || j+n >= len(s) || s[j+n] != ' ' {
			return time.Time{}, 0, false
		}
		j += n + 1
		year := 0
		if y, n := leadingInt(s[j:], 4); n == 4 && j+4 < len(s) && s[j+4] == ' ' {
			year = y
			j += 5
		}
		if len(s)-j < 8 || s[j+2] != ':' || s[j+5] != ':' {
			return time.Time{}, 0, false
		}
		hh, ok1 := digits(s[j : j+2])
		mm, ok2 := digits(s[j+3 : j+5])
		ss, ok3 := digits(s[j+6 : j+8])
		if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
			return time.Time{}, 0, false
		}
		j += 8
		ns := 0
		if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
			j++
			for k := 0; k < 9; k++ {
				ns *= 10
				if j < len(s) && s[j] >= '0' && s[j] <= '9' {
					ns += int(s[j] - '0')
					j++
				}
			}
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++ // beyond nanoseconds
			}
		}
		var ok bool
		if t, ok = p.stampTime(year, time.Month(mon), day, hh, mm, ss, ns); !ok {
			return time.Time{}, 0, false
		}
	}
	if j < len(s) && s[j] == ':' {
		j++
	}
	if j < len(s) && s[j] != ' ' {
		return time.Time{}, 0, false
	}
	return t, j, true
}

// stampTime builds a zone-less timestamp in p.loc. Without a year, it picks,
// among last year, this year and next year (of now in p.loc), the one that puts
// the timestamp closest to now. Dates that do not exist (Feb 30, or Feb 29 in
// every candidate year) are rejected, so the text stays in the message.
func (p *Parser) stampTime(year int, mon time.Month, day, hh, mm, ss, ns int) (time.Time, bool) {
	sec := ss
	if sec == 60 {
		sec = 59 // leap second: clamp rather than roll over into the next minute
	}
	if year != 0 {
		t := time.Date(year, mon, day, hh, mm, sec, ns, p.loc)
		return t, t.Day() == day
	}
	now := p.now()
	y := now.In(p.loc).Year()
	var best time.Time
	var bestD time.Duration
	found := false
	for _, cy := range [3]int{y, y - 1, y + 1} {
		t := time.Date(cy, mon, day, hh, mm, sec, ns, p.loc)
		if t.Day() != day {
			continue
		}
		d := t.Sub(now)
		if d < 0 {
			d = -d
		}
		if !found || d < bestD {
			best, bestD, found = t, d, true
		}
	}
	return best, found
}

// parseTag splits "name[pid]: text", "name: text" or "name[pid] text" into
// app, procid and message. A word without ':' or "[pid]" is not a TAG (it
// stays in the message). One space after the TAG is removed.
func parseTag(s string) (app, pid, msg string) {
	i := 0
	for i < len(s) && s[i] > ' ' && s[i] != ':' && s[i] != '[' && s[i] != 0x7f {
		i++
	}
	if i == 0 || i > 48 || i >= len(s) {
		return "", "", s
	}
	name := s[:i]
	switch s[i] {
	case ':':
		if i+1 < len(s) && s[i+1] != ' ' {
			return "", "", s
		}
		return name, "", skip1(s[i+1:])
	case '[':
		j := i + 1
		for j < len(s) && s[j] != ']' && s[j] > ' ' {
			j++
		}
		if j >= len(s) || s[j] != ']' || j-i-1 > 128 {
			return "", "", s
		}
		pid = s[i+1 : j]
		j++
		if j < len(s) && s[j] == ':' {
			j++
		}
		if j < len(s) && s[j] != ' ' {
			return "", "", s
		}
		return name, pid, skip1(s[j:])
	}
	return "", "", s
}

func skip1(s string) string {
	if len(s) > 0 && s[0] == ' ' {
		return s[1:]
	}
	return s
}

// validHost accepts hostnames, IPv4 and IPv6 literals: letters, digits, '.',
// '-', '_' and, for IPv6, ':' (then only hex digits, ':' and '.'), up to 255
// bytes, not starting with '[' or any other punctuation but ':' or '-' alone.
func validHost(w string) bool {
	if w == "-" {
		return true
	}
	if len(w) == 0 || len(w) > 255 {
		return false
	}
	colon, nonHex := false, false
	for k := 0; k < len(w); k++ {
		c := w[k]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c >= 'g' && c <= 'z', c >= 'G' && c <= 'Z', c == '-', c == '_':
			nonHex = true
		case c == '.':
		case c == ':':
			colon = true
		default:
			return false
		}
	}
	if colon && nonHex {
		return false
	}
	c := w[0]
	return c != '.' && c != '-' && c != '_'
}

func allDigits(s string) bool {
	for k := 0; k < len(s); k++ {
		if s[k] < '0' || s[k] > '9' {
			return false
		}
	}
	return true
}

// leadingInt reads up to max digits at the start of s.
func leadingInt(s string, max int) (v, n int) {
	for n < len(s) && n < max && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}
