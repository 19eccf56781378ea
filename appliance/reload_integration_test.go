package appliance_test

import (
	"bufio"
	"fmt"
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

	"logpacker/appliance"
	"logpacker/protocol"
)

// TestReloadIntegration: the real binary re-reads its file (SIGHUP, or the
// file watch) and applies what can change live, one class of change per
// subtest: an output's match keys, outputs added and removed, a listener's
// address, keys that need a restart, and a file that does not load.
func TestReloadIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	bin := buildBinary(t)

	// (a) severity = err added to [output.file]: from the reload on, only
	// err and worse reach the file; what it had before stays.
	t.Run("match", func(t *testing.T) {
		r := startReloadNode(t, bin, "")
		sendTCP(t, r.tcp, sevLines("before", 16)...)
		waitEvents(t, r.file("events.jsonl"), 16, 30*time.Second, appIs("before"))
		r.reload(t, "[output.file]\nseverity = err\n", true)
		sendTCP(t, r.tcp, append(sevLines("after", 16), syslogLine(3, "end", "last"))...)
		waitEvents(t, r.file("events.jsonl"), 1, 30*time.Second, appIs("end"))
		got := map[string][]protocol.Severity{}
		for _, ev := range readEvents(t, r.file("events.jsonl")) {
			got[ev.App] = append(got[ev.App], ev.Severity)
		}
		if len(got["before"]) != 16 {
			t.Errorf("before the reload %d events reached the file, want all 16", len(got["before"]))
		}
		// sevLines: severity i%8 for i = 0…15: emerg, alert, crit and err twice each
		if want := []protocol.Severity{0, 1, 2, 3, 0, 1, 2, 3}; !slices.Equal(got["after"], want) {
			t.Errorf("after severity = err the file got severities %v, want %v", got["after"], want)
		}
		r.wantStatus(t, nil, 0)
	})

	// (b) a new [output.new] (type file) receives new events; the removed
	// [output.old] gets none after the reload, and its WAL cursor is dropped.
	t.Run("outputs", func(t *testing.T) {
		r := startReloadNode(t, bin, "[output.old]\ntype = file\npath = old.jsonl\n")
		sendTCP(t, r.tcp, sevLines("one", 8)...)
		waitEvents(t, r.file("old.jsonl"), 8, 30*time.Second, appIs("one"))
		if !fileExists(r.file("wal", "cursors", "output.old")) {
			t.Fatal("the old output has no cursor file")
		}
		r.reload(t, "[output.new]\ntype = file\npath = new.jsonl\n", true)
		sendTCP(t, r.tcp, append(sevLines("two", 8), syslogLine(6, "end", "last"))...)
		waitEvents(t, r.file("new.jsonl"), 1, 30*time.Second, appIs("end"))
		two := 0 // in WAL order: every one sent before "end" is there
		for _, ev := range readEvents(t, r.file("new.jsonl")) {
			if ev.App == "two" {
				two++
			}
		}
		if two != 8 {
			t.Errorf("the new output got %d of the 8 events sent after the reload", two)
		}
		waitEvents(t, r.file("events.jsonl"), 1, 30*time.Second, appIs("end"))
		for _, ev := range readEvents(t, r.file("old.jsonl")) {
			if ev.App != "one" {
				t.Fatalf("the removed output wrote an event sent after the reload: %+v", ev)
			}
		}
		if fileExists(r.file("wal", "cursors", "output.old")) {
			t.Error("the removed output's WAL cursor is still there")
		}
		if !fileExists(r.file("wal", "cursors", "output.new")) {
			t.Error("the new output has no WAL cursor")
		}
		st := r.wantStatus(t, nil, 0)
		if _, ok := st.WAL.Lag["output.old"]; ok {
			t.Errorf("status still lists the removed output's cursor: %v", st.WAL.Lag)
		}
		if !strings.Contains(r.log(), "dropping its WAL cursor") {
			t.Errorf("the log does not say the cursor was dropped\n%s", r.logs())
		}
	})

	// (c) [listen] syslog_tcp moves: the new port accepts, the old one
	// refuses. The UDP listener, unchanged, keeps its sockets (the same
	// inodes) and receives a sequence sent across the reload without a gap.
	t.Run("listeners", func(t *testing.T) {
		r := startReloadNode(t, bin, "")
		inodes := udpInodes(t, r.udp)
		if len(inodes) == 0 {
			t.Fatalf("no socket bound to udp %s in /proc/net/udp", r.udp)
		}
		sendTCP(t, r.tcp, syslogLine(6, "tcp-old", "x"))
		waitEvents(t, r.file("events.jsonl"), 1, 30*time.Second, appIs("tcp-old"))

		uc, err := net.Dial("udp", r.udp)
		if err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
		stop, sent := make(chan struct{}), make(chan int)
		go func() { // one datagram per millisecond until told to stop
			i := 0
			for {
				select {
				case <-stop:
					sent <- i
					return
				default:
				}
				i++
				fmt.Fprintf(uc, "%s", syslogLine(6, "udp", "seq="+strconv.Itoa(i)))
				time.Sleep(time.Millisecond)
			}
		}()
		waitEvents(t, r.file("events.jsonl"), 20, 30*time.Second, appIs("udp"))
		oldTCP := r.tcp
		r.tcp = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		r.reload(t, "", true)
		sendTCP(t, r.tcp, syslogLine(6, "tcp-new", "y"))
		waitEvents(t, r.file("events.jsonl"), 1, 30*time.Second, appIs("tcp-new"))
		close(stop)
		total := <-sent
		udp := waitEvents(t, r.file("events.jsonl"), total, 30*time.Second, appIs("udp"))
		for i, ev := range udp {
			if ev.Message != "seq="+strconv.Itoa(i+1) {
				t.Fatalf("UDP event %d of %d is %q, want seq=%d: a gap or a repeat across the reload", i+1, total, ev.Message, i+1)
			}
		}
		if got := udpInodes(t, r.udp); !slices.Equal(got, inodes) {
			t.Errorf("the UDP listener's sockets changed across the reload: inodes %v, then %v", inodes, got)
		}
		r.p.waitFor(time.Now().Add(10*time.Second), "the old TCP port to refuse", func() bool {
			c, err := net.Dial("tcp", oldTCP)
			if err == nil {
				c.Close()
			}
			return err != nil
		})
		r.wantStatus(t, nil, 0)
	})

	// (d) keys only a restart applies: logged as "restart needed: …", listed
	// in /api/v1/status and by `logpacker status`; the file watch (no
	// signal) reads the edit. Put back, the list is empty again.
	t.Run("restart", func(t *testing.T) {
		r := startReloadNode(t, bin, "")
		r.reload(t, "[wal]\nfsync = never\n[syslog]\nbatch_size = 64\n", false)
		want := []string{"[syslog] batch_size", "[wal] fsync"}
		r.wantStatus(t, want, 0)
		for _, w := range want {
			if !strings.Contains(r.log(), "restart needed: "+w) {
				t.Errorf("the log does not say restart needed: %s\n%s", w, r.logs())
			}
		}
		out, err := exec.Command(bin, "status", "-api", "http://"+r.http).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "restart needed: the configuration file changed these") ||
			!strings.Contains(string(out), "  [wal] fsync\n") {
			t.Errorf("logpacker status: %v\n%s", err, out)
		}
		sendTCP(t, r.tcp, syslogLine(6, "still", "x")) // running as before
		waitEvents(t, r.file("events.jsonl"), 1, 30*time.Second, appIs("still"))
		r.reload(t, "", true)
		r.wantStatus(t, nil, 0)
	})

	// (e) a file that does not parse: the node says so and keeps running as
	// it was: the severity in the broken file is not applied.
	t.Run("broken", func(t *testing.T) {
		r := startReloadNode(t, bin, "")
		r.reload(t, "[output.file]\nseverity = err\nthis line is not a key\n", true)
		if !strings.Contains(r.log(), "the configuration does not load; keeping the running one") {
			t.Errorf("the log does not say the file did not load\n%s", r.logs())
		}
		st := r.wantStatus(t, nil, 1)
		if !strings.Contains(st.ReloadErrors[0], "does not load") || !strings.Contains(st.ReloadErrors[0], "server.ini:") {
			t.Errorf("reload_errors: %q", st.ReloadErrors)
		}
		sendTCP(t, r.tcp, syslogLine(6, "info", "still selected"))
		waitEvents(t, r.file("events.jsonl"), 1, 30*time.Second, appIs("info"))
	})
}

