package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/discovery/cluster"
)

// TestStatusCommand: `logpacker status` reads the node's GET /api/v1/status
// (the cluster members with their snake_case keys) and prints every member
// with its load, and the keys waiting for a restart; -json passes the
// answer through.
func TestStatusCommand(t *testing.T) {
	st := appliance.Status{Node: "root-1", Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		Cluster: []cluster.Member{
			{Node: "root-1", Gossip: "10.0.0.1:7946", RelayAddr: "10.0.0.1:5515", State: cluster.StateAlive, Local: true,
				Load: cluster.Load{CPUUser: 12.5, CPUSystem: 3.5, MemFree: 3 << 30, MemTotal: 4 << 30,
					DiskFree: 50 << 30, DiskTotal: 100 << 30, Load1: 0.75, CPUs: 2},
				Updated: time.Date(2026, 11, 24, 9, 59, 58, 0, time.UTC)},
			{Node: "root-2", Gossip: "10.0.0.2:7946", RelayAddr: "10.0.0.2:5515", State: cluster.StateSuspect},
		},
		WAL:           appliance.WALStatus{Bytes: 8 << 20, Segments: 2, Last: 4711, Lag: map[string]uint64{"output.file": 11}},
		RestartNeeded: []string{"[node] data_dir", "[wal] fsync"},
		ReloadErrors:  []string{"[listen] syslog_tcp: listen 127.0.0.1:1: permission denied"}}
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"relay_addr":"10.0.0.1:5515"`, `"cpu_user":12.5`, `"mem_free":3221225472`, `"load1":0.75`,
		`"restart_needed":["[node] data_dir","[wal] fsync"]`} {
		if !bytes.Contains(body, []byte(k)) {
			t.Fatalf("status JSON lacks %s: %s", k, body)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/status" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()

	var out bytes.Buffer
	if err := cmdStatus([]string{"-api", srv.URL, "-token", "tok"}, &out); err != nil {
		t.Fatal(err)
	}
	var lines []string // each line's words, single-spaced: the table's padding does not matter
	for _, l := range strings.Split(out.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"node root-1 at 2026-11-24T10:00:00Z",
		"parents: none (a root)",
		// spare 0.50: the disk is half full
		"root-1 (this node) 10.0.0.1:7946 10.0.0.1:5515 alive 0.50 12.5 3.5 3072.0 MiB 51200.0 MiB 0.75 09:59:58",
		"root-2 10.0.0.2:7946 10.0.0.2:5515 suspect 0.50 0.0 0.0 0.0 MiB 0.0 MiB 0.00",
		"WAL: 8.0 MiB in 2 segments, last index 4711",
		"output.file: 11 records behind",
		"restart needed: the configuration file changed these, a restart applies them\n[node] data_dir\n[wal] fsync",
		"the last reload could not apply (the running settings stayed):\n[listen] syslog_tcp: listen 127.0.0.1:1: permission denied",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
	var none bytes.Buffer
	printStatus(&none, &appliance.Status{Node: "n"})
	if s := none.String(); !strings.Contains(s, "restart needed: no") || strings.Contains(s, "last reload") {
		t.Errorf("nothing waits for a restart, yet:\n%s", s)
	}

	out.Reset()
	if err := cmdStatus([]string{"-api", srv.URL, "-token", "tok", "-json"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(body) {
		t.Errorf("-json: got %s, want the node's answer %s", out.String(), body)
	}
	if err := cmdStatus([]string{"-api", srv.URL, "-token", "wrong"}, &out); err == nil {
		t.Error("a refused request: no error")
	}
}
