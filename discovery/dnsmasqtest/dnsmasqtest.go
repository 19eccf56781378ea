// Package dnsmasqtest runs a real dnsmasq for tests (package dnsmasq-base,
// installed by .ci/install-deps.sh): each test starts its own on 127.0.0.1
// and a free high port, with its records on the command line
// (--srv-host=…, --host-record=…), and it is stopped when the test ends.
//
// dnsmasq drops to user nobody when started as root; the port is bound
// before that, so no --user is needed. It does not re-read --srv-host on
// SIGHUP: to change records, Restart it on the same port. A test that needs
// it fails, naming the package, when it is not installed (under -short
// only, it skips with the reason printed).
package dnsmasqtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Bin finds dnsmasq, or ends the test: skipped with -short, failed
// otherwise.
func Bin(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/dnsmasq"); err == nil {
		return "/usr/sbin/dnsmasq"
	}
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		return p
	}
	if testing.Short() {
		t.Skip("dnsmasq not found (/usr/sbin/dnsmasq, package dnsmasq-base): -short skips the DNS SRV integration tests; make deps (.ci/install-deps.sh) installs it")
	}
	t.Fatalf("dnsmasq not found: run make deps (.ci/install-deps.sh)")
	return ""
}

// Server is one running dnsmasq.
type Server struct {
	t      testing.TB
	bin    string
	port   int
	ttl    int
	cmd    *exec.Cmd
	out    *Log
	exited chan struct{}
}

var errPortInUse = errors.New("port in use")

// Start starts dnsmasq with records, answering for cluster.test with TTL
// ttl seconds, on a free port (another one if dnsmasq cannot bind it), and
// waits until it answers. The test's cleanup stops it.
func Start(t testing.TB, ttl int, records ...string) *Server {
	t.Helper()
	d := &Server{t: t, bin: Bin(t), ttl: ttl}
	t.Cleanup(d.Stop)
	var err error
	for range 10 {
		d.port = freeUDPPort(t)
		if err = d.start(records); !errors.Is(err, errPortInUse) {
			break
		}
	}
	if err != nil {
		t.Fatalf("dnsmasq: %v", err)
	}
	return d
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// Addr is where it answers, 127.0.0.1:port.
func (d *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)) }

// start runs dnsmasq on d.port and waits (up to 5 s) until it answers.
func (d *Server) start(records []string) error {
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--pid-file=",
		"--port=" + strconv.Itoa(d.port), "--listen-address=127.0.0.1", "--bind-interfaces",
		"--no-resolv", "--no-hosts", "--no-poll", "--local=/cluster.test/", "--domain-needed",
		"--local-ttl=" + strconv.Itoa(d.ttl), "--log-queries", "--log-facility=-",
	}
	args = append(args, records...)
	d.out = &Log{}
	d.cmd = exec.Command(d.bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	d.exited = exited
	go func() { d.cmd.Wait(); close(exited) }()

	c := &dns.Client{Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("ready.cluster.test.", dns.TypeA)
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-exited:
			d.cmd = nil
			out := d.out.String()
			if strings.Contains(out, "in use") {
				return fmt.Errorf("%w: %s", errPortInUse, out)
			}
			return fmt.Errorf("exited at start: %s", out)
		default:
		}
		if _, _, err := c.Exchange(m, d.Addr()); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering on %s after 5s: %s", d.Addr(), d.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends dnsmasq: SIGTERM, then waits for it. Its log goes to the test's
// log when the test failed.
func (d *Server) Stop() {
	if d.cmd == nil {
		return
	}
	if d.t.Failed() {
		d.t.Logf("dnsmasq on %s:\n%s", d.Addr(), d.out.String())
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// Restart stops dnsmasq and starts it again on the same port with other
// records.
func (d *Server) Restart(records ...string) {
	d.t.Helper()
	d.Stop()
	var err error
	for range 20 {
		if err = d.start(records); !errors.Is(err, errPortInUse) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the port is still held: try again
	}
	if err != nil {
		d.t.Fatalf("dnsmasq restart on %s: %v", d.Addr(), err)
	}
}

// SRVQueries counts the SRV queries for name dnsmasq logged (its log may
// lag).
func (d *Server) SRVQueries(name string) int {
	return d.out.Count("query[SRV] " + name + " from")
}

// Log is a buffer safe for concurrent writers (a process's output, a
// slog handler) that counts what was written.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Count is how many times s occurs in what was written.
func (l *Log) Count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
