package syslog

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin, wherever the tests run

	"logpacker/appliance/source/internal/settingstest"
)

// TestDefaultSettingsAreTheEmbeddedOnes: every [syslog] and [tls] key of the
// embedded server.ini is known to Set, and DefaultSettings and
// DefaultTLSSettings are what those lines set.
func TestDefaultSettingsAreTheEmbeddedOnes(t *testing.T) {
	settingstest.MatchesEmbedded(t, "syslog", DefaultSettings())
	settingstest.MatchesEmbedded(t, "tls", DefaultTLSSettings())
}

func TestSettingsSet(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, value string
		want       func(*Settings)
	}{
		{"max_message_size", "480", func(s *Settings) { s.MaxMessageSize = 480 }},
		{"max_message_size", "16m", func(s *Settings) { s.MaxMessageSize = 16 << 20 }},
		{"max_message_size", "8KiB", func(s *Settings) { s.MaxMessageSize = 8 << 10 }},
		{"timezone", "UTC", func(s *Settings) { s.Timezone = time.UTC }},
		{"timezone", "Europe/Berlin", func(s *Settings) { s.Timezone = berlin }},
		{"udp_read_buffer", "0", func(s *Settings) { s.UDPReadBuffer = 0 }},
		{"udp_read_buffer", "1g", func(s *Settings) { s.UDPReadBuffer = 1 << 30 }},
		{"udp_readers", "64", func(s *Settings) { s.UDPReaders = 64 }},
		{"batch_size", "1", func(s *Settings) { s.BatchSize = 1 }},
		{"batch_size", "65536", func(s *Settings) { s.BatchSize = 65536 }},
		{"max_connections", "1048576", func(s *Settings) { s.MaxConnections = 1 << 20 }},
		{"idle_timeout", "90s", func(s *Settings) { s.IdleTimeout = 90 * time.Second }},
		{"idle_timeout", "0", func(s *Settings) { s.IdleTimeout = 0 }},
	} {
		s, want := DefaultSettings(), DefaultSettings()
		tc.want(&want)
		if err := s.Set(tc.key, tc.value); err != nil {
			t.Errorf("%s = %s: %v", tc.key, tc.value, err)
			continue
		}
		// Locations loaded twice are equal in name, not in pointer.
		if s.Timezone.String() != want.Timezone.String() {
			t.Errorf("%s = %s: zone %s, want %s", tc.key, tc.value, s.Timezone, want.Timezone)
		}
		s.Timezone, want.Timezone = nil, nil
		if s != want {
			t.Errorf("%s = %s: %+v, want %+v", tc.key, tc.value, s, want)
		}
	}
	p := DefaultSettings()
	p.MaxMessageSize, p.Timezone = 2048, time.UTC
	if o := p.Parse(); o.MaxSize != 2048 || o.Location != time.UTC || o.Now != nil {
		t.Errorf("Parse() = %+v", o)
	}
}

