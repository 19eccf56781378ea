package appliance_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/protocol"
)

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestLoggerClientsIntegration sends with util-linux logger, the way
// operators test a syslog server, over TCP and UDP, RFC 5424 and RFC 3164,
// newline-framed and octet-counted, and checks every field.
func TestLoggerClientsIntegration(t *testing.T) {
	logger := need(t, "logger")
	n, dir := testNode(t, loopbackListeners)
	out := filepath.Join(dir, "events.jsonl")
	tcp := n.Addr("syslog_tcp").(*net.TCPAddr).Port
	udp := n.Addr("syslog_udp").(*net.UDPAddr).Port
	host := hostname(t)

	type send struct {
		name      string
		args      []string
		transport string
		rfc5424   bool
	}
	sends := []send{
		{"tcp-5424", []string{"--tcp", "--rfc5424", "--port", strconv.Itoa(tcp)}, "tcp", true},
		{"tcp-5424-octet", []string{"--tcp", "--octet-count", "--rfc5424", "--port", strconv.Itoa(tcp)}, "tcp", true},
		{"tcp-3164", []string{"--tcp", "--rfc3164", "--port", strconv.Itoa(tcp)}, "tcp", false},
		{"udp-5424", []string{"--udp", "--rfc5424", "--port", strconv.Itoa(udp)}, "udp", true},
		{"udp-3164", []string{"--udp", "--rfc3164", "--port", strconv.Itoa(udp)}, "udp", false},
	}
	for i, s := range sends {
		args := append([]string{"--server", "127.0.0.1", "-t", "myapp", "-p", "local3.warning"}, s.args...)
		if s.rfc5424 {
			args = append(args, "--msgid", "MID"+strconv.Itoa(i), "--sd-id", "meta@32473", "--sd-param", `case="`+s.name+`"`)
		}
		args = append(args, fmt.Sprintf("hello from %s: quote \" and ] and \\", s.name))
		if b, err := exec.Command(logger, args...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v: %s", args, err, b)
		}
	}
	evs := waitEvents(t, out, len(sends), 15*time.Second, nil)
	byMsg := map[string]protocol.Event{}
	for _, ev := range evs {
		byMsg[ev.Message] = ev
	}
	for i, s := range sends {
		msg := fmt.Sprintf("hello from %s: quote \" and ] and \\", s.name)
		ev, ok := byMsg[msg]
		if !ok {
			t.Errorf("%s: no event with message %q; got %v", s.name, msg, keys(byMsg))
			continue
		}
		if ev.ParseErr != "" {
			t.Errorf("%s: parse error %q", s.name, ev.ParseErr)
		}
		if ev.App != "myapp" || ev.Host != host || ev.Facility != protocol.FacLocal3 || ev.Severity != protocol.SevWarning {
			t.Errorf("%s: app %q host %q (want %q) fac %v sev %v", s.name, ev.App, ev.Host, host, ev.Facility, ev.Severity)
		}
		if ev.Transport != s.transport || !strings.HasPrefix(ev.Peer, "127.0.0.1:") {
			t.Errorf("%s: transport %q peer %q", s.name, ev.Transport, ev.Peer)
		}
		if ev.Time.IsZero() || time.Since(ev.Time).Abs() > time.Hour {
			t.Errorf("%s: time %v not close to now", s.name, ev.Time)
		}
		if ev.ID.Node != n.Origin() || ev.ID.Seq == 0 {
			t.Errorf("%s: id %v", s.name, ev.ID)
		}
		if s.rfc5424 {
			if ev.MsgID != "MID"+strconv.Itoa(i) {
				t.Errorf("%s: msgid %q", s.name, ev.MsgID)
			}
			if v, ok := sdParam(ev, "meta@32473", "case"); !ok || v != s.name {
				t.Errorf("%s: sd %+v", s.name, ev.SD)
			}
		}
	}
}

func keys(m map[string]protocol.Event) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

// rsyslog runs the real rsyslogd in the foreground with its own config.
type rsyslog struct {
	cmd *exec.Cmd
	dir string
}

