package appliance_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/protocol"
)

// TestRoutingEndToEnd: syslog messages of every severity over TCP into an
// in-process node with two file outputs: [output.file] (events.jsonl, no
// match keys) gets every event, [output.alerts] (severity = warning) only
// warning and worse, in the order sent; both cursors reach the end of the
// WAL, and the events alerts passed over are counted.
func TestRoutingEndToEnd(t *testing.T) {
	n, dir := testNode(t, loopbackListeners+`
[output.alerts]
type = file
path = alerts.jsonl
severity = warning
`)
	conn, err := net.Dial("tcp", n.Addr("syslog_tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 25
	var sent, alerts []string
	for i := range rounds * 8 {
		sev := protocol.Severity(i % 8)
		msg := fmt.Sprintf("msg-%03d-%s", i, sev)
		fmt.Fprintf(conn, "<%d>1 2024-05-01T10:00:00Z web-1 routing - - - %s\n", protocol.Priority(protocol.FacLocal0, sev), msg)
		sent = append(sent, msg)
		if sev <= protocol.SevWarning {
			alerts = append(alerts, msg)
		}
	}
	conn.Close()

	all := waitEvents(t, filepath.Join(dir, "events.jsonl"), len(sent), 15*time.Second, nil)
	got := waitEvents(t, filepath.Join(dir, "alerts.jsonl"), len(alerts), 15*time.Second, nil)
	// everything ingested is in the WAL now; wait for the alerts cursor to pass the rest
	last := n.WAL().Stats().LastIndex
	deadline := time.Now().Add(15 * time.Second)
	for n.WAL().Stats().Cursors["output.alerts"] < last && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := n.WAL().Stats(); s.Cursors["output.alerts"] != s.LastIndex || s.Cursors["output.file"] != s.LastIndex {
		t.Fatalf("cursors %v, last index %d: the outputs did not reach the end", s.Cursors, s.LastIndex)
	}
	msgs := func(evs []protocol.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Message)
		}
		return out
	}
	if g := msgs(all); strings.Join(g, " ") != strings.Join(sent, " ") {
		t.Fatalf("events.jsonl: %d events, want all %d in order", len(g), len(sent))
	}
	if g := msgs(got); strings.Join(g, " ") != strings.Join(alerts, " ") {
		t.Fatalf("alerts.jsonl: %v\nwant %v", g, alerts)
	}
	for _, ev := range got {
		if ev.Severity > protocol.SevWarning || ev.ID.Node != n.Origin() {
			t.Errorf("alerts.jsonl holds %s", ev.AppendJSON(nil))
		}
	}
	metrics := httpGet(t, "http://"+n.Addr("http").String()+"/metrics")
	for _, want := range []string{
		fmt.Sprintf(`logpacker_output_filtered_total{output="alerts"} %d`, len(sent)-len(alerts)),
		fmt.Sprintf(`logpacker_output_delivered_total{output="alerts"} %d`, len(alerts)),
		`logpacker_output_filtered_total{output="file"} 0`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestRelaySelectsIntegration: a leaf whose [relay] has severity = warning
// sends only warning and worse to its parent (the relay output's record path
// with a matcher: records decoded to match, forwarded as they are), while its
// own [output.file] keeps everything; the leaf's relay cursor still reaches
// the end. Both nodes run in process; `logpacker cert` (the real binary)
// makes their certificates.
func TestRelaySelectsIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with a real process (logpacker cert)")
	}
	_, dir, ca := relayFixture(t, "root", "leaf")
	certs := relayKeys(ca)
	start := func(name, ini string) *appliance.Node {
		cfg, err := appliance.ParseConfig(name+".ini", []byte(fmt.Sprintf("[node]\nid = %s\ndata_dir = %s\n", name, filepath.Join(dir, name))+ini+"\n[output.store]\nenabled = false\n"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := appliance.New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
		if err != nil {
			t.Fatal(err)
		}
		n.Start()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			n.Shutdown(ctx)
		})
		return n
	}
	root := start("root", "[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\nrelay = 127.0.0.1:0\n[relay]\n"+certs)
	leaf := start("leaf", "[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:0\nhttp =\n[relay]\n"+certs+
		"upstream = "+root.Addr("relay").String()+"\nbatch_size = 16\nseverity = warning\n")

	conn, err := net.Dial("tcp", leaf.Addr("syslog_tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	var sent, up []string
	for i := range 400 {
		sev := protocol.Severity(i % 8)
		if i >= 100 && i < 200 {
			sev = protocol.SevDebug // whole batches with nothing to send
		}
		msg := fmt.Sprintf("msg-%03d-%s", i, sev)
		fmt.Fprintf(conn, "<%d>1 2024-05-01T10:00:00Z web-1 routing - - - %s\n", protocol.Priority(protocol.FacDaemon, sev), msg)
		sent = append(sent, msg)
		if sev <= protocol.SevWarning {
			up = append(up, msg)
		}
	}
	conn.Close()
	all := waitEvents(t, filepath.Join(dir, "leaf", "events.jsonl"), len(sent), 20*time.Second, nil)
	got := waitEvents(t, filepath.Join(dir, "root", "events.jsonl"), len(up), 20*time.Second, nil)
	last := leaf.WAL().Stats().LastIndex
	deadline := time.Now().Add(20 * time.Second)
	for leaf.WAL().Stats().Cursors["output.relay"] < last && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := leaf.WAL().Stats().Cursors["output.relay"]; c != last {
		t.Fatalf("leaf relay cursor at %d, want %d", c, last)
	}
	var gotMsgs []string
	for _, ev := range got {
		gotMsgs = append(gotMsgs, ev.Message)
		if ev.ID.Node != leaf.Origin() || ev.Hops != 1 || ev.Severity > protocol.SevWarning {
			t.Errorf("root got %s", ev.AppendJSON(nil))
		}
	}
	if strings.Join(gotMsgs, " ") != strings.Join(up, " ") || len(all) != len(sent) {
		t.Fatalf("root got %d events (want %d, in order), leaf kept %d (want %d)", len(got), len(up), len(all), len(sent))
	}
}
