package option

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownKey is wrapped by the error Options.Set returns for a key its
// output type does not have.
var ErrUnknownKey = errors.New("unknown key")

// UnknownKey is the error of Options.Set for a key that outputs of type
// outputType do not have: "unknown key for type = file outputs", wrapping
// ErrUnknownKey.
func UnknownKey(outputType string) error {
	return fmt.Errorf("%w for type = %s outputs", ErrUnknownKey, outputType)
}

// KeyError says which key a problem is about, when Options.Validate finds
// it after all keys were read (Set's errors are about the key being set).
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }

func (e *KeyError) Unwrap() error { return e.Err }

// NonEmpty stores v unless it is empty.
func NonEmpty(dst *string, v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	*dst = v
	return nil
}

// OneOf stores v if it is one of allowed.
func OneOf(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// Int reads a decimal integer in [lo, hi].
func Int(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	if n < lo || n > hi {
		return fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
	}
	*dst = n
	return nil
}

// Float reads a number in [lo, hi] (NaN is not a number).
func Float(dst *float64, v string, lo, hi float64) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return fmt.Errorf("%q is not a number", v)
	}
	if f < lo || f > hi {
		return fmt.Errorf("%g is out of range [%g, %g]", f, lo, hi)
	}
	*dst = f
	return nil
}

// Duration reads a Go duration (100ms, 5s, 1h30m) of at least lo.
func Duration(dst *time.Duration, v string, lo time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 100ms, 5s): %v", v, err)
	}
	if d < lo {
		return fmt.Errorf("%s is below the minimum %s", d, lo)
	}
	*dst = d
	return nil
}

// FlushInterval reads an output's flush_interval: 0 to 1 minute (events
// wait in the WAL, durable, but not yet in the output).
func FlushInterval(dst *time.Duration, v string) error {
	var d time.Duration
	if err := Duration(&d, v, 0); err != nil {
		return err
	}
	if d > time.Minute {
		return fmt.Errorf("%s: at most 1m", d)
	}
	*dst = d
	return nil
}

// Retention reads a retention: days (14d), a Go duration (36h), or both
// (1d12h); 0 keeps everything, anything else is at least 1h.
func Retention(dst *time.Duration, v string) error {
	bad := fmt.Errorf("%q is not a retention (e.g. 14d, 36h, 1d12h; 0 keeps everything)", v)
	if v == "" {
		return bad
	}
	var days int64
	rest := v
	if i := strings.IndexByte(v, 'd'); i >= 0 {
		n, err := strconv.ParseInt(v[:i], 10, 32)
		if err != nil || n < 0 {
			return bad
		}
		days, rest = n, v[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil || d < 0 {
			return bad
		}
	}
	total := time.Duration(days)*24*time.Hour + d
	if total != 0 && total < time.Hour {
		return fmt.Errorf("%s is below the minimum 1h (0 keeps everything)", total)
	}
	*dst = total
	return nil
}

// SizeInt is Size into an int.
func SizeInt(dst *int, v string, lo, hi int64) error {
	var n int64
	if err := Size(&n, v, lo, hi); err != nil {
		return err
	}
	*dst = int(n)
	return nil
}

// Size reads a byte size (see ParseSize) in [lo, hi].
func Size(dst *int64, v string, lo, hi int64) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	if n < lo || n > hi {
		return fmt.Errorf("%s is out of range [%d, %d] bytes", v, lo, hi)
	}
	*dst = n
	return nil
}

// ParseSize reads a byte size: a number with an optional unit k, m, g, t
// (powers of 1024; kb/kib/KiB and so on are accepted too), e.g. 64k, 512MiB, 1g.
// The result is at most 2^62.
func ParseSize(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 64k, 512m, 1g)", v)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %v", v, err)
	}
	unit := strings.TrimSpace(s[i:])
	mult := int64(1)
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "ib"), "b") {
	case "":
		if unit != "" && unit != "b" {
			return 0, fmt.Errorf("%q: unknown unit %q", v, unit)
		}
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("%q: unknown unit %q (use k, m, g, t)", v, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", v)
	}
	return n * mult, nil
}

// Bool reads true, yes, on or false, no, off.
func Bool(dst *bool, v string) error {
	switch v {
	case "true", "yes", "on":
		*dst = true
	case "false", "no", "off":
		*dst = false
	default:
		return fmt.Errorf("want true or false, not %q", v)
	}
	return nil
}

// URLs reads a comma-separated list of http:// or https:// URLs (with a
// host); empty items are skipped, and an empty list stores nil.
func URLs(dst *[]string, v string) error {
	var urls []string
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("%q: want http://host:port or https://host:port", u)
		}
		urls = append(urls, u)
	}
	*dst = urls
	return nil
}

// Addr reads a listen address, host:port, whose host is an IP address,
// localhost or empty (every address); an empty value stores "" (off).
func Addr(dst *string, v string) error {
	if v == "" {
		*dst = ""
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", v, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: bad port %q", v, port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("%q: host must be an IP address or localhost", v)
	}
	*dst = v
	return nil
}

// Name checks the name of a configured thing (an output, an alert rule or
// group): it becomes a WAL cursor, a file name and a metric label, so it is
// 1-64 letters, digits, '-' and '_'. what says what it names ("output").
func Name(what, n string) error {
	if n == "" || len(n) > 64 {
		return fmt.Errorf("%s name must be 1-64 characters", what)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("%s name %q: only letters, digits, '-' and '_' are allowed", what, n)
		}
	}
	return nil
}