func startRsyslog(t *testing.T, conf string) *rsyslog {
	t.Helper()
	bin := need(t, "rsyslogd")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "work"), 0o755)
	conf = strings.ReplaceAll(conf, "$T", dir)
	path := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "-N1", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1 rejects the test config: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "-n", "-f", path, "-i", filepath.Join(dir, "pid"))
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &rsyslog{cmd: cmd, dir: dir}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // rsyslogd -n ignores SIGINT outside debug mode
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return r
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func dialRetry(t *testing.T, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRsyslogForwardingIntegration: real rsyslog receives messages on its
// own imtcp input and forwards them to logpacker with omfwd — over TCP
// octet-counted RFC 5424 (the reliable way operators configure it) and over
// UDP RFC 3164 (the legacy way). Every field must arrive intact, and
// 100,000 messages over TCP must all arrive, each exactly once.
func TestRsyslogForwardingIntegration(t *testing.T) {
	n, dir := testNode(t, loopbackListeners)
	out := filepath.Join(dir, "events.jsonl")
	tcp := n.Addr("syslog_tcp").(*net.TCPAddr).Port
	udp := n.Addr("syslog_udp").(*net.UDPAddr).Port
	inTCP, inUDP := freePort(t), freePort(t)
	startRsyslog(t, fmt.Sprintf(`
global(workDirectory="$T/work" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="totcp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="toudp")
ruleset(name="totcp" queue.type="LinkedList" queue.size="200000") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" TCP_Framing="octet-counted"
         Template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList" queue.size="200000"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}
ruleset(name="toudp") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="udp" Template="RSYSLOG_TraditionalForwardFormat")
}
`, inTCP, inUDP, tcp, udp))

	// Field check: one RFC 5424 message with SD and MSGID through the TCP path,
	// one through the UDP/RFC 3164 path.
	c := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", inTCP))
	fmt.Fprintf(c, "<165>1 2026-11-24T10:11:12.345678+01:00 web-1.example.org billing 4242 ORDER [meta@32473 k=\"v \\\" \\] \\\\\" n=\"2\"] order 17 paid\n")
	c.Close()
	c = dialRetry(t, fmt.Sprintf("127.0.0.1:%d", inUDP))
	fmt.Fprintf(c, "<38>1 2026-11-24T10:11:13Z db-2 sshd 777 - - Accepted publickey for root\n")
	c.Close()

	evs := waitEvents(t, out, 2, 20*time.Second, nil)
	var sawTCP, sawUDP bool
	for _, ev := range evs {
		switch ev.App {
		case "billing":
			sawTCP = true
			want := time.Date(2026, 11, 24, 10, 11, 12, 345678000, time.FixedZone("", 3600))
			if ev.Host != "web-1.example.org" || ev.ProcID != "4242" || ev.MsgID != "ORDER" || ev.Message != "order 17 paid" ||
				ev.Facility != protocol.FacLocal4 || ev.Severity != protocol.SevNotice || !ev.Time.Equal(want) || ev.Transport != "tcp" {
				t.Errorf("tcp path: %s", ev.AppendJSON(nil))
			}
			if v, _ := sdParam(ev, "meta@32473", "k"); v != `v " ] \` {
				t.Errorf("tcp path: sd k = %q, want %q; %+v", v, `v " ] \`, ev.SD)
			}
			if v, _ := sdParam(ev, "meta@32473", "n"); v != "2" {
				t.Errorf("tcp path: sd n = %q", v)
			}
			_, _, _ = ev.ParseErr, 0, 0
		case "sshd":
			sawUDP = true
			// RFC 3164 has no year, zone or fractions: rsyslog's traditional format
			// sends "Nov 24 10:11:13"; the receiver's zone applies.
			if ev.Host != "db-2" || ev.Message != "Accepted publickey for root" || ev.Facility != protocol.FacAuth ||
				ev.Severity != protocol.SevInfo || ev.Transport != "udp" || ev.ParseErr != "" || ev.ProcID != "777" {
				t.Errorf("udp path: %s", ev.AppendJSON(nil))
			}
			if ev.Time.Month() != time.November || ev.Time.Day() != 24 || ev.Time.Second() != 13 {
				t.Errorf("udp path: time %v", ev.Time)
			}
		}
		if ev.ParseErr != "" {
			t.Errorf("parse error: %s", ev.AppendJSON(nil))
		}
	}
	if !sawTCP || !sawUDP {
		t.Fatalf("missing events (tcp %v, udp %v): %d events", sawTCP, sawUDP, len(evs))
	}

	// 100,000 messages through rsyslog's TCP forwarding.
	const total = 100000
	c = dialRetry(t, fmt.Sprintf("127.0.0.1:%d", inTCP))
	w := make([]byte, 0, 1<<20)
	for i := 0; i < total; i++ {
		w = fmt.Appendf(w, "<134>1 2026-11-24T11:00:00.000Z loadhost bulk - - - seq=%d padding-to-make-it-realistic-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", i)
		if len(w) > 512<<10 {
			if _, err := c.Write(w); err != nil {
				t.Fatal(err)
			}
			w = w[:0]
		}
	}
	if _, err := c.Write(w); err != nil {
		t.Fatal(err)
	}
	c.Close()
	bulk := waitEvents(t, out, total, 3*time.Minute, func(ev protocol.Event) bool { return ev.App == "bulk" })
	seen := make([]int, total)
	for _, ev := range bulk {
		f := strings.Fields(ev.Message)
		if len(f) == 0 || !strings.HasPrefix(f[0], "seq=") {
			t.Fatalf("unexpected bulk message %q", ev.Message)
		}
		i, err := strconv.Atoi(f[0][4:])
		if err != nil || i < 0 || i >= total {
			t.Fatalf("bad seq in %q", ev.Message)
		}
		seen[i]++
	}
	missing, dup := 0, 0
	for _, c := range seen {
		if c == 0 {
			missing++
		}
		if c > 1 {
			dup++
		}
	}
	if missing != 0 || dup != 0 || len(bulk) != total {
		t.Fatalf("of %d messages: %d missing, %d duplicated, %d events", total, missing, dup, len(bulk))
	}
	t.Logf("all %d messages forwarded by rsyslog arrived exactly once", total)
}
