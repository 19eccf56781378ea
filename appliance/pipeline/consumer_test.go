package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/appliance/match"
	"logpacker/protocol"
	"logpacker/wal"
)

type permanentErr struct{ error }

func (permanentErr) Permanent() bool { return true }

// flakySink records what it is given. Its write fails transiently every
// third attempt and permanently for any batch holding the message "poison".
type flakySink struct {
	mu       sync.Mutex
	attempts int
	got      []string // messages delivered, in order
	empty    int      // writes of no event
}

func (s *flakySink) check(msgs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if len(msgs) == 0 || len(msgs) == 1 && msgs[0] == "" {
		s.empty++
	}
	for _, m := range msgs {
		if m == "poison" {
			return permanentErr{errors.New("poison rejected")}
		}
	}
	if s.attempts%3 == 0 {
		return errors.New("transient failure")
	}
	s.got = append(s.got, msgs...)
	return nil
}

func (s *flakySink) Write(_ context.Context, evs []protocol.Event) error {
	msgs := make([]string, len(evs))
	for i := range evs {
		msgs[i] = evs[i].Message
	}
	return s.check(msgs)
}

func (s *flakySink) Close() error { return nil }

// preparedFlakySink is flakySink through the PreparedSink path: Prepare
// encodes messages as lines, WritePrepared splits them again.
type preparedFlakySink struct{ flakySink }

func (s *preparedFlakySink) Prepare(dst []byte, evs []protocol.Event) []byte {
	for i := range evs {
		dst = append(dst, evs[i].Message...)
		dst = append(dst, '\n')
	}
	return dst
}

