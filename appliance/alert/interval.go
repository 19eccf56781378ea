package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Interval is how long a rule collects matches into one digest: N seconds,
// minutes, hours, days, weeks or months. Months are calendar months (from
// the 31st, one month on is the end of the next month, as time.AddDate
// normalizes it); the rest are fixed lengths.
type Interval struct {
	N    int
	Unit string // s, m, h, d, w, mo
}

var units = []struct {
	unit  string
	names []string
	d     time.Duration // 0: months
}{
	{"s", []string{"s", "sec", "secs", "second", "seconds"}, time.Second},
	{"m", []string{"m", "min", "mins", "minute", "minutes"}, time.Minute},
	{"h", []string{"h", "hr", "hour", "hours"}, time.Hour},
	{"d", []string{"d", "day", "days"}, 24 * time.Hour},
	{"w", []string{"w", "week", "weeks"}, 7 * 24 * time.Hour},
	{"mo", []string{"mo", "mon", "month", "months"}, 0},
}

// ParseInterval reads an interval: a number of seconds (3600, as the seed
// product's notify.ini has it), or a number and a unit (90s, 5m, 5 minutes,
// 2h, 1d, 1w, 1mo, 3 months). At least 1 second, at most a year.
func ParseInterval(dst *Interval, v string) error {
	s := strings.ToLower(strings.TrimSpace(v))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	bad := fmt.Errorf("%q is not an interval (seconds, or e.g. 30s, 5m, 2h, 1d, 1w, 1mo)", v)
	if i == 0 || i > 9 {
		return bad
	}
	n, _ := strconv.Atoi(s[:i])
	name := strings.TrimSpace(s[i:])
	iv := Interval{N: n}
	if name == "" {
		iv.Unit = "s"
	}
	for _, u := range units {
		for _, un := range u.names {
			if name == un {
				iv.Unit = u.unit
			}
		}
	}
	if iv.Unit == "" {
		return bad
	}
	if n < 1 {
		return fmt.Errorf("%q: an interval is at least 1 second", v)
	}
	if iv.Unit == "mo" && n > 12 || iv.Unit != "mo" && iv.approx() > 366*24*time.Hour {
		return fmt.Errorf("%q: an interval is at most a year", v)
	}
	*dst = iv
	return nil
}

// After is the end of an interval that starts at t.
func (iv Interval) After(t time.Time) time.Time {
	if iv.Unit == "mo" {
		return t.AddDate(0, iv.N, 0)
	}
	return t.Add(iv.approx())
}

// approx is the interval's length (a month counts 30 days).
func (iv Interval) approx() time.Duration {
	for _, u := range units {
		if u.unit == iv.Unit {
			if u.d == 0 {
				return time.Duration(iv.N) * 30 * 24 * time.Hour
			}
			return time.Duration(iv.N) * u.d
		}
	}
	return 0
}

// IsZero reports whether iv is unset.
func (iv Interval) IsZero() bool { return iv.N == 0 }

func (iv Interval) String() string {
	if iv.N == 0 {
		return "0"
	}
	return strconv.Itoa(iv.N) + iv.Unit
}
