package option

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// check runs one parser case: want is the value stored when errSub is "";
// otherwise the error must contain errSub and dst must keep its old value.
func check[T comparable](t *testing.T, name string, set func(*T, string) error, old T, cases []struct {
	in     string
	want   T
	errSub string
}) {
	t.Helper()
	for _, c := range cases {
		dst := old
		err := set(&dst, c.in)
		if c.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSub) {
				t.Errorf("%s(%q): err = %v, want one containing %q", name, c.in, err, c.errSub)
			}
			if dst != old {
				t.Errorf("%s(%q): stored %v on error", name, c.in, dst)
			}
			continue
		}
		if err != nil || dst != c.want {
			t.Errorf("%s(%q) = %v, %v; want %v", name, c.in, dst, err, c.want)
		}
	}
}

type cases[T any] = []struct {
	in     string
	want   T
	errSub string
}

func TestNonEmpty(t *testing.T) {
	check(t, "NonEmpty", NonEmpty, "old", cases[string]{
		{"x", "x", ""},
		{"/var/lib/lp", "/var/lib/lp", ""},
		{"", "", "must not be empty"},
	})
}

func TestOneOf(t *testing.T) {
	set := func(dst *string, v string) error { return OneOf(dst, v, "drop", "keep") }
	check(t, "OneOf", set, "old", cases[string]{
		{"drop", "drop", ""},
		{"keep", "keep", ""},
		{"", "", `"" is not one of drop, keep`},
		{"Drop", "", `"Drop" is not one of drop, keep`},
		{"drop ", "", "is not one of"},
	})
}

func TestInt(t *testing.T) {
	set := func(dst *int, v string) error { return Int(dst, v, 1, 64) }
	check(t, "Int", set, 7, cases[int]{
		{"1", 1, ""},
		{"64", 64, ""},
		{"+5", 5, ""},
		{"0", 0, "0 is out of range [1, 64]"},
		{"65", 0, "65 is out of range [1, 64]"},
		{"-1", 0, "-1 is out of range"},
		{"", 0, `"" is not an integer`},
		{"1.5", 0, `"1.5" is not an integer`},
		{"0x10", 0, "is not an integer"},
		{"99999999999999999999", 0, "is not an integer"},
		{"4k", 0, "is not an integer"},
	})
}

func TestFloat(t *testing.T) {
	set := func(dst *float64, v string) error { return Float(dst, v, 0, 1) }
	check(t, "Float", set, 0.5, cases[float64]{
		{"0", 0, ""},
		{"0.1", 0.1, ""},
		{"1", 1, ""},
		{"1e-1", 0.1, ""},
		{"1.5", 0, "1.5 is out of range [0, 1]"},
		{"-0.1", 0, "out of range"},
		{"Inf", 0, "+Inf is out of range"},
		{"NaN", 0, `"NaN" is not a number`},
		{"high", 0, `"high" is not a number`},
		{"", 0, "is not a number"},
		{"10%", 0, "is not a number"},
	})
}

func TestDuration(t *testing.T) {
	set := func(dst *time.Duration, v string) error { return Duration(dst, v, 50*time.Millisecond) }
	check(t, "Duration", set, time.Hour, cases[time.Duration]{
		{"50ms", 50 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{"1ms", 0, "1ms is below the minimum 50ms"},
		{"-1s", 0, "below the minimum"},
		{"0", 0, "below the minimum"},
		{"5", 0, `"5" is not a duration (e.g. 100ms, 5s)`},
		{"soon", 0, "is not a duration"},
		{"", 0, "is not a duration"},
		{"1d", 0, "is not a duration"},
	})
}

func TestFlushInterval(t *testing.T) {
	check(t, "FlushInterval", FlushInterval, 7*time.Second, cases[time.Duration]{
		{"0s", 0, ""},
		{"0", 0, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"1m", time.Minute, ""},
		{"2m", 0, "2m0s: at most 1m"},
		{"1m0.001s", 0, "at most 1m"},
		{"-1s", 0, "below the minimum 0s"},
		{"soon", 0, "is not a duration"},
		{"", 0, "is not a duration"},
	})
}

func TestRetention(t *testing.T) {
	// moved from appliance/config_test.go TestStoreOutputConfig
	check(t, "Retention", Retention, 3*time.Hour, cases[time.Duration]{
		{"14d", 14 * 24 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"0", 0, ""},
		{"0d", 0, ""},
		{"90m", 90 * time.Minute, ""},
		{"10m", 0, "10m0s is below the minimum 1h (0 keeps everything)"},
		{"d", 0, `"d" is not a retention (e.g. 14d, 36h, 1d12h; 0 keeps everything)`},
		{"-1d", 0, "not a retention"},
		{"2w", 0, "not a retention"},
		{"1d-1h", 0, "not a retention"},
		{"1d1d", 0, "not a retention"},
		{"99999999999d", 0, "not a retention"},
		{"", 0, "not a retention"},
	})
}

func TestSize(t *testing.T) {
	set := func(dst *int64, v string) error { return Size(dst, v, 64<<10, 1<<30) }
	check(t, "Size", set, 5, cases[int64]{
		{"64k", 64 << 10, ""},
		{"8m", 8 << 20, ""},
		{"1g", 1 << 30, ""},
		{"1k", 0, "1k is out of range [65536, 1073741824] bytes"},
		{"2g", 0, "out of range"},
		{"12 parsecs", 0, `"12 parsecs": unknown unit "parsecs" (use k, m, g, t)`},
		{"", 0, `"" is not a size (e.g. 64k, 512m, 1g)`},
	})
}

func TestSizeInt(t *testing.T) {
	set := func(dst *int, v string) error { return SizeInt(dst, v, 480, 16<<20) }
	check(t, "SizeInt", set, 5, cases[int]{
		{"480", 480, ""},
		{"64k", 64 << 10, ""},
		{"16m", 16 << 20, ""},
		{"10", 0, "10 is out of range [480, 16777216] bytes"},
		{"17m", 0, "out of range"},
		{"lots", 0, "is not a size"},
		{"-1", 0, "is not a size"},
	})
}

func TestParseSize(t *testing.T) {
	// moved from appliance/config_test.go
	good := map[string]int64{"0": 0, "512": 512, "64k": 64 << 10, "64K": 64 << 10, "8m": 8 << 20, "1g": 1 << 30,
		"2GiB": 2 << 30, "3 MB": 3 << 20, "1t": 1 << 40, "7b": 7, " 4kb ": 4 << 10, "1KiB": 1 << 10,
		"4611686018427387904": 1 << 62}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                     "is not a size",
		"k":                    "is not a size",
		"-1":                   "is not a size",
		"1x":                   `unknown unit "x"`,
		"1.5g":                 `unknown unit ".5g"`,
		"1ib":                  `unknown unit "ib"`,
		"1bb":                  `unknown unit "bb"`,
		"1p":                   `unknown unit "p" (use k, m, g, t)`,
		"99999999999999999999": "is not a size: ",
		"9999999999t":          "is too large",
		"4611686018427387905":  "is too large",
	}
	for in, want := range bad {
		if _, err := ParseSize(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSize(%q): err = %v, want one containing %q", in, err, want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "64k", "2GiB", "3 MB", "1t", "1.5g", "-1", "", "9999999999t", "4611686018427387904"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseSize(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 0 || n > 1<<62 {
			t.Fatalf("ParseSize(%q) = %d: out of [0, 2^62]", s, n)
		}
		// a plain number of bytes reads back as itself
		if m, err := ParseSize(fmt.Sprint(n)); err != nil || m != n {
			t.Fatalf("ParseSize(%d) = %d, %v (from %q)", n, m, err, s)
		}
	})
}

