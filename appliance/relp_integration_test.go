package appliance_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/protocol"
)

// readmeOmrelp is README's rsyslog omrelp example (so the README shows what
// the tests run), pointed at port.
func readmeOmrelp(t *testing.T, port int) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- example:omrelp:begin -->\n```\n", "```\n<!-- example:omrelp:end -->"
	i, j := bytes.Index(b, []byte(begin)), bytes.Index(b, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md: the omrelp example (%q … %q) is missing", begin, end)
	}
	ex := string(b[i+len(begin) : j])
	if !strings.Contains(ex, `target="127.0.0.1" port="2514"`) {
		t.Fatalf("README.md: the omrelp example no longer targets 127.0.0.1 port 2514:\n%s", ex)
	}
	return strings.Replace(ex, `port="2514"`, fmt.Sprintf(`port="%d"`, port), 1)
}

// needOmrelp fails the test (skips with -short) when rsyslog cannot load
// omrelp, saying which package provides it.
func needOmrelp(t *testing.T) {
	t.Helper()
	bin := need(t, "rsyslogd")
	conf := filepath.Join(t.TempDir(), "omrelp.conf")
	os.WriteFile(conf, []byte("module(load=\"omrelp\")\naction(type=\"omrelp\" target=\"127.0.0.1\" port=\"2514\")\n"), 0o644)
	if out, err := exec.Command(bin, "-N1", "-f", conf).CombinedOutput(); err != nil {
		if testing.Short() {
			t.Skipf("SKIP (-short): rsyslog cannot load omrelp (package rsyslog-relp; `make deps` installs it): %s", out)
		}
		t.Fatalf("rsyslog cannot load its omrelp module: install the Debian package rsyslog-relp (`make deps` does): %v\n%s", err, out)
	}
}

// rsyslogToRELP is an rsyslog config: imtcp on inPort, everything from it
// through README's omrelp action to logpacker's RELP port. (README's
// module() line goes to the top level, its action into the ruleset, so
// that rsyslog's own messages are not forwarded.)
func rsyslogToRELP(t *testing.T, inPort, relpPort int) string {
	var modules, action strings.Builder
	for _, l := range strings.SplitAfter(readmeOmrelp(t, relpPort), "\n") {
		if strings.HasPrefix(l, "module(") {
			modules.WriteString(l)
		} else {
			action.WriteString(l)
		}
	}
	return fmt.Sprintf(`global(workDirectory="$T/work" maxMessageSize="64k")
module(load="imtcp")
%sinput(type="imtcp" address="127.0.0.1" port="%d" ruleset="torelp")
ruleset(name="torelp") {
%s}
`, modules.String(), inPort, action.String())
}

// stopRsyslogFast stops rsyslog with SIGTERM when the test ends, before
// startRsyslog's cleanup sends SIGINT (which rsyslogd ignores unless it
// runs in debug mode, so that cleanup waits 10 s and kills it).
func stopRsyslogFast(t *testing.T, r *rsyslog) {
	t.Cleanup(func() { r.cmd.Process.Signal(syscall.SIGTERM) })
}

