package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/appliance/match"
	"logpacker/protocol"
	"logpacker/wal"
)

// ConsumerOptions configure one output's consumer.
type ConsumerOptions struct {
	Name     string      // the cursor's name, "output.KIND", in logs and dead letters
	Kind     string      // KIND: the metrics' output label
	NodeID   string      // the origin given to events stored without an ID: node ID and WAL epoch (protocol.Origin)
	Cursor   *wal.Cursor // the output's own cursor
	Sink     Sink
	Match    *match.Matcher // which events the sink gets; nil or empty: all
	Batch    int            // records per batch at most; default 2048
	MaxBytes int            // record bytes per batch at most; default 8 MiB
	// Linger (flush_interval): a plain Sink's batch that is not full waits
	// up to this long, from its first record, for more. 0: sent at once.
	Linger    time.Duration
	DeadPath  string        // the dead-letter file (JSON lines)
	BackoffLo time.Duration // first retry delay; default 100ms
	BackoffHi time.Duration // retry delays grow up to this; default 30s
	Logger    *slog.Logger
	Metrics   prometheus.Registerer // the logpacker_output_* metrics (output="KIND") go here
}

// NewConsumer makes the consumer of one output; Run moves it.
func NewConsumer(o ConsumerOptions) *Consumer {
	if o.Batch <= 0 {
		o.Batch = 2048
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 20
	}
	if o.BackoffLo <= 0 {
		o.BackoffLo = 100 * time.Millisecond
	}
	if o.BackoffHi <= 0 {
		o.BackoffHi = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	c := &Consumer{name: o.Name, nodeID: o.NodeID, cur: o.Cursor, sink: o.Sink, batch: o.Batch,
		maxBytes: o.MaxBytes, linger: o.Linger, log: o.Logger, m: newOutputMetrics(o.Metrics, o.Kind),
		deadPath: o.DeadPath, backoffLo: o.BackoffLo, backoffHi: o.BackoffHi}
	c.SetMatch(o.Match)
	return c
}

// SetMatch replaces the output's matcher (nil or empty: every event), safe
// while Run moves: each batch is selected with the matcher it started with,
// so the first batch read after SetMatch returns uses m. m must not change
// afterwards.
func (c *Consumer) SetMatch(m *match.Matcher) {
	if m != nil && m.All() {
		m = nil // keeps the paths that do not decode (relay: records forwarded as they are)
	}
	c.match.Store(m)
}

// Stop asks Run to read no more and to return once the batches it already
// handed to the sink are delivered and committed (or its ctx ends first).
// Nothing read after Stop returns is delivered. Safe to call more than once,
// before or during Run.
func (c *Consumer) Stop() {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	c.stopped = true
	if c.stopRead != nil {
		c.stopRead()
	}
}

// Unregister removes the output's logpacker_output_* metrics from reg (the
// registry given as ConsumerOptions.Metrics): the output is gone.
func (c *Consumer) Unregister(reg prometheus.Registerer) { c.m.unregister(reg) }

// Name is the consumer's cursor name (output.KIND).
func (c *Consumer) Name() string { return c.name }

// Sink is the output the consumer delivers to.
func (c *Consumer) Sink() Sink { return c.sink }

// Linger is the output's flush_interval.
func (c *Consumer) Linger() time.Duration { return c.linger }

// Committed is the WAL index up to which the output confirmed delivery.
func (c *Consumer) Committed() uint64 { return c.cur.Committed() }

// Waiting is how long the sink has had a batch without answering (a Write
// that has not returned, a window's oldest batch neither acknowledged nor
// failed), or 0 when nothing is outstanding: retry backoffs, reading the
// WAL and an idle output are not waiting. A sink that never answers (a
// wedged consumer) makes it grow without bound: the node's watchdog
// heartbeat (appliance.Node.Health) is built on it.
func (c *Consumer) Waiting(now time.Time) time.Duration {
	if t := c.waiting.Load(); t != 0 {
		return now.Sub(time.Unix(0, t))
	}
	return 0
}

// Run moves the cursor until ctx ends (nil) or reading the WAL or
// committing fails (the error). See run.
func (c *Consumer) Run(ctx context.Context) error { return c.run(ctx) }

// Consumer moves one output's cursor through the WAL: read a batch, decode,
// select, deliver with retries, commit. The cursor moves only after the sink
// says delivered (or the batch was dead-lettered for a permanent error).
// Events the matcher does not select are passed over: the commit covers the
// whole batch read, and a batch with none selected is committed without
// calling the sink.
type Consumer struct {
	name     string
	nodeID   string
	cur      *wal.Cursor
	sink     Sink
	match    atomic.Pointer[match.Matcher] // nil: every event; SetMatch swaps it
	batch    int
	maxBytes int
	// linger (flush_interval): a plain Sink's batch that is not full waits
	// up to this long, from its first record, for more. 0: sent at once.
	linger time.Duration
	// waiting is the heartbeat (Waiting): when the sink was handed the
	// batch it has not answered yet (a Write call, or the oldest batch of
	// a window in flight), in Unix nanoseconds; 0: none outstanding.
	waiting   atomic.Int64
	log       *slog.Logger
	m         *outputMetrics
	deadPath  string
	backoffLo time.Duration
	backoffHi time.Duration

	deadMu sync.Mutex

	stopMu   sync.Mutex
	stopped  bool               // Stop was called
	stopRead context.CancelFunc // ends run's stage 1

	// spare holds the buffers of batches an IndexedSink copied, for stage 1
	// to reuse: batches in flight keep none.
	spare chan batchBufs
}

// batchBufs are a batch's reusable buffers.
type batchBufs struct {
	rbuf []byte
	evs  []protocol.Event
	idx  []uint64
}

// batchWork is one batch on its way through the consumer's two stages.
type batchWork struct {
	rbuf []byte           // read buffer the records alias (reused)
	recs []wal.Record     // the batch as read (RecordSink with a matcher: the records selected)
	evs  []protocol.Event // plain Sink: the decoded batch (events selected)
	idx  []uint64         // IndexedSink: evs[i]'s WAL index
	data []byte           // PreparedSink: the encoded batch (events selected)
	n    int              // events to deliver (selected and decodable)
	last uint64           // WAL index of the batch's last record read
	m    *match.Matcher   // the matcher the batch was selected with (nil: all)
	sent int64            // window: when it was sent (Unix nanoseconds)

	// WindowSink: the batch's outcome, once done is closed
	done chan struct{}
	err  error
	// released: an IndexedSink copied the batch and its buffers went back
	// to be reused; it cannot be sent again.
	released bool
}

// prepareChunk is how many events a PreparedSink encodes per call: records are
// decoded and encoded a few at a time, so the decoded events stay in the CPU's
// cache instead of a whole batch of them going through memory twice.
const prepareChunk = 64

// readBufSize is each batch's reusable WAL read buffer: a 2048-event batch of
// syslog-sized records fits; larger batches spill into fresh buffers.
const readBufSize = 2 << 20

// run moves the cursor in two stages, so that on two cores the next batch is
// read, decoded and (PreparedSink) encoded while the last one is written:
//
//	stage 1 (goroutine): Next → decode+select+Prepare, 64 at a time ─┐ one batch waiting
//	stage 2 (here):      Write/WritePrepared, with retries → Commit
//
// Selecting (the matcher) happens in stage 1, before Prepare; a RecordSink
// without a matcher gets the records undecoded, with one the records are
// decoded to be matched and the selected ones forwarded as they are.
//
// Commits stay in WAL order and follow delivery; a batch prepared but not
// written when ctx ends is simply read again on restart. Stop ends stage 1
// only (rctx): stage 2 delivers what stage 1 handed over, then run returns.
func (c *Consumer) run(ctx context.Context) error {
	defer c.waiting.Store(0)
	ctx, cancel := context.WithCancel(ctx)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	c.stopMu.Lock()
	c.stopRead = rcancel
	if c.stopped {
		rcancel()
	}
	c.stopMu.Unlock()
	ps, _ := c.sink.(PreparedSink)
	ws, _ := c.sink.(WindowSink)
	rs, _ := c.sink.(RecordSink)
	is, _ := c.sink.(IndexedSink)
	c.spare = make(chan batchBufs, 2)
	window := 1
	if ws != nil {
		window = max(1, ws.Window())
	}
	todo := make(chan *batchWork, 1)
	free := make(chan *batchWork, window+1)
	for range window + 1 {
		free <- &batchWork{}
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(todo)
		var chunk []protocol.Event
		for {
			var w *batchWork
			select {
			case w = <-free:
			case <-rctx.Done():
				return
			}
			var recs []wal.Record
			var err error
			if ps != nil || ws != nil {
				// Prepare and Send copy what they need, and a batch in flight
				// keeps its own buffer until it is committed: reuse it.
				if w.rbuf == nil {
					select {
					case b := <-c.spare:
						w.rbuf, w.evs, w.idx = b.rbuf, b.evs, b.idx
					default:
						w.rbuf = make([]byte, 0, readBufSize)
					}
				}
				recs, err = c.cur.NextInto(rctx, c.batch, c.maxBytes, w.rbuf)
			} else {
				// A plain Sink may keep the events' strings, which alias the
				// records: fresh buffers.
				recs, err = c.cur.Next(rctx, c.batch, c.maxBytes)
				if err == nil && c.linger > 0 {
					recs = c.fill(rctx, recs)
				}
			}
			if rctx.Err() != nil { // stopped: what was just read is read again by the next reader
				return
			}
			if err != nil {
				readErr <- fmt.Errorf("output %s: read wal: %w", c.name, err)
				return
			}
			w.recs, w.last, w.m = recs, recs[len(recs)-1].Index, c.match.Load()
			if ps != nil {
				w.data, w.n = w.data[:0], 0
				for start := 0; start < len(recs); start += prepareChunk {
					chunk = c.decode(chunk[:0], nil, w.m, recs[start:min(start+prepareChunk, len(recs))], true)
					w.n += len(chunk)
					w.data = ps.Prepare(w.data, chunk)
				}
			} else if rs != nil {
				if w.m != nil {
					w.recs = c.selectRecords(w.m, recs)
				}
				w.n = len(w.recs) // forwarded as they are
			} else {
				var idx *[]uint64
				if is != nil {
					w.idx = w.idx[:0]
					idx = &w.idx
				}
				w.evs = c.decode(w.evs[:0], idx, w.m, recs, true)
				w.n = len(w.evs)
			}
			select {
			case todo <- w:
			case <-rctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		for range todo { // wait for stage 1 to stop
		}
	}()
	if ws != nil {
		return c.runWindow(ctx, ws, rs, todo, free, readErr)
	}
	for w := range todo {
		write := func(ctx context.Context) error { return c.sink.Write(ctx, w.evs) }
		events := func() []protocol.Event { return w.evs }
		if ps != nil {
			write = func(ctx context.Context) error { return ps.WritePrepared(ctx, w.data) }
			events = func() []protocol.Event { return c.decode(nil, nil, w.m, w.recs, false) }
		}
		if err := c.deliver(ctx, w.n, events, write); err != nil {
			return nil // ctx ended while retrying; the batch is replayed on restart
		}
		if err := c.cur.Commit(w.last); err != nil {
			return fmt.Errorf("output %s: commit cursor at %d: %w", c.name, w.last, err)
		}
		c.m.delivered.Add(float64(w.n))
		c.m.committed.Set(float64(w.last))
		if cap(w.data) > 16<<20 {
			w.data = nil
		}
		w.recs = nil
		free <- w
	}
	select {
	case err := <-readErr:
		return err
	default:
		return nil
	}
}

// fill reads more records onto recs until the batch is full (c.batch
// records or about c.maxBytes) or c.linger has passed since recs were read.
// Records are durable in the WAL meanwhile: waiting delays delivery, it
// risks nothing.
func (c *Consumer) fill(ctx context.Context, recs []wal.Record) []wal.Record {
	size := 0
	for _, r := range recs {
		size += len(r.Data)
	}
	lctx, cancel := context.WithTimeout(ctx, c.linger)
	defer cancel()
	for len(recs) < c.batch && (c.maxBytes <= 0 || size < c.maxBytes) {
		lim := c.maxBytes
		if lim > 0 {
			lim -= size
		}
		more, err := c.cur.Next(lctx, c.batch-len(recs), lim)
		if err != nil { // the interval is up (or ctx ended: the caller finds out)
			break
		}
		for _, r := range more {
			size += len(r.Data)
		}
		recs = append(recs, more...)
	}
	return recs
}

// runWindow is stage 2 for a WindowSink: up to its Window batches are in
// flight at once. Batches settle in any order but are committed in WAL order:
// the cursor moves to the end of the oldest batch once it is delivered (or
// dead-lettered). When the oldest fails, every later batch in flight is let
// settle, and then each one that was not delivered is delivered again, in
// order, through Write with retries — so nothing ACKed is sent twice on
// purpose, and nothing unACKed is skipped.
func (c *Consumer) runWindow(ctx context.Context, ws WindowSink, rs RecordSink, todo <-chan *batchWork,
	free chan<- *batchWork, readErr <-chan error) error {
	is, _ := c.sink.(IndexedSink)
	var inflight []*batchWork
	in := todo
	done := func(w *batchWork) {
		if cap(w.data) > 16<<20 {
			w.data = nil
		}
		w.recs, w.evs = nil, w.evs[:0]
		free <- w
	}
	commit := func(w *batchWork) error {
		if err := c.cur.Commit(w.last); err != nil {
			return fmt.Errorf("output %s: commit cursor at %d: %w", c.name, w.last, err)
		}
		c.m.delivered.Add(float64(w.n))
		c.m.committed.Set(float64(w.last))
		return nil
	}
	send := func(ctx context.Context, w *batchWork, done func(error)) error {
		switch {
		case rs != nil:
			return rs.SendRecords(ctx, w.recs, done)
		case is != nil:
			if err := is.SendIndexed(ctx, w.evs, w.idx, done); err != nil {
				return err
			}
			// It copied the batch: its buffers serve the next one.
			select {
			case c.spare <- batchBufs{w.rbuf[:0], w.evs[:0], w.idx[:0]}:
			default:
			}
			w.rbuf, w.evs, w.idx, w.recs = nil, nil, nil, nil
			w.released = true
			return nil
		}
		return ws.Send(ctx, w.evs, done)
	}
	// events gives a batch as events, for the dead-letter file.
	events := func(w *batchWork) func() []protocol.Event {
		if rs != nil { // not decoded yet: report what does not decode
			return func() []protocol.Event { return c.decode(nil, nil, w.m, w.recs, true) }
		}
		return func() []protocol.Event { return w.evs }
	}
	// retry delivers w synchronously, with backoff, fail-over, dead letter.
	retry := func(w *batchWork) error {
		return c.deliver(ctx, w.n, events(w), func(ctx context.Context) error {
			res := make(chan error, 1)
			if err := send(ctx, w, func(err error) { res <- err }); err != nil {
				return err
			}
			select {
			case err := <-res:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	var head *batchWork // the oldest batch in flight, as c.waiting has it
	for {
		var oldest chan struct{}
		if len(inflight) > 0 {
			oldest = inflight[0].done
			if inflight[0] != head {
				head = inflight[0]
				c.waiting.Store(head.sent)
			}
		} else if head != nil {
			head = nil
			c.waiting.Store(0)
		}
		recv := in
		if len(inflight) >= cap(free)-1 {
			recv = nil // window full
		}
		if recv == nil && oldest == nil {
			break
		}
		if oldest != nil {
			select {
			case <-oldest: // settle first: a failed link's batches go again before any new one
				recv = nil
			default:
			}
		}
		select {
		case w, ok := <-recv:
			if !ok {
				in = nil
				continue
			}
			if w.n == 0 { // every record undecodable (dead-lettered)
				if err := commit(w); err != nil {
					return err
				}
				done(w)
				continue
			}
			w.err, w.released, w.sent = nil, false, time.Now().UnixNano()
			w.done = make(chan struct{})
			d := w.done
			if err := send(ctx, w, func(err error) { w.err = err; close(d) }); err != nil {
				w.err = err
				close(d)
			}
			inflight = append(inflight, w)
		case <-oldest:
			w := inflight[0]
			err := w.err
			if err != nil && w.released {
				return fmt.Errorf("output %s: a batch it had taken failed (replayed from the WAL on restart): %w", c.name, err)
			}
			if err != nil && !IsPermanent(err) {
				// Let the rest settle (a failed link fails them all at once),
				// then send again, in order, what was not delivered.
				c.m.retries.Inc()
				c.log.Warn("output batch failed; sending again what was not acknowledged", "output", c.name,
					"in_flight", len(inflight), "err", err)
				for _, v := range inflight {
					select {
					case <-v.done:
					case <-ctx.Done():
						return nil
					}
				}
				for _, v := range inflight {
					if v.err == nil {
						// delivered
					} else if v.released {
						return fmt.Errorf("output %s: a batch it had taken failed (replayed from the WAL on restart): %w", c.name, v.err)
					} else if err := retry(v); err != nil {
						return nil // ctx ended; replayed on restart
					}
					if err := commit(v); err != nil {
						return err
					}
					done(v)
				}
				inflight = inflight[:0]
				continue
			}
			if err != nil { // permanent: dead-letter through deliver
				if err := c.deliver(ctx, w.n, events(w), func(context.Context) error { return err }); err != nil {
					return nil
				}
			}
			if err := commit(w); err != nil {
				return err
			}
			inflight = inflight[1:]
			done(w)
		case <-ctx.Done():
			return nil
		}
	}
	select {
	case err := <-readErr:
		return err
	default:
		return nil
	}
}

// decode appends the events of recs that m selects (nil: all) to evs, and,
// when idx is not nil, their WAL indexes to *idx. An undecodable record is
// skipped, and with report it goes to the dead-letter file and the events
// not selected are counted (report is set once per record: when stage 1
// reads it).
func (c *Consumer) decode(evs []protocol.Event, idx *[]uint64, m *match.Matcher, recs []wal.Record, report bool) []protocol.Event {
	filtered := 0
	for _, r := range recs {
		var ev protocol.Event
		if err := ev.UnmarshalBinaryShared(r.Data); err != nil { // strings alias the record: see run for how long it lives
			if !report {
				continue
			}
			c.undecodable(r, err)
			continue
		}
		if !m.Match(&ev) {
			filtered++
			continue
		}
		if ev.ID.Node == "" {
			ev.ID = protocol.ID{Node: c.nodeID, Seq: r.Index}
		}
		evs = append(evs, ev)
		if idx != nil {
			*idx = append(*idx, r.Index)
		}
	}
	if report && filtered > 0 {
		c.m.filtered.Add(float64(filtered))
	}
	return evs
}

// undecodable counts, logs and dead-letters a record that does not decode.
// The WAL's CRC passed, so this is a codec bug or a newer format: keep the
// bytes for a human, never drop silently.
func (c *Consumer) undecodable(r wal.Record, err error) {
	c.m.decodeErrors.Inc()
	c.log.Error("undecodable WAL record sent to dead-letter file", "output", c.name, "index", r.Index, "err", err)
	c.deadLetterRaw(r.Index, r.Data, err)
}

// selectRecords keeps, in place, the records whose events m selects (a
// RecordSink forwards them undecoded); undecodable ones go to the
// dead-letter file, as in decode.
func (c *Consumer) selectRecords(m *match.Matcher, recs []wal.Record) []wal.Record {
	out, filtered := recs[:0], 0
	var ev protocol.Event
	for _, r := range recs {
		if err := ev.UnmarshalBinaryShared(r.Data); err != nil {
			c.undecodable(r, err)
			continue
		}
		if !m.Match(&ev) {
			filtered++
			continue
		}
		out = append(out, r)
	}
	if filtered > 0 {
		c.m.filtered.Add(float64(filtered))
	}
	return out
}

// deliver calls write until the sink accepts the batch of n events, retrying
// with capped exponential backoff and jitter. A permanent error dead-letters
// the batch (events gives it as events).
func (c *Consumer) deliver(ctx context.Context, n int, events func() []protocol.Event, write func(context.Context) error) error {
	if n == 0 {
		return nil
	}
	backoff := c.backoffLo
	for attempt := 1; ; attempt++ {
		c.waiting.Store(time.Now().UnixNano())
		err := write(ctx)
		c.waiting.Store(0)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if IsPermanent(err) {
			evs := events()
			c.m.permanentErrors.Inc()
			first := ""
			if len(evs) > 0 {
				first = evs[0].ID.String()
			}
			c.log.Error("output rejected batch permanently; written to dead-letter file", "output", c.name,
				"events", n, "first_id", first, "err", err, "dead_letter", c.deadPath)
			c.deadLetter(evs, err)
			return nil
		}
		c.m.retries.Inc()
		if attempt == 1 || attempt%10 == 0 {
			c.log.Warn("output write failed; retrying", "output", c.name, "attempt", attempt, "backoff", backoff, "err", err)
		}
		sleep := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, c.backoffHi)
	}
}
