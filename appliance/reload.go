package appliance

import (
	"cmp"
	"slices"
	"strings"
)

// Reload: what a changed server.ini changes in a running node. The running
// Config and the new one are compared key by key, as read (diffConfig).

// ConfigChange is one key whose value differs between two configurations:
// set in one and not in the other, or set to another value.
type ConfigChange struct{ Section, Key string }

func (c ConfigChange) String() string { return "[" + c.Section + "] " + c.Key }

// diffConfig lists the keys whose values differ between a and b as read
// (the embedded defaults, then the file: a key the file drops goes back to
// its default), sorted by section and key. Values are compared as text,
// trimmed: spacing around "=" and comments are no change.
func diffConfig(a, b *Config) []ConfigChange {
	var out []ConfigChange
	for sec, keys := range a.values {
		for k, v := range keys {
			if w, ok := b.values[sec][k]; !ok || w != v {
				out = append(out, ConfigChange{sec, k})
			}
		}
	}
	for sec, keys := range b.values {
		for k := range keys {
			if _, ok := a.values[sec][k]; !ok {
				out = append(out, ConfigChange{sec, k})
			}
		}
	}
	slices.SortFunc(out, func(x, y ConfigChange) int {
		return cmp.Or(strings.Compare(x.Section, y.Section), strings.Compare(x.Key, y.Key))
	})
	return out
}

// adopt gives c b's value of [section] key (or drops it, as b has none):
// the node now runs with it.
func (c *Config) adopt(b *Config, section, key string) {
	v, ok := b.values[section][key]
	if !ok {
		delete(c.values[section], key)
		return
	}
	if c.values[section] == nil {
		c.values[section] = map[string]string{}
	}
	c.values[section][key] = v
}
