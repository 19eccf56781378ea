package relp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	ssyslog "logpacker/appliance/source/syslog"
	"logpacker/protocol"
	psyslog "logpacker/protocol/syslog"
)

// store is a fake ingest path: it records what emit was given (as a WAL
// would: copies) before returning, and can be told to fail.
type store struct {
	mu      sync.Mutex
	evs     []protocol.Event
	batches int
	fail    error
}

func (s *store) emit(_ context.Context, evs []protocol.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.evs = append(s.evs, evs...)
	s.batches++
	return nil
}

func (s *store) events() []protocol.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]protocol.Event(nil), s.evs...)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startServer runs a RELP listener on 127.0.0.1 until the test ends.
func startServer(t *testing.T, st *store, o Options) (*Server, metrics) {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	o.Metrics = ssyslog.NewMetricVecs(reg).Listener("relp")
	if o.Parse.Location == nil {
		o.Parse.Location = time.UTC
	}
	s, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, st.emit) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, metrics{t, reg}
}

// metrics reads the listener's metrics as /metrics would show them.
type metrics struct {
	t   *testing.T
	reg *prometheus.Registry
}

// get returns logpacker_listener_<name>{listener="relp"}.
func (m metrics) get(name string) float64 {
	m.t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		m.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "logpacker_listener_"+name {
			continue
		}
		for _, x := range mf.GetMetric() {
			for _, l := range x.GetLabel() {
				if l.GetName() == "listener" && l.GetValue() == "relp" {
					return x.GetCounter().GetValue() + x.GetGauge().GetValue()
				}
			}
		}
	}
	m.t.Fatalf("no metric logpacker_listener_%s{listener=\"relp\"}", name)
	return 0
}

// client is a hand-written RELP client: it writes frames and reads the
// server's with the package's Reader (hints allowed).
type client struct {
	t    *testing.T
	c    net.Conn
	r    *Reader
	txnr int
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := NewReader(c, 1<<20)
	r.Hints = true
	return &client{t: t, c: c, r: r, txnr: 1}
}

// send writes one command and returns its txnr.
func (c *client) send(cmd, data string) int {
	c.t.Helper()
	n := c.txnr
	c.txnr = nextTxnr(c.txnr)
	c.raw(string(AppendFrame(nil, n, cmd, []byte(data))))
	return n
}

func (c *client) raw(b string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, b); err != nil {
		c.t.Fatal(err)
	}
}

// read reads the next frame from the server (failing the test on error;
// the deadline only guards against a hang).
func (c *client) read() Frame {
	c.t.Helper()
	f, err := c.readErr()
	if err != nil {
		c.t.Fatalf("read from server: %v", err)
	}
	return f
}

func (c *client) readErr() (Frame, error) {
	c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	f, err := c.r.Next()
	f.Data = bytes.Clone(f.Data)
	return f, err
}

// expect reads a frame and checks it.
func (c *client) expect(txnr int, cmd, data string) {
	c.t.Helper()
	f := c.read()
	if f.Txnr != txnr || f.Command != cmd || string(f.Data) != data {
		c.t.Fatalf("got %d %s %q, want %d %s %q", f.Txnr, f.Command, f.Data, txnr, cmd, data)
	}
}

// expectClosed reads the serverclose hint and then the end of the stream.
func (c *client) expectClosed() {
	c.t.Helper()
	c.expect(0, CmdServerClose, "")
	if f, err := c.readErr(); err != io.EOF {
		c.t.Fatalf("after serverclose: %+v %v, want EOF", f, err)
	}
}

func (c *client) open() {
	c.t.Helper()
	n := c.send(CmdOpen, "relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog")
	c.expect(n, CmdRsp, "200 OK\nrelp_version=0\nrelp_software=logpacker\ncommands=syslog")
}