// reloadNode is the real binary with a config file the test rewrites.
type reloadNode struct {
	p              *lpProcess
	dir, cfg       string
	udp, tcp, http string // listener addresses (the config file's)
	reloads        int    // reloads logged so far
}

// startReloadNode starts bin with syslog over UDP and TCP, HTTP, the file
// output (data/events.jsonl) and the sections in extra.
func startReloadNode(t *testing.T, bin, extra string) *reloadNode {
	t.Helper()
	dir := t.TempDir()
	r := &reloadNode{dir: dir, cfg: filepath.Join(dir, "server.ini"),
		udp: fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t)), tcp: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		http: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	r.write(t, extra)
	r.p = runBinary(t, bin, r.cfg, dir, "node")
	r.p.waitFor(time.Now().Add(30*time.Second), "the node's API", func() bool {
		var st appliance.Status
		return getJSON(r.http, "/api/v1/status", &st)
	})
	return r
}

// write replaces the config file (atomically: the watch never reads half
// of it) with the base sections and extra.
func (r *reloadNode) write(t *testing.T, extra string) {
	t.Helper()
	text := fmt.Sprintf("[node]\nid = r\ndata_dir = %s\n[listen]\nsyslog_udp = %s\nsyslog_tcp = %s\nhttp = %s\n"+
		"[output.store]\nenabled = false\n", filepath.Join(r.dir, "data"), r.udp, r.tcp, r.http) + extra
	if err := os.WriteFile(r.cfg+".tmp", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(r.cfg+".tmp", r.cfg); err != nil {
		t.Fatal(err)
	}
}

// reload writes the file with extra and waits until the node has read it:
// after SIGHUP with signal, else through its file watch.
func (r *reloadNode) reload(t *testing.T, extra string, signal bool) {
	t.Helper()
	r.write(t, extra)
	if signal {
		r.p.cmd.Process.Signal(syscall.SIGHUP)
	}
	done := func() int {
		l := r.log()
		return strings.Count(l, `msg="reload done"`) + strings.Count(l, "the configuration does not load")
	}
	r.p.waitFor(time.Now().Add(30*time.Second), "the reload", func() bool { return done() > r.reloads })
	r.reloads = done()
}

// wantStatus checks /api/v1/status: restart_needed is want, reload_errors
// has errs entries.
func (r *reloadNode) wantStatus(t *testing.T, want []string, errs int) appliance.Status {
	t.Helper()
	var st appliance.Status
	if !getJSON(r.http, "/api/v1/status", &st) {
		t.Fatalf("GET /api/v1/status failed\n%s", r.logs())
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(st.RestartNeeded, want) || len(st.ReloadErrors) != errs {
		t.Fatalf("status: restart_needed %q (want %q), reload_errors %q (want %d)\n%s", st.RestartNeeded, want,
			st.ReloadErrors, errs, r.logs())
	}
	return st
}

func (r *reloadNode) file(parts ...string) string {
	return filepath.Join(append([]string{r.dir, "data"}, parts...)...)
}

// log is the whole output of the node's current run.
func (r *reloadNode) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("node.%d.log", r.p.starts)))
	return string(b)
}

