package alert

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/protocol"
)

// clock is the alerter's clock in tests: it moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type testAlerter struct {
	*Alerter
	clk *clock
	dir string
	seq uint64
}

// newTestAlerter opens an alerter in dir with cfg and a clock of its own.
func newTestAlerter(t testing.TB, dir string, cfg *Config) *testAlerter {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	return openTestAlerter(t, dir, cfg, clk)
}

func openTestAlerter(t testing.TB, dir string, cfg *Config, clk *clock) *testAlerter {
	t.Helper()
	a, err := New(Options{Dir: dir, DeadLetter: filepath.Join(dir, "deadletter.jsonl"), Node: "n1", Epoch: "e1", Config: cfg,
		Metrics: prometheus.NewRegistry(), Now: clk.Now, Checkpoint: time.Hour, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &testAlerter{Alerter: a, clk: clk, dir: dir, seq: a.Through()}
}

// testLogger logs to the test's log (shown when it fails, or with -v).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fold gives evs to the alerter as the next WAL records and waits until
// they are confirmed (in the state file).
func fold(t testing.TB, a *testAlerter, evs ...protocol.Event) {
	t.Helper()
	idx := make([]uint64, len(evs))
	for i := range idx {
		a.seq++
		idx[i] = a.seq
	}
	done := make(chan error, 1)
	if err := a.SendIndexed(context.Background(), evs, idx, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// flush builds what is due now, writes the state and puts what was built
// in the outbox, in the lanes' queues.
func flush(t testing.TB, a *testAlerter) {
	t.Helper()
	for {
		if err := a.tick(a.clk.Now()); err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		more := len(a.staged) > 0 || len(a.closing) > 0
		a.mu.Unlock()
		if !more {
			return
		}
	}
}

func ev(host, app string, sev protocol.Severity, msg string) protocol.Event {
	return protocol.Event{Host: host, App: app, Severity: sev, Message: msg, Time: time.Date(2026, 12, 2, 9, 59, 0, 0, time.UTC)}
}

// waitOutboxEmpty waits until every digest built was delivered everywhere.
func waitOutboxEmpty(t testing.TB, a *testAlerter) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for len(a.Outbox()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %v", a.Outbox())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fastRetry is notify.ini's [notify] for tests: sends are retried at once.
const fastRetry = "[notify]\nretry_min = 10ms\n"

func mustParse(t testing.TB, text string) *Config {
	t.Helper()
	cfg, err := ParseConfig("notify.ini", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestHundredThousandOneDigest: 100,000 matching events in one interval
// make exactly one digest per (rule, group), with every event counted.
func TestHundredThousandOneDigest(t *testing.T) {
	h := newHTTPStandIn(t)
	cfg := mustParse(t, fmt.Sprintf(fastRetry+`[webhook]
urls = %[1]s/webhook/default
[group.ops]
webhooks = %[1]s/webhook/ops
[group.web]
webhooks = %[1]s/webhook/web
host = web-*
[rule.all]
providers = webhook
groups = ops, web
interval = 10m
lines = 5
top = 3
`, h.URL))
	a := newTestAlerter(t, t.TempDir(), cfg)
	const n = 100_000
	batch := make([]protocol.Event, 0, 2048)
	for i := range n {
		host := "web-1"
		if i%4 == 0 {
			host = "db-1"
		}
		batch = append(batch, ev(host, "app", protocol.Severity(i%8), fmt.Sprintf("message %d", i%5)))
		if len(batch) == cap(batch) || i == n-1 {
			fold(t, a, batch...)
			batch = batch[:0]
		}
		if i == n/2 {
			a.clk.Add(9 * time.Minute) // still within the interval
			flush(t, a)
		}
	}
	if len(a.Outbox()) != 0 || len(h.Requests("/webhook/")) != 0 {
		t.Fatal("a digest was built before the interval ended")
	}
	a.clk.Add(time.Minute)
	flush(t, a)
	waitOutboxEmpty(t, a)
	ops, web := h.Requests("/webhook/ops"), h.Requests("/webhook/web")
	if len(ops) != 1 || len(web) != 1 {
		t.Fatalf("digests: ops %d, web %d; want one each", len(ops), len(web))
	}
	if got := ops[0].JSON["total"].(float64); got != n {
		t.Errorf("ops digest total %v, want %d", got, n)
	}
	if got := web[0].JSON["total"].(float64); got != n*3/4 {
		t.Errorf("web digest total %v, want %d", got, n*3/4)
	}
	if got := len(ops[0].JSON["lines"].([]any)); got != 5 {
		t.Errorf("lines %d", got)
	}
	top := ops[0].JSON["top"].([]any)
	if len(top) != 3 || top[0].(map[string]any)["count"].(float64) != n/5 {
		t.Errorf("top %v", top)
	}
	if k := ops[0].Header.Get("Idempotency-Key"); k != ops[0].JSON["id"] {
		t.Errorf("Idempotency-Key %q, id %v", k, ops[0].JSON["id"])
	}
	// nothing more, however long
	a.clk.Add(time.Hour)
	flush(t, a)
	if len(a.Outbox()) != 0 || len(h.Requests("/webhook/")) != 2 {
		t.Fatal("more digests without events")
	}
}

// TestGroups: monitoring gets only err..emerg from every host; dev gets
// every level, from its own hosts only.
func TestGroups(t *testing.T) {
	h := newHTTPStandIn(t)
	cfg := mustParse(t, fmt.Sprintf(fastRetry+`[webhook]
[group.monitoring]
webhooks = %[1]s/webhook/monitoring
[group.dev]
webhooks = %[1]s/webhook/dev
host = dev-*
[rule.fatal]
providers = webhook
levels = err..emerg
groups = monitoring
interval = 1m
[rule.dev]
providers = webhook
groups = dev
interval = 1m
`, h.URL))
	a := newTestAlerter(t, t.TempDir(), cfg)
	var evs []protocol.Event
	for _, host := range []string{"web-1", "dev-1", "dev-2"} {
		for sev := protocol.SevEmerg; sev <= protocol.SevDebug; sev++ {
			evs = append(evs, ev(host, "app", sev, "x"))
		}
	}
	fold(t, a, evs...)
	a.clk.Add(time.Minute)
	flush(t, a)
	waitOutboxEmpty(t, a)
	mon, dev := h.Requests("/webhook/monitoring"), h.Requests("/webhook/dev")
	if len(mon) != 1 || len(dev) != 1 {
		t.Fatalf("monitoring %d, dev %d digests", len(mon), len(dev))
	}
	if got := mon[0].JSON["severity"].(map[string]any); len(got) != 4 || got["err"].(float64) != 3 || got["info"] != nil {
		t.Errorf("monitoring severities %v", got)
	}
	if got := mon[0].JSON["hosts"].(map[string]any); len(got) != 3 {
		t.Errorf("monitoring hosts %v", got)
	}
	if got := dev[0].JSON["severity"].(map[string]any); len(got) != 8 {
		t.Errorf("dev severities %v", got)
	}
	if got := dev[0].JSON["hosts"].(map[string]any); len(got) != 2 || got["web-1"] != nil {
		t.Errorf("dev hosts %v", got)
	}
}

// TestCrashBetweenDigestAndSend: the alerter is closed (as a crash would
// stop it) after a digest was built and before any provider took it; the
// next one sends it, once, and the replayed WAL records are not counted
// twice.
func TestCrashBetweenDigestAndSend(t *testing.T) {
	h := newHTTPStandIn(t)
	dir := t.TempDir()
	text := fmt.Sprintf(fastRetry+"[webhook]\nurls = %s/webhook/x\n[rule.r]\nproviders = webhook\ninterval = 1m\n", h.URL)
	a := newTestAlerter(t, dir, mustParse(t, text))
	h.Fail(1 << 30) // the receiver is down
	fold(t, a, ev("h", "a", protocol.SevErr, "one"), ev("h", "a", protocol.SevErr, "two"))
	a.clk.Add(time.Minute)
	flush(t, a)
	if len(a.Outbox()) != 1 {
		t.Fatalf("outbox %v", a.Outbox())
	}
	a.Close()
	h.Fail(0)
	// a replay of what the WAL cursor had not passed, as after a crash
	b := openTestAlerter(t, dir, mustParse(t, text), a.clk)
	done := make(chan error, 1)
	b.SendIndexed(context.Background(), []protocol.Event{ev("h", "a", protocol.SevErr, "one"), ev("h", "a", protocol.SevErr, "two")},
		[]uint64{1, 2}, func(err error) { done <- err })
	flush(t, b)
	<-done
	waitOutboxEmpty(t, b)
	if got := b.OpenEvents(); len(got) != 0 {
		t.Errorf("the replayed records were folded again: %v", got)
	}
	if rs := h.Requests("/webhook/x"); len(rs) != 1 || rs[0].JSON["total"].(float64) != 2 {
		t.Fatalf("deliveries: %d", len(rs))
	}
}

// TestCrashInTheMiddleOfState: a state with digests built but not yet in
// the outbox (the process stopped between the two writes) puts them there
// at the next start; delivered targets are not sent again.
func TestStateClosingAndDelivered(t *testing.T) {
	h := newHTTPStandIn(t)
	dir := t.TempDir()
	text := fmt.Sprintf(fastRetry+"[webhook]\nurls = %[1]s/webhook/a, %[1]s/webhook/b\n[rule.r]\nproviders = webhook\ninterval = 1m\n", h.URL)
	a := newTestAlerter(t, dir, mustParse(t, text))
	fold(t, a, ev("h", "a", protocol.SevErr, "one"))
	a.clk.Add(time.Minute)
	a.mu.Lock()
	for key, ac := range a.open {
		a.closeLocked(key, ac, a.cfg, a.clk.Now())
	}
	snap := a.snapshotLocked(a.closing)
	d := a.closing[0]
	a.closing = nil
	a.mu.Unlock()
	a.Close()
	if err := os.WriteFile(filepath.Join(dir, "state.json"), snap, 0o640); err != nil {
		t.Fatal(err)
	}
	// target a took it before the "crash"
	line := fmt.Sprintf(`{"id":%q,"kind":"webhook","target":"%s/webhook/a"}`+"\n", d.ID, h.URL)
	if err := os.WriteFile(filepath.Join(dir, "outbox", "delivered.log"), []byte(line+`{"id":"torn`), 0o640); err != nil {
		t.Fatal(err)
	}
	b := openTestAlerter(t, dir, mustParse(t, text), a.clk)
	waitOutboxEmpty(t, b)
	if n, m := len(h.Requests("/webhook/a")), len(h.Requests("/webhook/b")); n != 0 || m != 1 {
		t.Fatalf("a got %d (delivered before), b got %d", n, m)
	}
}

// TestLimit: a rule's limit drops the digests beyond it, counts them and
// says so in the next one sent.
func TestLimit(t *testing.T) {
	h := newHTTPStandIn(t)
	cfg := mustParse(t, fmt.Sprintf(fastRetry+"[webhook]\nurls = %s/webhook/x\n[rule.r]\nproviders = webhook\ninterval = 1m\nlimit = 2/h\n", h.URL))
	a := newTestAlerter(t, t.TempDir(), cfg)
	for i := range 5 {
		fold(t, a, ev("h", "a", protocol.SevErr, fmt.Sprint(i)))
		a.clk.Add(time.Minute)
		flush(t, a)
	}
	waitOutboxEmpty(t, a)
	if n := len(h.Requests("/webhook/x")); n != 2 {
		t.Fatalf("%d digests sent within the limit 2/h", n)
	}
	a.clk.Add(time.Hour)
	fold(t, a, ev("h", "a", protocol.SevErr, "later"))
	a.clk.Add(time.Minute)
	flush(t, a)
	waitOutboxEmpty(t, a)
	rs := h.Requests("/webhook/x")
	if len(rs) != 3 || rs[2].JSON["dropped_digests"].(float64) != 3 || rs[2].JSON["dropped_events"].(float64) != 3 {
		t.Fatalf("after the hour: %d digests, last %v", len(rs), rs[len(rs)-1].JSON)
	}
}

// TestSetConfig: a new rule applies from the next batch; a removed rule's
// open digest is sent at once.
func TestSetConfig(t *testing.T) {
	h := newHTTPStandIn(t)
	one := fmt.Sprintf(fastRetry+"[webhook]\nurls = %s/webhook/x\n[rule.a]\nproviders = webhook\nlevels = err\n", h.URL)
	a := newTestAlerter(t, t.TempDir(), mustParse(t, one))
	fold(t, a, ev("h", "a", protocol.SevErr, "e"), ev("h", "a", protocol.SevInfo, "i"))
	if got := a.OpenEvents(); got["a/default"] != 1 || len(got) != 1 {
		t.Fatalf("open %v", got)
	}
	a.SetConfig(mustParse(t, strings.ReplaceAll(one, "[rule.a]", "[rule.b]")))
	flush(t, a)
	waitOutboxEmpty(t, a)
	if rs := h.Requests("/webhook/x"); len(rs) != 1 || rs[0].JSON["rule"] != "a" {
		t.Fatalf("the removed rule's digest: %d sent", len(rs))
	}
	fold(t, a, ev("h", "a", protocol.SevErr, "e2"))
	if got := a.OpenEvents(); got["b/default"] != 1 || len(got) != 1 {
		t.Fatalf("open after reload %v", got)
	}
}