// TestSessionHandshake: open, a few messages of every kind, close — each
// answered as librelp expects, each stored as the syslog listeners store it.
func TestSessionHandshake(t *testing.T) {
	st := &store{}
	s, m := startServer(t, st, Options{Parse: psyslog.Options{MaxSize: 480}})
	c := dial(t, s)
	c.open()
	long := "<14>1 2026-11-24T10:00:00Z h app - - - " + strings.Repeat("L", 600)
	msgs := []string{
		"<165>1 2026-11-24T10:11:12.345+01:00 web-1 billing 4242 ORDER [meta@32473 k=\"v\"] order 17 paid",
		"<13>2026-11-24T10:00:00Z db-2 sshd[77]: Accepted publickey", // rsyslog's default omrelp template
		"<38>Nov 24 10:11:13 db-2 cron: daily",
		"\x00\x01 not syslog at all",
		"",
		long,
	}
	var txnrs []int
	for _, m := range msgs {
		txnrs = append(txnrs, c.send(CmdSyslog, m))
	}
	for _, n := range txnrs {
		c.expect(n, CmdRsp, "200 OK")
	}
	n := c.send(CmdClose, "")
	c.expect(n, CmdRsp, "200 OK")
	c.expectClosed()

	evs := st.events()
	if len(evs) != 5 {
		t.Fatalf("%d events stored, want 5 (the empty message is acknowledged, not stored)", len(evs))
	}
	for _, ev := range evs {
		if ev.Transport != "relp" || !strings.HasPrefix(ev.Peer, "127.0.0.1:") {
			t.Errorf("transport %q peer %q", ev.Transport, ev.Peer)
		}
	}
	if e := evs[0]; e.Host != "web-1" || e.App != "billing" || e.ProcID != "4242" || e.MsgID != "ORDER" || e.Message != "order 17 paid" ||
		e.Facility != protocol.FacLocal4 || e.Severity != protocol.SevNotice || len(e.SD) != 1 || e.ParseErr != "" {
		t.Errorf("RFC 5424: %s", e.AppendJSON(nil))
	}
	if e := evs[1]; e.Host != "db-2" || e.App != "sshd" || e.ProcID != "77" || e.Message != "Accepted publickey" || e.Time.Year() != 2026 || e.ParseErr != "" {
		t.Errorf("rsyslog forward format: %s", e.AppendJSON(nil))
	}
	if e := evs[2]; e.Host != "db-2" || e.App != "cron" || e.Message != "daily" || e.Facility != protocol.FacAuth || e.ParseErr != "" {
		t.Errorf("RFC 3164: %s", e.AppendJSON(nil))
	}
	if e := evs[3]; e.ParseErr == "" || e.Message != "\x00\x01 not syslog at all" {
		t.Errorf("unparseable: kept raw with parse_error: %s", e.AppendJSON(nil))
	}
	if e := evs[4]; len(e.Tags) != 1 || e.Tags[0] != ssyslog.TruncatedTag || len(e.Message) > 480 || e.ParseErr != "" {
		t.Errorf("long: %s", e.AppendJSON(nil))
	}
	for name, want := range map[string]float64{"received_total": 5, "parsed_total": 4, "parse_errors_total": 1,
		"truncated_total": 1, "empty_frames_total": 1, "connections_total": 1} {
		if got := m.get(name); got != want {
			t.Errorf("metric %s = %v, want %v", name, got, want)
		}
	}
	if s.Stats.Frames.Load() != 8 || s.Stats.Acked.Load() != 6 || s.Stats.BadFrames.Load() != 0 {
		t.Errorf("stats: frames %d acked %d bad %d", s.Stats.Frames.Load(), s.Stats.Acked.Load(), s.Stats.BadFrames.Load())
	}
	if m.get("bytes_total") == 0 {
		t.Error("bytes not counted")
	}
}

// TestWindow: the client sends a large window of transactions without
// reading; every one is acknowledged, in order, and only after emit
// returned with its message.
func TestWindow(t *testing.T) {
	st := &store{}
	s, _ := startServer(t, st, Options{BatchSize: 100})
	c := dial(t, s)
	c.open()
	const n = 5000
	var buf []byte
	first := c.txnr
	for i := 0; i < n; i++ {
		buf = AppendFrame(buf, c.txnr, CmdSyslog, fmt.Appendf(nil, "<13>1 2026-11-24T10:00:00Z h app - - - seq=%d", i))
		c.txnr = nextTxnr(c.txnr)
	}
	go c.c.Write(buf) // all at once, acknowledgements read meanwhile
	for i := 0; i < n; i++ {
		f := c.read()
		if f.Txnr != first+i || f.Command != CmdRsp || string(f.Data) != "200 OK" {
			t.Fatalf("response %d: %d %s %q, want %d rsp \"200 OK\"", i, f.Txnr, f.Command, f.Data, first+i)
		}
		// durable before acknowledged: emit had returned with this message
		st.mu.Lock()
		stored := len(st.evs) > i && st.evs[i].Message == fmt.Sprintf("seq=%d", i)
		st.mu.Unlock()
		if !stored {
			t.Fatalf("txnr %d acknowledged before its message was stored", f.Txnr)
		}
	}
	st.mu.Lock()
	t.Logf("%d messages in %d batches (batch_size 100)", n, st.batches)
	if st.batches < n/100 {
		t.Errorf("%d batches for %d messages with batch_size 100", st.batches, n)
	}
	st.mu.Unlock()
}