func (s *preparedFlakySink) WritePrepared(_ context.Context, data []byte) error {
	return s.check(strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"))
}

// windowFlakySink is flakySink through the WindowSink path: batches are
// handled in order by one goroutine and settled asynchronously, a few at a
// time in flight; flakySink's transient failures fail one batch (a later
// one may still succeed, as with a relay parent's ACK after a refused
// write), and every 5th Send breaks "the link": every batch not yet
// handled fails.
type windowFlakySink struct {
	flakySink
	qmu     sync.Mutex
	queue   []windowItem
	sends   int
	wake    chan struct{}
	maxSeen int // most batches in flight at once
}

type windowItem struct {
	msgs []string
	done func(error)
}

func newWindowFlakySink() *windowFlakySink {
	s := &windowFlakySink{wake: make(chan struct{}, 1)}
	go func() {
		for range s.wake {
			for {
				s.qmu.Lock()
				if len(s.queue) == 0 {
					s.qmu.Unlock()
					break
				}
				it := s.queue[0]
				s.queue = s.queue[1:]
				s.qmu.Unlock()
				time.Sleep(time.Duration(len(it.msgs)%3) * 100 * time.Microsecond)
				it.done(s.check(it.msgs))
			}
		}
	}()
	return s
}

func (s *windowFlakySink) Window() int { return 3 }

func (s *windowFlakySink) Write(_ context.Context, evs []protocol.Event) error {
	msgs := make([]string, len(evs))
	for i := range evs {
		msgs[i] = strings.Clone(evs[i].Message)
	}
	return s.check(msgs)
}

func (s *windowFlakySink) Send(_ context.Context, evs []protocol.Event, done func(error)) error {
	msgs := make([]string, len(evs))
	for i := range evs {
		msgs[i] = strings.Clone(evs[i].Message) // keeps nothing of evs
	}
	s.qmu.Lock()
	s.sends++
	if s.sends%5 == 0 { // the link breaks: what was not handled fails
		for _, it := range s.queue {
			it.done(errors.New("link broke"))
		}
		s.queue = s.queue[:0]
	}
	s.queue = append(s.queue, windowItem{msgs, done})
	s.maxSeen = max(s.maxSeen, len(s.queue))
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// recordFlakySink is windowFlakySink through the RecordSink path: it gets
// the WAL records and decodes them itself.
type recordFlakySink struct{ *windowFlakySink }

func (s recordFlakySink) SendRecords(ctx context.Context, recs []wal.Record, done func(error)) error {
	evs := make([]protocol.Event, len(recs))
	for i, r := range recs {
		if err := evs[i].UnmarshalBinaryShared(r.Data); err != nil {
			return permanentErr{err}
		}
	}
	return s.Send(ctx, evs, done) // Send clones what it keeps
}

// sinkModes are the consumer's sink paths: Sink, PreparedSink, WindowSink, RecordSink.
var sinkModes = []string{"plain", "prepared", "window", "records"}

// modeSink is a flaky sink on the path mode names, and what it records.
func modeSink(t *testing.T, mode string) (*flakySink, Sink) {
	switch mode {
	case "prepared":
		ps := &preparedFlakySink{}
		return &ps.flakySink, ps
	case "window", "records":
		ws := newWindowFlakySink()
		t.Cleanup(func() { close(ws.wake) })
		if mode == "records" {
			return &ws.flakySink, recordFlakySink{ws}
		}
		return &ws.flakySink, ws
	}
	fs := &flakySink{}
	return fs, fs
}

// TestConsumerRetriesAndDeadLetters drives the output loop (both the plain and
// the PreparedSink path) over a real WAL: transient errors are retried until
// every message is delivered once and in order; a batch rejected permanently
// goes whole to the dead-letter file; the cursor ends at the last record.
func TestConsumerRetriesAndDeadLetters(t *testing.T) {
	for _, mode := range sinkModes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			l, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), Fsync: wal.FsyncNever, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			const n, poison = 1000, 500
			var recs [][]byte
			for i := 1; i <= n; i++ {
				ev := protocol.Event{Message: strconv.Itoa(i), Count: 1}
				if i == poison {
					ev.Message = "poison"
				}
				recs = append(recs, ev.AppendBinary(nil))
			}
			if _, err := l.Append(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			cur, err := l.OpenCursor("output.test")
			if err != nil {
				t.Fatal(err)
			}
			fs := &flakySink{}
			var sink Sink = fs
			var ws *windowFlakySink
			switch mode {
			case "prepared":
				ps := &preparedFlakySink{}
				fs, sink = &ps.flakySink, ps
			case "window", "records":
				ws = newWindowFlakySink()
				defer close(ws.wake)
				fs, sink = &ws.flakySink, ws
				if mode == "records" {
					sink = recordFlakySink{ws}
				}
			}
			c := &Consumer{name: "output.test", nodeID: "n1", cur: cur, sink: sink, batch: 50, maxBytes: 1 << 20,
				log: log, m: newOutputMetrics(prometheus.NewRegistry(), "test"),
				deadPath: filepath.Join(dir, "dead.jsonl"), backoffLo: time.Millisecond, backoffHi: 2 * time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.run(ctx) }()
			deadline := time.Now().Add(20 * time.Second)
			for cur.Committed() < n && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if cur.Committed() != n {
				t.Fatalf("cursor at %d, want %d", cur.Committed(), n)
			}
			// the poisoned batch (records 451..500 with batch 50) is dead-lettered whole
			dead := readDead(t, c.deadPath)
			if len(dead) != 50 || dead[0] != "451" || dead[49] != "poison" {
				t.Fatalf("dead-letter file holds %d events: %v…", len(dead), dead[:min(3, len(dead))])
			}
			fs.mu.Lock()
			defer fs.mu.Unlock()
			if ws != nil {
				// Batches settle out of order when one fails and a later one
				// does not: every message exactly once, in any order.
				ws.qmu.Lock()
				defer ws.qmu.Unlock()
				if ws.maxSeen < 2 {
					t.Fatalf("at most %d batch in flight: the window was not used", ws.maxSeen)
				}
				slices.SortFunc(fs.got, func(a, b string) int {
					x, _ := strconv.Atoi(a)
					y, _ := strconv.Atoi(b)
					return x - y
				})
			}
			want := 0
			for i := 1; i <= n; i++ {
				if i > 450 && i <= 500 {
					continue
				}
				if want >= len(fs.got) || fs.got[want] != strconv.Itoa(i) {
					t.Fatalf("delivered[%d] is not %d (delivered %d messages)", want, i, len(fs.got))
				}
				want++
			}
			if len(fs.got) != want {
				t.Fatalf("delivered %d messages, want %d", len(fs.got), want)
			}
			if fs.attempts < 25 {
				t.Fatalf("only %d attempts: the transient failures were not exercised", fs.attempts)
			}
		})
	}
}

func readDead(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Error string
			Event struct{ Message string }
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		if !strings.Contains(line.Error, "poison") {
			t.Fatalf("dead-letter reason %q", line.Error)
		}
		out = append(out, line.Event.Message)
	}
	return out
}

