package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeScanExample runs `logpacker scan -root` on the fake root the
// README describes (nginx, Redis, PostgreSQL under /opt; the samples of
// package scan's tests) and compares the output with the README's.
func TestReadmeScanExample(t *testing.T) {
	block := between(t, readme(t), "<!-- scan-example:begin -->", "<!-- scan-example:end -->")
	block = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(block), "```\n"), "\n```")
	cmd, want, _ := strings.Cut(block, "\n")
	if cmd != "$ logpacker scan -root /tmp/scanex" {
		t.Fatalf("README's scan example runs %q", cmd)
	}
	root := t.TempDir()
	for src, dst := range map[string]string{
		"nginx.log":       "var/log/nginx/access.log",
		"nginx_error.log": "var/log/nginx/error.log",
		"redis.log":       "var/log/redis/redis-server.log",
		"postgresql.log":  "opt/shop/logs/db.log",
	} {
		b, err := os.ReadFile(filepath.Join("../../scan/testdata/apps", src))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, dst)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if err := cmdScan([]string{"-root", root}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimRight(out.String(), "\n"); got != want {
		t.Errorf("README's scan output differs:\nREADME:\n%s\ngot:\n%s", want, got)
	}
	if !strings.Contains(errb.String(), "4 logs found") {
		t.Errorf("progress: %q", errb.String())
	}
	// -write: the same text in a file
	w := filepath.Join(t.TempDir(), "sources.ini")
	errb.Reset()
	if err := cmdScan([]string{"-root", root, "-write", w}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(w); strings.TrimRight(string(b), "\n") != want {
		t.Errorf("-write wrote:\n%s", b)
	}
	if err := cmdScan([]string{"-root", "/nonexistent"}, &out, &errb); err == nil {
		t.Error("missing root: no error")
	}
}