func TestBool(t *testing.T) {
	check(t, "Bool", Bool, false, cases[bool]{
		{"true", true, ""},
		{"yes", true, ""},
		{"on", true, ""},
		{"false", false, ""},
		{"no", false, ""},
		{"off", false, ""},
		{"", false, `want true or false, not ""`},
		{"1", false, `want true or false, not "1"`},
		{"TRUE", false, "want true or false"},
		{"enabled", false, "want true or false"},
	})
	// false on error is the old value, not a stored false
	b := true
	if err := Bool(&b, "maybe"); err == nil || !b {
		t.Errorf("Bool(maybe): %v, stored %v", err, b)
	}
}

func TestURLs(t *testing.T) {
	for _, c := range []struct {
		in     string
		want   []string
		errSub string
	}{
		{"http://a:9200", []string{"http://a:9200"}, ""},
		{"https://es1:9200, https://es2:9200", []string{"https://es1:9200", "https://es2:9200"}, ""},
		{" http://a:9200 ,, ", []string{"http://a:9200"}, ""},
		{"", nil, ""},
		{",", nil, ""},
		{"http://a:9200, es2:9200", nil, `"es2:9200": want http://host:port or https://host:port`},
		{"ftp://a", nil, "want http://host:port"},
		{"http://", nil, "want http://host:port"},
		{"http://a b:9200/%zz", nil, "want http://host:port"},
		{"/just/a/path", nil, "want http://host:port"},
	} {
		old := []string{"old"}
		dst := old
		err := URLs(&dst, c.in)
		if c.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSub) {
				t.Errorf("URLs(%q): err = %v, want %q", c.in, err, c.errSub)
			}
			if len(dst) != 1 || dst[0] != "old" {
				t.Errorf("URLs(%q): stored %v on error", c.in, dst)
			}
			continue
		}
		if err != nil || fmt.Sprint(dst) != fmt.Sprint(c.want) || (c.want == nil) != (dst == nil) {
			t.Errorf("URLs(%q) = %#v, %v; want %#v", c.in, dst, err, c.want)
		}
	}
}

func TestAddr(t *testing.T) {
	check(t, "Addr", Addr, "old", cases[string]{
		{"", "", ""},
		{"127.0.0.1:514", "127.0.0.1:514", ""},
		{":514", ":514", ""},
		{"[::1]:0", "[::1]:0", ""},
		{"localhost:8080", "localhost:8080", ""},
		{"0.0.0.0:65535", "0.0.0.0:65535", ""},
		{"nowhere", "", `"nowhere" is not host:port`},
		{"2514", "", "is not host:port"},
		{"127.0.0.1:99999", "", `"127.0.0.1:99999": bad port "99999"`},
		{"127.0.0.1:-1", "", "bad port"},
		{"127.0.0.1:http", "", "bad port"},
		{"example.com:514", "", "host must be an IP address or localhost"},
		{"::1:514", "", "is not host:port"},
	})
}

func TestKeyError(t *testing.T) {
	inner := errors.New("api_key and username/password are exclusive")
	var err error = &KeyError{Key: "api_key", Err: inner}
	if err.Error() != "api_key: api_key and username/password are exclusive" {
		t.Errorf("Error() = %q", err)
	}
	if !errors.Is(err, inner) {
		t.Error("KeyError does not unwrap")
	}
	var ke *KeyError
	if !errors.As(fmt.Errorf("sink: %w", err), &ke) || ke.Key != "api_key" {
		t.Errorf("errors.As: %v", ke)
	}
	if err := UnknownKey("file"); !errors.Is(err, ErrUnknownKey) || err.Error() != "unknown key for type = file outputs" {
		t.Errorf("UnknownKey(file) = %v", err)
	}
}