// TestRsyslogRELPIntegration: real rsyslog forwards a few messages with
// omrelp (README's configuration) to an in-process node; every field
// arrives, the transport is relp, and the RELP counters show on /metrics.
func TestRsyslogRELPIntegration(t *testing.T) {
	needOmrelp(t)
	n, dir := testNode(t, loopbackListeners+"relp = 127.0.0.1:0\n")
	relpPort := n.Addr("relp").(*net.TCPAddr).Port
	inPort := freePort(t)
	stopRsyslogFast(t, startRsyslog(t, rsyslogToRELP(t, inPort, relpPort)))

	c := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", inPort))
	fmt.Fprintf(c, "<165>1 2026-11-24T10:11:12.345678+01:00 web-1.example.org billing 4242 ORDER [meta@32473 k=\"v\"] order 17 paid\n")
	fmt.Fprintf(c, "<38>1 2026-11-24T10:11:13Z db-2 sshd 777 - - Accepted publickey for root\n")
	fmt.Fprintf(c, "<13>Nov 24 10:11:14 mail-3 postfix/smtpd[99]: connect from unknown\n")
	c.Close()

	evs := waitEvents(t, filepath.Join(dir, "events.jsonl"), 3, 30*time.Second, nil)
	byApp := map[string]protocol.Event{}
	for _, ev := range evs {
		byApp[ev.App] = ev
		if ev.Transport != "relp" || !strings.HasPrefix(ev.Peer, "127.0.0.1:") || ev.ParseErr != "" || ev.ID.Node != n.Origin() {
			t.Errorf("%s", ev.AppendJSON(nil))
		}
	}
	want := time.Date(2026, 11, 24, 10, 11, 12, 345678000, time.FixedZone("", 3600))
	if ev := byApp["billing"]; ev.Host != "web-1.example.org" || ev.ProcID != "4242" || ev.MsgID != "ORDER" ||
		ev.Message != "order 17 paid" || ev.Facility != protocol.FacLocal4 || ev.Severity != protocol.SevNotice || !ev.Time.Equal(want) {
		t.Errorf("RFC 5424 through omrelp: %s", ev.AppendJSON(nil))
	} else if v, _ := sdParam(ev, "meta@32473", "k"); v != "v" {
		t.Errorf("structured data: %+v", ev.SD)
	}
	if ev := byApp["sshd"]; ev.Host != "db-2" || ev.ProcID != "777" || ev.Message != "Accepted publickey for root" ||
		ev.Facility != protocol.FacAuth || ev.Severity != protocol.SevInfo {
		t.Errorf("sshd: %s", ev.AppendJSON(nil))
	}
	if ev := byApp["postfix"]; ev.Host != "mail-3" || ev.ProcID != "99" || ev.Message != "connect from unknown" ||
		ev.Facility != protocol.FacUser || ev.Severity != protocol.SevNotice || ev.Time.Day() != 24 {
		t.Errorf("RFC 3164 input through omrelp: %s", ev.AppendJSON(nil))
		for _, ev := range evs {
			t.Logf("received: %s", ev.AppendJSON(nil))
		}
	}
	metrics := string(httpGet(t, "http://"+n.Addr("http").String()+"/metrics"))
	for _, m := range []string{`logpacker_listener_received_total{listener="relp"} 3`, "logpacker_relp_acked_total 3",
		"logpacker_relp_bad_frames_total 0", `logpacker_listener_connections{listener="relp"} 1`} {
		if !strings.Contains(metrics, m+"\n") {
			t.Errorf("/metrics lacks %q", m)
		}
	}
}