// TestEmitErrorNoAck: when the WAL refuses a batch, none of its
// transactions is acknowledged (no 200, no 500: librelp drops a message
// answered 500); the client gets serverclose and the connection closes, so
// librelp resends on its next connection.
func TestEmitErrorNoAck(t *testing.T) {
	st := &store{}
	s, _ := startServer(t, st, Options{})
	c := dial(t, s)
	c.open()
	st.mu.Lock()
	st.fail = errors.New("wal: closed")
	st.mu.Unlock()
	var buf []byte
	for i := 0; i < 10; i++ {
		buf = AppendFrame(buf, c.txnr, CmdSyslog, []byte("<13>1 2026-11-24T10:00:00Z h app - - - lost?"))
		c.txnr++
	}
	c.raw(string(buf))
	c.expectClosed() // and nothing before it: no rsp for any of the ten
	if len(st.events()) != 0 || s.Stats.Acked.Load() != 0 || s.Stats.UnackedCloses.Load() != 1 {
		t.Fatalf("stored %d, acked %d, unacked closes %d", len(st.events()), s.Stats.Acked.Load(), s.Stats.UnackedCloses.Load())
	}
	// the store is back: a new connection (as librelp reconnects) delivers
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	c = dial(t, s)
	c.open()
	n := c.send(CmdSyslog, "<13>1 2026-11-24T10:00:00Z h app - - - resent")
	c.expect(n, CmdRsp, "200 OK")
	if evs := st.events(); len(evs) != 1 || evs[0].Message != "resent" {
		t.Fatalf("after reconnect: %v", evs)
	}
}

// TestProtocolViolations: each is logged, counted, and closes the
// connection with serverclose — after the valid frames before it were
// stored and acknowledged.
func TestProtocolViolations(t *testing.T) {
	const msg = "<13>1 2026-11-24T10:00:00Z h app - - - ok"
	cases := []struct {
		name     string
		open     bool   // do the handshake first
		valid    int    // valid syslog frames sent before the bad input
		bad      string // raw bytes; %d is replaced by the next txnr
		rsp      string // a response expected before serverclose (refused open)
		oversize bool
	}{
		{"syslog before open", false, 0, "%d syslog 2 hi\n", "", false},
		{"txnr out of sequence", true, 2, "99 syslog 2 hi\n", "", false},
		{"txnr repeated", true, 1, "2 syslog 2 hi\n", "", false},
		{"txnr 0", true, 1, "0 syslog 2 hi\n", "", false},
		{"rsp from a client", true, 1, "%d rsp 6 200 OK\n", "", false},
		{"serverclose from a client", true, 1, "%d serverclose 0\n", "", false},
		{"starttls", true, 0, "%d starttls 0\n", "", false},
		{"unknown command", true, 3, "%d eventlog 2 hi\n", "", false},
		{"bad datalen", true, 2, "%d syslog 2x hi\n", "", false},
		{"data longer than datalen", true, 1, "%d syslog 2 hi!\n", "", false},
		{"oversized", true, 2, "%d syslog 1000 ", "", true},
		{"garbage", true, 0, "\x16\x03\x01\x00", "", false},
		{"open without relp_version", false, 0, "%d open 15 commands=syslog\n", "500 the relp_version offer is missing", false},
		{"open without syslog", false, 0, "%d open 14 relp_version=0\n", "500 the client does not offer the syslog command (commands=)", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &store{}
			s, _ := startServer(t, st, Options{MaxData: 500})
			c := dial(t, s)
			if tc.open {
				c.open()
			}
			var acks []int
			for i := 0; i < tc.valid; i++ {
				acks = append(acks, c.send(CmdSyslog, msg))
			}
			bad := tc.bad
			if strings.Contains(bad, "%d") {
				bad = fmt.Sprintf(bad, c.txnr)
			}
			c.raw(bad)
			for _, n := range acks {
				c.expect(n, CmdRsp, "200 OK")
			}
			if tc.rsp != "" {
				c.expect(c.txnr, CmdRsp, tc.rsp)
			}
			c.expectClosed()
			if got := len(st.events()); got != tc.valid {
				t.Errorf("%d events stored, want %d", got, tc.valid)
			}
			if s.Stats.BadFrames.Load() != 1 || (s.Stats.Oversized.Load() == 1) != tc.oversize {
				t.Errorf("bad frames %d, oversized %d", s.Stats.BadFrames.Load(), s.Stats.Oversized.Load())
			}
		})
	}
}

