package appliance_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/protocol"
)

// metric scrapes /metrics and returns the value of one series (0 if absent).
func metric(t *testing.T, httpAddr net.Addr, series string) float64 {
	t.Helper()
	v, _ := scrapeMetric(httpAddr.String(), series)
	return v
}

// TestBadInputOverTCP sends each kind of bad input on ONE connection,
// followed by a good message: each gets its defined result and counter, and
// the connection survives to deliver the good message after it.
func TestBadInputOverTCP(t *testing.T) {
	n, dir := testNode(t, loopbackListeners+"[syslog]\nmax_message_size = 4k\n")
	out := filepath.Join(dir, "events.jsonl")
	c, err := net.Dial("tcp", n.Addr("syslog_tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	huge := strings.Repeat("A", 1<<20) // a 1 MiB line without structure
	parts := []string{
		"<13>1 2026-11-24T10:00:00Z h app - - - before\n",
		"99999999999999 <13>1 bogus octet count\n", // a count too large to be one: read as a line
		"0 \n",                              // a zero-length octet count: not octet counting, kept raw
		"\n\n",                              // empty frames: skipped, counted
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n", // an HTTP request on the syslog port
		"<13>1 2026-11-24T10:00:00Z h app - - - bad utf8 \xff\xfe\n", // invalid UTF-8: kept, escaped in JSON
		"<13>" + huge + "\n", // 1 MiB: truncated once to 4 KiB, one event
		"20 <13>1 - h app - - - x" + strings.Repeat("y", 30) + "\n", // octet count shorter than the frame
		"<13>1 2026-11-24T10:00:00Z h app - - - after\n",
	}
	for _, p := range parts {
		if _, err := io.WriteString(c, p); err != nil {
			t.Fatalf("connection did not survive: %v", err)
		}
	}
	evs := waitEvents(t, out, 1, 20*time.Second, func(ev protocol.Event) bool { return ev.Message == "after" })
	_ = evs
	all := readEvents(t, out)
	var truncated, utf8Kept, httpLines int
	for _, ev := range all {
		for _, tag := range ev.Tags {
			if tag == "truncated" {
				truncated++
				if len(ev.Message) > 4096 {
					t.Errorf("truncated message is %d bytes, more than max_message_size", len(ev.Message))
				}
			}
		}
		if strings.Contains(ev.Message, "bad utf8") {
			utf8Kept++
		}
		if strings.Contains(ev.Message, "HTTP/1.1") || strings.HasPrefix(ev.Message, "Host:") {
			httpLines++
			if ev.ParseErr == "" {
				t.Errorf("HTTP line %q parsed without error", ev.Message)
			}
		}
	}
	if truncated != 1 {
		t.Errorf("want exactly one truncated event for the 1 MiB line, got %d", truncated)
	}
	if utf8Kept != 1 || httpLines != 2 {
		t.Errorf("utf8 events %d (want 1), http lines %d (want 2)", utf8Kept, httpLines)
	}
	h := n.Addr("http")
	if v := metric(t, h, `logpacker_listener_truncated_total{listener="syslog_tcp"}`); v != 1 {
		t.Errorf("truncated_total = %v, want 1", v)
	}
	if v := metric(t, h, `logpacker_listener_empty_frames_total{listener="syslog_tcp"}`); v < 2 {
		t.Errorf("empty_frames_total = %v, want ≥ 2", v)
	}
	if v := metric(t, h, `logpacker_listener_parse_errors_total{listener="syslog_tcp"}`); v < 2 {
		t.Errorf("parse_errors_total = %v, want ≥ 2", v)
	}
	if rx, pe, ok := metric(t, h, `logpacker_listener_received_total{listener="syslog_tcp"}`),
		metric(t, h, `logpacker_listener_parse_errors_total{listener="syslog_tcp"}`),
		metric(t, h, `logpacker_listener_parsed_total{listener="syslog_tcp"}`); rx != pe+ok || int(rx) != len(all) {
		t.Errorf("received %v != parse errors %v + parsed %v, or != %d events in the file", rx, pe, ok, len(all))
	}
	if v := metric(t, h, `logpacker_listener_bytes_total{listener="syslog_tcp"}`); v < 1<<20 {
		t.Errorf("bytes_total = %v", v)
	}
	raw := string(mustRead(t, out))
	if !strings.Contains(raw, `bad utf8 \ufffd\ufffd`) {
		t.Errorf("invalid UTF-8 not escaped as U+FFFD in the JSON output")
	}
	// Every event is a line of valid JSON (readEvents parsed them strictly).
	t.Logf("%d events; node alive and connection survived", len(all))
}

// TestBadInputOverUDP: an oversized datagram is truncated once and counted,
// garbage is kept raw, an empty datagram is counted, and datagrams the
// kernel drops are counted exactly: a burst sent while the node is stopped
// (SIGSTOP) overflows its small receive buffer, and the kernel drop counter
// equals what was sent minus what was received.
func TestBadInputOverUDP(t *testing.T) {
	udp := freePort(t)
	p := startNodeChild(t, fmt.Sprintf("[listen]\nsyslog_udp = 127.0.0.1:%d\nsyslog_tcp =\n[syslog]\nmax_message_size = 1k\nudp_read_buffer = 64k\nudp_readers = 1\n", udp))
	out := filepath.Join(p.dir, "events.jsonl")
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("<13>Nov 24 10:00:00 host app: " + strings.Repeat("z", 5000)))
	c.Write([]byte{})
	c.Write([]byte("\x00\x01\x02 garbage"))
	c.Write([]byte("<13>Nov 24 10:00:00 host app: last"))
	waitEvents(t, out, 1, 10*time.Second, func(ev protocol.Event) bool { return ev.Message == "last" })
	h := p.http
	m := func(series string) float64 { v, _ := scrapeMetric(h, series); return v }
	if v := m(`logpacker_listener_truncated_total{listener="syslog_udp"}`); v != 1 {
		t.Errorf("truncated_total = %v", v)
	}
	if v := m(`logpacker_listener_empty_frames_total{listener="syslog_udp"}`); v != 1 {
		t.Errorf("empty_frames_total = %v", v)
	}
	var garbage bool
	for _, ev := range readEvents(t, out) {
		if strings.Contains(ev.Message, "garbage") {
			garbage = true
		}
	}
	if !garbage {
		t.Errorf("garbage datagram was dropped instead of kept raw")
	}
	if b := httpGet(t, "http://"+h+"/healthz"); string(b) != "ok\n" {
		t.Errorf("healthz: %q", b)
	}
	if b := httpGet(t, "http://"+h+"/readyz"); string(b) != "ready\n" {
		t.Errorf("readyz: %q", b)
	}

	// Drops: the node is stopped, a burst fills its 128 KiB receive buffer
	// (64k, doubled by the kernel) many times over, the node goes on.
	rx0 := m(`logpacker_listener_received_total{listener="syslog_udp"}`)
	if d := m(`logpacker_listener_kernel_drops_total{listener="syslog_udp"}`); d != 0 {
		t.Fatalf("kernel drops before the burst: %v", d)
	}
	const burst = 5000
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= burst; i++ {
		if _, err := fmt.Fprintf(c, "<13>Nov 24 10:00:00 host burst: b%d %s", i, strings.Repeat("x", 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var rx, drops float64
	deadline := time.Now().Add(30 * time.Second)
	for { // every datagram of the burst is read or counted as dropped
		rx = m(`logpacker_listener_received_total{listener="syslog_udp"}`) - rx0
		drops = m(`logpacker_listener_kernel_drops_total{listener="syslog_udp"}`)
		if rx+drops >= burst || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if drops == 0 || rx+drops != burst {
		t.Fatalf("burst of %d: received %v, kernel drops %v: want drops > 0 and drops == sent - received", burst, rx, drops)
	}
	stored := waitEvents(t, out, int(rx), 20*time.Second, func(ev protocol.Event) bool { return ev.App == "burst" })
	seen := map[string]bool{}
	for _, ev := range stored {
		k := strings.Fields(ev.Message)[0]
		if seen[k] {
			t.Fatalf("%s stored twice", k)
		}
		seen[k] = true
	}
	if len(stored) != int(rx) {
		t.Fatalf("%d burst events stored, %v received", len(stored), rx)
	}
	if v := m(`logpacker_listener_dropped_total{listener="syslog_udp"}`); v != 0 {
		t.Errorf("dropped_total = %v", v)
	}
	t.Logf("burst of %d while stopped: %v received and stored, %v dropped by the kernel (counted)", burst, rx, drops)
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return b
}

var _ = fmt.Sprint
