// Package optparse holds the value parsers of the inputs' settings
// (syslog.Settings, syslog.TLSSettings, relp.Settings) until they can use
// appliance/option. Each is a copy of its counterpart in appliance/config.go
// (setSizeInt, setInt, setDuration, setOneOf, ParseSize) with the same
// behaviour and the same error texts, so a server.ini error reads the same
// whichever package parsed the value. It is one package, not a copy in
// each input, so that relp and syslog share one.
//
// TODO(option): use appliance/option and delete this package.
package optparse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownKey is what a settings type's Set returns for a key that is not
// its own. The text is config.go's for an unknown key.
//
// TODO(option): use appliance/option
var ErrUnknownKey = errors.New("unknown key")

// Int sets *dst to v, an integer in [lo, hi].
//
// TODO(option): use appliance/option
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

// Duration sets *dst to v, a Go duration of at least lo.
//
// TODO(option): use appliance/option
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

// OneOf sets *dst to v, which must be one of allowed.
//
// TODO(option): use appliance/option
func OneOf(dst *string, v string, allowed ...string) error {
	if err := CheckOneOf(v, allowed...); err != nil {
		return err
	}
	*dst = v
	return nil
}

// CheckOneOf reports whether v is one of allowed, with OneOf's error.
//
// TODO(option): use appliance/option
func CheckOneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// SizeInt sets *dst to v, a byte size (ParseSize) in [lo, hi].
//
// TODO(option): use appliance/option
func SizeInt(dst *int, v string, lo, hi int64) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	if n < lo || n > hi {
		return fmt.Errorf("%s is out of range [%d, %d] bytes", v, lo, hi)
	}
	*dst = int(n)
	return nil
}

// ParseSize reads a byte size: a number with an optional unit k, m, g, t
// (powers of 1024; kb/kib/KiB and so on are accepted too), e.g. 64k, 512MiB, 1g.
//
// TODO(option): use appliance/option
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
