package systemd

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listenNotify binds a unix datagram socket where a notifier can send, as
// systemd's is, and returns a function that reads the next message.
func listenNotify(t *testing.T) (path string, next func() string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, func() string {
		t.Helper()
		buf := make([]byte, 4096)
		n, _, err := c.ReadFromUnix(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
}

func TestNotifyMessages(t *testing.T) {
	path, next := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", path)
	n, err := NewNotifier()
	if err != nil || n == nil {
		t.Fatalf("NewNotifier: %v, %v", n, err)
	}
	defer n.Close()
	if os.Getenv("NOTIFY_SOCKET") != "" {
		t.Error("NOTIFY_SOCKET is still set: children would notify in our name")
	}
	n.Ready("taking events\nlag 0")
	n.Status("lag 5")
	n.Stopping("draining")
	for _, want := range []string{"READY=1\nSTATUS=taking events lag 0", "STATUS=lag 5", "STOPPING=1\nSTATUS=draining"} {
		if got := next(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	name := "@logpacker-test-" + filepath.Base(t.TempDir())
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "\x00" + name[1:], Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := Dial(name)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	k, _, err := c.ReadFromUnix(buf)
	if err != nil || string(buf[:k]) != "READY=1" {
		t.Fatalf("got %q, %v", buf[:k], err)
	}
}

func TestNoNotifySocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n, err := NewNotifier()
	if n != nil || err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v, %v", n, err)
	}
	// every call on the nil notifier is a no-op
	if err := n.Ready("x"); err != nil {
		t.Fatal(err)
	}
	n.Watchdog(closed(), nil, nil, nil)
	n.Close()
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		every     time.Duration
		ok        bool
	}{
		{"30000000", "", 15 * time.Second, true},
		{"200000", "self", 100 * time.Millisecond, true},
		{"200000", "1", 0, false}, // meant for another process
		{"", "", 0, false},
		{"0", "", 0, false},
		{"soon", "", 0, false},
	} {
		pid := tc.pid
		if pid == "self" {
			pid = strconv.Itoa(os.Getpid())
		}
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", pid)
		every, ok := WatchdogInterval()
		if every != tc.every || ok != tc.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v %v, want %v %v", tc.usec, pid, every, ok, tc.every, tc.ok)
		}
	}
}

// TestWatchdogStopsWhileUnhealthy drives the watchdog tick by tick: a ping
// per tick while healthy; while unhealthy one STATUS= naming why and no
// ping, so systemd's timer runs out; pings again once healthy. Every
// message is read in order, so a ping sent during the unhealthy ticks would
// be read before the next expected one.
func TestWatchdogStopsWhileUnhealthy(t *testing.T) {
	path, next := listenNotify(t)
	n, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	tick := make(chan time.Time)
	done := make(chan struct{})
	var healthErr error
	checked := make(chan struct{})
	health := func() error {
		defer func() { checked <- struct{}{} }()
		return healthErr
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		n.Watchdog(done, tick, health, func() string { return "lag 0" })
	}()
	step := func(err error) {
		healthErr = err
		tick <- time.Now()
		<-checked
	}
	step(nil)
	if got := next(); got != "WATCHDOG=1\nSTATUS=lag 0" {
		t.Fatalf("healthy tick: %q", got)
	}
	wedged := errors.New("output store: its write has not returned for 5m0s")
	step(wedged)
	step(wedged)
	step(wedged)
	if got := next(); got != "STATUS=unhealthy, no watchdog pings: "+wedged.Error() {
		t.Fatalf("first unhealthy tick: %q", got)
	}
	step(nil)
	if got := next(); got != "WATCHDOG=1\nSTATUS=lag 0" {
		t.Fatalf("after three unhealthy ticks the next message is %q, want the ping of the healthy tick", got)
	}
	close(done)
	<-finished
}

// TestListeners passes a UDP and a TCP socket to a child (this test binary)
// the way systemd does: fds 3 and 4, LISTEN_FDS, LISTEN_FDNAMES and
// LISTEN_PID set to the child's own PID (a shell sets it, then execs).
func TestListeners(t *testing.T) {
	if os.Getenv("LP_SYSTEMD_CHILD") == "1" {
		return
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	uf, _ := pc.(*net.UDPConn).File()
	tf, _ := ln.(*net.TCPListener).File()
	defer uf.Close()
	defer tf.Close()
	for _, tc := range []struct{ pid, want string }{
		{"$$", "syslog dgram " + pc.LocalAddr().String() + "\nrelp stream " + ln.Addr().String() + "\nenv cleared\n"},
		{"1", "none\nenv cleared\n"}, // LISTEN_PID of another process: not ours
	} {
		cmd := exec.Command("/bin/sh", "-c", "LISTEN_PID="+tc.pid+" exec \"$0\" \"$@\"", os.Args[0], "-test.run=^TestListenersChild$", "-test.v")
		cmd.Env = append(os.Environ(), "LP_SYSTEMD_CHILD=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=syslog:relp")
		cmd.ExtraFiles = []*os.File{uf, tf}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		got := string(out)
		if i := strings.Index(got, "<<"); i >= 0 {
			got = got[i+2 : strings.Index(got, ">>")]
		}
		if got != tc.want {
			t.Errorf("LISTEN_PID=%s: child saw\n%s\nwant\n%s", tc.pid, got, tc.want)
		}
	}
}

// TestListenersChild is the child of TestListeners.
func TestListenersChild(t *testing.T) {
	if os.Getenv("LP_SYSTEMD_CHILD") != "1" {
		t.Skip("the child of TestListeners")
	}
	socks, err := Listeners()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if len(socks) == 0 {
		b.WriteString("none\n")
	}
	for _, s := range socks {
		typ, err := SocketType(s.File)
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case syscall.SOCK_DGRAM:
			c, err := s.PacketConn()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(s.Name + " dgram " + c.LocalAddr().String() + "\n")
			c.Close()
		case syscall.SOCK_STREAM:
			l, err := s.Listener()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(s.Name + " stream " + l.Addr().String() + "\n")
			l.Close()
		}
	}
	if os.Getenv("LISTEN_FDS")+os.Getenv("LISTEN_PID")+os.Getenv("LISTEN_FDNAMES") == "" {
		b.WriteString("env cleared\n")
	}
	os.Stdout.WriteString("<<" + b.String() + ">>")
}
