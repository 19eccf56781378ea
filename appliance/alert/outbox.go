package alert

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/wal/durable"
)

// The outbox: every digest built is a file outbox/ID.json until each
// provider of its rule delivered it to each of its targets. What was
// delivered is appended to outbox/delivered.log (one JSON line per target,
// fsynced before the next send), so a restart sends only what was not.

// delivery is one line of delivered.log.
type delivery struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Target string `json:"target"`
	Err    string `json:"err,omitempty"` // refused for good (dead-lettered)
}

func deliveredKey(id, kind, target string) string { return id + "\x00" + kind + "\x00" + target }

// writeOutbox puts d in the outbox (durably) and adds it to the queue of
// items to send once enqueue is called.
func (a *Alerter) writeOutbox(d *Digest) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := durable.WriteFileAtomic(filepath.Join(a.outDir(), d.ID+".json"), b, 0o640); err != nil {
		return fmt.Errorf("alert: outbox: %w", err)
	}
	return nil
}

// loadOutbox reads the outbox and delivered.log (cutting a torn last line)
// and queues what is left to send, oldest first.
func (a *Alerter) loadOutbox() error {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	lp := filepath.Join(a.outDir(), "delivered.log")
	f, err := os.OpenFile(lp, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("alert: outbox: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = durable.RepairLastLine(f, fi.Size())
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("alert: outbox: delivered.log: %w", err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var dl delivery
		if json.Unmarshal(sc.Bytes(), &dl) == nil {
			a.delivered[deliveredKey(dl.ID, dl.Kind, dl.Target)] = true
		}
	}
	if _, err := f.Seek(0, 2); err != nil {
		f.Close()
		return err
	}
	a.dlog = f
	names, err := filepath.Glob(filepath.Join(a.outDir(), "*.json"))
	if err != nil {
		return err
	}
	var ds []*Digest
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return fmt.Errorf("alert: outbox: %w", err)
		}
		d := &Digest{}
		if err := json.Unmarshal(b, d); err != nil || d.ID+".json" != filepath.Base(n) {
			a.log.Error("alert: outbox: unreadable digest file moved aside", "file", n, "err", err)
			os.Rename(n, n+".bad")
			continue
		}
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(x, y *Digest) int {
		if c := x.End.Compare(y.End); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	for _, d := range ds {
		a.enqueueLocked(d)
	}
	if len(ds) > 0 {
		a.log.Info("alert: outbox: digests left to send", "digests", len(ds))
	}
	a.m.outbox.Set(float64(len(a.outbox)))
	return nil
}

// enqueue hands a digest in the outbox to its providers' lanes.
func (a *Alerter) enqueue(d *Digest) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	a.enqueueLocked(d)
	a.m.outbox.Set(float64(len(a.outbox)))
}

func (a *Alerter) enqueueLocked(d *Digest) {
	it := &outItem{d: d, left: map[string]bool{}}
	for k, ts := range d.Targets {
		for _, t := range ts {
			if !a.delivered[deliveredKey(d.ID, k, t)] {
				it.left[k] = true
			}
		}
	}
	a.outbox[d.ID] = it
	if len(it.left) == 0 {
		a.removeLocked(d.ID)
		return
	}
	for k := range it.left {
		if l := a.lanes[k]; l != nil {
			l.push(d.ID)
		}
	}
}

// record appends a delivery to delivered.log, durably.
func (a *Alerter) record(dl delivery) error {
	b, _ := json.Marshal(dl)
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if a.dlog == nil {
		return errors.New("alert: closed")
	}
	if _, err := a.dlog.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := a.dlog.Sync(); err != nil {
		return err
	}
	a.delivered[deliveredKey(dl.ID, dl.Kind, dl.Target)] = true
	return nil
}

// kindDone: kind delivered digest id to every target. When every kind has,
// the digest leaves the outbox (its file first: a crash between the two
// leaves delivered lines of no digest, which are harmless).
func (a *Alerter) kindDone(id, kind string) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	it := a.outbox[id]
	if it == nil {
		return
	}
	delete(it.left, kind)
	if len(it.left) == 0 {
		a.removeLocked(id)
	}
	a.m.outbox.Set(float64(len(a.outbox)))
}

func (a *Alerter) removeLocked(id string) {
	p := filepath.Join(a.outDir(), id+".json")
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		a.log.Error("alert: outbox: remove", "file", p, "err", err)
		return
	}
	durable.SyncDir(a.outDir())
	delete(a.outbox, id)
	for k := range a.delivered {
		if strings.HasPrefix(k, id+"\x00") {
			delete(a.delivered, k)
		}
	}
	if len(a.outbox) == 0 && a.dlog != nil { // nothing left: start the log afresh
		if err := a.dlog.Truncate(0); err == nil {
			a.dlog.Seek(0, 0)
			a.dlog.Sync()
		}
	}
}

func (a *Alerter) digest(id string) *Digest {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if it := a.outbox[id]; it != nil {
		return it.d
	}
	return nil
}