// TestConsumerSelects runs two outputs over one real WAL, on every sink path:
// one with a matcher (severity warning and worse, and a host glob) gets
// exactly the events it selects, in WAL order, never an empty batch (a batch
// with none selected is committed without calling the sink); one without a
// matcher gets everything. Both cursors end at the last record, and the
// events passed over are counted.
func TestConsumerSelects(t *testing.T) {
	for _, mode := range sinkModes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			l, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), Fsync: wal.FsyncNever, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			const n = 1000
			var recs [][]byte
			var want []string
			for i := 1; i <= n; i++ {
				ev := protocol.Event{Message: strconv.Itoa(i), Severity: protocol.Severity(i % 8), Host: "web-" + strconv.Itoa(i%3)}
				if i > 200 && i <= 400 { // whole batches of which nothing is selected
					ev.Severity = protocol.SevDebug
				}
				if ev.Severity <= protocol.SevWarning && ev.Host != "web-0" {
					want = append(want, ev.Message)
				}
				recs = append(recs, ev.AppendBinary(nil))
			}
			if _, err := l.Append(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			m, err := match.Parse(map[string]string{"severity": "warning", "host": "WEB-1, web-2*"})
			if err != nil {
				t.Fatal(err)
			}
			type out struct {
				c    *Consumer
				fs   *flakySink
				reg  *prometheus.Registry
				want []string
			}
			var outs []out
			for _, name := range []string{"selective", "all"} {
				cur, err := l.OpenCursor("output." + name)
				if err != nil {
					t.Fatal(err)
				}
				fs, sink := modeSink(t, mode)
				reg := prometheus.NewRegistry()
				c := &Consumer{name: "output." + name, nodeID: "n1", cur: cur, sink: sink, batch: 50, maxBytes: 1 << 20,
					log: log, m: newOutputMetrics(reg, name),
					deadPath: filepath.Join(dir, "dead-"+name+".jsonl"), backoffLo: time.Millisecond, backoffHi: 2 * time.Millisecond}
				o := out{c: c, fs: fs, reg: reg, want: want}
				if name == "selective" {
					c.SetMatch(m)
				} else {
					o.want = nil
					for i := 1; i <= n; i++ {
						o.want = append(o.want, strconv.Itoa(i))
					}
				}
				outs = append(outs, o)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			errs := make(chan error, len(outs))
			for _, o := range outs {
				wg.Add(1)
				go func() { defer wg.Done(); errs <- o.c.run(ctx) }()
			}
			deadline := time.Now().Add(20 * time.Second)
			for (outs[0].c.cur.Committed() < n || outs[1].c.cur.Committed() < n) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, o := range outs {
				if got := o.c.cur.Committed(); got != n {
					t.Fatalf("%s: cursor at %d, want %d", o.c.name, got, n)
				}
				o.fs.mu.Lock()
				got := slices.Clone(o.fs.got)
				empty := o.fs.empty
				o.fs.mu.Unlock()
				if mode == "window" || mode == "records" { // batches may settle out of order
					slices.SortFunc(got, func(a, b string) int {
						x, _ := strconv.Atoi(a)
						y, _ := strconv.Atoi(b)
						return x - y
					})
				}
				if !slices.Equal(got, o.want) {
					t.Fatalf("%s: delivered %d events, want %d (first %v, want %v)", o.c.name, len(got), len(o.want),
						got[:min(5, len(got))], o.want[:min(5, len(o.want))])
				}
				if empty != 0 {
					t.Errorf("%s: the sink was called %d times with no event", o.c.name, empty)
				}
				filtered, delivered := counterValue(t, o.reg, "logpacker_output_filtered_total"), counterValue(t, o.reg, "logpacker_output_delivered_total")
				if filtered != float64(n-len(o.want)) || delivered != float64(len(o.want)) {
					t.Errorf("%s: filtered_total %v, delivered_total %v; want %d, %d", o.c.name, filtered, delivered, n-len(o.want), len(o.want))
				}
			}
		})
	}
}

// counterValue reads a counter from reg (no testutil: it would add a module).
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// batchSink records the size of each batch it is given.
type batchSink struct {
	mu    sync.Mutex
	sizes []int
}

func (s *batchSink) Write(_ context.Context, evs []protocol.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes = append(s.sizes, len(evs))
	return nil
}

