package file

import (
	"errors"
	"strings"
	"testing"

	"logpacker/appliance/option"
	"logpacker/appliance/option/optiontest"
)

// TestDefaultOptions: DefaultOptions is the embedded [output.file] but for
// its path, and Set takes every key the defaults and examples document.
func TestDefaultOptions(t *testing.T) {
	var o Options
	optiontest.Apply(t, "output.file", o.Set)
	if o.Path != "events.jsonl" {
		t.Errorf("embedded path %q", o.Path)
	}
	o.Path = ""
	if o != DefaultOptions() {
		t.Errorf("embedded [output.file] = %+v, DefaultOptions() = %+v", o, DefaultOptions())
	}
	if err := o.Validate(); err == nil {
		t.Error("DefaultOptions validates without a path")
	}
	o = DefaultOptions()
	optiontest.Apply(t, "output.alerts", o.Set)
	if o.Path != "alerts.jsonl" || o.Validate() != nil {
		t.Errorf("[output.alerts] example: %+v, %v", o, o.Validate())
	}
}

func TestOptionsSet(t *testing.T) {
	for _, tt := range []struct {
		key, value string
		want       func(*Options) bool
		err        string // substring; "" for none
	}{
		{"path", "/var/log/lp.jsonl", func(o *Options) bool { return o.Path == "/var/log/lp.jsonl" }, ""},
		{"path", "", func(o *Options) bool { return o.Path == "" }, ""},
		{"max_size", "1g", func(o *Options) bool { return o.MaxSize == 1<<30 }, ""},
		{"max_size", "0", func(o *Options) bool { return o.MaxSize == 0 }, ""},
		{"max_size", "2000t", nil, "2000t is out of range [0, 1125899906842624] bytes"},
		{"max_size", "lots", nil, `"lots" is not a size`},
		{"max_size", "-1", nil, "is not a size"},
		{"max_files", "0", func(o *Options) bool { return o.MaxFiles == 0 }, ""},
		{"max_files", "10000", func(o *Options) bool { return o.MaxFiles == 10000 }, ""},
		{"max_files", "10001", nil, "10001 is out of range [0, 10000]"},
		{"max_files", "five", nil, `"five" is not an integer`},
		{"page_cache", "keep", func(o *Options) bool { return o.KeepCache }, ""},
		{"page_cache", "drop", func(o *Options) bool { return !o.KeepCache }, ""},
		{"page_cache", "Keep", nil, `"Keep" is not one of drop, keep`},
		{"page_cache", "", nil, "is not one of drop, keep"},
	} {
		o := DefaultOptions()
		o.KeepCache = tt.key == "page_cache" && tt.value == "drop" // Set must clear it
		err := o.Set(tt.key, tt.value)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || errors.Is(err, option.ErrUnknownKey) {
				t.Errorf("Set(%s, %q): err = %v, want %q", tt.key, tt.value, err, tt.err)
			}
			continue
		}
		if err != nil || !tt.want(&o) {
			t.Errorf("Set(%s, %q) = %v: %+v", tt.key, tt.value, err, o)
		}
	}
	o := DefaultOptions()
	optiontest.UnknownKeys(t, "file", o.Set, "dsn", "table", "rotate", "Path")
	if o != DefaultOptions() {
		t.Errorf("an unknown key changed the options: %+v", o)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o   Options
		err string
	}{
		{Options{Path: "a.jsonl"}, ""},
		{Options{Path: "a.jsonl", MaxSize: 1, MaxFiles: 0}, ""},
		{Options{}, "path is required (to turn this output off, remove or comment out the section)"},
		{Options{MaxSize: 1 << 20, MaxFiles: 3}, "path is required"},
	} {
		err := tt.o.Validate()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.o, err, tt.err)
		}
	}
}
