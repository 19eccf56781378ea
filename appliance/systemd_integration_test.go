package appliance_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"logpacker/discovery/dnsmasqtest"
)

// TestHealthWedgedOutput: the pipeline heartbeat behind systemd's watchdog
// (Node.Health) holds while outputs answer, and names the output whose sink
// took a batch and never answered: a VictoriaLogs output pointed at a
// server that accepts connections and reads requests but never responds,
// with a one-hour request timeout.
func TestHealthWedgedOutput(t *testing.T) {
	hole := blackhole(t)
	n, dir := testNode(t, loopbackListeners+fmt.Sprintf("[output.vl]\ntype = victorialogs\nurls = http://%s\ntimeout = 1h\n", hole))
	if err := n.Health(time.Nanosecond); err != nil {
		t.Fatalf("an idle node is unhealthy: %v", err)
	}
	sendSeq(t, n.Addr("syslog_tcp").String(), "wedge", 10)
	waitEvents(t, filepath.Join(dir, "events.jsonl"), 10, 30*time.Second, nil) // the file output answers
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := n.Health(time.Millisecond)
		if err != nil {
			if !strings.Contains(err.Error(), "output output.vl: its write has not returned") || strings.Contains(err.Error(), "output.file") {
				t.Fatalf("Health names the wrong output: %v", err)
			}
			t.Logf("Health: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the wedged output was never reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := n.Health(time.Hour); err != nil {
		t.Fatalf("within the stall limit the node is healthy: %v", err)
	}
}

// blackhole is a server that accepts connections and reads what they
// send but never answers (closed when the test ends); its address.
func blackhole(t *testing.T) string {
	t.Helper()
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			go func() { bufio.NewReader(c).WriteTo(discard{}) }()
		}
	}()
	t.Cleanup(func() {
		hole.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	return hole.Addr().String()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// notifySocket binds a unix datagram socket like systemd's NOTIFY_SOCKET
// and returns its path and its messages, in order.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan string, 1024)
	go func() {
		buf := make([]byte, 8192)
		for {
			n, _, err := c.ReadFromUnix(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return path, ch
}

// nextNotify waits for the next message that starts with prefix, skipping
// the others, and fails after a minute (with what the node logged).
func nextNotify(t *testing.T, ch <-chan string, prefix string, logs func() string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("notify socket closed")
			}
			if strings.HasPrefix(m, prefix) {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q from the node within a minute\n%s", prefix, logs())
		}
	}
}

// TestSystemdNotifyIntegration runs the real binary as systemd runs a
// Type=notify service with WatchdogSec=: NOTIFY_SOCKET and WATCHDOG_USEC
// set. READY=1 comes only when the node takes syslog: at that moment its
// TCP listener accepts, /readyz answers 200, and (after a SIGKILL with
// events in the WAL) its STATUS= shows the WAL replayed to the last index.
// Then WATCHDOG=1 pings with STATUS= (the lag), and STOPPING=1 at SIGTERM.
func TestSystemdNotifyIntegration(t *testing.T) {
	bin, dir := buildBinary(t), t.TempDir()
	tcp, web := freePort(t), freePort(t)
	cfg := writeTCPNodeConfig(t, dir, "sd", tcp, web, "[output.store]\nenabled = false\n")
	sock, msgs := notifySocket(t)
	p := &lpProcess{t: t, bin: bin, cfg: cfg, dir: dir, name: "sd"}
	t.Cleanup(func() {
		if p.cmd != nil && p.cmd.ProcessState == nil {
			p.kill()
		}
	})
	os.Setenv("NOTIFY_SOCKET", sock)
	os.Setenv("WATCHDOG_USEC", "400000") // a ping every 200 ms
	t.Cleanup(func() { os.Unsetenv("NOTIFY_SOCKET"); os.Unsetenv("WATCHDOG_USEC") })

	for run := 1; run <= 2; run++ {
		p.start()
		ready := nextNotify(t, msgs, "READY=1", p.logs)
		t.Logf("run %d: %q", run, ready)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcp))
		if err != nil {
			t.Fatalf("run %d: READY=1 sent, but the syslog TCP listener does not accept: %v", run, err)
		}
		c.Close()
		if code, body := readyz(fmt.Sprintf("127.0.0.1:%d", web)); code != 200 {
			t.Fatalf("run %d: READY=1 sent, but /readyz answers %d %s", run, code, body)
		}
		if run == 1 {
			if !strings.Contains(ready, "WAL last index 0,") {
				t.Fatalf("run 1: READY's STATUS: %q", ready)
			}
			sendSeq(t, fmt.Sprintf("127.0.0.1:%d", tcp), "sd", 500)
			p.waitFor(time.Now().Add(30*time.Second), "500 events in the WAL", func() bool {
				v, _ := scrapeMetric(fmt.Sprintf("127.0.0.1:%d", web), "logpacker_wal_last_index")
				return v >= 500
			})
			p.kill() // the WAL is opened (its tail checked) by the next run before READY
			continue
		}
		if !strings.Contains(ready, "WAL last index 500,") {
			t.Fatalf("run 2: READY=1 before the WAL was replayed? STATUS: %q", ready)
		}
		for range 3 {
			ping := nextNotify(t, msgs, "WATCHDOG=1", p.logs)
			if !strings.Contains(ping, "\nSTATUS=taking events; WAL last index 500,") || !strings.Contains(ping, "lag output.file ") {
				t.Fatalf("ping: %q", ping)
			}
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if m := nextNotify(t, msgs, "STOPPING=1", p.logs); !strings.Contains(m, "STATUS=draining") {
			t.Fatalf("stopping: %q", m)
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs())
		}
	}
}

