package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"logpacker/appliance/alert/alerttest"
)

// writeConfigs writes dir/server.ini (data under dir) and dir/notify.ini.
func writeConfigs(t *testing.T, notify string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "server.ini")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[node]\nid = n1\ndata_dir = %s\n", filepath.Join(dir, "data"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notify.ini"), []byte(notify), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestCheckNotify: logpacker check validates notify.ini next to
// server.ini, naming file, line and key.
func TestCheckNotify(t *testing.T) {
	cfg := writeConfigs(t, "[webhook]\nurls = http://127.0.0.1:9/x\n[rule.r]\nproviders = webhook\nlevels = loud\n")
	err := cmdCheck([]string{"-c", cfg}, &bytes.Buffer{})
	want := filepath.Join(filepath.Dir(cfg), "notify.ini") + `:5: [rule.r] levels: unknown severity "loud"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	cfg = writeConfigs(t, "[webhook]\nurls = http://127.0.0.1:9/x\n[rule.r]\nproviders = webhook\n")
	var out bytes.Buffer
	if err := cmdCheck([]string{"-c", cfg}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "server.ini: ok\n") || !strings.Contains(out.String(), "notify.ini: ok (1 rules)\n") {
		t.Fatalf("output %q", out.String())
	}
}

// TestNotifyTestCommand: logpacker notify test RULE sends a test
// notification to each recipient of the rule and reports each; a failed
// one fails the command.
func TestNotifyTestCommand(t *testing.T) {
	h := alerttest.NewHTTP(t)
	cfg := writeConfigs(t, fmt.Sprintf("[webhook]\nurls = %[1]s/webhook/a, %[1]s/webhook/b\n[rule.r]\nproviders = webhook\n", h.URL))
	var out bytes.Buffer
	if err := cmdNotify([]string{"test", "-c", cfg, "r"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if n := len(h.Requests("/webhook/")); n != 2 || strings.Count(out.String(), ": ok\n") != 2 {
		t.Fatalf("%d requests; output %q", n, out.String())
	}
	h.Fail(1)
	out.Reset()
	err := cmdNotify([]string{"test", "-c", cfg, "r"}, &out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 sends failed") || !strings.Contains(out.String(), "FAILED: alert/webhook") {
		t.Fatalf("err %v, output %q", err, out.String())
	}
	for _, args := range [][]string{{}, {"send"}, {"test"}, {"test", "-c", cfg, "nope"}} {
		if err := cmdNotify(args, &bytes.Buffer{}); err == nil {
			t.Errorf("notify %v: no error", args)
		}
	}
}