func (r *reloadNode) logs() string { return r.p.logs() }

// syslogLine is an RFC 5424 line from facility local0 with severity sev.
func syslogLine(sev int, app, msg string) string {
	return fmt.Sprintf("<%d>1 2026-11-24T12:00:00Z web-1 %s - - - %s\n", 128+sev, app, msg)
}

// sevLines are n lines from app, the i-th (from 0) of severity i%8.
func sevLines(app string, n int) []string {
	var l []string
	for i := range n {
		l = append(l, syslogLine(i%8, app, "n="+strconv.Itoa(i)))
	}
	return l
}

// sendTCP sends lines, in order, over one TCP connection to addr.
func sendTCP(t *testing.T, addr string, lines ...string) {
	t.Helper()
	c := dialRetry(t, addr)
	defer c.Close()
	w := bufio.NewWriter(c)
	for _, l := range lines {
		w.WriteString(l)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func appIs(app string) func(protocol.Event) bool {
	return func(ev protocol.Event) bool { return ev.App == app }
}

// udpInodes are the inodes of the sockets bound to addr (127.0.0.1:PORT),
// from /proc/net/udp, sorted.
func udpInodes(t *testing.T, addr string) []string {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	local := fmt.Sprintf("0100007F:%04X", p)
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 9 && f[1] == local {
			out = append(out, f[9])
		}
	}
	slices.Sort(out)
	return out
}
