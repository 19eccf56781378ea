// Package settingstest checks the inputs' settings types (syslog.Settings,
// syslog.TLSSettings, relp.Settings): their defaults against the embedded
// server.ini, and how their Set refuses values.
package settingstest

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"logpacker/appliance/option"
)

// Setter is a pointer to a settings type S.
type Setter[S comparable] interface {
	*S
	Set(key, value string) error
}

// embeddedINI is appliance/server.ini.default seen from a package directory
// appliance/source/NAME, where its tests run.
const embeddedINI = "../../server.ini.default"

// Embedded returns the key = value lines of one section of the embedded
// server.ini, in order; a section with none fails the test.
func Embedded(t testing.TB, section string) [][2]string {
	t.Helper()
	f, err := os.Open(embeddedINI)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kvs [][2]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || s[0] == ';' || s[0] == '#':
		case s[0] == '[':
			in = s == "["+section+"]"
		case in:
			k, v, _ := strings.Cut(s, "=")
			kvs = append(kvs, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(kvs) == 0 {
		t.Fatalf("no [%s] keys in %s", section, embeddedINI)
	}
	return kvs
}

// MatchesEmbedded checks that Set knows every key of the embedded
// server.ini's section and that, set from zero, they make def.
func MatchesEmbedded[S comparable, P Setter[S]](t testing.TB, section string, def S) {
	t.Helper()
	var s S
	for _, kv := range Embedded(t, section) {
		if err := P(&s).Set(kv[0], kv[1]); err != nil {
			t.Errorf("[%s] %s = %s: %v", section, kv[0], kv[1], err)
		}
	}
	if s != def {
		t.Errorf("the embedded [%s] is %+v, the defaults %+v", section, s, def)
	}
}

// Set sets key to value on a copy of def and checks what holds for any key
// and value: a refused value changes nothing, and an unknown key is
// option.ErrUnknownKey. It returns the settings and Set's error.
func Set[S comparable, P Setter[S]](t testing.TB, def S, key, value string) (S, error) {
	t.Helper()
	s := def
	err := P(&s).Set(key, value)
	if err != nil && s != def {
		t.Errorf("%s = %q refused (%v) but changed the settings: %+v", key, value, err, s)
	}
	if err != nil && err.Error() == option.ErrUnknownKey.Error() && !errors.Is(err, option.ErrUnknownKey) {
		t.Errorf("%s: %v is not ErrUnknownKey", key, err)
	}
	return s, err
}

// Refused checks that Set(key, value) on def fails with exactly the text
// want ("unknown key" for a key that is not the section's), changing nothing.
func Refused[S comparable, P Setter[S]](t testing.TB, def S, key, value, want string) {
	t.Helper()
	if _, err := Set[S, P](t, def, key, value); err == nil || err.Error() != want {
		t.Errorf("%s = %q: error %v, want %q", key, value, err, want)
	}
}
