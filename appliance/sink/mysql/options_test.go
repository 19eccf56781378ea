package mysql

import (
	"strings"
	"testing"

	"logpacker/appliance/option/optiontest"
)

// TestDefaultOptions: the zero Options, and Set takes the keys of the
// [output.db] example in server.ini.default.
func TestDefaultOptions(t *testing.T) {
	if DefaultOptions() != (Options{}) {
		t.Errorf("DefaultOptions() = %+v", DefaultOptions())
	}
	o := DefaultOptions()
	optiontest.Apply(t, "output.db", o.Set)
	if o.DSN != "logpacker:secret@tcp(127.0.0.1:3306)/logs" || o.Table != "logs" || o.Validate() != nil {
		t.Errorf("[output.db] example: %+v, %v", o, o.Validate())
	}
	s, err := newSink(o) // the example is one New takes (newSink does not connect)
	if err != nil {
		t.Fatalf("newSink(example): %v", err)
	}
	s.Close()
}

func TestOptionsSet(t *testing.T) {
	o := DefaultOptions()
	for _, kv := range [][2]string{{"dsn", "u:p@tcp(db:3306)/logs?tls=true"}, {"table", "logs.events"}, {"table", ""}} {
		if err := o.Set(kv[0], kv[1]); err != nil {
			t.Errorf("Set(%s, %q): %v", kv[0], kv[1], err)
		}
	}
	if o.DSN != "u:p@tcp(db:3306)/logs?tls=true" || o.Table != "" {
		t.Errorf("options %+v", o)
	}
	o = DefaultOptions()
	optiontest.UnknownKeys(t, "mysql", o.Set, "path", "urls", "index", "DSN")
	if o != DefaultOptions() {
		t.Errorf("an unknown key changed the options: %+v", o)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o   Options
		err string
	}{
		{Options{DSN: "u@/db"}, ""},
		{Options{DSN: "u@/db", Table: "t"}, ""},
		{Options{}, "dsn is required"},
		{Options{Table: "logs"}, "dsn is required"},
	} {
		err := tt.o.Validate()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.o, err, tt.err)
		}
	}
}