// TestWatchdogWedgedOutputIntegration: the real binary under a watchdog
// (WATCHDOG_USEC: a ping every 100 ms) with a VictoriaLogs output whose
// server takes requests and never answers, and a stall limit of 1 s
// (LOGPACKER_STALL_LIMIT). Pings come while the output is idle; once an
// event makes its write hang past the limit, STATUS= names the output and
// the pings stop: between that STATUS and STOPPING=1 (SIGTERM, 2 s later,
// some 20 ticks) there is no WATCHDOG=1.
func TestWatchdogWedgedOutputIntegration(t *testing.T) {
	hole := blackhole(t)
	bin, dir := buildBinary(t), t.TempDir()
	tcp, web := freePort(t), freePort(t)
	cfg := writeTCPNodeConfig(t, dir, "wd", tcp, web, fmt.Sprintf("[output.store]\nenabled = false\n[output.vl]\ntype = victorialogs\nurls = http://%s\ntimeout = 1h\n", hole))
	sock, msgs := notifySocket(t)
	cmd := exec.Command(bin, "run", "-c", cfg)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000", "LOGPACKER_STALL_LIMIT=1s")
	var out dnsmasqtest.Log
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	nextNotify(t, msgs, "READY=1", out.String)
	nextNotify(t, msgs, "WATCHDOG=1", out.String) // healthy while idle
	sendSeq(t, fmt.Sprintf("127.0.0.1:%d", tcp), "wd", 1)
	m := nextNotify(t, msgs, "STATUS=unhealthy, no watchdog pings: output output.vl: its write has not returned", out.String)
	t.Log(m)
	time.Sleep(2 * time.Second) // the window in which pings would show
	cmd.Process.Signal(syscall.SIGTERM)
	for {
		m := nextNotify(t, msgs, "", out.String)
		if strings.HasPrefix(m, "WATCHDOG=1") {
			t.Fatalf("a ping after the output wedged: %q", m)
		}
		if strings.HasPrefix(m, "STOPPING=1") {
			break
		}
	}
}