// Outbox is the IDs of the digests not yet delivered everywhere (tests,
// status).
func (a *Alerter) Outbox() []string {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	var ids []string
	for id := range a.outbox {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// lane sends one provider kind's digests, in order, each to each of its
// targets, with retries.
type lane struct {
	a    *Alerter
	kind string
	mu   sync.Mutex
	q    []string
	wake chan struct{}
}

func (l *lane) push(id string) {
	l.mu.Lock()
	l.q = append(l.q, id)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lane) pop() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.q) == 0 {
		return "", false
	}
	id := l.q[0]
	l.q = l.q[1:]
	return id, true
}

func (l *lane) run() {
	a := l.a
	defer a.wg.Done()
	for {
		id, ok := l.pop()
		if !ok {
			select {
			case <-a.ctx.Done():
				return
			case <-l.wake:
				continue
			}
		}
		d := a.digest(id)
		if d == nil {
			continue
		}
		for _, t := range d.Targets[l.kind] {
			a.outMu.Lock()
			done := a.delivered[deliveredKey(id, l.kind, t)]
			a.outMu.Unlock()
			if done {
				continue
			}
			if !l.deliver(d, t) {
				return // closing
			}
		}
		a.kindDone(id, l.kind)
	}
}

// deliver sends d to target until it is taken or refused for good (then
// dead-lettered); false when the alerter closes first.
func (l *lane) deliver(d *Digest, target string) bool {
	a := l.a
	backoff := a.Config().RetryMin
	for attempt := 1; ; attempt++ {
		cfg := a.Config()
		err := send(a.ctx, cfg.Providers, l.kind, d, target)
		if a.ctx.Err() != nil {
			return false
		}
		if err == nil || isPermanent(err) {
			dl := delivery{ID: d.ID, Kind: l.kind, Target: target}
			if err != nil {
				dl.Err = err.Error()
				a.m.errors.WithLabelValues(l.kind, "permanent").Inc()
				a.log.Error("alert: provider refused the digest for good; written to the dead-letter file", "digest", d.ID,
					"provider", l.kind, "target", target, "err", err, "dead_letter", a.o.DeadLetter)
				a.deadLetter(d, l.kind, target, err)
			} else {
				a.m.sent.WithLabelValues(l.kind).Inc()
				a.log.Info("alert: digest sent", "digest", d.ID, "provider", l.kind, "target", target, "attempts", attempt)
			}
			for a.record(dl) != nil { // without the record it would be sent again after a restart
				if !l.sleep(time.Second) {
					return false
				}
			}
			return true
		}
		a.m.errors.WithLabelValues(l.kind, "retry").Inc()
		wait := jitter(backoff)
		if ra := retryAfter(err); ra > 0 {
			wait = ra // the provider said when
		}
		if attempt == 1 || attempt%10 == 0 {
			a.log.Warn("alert: send failed; retrying", "digest", d.ID, "provider", l.kind, "target", target,
				"attempt", attempt, "retry_in", wait, "err", err)
		}
		if !l.sleep(wait) {
			return false
		}
		backoff = min(backoff*2, cfg.RetryMax)
	}
}

func (l *lane) sleep(d time.Duration) bool {
	select {
	case <-l.a.ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// deadLetter appends what a provider refused for good to the dead-letter
// file: the digest, the provider, the target and the error.
func (a *Alerter) deadLetter(d *Digest, kind, target string, err error) {
	if a.o.DeadLetter == "" {
		return
	}
	b, _ := json.Marshal(map[string]any{"time": time.Now().UTC(), "provider": kind, "target": target, "err": err.Error(), "digest": d})
	f, ferr := os.OpenFile(a.o.DeadLetter, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if ferr != nil {
		a.log.Error("alert: dead-letter file", "err", ferr)
		return
	}
	f.Write(append(b, '\n'))
	f.Sync()
	f.Close()
}

// metrics are the logpacker_alert_* series.
type metrics struct {
	built, dropped *prometheus.CounterVec
	sent, errors   *prometheus.CounterVec
	outbox         prometheus.Gauge
	checkpoints    prometheus.Counter
	stateErrors    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		built: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logpacker_alert_digests_built_total",
			Help: "Digests built (a rule's interval ended with matches), by rule."}, []string{"rule"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logpacker_alert_digests_dropped_total",
			Help: "Digests dropped by their rule's limit, by rule."}, []string{"rule"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logpacker_alert_sent_total",
			Help: "Digests a provider took, by provider (one per target)."}, []string{"provider"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logpacker_alert_send_errors_total",
			Help: "Failed sends, by provider and kind (retry: sent again later; permanent: dead-lettered)."}, []string{"provider", "kind"}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logpacker_alert_outbox_digests",
			Help: "Digests built and not yet delivered by every provider."}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{Name: "logpacker_alert_state_writes_total",
			Help: "Writes of the alert state (matches made durable)."}),
		stateErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "logpacker_alert_state_errors_total",
			Help: "Failed writes of the alert state (retried; the WAL keeps the events meanwhile)."}),
	}
	for _, c := range []prometheus.Collector{m.built, m.dropped, m.sent, m.errors, m.outbox, m.checkpoints, m.stateErrors} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("alert: metrics: %w", err)
			}
		}
	}
	return m, nil
}