// TestSettingsSetMalformed: the messages are config.go's, word for word,
// and a refused value changes nothing (settingstest.Refused).
func TestSettingsSetMalformed(t *testing.T) {
	for _, tc := range []struct{ key, value, err string }{
		{"max_message_size", "", `"" is not a size (e.g. 64k, 512m, 1g)`},
		{"max_message_size", "big", `"big" is not a size (e.g. 64k, 512m, 1g)`},
		{"max_message_size", "-1", `"-1" is not a size (e.g. 64k, 512m, 1g)`},
		{"max_message_size", "10", `10 is out of range [480, 16777216] bytes`},
		{"max_message_size", "17m", `17m is out of range [480, 16777216] bytes`},
		{"max_message_size", "64x", `"64x": unknown unit "x" (use k, m, g, t)`},
		{"max_message_size", "64 ib", `"64 ib": unknown unit "ib"`},
		{"max_message_size", "99999999999999999999", `"99999999999999999999" is not a size: strconv.ParseInt: parsing "99999999999999999999": value out of range`},
		{"max_message_size", "9999999t", `"9999999t" is too large`},
		{"timezone", "Mars/Olympus", `unknown time zone "Mars/Olympus" (use e.g. UTC, Local, Europe/Berlin)`},
		{"timezone", "../etc/passwd", `unknown time zone "../etc/passwd" (use e.g. UTC, Local, Europe/Berlin)`},
		{"udp_read_buffer", "2g", `2g is out of range [0, 1073741824] bytes`},
		{"udp_readers", "-1", `-1 is out of range [1, 64]`},
		{"udp_readers", "0", `0 is out of range [1, 64]`},
		{"udp_readers", "65", `65 is out of range [1, 64]`},
		{"udp_readers", "two", `"two" is not an integer`},
		{"udp_readers", "2.0", `"2.0" is not an integer`},
		{"batch_size", "65537", `65537 is out of range [1, 65536]`},
		{"batch_size", "", `"" is not an integer`},
		{"max_connections", "0", `0 is out of range [1, 1048576]`},
		{"max_connections", "1e6", `"1e6" is not an integer`},
		{"idle_timeout", "soon", `"soon" is not a duration (e.g. 100ms, 5s): time: invalid duration "soon"`},
		{"idle_timeout", "30", `"30" is not a duration (e.g. 100ms, 5s): time: missing unit in duration "30"`},
		{"idle_timeout", "-1s", `-1s is below the minimum 0s`},
		{"window", "4", "unknown key"},
		{"cert_file", "a.pem", "unknown key"}, // a [tls] key
		{"", "", "unknown key"},
		{"Batch_Size", "1", "unknown key"},
	} {
		settingstest.Refused(t, DefaultSettings(), tc.key, tc.value, tc.err)
	}
}

// FuzzSettingsSet: no key or value panics; a key of neither section is
// ErrUnknownKey; a refused value changes nothing; an accepted one is within
// the key's range.
func FuzzSettingsSet(f *testing.F) {
	for _, kv := range [][2]string{
		{"max_message_size", "64k"}, {"max_message_size", "1t"}, {"max_message_size", "479"},
		{"timezone", "UTC"}, {"timezone", "Local"}, {"timezone", ""}, {"timezone", "/etc/localtime"},
		{"udp_read_buffer", "4MiB"}, {"udp_readers", "+2"}, {"batch_size", "0x10"},
		{"max_connections", "4096"}, {"idle_timeout", "1h"}, {"idle_timeout", "-0s"},
		{"cert_file", ""}, {"key_file", "k"}, {"client_ca_file", "\x00"}, {"client_auth", "none"},
		{"client_auth", "require"}, {"relp", "1"}, {"", ""},
	} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		s, err := settingstest.Set(t, DefaultSettings(), key, value)
		if err == nil && (s.MaxMessageSize < 480 || s.MaxMessageSize > 16<<20 || s.Timezone == nil ||
			s.UDPReadBuffer < 0 || s.UDPReadBuffer > 1<<30 || s.UDPReaders < 1 || s.UDPReaders > 64 ||
			s.BatchSize < 1 || s.BatchSize > 65536 || s.MaxConnections < 1 || s.MaxConnections > 1<<20 ||
			s.IdleTimeout < 0) {
			t.Errorf("%s = %q accepted, out of range: %+v", key, value, s)
		}

		ts, terr := settingstest.Set(t, DefaultTLSSettings(), key, value)
		switch key {
		case "cert_file", "key_file", "client_ca_file":
			if terr != nil {
				t.Errorf("%s = %q: %v", key, value, terr)
			}
		case "client_auth":
			ok := value == "none" || value == "request" || value == "require"
			if ok != (terr == nil) || ok != (ts.ClientAuth == value) {
				t.Errorf("client_auth = %q: error %v, set %q", value, terr, ts.ClientAuth)
			}
		default:
			if !errors.Is(terr, ErrUnknownKey) {
				t.Errorf("[tls] %s = %q: %v", key, value, terr)
			}
		}
		if !errors.Is(err, ErrUnknownKey) && !errors.Is(terr, ErrUnknownKey) {
			t.Errorf("key %q is both a [syslog] and a [tls] key", key)
		}
	})
}