// TestSocketActivationRestartsIntegration: the UDP socket is held by the
// parent, as systemd holds a .socket unit's, and passed to the real binary
// (LISTEN_FDS=1, LISTEN_FDNAMES=syslog, LISTEN_PID set by the shell that
// execs it). A sender sends 10,000 datagrams a second, each with its own
// sequence number, while the node is stopped (SIGTERM) and started again
// 20 times, each run taking at least 2,000 of them; datagrams that arrive
// between two runs wait in the socket's receive buffer. At the end every
// sequence number is in the file output exactly once: none lost.
func TestSocketActivationRestartsIntegration(t *testing.T) {
	const restarts, perRun, rate = 20, 2000, 10000
	bin, dir := buildBinary(t), t.TempDir()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	uf, err := pc.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer uf.Close()
	// what ReceiveBuffer=32M in the .socket unit does (as root: beyond rmem_max)
	if err := syscall.SetsockoptInt(int(uf.Fd()), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 32<<20); err != nil {
		t.Fatalf("SO_RCVBUFFORCE (needs root, as make test runs): %v", err)
	}
	web := freePort(t)
	// syslog_udp's configured address is never bound: the passed socket replaces it
	cfg := filepath.Join(dir, "server.ini")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[node]\nid = sa\ndata_dir = %s\n[listen]\nsyslog_udp = 127.0.0.1:9\nsyslog_tcp =\nhttp = 127.0.0.1:%d\n[output.store]\nenabled = false\n",
		filepath.Join(dir, "data"), web)), 0o644)
	sock, msgs := notifySocket(t)
	events := filepath.Join(dir, "data", "events.jsonl")

	var sent atomic.Int64
	ctx, stopSending := context.WithCancel(context.Background())
	sending := make(chan struct{})
	go func() {
		defer close(sending)
		c, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for seq := 1; ; {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for range rate / 1000 {
				if _, err := fmt.Fprintf(c, "<134>1 2026-12-02T12:00:00Z h1 sa - - - seq=%d", seq); err != nil {
					t.Errorf("send: %v", err)
					return
				}
				sent.Store(int64(seq))
				seq++
			}
		}
	}()
	defer stopSending()

	var logs strings.Builder
	run := func(i int, until func(lines int) bool) {
		cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin, "run", "-c", cfg)
		cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "LISTEN_FDNAMES=syslog", "NOTIFY_SOCKET="+sock)
		cmd.ExtraFiles = []*os.File{uf}
		var out dnsmasqtest.Log
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { fmt.Fprintf(&logs, "--- run %d:\n%s\n", i, tail([]byte(out.String()), 1500)) }()
		nextNotify(t, msgs, "READY=1", func() string { return out.String() })
		deadline := time.Now().Add(2 * time.Minute)
		for !until(countLines(events)) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("run %d: the file output stopped growing at %d lines (sent %d)\n%s", i, countLines(events), sent.Load(), out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run %d: exit after SIGTERM: %v\n%s", i, err, out.String())
		}
		if !strings.Contains(out.String(), "taking the socket systemd passed") {
			t.Fatalf("run %d did not take the passed socket:\n%s", i, out.String())
		}
	}
	for i := 1; i <= restarts; i++ {
		before := countLines(events)
		run(i, func(lines int) bool { return lines >= before+perRun })
	}
	stopSending()
	<-sending
	total := int(sent.Load())
	run(restarts+1, func(lines int) bool { return lines >= total })

	seen := make([]int, total+1)
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct{ Message string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		s, ok := strings.CutPrefix(ev.Message, "seq=")
		k, err := strconv.Atoi(s)
		if !ok || err != nil || k < 1 || k > total {
			t.Fatalf("unexpected event %q", ev.Message)
		}
		seen[k]++
	}
	var lost, dup []int
	for k := 1; k <= total; k++ {
		switch {
		case seen[k] == 0:
			lost = append(lost, k)
		case seen[k] > 1:
			dup = append(dup, k)
		}
	}
	t.Logf("%d datagrams at %d/s across %d restarts: %d lost, %d stored twice", total, rate, restarts, len(lost), len(dup))
	if len(lost) > 0 || len(dup) > 0 {
		t.Fatalf("lost (first 20): %v; stored twice (first 20): %v\n%s", lost[:min(20, len(lost))], dup[:min(20, len(dup))], logs.String())
	}
}
