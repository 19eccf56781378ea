package match

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"logpacker/protocol"
)

// Keys are the config keys a Matcher understands, in the order String
// prints them.
var Keys = []string{"severity", "facility", "host", "app", "tags", "message", "message_regexp"}

// IsKey reports whether key is one of Keys.
func IsKey(key string) bool { return keyIndex(key) >= 0 }

func keyIndex(key string) int {
	for i, k := range Keys {
		if k == key {
			return i
		}
	}
	return -1
}

// KeyError is a bad key or value; Error names the key.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return "match: " + e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Matcher selects events. The zero value (and nil) selects every event.
// Set it up with Parse or Set before use; Match may then be called from
// any number of goroutines.
type Matcher struct {
	sev     uint8  // bit s: severity s selected; 0: no severity condition
	fac     uint32 // bit f: facility f selected; 0: no facility condition
	hosts   []pattern
	apps    []pattern
	tags    []pattern
	message string
	re      *regexp.Regexp

	src [7]string // values as set, by key index (String, Config)
}

// pattern is one list item: a literal, or a glob when it holds * or ?.
type pattern struct {
	s    string
	glob bool
}

// Parse builds a Matcher from config keys (see the package doc). Keys
// not in Keys are an error; empty values set no condition.
func Parse(keys map[string]string) (*Matcher, error) {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names) // the same error first, whatever the map order
	m := &Matcher{}
	for _, k := range names {
		if err := m.Set(k, keys[k]); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Set sets (or, with an empty value, clears) the condition of one key. A
// bad key or value returns a *KeyError and leaves m unchanged. Set is for
// building a Matcher: do not call it while Match may run.
func (m *Matcher) Set(key, value string) error {
	i := keyIndex(key)
	if i < 0 {
		return &KeyError{Key: key, Err: fmt.Errorf("unknown key (known: %s)", strings.Join(Keys, ", "))}
	}
	value = strings.TrimSpace(value)
	if err := m.set(key, value); err != nil {
		return &KeyError{Key: key, Err: err}
	}
	m.src[i] = value
	return nil
}

func (m *Matcher) set(key, v string) error {
	switch key {
	case "severity":
		mask, err := parseSeverities(v)
		if err == nil {
			m.sev = mask
		}
		return err
	case "facility":
		mask, err := parseFacilities(v)
		if err == nil {
			m.fac = mask
		}
		return err
	case "host", "app", "tags":
		ps, err := parsePatterns(v)
		if err != nil {
			return err
		}
		switch key {
		case "host":
			m.hosts = ps
		case "app":
			m.apps = ps
		default:
			m.tags = ps
		}
		return nil
	case "message":
		m.message = v
		return nil
	case "message_regexp":
		if v == "" {
			m.re = nil
			return nil
		}
		re, err := regexp.Compile(v)
		if err != nil {
			return fmt.Errorf("bad regular expression: %v", err)
		}
		m.re = re
		return nil
	}
	return errors.New("unknown key") // not reached: Set checked it
}

// All reports whether m selects every event (nil, or no condition set).
func (m *Matcher) All() bool {
	return m == nil || m.sev == 0 && m.fac == 0 && m.hosts == nil && m.apps == nil && m.tags == nil &&
		m.message == "" && m.re == nil
}

// Match reports whether m selects ev. It allocates nothing.
func (m *Matcher) Match(ev *protocol.Event) bool {
	if m == nil {
		return true
	}
	if m.sev != 0 && (ev.Severity > 7 || m.sev&(1<<ev.Severity) == 0) {
		return false
	}
	if m.fac != 0 && (ev.Facility > 31 || m.fac&(1<<ev.Facility) == 0) {
		return false
	}
	if m.hosts != nil && !anyMatch(m.hosts, ev.Host, true) {
		return false
	}
	if m.apps != nil && !anyMatch(m.apps, ev.App, false) {
		return false
	}
	if m.tags != nil {
		found := false
		for _, t := range ev.Tags {
			if anyMatch(m.tags, t, false) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if m.message != "" && !strings.Contains(ev.Message, m.message) {
		return false
	}
	if m.re != nil && !m.re.MatchString(ev.Message) {
		return false
	}
	return true
}

// Config returns the keys that are set, with their values as given: Parse
// of it builds an equivalent Matcher.
func (m *Matcher) Config() map[string]string {
	out := map[string]string{}
	if m == nil {
		return out
	}
	for i, v := range m.src {
		if v != "" {
			out[Keys[i]] = v
		}
	}
	return out
}

// String is the conditions for logs, e.g. `severity="warning" host="web-*"`,
// or "all" when there are none.
func (m *Matcher) String() string {
	if m.All() {
		return "all"
	}
	var b strings.Builder
	for i, v := range m.src {
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Keys[i])
		b.WriteByte('=')
		b.WriteString(strconv.Quote(v))
	}
	return b.String()
}

// splitList splits a comma-separated list, trimming items and leaving out
// empty ones ("a, b," is a, b). A value that is only commas is an error.
func splitList(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, it := range strings.Split(v, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q lists nothing", v)
	}
	return out, nil
}

const severityHelp = "emerg, alert, crit, err, warning, notice, info, debug or 0-7"

func severityOf(s string) (protocol.Severity, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 7 {
			return 0, fmt.Errorf("severity %d is out of range 0-7", n)
		}
		return protocol.Severity(n), nil
	}
	sev, err := protocol.ParseSeverity(s)
	if err != nil {
		return 0, fmt.Errorf("unknown severity %q (%s)", s, severityHelp)
	}
	return sev, nil
}

// parseSeverities turns a severity value into a mask (bit s: severity s).
func parseSeverities(v string) (uint8, error) {
	items, err := splitList(v)
	if err != nil || items == nil {
		return 0, err
	}
	threshold := len(items) == 1
	var mask uint8
	for _, it := range items {
		switch {
		case strings.HasPrefix(it, "="):
			s, err := severityOf(it[1:])
			if err != nil {
				return 0, err
			}
			mask |= 1 << s
		case strings.Contains(it, ".."):
			lo, hi, _ := strings.Cut(it, "..")
			a, err := severityOf(lo)
			if err != nil {
				return 0, err
			}
			b, err := severityOf(hi)
			if err != nil {
				return 0, err
			}
			if a > b {
				a, b = b, a
			}
			for s := a; s <= b; s++ {
				mask |= 1 << s
			}
		default:
			s, err := severityOf(it)
			if err != nil {
				return 0, err
			}
			if threshold { // s and everything more severe (lower numbers)
				for x := protocol.SevEmerg; x <= s; x++ {
					mask |= 1 << x
				}
			} else {
				mask |= 1 << s
			}
		}
	}
	return mask, nil
}

// parseFacilities turns a facility list into a mask (bit f: facility f).
func parseFacilities(v string) (uint32, error) {
	items, err := splitList(v)
	if err != nil || items == nil {
		return 0, err
	}
	var mask uint32
	for _, it := range items {
		it = strings.ToLower(it)
		var f protocol.Facility
		if n, err := strconv.Atoi(it); err == nil {
			if n < 0 || n > 23 {
				return 0, fmt.Errorf("facility %d is out of range 0-23", n)
			}
			f = protocol.Facility(n)
		} else if f, err = protocol.ParseFacility(it); err != nil {
			return 0, fmt.Errorf("unknown facility %q (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, "+
				"authpriv, ftp, ntp, security, console, solaris-cron, local0-local7 or 0-23)", it)
		}
		mask |= 1 << f
	}
	return mask, nil
}

func parsePatterns(v string) ([]pattern, error) {
	items, err := splitList(v)
	if err != nil || items == nil {
		return nil, err
	}
	ps := make([]pattern, len(items))
	for i, it := range items {
		ps[i] = pattern{s: it, glob: strings.ContainsAny(it, "*?")}
	}
	return ps, nil
}

func anyMatch(ps []pattern, s string, fold bool) bool {
	for _, p := range ps {
		if p.glob {
			if glob(p.s, s, fold) {
				return true
			}
		} else if len(p.s) == len(s) && (p.s == s || fold && equalFoldASCII(p.s, s)) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// glob reports whether s matches p, where * is any run of characters and ?
// one character (a UTF-8 sequence, or one byte that is not valid UTF-8).
// Linear backtracking to the last star (see research.swtch.com/glob): no
// allocation, no exponential blow-up.
func glob(p, s string, fold bool) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, -1 // where to resume after a mismatch: the last star, one more character eaten
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				if px == len(p)-1 {
					return true // a trailing star takes the rest, whatever it is
				}
				nextPx = px
				if sx < len(s) {
					nextSx = sx + runeLen(s, sx)
				} else {
					nextSx = len(s) + 1
				}
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx += runeLen(s, sx)
					continue
				}
			default:
				if sx < len(s) && (s[sx] == c || fold && lowerASCII(s[sx]) == lowerASCII(c)) {
					px++
					sx++
					continue
				}
			}
		}
		if 0 < nextSx && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// runeLen is the length of the character at s[i] (1 for ASCII and for a
// byte that is not valid UTF-8).
func runeLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}
