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

// TestRelayLeafToRootIntegration: two real processes on loopback, a leaf and
// a root, linked over QUIC with mutual TLS (certificates made by `logpacker
// cert`). 20,000 sequence-numbered messages sent to the leaf over TCP arrive
// at the root's file with the leaf's event IDs and one hop, although the
// root is SIGKILLed and restarted mid-stream (the leaf buffers in its WAL and
// resends). Every sequence number arrives exactly once: a batch the root
// stored but never acknowledged is resent, and the root's relay input drops
// what its per-origin set of stored IDs (rebuilt from its WAL on restart)
// already holds.
func TestRelayLeafToRootIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	bin, dir, ca := relayFixture(t, "root", "leaf")

	relayPort := freeUDPPort(t)
	syslogPort := freePort(t)
	certs := func(node string) string {
		return "[relay]\n" + relayKeys(ca)
	}
	rootCfg := filepath.Join(dir, "root.ini")
	os.WriteFile(rootCfg, []byte(fmt.Sprintf("[node]\nid = root\ndata_dir = %s\n[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\nrelay = 127.0.0.1:%d\n%s[output.file]\npath = events.jsonl\n[output.store]\nenabled = false\n",
		filepath.Join(dir, "root"), relayPort, certs("root"))), 0o644)
	leafCfg := filepath.Join(dir, "leaf.ini")
	os.WriteFile(leafCfg, []byte(fmt.Sprintf("[node]\nid = leaf\ndata_dir = %s\n[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp =\n%supstream = 127.0.0.1:%d\nbatch_size = 500\n[output.file]\npath =\n",
		filepath.Join(dir, "leaf"), syslogPort, certs("leaf"), relayPort)), 0o644)

	start := func(name, cfg string) *exec.Cmd {
		cmd := exec.Command(bin, "run", "-c", cfg)
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	root := start("root", rootCfg)
	start("leaf", leafCfg)

	conn := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", syslogPort))
	defer conn.Close()
	const total = 20000
	send := func(from, to int) {
		var b []byte
		for i := from; i <= to; i++ {
			msg := fmt.Sprintf("<134>1 2026-11-24T12:00:00Z web-1 app - - - seq=%d", i)
			b = append(b, strconv.Itoa(len(msg))...)
			b = append(b, ' ')
			b = append(b, msg...)
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	send(1, total/2)
	time.Sleep(300 * time.Millisecond)
	// SIGKILL the root mid-stream; the leaf keeps accepting into its WAL
	root.Process.Signal(syscall.SIGKILL)
	root.Wait()
	send(total/2+1, total)
	time.Sleep(500 * time.Millisecond)
	start("root2", rootCfg)

	out := filepath.Join(dir, "root", "events.jsonl")
	seen := map[int]int{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		clear(seen)
		evs := readEvents(t, out)
		for _, ev := range evs {
			checkRelayed(t, ev)
			n, _ := strconv.Atoi(strings.TrimPrefix(ev.Message, "seq="))
			seen[n]++
		}
		if len(seen) == total {
			if dups := len(evs) - total; dups != 0 {
				t.Fatalf("all %d sequence numbers at the root, but %d duplicate lines", total, dups)
			}
			t.Logf("all %d sequence numbers at the root exactly once, across a SIGKILL of the root", total)
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "leaf.log"))
			t.Fatalf("root has %d of %d sequence numbers after 60 s\nleaf log:\n%s", len(seen), total, tail(b, 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// relayFixture builds the binary and, with `logpacker cert`, a cluster CA
// (dir/ca) and a certificate for each node (dir/NODE/certs, valid for
// 127.0.0.1). It returns the binary, dir and the CA's directory.
func relayFixture(t *testing.T, nodes ...string) (bin, dir, ca string) {
	t.Helper()
	bin, dir = buildBinary(t), t.TempDir()
	run := func(args ...string) {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("logpacker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ca = filepath.Join(dir, "ca")
	run("cert", "ca", "-dir", ca)
	for _, n := range nodes {
		run("cert", "node", "-ca", ca, "-id", n, "-host", "127.0.0.1,"+n+".cluster.test", "-dir", filepath.Join(dir, n, "certs"))
	}
	return bin, dir, ca
}

// relayKeys is the [relay] ca, cert and key lines of a node relayFixture
// made (its certificate in data_dir/certs).
func relayKeys(ca string) string {
	return fmt.Sprintf("ca = %s\ncert = certs/node.crt\nkey = certs/node.key\n", filepath.Join(ca, "ca.crt"))
}

// writeNodeINI writes dir/name.ini: [node] id = name, data_dir = dir/name,
// then body. It returns the path.
func writeNodeINI(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name+".ini")
	if err := os.WriteFile(p, []byte(fmt.Sprintf("[node]\nid = %s\ndata_dir = %s\n%s", name, filepath.Join(dir, name), body)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkRelayed(t *testing.T, ev protocol.Event) {
	t.Helper()
	if !fromNode(ev.ID, "leaf") || ev.Hops != 1 || ev.Host != "web-1" || ev.Transport != "tcp" {
		t.Fatalf("relayed event %+v", ev)
	}
}

// fromNode reports whether id was given by node to a record of a WAL
// created since WALs have epochs: its origin is "<node>.<8 hex digits>".
func fromNode(id protocol.ID, node string) bool {
	epoch, ok := strings.CutPrefix(id.Node, node+".")
	if !ok || len(epoch) != 8 || id.Seq == 0 {
		return false
	}
	return strings.Trim(epoch, "0123456789abcdef") == ""
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