// TestRsyslogRELPKillIntegration: 200,000 sequence-numbered messages go
// into real rsyslog (imtcp) and on to the real logpacker binary over RELP
// (README's omrelp action: disk-assisted queue, retried forever), with
// [wal] fsync = always and the file output. logpacker is SIGKILLed three
// times at random moments of the stream and restarted on the same port and
// data dir. At the end the output holds every sequence number. RELP allows
// duplicates after a crash (a batch stored but not yet acknowledged is
// resent): they are counted and reported, not a failure.
func TestRsyslogRELPKillIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	needOmrelp(t)
	const total = 200_000
	bin := buildBinary(t)
	dir := t.TempDir()
	relpPort, inPort := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "server.ini")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`[node]
id = relp-sink
data_dir = %s
[listen]
syslog_udp =
syslog_tcp =
http =
relp = 127.0.0.1:%d
[wal]
fsync = always
[output.file]
path = events.jsonl
max_size = 0
[output.store]
enabled = false
`, filepath.Join(dir, "data"), relpPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	lp := runBinary(t, bin, cfg, dir, "logpacker")
	dialRetry(t, fmt.Sprintf("127.0.0.1:%d", relpPort)).Close() // listening
	stopRsyslogFast(t, startRsyslog(t, rsyslogToRELP(t, inPort, relpPort)))

	// Feed rsyslog; it queues what logpacker cannot take yet.
	sent := make(chan error, 1)
	c := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", inPort))
	go func() {
		defer c.Close()
		w := bufio.NewWriterSize(c, 256<<10)
		for i := 1; i <= total; i++ {
			fmt.Fprintf(w, "<134>1 2026-11-24T12:00:00Z web-1 relptest - - - seq=%d\n", i)
		}
		sent <- w.Flush()
	}()

	// Three SIGKILLs when the output has reached random points of the stream
	// (before 85%, so messages still flow after the last restart: librelp
	// notices a dead connection, and resends what it did not get answered,
	// when it next sends).
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	var plan []int
	for i := 0; i < 3; i++ {
		plan = append(plan, total/20+rng.IntN(total*80/100))
	}
	slices.Sort(plan)
	out := filepath.Join(dir, "data", "events.jsonl")
	lines := &lineCounter{path: out}
	deadline := time.Now().Add(3 * time.Minute)
	for k := 0; k < len(plan); {
		if n := lines.count(); n >= plan[k] {
			lp.kill()
			t.Logf("SIGKILL %d with %d lines in the output", k+1, n)
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			lp.start()
			k++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("the output stalled at %d lines before kill %d (at %d)\n%s", lines.count(), k+1, plan[k], lp.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending to rsyslog: %v", err)
	}

	// librelp resends what a dead session left unanswered only when it next
	// sends: if rsyslog had sent the whole stream before the last kill, that
	// window would wait for the next message forever. As on a live system,
	// more messages come: a "tick" (not counted) every second until done.
	deadline = time.Now().Add(2 * time.Minute)
	lastTick := time.Now()
	tick := func() {
		if time.Since(lastTick) < time.Second {
			return
		}
		lastTick = time.Now()
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", inPort)); err == nil {
			fmt.Fprintf(c, "<134>1 2026-11-24T12:00:00Z web-1 relptest - - - tick\n")
			c.Close()
		}
	}
	for {
		tick()
		if lines.count() >= total {
			distinct, n, missing, bad := scanRELPOutput(t, out, total)
			if bad != "" {
				t.Fatal(bad)
			}
			if distinct == total {
				t.Logf("all %d sequence numbers delivered across %d SIGKILLs of logpacker: %d lines in the output, %d duplicates (RELP resends what was stored but not yet acknowledged)",
					total, lp.starts-1, n, n-total)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d sequence numbers in the output (%d lines); missing, first ones: %v\n%s", distinct, total, n, missing, lp.logs())
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("the output has %d lines of %d after 3 minutes\n%s", lines.count(), total, lp.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lineCounter counts the lines of a growing file, reading only what was
// appended since the last call. (After a crash the file output cuts a torn
// last line; the count is then a little high, which is fine for deciding
// when to kill.)
type lineCounter struct {
	path string
	off  int64
	n    int
	buf  []byte
}

func (l *lineCounter) count() int {
	f, err := os.Open(l.path)
	if err != nil {
		return l.n
	}
	defer f.Close()
	if l.buf == nil {
		l.buf = make([]byte, 1<<20)
	}
	for {
		k, err := f.ReadAt(l.buf, l.off)
		l.n += bytes.Count(l.buf[:k], []byte{'\n'})
		l.off += int64(k)
		if err != nil || k == 0 {
			return l.n
		}
	}
}

// scanRELPOutput reads the output: every line must be one of the test's
// messages, received over RELP. It returns the distinct sequence numbers,
// the lines, and up to ten missing numbers.
func scanRELPOutput(t *testing.T, path string, total int) (distinct, lines int, missing []int, bad string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := make([]bool, total+1)
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		l, err := r.ReadSlice('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(l, []byte(`"message":"tick"`)) {
			continue // see TestRsyslogRELPKillIntegration
		}
		lines++
		if !bytes.Contains(l, []byte(`"transport":"relp"`)) || !bytes.Contains(l, []byte(`"app":"relptest"`)) || !bytes.HasPrefix(l, []byte(`{"id":"relp-sink.`)) {
			return 0, 0, nil, fmt.Sprintf("line %d is not a test message received over RELP: %s", lines, l)
		}
		i := bytes.Index(l, []byte(`"message":"seq=`))
		if i < 0 {
			return 0, 0, nil, fmt.Sprintf("line %d: no sequence number: %s", lines, l)
		}
		l = l[i+len(`"message":"seq=`):]
		n, err := strconv.Atoi(string(l[:bytes.IndexByte(l, '"')]))
		if err != nil || n < 1 || n > total {
			return 0, 0, nil, fmt.Sprintf("line %d: bad sequence number: %s", lines, l)
		}
		if !seen[n] {
			seen[n] = true
			distinct++
		}
	}
	for i := 1; i <= total && len(missing) < 10; i++ {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	return distinct, lines, missing, ""
}
