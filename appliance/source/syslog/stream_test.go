package syslog

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"logpacker/protocol"
)

// TestStreamBackPressureAndDrain: while emit cannot store (a full WAL), the
// source stops reading — nothing is dropped; once emit proceeds every
// message arrives; on shutdown the batches already read are still emitted.
func TestStreamBackPressureAndDrain(t *testing.T) {
	s, err := ListenStream(StreamOptions{Common: Common{Name: "t", BatchSize: 16,
		Metrics: NewMetricVecs(prometheus.NewRegistry()).Listener("t")}, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var mu sync.Mutex
	var got []protocol.Event
	var calls atomic.Int32
	emit := func(ctx context.Context, evs []protocol.Event) error {
		calls.Add(1)
		<-gate // blocked like a full WAL with when_full = block
		mu.Lock()
		got = append(got, evs...)
		mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, emit) }()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const total = 2000
	go func() {
		for i := 0; i < total; i++ {
			fmt.Fprintf(c, "<13>1 2026-11-24T10:00:00Z h app - - - m%d\n", i)
		}
		c.Close()
	}()
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d emits in flight while the first is blocked; want exactly 1 (one batch in flight, one being filled)", n)
	}
	close(gate)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events after back-pressure was released", n, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, ev := range got {
		if want := fmt.Sprintf("m%d", i); ev.Message != want || ev.Transport != "tcp" || ev.Peer == "" {
			t.Fatalf("event %d: %q transport %q peer %q", i, ev.Message, ev.Transport, ev.Peer)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// serveStream runs a TCP listener with o whose batches go to r, and dials
// it. stop ends the listener and checks Run's result.
func serveStream(t *testing.T, o StreamOptions, r *recorder) (m *Metrics, c net.Conn, stop func()) {
	t.Helper()
	m = NewMetricVecs(prometheus.NewRegistry()).Listener("t")
	o.Name, o.Metrics, o.Addr = "t", m, "127.0.0.1:0"
	s, err := ListenStream(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, r.emit) }()
	if c, err = net.Dial("tcp", s.Addr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return m, c, func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestStreamRetriesFailedEmit: a batch the WAL fails (disk full) is emitted
// again with backoff while the connection is not read (back-pressure): the
// connection stays open and every message is stored once, in order.
func TestStreamRetriesFailedEmit(t *testing.T) {
	r := &recorder{fail: func(call int) error {
		if call%5 == 2 { // every fifth batch fails once
			return errDiskFull
		}
		return nil
	}}
	m, c, stop := serveStream(t, StreamOptions{Common: Common{BatchSize: 64}}, r)
	const total = 5000
	for i := 1; i <= total; i++ {
		if _, err := fmt.Fprintf(c, "<13>1 2026-11-24T10:00:00Z h app - - - m%d\n", i); err != nil {
			t.Fatalf("connection closed at message %d: %v", i, err)
		}
	}
	waitFor(t, "every message stored", func() bool { return len(r.stored()) >= total })
	wantSeq(t, r.stored(), "m", total)
	if v := testutil.ToFloat64(m.EmitRetries); v == 0 {
		t.Error("no emit was retried: the test proved nothing")
	}
	if v, d := testutil.ToFloat64(m.Conns), testutil.ToFloat64(m.Dropped); v != 1 || d != 0 {
		t.Errorf("open connections %v (want 1), dropped %v", v, d)
	}
	stop()
}

// TestStreamRefusedForGoodIsCounted: when the WAL refuses for good (closed),
// the connection is closed and every message read is counted as dropped.
func TestStreamRefusedForGoodIsCounted(t *testing.T) {
	r := &recorder{fail: func(int) error { return errClosed }}
	m, c, stop := serveStream(t, StreamOptions{Common: Common{BatchSize: 8}, IdleTimeout: time.Hour}, r)
	go func() {
		for i := 1; i <= 1000; i++ {
			if _, err := fmt.Fprintf(c, "<13>1 2026-11-24T10:00:00Z h app - - - m%d\n", i); err != nil {
				return // closed by the node
			}
		}
	}()
	waitFor(t, "the connection to be closed", func() bool {
		return testutil.ToFloat64(m.ConnsTotal) == 1 && testutil.ToFloat64(m.Conns) == 0
	})
	if rx, d := testutil.ToFloat64(m.Received), testutil.ToFloat64(m.Dropped); rx == 0 || d != rx || len(r.stored()) != 0 {
		t.Fatalf("received %v, dropped %v, stored %d: want every message read counted as dropped", rx, d, len(r.stored()))
	}
	stop()
}
