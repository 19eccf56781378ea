package appliance_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/appliance/sink/mysql/mariadbtest"
	"logpacker/discovery/cluster"
)

// TestClusterIntegration: three roots in a memberlist cluster and two leaves,
// all real processes on loopback, the roots writing to one real MariaDB
// (keyed on the event ID). The leaves know only the first three roots' relay
// addresses; the roots' WELCOME carries the cluster view, so the leaves
// spread by spare capacity (faked through [cluster] load_file) and re-pick
// their parent every 2 s (max_link_age).
//
//  1. Traffic flows through the three roots.
//  2. A fourth root starts on its own; the test adds its gossip address to
//     root1's [cluster] nodes in the running node's file (no restart, no
//     signal): root1 joins it, every member sees four, and the fourth root
//     receives traffic.
//  3. Balancing: root2 reports itself overloaded; the leaves leave it and
//     the next batch of events goes to the others (counts per root).
//  4. root3 is SIGKILLed: the others see it fail (suspect/dead in
//     /api/v1/cluster), the leaves fail over, traffic continues; root3 is
//     restarted at the end so what it had stored but not yet written to
//     MariaDB gets there.
//
// At the end MariaDB holds every sequence number of both leaves exactly once.
func TestClusterIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes and MariaDB")
	}
	dsn, _, _ := mariadbtest.Start(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	roots := []string{"root1", "root2", "root3", "root4"}
	leaves := []string{"leaf1", "leaf2"}
	bin, dir, ca := relayFixture(t, append(append([]string{}, roots...), leaves...)...)
	tlsKeys := relayKeys(ca)
	relayPort, gossipPort, httpPort := map[string]int{}, map[string]int{}, map[string]int{}
	for _, r := range roots {
		relayPort[r], gossipPort[r], httpPort[r] = freeUDPPort(t), freePort(t), freePort(t)
	}
	loadFile := func(r string) string { return filepath.Join(dir, r+".load.json") }
	setLoad := func(r string, cpuBusy float64) {
		b, _ := json.Marshal(cluster.Load{CPUUser: cpuBusy, CPUs: 2, MemFree: 15 << 30, MemTotal: 16 << 30,
			DiskFree: 90 << 30, DiskTotal: 100 << 30, Load1: 0.1})
		if err := os.WriteFile(loadFile(r)+".tmp", b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(loadFile(r)+".tmp", loadFile(r)); err != nil {
			t.Fatal(err)
		}
	}
	gossip := func(r string) string { return fmt.Sprintf("127.0.0.1:%d", gossipPort[r]) }
	rootCfg := func(r string, nodes []string) string {
		var g []string
		for _, n := range nodes {
			g = append(g, gossip(n))
		}
		return fmt.Sprintf(`[node]
id = %s
data_dir = %s
[listen]
syslog_udp =
syslog_tcp =
http = 127.0.0.1:%d
relay = 127.0.0.1:%d
[relay]
%s[cluster]
bind = %s
nodes = %s
probe_interval = 200ms
load_interval = 200ms
load_file = %s
[output.file]
path =
[output.store]
enabled = false
[output.db]
type = mysql
dsn = %s
table = logs
`, r, filepath.Join(dir, r), httpPort[r], relayPort[r], tlsKeys, gossip(r), strings.Join(g, ", "), loadFile(r), dsn)
	}
	writeFile := func(p, s string) {
		if err := os.WriteFile(p+".tmp", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	procs := map[string]*lpProcess{}
	for i, r := range roots[:3] {
		setLoad(r, 40)
		p := filepath.Join(dir, r+".ini")
		var join []string
		if i > 0 {
			join = []string{"root1"}
		}
		writeFile(p, rootCfg(r, join))
		procs[r] = runBinary(t, bin, p, dir, r)
	}
	syslogPort := map[string]int{}
	var upstream []string
	for _, r := range roots[:3] {
		upstream = append(upstream, fmt.Sprintf("127.0.0.1:%d", relayPort[r]))
	}
	for _, l := range leaves {
		syslogPort[l], httpPort[l] = freePort(t), freePort(t)
		p := filepath.Join(dir, l+".ini")
		writeFile(p, fmt.Sprintf("[node]\nid = %s\ndata_dir = %s\n[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\n[relay]\n%supstream = %s\nmax_link_age = 2s\nbatch_size = 200\n[output.file]\npath =\n",
			l, filepath.Join(dir, l), syslogPort[l], httpPort[l], tlsKeys, strings.Join(upstream, ", ")))
		procs[l] = runBinary(t, bin, p, dir, l)
	}
	logs := func() string {
		var b strings.Builder
		for _, n := range append(append([]string{}, roots...), leaves...) {
			if p := procs[n]; p != nil {
				b.WriteString(p.logs())
			}
		}
		return b.String()
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n%s", what, logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	httpAddr := func(r string) string { return fmt.Sprintf("127.0.0.1:%d", httpPort[r]) }
	members := func(r string) map[string]string {
		var v struct{ Members []cluster.Member }
		if !getJSON(httpAddr(r), "/api/v1/cluster", &v) {
			return nil
		}
		m := map[string]string{}
		for _, x := range v.Members {
			m[x.Node] = string(x.State)
		}
		return m
	}
	relayed := func(r string) int {
		v, _ := scrapeMetric(httpAddr(r), "logpacker_relay_events_total")
		return int(v)
	}
	rows := func() (n, distinct int) {
		db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT message) FROM logs").Scan(&n, &distinct)
		return n, distinct
	}
	next := map[string]int{}
	sent := 0
	send := func(n int) { // n events into each leaf: "<leaf> seq=<i>"
		t.Helper()
		for _, l := range leaves {
			c := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", syslogPort[l]))
			var b strings.Builder
			for range n {
				next[l]++
				fmt.Fprintf(&b, "<134>1 2026-11-24T12:00:00Z web-1 app - - - %s seq=%d\n", l, next[l])
			}
			if _, err := c.Write([]byte(b.String())); err != nil {
				t.Fatal(err)
			}
			c.Close()
			sent += n
		}
	}
	counts := func(rs ...string) map[string]int {
		m := map[string]int{}
		for _, r := range rs {
			m[r] = relayed(r)
		}
		return m
	}

	// 1. three roots, traffic flowing
	waitFor("three alive members at root1", func() bool {
		m := members("root1")
		return m["root1"] == "alive" && m["root2"] == "alive" && m["root3"] == "alive"
	})
	send(2000)
	waitFor("the first events in MariaDB", func() bool { n, _ := rows(); return n >= sent })
	t.Logf("phase 1: per root %v", counts(roots[:3]...))

	// 2. a fourth root, joined by editing root1's running config
	setLoad("root4", 0) // idle: the leaves should like it
	writeFile(filepath.Join(dir, "root4.ini"), rootCfg("root4", nil))
	procs["root4"] = runBinary(t, bin, filepath.Join(dir, "root4.ini"), dir, "root4")
	waitFor("root4 up", func() bool { return members("root4")["root4"] == "alive" })
	if m := members("root1"); m["root4"] != "" {
		t.Fatalf("root4 is a member before the config edit: %v", m)
	}
	writeFile(filepath.Join(dir, "root1.ini"), rootCfg("root1", []string{"root4"}))
	waitFor("every root to see four alive members", func() bool {
		for _, r := range roots {
			m := members(r)
			for _, x := range roots {
				if m[x] != "alive" {
					return false
				}
			}
		}
		return true
	})
	for relayed("root4") == 0 {
		send(200)
		waitFor("the events sent so far in MariaDB", func() bool { n, _ := rows(); return n >= sent })
		if sent > 200_000 {
			t.Fatalf("root4 got no traffic after %d events\n%s", sent, logs())
		}
	}
	t.Logf("phase 2: root4 joined by a config edit and receives traffic; per root %v", counts(roots...))

	// `logpacker status` shows a root's members and a leaf's parent and its cluster.
	status := func(node string) string {
		out, err := runCmd(bin, "status", "-api", "http://"+httpAddr(node))
		if err != nil {
			t.Fatalf("logpacker status of %s: %v\n%s", node, err, out)
		}
		return string(out)
	}
	st := status("root1")
	for _, want := range []string{"node root1", "parents: none (a root)", "cluster members", "root1 (this node)", "root4", "alive", "WAL:", "output.db:"} {
		if !strings.Contains(st, want) {
			t.Fatalf("logpacker status of root1 lacks %q:\n%s", want, st)
		}
	}
	st = status("leaf1")
	for _, want := range []string{"node leaf1", "link up: 127.0.0.1:", "the parent's cluster:", "root4", "output.relay:"} {
		if !strings.Contains(st, want) {
			t.Fatalf("logpacker status of leaf1 lacks %q:\n%s", want, st)
		}
	}
	t.Logf("logpacker status of leaf1:\n%s", st)

	// 3. root2 overloaded: new traffic goes to the others
	setLoad("root2", 99)
	root2Relay := fmt.Sprintf("127.0.0.1:%d", relayPort["root2"])
	// The new load is gossiped, reaches the leaves in a status frame, and a
	// leaf on root2 moves at its next batch: send until both are elsewhere.
	waitFor("both leaves to leave overloaded root2", func() bool {
		send(50)
		for _, l := range leaves {
			var st appliance.Status
			if !getJSON(httpAddr(l), "/api/v1/status", &st) || st.Upstream == nil || st.Upstream.Parent == root2Relay {
				return false
			}
			overloaded := false
			for _, m := range st.Upstream.View {
				overloaded = overloaded || m.Node == "root2" && m.Spare < 0.1
			}
			if !overloaded {
				return false
			}
		}
		return true
	})
	waitFor("those events in MariaDB", func() bool { n, _ := rows(); return n >= sent })
	before := counts(roots...)
	send(5000)
	waitFor("the balancing window in MariaDB", func() bool { n, _ := rows(); return n >= sent })
	after := counts(roots...)
	window := 0
	for _, r := range roots {
		window += after[r] - before[r]
	}
	got2 := after["root2"] - before["root2"]
	t.Logf("phase 3: root2 overloaded; of the next %d events per root: root1 %d, root2 %d, root3 %d, root4 %d", window,
		after["root1"]-before["root1"], got2, after["root3"]-before["root3"], after["root4"]-before["root4"])
	if window < 10000 {
		t.Fatalf("the window counted %d relayed events at the roots, want 10000", window)
	}
	if got2*20 > window {
		t.Fatalf("overloaded root2 still got %d of %d events (want under 5%%)\n%s", got2, window, logs())
	}
	setLoad("root2", 40)

	// 4. root3 SIGKILLed: detected, the leaves fail over
	procs["root3"].kill()
	atKill := map[string]int{}
	for _, l := range leaves {
		atKill[l] = next[l]
	}
	send(2000)
	waitFor("root1 to see root3 fail", func() bool { s := members("root1")["root3"]; return s == "suspect" || s == "dead" })
	waitFor("root3 dead at every live root", func() bool {
		for _, r := range []string{"root1", "root2", "root4"} {
			if members(r)["root3"] != "dead" {
				return false
			}
		}
		return true
	})
	send(2000)
	// Failed over: everything sent since the kill is in MariaDB while root3
	// is still down (what root3 stored before it died waits for its return).
	waitFor("the events sent after the kill in MariaDB, root3 still down", func() bool {
		for _, l := range leaves {
			var c int
			db.QueryRow("SELECT COUNT(*) FROM logs WHERE message LIKE ? AND CAST(SUBSTRING_INDEX(message, '=', -1) AS UNSIGNED) > ?", l+" %", atKill[l]).Scan(&c)
			if c != next[l]-atKill[l] {
				return false
			}
		}
		return true
	})
	t.Logf("phase 4: root3 SIGKILLed, seen dead by the others; the leaves failed over: per root %v", counts("root1", "root2", "root4"))
	procs["root3"].start() // what it stored before the kill goes to MariaDB now
	waitFor("every event in MariaDB", func() bool { n, _ := rows(); return n >= sent })
	time.Sleep(time.Second) // a duplicate would show by now
	n, distinct := rows()
	if n != sent || distinct != sent {
		t.Fatalf("MariaDB holds %d rows, %d distinct, want %d exactly once", n, distinct, sent)
	}
	for _, l := range leaves {
		var c, lo, hi int
		db.QueryRow("SELECT COUNT(*), MIN(CAST(SUBSTRING_INDEX(message, '=', -1) AS UNSIGNED)), MAX(CAST(SUBSTRING_INDEX(message, '=', -1) AS UNSIGNED)) FROM logs WHERE message LIKE ?", l+" %").Scan(&c, &lo, &hi)
		if c != next[l] || lo != 1 || hi != next[l] {
			t.Fatalf("%s: %d rows, seq %d..%d, want %d rows 1..%d", l, c, lo, hi, next[l], next[l])
		}
	}
	t.Logf("all %d events in MariaDB exactly once, across a root added by config edit, an overloaded root and a root SIGKILLed", sent)

	// 5. A root stopped the normal way leaves the cluster: the others see "left".
	procs["root4"].cmd.Process.Signal(syscall.SIGTERM)
	procs["root4"].cmd.Wait()
	waitFor("root4 left at root1", func() bool { return members("root1")["root4"] == "left" })
	if v, _ := scrapeMetric(httpAddr("root1"), `logpacker_cluster_members{state="left"}`); v != 1 {
		t.Fatalf(`root1's logpacker_cluster_members{state="left"} = %v, want 1`, v)
	}
}

// TestClusterReloadOnSIGHUPIntegration: [cluster] nodes re-read on SIGHUP.
// The edit keeps the file's size and modification time, so the file watch
// cannot see it: only the signal makes root A join root B.
func TestClusterReloadOnSIGHUPIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	bin, dir, ca := relayFixture(t, "rootA", "rootB")
	tlsKeys := relayKeys(ca)
	// two gossip ports of the same width: the edit swaps one for the other
	var gossipA, gossipB, absent int
	for gossipA == 0 || len(fmt.Sprint(gossipA, gossipB, absent)) != 3*len(fmt.Sprint(gossipA))+2 {
		gossipA, gossipB, absent = freePort(t), freePort(t), freePort(t)
	}
	httpA := freePort(t)
	cfg := func(name string, gossip, http int, nodes string) string {
		return fmt.Sprintf("[node]\nid = %s\ndata_dir = %s\n[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp = 127.0.0.1:%d\nrelay = 127.0.0.1:%d\n[relay]\n%s[cluster]\nbind = 127.0.0.1:%d\nnodes = %s\nprobe_interval = 200ms\n[output.file]\npath =\n[output.store]\nenabled = false\n",
			name, filepath.Join(dir, name), http, freeUDPPort(t), tlsKeys, gossip, nodes)
	}
	pathA, pathB := filepath.Join(dir, "rootA.ini"), filepath.Join(dir, "rootB.ini")
	before := cfg("rootA", gossipA, httpA, fmt.Sprintf("127.0.0.1:%d", absent))
	if err := os.WriteFile(pathA, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pathB, []byte(cfg("rootB", gossipB, freePort(t), "")), 0o644); err != nil {
		t.Fatal(err)
	}
	a := runBinary(t, bin, pathA, dir, "rootA")
	runBinary(t, bin, pathB, dir, "rootB")
	members := func() map[string]string {
		var v struct{ Members []cluster.Member }
		m := map[string]string{}
		if getJSON(fmt.Sprintf("127.0.0.1:%d", httpA), "/api/v1/cluster", &v) {
			for _, x := range v.Members {
				m[x.Node] = string(x.State)
			}
		}
		return m
	}
	deadline := func() time.Time { return time.Now().Add(30 * time.Second) }
	a.waitFor(deadline(), "rootA up, alone", func() bool { return members()["rootA"] == "alive" })

	fi, err := os.Stat(pathA)
	if err != nil {
		t.Fatal(err)
	}
	after := strings.Replace(before, fmt.Sprintf("nodes = 127.0.0.1:%d", absent), fmt.Sprintf("nodes = 127.0.0.1:%d", gossipB), 1)
	if len(after) != len(before) || after == before {
		t.Fatalf("the edit must keep the size: %d -> %d bytes", len(before), len(after))
	}
	if err := os.WriteFile(pathA, []byte(after), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(pathA, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // a full watch period: the watch must not see the edit
	if m := members(); m["rootB"] != "" {
		t.Fatalf("rootA joined rootB before SIGHUP (the watch saw an edit that kept size and time?): %v", m)
	}
	a.cmd.Process.Signal(syscall.SIGHUP)
	a.waitFor(deadline(), "rootA to join rootB after SIGHUP", func() bool { return members()["rootB"] == "alive" })
	if !strings.Contains(a.logs(), "why=SIGHUP") {
		t.Fatalf("rootA's log does not say the reload came from SIGHUP\n%s", a.logs())
	}
}
