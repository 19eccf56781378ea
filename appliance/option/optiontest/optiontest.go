// Package optiontest lets the output packages' tests check their
// Options.Set and DefaultOptions against the embedded
// appliance/server.ini.default, which documents every key.
package optiontest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"logpacker/appliance/match"
	"logpacker/appliance/option"
)

// nodeKeys are the keys of an [output.NAME] section that the node handles,
// not Options.Set.
var nodeKeys = append([]string{"type", "batch_size", "flush_interval"}, match.Keys...)

var (
	header  = regexp.MustCompile(`^(; )?\[([^\]]+)\]\s*$`)
	keyLine = regexp.MustCompile(`^([a-z_]+)\s*=\s*(.*?)\s*$`)
)

// Apply calls set with each key of [section] in server.ini.default, in file
// order, except the node's keys (type, batch_size, flush_interval, the
// match keys); it fails t on the first error and when the section has no
// key for set. section may be one of the commented-out examples
// ("; [output.es]" and the "; key = value" lines after it).
func Apply(t testing.TB, section string, set func(key, value string) error) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", "..", "server.ini.default")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in, example, n := false, false, 0
	for i, line := range strings.Split(string(data), "\n") {
		if m := header.FindStringSubmatch(line); m != nil {
			in, example = m[2] == section, m[1] != ""
			continue
		}
		if !in {
			continue
		}
		if example {
			var ok bool
			if line, ok = strings.CutPrefix(line, "; "); !ok {
				in = false // the example ends
				continue
			}
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil || slices.Contains(nodeKeys, m[1]) {
			continue
		}
		if err := set(m[1], m[2]); err != nil {
			t.Fatalf("%s:%d: [%s] %s = %s: %v", path, i+1, section, m[1], m[2], err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("%s: no keys for Set in [%s]", path, section)
	}
}

// UnknownKeys checks that set refuses keys, the node's keys and the empty
// key with option.UnknownKey(outputType).
func UnknownKeys(t testing.TB, outputType string, set func(key, value string) error, keys ...string) {
	t.Helper()
	want := option.UnknownKey(outputType).Error()
	for _, key := range slices.Concat(keys, nodeKeys, []string{""}) {
		if err := set(key, "x"); !errors.Is(err, option.ErrUnknownKey) || err.Error() != want {
			t.Errorf("Set(%q): err = %v, want %q", key, err, want)
		}
	}
}

// CheckSet runs the rows of an Options.Set table test, each on fresh options
// from mk (which must return equal values every time): Set(Key, Value)
// either succeeds and Want holds, or fails with an error containing Err
// (not an unknown-key error) and leaves the options as they were. (The rows
// are an unnamed struct type, so that callers can write them positionally.)
func CheckSet[O any](t *testing.T, mk func() O, set func(o *O, key, value string) error, cases []struct {
	Key, Value string
	Want       func(*O) bool
	Err        string
}) {
	t.Helper()
	for _, tt := range cases {
		o := mk()
		err := set(&o, tt.Key, tt.Value)
		if tt.Err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.Err) || errors.Is(err, option.ErrUnknownKey) {
				t.Errorf("Set(%s, %q): err = %v, want %q", tt.Key, tt.Value, err, tt.Err)
			}
			if !reflect.DeepEqual(o, mk()) {
				t.Errorf("Set(%s, %q) failed but changed the options: %+v", tt.Key, tt.Value, o)
			}
			continue
		}
		if err != nil || !tt.Want(&o) {
			t.Errorf("Set(%s, %q) = %v: %+v", tt.Key, tt.Value, err, o)
		}
	}
}
