package syslog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"logpacker/protocol"
)

// errDiskFull is a retriable emit failure (a failed WAL write); errClosed
// a permanent one (the WAL is closed).
var (
	errDiskFull = errors.New("wal: write: no space left on device")
	errClosed   permanentError
)

type permanentError struct{}

func (permanentError) Error() string   { return "wal: closed" }
func (permanentError) Permanent() bool { return true }

// recorder is an emit that keeps what it stored; fail decides, per call,
// whether it fails instead.
type recorder struct {
	mu    sync.Mutex
	got   []string
	calls int
	fail  func(call int) error
}

func (r *recorder) emit(_ context.Context, evs []protocol.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls); err != nil {
			return err
		}
	}
	for _, ev := range evs {
		r.got = append(r.got, ev.Message)
	}
	return nil
}

func (r *recorder) stored() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func listenUDP(t *testing.T, batch int) (*Dgram, *Metrics, net.Conn) {
	t.Helper()
	m := NewMetricVecs(prometheus.NewRegistry()).Listener("u")
	d, err := ListenDgram(DgramOptions{Common: Common{Name: "u", BatchSize: batch, Metrics: m}, Network: "udp", Addr: "127.0.0.1:0", Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return d, m, c
}

func sendDatagrams(t *testing.T, c net.Conn, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := fmt.Fprintf(c, "<13>1 2026-11-24T10:00:00Z h app - - - d%d", i); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantSeq(t *testing.T, got []string, prefix string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d events stored, want %d", len(got), n)
	}
	for i, m := range got {
		if want := fmt.Sprintf("%s%d", prefix, i+1); m != want {
			t.Fatalf("event %d is %q, want %q (lost or stored twice)", i, m, want)
		}
	}
}

// TestDgramRetriesFailedEmit: a batch the WAL fails (disk full) is emitted
// again with backoff; the listener keeps its socket and reads on once it is
// stored, and the streak is counted once.
func TestDgramRetriesFailedEmit(t *testing.T) {
	d, m, c := listenUDP(t, 8)
	r := &recorder{fail: func(call int) error {
		if call <= 3 {
			return errDiskFull
		}
		return nil
	}}
	sendDatagrams(t, c, 1, 50) // queued in the socket before Run: no loss possible
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, r.emit) }()
	waitFor(t, "50 datagrams stored", func() bool { return len(r.stored()) == 50 })
	sendDatagrams(t, c, 51, 60) // the socket is still served
	waitFor(t, "60 datagrams stored", func() bool { return len(r.stored()) == 60 })
	wantSeq(t, r.stored(), "d", 60)
	if v := testutil.ToFloat64(m.EmitRetries); v != 3 {
		t.Errorf("emit_retries_total = %v, want 3", v)
	}
	if s, n := testutil.ToFloat64(m.Stalled), testutil.ToFloat64(m.Stalls); s != 0 || n != 1 {
		t.Errorf("stalled_readers = %v (want 0), stalls_total = %v (want 1)", s, n)
	}
	if v := testutil.ToFloat64(m.Dropped); v != 0 {
		t.Errorf("dropped_total = %v", v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDgramRefusedForGoodIsCounted: when the WAL refuses for good (closed),
// the listener stops, and every datagram it had read or that was queued in
// its socket is counted as dropped.
func TestDgramRefusedForGoodIsCounted(t *testing.T) {
	d, m, c := listenUDP(t, 8)
	sendDatagrams(t, c, 1, 100)
	r := &recorder{fail: func(int) error { return errClosed }}
	if err := d.Run(context.Background(), r.emit); err != nil { // returns by itself
		t.Fatal(err)
	}
	rx, dropped := testutil.ToFloat64(m.Received), testutil.ToFloat64(m.Dropped)
	if rx != 100 || dropped != 100 || len(r.stored()) != 0 {
		t.Fatalf("received %v, dropped %v, stored %d; want 100, 100, 0", rx, dropped, len(r.stored()))
	}
	if v := testutil.ToFloat64(m.EmitRetries); v != 0 {
		t.Errorf("a permanent error was retried %v times", v)
	}
}

// TestDgramShutdownTakesQueuedDatagrams: on shutdown the reader stores what
// is still queued in its socket, instead of losing it with the socket.
func TestDgramShutdownTakesQueuedDatagrams(t *testing.T) {
	d, m, c := listenUDP(t, 10)
	gate := make(chan struct{})
	r := &recorder{}
	first := make(chan struct{})
	var once sync.Once
	emit := func(ctx context.Context, evs []protocol.Event) error {
		once.Do(func() { close(first); <-gate }) // the first batch waits, like a WAL fsync
		return r.emit(ctx, evs)
	}
	sendDatagrams(t, c, 1, 200)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, emit) }()
	<-first
	cancel() // shutdown while most datagrams are still in the socket
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantSeq(t, r.stored(), "d", 200)
	if v := testutil.ToFloat64(m.Dropped); v != 0 {
		t.Errorf("dropped_total = %v", v)
	}
}

// TestStalledReaderIsCounted: an emit that does not return stalls its
// reader (gauge and streak counter) until it does.
func TestStalledReaderIsCounted(t *testing.T) {
	old := stallAfter
	stallAfter = time.Millisecond
	t.Cleanup(func() { stallAfter = old })
	d, m, c := listenUDP(t, 4)
	gate := make(chan struct{})
	r := &recorder{}
	emit := func(ctx context.Context, evs []protocol.Event) error { <-gate; return r.emit(ctx, evs) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, emit) }()
	sendDatagrams(t, c, 1, 20)
	waitFor(t, "a stalled reader", func() bool { return testutil.ToFloat64(m.Stalled) == 1 })
	close(gate)
	waitFor(t, "20 datagrams stored", func() bool { return len(r.stored()) == 20 })
	waitFor(t, "no stalled reader", func() bool { return testutil.ToFloat64(m.Stalled) == 0 })
	if n := testutil.ToFloat64(m.Stalls); n != 1 {
		t.Errorf("stalls_total = %v, want 1", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantSeq(t, r.stored(), "d", 20)
}
