package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/appliance/match"
	"logpacker/protocol"
	"logpacker/wal/durable"
)

// Options configure an Alerter.
type Options struct {
	Dir        string // its state: Dir/state.json, Dir/outbox/ (made if missing)
	DeadLetter string // JSON lines: what a provider refused for good
	Node       string // the node's ID, in digests
	Epoch      string // the WAL's epoch: the state's WAL indexes are this WAL's
	Config     *Config
	Logger     *slog.Logger
	Metrics    prometheus.Registerer
	Now        func() time.Time // the clock windows are measured with; default time.Now
	Checkpoint time.Duration    // how often matches are made durable (and due digests built); default 1s
}

// Alerter is the alerting consumer: a pipeline.IndexedSink that folds the
// events its rules match into open digests, makes them durable in its state
// file before it confirms a batch, builds a digest when its interval is
// over and sends it through every provider of its rule, from a durable
// outbox, until each took it. See the package doc.
type Alerter struct {
	o   Options
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	cfg     *Config
	plan    []planRule
	open    map[string]*acc // rule/group → its open digest
	through uint64          // the highest WAL index folded
	replay  uint64          // the state's through at open: records up to it were folded before (skipped)
	limits  map[string][]time.Time
	dropped map[string][2]uint64 // rule/group → digests, events the limit dropped since the last built
	closing []*Digest            // built, in the state file, not yet in the outbox
	staged  []*Digest            // in the outbox, still in the state file's closing
	dirty   bool                 // the state changed since it was written
	waiting []func(error)        // batches confirmed at the next state write

	outMu     sync.Mutex
	outbox    map[string]*outItem
	delivered map[string]bool // id \x00 kind \x00 target
	dlog      *os.File        // outbox/delivered.log
	lanes     map[string]*lane

	tickMu sync.Mutex // one tick at a time (the loop's, Close's, tests')
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

// planRule is a rule as the fold uses it.
type planRule struct {
	r      *Rule
	groups []planGroup
}

type planGroup struct {
	name string
	key  string
	m    *match.Matcher // nil: the group narrows nothing
}

type outItem struct {
	d    *Digest
	left map[string]bool // kinds that have not sent it yet
}

// state is state.json.
type state struct {
	Epoch   string                 `json:"epoch"`
	Through uint64                 `json:"through"`
	Open    []*acc                 `json:"open"`
	Closing []*Digest              `json:"closing,omitempty"`
	Limits  map[string][]time.Time `json:"limits,omitempty"`
	Dropped map[string][2]uint64   `json:"dropped,omitempty"`
}

// New opens the alerter's state (a crash's leftovers included: digests
// built but not in the outbox are put there, the outbox is sent again
// where it was not delivered) and starts its senders and its checkpoints.
func New(o Options) (*Alerter, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Checkpoint <= 0 {
		o.Checkpoint = time.Second
	}
	if o.Config == nil {
		o.Config = &Config{Groups: map[string]*Group{}, RetryMin: time.Second, RetryMax: 5 * time.Minute}
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, "outbox"), 0o750); err != nil {
		return nil, fmt.Errorf("alert: %w", err)
	}
	m, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	a := &Alerter{o: o, log: o.Logger.With("component", "alert"), m: m, open: map[string]*acc{},
		limits: map[string][]time.Time{}, dropped: map[string][2]uint64{}, outbox: map[string]*outItem{},
		delivered: map[string]bool{}, lanes: map[string]*lane{}, kick: make(chan struct{}, 1)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if err := a.load(); err != nil {
		return nil, err
	}
	a.setConfigLocked(o.Config, false)
	for _, k := range kinds {
		l := &lane{a: a, kind: k, wake: make(chan struct{}, 1)}
		a.lanes[k] = l
	}
	if err := a.loadOutbox(); err != nil {
		return nil, err
	}
	for _, l := range a.lanes {
		a.wg.Add(1)
		go l.run()
	}
	a.wg.Add(1)
	go a.loop()
	return a, nil
}

func (a *Alerter) statePath() string { return filepath.Join(a.o.Dir, "state.json") }
func (a *Alerter) outDir() string    { return filepath.Join(a.o.Dir, "outbox") }

// load reads state.json; digests it had built but not put in the outbox
// (a crash between the two) are put there.
func (a *Alerter) load() error {
	b, err := os.ReadFile(a.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("alert: state %s: %w (remove it to start afresh: open digests are lost, the outbox is kept)", a.statePath(), err)
	}
	if st.Epoch == a.o.Epoch {
		a.through, a.replay = st.Through, st.Through
	} else if st.Through > 0 {
		a.log.Warn("alert: the WAL is not the one the state was written for; its indexes are not skipped", "state_epoch", st.Epoch, "wal_epoch", a.o.Epoch)
	}
	for _, ac := range st.Open {
		if ac == nil {
			continue
		}
		ac.reindex()
		a.open[ac.Rule+"/"+ac.Group] = ac
	}
	if st.Limits != nil {
		a.limits = st.Limits
	}
	if st.Dropped != nil {
		a.dropped = st.Dropped
	}
	for _, d := range st.Closing {
		if err := a.writeOutbox(d); err != nil {
			return err
		}
	}
	if len(st.Closing) > 0 {
		a.log.Info("alert: digests built before a crash put in the outbox", "digests", len(st.Closing))
		if err := durable.WriteFileAtomic(a.statePath(), a.snapshotLocked(nil), 0o640); err != nil {
			return fmt.Errorf("alert: state: %w", err)
		}
	}
	return nil
}

// SetConfig applies a new notify.ini (a reload): new rules match from the
// next batch on; the open digests of rules or groups no longer there (or no
// longer sent to by their rule) are built now and sent with the old
// settings.
func (a *Alerter) SetConfig(cfg *Config) {
	a.mu.Lock()
	a.setConfigLocked(cfg, true)
	a.mu.Unlock()
	a.Kick()
}

func (a *Alerter) setConfigLocked(cfg *Config, flush bool) {
	var plan []planRule
	keep := map[string]bool{}
	for _, r := range cfg.Rules {
		pr := planRule{r: r}
		for _, g := range r.GroupsOf() {
			pg := planGroup{name: g, key: r.Name + "/" + g}
			if grp := cfg.Group(g); grp != nil && !grp.Match.All() {
				pg.m = &grp.Match
			}
			pr.groups = append(pr.groups, pg)
			keep[pg.key] = true
		}
		plan = append(plan, pr)
	}
	if flush && a.cfg != nil {
		now := a.o.Now()
		for key, ac := range a.open {
			if !keep[key] {
				a.closeLocked(key, ac, a.cfg, now)
			}
		}
	}
	a.cfg, a.plan = cfg, plan
}

// Config is the notify.ini the alerter runs.
func (a *Alerter) Config() *Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// Kick makes the alerter build the digests that are due now (tests and
// reloads; it checks every Checkpoint anyway).
func (a *Alerter) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// SendIndexed folds evs (idx[i] is evs[i]'s WAL index) into the open
// digests; done is called once that is in the state file. Records at or
// below the index of the state it opened were folded before a crash (or a
// stop) and are skipped. It refuses no batch (but after Close), so the
// output loop hands batches over in WAL order, and "every record up to the
// highest index folded was folded" holds for each state written.
func (a *Alerter) SendIndexed(_ context.Context, evs []protocol.Event, idx []uint64, done func(error)) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errors.New("alert: closed")
	}
	now := a.o.Now()
	for i := range evs {
		if idx != nil {
			if idx[i] <= a.replay {
				continue
			}
			a.through = max(a.through, idx[i])
		}
		a.foldLocked(&evs[i], now)
	}
	if !a.dirty {
		a.mu.Unlock()
		go done(nil) // nothing to write: the batch matched nothing
		return nil
	}
	a.waiting = append(a.waiting, done)
	full := len(a.waiting) >= window/2
	a.mu.Unlock()
	if full { // write now rather than hold the output loop at its window
		a.Kick()
	}
	return nil
}

