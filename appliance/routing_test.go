package appliance_test

import (
	"bytes"
	"fmt"
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
		if ev.Severity > protocol.SevWarning || ev.ID.Node != "test" {
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

// TestMySQLOutputNotWiredYet: a type = mysql output parses (its options are
// kept for appliance/sink/mysql) but the node refuses to start it, saying so.
func TestMySQLOutputNotWiredYet(t *testing.T) {
	dir := t.TempDir()
	cfg, err := appliance.ParseConfig("server.ini", []byte(fmt.Sprintf(`[node]
id = test
data_dir = %s
[listen]
syslog_udp =
syslog_tcp =
http =
[output.db]
type = mysql
dsn = logpacker@tcp(127.0.0.1:3306)/logs
`, dir)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := appliance.New(cfg, nil)
	if err == nil {
		n.Shutdown(t.Context())
		t.Fatal("a mysql output started")
	}
	if !strings.Contains(err.Error(), "output.db: type mysql is not built in yet") {
		t.Fatalf("error: %v", err)
	}
}
