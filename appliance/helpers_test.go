package appliance_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/protocol"
	"syscall"
)

// need finds a program the test uses for real. Missing programs fail the
// test (make test installs them); with -short the test is skipped, saying why.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	if testing.Short() {
		t.Skipf("SKIP (-short): %s is not installed; `make deps` installs it", name)
	}
	t.Fatalf("%s is not installed: run `make deps` (make test does this)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// testNode starts an in-process node on loopback with port-0 listeners.
// extra is appended to a base server.ini (later sections override nothing:
// pass only sections not in the base, or set base keys via vars). The
// embedded store output is off unless ini has an [output.store] section
// (SQLite under -race is slow, and only the tests of searching need it).
func testNode(t *testing.T, ini string) (*appliance.Node, string) {
	t.Helper()
	dir := t.TempDir()
	return testNodeIn(t, dir, ini), dir
}

// testNodeIn is testNode with data_dir = dir, made beforehand.
func testNodeIn(t *testing.T, dir, ini string) *appliance.Node {
	t.Helper()
	if !strings.Contains(ini, "[output.store]") {
		ini += "\n[output.store]\nenabled = false\n"
	}
	cfgText := fmt.Sprintf("[node]\nid = test\ndata_dir = %s\n", dir) + ini
	cfg, err := appliance.ParseConfig(filepath.Join(dir, "server.ini"), []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, err := appliance.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	n.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

const loopbackListeners = `[listen]
syslog_udp = 127.0.0.1:0
syslog_tcp = 127.0.0.1:0
http = 127.0.0.1:0
`

// readEvents parses a JSON-lines output file strictly (unknown keys fail).
func readEvents(t *testing.T, path string) []protocol.Event {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []protocol.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var ev protocol.Event
		if err := ev.UnmarshalJSON(sc.Bytes()); err != nil {
			t.Fatalf("%s: line %d: %v: %s", path, len(evs)+1, err, sc.Bytes())
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

// waitEvents polls path until match accepts at least n events, or fails after timeout.
func waitEvents(t *testing.T, path string, n int, timeout time.Duration, match func(protocol.Event) bool) []protocol.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got []protocol.Event
	for {
		got = got[:0]
		for _, ev := range readEvents(t, path) {
			if match == nil || match(ev) {
				got = append(got, ev)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d expected events after %s", path, len(got), n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

func sdParam(ev protocol.Event, id, name string) (string, bool) {
	for _, el := range ev.SD {
		if el.ID == id {
			for _, p := range el.Params {
				if p.Name == name {
					return p.Value, true
				}
			}
		}
	}
	return "", false
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runCmd(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

// lpProcess is the real binary running one config, killed and restarted at
// will; run N writes its output to dir/<name>.N.log.
type lpProcess struct {
	t                   *testing.T
	bin, cfg, dir, name string
	cmd                 *exec.Cmd
	starts              int
}

// runBinary starts bin with cfg; the test's cleanup kills it.
func runBinary(t *testing.T, bin, cfg, dir, name string) *lpProcess {
	t.Helper()
	p := &lpProcess{t: t, bin: bin, cfg: cfg, dir: dir, name: name}
	t.Cleanup(func() {
		if p.cmd != nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	p.start()
	return p
}

func (p *lpProcess) start() {
	p.t.Helper()
	p.starts++
	cmd := exec.Command(p.bin, "run", "-c", p.cfg)
	logf, err := os.Create(filepath.Join(p.dir, fmt.Sprintf("%s.%d.log", p.name, p.starts)))
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
}

// kill SIGKILLs the process and waits for it.
func (p *lpProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// waitFor polls ok every 5 ms until it holds; after deadline it fails the
// test, saying what it waited for, with the tail of every run's output.
func (p *lpProcess) waitFor(deadline time.Time, what string, ok func() bool) {
	p.t.Helper()
	for !ok() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s\n%s", what, p.logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeTCPNodeConfig writes dir/server.ini for the real binary: node id,
// data in dir/data, syslog over TCP on tcpPort (UDP off) and HTTP on
// httpPort, both on loopback, then the sections in extra. It returns the
// file's path.
func writeTCPNodeConfig(t *testing.T, dir, id string, tcpPort, httpPort int, extra string) string {
	t.Helper()
	cfg := filepath.Join(dir, "server.ini")
	text := fmt.Sprintf("[node]\nid = %s\ndata_dir = %s\n[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\n",
		id, filepath.Join(dir, "data"), tcpPort, httpPort)
	if err := os.WriteFile(cfg, []byte(text+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sendSeq sends total messages "seq=1" … "seq=<total>" (RFC 5424, app app,
// LF-framed) over one TCP connection to addr, and closes it. TCP syslog has
// no acknowledgement: wait for logpacker_wal_last_index before a kill.
func sendSeq(t *testing.T, addr, app string, total int) {
	t.Helper()
	sendSeqRange(t, addr, app, 1, total)
}

// sendSeqRange sends seq=from … seq=to over one TCP connection.
func sendSeqRange(t *testing.T, addr, app string, from, to int) {
	t.Helper()
	c := dialRetry(t, addr)
	defer c.Close()
	w := bufio.NewWriterSize(c, 256<<10)
	for i := from; i <= to; i++ {
		fmt.Fprintf(w, "<134>1 2026-11-24T12:00:00Z web-1 %s - - - seq=%d\n", app, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// logs is the tail of every run's output, for a failure message.
func (p *lpProcess) logs() string {
	var b strings.Builder
	for i := 1; i <= p.starts; i++ {
		log, _ := os.ReadFile(filepath.Join(p.dir, fmt.Sprintf("%s.%d.log", p.name, i)))
		fmt.Fprintf(&b, "--- %s run %d:\n%s\n", p.name, i, tail(log, 2000))
	}
	return b.String()
}

// nodeChild is the child side of startNodeChild: a node from the config
// file cfg, in this (test) binary, until SIGTERM. Its exit code is the
// process's.
func nodeChild(cfg string) int {
	c, err := appliance.LoadConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	n, err := appliance.New(c, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	n.Start()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	<-sigs
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// nodeProc is a node running in a child process (this test binary, see
// nodeChild): a real process the test can stop (SIGSTOP) and let go on.
type nodeProc struct {
	cmd  *exec.Cmd
	dir  string // its data_dir
	http string // its HTTP listener, host:port
	log  string // its stderr
}

// startNodeChild runs a node in a child process with [node] (id, data_dir
// under a temporary directory), [listen] http on a free loopback port and
// the [output.store] off, then ini; it returns once /readyz answers 200.
// The test's cleanup stops it (SIGTERM, then SIGKILL).
func startNodeChild(t *testing.T, ini string) *nodeProc {
	t.Helper()
	dir := t.TempDir()
	p := &nodeProc{dir: filepath.Join(dir, "data"), http: fmt.Sprintf("127.0.0.1:%d", freePort(t)), log: filepath.Join(dir, "node.log")}
	cfg := filepath.Join(dir, "server.ini")
	text := fmt.Sprintf("[node]\nid = child\ndata_dir = %s\n[output.store]\nenabled = false\n%s", p.dir, ini)
	text = strings.Replace(text, "[listen]\n", "[listen]\nhttp = "+p.http+"\n", 1)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), "LP_NODE_CONFIG="+cfg)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGCONT)
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("node log:\n%s", tail(b, 4000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := readyz(p.http); code == 200 {
			return p
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.log)
			t.Fatalf("child node not ready:\n%s", tail(b, 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readyz is GET /readyz: the status code (0: no answer) and the body.
func readyz(hostport string) (int, string) {
	resp, err := http.Get("http://" + hostport + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
