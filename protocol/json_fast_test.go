package protocol

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// refAppendEscaped is the original, straightforward appendEscaped, kept as
// the reference the optimised version must match byte for byte.
func refAppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// refAppendJSONTime is the original appendJSONTime.
func refAppendJSONTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, TimeLayout)
	return append(dst, '"')
}

func escapeCases() []string {
	cases := []string{
		"", "a", "hello world", `"`, `\`, `\\"\"`, "<>&", "a<b>c&d",
		"\x7f", "abc\x7fdef", "\u2028", "\u2029", "x\u2028y\u2029z", "\u2027\u202a",
		"ünïcödé", "日本語", "😀 emoji 🎉", "\ufffd", "\xef\xbf\xbd",
		"\xff", "\xfe\xff", "a\x80b", "\xc0\x80", "\xc3", "abc\xc3", "\xe2\x80", "\xe2\x80\xa8\xe2\x80",
		"\xf0\x9f\x98", "\xf0\x9f\x98\x80\xf0", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
		"12345678", "1234567\"", "\"1234567", "1234567\x80", "abcdefgh\nabcdefgh\tabcdefgh\r",
		strings.Repeat("a", 1000), strings.Repeat("ab\"", 300), strings.Repeat("é", 500),
		strings.Repeat("x", 7) + "\u2028" + strings.Repeat("y", 9),
		"GET /index.html 200 \"quoted\" <tag> & ünïcode \u2028",
	}
	for c := 0; c < 0x20; c++ {
		cases = append(cases, string(rune(c)), "pre"+string(rune(c))+"post", "12345678"+string(rune(c)))
	}
	for c := 0x80; c < 0x100; c++ {
		cases = append(cases, string([]byte{byte(c)}), "abcdefghij"+string([]byte{byte(c)})+"z")
	}
	return cases
}

func TestAppendEscapedMatchesReference(t *testing.T) {
	for _, s := range escapeCases() {
		for _, prefix := range [][]byte{nil, []byte("prefix:"), make([]byte, 3, 4)} {
			want := refAppendEscaped(bytes.Clone(prefix), s)
			got := appendEscaped(bytes.Clone(prefix), s)
			if !bytes.Equal(got, want) {
				t.Errorf("appendEscaped(%q, %q) = %q, want %q", prefix, s, got, want)
			}
		}
	}
}

func timeCases() []time.Time {
	ist := time.FixedZone("IST", 5*3600+30*60)
	pst := time.FixedZone("PST", -8*3600)
	lmt := time.FixedZone("LMT", -(4*3600 + 56*60 + 2)) // seconds in the offset
	odd := time.FixedZone("", 3*3600+25*60+59)
	neg30s := time.FixedZone("", -30)
	neg90s := time.FixedZone("", -90)
	pos30s := time.FixedZone("", 30)
	big := time.FixedZone("", 99*3600+59*60)
	huge := time.FixedZone("", 100*3600)
	hugeNeg := time.FixedZone("", -150*3600-7)
	zones := []*time.Location{time.UTC, ist, pst, lmt, odd, neg30s, neg90s, pos30s, big, huge, hugeNeg, time.Local}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	if ams, err := time.LoadLocation("Europe/Amsterdam"); err == nil {
		zones = append(zones, ams) // LMT +00:19:32 before 1835
	}
	var out []time.Time
	for _, loc := range zones {
		for _, d := range []struct{ y, mo, d, h, mi, s, ns int }{
			{2026, 11, 24, 11, 0, 0, 123456789},
			{1970, 1, 1, 0, 0, 0, 0},
			{1969, 12, 31, 23, 59, 59, 999999999},
			{1, 1, 1, 0, 0, 0, 0},
			{1, 1, 1, 0, 0, 0, 1},
			{0, 1, 1, 0, 0, 0, 0},
			{0, 3, 1, 0, 0, 0, 0},
			{-1, 12, 31, 23, 59, 59, 0},
			{-400, 2, 29, 12, 0, 0, 0},
			{9999, 12, 31, 23, 59, 59, 999999999},
			{10000, 1, 1, 0, 0, 0, 0},
			{2000, 2, 29, 1, 2, 3, 4},
			{1900, 2, 28, 23, 0, 0, 500},
			{2100, 3, 1, 0, 0, 0, 0},
			{2024, 12, 31, 12, 34, 56, 100000000},
			{292277026596, 12, 4, 15, 30, 7, 0},
		} {
			out = append(out, time.Date(d.y, time.Month(d.mo), d.d, d.h, d.mi, d.s, d.ns, loc))
		}
	}
	out = append(out, time.Time{}, time.Unix(0, 0), time.Now(), time.Now().UTC(), time.Unix(1<<62, 0), time.Unix(-1<<62, 0),
		time.Time{}.In(ist), time.Unix(fastTimeMinUnix, 0).UTC(), time.Unix(fastTimeMinUnix-1, 0).UTC(),
		time.Unix(fastTimeMaxUnix, 0).UTC(), time.Unix(fastTimeMaxUnix+1, 0).UTC(),
		time.Unix(fastTimeMinUnix, 0).In(pst), time.Unix(fastTimeMaxUnix, 0).In(ist))
	return out
}