// foldLocked adds ev to the open digest of every (rule, group) it matches.
func (a *Alerter) foldLocked(ev *protocol.Event, now time.Time) {
	for i := range a.plan {
		pr := &a.plan[i]
		if !pr.r.Match.Match(ev) {
			continue
		}
		for j := range pr.groups {
			pg := &pr.groups[j]
			if pg.m != nil && !pg.m.Match(ev) {
				continue
			}
			ac := a.open[pg.key]
			if ac == nil {
				ac = newAcc(pr.r.Name, pg.name, now, pr.r.Interval.After(now))
				a.open[pg.key] = ac
			}
			ac.fold(ev, pr.r.Lines)
			a.dirty = true
		}
	}
}

// Send is SendIndexed without indexes (no replay check).
func (a *Alerter) Send(ctx context.Context, evs []protocol.Event, done func(error)) error {
	return a.SendIndexed(ctx, evs, nil, done)
}

// Write folds evs and returns once that is durable.
func (a *Alerter) Write(ctx context.Context, evs []protocol.Event) error {
	res := make(chan error, 1)
	if err := a.Send(ctx, evs, func(err error) { res <- err }); err != nil {
		return err
	}
	a.Kick()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// window is how many batches may await a state write: a second of the
// fastest ingest at 2048 events a batch; half of it makes a write now.
const window = 1024

// Window is the output loop's window of batches in flight.
func (a *Alerter) Window() int { return window }

// Close writes the state a last time and stops the senders (a send in
// progress is abandoned: it is sent again after a restart).
func (a *Alerter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
	err := a.tick(time.Time{}) // what was folded since the last write
	a.outMu.Lock()
	if a.dlog != nil {
		a.dlog.Close()
		a.dlog = nil
	}
	a.outMu.Unlock()
	return err
}

// loop writes the state every Checkpoint (and when kicked), building the
// digests that are due.
func (a *Alerter) loop() {
	defer a.wg.Done()
	t := time.NewTicker(a.o.Checkpoint)
	defer t.Stop()
	backoff := a.Config().RetryMin
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
		for {
			err := a.tick(a.o.Now())
			if err == nil {
				backoff = a.Config().RetryMin
				a.mu.Lock()
				again := len(a.staged) > 0
				a.mu.Unlock()
				if again {
					continue // the state still lists digests now in the outbox
				}
				break
			}
			a.m.stateErrors.Inc()
			a.log.Error("alert: cannot write the state; matches are not confirmed (the WAL keeps them) until it can", "err", err, "retry_in", backoff)
			select {
			case <-a.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, a.Config().RetryMax)
		}
	}
}

