package appliance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/appliance/store"
)

// TestStoreKillIntegration: the embedded store is the default output, so it
// must keep the node's promise on its own. The real binary, with no output
// configured (the embedded [output.store] is on, the file output is turned
// off), takes 100,000 sequence-numbered messages over TCP; while the store
// works through them, logpacker is SIGKILLed three times and restarted. At
// the end the day files hold every sequence number exactly once.
func TestStoreKillIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	const chunk = 100_000
	bin := buildBinary(t)
	dir := t.TempDir()
	port, httpPort := freePort(t), freePort(t)
	cfg := writeTCPNodeConfig(t, dir, "store-test", port, httpPort, "[output.file]\npath =\n")
	lp := runBinary(t, bin, cfg, dir, "logpacker")
	hp := fmt.Sprintf("127.0.0.1:%d", httpPort)
	deadline := time.Now().Add(3 * time.Minute)
	waitFor := func(what string, ok func() bool) { t.Helper(); lp.waitFor(deadline, what, ok) }
	walLast := func() float64 { v, _ := scrapeMetric(hp, "logpacker_wal_last_index"); return v }
	storeLag := func() float64 {
		v, _ := scrapeMetric(hp, `logpacker_wal_cursor_lag_records{cursor="output.store"}`)
		return v
	}

	// All messages of a chunk into the WAL first (TCP syslog has no
	// acknowledgement: a kill while sending would lose what the socket held,
	// and prove nothing about the store).
	total := 0
	send := func() {
		sendSeqRange(t, fmt.Sprintf("127.0.0.1:%d", port), "storetest", total+1, total+chunk)
		total += chunk
		waitFor("every message in the WAL", func() bool { return walLast() >= float64(total) })
	}
	send()

	// SIGKILL while the store writes: each kill must find the store with
	// some stored and some not (else it tests nothing). When the store
	// caught up before a kill (a fast store, a slow scrape), another chunk
	// is sent and the kill tried again: the three kills all count.
	for k, tries := 1, 0; k <= 3; tries++ {
		if tries == 10 {
			t.Fatalf("the store caught up before every kill attempt: the kills would test nothing")
		}
		waitFor("the store to make progress", func() bool { return delivered(httpPort, "store") >= 2048 || storeLag() == 0 })
		lag := storeLag()
		if lag == 0 {
			t.Logf("kill %d: the store had caught up already; sending %d more", k, chunk)
			send()
			continue
		}
		lp.kill()
		t.Logf("kill %d: SIGKILL with %.0f records not yet committed by the store", k, lag)
		lp.start()
		waitFor("logpacker to come back", func() bool { _, ok := scrapeMetric(hp, "logpacker_wal_last_index"); return ok })
		k++
	}
	waitFor("the store to catch up", func() bool {
		lag, ok := scrapeMetric(hp, `logpacker_wal_cursor_lag_records{cursor="output.store"}`)
		return ok && lag == 0 && walLast() >= float64(total)
	})
	lp.cmd.Process.Signal(syscall.SIGTERM)
	if err := lp.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, lp.logs())
	}
	lp.cmd = nil

	// Read the store back with the store package (the node is stopped).
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "data", "store")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seen := make([]int, total+1)
	rows := 0
	q := store.Query{App: "storetest", Limit: store.MaxLimit}
	for {
		res, err := st.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range res.Events {
			var e struct{ Message string }
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			n, err := strconv.Atoi(strings.TrimPrefix(e.Message, "seq="))
			if err != nil || n < 1 || n > total {
				t.Fatalf("not a sequence number: %q", e.Message)
			}
			seen[n]++
			rows++
		}
		if res.Next == "" {
			break
		}
		q.Cursor = res.Next
	}
	for n := 1; n <= total; n++ {
		if seen[n] != 1 {
			t.Fatalf("seq=%d stored %d times (%d rows in all)", n, seen[n], rows)
		}
	}
	skips := strings.Count(lp.logs(), "skipping the events already stored")
	t.Logf("all %d messages in the store exactly once, across 3 SIGKILLs while it wrote; %d restarts found stored events in their replay and skipped them", total, skips)
}
