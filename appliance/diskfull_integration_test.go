package appliance_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"logpacker/internal/tmpfstest"
)

// TestDiskFullIntegration runs the real binary with its data_dir (WAL and
// file output) on a 20 MiB tmpfs that a filler file has almost filled, and
// sends sequenced messages over TCP and UDP until the disk is full. While
// it is: /readyz is 503 and says why, the TCP connection is back-pressured
// (never reset), the UDP listener keeps its socket, and each state change
// is a metric and a log line. Then the filler is deleted, and the node
// catches up by itself: every TCP message is in the output exactly once,
// and every UDP datagram is in the output or counted by the kernel as
// dropped. Twice: with [wal] min_free (appends wait: cause min_free), and
// with min_free = 0 (writes fail with ENOSPC and the listeners emit again:
// cause io_error).
func TestDiskFullIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP (-short): builds the binary and mounts a tmpfs")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name, minFree, cause string
		keep                 int64 // free bytes the filler leaves
	}{
		{"min_free", "4m", "min_free", 6 << 20},
		{"no reserve", "0", "io_error", 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) { diskFull(t, bin, tc.minFree, tc.cause, tc.keep) })
	}
}

func diskFull(t *testing.T, bin, minFree, cause string, keep int64) {
	dir := t.TempDir()
	mnt := tmpfstest.Mount(t, "20m")
	tcpPort, udpPort, httpPort := freePort(t), freePort(t), freePort(t)
	h := fmt.Sprintf("127.0.0.1:%d", httpPort)
	cfg := filepath.Join(dir, "server.ini")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[node]
id = full
data_dir = %s
[listen]
syslog_udp = 127.0.0.1:%d
syslog_tcp = 127.0.0.1:%d
http = %s
[syslog]
udp_read_buffer = 256k
udp_readers = 1
[wal]
segment_size = 256k
min_free = %s
[output.store]
enabled = false
`, filepath.Join(mnt, "data"), udpPort, tcpPort, h, minFree)), 0o644)
	p := runBinary(t, bin, cfg, dir, "node")
	p.waitFor(time.Now().Add(30*time.Second), "/readyz 200", func() bool { c, _ := readyz(h); return c == 200 })
	m := func(series string) float64 { v, _ := scrapeMetric(h, series); return v }

	// Fill the disk but keep bytes free.
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, int64(st.Bavail)*st.Bsize-keep), 0o600); err != nil {
		t.Fatal(err)
	}

	// TCP: one connection, sequenced messages, more than the disk takes.
	const tcpTotal = 20000 // about 7 MB of output: it all fits once the filler is gone
	var tcpWritten atomic.Int64
	tcpErr := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort))
		if err != nil {
			tcpErr <- err
			return
		}
		defer c.Close()
		w := bufio.NewWriterSize(c, 64<<10)
		for i := 1; i <= tcpTotal; i++ {
			if _, err := fmt.Fprintf(w, "<134>1 2026-11-24T12:00:00Z web-1 tcpseq - - - seq=%d %s\n", i, strings.Repeat("t", 140)); err != nil {
				tcpErr <- err
				return
			}
			tcpWritten.Store(int64(i))
		}
		tcpErr <- w.Flush()
	}()
	deadline := time.Now().Add(90 * time.Second)
	var why string
	p.waitFor(deadline, "/readyz 503 ("+cause+")", func() bool {
		c, body := readyz(h)
		why = body
		return c == 503 && strings.Contains(body, "wal cannot append ("+cause+")")
	})
	p.waitFor(deadline, "the TCP reader to stall", func() bool {
		return m(`logpacker_listener_stalled_readers{listener="syslog_tcp"}`) == 1
	})
	if v := m(`logpacker_wal_append_blocked{cause="` + cause + `"}`); v != 1 {
		t.Errorf("logpacker_wal_append_blocked{cause=%q} = %v while /readyz says %q", cause, v, why)
	}
	// Back-pressure, not loss: the rest waits unread in the kernel's buffers.
	if rx := m(`logpacker_listener_received_total{listener="syslog_tcp"}`); rx >= tcpTotal {
		t.Errorf("the stalled TCP listener has read all %v messages", rx)
	} else {
		t.Logf("disk full: the TCP listener stopped reading after %v of %d messages (%d written by the sender); /readyz: %s",
			rx, tcpTotal, tcpWritten.Load(), why)
	}

	// UDP at a modest rate while the disk is full: the reader waits for the
	// WAL, its socket buffer fills, the kernel drops and counts the rest.
	const udpTotal = 3000
	u, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for i := 1; i <= udpTotal; i++ {
		fmt.Fprintf(u, "<134>1 2026-11-24T12:00:00Z web-1 udpseq - - - seq=%d %s", i, strings.Repeat("u", 140))
		if i%100 == 0 {
			time.Sleep(10 * time.Millisecond) // about 10,000/s: a busy sender, not a flood
		}
	}
	p.waitFor(deadline, "the UDP reader to stall", func() bool {
		return m(`logpacker_listener_stalled_readers{listener="syslog_udp"}`) == 1
	})

	// Free the space: the node catches up by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(120 * time.Second)
	p.waitFor(deadline, "the TCP sender to finish", func() bool {
		select {
		case err := <-tcpErr:
			if err != nil {
				t.Fatalf("TCP sender: %v (a reset means messages were dropped)", err)
			}
			return true
		default:
			return false
		}
	})
	var udpRx, udpDrops float64
	for {
		udpRx = m(`logpacker_listener_received_total{listener="syslog_udp"}`)
		udpDrops = m(`logpacker_listener_kernel_drops_total{listener="syslog_udp"}`)
		tcpRx, in := m(`logpacker_listener_received_total{listener="syslog_tcp"}`), m("logpacker_ingest_events_total")
		out := m(`logpacker_output_delivered_total{output="file"}`)
		if tcpRx == tcpTotal && udpRx+udpDrops >= udpTotal && in == tcpTotal+udpRx && out == in {
			break
		}
		if time.Now().After(deadline) {
			c, body := readyz(h)
			t.Fatalf("not caught up: TCP received %v of %d; UDP received %v + kernel drops %v of %d; ingested %v; delivered %v; /readyz %d %s\n%s",
				tcpRx, tcpTotal, udpRx, udpDrops, udpTotal, in, out, c, body, p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.waitFor(deadline, "/readyz 200 again", func() bool { c, _ := readyz(h); return c == 200 })

	// Every TCP message once; every UDP datagram stored once or counted.
	tcpSeen := make([]int, tcpTotal+1)
	udpSeen := make([]int, udpTotal+1)
	for _, ev := range readEvents(t, filepath.Join(mnt, "data", "events.jsonl")) {
		f := strings.Fields(ev.Message)
		if len(f) == 0 || !strings.HasPrefix(f[0], "seq=") {
			t.Fatalf("unexpected event %q", ev.Message)
		}
		n, _ := strconv.Atoi(f[0][4:])
		switch ev.App {
		case "tcpseq":
			tcpSeen[n]++
		case "udpseq":
			udpSeen[n]++
		}
	}
	for i := 1; i <= tcpTotal; i++ {
		if tcpSeen[i] != 1 {
			t.Fatalf("TCP seq=%d is in the output %d times, want once", i, tcpSeen[i])
		}
	}
	udpStored := 0
	for i := 1; i <= udpTotal; i++ {
		if udpSeen[i] > 1 {
			t.Fatalf("UDP seq=%d stored %d times", i, udpSeen[i])
		}
		udpStored += udpSeen[i]
	}
	if float64(udpStored) != udpRx || udpRx+udpDrops != udpTotal {
		t.Fatalf("UDP: %d sent, %d stored, %v received, %v dropped by the kernel: want stored == received and received + drops == sent",
			udpTotal, udpStored, udpRx, udpDrops)
	}
	for _, l := range []string{"syslog_tcp", "syslog_udp"} {
		if v := m(`logpacker_listener_dropped_total{listener="` + l + `"}`); v != 0 {
			t.Errorf("%s: dropped_total = %v", l, v)
		}
		if v := m(`logpacker_listener_stalled_readers{listener="` + l + `"}`); v != 0 {
			t.Errorf("%s: stalled_readers = %v after the node caught up", l, v)
		}
	}
	for _, l := range []string{"syslog_tcp", "syslog_udp"} {
		if v := m(`logpacker_listener_stalls_total{listener="` + l + `"}`); v < 1 {
			t.Errorf("%s: stalls_total = %v", l, v)
		}
	}
	if v := m(`logpacker_wal_append_blocks_total{cause="` + cause + `"}`); v < 1 {
		t.Errorf("append_blocks_total{cause=%q} = %v", cause, v)
	}
	if v := m(`logpacker_wal_append_blocked{cause="` + cause + `"}`); v != 0 {
		t.Errorf("append_blocked{cause=%q} = %v after the node caught up", cause, v)
	}
	if cause == "io_error" && m(`logpacker_listener_emit_retries_total{listener="syslog_tcp"}`) == 0 {
		t.Errorf("no failed TCP emit was retried")
	}
	// A log line for each change: the WAL's, and each listener's (once per streak).
	log := strings.Split(string(mustRead(t, filepath.Join(dir, "node.1.log"))), "\n")
	has := func(parts ...string) bool {
		for _, line := range log {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return true
			}
		}
		return false
	}
	want := [][]string{
		{map[string]string{"min_free": "wal: free disk space below min_free", "io_error": "wal: appends failing"}[cause]},
		{"wal: appends go through again", "was=" + cause},
	}
	for _, l := range []string{"syslog_tcp", "syslog_udp"} {
		want = append(want, []string{"level=WARN", "not reading: the WAL does not take this listener's events", "listener=" + l},
			[]string{"level=INFO", "reading again: the WAL takes this listener's events", "listener=" + l})
	}
	for _, w := range want {
		if !has(w...) {
			t.Errorf("the node's log has no line with %q", w)
		}
	}
	t.Logf("%s: TCP %d of %d once each; UDP %d sent, %d stored, %v dropped by the kernel (counted); TCP stalls %v, emit retries %v",
		cause, tcpTotal, tcpTotal, udpTotal, udpStored, udpDrops, m(`logpacker_listener_stalls_total{listener="syslog_tcp"}`),
		m(`logpacker_listener_emit_retries_total{listener="syslog_tcp"}`))
}
