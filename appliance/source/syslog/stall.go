package syslog

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"logpacker/protocol"
)

// Storing a batch, and what a reader does while the WAL does not take it.
//
// emit waits while the WAL waits for space (max_size with when_full = block,
// free disk space below min_free) and fails when a write fails (disk full
// without min_free, I/O error): then nothing of the batch was stored and it
// is emitted again, with backoff, until it is stored or the error is
// permanent (Permanent(): the WAL is closed, at shutdown). Meanwhile the
// reader does not read: TCP/TLS senders are back-pressured, UDP datagrams
// queue in the socket buffer and the kernel drops (and counts) what does not
// fit. A listener whose readers wait longer than stallAfter, or fail, is
// stalled: logged once per streak (WARN, then INFO when every reader reads
// again), counted in stalls_total, and stalled_readers says how many
// readers wait now.

var (
	retryLo    = 50 * time.Millisecond // first delay before emitting a failed batch again
	retryHi    = 2 * time.Second       // the delay doubles up to this
	stallAfter = time.Second           // an emit that has not returned after this stalls its reader
)

// stallState is a listener's streak of stalled readers (in its Metrics).
type stallState struct {
	mu      sync.Mutex
	readers int // stalled now
	since   time.Time
	retries int // failed emits during the streak
}

// storer stores one reader's batches (the emitter goroutine of a pipeline).
type storer struct {
	c    *Common
	emit EmitFunc
	what string // how the listener's loss behaves while stalled, for the log

	mu      sync.Mutex
	busy    bool // an emit (with its retries) is in progress
	start   time.Time
	stalled bool
	timer   *time.Timer
}

func newStorer(c *Common, emit EmitFunc, what string) *storer {
	s := &storer{c: c, emit: emit, what: what}
	s.timer = time.AfterFunc(time.Hour, s.waited)
	s.timer.Stop()
	return s
}

// store emits batch, again with backoff while the WAL fails it, until it is
// stored (nil) or the error is permanent.
func (s *storer) store(ctx context.Context, batch []protocol.Event) error {
	s.mu.Lock()
	s.busy, s.start = true, time.Now()
	s.mu.Unlock()
	s.timer.Reset(stallAfter)
	defer s.done()
	delay := retryLo
	for {
		err := s.emit(ctx, batch)
		if err == nil || isPermanent(err) {
			return err
		}
		s.c.Metrics.EmitRetries.Inc()
		s.stall(err)
		time.Sleep(delay/2 + rand.N(delay/2+1))
		delay = min(2*delay, retryHi)
	}
}

// waited runs when an emit has not returned after stallAfter.
func (s *storer) waited() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy && time.Since(s.start) >= stallAfter {
		s.stallLocked(nil)
	}
}

func (s *storer) stall(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallLocked(err)
}

func (s *storer) stallLocked(err error) {
	m := s.c.Metrics
	m.stall.mu.Lock()
	defer m.stall.mu.Unlock()
	if err != nil {
		m.stall.retries++
	}
	if s.stalled {
		return
	}
	s.stalled = true
	m.stall.readers++
	m.Stalled.Inc()
	if m.stall.readers > 1 {
		return
	}
	m.Stalls.Inc()
	m.stall.since = time.Now()
	reason := "the WAL has not taken a batch for " + stallAfter.String() + " (waiting for space or for outputs: see /readyz)"
	if err != nil {
		reason = err.Error()
	}
	s.c.Logger.Warn("not reading: the WAL does not take this listener's events; "+s.what+"; retrying",
		"listener", s.c.Name, "reason", reason)
}

// done ends an emit: a stalled reader reads again.
func (s *storer) done() {
	s.timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy = false
	if !s.stalled {
		return
	}
	s.stalled = false
	m := s.c.Metrics
	m.stall.mu.Lock()
	defer m.stall.mu.Unlock()
	m.stall.readers--
	m.Stalled.Dec()
	if m.stall.readers == 0 {
		s.c.Logger.Info("reading again: the WAL takes this listener's events", "listener", s.c.Name,
			"stalled_for", time.Since(m.stall.since).Round(time.Millisecond), "failed_emits", m.stall.retries)
		m.stall.retries = 0
	}
}

// isPermanent reports whether retrying err cannot help: it (or anything it
// wraps) says Permanent() (appliance/pipeline.AppendError: the WAL is
// closed), or it is a context's error.
func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent() ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
