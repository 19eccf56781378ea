// Package optiontest lets the output packages' tests check their
// Options.Set and DefaultOptions against the embedded
// appliance/server.ini.default, which documents every key.
package optiontest

import (
	"errors"
	"os"
	"path/filepath"
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
