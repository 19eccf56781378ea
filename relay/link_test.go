package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"logpacker/protocol"
	"logpacker/protocol/wire"
)

type pki struct {
	root string
	ca   string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{root: t.TempDir()}
	p.ca = filepath.Join(p.root, "ca")
	mustCA(t, p.ca)
	return p
}

// serverTLS/clientTLS are configured as a node configures its links
// (LoadTLS): id's certificate, signed by p's CA; the client trusts roots' CA.
func (p *pki) serverTLS(t *testing.T, id string) *tls.Config {
	tc := p.nodeTLS(t, id, p, true)
	tc.ClientAuth = tls.RequireAndVerifyClientCert
	return tc
}

func (p *pki) clientTLS(t *testing.T, id string, roots *pki) *tls.Config {
	tc := p.nodeTLS(t, id, roots, false)
	tc.ServerName = "127.0.0.1"
	return tc
}

func (p *pki) nodeTLS(t *testing.T, id string, roots *pki, server bool) *tls.Config {
	t.Helper()
	dir := filepath.Join(p.root, id)
	mustNode(t, p.ca, dir, id)
	tc, err := LoadTLS(TLSFiles{CA: filepath.Join(roots.ca, CACertFile), Cert: filepath.Join(dir, NodeCertFile),
		Key: filepath.Join(dir, NodeKeyFile)}, id, server)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// store is a parent's ingest path: it records every event it was given.
type store struct {
	mu   sync.Mutex
	evs  []protocol.Event
	fail bool
}

func (s *store) emit(_ context.Context, evs []protocol.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk full")
	}
	s.evs = append(s.evs, evs...)
	return nil
}