// tick builds the digests due at now (zero: none), writes the state if it
// changed, confirms the batches waiting for that, and puts the digests
// built into the outbox (two state writes: the first lists them, the
// second, at the next tick, no longer does; only then are they sent, so a
// crash can neither lose one nor send one again from the state).
func (a *Alerter) tick(now time.Time) error {
	a.tickMu.Lock()
	defer a.tickMu.Unlock()
	a.mu.Lock()
	if !now.IsZero() {
		for key, ac := range a.open {
			if !ac.End.After(now) {
				a.closeLocked(key, ac, a.cfg, now)
			}
		}
	}
	if !a.dirty && len(a.staged) == 0 {
		a.mu.Unlock()
		return nil
	}
	snap := a.snapshotLocked(a.closing)
	waiting, staged, closing := a.waiting, a.staged, slices.Clone(a.closing)
	a.waiting, a.staged, a.dirty = nil, nil, false
	a.mu.Unlock()
	if err := durable.WriteFileAtomic(a.statePath(), snap, 0o640); err != nil {
		a.mu.Lock()
		a.waiting = append(waiting, a.waiting...)
		a.staged = append(staged, a.staged...)
		a.dirty = true
		a.mu.Unlock()
		return fmt.Errorf("alert: write state: %w", err)
	}
	a.m.checkpoints.Inc()
	for _, f := range waiting {
		f(nil)
	}
	for _, d := range staged {
		a.enqueue(d)
	}
	var err error
	for _, d := range closing {
		if err = a.writeOutbox(d); err != nil {
			break // stays in closing; the next tick tries again
		}
		a.mu.Lock()
		a.closing = slices.DeleteFunc(a.closing, func(x *Digest) bool { return x == d })
		a.staged = append(a.staged, d)
		a.dirty = true
		a.mu.Unlock()
	}
	return err
}

// closeLocked builds ac's digest (or drops it by its rule's limit) with cfg.
func (a *Alerter) closeLocked(key string, ac *acc, cfg *Config, now time.Time) {
	delete(a.open, key)
	a.dirty = true
	r := cfg.Rule(ac.Rule)
	if r == nil {
		return
	}
	if r.Limit > 0 {
		recent := slices.DeleteFunc(a.limits[key], func(t time.Time) bool { return !r.LimitPer.After(t).After(now) })
		if len(recent) >= r.Limit {
			dr := a.dropped[key]
			a.dropped[key] = [2]uint64{dr[0] + 1, dr[1] + ac.Total}
			a.limits[key] = recent
			a.m.dropped.WithLabelValues(ac.Rule).Inc()
			a.log.Warn("alert: digest dropped by the rule's limit", "rule", ac.Rule, "group", ac.Group, "events", ac.Total,
				"limit", fmt.Sprintf("%d/%s", r.Limit, r.LimitPer))
			return
		}
		a.limits[key] = append(recent, now)
	}
	d := ac.digest(a.o.Node, r.Top)
	dr := a.dropped[key]
	d.DroppedDigests, d.DroppedEvents = dr[0], dr[1]
	delete(a.dropped, key)
	d.Targets = map[string][]string{}
	for _, k := range r.Providers {
		if ts := cfg.recipients(k, ac.Group); len(ts) > 0 {
			d.Targets[k] = ts
		}
	}
	a.closing = append(a.closing, d)
	a.m.built.WithLabelValues(ac.Rule).Inc()
	a.log.Info("alert: digest built", "digest", d.ID, "events", d.Total, "providers", strings.Join(r.Providers, ","))
}

// snapshotLocked is state.json now, listing closing.
func (a *Alerter) snapshotLocked(closing []*Digest) []byte {
	st := state{Epoch: a.o.Epoch, Through: a.through, Closing: closing, Limits: a.limits, Dropped: a.dropped}
	for _, ac := range a.open {
		st.Open = append(st.Open, ac)
	}
	slices.SortFunc(st.Open, func(x, y *acc) int { return strings.Compare(x.Rule+"/"+x.Group, y.Rule+"/"+y.Group) })
	b, err := json.Marshal(st)
	if err != nil {
		panic(err) // maps, strings, numbers and times: cannot fail
	}
	return b
}

// Through is the WAL index up to which records are folded (tests).
func (a *Alerter) Through() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.through
}

// OpenEvents is how many events the open digests hold, by rule/group.
func (a *Alerter) OpenEvents() map[string]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]uint64{}
	for k, ac := range a.open {
		out[k] = ac.Total
	}
	return out
}

// jitter is d ± 25%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d*3/4 + rand.N(d/2+1)
}
