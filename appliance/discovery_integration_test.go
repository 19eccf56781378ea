package appliance_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/discovery/dnsmasqtest"
)

// getJSON GETs http://hostport+path into v; false on any failure.
func getJSON(hostport, path string, v any) bool {
	resp, err := http.Get("http://" + hostport + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// TestDiscoverySRVIntegration: a leaf finds its parent through a real DNS
// server. dnsmasq serves _logpacker._udp.cluster.test → root1; the leaf
// (upstream = srv:…, resolver = that dnsmasq) delivers there. The test then
// restarts dnsmasq with the record pointing at root2: the leaf notices when
// the answer's TTL (1 s) runs out, leaves root1 once its batches in flight
// are acknowledged, and delivers to root2. Then dnsmasq is stopped: the leaf
// keeps the last answer (logpacker_discovery_stale = 1) and keeps delivering
// to root2. Every sequence number arrives exactly once across both roots.
func TestDiscoverySRVIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes and dnsmasq")
	}
	bin, dir, ca := relayFixture(t, "root1", "root2", "leaf")
	rootPort := map[string]int{"root1": freeUDPPort(t), "root2": freeUDPPort(t)}
	syslogPort, leafHTTP := freePort(t), freePort(t)
	srv := func(root string) []string {
		return []string{fmt.Sprintf("--srv-host=_logpacker._udp.cluster.test,%s.cluster.test,%d,10,50", root, rootPort[root]),
			fmt.Sprintf("--host-record=%s.cluster.test,127.0.0.1", root)}
	}
	dnsd := dnsmasqtest.Start(t, 1, srv("root1")...)

	tlsKeys := relayKeys(ca)
	write := func(name, body string) string { return writeNodeINI(t, dir, name, body) }
	procs := map[string]*lpProcess{}
	for _, r := range []string{"root1", "root2"} {
		cfg := write(r, fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\nrelay = 127.0.0.1:%d\n[relay]\n%s[output.file]\npath = events.jsonl\nmax_size = 0\n[output.store]\nenabled = false\n", rootPort[r], tlsKeys))
		procs[r] = runBinary(t, bin, cfg, dir, r)
	}
	leafCfg := write("leaf", fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\n[relay]\n%supstream = srv:_logpacker._udp.cluster.test\nresolver = %s\nmax_link_age = 0\nbatch_size = 100\n[output.file]\npath =\n",
		syslogPort, leafHTTP, tlsKeys, dnsd.Addr()))
	leaf := runBinary(t, bin, leafCfg, dir, "leaf")
	leafHTTPAddr := fmt.Sprintf("127.0.0.1:%d", leafHTTP)
	out := func(r string) string { return filepath.Join(dir, r, "events.jsonl") }
	total := func() int { return countLines(out("root1")) + countLines(out("root2")) }
	metric := func(series string) float64 { v, _ := scrapeMetric(leafHTTPAddr, series); return v }

	const per = 3000
	sendRange := func(from, n int) {
		c := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", syslogPort))
		defer c.Close()
		var b strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "<134>1 2026-11-24T12:00:00Z web-1 app - - - seq=%d\n", i)
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
	}
	deadline := func() time.Time { return time.Now().Add(60 * time.Second) }

	// 1. DNS says root1.
	sendRange(1, per)
	leaf.waitFor(deadline(), "the first part at root1", func() bool { return countLines(out("root1")) >= per })
	if n := countLines(out("root2")); n != 0 {
		t.Fatalf("root2 got %d events while DNS named only root1", n)
	}

	// 2. The record now names root2: the leaf moves.
	dnsd.Restart(srv("root2")...)
	root2Addr := fmt.Sprintf("127.0.0.1:%d", rootPort["root2"])
	leaf.waitFor(deadline(), "the leaf to see the new answer", func() bool {
		var st appliance.Status
		if !getJSON(leafHTTPAddr, "/api/v1/status", &st) || st.Upstream == nil {
			return false
		}
		return len(st.Upstream.Targets) == 1 && st.Upstream.Targets[0].Addr == root2Addr
	})
	sendRange(per+1, per)
	leaf.waitFor(deadline(), "the second part", func() bool { return total() >= 2*per })
	if metric("logpacker_relay_client_moves_total") < 1 {
		t.Fatalf("the leaf did not move off root1\n%s", leaf.logs())
	}
	atRoot2 := countLines(out("root2"))
	if atRoot2 == 0 {
		t.Fatalf("root2 got nothing after DNS named it\n%s", leaf.logs())
	}

	// 3. DNS is down: the leaf keeps the last answer and keeps delivering.
	dnsd.Stop()
	leaf.waitFor(deadline(), "the leaf to notice DNS is down", func() bool {
		return metric("logpacker_discovery_stale") == 1 && metric("logpacker_discovery_lookup_failures_total") >= 1
	})
	sendRange(2*per+1, per)
	leaf.waitFor(deadline(), "the third part at root2", func() bool { return countLines(out("root2")) >= atRoot2+per })

	// Every sequence number exactly once, across both roots.
	seen := map[string]int{}
	for _, r := range []string{"root1", "root2"} {
		for _, ev := range readEvents(t, out(r)) {
			seen[ev.Message]++
		}
	}
	for i := 1; i <= 3*per; i++ {
		if c := seen[fmt.Sprintf("seq=%d", i)]; c != 1 {
			t.Fatalf("seq=%d stored %d times", i, c)
		}
	}
	if len(seen) != 3*per {
		t.Fatalf("%d distinct messages stored, want %d", len(seen), 3*per)
	}
	t.Logf("root1 %d, root2 %d events; leaf: %v lookups, %v failed, %v moves", countLines(out("root1")), countLines(out("root2")),
		metric("logpacker_discovery_lookups_total"), metric("logpacker_discovery_lookup_failures_total"), metric("logpacker_relay_client_moves_total"))
}

