package elastic

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultIndex is the index pattern used when Options.Index is empty: one
// index a day, by the event's received time in UTC.
const DefaultIndex = "logpacker-%Y.%m.%d"

// indexPattern turns an event time into an index name. It caches the last
// name per time bucket (a batch mostly shares one day).
type indexPattern struct {
	src    string // as configured
	parts  []patternPart
	bucket time.Duration // the smallest unit the pattern uses (day or hour); 0: constant

	lastKey  int64
	lastName string
	haveLast bool
}

type patternPart struct {
	lit  string
	verb byte // 0: literal; 'Y', 'm', 'd', 'H'
}

// parseIndexPattern checks a pattern: literal text and %Y (4-digit year),
// %m (month 01-12), %d (day 01-31), %H (hour 00-23), %% (a literal %). The
// literal text must make valid Elasticsearch index names: lowercase, none of
// \ / * ? " < > | space , # :, not starting with - _ +, at most 255 bytes.
func parseIndexPattern(p string) (*indexPattern, error) {
	if p == "" {
		p = DefaultIndex
	}
	ip := &indexPattern{src: p}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			ip.parts = append(ip.parts, patternPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(p) {
			return nil, fmt.Errorf("index %q: %% at the end (write %%%% for a literal %%)", p)
		}
		i++
		switch v := p[i]; v {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'm', 'd', 'H':
			flush()
			ip.parts = append(ip.parts, patternPart{verb: v})
			unit := 24 * time.Hour
			if v == 'H' {
				unit = time.Hour
			}
			if ip.bucket == 0 || unit < ip.bucket {
				ip.bucket = unit
			}
		default:
			return nil, fmt.Errorf("index %q: unknown %%%c (want %%Y, %%m, %%d, %%H or %%%%)", p, v)
		}
	}
	flush()
	sample := ip.name(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC))
	if err := checkName("an index", sample); err != nil {
		return nil, fmt.Errorf("index %q: %w", p, err)
	}
	return ip, nil
}

// checkName checks an index or index template name (kind: "an index" or
// "a template"): Elasticsearch's rules for index names, which template
// names satisfy too.
func checkName(kind, n string) error {
	switch {
	case n == "" || n == "." || n == "..":
		return fmt.Errorf("%q is not valid as %s name", n, kind)
	case len(n) > 255:
		return fmt.Errorf("%s name must be at most 255 bytes", kind)
	case strings.IndexAny(n[:1], "-_+") == 0:
		return fmt.Errorf("%s name must not start with -, _ or +", kind)
	case strings.ContainsAny(n, "\\/*?\"<>| ,#:"):
		return fmt.Errorf(`%s name must not contain \ / * ? " < > | space , # :`, kind)
	case strings.ToLower(n) != n:
		return fmt.Errorf("%s name must be lowercase", kind)
	}
	return nil
}

// indexTime is the time an event's index is chosen by: when it was
// received, else its own time, else the Unix epoch. It is the same on every
// retry, so a retried event goes to the same index (and is found there).
func indexTime(received, msg time.Time) time.Time {
	if !received.IsZero() {
		return received.UTC()
	}
	if !msg.IsZero() {
		return msg.UTC()
	}
	return time.Unix(0, 0).UTC()
}

// nameFor returns the index for t (UTC), from the cache when t is in the
// same bucket as the last call.
func (ip *indexPattern) nameFor(t time.Time) string {
	if ip.bucket == 0 {
		if !ip.haveLast {
			ip.lastName, ip.haveLast = ip.name(t), true
		}
		return ip.lastName
	}
	key := t.Unix()
	if key < 0 {
		key -= int64(ip.bucket/time.Second) - 1 // floor division for times before 1970
	}
	key /= int64(ip.bucket / time.Second)
	if ip.haveLast && key == ip.lastKey {
		return ip.lastName
	}
	ip.lastKey, ip.lastName, ip.haveLast = key, ip.name(t), true
	return ip.lastName
}

func (ip *indexPattern) name(t time.Time) string {
	t = t.UTC()
	var b []byte
	for _, p := range ip.parts {
		switch p.verb {
		case 0:
			b = append(b, p.lit...)
		case 'Y':
			y := t.Year()
			if y < 0 {
				y = 0
			}
			b = appendPad(b, y, 4)
		case 'm':
			b = appendPad(b, int(t.Month()), 2)
		case 'd':
			b = appendPad(b, t.Day(), 2)
		case 'H':
			b = appendPad(b, t.Hour(), 2)
		}
	}
	return string(b)
}

func appendPad(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// CheckIndex reports whether pattern is a valid Options.Index ("" is: the
// default), for configuration checks.
func CheckIndex(pattern string) error {
	_, err := parseIndexPattern(pattern)
	return err
}
