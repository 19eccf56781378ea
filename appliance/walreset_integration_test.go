package appliance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWALResetIntegration (issue 14.1): a leaf with a fixed node ID (id =
// leaf1, as its certificate requires) relays to a root and keeps its own
// file output. 20 messages go through; the leaf is stopped, its WAL
// directory deleted and the leaf started again, so its WAL numbering starts
// at 1 again; 22 more messages go through. The new WAL has a new epoch, so
// the new events' IDs (leaf1.EPOCH:N) cannot be taken for the old ones: the
// root and the leaf's own file each hold all 42 exactly once, and the root's
// relay input counted no duplicate.
func TestWALResetIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	bin, dir, ca := relayFixture(t, "root", "leaf1")
	relayPort, syslogPort, rootHTTP, leafHTTP := freeUDPPort(t), freePort(t), freePort(t), freePort(t)
	tlsKeys := relayKeys(ca)
	root := runBinary(t, bin, writeNodeINI(t, dir, "root", fmt.Sprintf(
		"[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp = 127.0.0.1:%d\nrelay = 127.0.0.1:%d\n[relay]\n%s[output.file]\npath = events.jsonl\n[output.store]\nenabled = false\n",
		rootHTTP, relayPort, tlsKeys)), dir, "root")
	leafCfg := writeNodeINI(t, dir, "leaf1", fmt.Sprintf(
		"[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\n[relay]\n%supstream = 127.0.0.1:%d\n[output.file]\npath = events.jsonl\n[output.store]\nenabled = false\n",
		syslogPort, leafHTTP, tlsKeys, relayPort))
	leaf := runBinary(t, bin, leafCfg, dir, "leaf1")

	rootHP, leafHP := fmt.Sprintf("127.0.0.1:%d", rootHTTP), fmt.Sprintf("127.0.0.1:%d", leafHTTP)
	rootOut, leafOut := filepath.Join(dir, "root", "events.jsonl"), filepath.Join(dir, "leaf1", "events.jsonl")
	deadline := time.Now().Add(2 * time.Minute)
	// caughtUp: the WAL of the node at hp holds at least n records and the
	// cursor has committed all of them (for the relay output: the parent
	// ACKed them, so they are in the parent's WAL).
	caughtUp := func(hp, cursor string, n float64) func() bool {
		return func() bool {
			last, ok1 := scrapeMetric(hp, "logpacker_wal_last_index")
			lag, ok2 := scrapeMetric(hp, `logpacker_wal_cursor_lag_records{cursor="`+cursor+`"}`)
			return ok1 && ok2 && last >= n && lag == 0
		}
	}
	// deliver sends total messages with app, and waits until both files
	// had every record their WALs hold.
	deliver := func(app string, total int) {
		t.Helper()
		sendSeq(t, fmt.Sprintf("127.0.0.1:%d", syslogPort), app, total)
		leaf.waitFor(deadline, "the leaf's relay output to deliver "+app, caughtUp(leafHP, "output.relay", float64(total)))
		leaf.waitFor(deadline, "the leaf's file output to write "+app, caughtUp(leafHP, "output.file", float64(total)))
		root.waitFor(deadline, "the root's file output to write "+app, caughtUp(rootHP, "output.file", 0))
	}

	deliver("before", 20)
	leaf.cmd.Process.Signal(syscall.SIGTERM)
	if err := leaf.cmd.Wait(); err != nil {
		t.Fatalf("leaf exit after SIGTERM: %v\n%s", err, leaf.logs())
	}
	if err := os.RemoveAll(filepath.Join(dir, "leaf1", "wal")); err != nil {
		t.Fatal(err)
	}
	leaf.start()
	deliver("after", 22)

	dups, _ := scrapeMetric(rootHP, "logpacker_relay_duplicates_total")
	for _, c := range []struct {
		name, path string
		hops       uint8
	}{{"root", rootOut, 1}, {"leaf1", leafOut, 0}} {
		evs := readEvents(t, c.path)
		count := map[string]int{}      // "app seq=N" → lines
		origins := map[string]string{} // app → the origin of its events
		var bad []string
		for _, ev := range evs {
			count[ev.App+" "+ev.Message]++
			if !fromNode(ev.ID, "leaf1") || ev.Hops != c.hops {
				bad = append(bad, fmt.Sprintf("%s %q (%d hops)", ev.ID, ev.Message, ev.Hops))
			}
			if o, ok := origins[ev.App]; ok && o != ev.ID.Node {
				t.Errorf("%s: %s events from two origins, %s and %s", c.name, ev.App, o, ev.ID.Node)
			}
			origins[ev.App] = ev.ID.Node
		}
		if len(bad) > 0 {
			t.Errorf("%s: %d events without an ID leaf1.EPOCH:N or with hops other than %d, the first: %s", c.name, len(bad), c.hops, bad[0])
		}
		missing := 0
		for app, n := range map[string]int{"before": 20, "after": 22} {
			for i := 1; i <= n; i++ {
				if count[fmt.Sprintf("%s seq=%d", app, i)] == 0 {
					missing++
				}
			}
		}
		t.Logf("%s: %d lines, %d distinct messages, %d of 42 missing; origins %v; root relay duplicates %.0f", c.name, len(evs), len(count), missing, origins, dups)
		if missing != 0 || len(evs) != 42 || len(count) != 42 {
			t.Errorf("%s: %d lines, %d distinct messages, %d of 42 missing; want all 42 exactly once (root relay duplicates: %.0f)",
				c.name, len(evs), len(count), missing, dups)
		}
		if origins["before"] == origins["after"] {
			t.Errorf("%s: the events before and after the WAL reset have the same origin %q", c.name, origins["before"])
		}
	}
	if dups != 0 {
		t.Errorf("root: logpacker_relay_duplicates_total = %.0f, want 0", dups)
	}
}
