package appliance_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRelayChainIntegration: leaf → relay → root, three real processes on
// loopback linked over QUIC with mutual TLS. 1,000,000 sequence-numbered
// messages go to the leaf over TCP; meanwhile the middle node and the root
// are SIGKILLed and restarted at random moments, and once the root stays down
// for a few seconds while the leaf and the relay buffer. At the end the
// root's file holds every sequence number exactly once.
func TestRelayChainIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	bin, dir, ca := relayFixture(t, "root", "mid", "leaf")
	rootPort, midPort, syslogPort := freeUDPPort(t), freeUDPPort(t), freePort(t)
	tlsKeys := relayKeys(ca)
	write := func(name, body string) string { return writeNodeINI(t, dir, name, body) }
	cfg := map[string]string{
		"root": write("root", fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\nrelay = 127.0.0.1:%d\n[relay]\n%s[output.file]\npath = events.jsonl\nmax_size = 0\n[output.store]\nenabled = false\n", rootPort, tlsKeys)),
		"mid":  write("mid", fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\nrelay = 127.0.0.1:%d\n[relay]\n%supstream = 127.0.0.1:%d\n[output.file]\npath =\n", midPort, tlsKeys, rootPort)),
		"leaf": write("leaf", fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp =\n[relay]\n%supstream = 127.0.0.1:%d\n[output.file]\npath =\n", syslogPort, tlsKeys, midPort)),
	}
	procs := map[string]*lpProcess{}
	for _, n := range []string{"root", "mid", "leaf"} {
		procs[n] = runBinary(t, bin, cfg[n], dir, n)
	}
	start := func(name string) { procs[name].start() }
	kill := func(name string) { procs[name].kill() }

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	const total = 1_000_000
	conn := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", syslogPort))
	defer conn.Close()
	// kills at random points of the stream: middle ×3, root ×2, and once the
	// root stays down for 3 s
	type action struct {
		at   int
		what string
	}
	var plan []action
	for i := 0; i < 3; i++ {
		plan = append(plan, action{rng.IntN(total), "mid"})
	}
	for i := 0; i < 2; i++ {
		plan = append(plan, action{rng.IntN(total), "root"})
	}
	plan = append(plan, action{rng.IntN(total), "root-down"})
	var buf []byte
	sent := 0
	for sent < total {
		next := min(sent+20000, total)
		buf = buf[:0]
		for i := sent + 1; i <= next; i++ {
			msg := "<134>1 2026-11-24T12:00:00Z web-1 app - - - seq=" + strconv.Itoa(i)
			buf = strconv.AppendInt(buf, int64(len(msg)), 10)
			buf = append(buf, ' ')
			buf = append(buf, msg...)
		}
		if _, err := conn.Write(buf); err != nil {
			t.Fatal(err)
		}
		for _, a := range plan {
			if a.at > sent && a.at <= next {
				switch a.what {
				case "mid", "root":
					kill(a.what)
					time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
					start(a.what)
				case "root-down":
					kill("root")
					time.Sleep(3 * time.Second)
					start("root")
				}
				t.Logf("after %d messages: %s", a.at, a.what)
			}
		}
		sent = next
	}

	out := filepath.Join(dir, "root", "events.jsonl")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if countLines(out) >= total {
			seen, lines, bad := scanChainOutput(t, out, total)
			if bad != "" {
				t.Fatal(bad)
			}
			if seen == total {
				if lines != total {
					t.Fatalf("all %d sequence numbers at the root, but %d lines: %d duplicates", total, lines, lines-total)
				}
				t.Logf("all %d sequence numbers at the root exactly once; %d process starts", total, procs["root"].starts+procs["mid"].starts+procs["leaf"].starts)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("root has %d lines of %d after 5 minutes", countLines(out), total)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// scanChainOutput counts the distinct sequence numbers and the lines of the
// root's file, checking each line's origin and hop count.
func scanChainOutput(t *testing.T, path string, total int) (distinct, lines int, bad string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := make([]bool, total+1)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Bytes()
		lines++
		if !bytes.HasPrefix(l, []byte(`{"id":"leaf.`)) || !bytes.Contains(l, []byte(`"hops":2,`)) {
			return 0, 0, fmt.Sprintf("line %d is not a leaf event two hops away: %s", lines, l)
		}
		i := bytes.Index(l, []byte(`seq=`))
		j := bytes.IndexByte(l[i:], '"')
		n, err := strconv.Atoi(string(l[i+4 : i+j]))
		if i < 0 || j < 0 || err != nil || n < 1 || n > total {
			return 0, 0, fmt.Sprintf("line %d: no sequence number: %s", lines, l)
		}
		if !seen[n] {
			seen[n] = true
			distinct++
		}
	}
	return distinct, lines, ""
}