// TestRepeatedOpen: answered as librelp answers it, and the session goes on.
func TestRepeatedOpen(t *testing.T) {
	st := &store{}
	s, _ := startServer(t, st, Options{})
	c := dial(t, s)
	c.open()
	n := c.send(CmdOpen, "relp_version=0\ncommands=syslog")
	c.expect(n, CmdRsp, "200 connection already open - ignored")
	n = c.send(CmdSyslog, "<13>1 2026-11-24T10:00:00Z h app - - - still here")
	c.expect(n, CmdRsp, "200 OK")
}

// TestShutdown: when the node stops, an open session gets serverclose and
// the listener's Run returns.
func TestShutdown(t *testing.T) {
	st := &store{}
	o := Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	s, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, st.emit) }()
	c := dial(t, s)
	c.open()
	n := c.send(CmdSyslog, "<13>1 2026-11-24T10:00:00Z h app - - - before shutdown")
	c.expect(n, CmdRsp, "200 OK")
	cancel()
	c.expectClosed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

// TestIdleTimeout: an idle session is closed with serverclose.
func TestIdleTimeout(t *testing.T) {
	s, _ := startServer(t, &store{}, Options{IdleTimeout: 50 * time.Millisecond})
	c := dial(t, s)
	c.open()
	c.expectClosed()
}

// TestMaxConnections: connections above the limit are closed at once and
// counted.
func TestMaxConnections(t *testing.T) {
	s, m := startServer(t, &store{}, Options{MaxConns: 1})
	c := dial(t, s)
	c.open()
	c2 := dial(t, s)
	if f, err := c2.readErr(); err != io.EOF {
		t.Fatalf("second connection: %+v %v, want EOF", f, err)
	}
	if got := m.get("rejected_connections_total"); got != 1 {
		t.Errorf("rejected = %v", got)
	}
	n := c.send(CmdSyslog, "<13>1 2026-11-24T10:00:00Z h app - - - first still works")
	c.expect(n, CmdRsp, "200 OK")
}

func TestListenBadAddress(t *testing.T) {
	_, err := Listen(Options{Addr: "127.0.0.1:99999"})
	if err == nil || !strings.Contains(err.Error(), "source/relp: relp: listen 127.0.0.1:99999") {
		t.Fatalf("%v", err)
	}
}

// BenchmarkServer is one message through a RELP connection on loopback:
// frame, parse (RFC 5424), batch, emit (a no-op store), acknowledge. The
// client writes 256 frames at a time and reads the acknowledgements in a
// goroutine (the sockets' buffers bound what is in flight).
func BenchmarkServer(b *testing.B) {
	s, err := Listen(Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx, func(context.Context, []protocol.Event) error { return nil })
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := NewReader(c, 0)
	c.Write(AppendFrame(nil, 1, CmdOpen, []byte("relp_version=0\ncommands=syslog")))
	if f, err := r.Next(); err != nil || f.Command != CmdRsp {
		b.Fatal(f, err)
	}
	msg := []byte("<134>1 2026-11-24T11:00:00.000Z loadhost bulk - - - seq=123456 padding-to-make-it-realistic-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			f, err := r.Next()
			if err != nil || f.Txnr != i+2 {
				done <- fmt.Errorf("ack %d: %+v %v", i, f, err)
				return
			}
		}
		done <- nil
	}()
	var buf []byte
	for sent := 0; sent < b.N; {
		n := min(256, b.N-sent)
		buf = buf[:0]
		for j := 0; j < n; j++ {
			buf = AppendFrame(buf, sent+j+2, CmdSyslog, msg)
		}
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