func startServer(t *testing.T, ctx context.Context, tc *tls.Config, id string, st *store) *Server {
	t.Helper()
	s, err := Listen(ServerOptions{Addr: "127.0.0.1:0", TLS: tc, NodeID: id, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	go s.Run(ctx, st.emit)
	return s
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func batchOf(node string, from, n int) []protocol.Event {
	evs := make([]protocol.Event, n)
	for i := range evs {
		evs[i] = protocol.Event{ID: protocol.ID{Node: node, Seq: uint64(from + i)}, Host: "web-1", App: "app",
			Message: fmt.Sprintf("message %d", from+i), Count: 1, Hops: 0}
	}
	return evs
}

// TestLinkDeliversAndFailsOver: real QUIC over loopback with mutual TLS.
// 20,000 events in batches through Client.Write arrive with their IDs and
// one more hop; when the first parent goes away mid-stream, the failed batch
// is retried and lands at the second parent; together they hold every ID.
func TestLinkDeliversAndFailsOver(t *testing.T) {
	for _, compress := range []bool{true, false} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			p := newPKI(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ctxA, stopA := context.WithCancel(ctx)
			defer stopA()
			var a, b store
			sa := startServer(t, ctxA, p.serverTLS(t, "root-a"), "root-a", &a)
			sb := startServer(t, ctx, p.serverTLS(t, "root-b"), "root-b", &b)
			c, err := NewClient(ClientOptions{Upstreams: []string{sa.Addr().String(), sb.Addr().String()},
				TLS: p.clientTLS(t, "leaf-1", p), NodeID: "leaf-1", Compress: compress, Logger: quiet(), AckTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const total, per = 20000, 500
			retries := 0
			for from := 1; from <= total; from += per {
				if from == total/2+1 {
					stopA() // the first parent goes away
				}
				evs := batchOf("leaf-1", from, per)
				for {
					err := c.Write(ctx, evs)
					if err == nil {
						break
					}
					if retries++; retries > 20 {
						t.Fatalf("batch from %d: %v", from, err)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			seen := map[uint64]int{}
			for _, s := range []*store{&a, &b} {
				s.mu.Lock()
				for _, ev := range s.evs {
					if ev.ID.Node != "leaf-1" || ev.Hops != 1 || ev.Message != fmt.Sprintf("message %d", ev.ID.Seq) {
						t.Fatalf("event %+v", ev)
					}
					seen[ev.ID.Seq]++
				}
				s.mu.Unlock()
			}
			for i := uint64(1); i <= total; i++ {
				if seen[i] == 0 {
					t.Fatalf("event %d lost", i)
				}
			}
			for _, s := range []*Server{sa, sb} {
				n, cols := s.Stats.Batches.Load(), s.Stats.ColumnBatches.Load()
				wire, recs := s.Stats.WireBytes.Load(), s.Stats.RecordBytes.Load()
				switch {
				case n == 0:
					t.Fatal("a parent got no batch")
				case compress && (cols != n || wire >= recs):
					// both parents speak wire version 2: every batch came as columns
					t.Fatalf("compressed: %d batches, %d of them columns, %d wire bytes for %d record bytes", n, cols, wire, recs)
				case !compress && cols != 0:
					// columns are zstd-compressed: not on an uncompressed link
					t.Fatalf("uncompressed: %d batches, %d of them columns", n, cols)
				}
			}
			a.mu.Lock()
			b.mu.Lock()
			na, nb := len(a.evs), len(b.evs)
			b.mu.Unlock()
			a.mu.Unlock()
			if na == 0 || nb == 0 {
				t.Fatalf("parent a stored %d, b %d: no fail-over happened", na, nb)
			}
			t.Logf("a stored %d, b %d, %d retries (IDs present %d, duplicates by ID %d); wire bytes %d, record bytes %d",
				na, nb, retries, len(seen), na+nb-len(seen), sa.Stats.WireBytes.Load()+sb.Stats.WireBytes.Load(),
				sa.Stats.RecordBytes.Load()+sb.Stats.RecordBytes.Load())
		})
	}
}

// TestLinkRefusesStrangers: a peer whose certificate another CA signed, or
// whose HELLO claims another node, cannot send.
func TestLinkRefusesStrangers(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var st store
	s := startServer(t, ctx, p.serverTLS(t, "root-a"), "root-a", &st)
	try := func(tc *tls.Config, node string) error {
		c, err := NewClient(ClientOptions{Upstreams: []string{s.Addr().String()}, TLS: tc, NodeID: node, Logger: quiet(), AckTimeout: 3 * time.Second})
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Write(ctx, batchOf(node, 1, 3))
	}
	if err := try(other.clientTLS(t, "leaf-x", p), "leaf-x"); err == nil {
		t.Fatal("a certificate of another CA could send")
	}
	if err := try(p.clientTLS(t, "leaf-1", p), "leaf-2"); err == nil {
		t.Fatal("a node could send as another node")
	}
	if err := try(p.clientTLS(t, "leaf-3", p), "leaf-3"); err != nil {
		t.Fatalf("the right certificate: %v", err)
	}
	// and a client with no certificate at all
	noCert := p.clientTLS(t, "leaf-4", p)
	noCert.Certificates = nil
	if err := try(noCert, "leaf-4"); err == nil {
		t.Fatal("a client without a certificate could send")
	}
	if got := s.Stats.Refused.Load(); got != 3 { // other CA, node mismatch, no certificate
		t.Fatalf("refused %d, want 3", got)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.evs) != 3 {
		t.Fatalf("stored %d events, want 3", len(st.evs))
	}
}

// TestServerMalformedInput: a peer that sends garbage, a batch whose data
// does not decode, or events without IDs gets an ERROR, a counter, and
// nothing of it is stored; the server survives.
func TestServerMalformedInput(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var st store
	s := startServer(t, ctx, p.serverTLS(t, "root-a"), "root-a", &st)
	ctc := p.clientTLS(t, "leaf-1", p)
	ctc.NextProtos = []string{wire.ALPN}
	raw := func(frames ...[]byte) []wire.Frame {
		conn, err := quic.DialAddr(ctx, s.Addr().String(), ctc, quicConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseWithError(0, "")
		stream, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			stream.Write(f)
		}
		stream.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := wire.NewReader(stream, 0)
		var got []wire.Frame
		for {
			f, err := r.Next()
			if err != nil {
				return got
			}
			got = append(got, f)
			if e, ok := f.(*wire.Error); ok && e.Seq == 0 {
				return got
			}
			if len(got) == len(frames) {
				return got
			}
		}
	}
	hello := wire.AppendFrame(nil, &wire.Hello{Version: 1, Node: "leaf-1", Window: 1})
	lastErr := func(fs []wire.Frame) *wire.Error {
		if len(fs) == 0 {
			return nil
		}
		e, _ := fs[len(fs)-1].(*wire.Error)
		return e
	}
	// garbage instead of HELLO
	if e := lastErr(raw([]byte("GET / HTTP/1.1\r\n\r\n"))); e == nil || e.Code != wire.ErrBadFrame {
		t.Fatalf("garbage: %+v", e)
	}
	// a batch with bad zstd, one with events without IDs, then a good one
	bad := wire.AppendFrame(nil, &wire.Batch{Seq: 1, Count: 1, Codec: wire.CodecZstd, RawLen: 10, Data: []byte("nonsense!!")})
	noID := (&protocol.Event{Message: "x"}).AppendBinary(nil)
	enc, _ := wire.NewBatchEncoder(false)
	b2, _ := enc.Encode(2, [][]byte{noID}, nil)
	f2 := wire.AppendFrame(nil, b2)
	good := batchOf("leaf-1", 1, 2)
	b3, _ := enc.Encode(3, [][]byte{good[0].AppendBinary(nil), good[1].AppendBinary(nil)}, nil)
	f3 := wire.AppendFrame(nil, b3)
	got := raw(hello, bad, f2, f3)
	if len(got) != 4 {
		t.Fatalf("answers %v", got)
	}
	if w, ok := got[0].(*wire.Welcome); !ok || w.Version != 1 {
		t.Fatalf("a version 1 HELLO must get a version 1 WELCOME: %+v", got[0])
	}
	if e, ok := got[1].(*wire.Error); !ok || e.Seq != 1 || e.Code != wire.ErrBadBatch {
		t.Fatalf("bad zstd: %+v", got[1])
	}
	if e, ok := got[2].(*wire.Error); !ok || e.Seq != 2 || e.Code != wire.ErrBadBatch {
		t.Fatalf("no ID: %+v", got[2])
	}
	if a, ok := got[3].(*wire.Ack); !ok || a.Seq != 3 {
		t.Fatalf("good batch: %+v", got[3])
	}
	// a frame with a huge length after HELLO: ERROR and the link closes
	huge := append([]byte{byte(wire.TypeBatch)}, 0xff, 0xff, 0xff, 0xff, 0x0f)
	if e := lastErr(raw(hello, huge)); e == nil || e.Code != wire.ErrBadFrame {
		t.Fatalf("huge frame: %+v", e)
	}
	if s.Stats.BadBatches.Load() != 2 || s.Stats.BadFrames.Load() != 2 {
		t.Fatalf("bad batches %d, bad frames %d", s.Stats.BadBatches.Load(), s.Stats.BadFrames.Load())
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.evs) != 2 {
		t.Fatalf("stored %d events, want only the 2 of the good batch", len(st.evs))
	}
}

// TestLinkWindow: with several batches in flight on one link, every one is
// ACKed once; the parent stores the batches that wait together (fewer emits
// than batches); and when the parent goes away with batches in flight, each
// of them fails exactly once, none hangs.
func TestLinkWindow(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var emits int
	var st store
	slow := func(ctx context.Context, evs []protocol.Event) error {
		time.Sleep(2 * time.Millisecond) // an fsync
		st.mu.Lock()
		emits++
		st.mu.Unlock()
		return st.emit(ctx, evs)
	}
	s, err := Listen(ServerOptions{Addr: "127.0.0.1:0", TLS: p.serverTLS(t, "root"), NodeID: "root", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stopServer := context.WithCancel(ctx)
	go s.Run(sctx, slow)
	c, err := NewClient(ClientOptions{Upstreams: []string{s.Addr().String()}, TLS: p.clientTLS(t, "leaf", p),
		NodeID: "leaf", Compress: true, Logger: quiet(), Window: 8, AckTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Window() != 8 {
		t.Fatalf("Window() = %d", c.Window())
	}
	const batches, per = 200, 100
	slots := make(chan struct{}, c.Window())
	var mu sync.Mutex
	calls := map[int]int{}
	var failed []error
	var wg sync.WaitGroup
	send := func(i int) {
		slots <- struct{}{}
		wg.Add(1)
		err := c.Send(ctx, batchOf("leaf", 1+i*per, per), func(err error) {
			mu.Lock()
			calls[i]++
			if err != nil {
				failed = append(failed, err)
			}
			mu.Unlock()
			<-slots
			wg.Done()
		})
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := range batches {
		send(i)
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d batches failed: %v", len(failed), failed[0])
	}
	st.mu.Lock()
	nEvents, nEmits := len(st.evs), emits
	st.mu.Unlock()
	if nEvents != batches*per || s.Stats.Batches.Load() != batches {
		t.Fatalf("parent stored %d events, %d batches", nEvents, s.Stats.Batches.Load())
	}
	if nEmits >= batches {
		t.Fatalf("%d emits for %d batches: batches waiting were not stored together", nEmits, batches)
	}
	t.Logf("%d batches in %d emits", batches, nEmits)

	// The parent goes away with batches in flight: each settles once, with an error.
	block := make(chan struct{})
	stopServer()
	s2, err := Listen(ServerOptions{Addr: "127.0.0.1:0", TLS: p.serverTLS(t, "root2"), NodeID: "root2", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, stop2 := context.WithCancel(ctx)
	go s2.Run(ctx2, func(ctx context.Context, _ []protocol.Event) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return errors.New("gone")
	})
	c2, err := NewClient(ClientOptions{Upstreams: []string{s2.Addr().String()}, TLS: p.clientTLS(t, "leaf2", p),
		NodeID: "leaf2", Logger: quiet(), Window: 8, AckTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	clear(calls)
	failed = nil
	c = c2
	for i := range 5 {
		send(i)
	}
	stop2()
	wg.Wait()
	close(block)
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 5 || len(calls) != 5 {
		t.Fatalf("%d of 5 batches failed, %d settled", len(failed), len(calls))
	}
	for i, n := range calls {
		if n != 1 {
			t.Fatalf("batch %d settled %d times", i, n)
		}
	}
}

// TestSendRecordsGivesIDs: WAL records are forwarded as they are; one
// without an ID gets the client's origin (the node ID when Origin is not
// set) and its WAL index, one relayed from another node keeps its ID. HELLO
// names the node by its ID, whatever the origin.
func TestSendRecordsGivesIDs(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var st store
	s := startServer(t, ctx, p.serverTLS(t, "root"), "root", &st)
	tc := p.clientTLS(t, "mid", p)
	for _, c := range []struct{ origin, want string }{{"", "mid"}, {"mid.0badcafe", "mid.0badcafe"}} {
		cl, err := NewClient(ClientOptions{Upstreams: []string{s.Addr().String()}, TLS: tc,
			NodeID: "mid", Origin: c.origin, Compress: true, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		local := protocol.Event{Host: "h", App: "a", Message: "local", Count: 1}
		relayed := protocol.Event{ID: protocol.ID{Node: "leaf", Seq: 9}, Hops: 1, Host: "h", App: "a", Message: "relayed", Count: 1}
		recs := []Record{{Index: 41, Data: local.AppendBinary(nil)}, {Index: 42, Data: relayed.AppendBinary(nil)},
			{Index: 43, Data: []byte{1, 2}}}
		res := make(chan error, 1)
		if err := cl.SendRecords(ctx, recs, func(err error) { res <- err }); !isPermanentErr(err) {
			t.Fatalf("a record that does not decode: %v, want a permanent error", err)
		}
		if err := cl.SendRecords(ctx, recs[:2], func(err error) { res <- err }); err != nil {
			t.Fatal(err)
		}
		if err := <-res; err != nil {
			t.Fatal(err)
		}
		st.mu.Lock()
		evs := st.evs
		st.evs = nil
		st.mu.Unlock()
		if len(evs) != 2 || evs[0].ID != (protocol.ID{Node: c.want, Seq: 41}) || evs[0].Message != "local" ||
			evs[1].ID != relayed.ID || evs[1].Hops != 2 || evs[1].Message != "relayed" {
			t.Fatalf("origin %q: parent stored %+v", c.origin, evs)
		}
	}
}

func isPermanentErr(err error) bool {
	var p PermanentError
	return errors.As(err, &p)
}

// TestServerEmitRecords: with EmitRecords the parent stores the records as
// they came, one hop more; an event without a received time gets one.
func TestServerEmitRecords(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []protocol.Event
	s, err := Listen(ServerOptions{Addr: "127.0.0.1:0", TLS: p.serverTLS(t, "root"), NodeID: "root", Logger: quiet(),
		EmitRecords: func(_ context.Context, recs [][]byte) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range recs {
				var ev protocol.Event
				if err := ev.UnmarshalBinary(r); err != nil {
					return err
				}
				got = append(got, ev)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Run(ctx, func(context.Context, []protocol.Event) error { return errors.New("emit must not be used") })
	c, err := NewClient(ClientOptions{Upstreams: []string{s.Addr().String()}, TLS: p.clientTLS(t, "leaf", p),
		NodeID: "leaf", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	evs := batchOf("leaf", 1, 3)
	stamped := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	evs[0].Received, evs[1].Hops = stamped, 254
	before := time.Now()
	if err := c.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("stored %d events", len(got))
	}
	if !got[0].Received.Equal(stamped) || got[0].Hops != 1 || got[1].Hops != 255 || got[1].Received.Before(before.Add(-time.Second)) {
		t.Fatalf("stored %+v", got)
	}
	for i, ev := range got {
		if ev.ID != evs[i].ID || ev.Message != evs[i].Message {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
}