// TestSRVTreeIntegration: a tree of three levels forms from SRV names
// alone. The leaf names _relay._udp.cluster.test, the relay names
// _logpacker._udp.cluster.test; dnsmasq answers both; every event reaches
// the root once, two hops on.
func TestSRVTreeIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes and dnsmasq")
	}
	bin, dir, ca := relayFixture(t, "root", "relay", "leaf")
	rootPort, relayPort, syslogPort := freeUDPPort(t), freeUDPPort(t), freePort(t)
	dnsd := dnsmasqtest.Start(t, 1,
		fmt.Sprintf("--srv-host=_logpacker._udp.cluster.test,root.cluster.test,%d,10,50", rootPort),
		fmt.Sprintf("--srv-host=_relay._udp.cluster.test,relay.cluster.test,%d,10,50", relayPort),
		"--host-record=root.cluster.test,127.0.0.1", "--host-record=relay.cluster.test,127.0.0.1")
	tlsKeys := relayKeys(ca)
	node := func(name, listen, relay string) {
		body := fmt.Sprintf("[listen]\nsyslog_udp =\nhttp =\n%s[relay]\n%s%s[output.store]\nenabled = false\n", listen, tlsKeys, relay)
		runBinary(t, bin, writeNodeINI(t, dir, name, body), dir, name)
	}
	resolver := "resolver = " + dnsd.Addr() + "\n"
	node("root", fmt.Sprintf("syslog_tcp =\nrelay = 127.0.0.1:%d\n", rootPort), "[output.file]\npath = events.jsonl\nmax_size = 0\n")
	node("relay", fmt.Sprintf("syslog_tcp =\nrelay = 127.0.0.1:%d\n", relayPort), "upstream = srv:_logpacker._udp.cluster.test\n"+resolver+"[output.file]\npath =\n")
	node("leaf", fmt.Sprintf("syslog_tcp = 127.0.0.1:%d\n", syslogPort), "upstream = srv:_relay._udp.cluster.test\n"+resolver+"[output.file]\npath =\n")
	const total = 5000
	sendSeq(t, fmt.Sprintf("127.0.0.1:%d", syslogPort), "tree", total)
	out := filepath.Join(dir, "root", "events.jsonl")
	evs := waitEvents(t, out, total, 60*time.Second, nil)
	seen := map[string]bool{}
	for _, ev := range evs {
		if !fromNode(ev.ID, "leaf") || ev.Hops != 2 {
			t.Fatalf("event at the root: origin %q, %d hops; want leaf.EPOCH, 2", ev.ID.Node, ev.Hops)
		}
		if seen[ev.Message] {
			t.Fatalf("%s twice at the root", ev.Message)
		}
		seen[ev.Message] = true
	}
	if len(seen) != total {
		t.Fatalf("%d distinct events at the root, want %d", len(seen), total)
	}
}
