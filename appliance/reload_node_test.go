package appliance_test

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
)

// reloadTestNode gives n (a testNode started with ini in dir) the
// configuration ini2, written as testNode writes its own.
func reloadTestNode(t *testing.T, n *appliance.Node, dir, ini2 string) {
	t.Helper()
	if !strings.Contains(ini2, "[output.store]") {
		ini2 += "\n[output.store]\nenabled = false\n"
	}
	cfg, err := appliance.ParseConfig(filepath.Join(dir, "server.ini"), []byte(fmt.Sprintf("[node]\nid = test\ndata_dir = %s\n", dir)+ini2))
	if err != nil {
		t.Fatal(err)
	}
	n.Reload(cfg)
}

// nodeStatus is n's GET /api/v1/status.
func nodeStatus(t *testing.T, n *appliance.Node) appliance.Status {
	t.Helper()
	var st appliance.Status
	if !getJSON(n.Addr("http").String(), "/api/v1/status", &st) {
		t.Fatal("GET /api/v1/status failed")
	}
	return st
}

// TestReloadReopensOutput: a changed output key other than the match keys
// (path, batch_size) reopens the output on its cursor: the new file gets
// what comes after the reload and nothing the old one had. A new path that
// does not open is reported, and the output goes on with its old settings.
func TestReloadReopensOutput(t *testing.T) {
	base := loopbackListeners + "[output.file]\npath = a.jsonl\n"
	n, dir := testNode(t, base)
	tcp := n.Addr("syslog_tcp").String()
	sendTCP(t, tcp, sevLines("a", 10)...)
	waitEvents(t, filepath.Join(dir, "a.jsonl"), 10, 30*time.Second, appIs("a"))

	reloadTestNode(t, n, dir, loopbackListeners+"[output.file]\npath = b.jsonl\nbatch_size = 100\n")
	if st := nodeStatus(t, n); len(st.RestartNeeded)+len(st.ReloadErrors) != 0 {
		t.Fatalf("restart_needed %q, reload_errors %q", st.RestartNeeded, st.ReloadErrors)
	}
	sendTCP(t, tcp, sevLines("b", 10)...)
	waitEvents(t, filepath.Join(dir, "b.jsonl"), 10, 30*time.Second, appIs("b"))
	if evs := readEvents(t, filepath.Join(dir, "b.jsonl")); len(evs) != 10 {
		t.Errorf("the reopened output wrote %d events, want the 10 after the reload (its cursor went on)", len(evs))
	}
	if evs := readEvents(t, filepath.Join(dir, "a.jsonl")); len(evs) != 10 {
		t.Errorf("the old file has %d events, want the 10 before the reload", len(evs))
	}

	reloadTestNode(t, n, dir, loopbackListeners+"[output.file]\npath = /dev/null/c.jsonl\n")
	st := nodeStatus(t, n)
	if len(st.RestartNeeded) != 0 || len(st.ReloadErrors) != 1 || !strings.HasPrefix(st.ReloadErrors[0], "[output.file] batch_size, path: ") {
		t.Fatalf("restart_needed %q, reload_errors %q", st.RestartNeeded, st.ReloadErrors)
	}
	sendTCP(t, tcp, sevLines("c", 5)...)
	waitEvents(t, filepath.Join(dir, "b.jsonl"), 5, 30*time.Second, appIs("c"))
}

// TestReloadListeners: a [listen] address that does not bind is reported
// (reload_errors), not listed as needing a restart, and the old listener
// goes on. A store output, which the search API holds, is not opened by a
// reload: restart needed. [listen] http moves: the API answers at the new
// address and no longer at the old.
func TestReloadListeners(t *testing.T) {
	n, dir := testNode(t, loopbackListeners)
	tcp := n.Addr("syslog_tcp").String()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	moved := strings.Replace(loopbackListeners, "syslog_tcp = 127.0.0.1:0", "syslog_tcp = "+taken.Addr().String(), 1)
	reloadTestNode(t, n, dir, moved+"[output.store]\nenabled = true\n")
	st := nodeStatus(t, n)
	if !slices.Equal(st.RestartNeeded, []string{"[output.store] enabled"}) || len(st.ReloadErrors) != 1 ||
		!strings.HasPrefix(st.ReloadErrors[0], "[listen] syslog_tcp: ") {
		t.Fatalf("restart_needed %q, reload_errors %q", st.RestartNeeded, st.ReloadErrors)
	}
	if got := n.Addr("syslog_tcp").String(); got != tcp {
		t.Fatalf("syslog_tcp is at %s, want still %s", got, tcp)
	}
	sendTCP(t, tcp, syslogLine(6, "kept", "x"))
	waitEvents(t, filepath.Join(dir, "events.jsonl"), 1, 30*time.Second, appIs("kept"))

	oldHTTP, newHTTP := n.Addr("http").String(), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	reloadTestNode(t, n, dir, strings.Replace(loopbackListeners, "http = 127.0.0.1:0", "http = "+newHTTP, 1))
	if got := n.Addr("http").String(); got != newHTTP {
		t.Fatalf("http is at %s, want %s", got, newHTTP)
	}
	if st := nodeStatus(t, n); len(st.RestartNeeded)+len(st.ReloadErrors) != 0 {
		t.Fatalf("restart_needed %q, reload_errors %q", st.RestartNeeded, st.ReloadErrors)
	}
	if c, err := net.Dial("tcp", oldHTTP); err == nil {
		c.Close()
		t.Fatalf("the old http address %s still accepts", oldHTTP)
	}
}