func (s *batchSink) Close() error { return nil }

func (s *batchSink) got() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes)
}

// testCursor opens a WAL in a fresh directory, closed when the test ends,
// and its cursor output.test.
func testCursor(t *testing.T) (l *wal.Log, cur *wal.Cursor, dir string, log *slog.Logger) {
	t.Helper()
	dir = t.TempDir()
	log = slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), Fsync: wal.FsyncNever, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if cur, err = l.OpenCursor("output.test"); err != nil {
		t.Fatal(err)
	}
	return l, cur, dir, log
}

// runUntilEnd runs c until the test ends, then checks that Run returned nil.
func runUntilEnd(t *testing.T, c *Consumer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// lingerConsumer runs a consumer with the given linger (batch 50) over a
// fresh WAL until the test ends; appendN appends n records.
func lingerConsumer(t *testing.T, linger time.Duration) (cur *wal.Cursor, sink *batchSink, appendN func(n int)) {
	t.Helper()
	l, cur, dir, log := testCursor(t)
	sink = &batchSink{}
	runUntilEnd(t, &Consumer{name: "output.test", nodeID: "n1", cur: cur, sink: sink, batch: 50, maxBytes: 1 << 20, linger: linger,
		log: log, m: newOutputMetrics(prometheus.NewRegistry(), "test"),
		deadPath: filepath.Join(dir, "dead.jsonl"), backoffLo: time.Millisecond, backoffHi: 2 * time.Millisecond})
	appendN = func(n int) {
		var recs [][]byte
		for range n {
			recs = append(recs, (&protocol.Event{Message: "m", Count: 1}).AppendBinary(nil))
		}
		if _, err := l.Append(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	return cur, sink, appendN
}

// TestConsumerFlushInterval: with flush_interval (linger) a batch that is
// not full waits for more records: 10 records, then 40 more while it waits,
// make one Write of 50 (batch size); without it the first 10 go at once.
// A batch that never fills goes when the interval is up.
func TestConsumerFlushInterval(t *testing.T) {
	for _, tc := range []struct {
		name   string
		linger time.Duration
		want   []int // batch sizes after 10 + 40 records
	}{
		{"off", 0, []int{10, 40}},
		{"hour", time.Hour, []int{50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, sink, appendN := lingerConsumer(t, tc.linger)
			waitFor := func(what string, ok func() bool) {
				t.Helper()
				for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(2 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("timed out waiting for %s; batches %v", what, sink.got())
					}
				}
			}
			appendN(10)
			if tc.linger == 0 {
				waitFor("the first 10", func() bool { return len(sink.got()) == 1 })
			} else {
				// the consumer has the 10 and waits for more: no Write may
				// come before the batch is full (any would be a bug, however
				// slow the machine)
				time.Sleep(100 * time.Millisecond)
				if got := sink.got(); len(got) != 0 {
					t.Fatalf("a batch of %v went before it was full or the interval was up", got)
				}
			}
			appendN(40)
			waitFor("all 50", func() bool { return cur.Committed() == 50 })
			if got := sink.got(); !slices.Equal(got, tc.want) {
				t.Fatalf("batches %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("interval-up", func(t *testing.T) {
		cur, sink, appendN := lingerConsumer(t, 50*time.Millisecond)
		appendN(1)
		for deadline := time.Now().Add(20 * time.Second); cur.Committed() != 1; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("a lone record never went")
			}
		}
		if got := sink.got(); !slices.Equal(got, []int{1}) {
			t.Fatalf("batches %v, want [1]", got)
		}
	})
}

// TestConsumerSetMatch: a matcher swapped while the consumer runs (a
// reload) applies from the next batch read, on every sink path: of the
// records appended before the swap every one reaches the sink, of those
// appended after it only the selected ones; swapped back to nil, all again.
func TestConsumerSetMatch(t *testing.T) {
	for _, mode := range sinkModes {
		t.Run(mode, func(t *testing.T) {
			l, cur, dir, log := testCursor(t)
			fs, sink := modeSink(t, mode)
			c := NewConsumer(ConsumerOptions{Name: "output.test", Kind: "test", NodeID: "n1", Cursor: cur, Sink: sink, Batch: 50,
				DeadPath: filepath.Join(dir, "dead.jsonl"), BackoffLo: time.Millisecond, BackoffHi: 2 * time.Millisecond,
				Logger: log, Metrics: prometheus.NewRegistry()})
			runUntilEnd(t, c)
			var want []string
			// appendTo appends the events from+1 … to (severity i%8), sel
			// saying which the consumer delivers, and waits for its commit.
			appendTo := func(from, to int, sel func(protocol.Severity) bool) {
				t.Helper()
				var recs [][]byte
				for i := from + 1; i <= to; i++ {
					ev := protocol.Event{Message: strconv.Itoa(i), Severity: protocol.Severity(i % 8)}
					if sel(ev.Severity) {
						want = append(want, ev.Message)
					}
					recs = append(recs, ev.AppendBinary(nil))
				}
				if _, err := l.Append(context.Background(), recs); err != nil {
					t.Fatal(err)
				}
				for deadline := time.Now().Add(20 * time.Second); cur.Committed() < uint64(to); time.Sleep(2 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("cursor at %d, want %d", cur.Committed(), to)
					}
				}
			}
			all := func(protocol.Severity) bool { return true }
			appendTo(0, 200, all)
			m, err := match.Parse(map[string]string{"severity": "err"})
			if err != nil {
				t.Fatal(err)
			}
			c.SetMatch(m)
			appendTo(200, 400, func(s protocol.Severity) bool { return s <= protocol.SevErr })
			c.SetMatch(nil)
			appendTo(400, 500, all)
			fs.mu.Lock()
			got := slices.Clone(fs.got)
			fs.mu.Unlock()
			slices.SortFunc(got, func(a, b string) int { // window paths may settle out of order
				x, _ := strconv.Atoi(a)
				y, _ := strconv.Atoi(b)
				return x - y
			})
			if !slices.Equal(got, want) {
				t.Fatalf("delivered %d events, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}

// gateSink holds each Write until the test releases it.
type gateSink struct {
	entered chan int // the size of each batch, when its Write begins
	release chan struct{}
}

func (s *gateSink) Write(_ context.Context, evs []protocol.Event) error {
	s.entered <- len(evs)
	<-s.release
	return nil
}

func (s *gateSink) Close() error { return nil }

// TestConsumerStop: Stop while a batch is being written lets that batch
// finish and be committed, reads nothing more, and Run returns nil without
// its ctx ending. A consumer stopped before Run delivers nothing. A second
// consumer of the same output (opened again by a reload) goes on with the
// first one's metrics; Unregister removes them.
func TestConsumerStop(t *testing.T) {
	l, cur, dir, log := testCursor(t)
	appendN := func(n int) {
		var recs [][]byte
		for range n {
			recs = append(recs, (&protocol.Event{Message: "m"}).AppendBinary(nil))
		}
		if _, err := l.Append(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	sink := &gateSink{entered: make(chan int, 4), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	newConsumer := func() *Consumer {
		return NewConsumer(ConsumerOptions{Name: "output.test", Kind: "test", Cursor: cur, Sink: sink, Batch: 100,
			DeadPath: filepath.Join(dir, "dead.jsonl"), Logger: log, Metrics: reg})
	}
	c := newConsumer()
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	appendN(10)
	if n := <-sink.entered; n != 10 {
		t.Fatalf("first batch: %d events, want 10", n)
	}
	c.Stop()
	appendN(10) // after Stop: never delivered
	close(sink.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := cur.Committed(); got != 10 {
		t.Fatalf("cursor at %d after Stop, want 10 (the batch in flight)", got)
	}
	if len(sink.entered) != 0 {
		t.Fatalf("a batch was written after Stop (%d events)", <-sink.entered)
	}
	// stopped before it runs: returns at once, delivers nothing
	cur.Rewind()
	c = newConsumer()
	c.Stop()
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := cur.Committed(); got != 10 || len(sink.entered) != 0 {
		t.Fatalf("a consumer stopped before Run delivered: cursor %d, writes %d", got, len(sink.entered))
	}
	if v := counterValue(t, reg, "logpacker_output_delivered_total"); v != 10 {
		t.Fatalf("the second consumer's delivered_total is %v, want the first one's 10", v)
	}
	c.Unregister(reg)
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Fatalf("after Unregister %d metric families remain, first %s", len(mfs), mfs[0].GetName())
	}
}

// indexedSink records what SendIndexed gets, refuses every 7th call at once
// (the store's disk-full error: retried with the same batch) and confirms
// the rest from another goroutine; failAsync makes it report one batch
// failed through done instead.
type indexedSink struct {
	mu        sync.Mutex
	calls     int
	got       []string // "index:message", in the order delivered
	failAsync bool
}

func (s *indexedSink) Window() int  { return 16 }
func (s *indexedSink) Close() error { return nil }
func (s *indexedSink) Write(context.Context, []protocol.Event) error {
	panic("Write on an IndexedSink")
}
func (s *indexedSink) Send(context.Context, []protocol.Event, func(error)) error {
	panic("Send on an IndexedSink")
}

func (s *indexedSink) SendIndexed(_ context.Context, evs []protocol.Event, idx []uint64, done func(error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(evs) != len(idx) {
		return permanentErr{fmt.Errorf("%d events, %d indexes", len(evs), len(idx))}
	}
	if s.calls%7 == 0 {
		return errors.New("disk full")
	}
	for i := range evs {
		s.got = append(s.got, fmt.Sprintf("%d:%s", idx[i], evs[i].Message)) // copies: the buffers are reused
	}
	err := error(nil)
	if s.failAsync && s.calls == 3 {
		err = errors.New("lost after taking it")
	}
	go done(err)
	return nil
}

// TestConsumerIndexedSink: an IndexedSink gets each event's WAL index next
// to it (also with a matcher passing some over), every event once across
// its synchronous refusals; its batches' buffers are reused at
// once (it copies); a failure it reports through done ends Run with an
// error (the batch is gone from memory: a restart replays it).
func TestConsumerIndexedSink(t *testing.T) {
	l, cur, dir, log := testCursor(t)
	const n = 2000
	var recs [][]byte
	for i := 1; i <= n; i++ {
		recs = append(recs, (&protocol.Event{Message: fmt.Sprintf("m%d", i), Severity: protocol.Severity(i % 8), Count: 1}).AppendBinary(nil))
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	m, err := match.Parse(map[string]string{"severity": "warning"})
	if err != nil {
		t.Fatal(err)
	}
	sink := &indexedSink{}
	c := &Consumer{name: "output.test", nodeID: "n1", cur: cur, sink: sink, batch: 50, maxBytes: 1 << 20,
		log: log, m: newOutputMetrics(prometheus.NewRegistry(), "test"),
		deadPath: filepath.Join(dir, "dead.jsonl"), backoffLo: time.Millisecond, backoffHi: 2 * time.Millisecond}
	c.SetMatch(m)
	runUntilEnd(t, c)
	deadline := time.Now().Add(30 * time.Second)
	for cur.Committed() < n {
		if time.Now().After(deadline) {
			t.Fatalf("committed %d of %d", cur.Committed(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	sink.mu.Lock()
	var want []string
	for i := 1; i <= n; i++ {
		if i%8 <= 4 { // warning and worse
			want = append(want, fmt.Sprintf("%d:m%d", i, i))
		}
	}
	// Batches may reach the sink out of order (a refused one is sent again
	// after later ones): each event once, with its index, is the promise.
	got := slices.Clone(sink.got)
	byIndex := func(a, b string) int {
		ai, _ := strconv.Atoi(a[:strings.IndexByte(a, ':')])
		bi, _ := strconv.Atoi(b[:strings.IndexByte(b, ':')])
		return ai - bi
	}
	slices.SortFunc(got, byIndex)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d events (first %v), want %d, each once with its index", len(got), got[:min(5, len(got))], len(want))
	}
	sink.mu.Unlock()

	// A failure reported through done ends Run.
	l2, cur2, dir2, log2 := testCursor(t)
	if _, err := l2.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	c2 := &Consumer{name: "output.test", nodeID: "n1", cur: cur2, sink: &indexedSink{failAsync: true}, batch: 50, maxBytes: 1 << 20,
		log: log2, m: newOutputMetrics(prometheus.NewRegistry(), "test"),
		deadPath: filepath.Join(dir2, "dead.jsonl"), backoffLo: time.Millisecond, backoffHi: 2 * time.Millisecond}
	err = c2.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "lost after taking it") {
		t.Fatalf("Run = %v, want the failure reported through done", err)
	}
	if got := cur2.Committed(); got >= 150 {
		t.Fatalf("committed %d: past the failed third batch", got)
	}
}
