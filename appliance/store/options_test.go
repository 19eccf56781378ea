package store

import (
	"reflect"
	"testing"
	"time"

	"logpacker/appliance/option/optiontest"
)

// TestDefaultOptions: DefaultOptions is the embedded [output.store] but
// for enabled (true, not auto) and dir (none).
func TestDefaultOptions(t *testing.T) {
	var o Options
	optiontest.Apply(t, "output.store", o.Set)
	if o.Enabled != "auto" || o.Dir != "store" {
		t.Errorf("embedded [output.store]: enabled %q, dir %q", o.Enabled, o.Dir)
	}
	o.Enabled, o.Dir = "true", ""
	if !reflect.DeepEqual(o, DefaultOptions()) {
		t.Errorf("embedded [output.store] = %+v, DefaultOptions() = %+v", o, DefaultOptions())
	}
	if d := DefaultOptions(); d.Retention != 14*24*time.Hour || d.Enabled != "true" || d.Validate() == nil {
		t.Errorf("DefaultOptions() = %+v, Validate %v", d, d.Validate())
	}
}

func TestOptionsSet(t *testing.T) {
	optiontest.CheckSet(t, func() Options {
		o := DefaultOptions()
		o.Dir = "before"
		return o
	}, (*Options).Set, []struct {
		Key, Value string
		Want       func(*Options) bool
		Err        string
	}{
		{"enabled", "auto", func(o *Options) bool { return o.Enabled == "auto" }, ""},
		{"enabled", "false", func(o *Options) bool { return o.Enabled == "false" }, ""},
		{"enabled", "true", func(o *Options) bool { return o.Enabled == "true" }, ""},
		{"enabled", "maybe", nil, `"maybe" is not one of auto, true, false`},
		{"enabled", "yes", nil, "is not one of auto, true, false"},
		{"enabled", "", nil, "is not one of"},
		{"dir", "/var/lib/lp", func(o *Options) bool { return o.Dir == "/var/lib/lp" }, ""},
		{"dir", "", nil, "must not be empty"},
		{"retention", "1d12h", func(o *Options) bool { return o.Retention == 36*time.Hour }, ""},
		{"retention", "0", func(o *Options) bool { return o.Retention == 0 }, ""},
		{"retention", "2w", nil, `"2w" is not a retention (e.g. 14d, 36h, 1d12h; 0 keeps everything)`},
		{"retention", "10m", nil, "10m0s is below the minimum 1h"},
		{"retention", "", nil, "is not a retention"},
		{"max_disk", "20g", func(o *Options) bool { return o.MaxDisk == 20<<30 }, ""},
		{"max_disk", "0", func(o *Options) bool { return o.MaxDisk == 0 }, ""},
		{"max_disk", "lots", nil, "is not a size"},
		{"min_free", "auto", func(o *Options) bool { return o.MinFree == 0 }, ""},
		{"min_free", "256m", func(o *Options) bool { return o.MinFree == 256<<20 }, ""},
		{"min_free", "10k", nil, "out of range"},
		{"min_free", "", nil, "is not a size"},
	})
	o := DefaultOptions()
	optiontest.UnknownKeys(t, "store", o.Set, "path", "dsn", "Dir")
}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o   Options
		err string
	}{
		{Options{Dir: "s"}, ""},
		{Options{Dir: "s", Enabled: "false"}, ""},
		{Options{}, "dir is required"},
		{DefaultOptions(), "dir is required"},
	} {
		err := tt.o.Validate()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || err.Error() != tt.err) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.o, err, tt.err)
		}
	}
}

// TestOpenIgnoresEnabled: Enabled is the node's business.
func TestOpenIgnoresEnabled(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), Enabled: "false"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
