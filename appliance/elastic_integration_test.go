package appliance_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/appliance/sink/elastic/elastictest"
)

// TestElasticKillIntegration: the real binary with an elasticsearch output
// (and no other: the file and store outputs are off) at a fake
// Elasticsearch (package elastictest, on 127.0.0.1) that answers a 429 for
// some items on their first attempt and a mapping error for a few chosen
// sequence numbers. 100,000 sequence-numbered syslog messages over TCP go
// into the WAL first; while the output works through them, logpacker is
// SIGKILLed three times (each time with work left) and restarted. At the
// end every sequence number is exactly once either in the fake's documents
// or, for the chosen ones, in data_dir/deadletter-es-items.jsonl with its
// reason — never both, never missing, never twice; the index template was
// installed once (and found there by each restart); and the last run's
// logpacker_elasticsearch_*_total counters equal what the fake answered it.
func TestElasticKillIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	const total = 100_000
	poison := map[int]bool{7: true, 25_013: true, 50_021: true, 77_777: true, 99_999: true}
	es := elastictest.New(t)
	es.ItemFail = func(id string, attempt int) int { // id: es-test:<WAL index>
		_, idx, _ := strings.Cut(id, ":")
		if n, _ := strconv.Atoi(idx); n%37 == 0 && attempt == 1 {
			return 429
		}
		return 0
	}
	es.Poison = func(src []byte) bool { return poison[seqOf(src)] }

	bin := buildBinary(t)
	dir := t.TempDir()
	port, httpPort := freePort(t), freePort(t)
	cfg := writeTCPNodeConfig(t, dir, "es-test", port, httpPort, `[output.file]
path =
[output.store]
enabled = false
[output.es]
type = elasticsearch
urls = `+es.URL()+`
batch_size = 1000
`)
	lp := runBinary(t, bin, cfg, dir, "logpacker")
	hp := fmt.Sprintf("127.0.0.1:%d", httpPort)
	deadline := time.Now().Add(4 * time.Minute)
	waitFor := func(what string, ok func() bool) { t.Helper(); lp.waitFor(deadline, what, ok) }
	lag := func() (float64, bool) {
		return scrapeMetric(hp, `logpacker_wal_cursor_lag_records{cursor="output.es"}`)
	}

	// All messages into the WAL first: TCP syslog has no acknowledgement,
	// so a kill while sending would lose what the socket held.
	sendSeq(t, fmt.Sprintf("127.0.0.1:%d", port), "estest", total)
	waitFor("every message in the WAL", func() bool {
		v, _ := scrapeMetric(hp, "logpacker_wal_last_index")
		return v >= total
	})

	// SIGKILL while the output works: it must have stored some and have
	// some left (else the kill tested nothing). After each kill, wait until
	// the fake has answered every request of the dead process, so that what
	// it counts from the last restart on is the last run's alone.
	var before elastictest.Counts
	for k := 1; k <= 3; k++ {
		waitFor("the output to make progress", func() bool { n, _ := es.Stored(); return n >= k*total/4 })
		left, ok := lag()
		if !ok || left == 0 {
			t.Fatalf("kill %d: the output had no work left (lag %v, scraped %v): the kill would test nothing", k, left, ok)
		}
		lp.kill()
		waitFor("the fake to finish the killed process's requests", func() bool { return es.OpenConns() == 0 })
		stored, _ := es.Stored()
		t.Logf("kill %d: SIGKILL with %.0f records not yet committed by the output; %d documents stored", k, left, stored)
		before = es.Counts()
		lp.start()
		waitFor("logpacker to come back", func() bool { _, ok := lag(); return ok })
	}
	waitFor("the output to catch up", func() bool { v, ok := lag(); return ok && v == 0 })
	metric := func(name string) float64 {
		v, ok := scrapeMetric(hp, `logpacker_elasticsearch_`+name+`_total{output="es"}`)
		if !ok {
			t.Fatalf("no logpacker_elasticsearch_%s_total on /metrics", name)
		}
		return v
	}
	got := map[string]float64{}
	for _, name := range []string{"indexed", "duplicates", "retried_items", "dead_lettered", "template_errors"} {
		got[name] = metric(name)
	}
	lp.cmd.Process.Signal(syscall.SIGTERM)
	if err := lp.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, lp.logs())
	}
	lp.cmd = nil

	// The last run's counters are what the fake answered it.
	after := es.Counts()
	want := map[string]float64{
		"indexed":         float64(after.Created - before.Created),
		"duplicates":      float64(after.Conflicts - before.Conflicts),
		"retried_items":   float64(after.Injected - before.Injected),
		"dead_lettered":   float64(after.Rejected - before.Rejected),
		"template_errors": 0,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("last run: logpacker_elasticsearch_%s_total = %v, want %v (the fake's answers since the restart)", name, got[name], v)
		}
	}
	if got["indexed"] == 0 || got["retried_items"] == 0 || got["dead_lettered"] == 0 {
		t.Errorf("last run: counters %v: want events indexed, retried and dead-lettered (it had work left)", got)
	}
	t.Logf("last run: %v; the fake over all runs: %+v", got, after)

	// The template: put by the first run (create), there already for the
	// three restarts; every index was created with it.
	if log := es.TemplateLog(); !slices.Equal(log, slices.Repeat([]string{"logpacker-es create=true"}, 4)) {
		t.Errorf("template requests %q, want one create=true per run", log)
	}
	if after.Templates != 1 || after.Exists != 3 {
		t.Errorf("templates stored %d, found there %d: want 1 and 3", after.Templates, after.Exists)
	}
	if tm, ok := es.Template("logpacker-es"); !ok || !slices.Equal(tm.Patterns, []string{"logpacker-*"}) || tm.Meta["managed_by"] != "logpacker" {
		t.Errorf("template logpacker-es: %+v (there: %v)", tm, ok)
	}
	for index, used := range es.Indexes() {
		if used != "logpacker-es" {
			t.Errorf("index %s created with template %q, want logpacker-es", index, used)
		}
	}

	// Every sequence number exactly once: in the documents, or (the chosen
	// ones) in the dead-letter file with the reason.
	inDocs := make([]int, total+1)
	es.Documents(func(index, id string, src []byte) {
		if n := seqOf(src); n >= 1 && n <= total {
			inDocs[n]++
		} else {
			t.Errorf("document %s in %s: no sequence number: %s", id, index, src)
		}
	})
	inDead := make([]int, total+1)
	for _, l := range elastictest.ReadDeadLetters(t, filepath.Join(dir, "data", "deadletter-es-items.jsonl")) {
		n := seqOf([]byte(`"message":"` + l.Event.Message + `"`))
		if n < 1 || n > total || l.ID != l.Event.ID || l.Output != "es" || l.Status != 400 ||
			l.Error.Type != "mapper_parsing_exception" || !strings.Contains(l.Error.Reason, "failed to parse field [message]") {
			t.Errorf("dead-letter line %+v", l)
			continue
		}
		inDead[n]++
	}
	for n := 1; n <= total; n++ {
		docs, dead := inDocs[n], inDead[n]
		switch {
		case poison[n] && (dead != 1 || docs != 0):
			t.Errorf("seq=%d (rejected by the fake): %d times in the dead-letter file, %d in the documents; want 1 and 0", n, dead, docs)
		case !poison[n] && (docs != 1 || dead != 0):
			t.Errorf("seq=%d: %d times in the documents, %d in the dead-letter file; want 1 and 0", n, docs, dead)
		}
	}
	t.Logf("all %d messages exactly once (%d in the dead-letter file), across 3 SIGKILLs while the output worked", total, len(poison))
}

// seqOf reads N from `"message":"seq=N"` in a document; 0 if there is none.
func seqOf(src []byte) int {
	const key = `"message":"seq=`
	i := bytes.Index(src, []byte(key))
	if i < 0 {
		return 0
	}
	rest := src[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0
	}
	n, _ := strconv.Atoi(string(rest[:end]))
	return n
}
