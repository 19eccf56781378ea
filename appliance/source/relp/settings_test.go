package relp

import (
	"errors"
	"testing"

	"logpacker/appliance/source/internal/settingstest"
	ssyslog "logpacker/appliance/source/syslog"
)

// TestDefaultSettingsAreTheEmbeddedOnes: every [relp] key of the embedded
// server.ini is known to Set, and DefaultSettings is what those lines set.
func TestDefaultSettingsAreTheEmbeddedOnes(t *testing.T) {
	settingstest.MatchesEmbedded(t, "relp", DefaultSettings())
	if DefaultSettings().MaxDataSize != 128<<10 {
		t.Errorf("DefaultSettings() = %+v, want 128k", DefaultSettings())
	}
}

func TestSettingsSet(t *testing.T) {
	for value, want := range map[string]int{"1k": 1 << 10, "1024": 1 << 10, "64m": 64 << 20, "256KiB": 256 << 10, "8kb": 8 << 10} {
		s, err := settingstest.Set(t, DefaultSettings(), "max_data_size", value)
		if err != nil || s.MaxDataSize != want {
			t.Errorf("max_data_size = %s: %+v, %v; want %d", value, s, err, want)
		}
	}
}

// TestSettingsSetMalformed: the messages are config.go's, word for word,
// and a refused value changes nothing.
func TestSettingsSetMalformed(t *testing.T) {
	for _, tc := range []struct{ key, value, err string }{
		{"max_data_size", "", `"" is not a size (e.g. 64k, 512m, 1g)`},
		{"max_data_size", "lots", `"lots" is not a size (e.g. 64k, 512m, 1g)`},
		{"max_data_size", "-1k", `"-1k" is not a size (e.g. 64k, 512m, 1g)`},
		{"max_data_size", "100", `100 is out of range [1024, 67108864] bytes`},
		{"max_data_size", "1023", `1023 is out of range [1024, 67108864] bytes`},
		{"max_data_size", "65m", `65m is out of range [1024, 67108864] bytes`},
		{"max_data_size", "1g", `1g is out of range [1024, 67108864] bytes`},
		{"max_data_size", "128q", `"128q": unknown unit "q" (use k, m, g, t)`},
		{"max_data_size", "128 kibibytes", `"128 kibibytes": unknown unit "kibibytes" (use k, m, g, t)`},
		{"max_data_size", "9223372036854775808", `"9223372036854775808" is not a size: strconv.ParseInt: parsing "9223372036854775808": value out of range`},
		{"max_data_size", "99999999t", `"99999999t" is too large`},
		{"window", "128", "unknown key"},
		{"max_message_size", "64k", "unknown key"}, // a [syslog] key
		{"MAX_DATA_SIZE", "64k", "unknown key"},
	} {
		settingstest.Refused(t, DefaultSettings(), tc.key, tc.value, tc.err)
	}
	if !errors.Is(ErrUnknownKey, ssyslog.ErrUnknownKey) {
		t.Error("relp.ErrUnknownKey is not syslog.ErrUnknownKey")
	}
}

// FuzzSettingsSet: no key or value panics; a key not of [relp] is
// ErrUnknownKey; a refused value changes nothing; an accepted one is in
// 1k..64m.
func FuzzSettingsSet(f *testing.F) {
	for _, kv := range [][2]string{
		{"max_data_size", "128k"}, {"max_data_size", "64MiB"}, {"max_data_size", " 2k "},
		{"max_data_size", "0"}, {"max_data_size", "1e3"}, {"window", "4"}, {"", ""},
	} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		s, err := settingstest.Set(t, DefaultSettings(), key, value)
		switch {
		case key != "max_data_size":
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("%s = %q: %v, want ErrUnknownKey", key, value, err)
			}
		case err == nil && (s.MaxDataSize < 1<<10 || s.MaxDataSize > 64<<20):
			t.Errorf("max_data_size = %q accepted: %d", value, s.MaxDataSize)
		}
	})
}
