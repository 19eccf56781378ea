package appliance_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/protocol"
)

// The README's file source example and the commented [source.NAME] of
// the embedded defaults (uncommented) are valid configurations.
func TestSourceConfigExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- file-source-example:begin -->\n```ini\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README: file source example not found")
	}
	cfg, err := appliance.ParseConfig("readme.ini", m[1])
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Source("shop")
	if s == nil || s.Type != "file" || s.File.Format != "log4j" || s.File.MultilineStart != `^\d{4}-\d{2}-\d{2}\s` ||
		!slices.Equal(s.File.Tags, []string{"java", "prod"}) || !slices.Equal(s.File.Paths, []string{"/opt/shop/logs/*.log"}) {
		t.Errorf("README example: %+v", s)
	}
	def := string(appliance.DefaultConfig)
	i := strings.Index(def, "; [source.nginx_access]")
	if i < 0 {
		t.Fatal("server.ini.default: no [source.nginx_access] example")
	}
	var b strings.Builder
	for _, l := range strings.Split(def[i:], "\n") {
		l = strings.TrimPrefix(l, "; ")
		if strings.HasPrefix(l, "; ") || strings.HasPrefix(l, ";") {
			continue // a comment of the example
		}
		b.WriteString(l + "\n")
	}
	cfg, err = appliance.ParseConfig("default-example.ini", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if s := cfg.Source("nginx_access"); s == nil || s.File.Format != "access" || s.File.App != "nginx" || len(s.File.Paths) != 2 {
		t.Errorf("default example: %+v", s)
	}
}

func TestSourceConfigErrors(t *testing.T) {
	for _, c := range []struct{ ini, want string }{
		{"[source.a]\npaths = /x\n", "[source.a]: type is required"},
		{"[source.a]\ntype = pipe\npaths = /x\n", `[source.a] type: unknown source type "pipe"`},
		{"[source.a]\ntype = file\n", "[source.a] paths: paths is required"},
		{"[source.a]\ntype = file\npaths = x.log\n", "[source.a] paths: \"x.log\": paths must be absolute"},
		{"[source.a]\ntype = file\npaths = /x\nformat = nope\n", `[source.a] format: unknown format "nope"`},
		{"[source.a]\ntype = file\npaths = /x\nmultiline_start = (\n", "[source.a] multiline_start:"},
		{"[source.a]\ntype = file\npaths = /x\ncolour = red\n", "[source.a] colour: unknown key"},
		{"[source.a]\ntype = file\npaths = /x\nread_from = middle\n", "[source.a] read_from:"},
		{"[source.a]\ntype = file\npaths = /x\ntz = Mars/Olympus\n", "[source.a] tz:"},
		{"[source.a b]\ntype = file\npaths = /x\n", "only letters"},
	} {
		_, err := appliance.ParseConfig("s.ini", []byte(c.ini))
		var ce *appliance.ConfigError
		if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.ini, err, c.want)
		}
	}
}

// A node with a file source: events carry the file fields, the app's
// parse, the tags; a source added by a reload starts, a removed one stops.
func TestFileSourceNode(t *testing.T) {
	logs := t.TempDir()
	a := filepath.Join(logs, "a.log")
	os.WriteFile(a, []byte("2026/12/02 15:52:03 [error] 813#813: boom\n"), 0o644)
	src := func(name, glob string) string {
		return fmt.Sprintf("[source.%s]\ntype = file\npaths = %s\napp = nginx\nformat = nginx_error\ntags = web\ntz = UTC\npoll_interval = 20ms\n", name, glob)
	}
	base := loopbackListeners + "[output.file]\npath = out.jsonl\n"
	n, dir := testNode(t, base+src("a", a))
	out := filepath.Join(dir, "out.jsonl")
	evs := waitEvents(t, out, 1, 30*time.Second, nil)
	ev := evs[0]
	if ev.Transport != "file" || ev.App != "nginx" || ev.Severity != protocol.SevErr || ev.ProcID != "813" ||
		!ev.Time.Equal(time.Date(2026, 12, 2, 15, 52, 3, 0, time.UTC)) || !slices.Equal(ev.Tags, []string{"web", "nginx"}) ||
		ev.Fields["path"] != a || ev.Fields["source"] != "a" || ev.Fields["offset"] != "0" {
		t.Errorf("event: %+v", ev)
	}
	hp := n.Addr("http").String()
	if v, ok := scrapeMetric(hp, `logpacker_file_events_total{source="a"}`); !ok || v != 1 {
		t.Errorf("logpacker_file_events_total{source=\"a\"} = %v, %v; want 1", v, ok)
	}
	if v, ok := scrapeMetric(hp, `logpacker_file_open_files{source="a"}`); !ok || v != 1 {
		t.Errorf("logpacker_file_open_files{source=\"a\"} = %v, %v; want 1", v, ok)
	}
	// a second source, added live
	b := filepath.Join(logs, "b.log")
	os.WriteFile(b, []byte("2026/12/02 15:52:04 [warn] 1#1: b1\n"), 0o644)
	reloadTestNode(t, n, dir, base+src("a", a)+src("b", b))
	waitEvents(t, out, 2, 30*time.Second, nil)
	if st := nodeStatus(t, n); len(st.RestartNeeded)+len(st.ReloadErrors) != 0 {
		t.Fatalf("restart_needed %q, reload_errors %q", st.RestartNeeded, st.ReloadErrors)
	}
	// a removed: its lines written later do not come; b's do
	reloadTestNode(t, n, dir, base+src("b", b))
	f, _ := os.OpenFile(a, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("2026/12/02 15:52:05 [error] 1#1: a2 after removal\n")
	f.Close()
	f, _ = os.OpenFile(b, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("2026/12/02 15:52:06 [error] 1#1: b2\n")
	f.Close()
	evs = waitEvents(t, out, 3, 30*time.Second, nil)
	for _, ev := range evs {
		if strings.Contains(ev.Message, "after removal") {
			t.Errorf("a removed source sent %q", ev.Message)
		}
	}
	if _, ok := scrapeMetric(hp, `logpacker_file_events_total{source="a"}`); ok {
		t.Error("a removed source's metrics are still exported")
	}
	// a added back resumes from its checkpoint: a2 once, a1 not again
	reloadTestNode(t, n, dir, base+src("a", a)+src("b", b))
	evs = waitEvents(t, out, 4, 30*time.Second, nil)
	time.Sleep(200 * time.Millisecond)
	if evs = readEvents(t, out); len(evs) != 4 {
		t.Errorf("%d events, want 4", len(evs))
	}
}
