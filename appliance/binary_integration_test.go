package appliance_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/discovery/dnsmasqtest"
	"logpacker/protocol"
)

// buildBinary builds the real logpacker binary once per test process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "logpacker")
	cmd := exec.Command("go", "build", "-o", bin, "logpacker/appliance/cmd/logpacker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// lockDefaultPorts makes the test processes on this machine that use the
// default ports (other checkouts' go test, -count, -p) take turns: two nodes
// started at once do not both bind, and the loser's test would talk to the
// winner (one node gets every test's messages, the others none). An flock on
// a file in the temp directory, released when the test ends or its process
// dies; waiting is bounded.
func lockDefaultPorts(t *testing.T) {
	t.Helper()
	p := filepath.Join(os.TempDir(), "logpacker-default-ports.lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // releases the lock
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Fatalf("lock %s: %v", p, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("another test process has held %s (the default ports) for 10 minutes", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRunWithoutConfigIntegration is `make run` on a fresh machine: the
// binary started with no config file in an empty directory listens on
// 127.0.0.1:5514 (UDP and TCP) and 127.0.0.1:8080, keeps its WAL under
// ./data, writes ./data/events.jsonl and the searchable store
// ./data/store (found through the search API); SIGTERM stops it cleanly; the
// operator tools read what it left.
func TestRunWithoutConfigIntegration(t *testing.T) {
	logger := need(t, "logger")
	lockDefaultPorts(t)
	for _, a := range []string{"127.0.0.1:5514", "127.0.0.1:8080"} {
		if l, err := net.Listen("tcp", a); err != nil {
			t.Fatalf("default port %s is taken on this machine (is a logpacker already running?): %v", a, err)
		} else {
			l.Close()
		}
	}
	bin := buildBinary(t)
	wd := t.TempDir()
	cmd := exec.Command(bin, "run")
	cmd.Dir = wd
	var stderr dnsmasqtest.Log // read while the process writes it
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:8080/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// It is this test's node that answers (one that failed to bind would
	// have let another process's answer).
	var st struct{ Node string }
	if err := json.Unmarshal(httpGet(t, "http://127.0.0.1:8080/api/v1/status"), &st); err != nil {
		t.Fatal(err)
	}
	if id, _ := os.ReadFile(filepath.Join(wd, "data", "node_id")); st.Node == "" || st.Node != strings.TrimSpace(string(id)) {
		t.Fatalf("127.0.0.1:8080 is node %q, not the one started here (%q)\n%s", st.Node, id, stderr.String())
	}
	for _, proto := range []string{"--tcp", "--udp"} {
		if b, err := exec.Command(logger, "--server", "127.0.0.1", "--port", "5514", proto, "-t", "smoke", "default node "+proto).CombinedOutput(); err != nil {
			t.Fatalf("logger: %v %s", err, b)
		}
	}
	out := filepath.Join(wd, "data", "events.jsonl")
	evs := waitEvents(t, out, 2, 15*time.Second, func(ev protocol.Event) bool { return ev.App == "smoke" })
	for _, ev := range evs {
		if !strings.HasPrefix(ev.Message, "default node --") || ev.ID.Node == "" {
			t.Errorf("%s", ev.AppendJSON(nil))
		}
	}
	// the embedded store is on by default: the same events through the search API
	deadline = time.Now().Add(15 * time.Second)
	for {
		var page struct{ Events []protocol.Event }
		if err := json.Unmarshal(httpGet(t, "http://127.0.0.1:8080/api/v1/events?app=smoke&q=default"), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search API: %d of the 2 events\n%s", len(page.Events), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b := httpGet(t, "http://127.0.0.1:8080/metrics"); !bytes.Contains(b, []byte(`logpacker_listener_received_total{listener="syslog_udp"} 1`)) {
		t.Errorf("metrics do not count the UDP message")
	}
	// logrotate-style: move the file away, SIGHUP, and the next event lands in a new file
	if err := os.Rename(out, out+".rotated"); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(10 * time.Second)
	for !fileExists(out) {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reopen %s\n%s", out, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b, err := exec.Command(logger, "--server", "127.0.0.1", "--port", "5514", "--tcp", "-t", "smoke", "after sighup").CombinedOutput(); err != nil {
		t.Fatalf("logger: %v %s", err, b)
	}
	waitEvents(t, out, 1, 15*time.Second, func(ev protocol.Event) bool { return ev.Message == "after sighup" })
	if n := countLines(out + ".rotated"); n != 2 {
		t.Errorf("rotated-away file has %d lines, want the 2 written before SIGHUP", n)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30 s after SIGTERM\n%s", stderr.String())
	}
	if !fileExists(filepath.Join(wd, "data", "node_id")) {
		t.Errorf("node_id not kept in data dir")
	}
	// the operator tools on what it left
	if b, err := exec.Command(bin, "wal", "verify", filepath.Join(wd, "data")).CombinedOutput(); err != nil {
		t.Errorf("wal verify: %v\n%s", err, b)
	}
	b, err := exec.Command(bin, "wal", "dump", filepath.Join(wd, "data")).CombinedOutput()
	if err != nil || bytes.Count(b, []byte("\n")) < 2 || !bytes.Contains(b, []byte(`"app":"smoke"`)) {
		t.Errorf("wal dump: %v\n%s", err, b)
	}
	pc := exec.Command(bin, "parse", "-tz", "UTC", "-now", "2026-01-01T00:00:10Z")
	pc.Stdin = strings.NewReader("<13>Dec 31 23:59:59 host app: year rule\n")
	b, err = pc.CombinedOutput()
	if err != nil || !bytes.Contains(b, []byte(`"time":"2025-12-31T23:59:59.000000000Z"`)) {
		t.Errorf("parse: %v\n%s", err, b)
	}
	if b, err := exec.Command(bin, "check", "-c", "/nonexistent.ini").CombinedOutput(); err == nil || !bytes.Contains(b, []byte("/nonexistent.ini")) {
		t.Errorf("check on a missing file: %v %s", err, b)
	}
}