func TestAppendJSONTimeMatchesReference(t *testing.T) {
	for _, tm := range timeCases() {
		want := refAppendJSONTime([]byte("x"), tm)
		got := appendJSONTime([]byte("x"), tm)
		if !bytes.Equal(got, want) {
			t.Errorf("appendJSONTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

func FuzzAppendEscapedMatchesReference(f *testing.F) {
	for _, s := range escapeCases() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := refAppendEscaped(nil, s)
		got := appendEscaped(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendEscaped(%q) = %q, want %q", s, got, want)
		}
	})
}

func FuzzJSONTimeMatchesReference(f *testing.F) {
	for _, tm := range timeCases() {
		_, off := tm.Zone()
		f.Add(tm.Unix(), int64(tm.Nanosecond()), off)
	}
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(-62135596800), int64(0), 0) // zero time's instant
	check := func(t *testing.T, sec, nsec int64, offset int) {
		t.Helper()
		tm := time.Unix(sec, nsec).In(time.FixedZone("", offset))
		if offset == 0 && sec%3 == 0 {
			tm = tm.UTC()
		}
		want := refAppendJSONTime(nil, tm)
		got := appendJSONTime(nil, tm)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSONTime(%d, %d, %d) = %s, want %s", sec, nsec, offset, got, want)
		}
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		check(t, sec, nsec, offset)
		// Random int64s are mostly far outside the fast path; fold them into
		// (and just around) the years 0000..9999 and offsets up to ±101 hours.
		const pad = 200 * 3600
		span := uint64(fastTimeMaxUnix-fastTimeMinUnix) + 2*pad
		inSec := fastTimeMinUnix - pad + int64(uint64(sec)%span)
		inOff := int(uint64(offset)%(2*101*3600+1)) - 101*3600
		check(t, inSec, nsec%1e9, inOff)
		check(t, inSec, nsec, 0)
	})
}

// FuzzJSONEncoderMatchesAppendJSON: the encoder's time cache never changes
// output, whatever sequence of times it sees (same second, other second,
// other zone with the same second, zero times, years outside the fast path).
func FuzzJSONEncoderMatchesAppendJSON(f *testing.F) {
	f.Add(int64(1764000000), uint32(5), int32(0), int64(1764000000), uint32(999999999), int32(3600), true)
	f.Add(int64(1764000000), uint32(0), int32(-19800), int64(1764000001), uint32(1), int32(-19800), false)
	f.Add(int64(-62167219200), uint32(0), int32(0), int64(253402300800), uint32(7), int32(0), true)
	f.Fuzz(func(t *testing.T, s1 int64, n1 uint32, o1 int32, s2 int64, n2 uint32, o2 int32, zero bool) {
		mk := func(sec int64, ns uint32, off int32) time.Time {
			off %= 18 * 3600
			tm := time.Unix(sec%(400*365*86400), int64(ns%1e9))
			if off == 0 {
				return tm.UTC()
			}
			return tm.In(fixedZone(int(off)))
		}
		evs := []Event{
			{Received: mk(s1, n1, 0), Time: mk(s1, n1, o1), Message: "a"},
			{Received: mk(s1, n2, 0), Time: mk(s2, n2, o2), Message: "b"},
			{Received: mk(s2, n1, o1), Time: mk(s2, n1, o1), Message: "c"},
			{Received: mk(s2, n2, o2), Message: "d"},
		}
		if zero {
			evs[1].Time = time.Time{}
		}
		var enc JSONEncoder
		for round := 0; round < 2; round++ {
			for i := range evs {
				got := string(enc.Append(nil, &evs[i]))
				if want := string(evs[i].AppendJSON(nil)); got != want {
					t.Fatalf("event %d round %d:\n got %s\nwant %s", i, round, got, want)
				}
			}
		}
	})
}
