package discovery

import (
	"context"
	"errors"
	"log/slog"
	"logpacker/discovery/dnsmasqtest"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeZone is an in-process DNS server on 127.0.0.1 (UDP and TCP, one port)
// for the cases dnsmasq cannot be made to produce: no glue, truncation,
// SERVFAIL, targets of ".", IP-literal targets, a server that never answers.
type fakeZone struct {
	addr string

	mu       sync.Mutex
	rrs      []dns.RR
	glue     bool          // put the SRV targets' A/AAAA into Additional
	truncUDP bool          // answer UDP with TC and nothing else
	rcode    int           // answer every query with this RCODE (0: look up rrs)
	hold     chan struct{} // non-nil: SRV queries wait for it to close
	queries  []string      // "udp SRV name", in order
	inSRV    int           // SRV queries being answered now
	maxInSRV int
}

func newFakeZone(t *testing.T, rrs ...string) *fakeZone {
	t.Helper()
	z := &fakeZone{glue: true}
	z.set(t, rrs...)
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("no free port for both UDP and TCP: %v", err)
	}
	z.addr = pc.LocalAddr().String()
	us := &dns.Server{PacketConn: pc, Handler: z}
	ts := &dns.Server{Listener: ln, Handler: z}
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	t.Cleanup(func() {
		z.mu.Lock()
		if z.hold != nil {
			select {
			case <-z.hold:
			default:
				close(z.hold)
			}
		}
		z.mu.Unlock()
		us.Shutdown()
		ts.Shutdown()
	})
	return z
}

func (z *fakeZone) set(t *testing.T, rrs ...string) {
	t.Helper()
	var out []dns.RR
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		out = append(out, rr)
	}
	z.mu.Lock()
	z.rrs = out
	z.mu.Unlock()
}

func (z *fakeZone) setRcode(rc int) {
	z.mu.Lock()
	z.rcode = rc
	z.mu.Unlock()
}

func (z *fakeZone) log() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return slices.Clone(z.queries)
}

func (z *fakeZone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	network := w.RemoteAddr().Network()
	z.mu.Lock()
	z.queries = append(z.queries, network+" "+dns.TypeToString[q.Qtype]+" "+q.Name)
	hold := z.hold
	if q.Qtype == dns.TypeSRV {
		z.inSRV++
		z.maxInSRV = max(z.maxInSRV, z.inSRV)
	}
	z.mu.Unlock()
	if q.Qtype == dns.TypeSRV && hold != nil {
		<-hold
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if q.Qtype == dns.TypeSRV {
		// Done being answered before the reply is written: once the client
		// has the reply, its next query must not find this one still
		// counted (a deferred decrement could run after it arrived).
		z.inSRV--
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if z.truncUDP && strings.HasPrefix(network, "udp") {
		m.Truncated = true
		w.WriteMsg(m)
		return
	}
	if z.rcode != 0 {
		m.Rcode = z.rcode
		w.WriteMsg(m)
		return
	}
	known := false
	for _, rr := range z.rrs {
		if !strings.EqualFold(rr.Header().Name, q.Name) {
			continue
		}
		known = true
		if rr.Header().Rrtype == q.Qtype {
			m.Answer = append(m.Answer, dns.Copy(rr))
		}
	}
	if !known {
		m.Rcode = dns.RcodeNameError
	}
	if z.glue {
		for _, a := range m.Answer {
			s, ok := a.(*dns.SRV)
			if !ok {
				continue
			}
			for _, rr := range z.rrs {
				if strings.EqualFold(rr.Header().Name, s.Target) && (rr.Header().Rrtype == dns.TypeA || rr.Header().Rrtype == dns.TypeAAAA) {
					m.Extra = append(m.Extra, dns.Copy(rr))
				}
			}
		}
	}
	w.WriteMsg(m)
}

// fakeClock is Options.Now for tests that step time by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// logBuf collects log lines for the tests that count warnings.
type logBuf = dnsmasqtest.Log

func newTestSRV(t *testing.T, name string, o Options) (Upstreams, *logBuf) {
	t.Helper()
	lb := &logBuf{}
	o.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(7, 7))
	}
	u, err := New("srv:"+name, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", lb)
		}
	})
	return u, lb
}

func addrsOf(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Addr)
	}
	return out
}

// TestSRVAnswers: how one answer becomes targets, per kind of answer.
func TestSRVAnswers(t *testing.T) {
	const name = "_lp._udp.t."
	for _, tc := range []struct {
		name     string
		rrs      []string
		noGlue   bool
		truncUDP bool
		rcode    int
		want     []Target // in order (the answers have one target per priority)
		wantErr  string
		queries  []string // the exact queries, when it matters
		warn     string   // a warning logged
	}{
		{
			name: "glue in Additional",
			rrs: []string{name + " 30 IN SRV 10 5 7001 a.t.", name + " 30 IN SRV 20 5 7002 b.t.",
				"a.t. 30 IN A 127.0.0.1", "a.t. 30 IN AAAA ::1", "b.t. 30 IN A 127.0.0.2"},
			want:    []Target{{"127.0.0.1:7001", "a.t", 10, 5}, {"[::1]:7001", "a.t", 10, 5}, {"127.0.0.2:7002", "b.t", 20, 5}},
			queries: []string{"udp SRV " + name},
		},
		{
			name:    "no glue: A then AAAA queries",
			noGlue:  true,
			rrs:     []string{name + " 30 IN SRV 10 5 7001 a.t.", "a.t. 30 IN A 127.0.0.1", "a.t. 30 IN AAAA ::1"},
			want:    []Target{{"127.0.0.1:7001", "a.t", 10, 5}, {"[::1]:7001", "a.t", 10, 5}},
			queries: []string{"udp SRV " + name, "udp A a.t.", "udp AAAA a.t."},
		},
		{
			name:    "IP literal targets",
			rrs:     []string{name + " 30 IN SRV 1 0 7001 127.0.0.9.", name + " 30 IN SRV 2 0 7002 ::1."},
			want:    []Target{{"127.0.0.9:7001", "127.0.0.9", 1, 0}, {"[::1]:7002", "::1", 2, 0}},
			queries: []string{"udp SRV " + name},
		},
		{
			name:     "truncated over UDP: again over TCP",
			truncUDP: true,
			rrs:      []string{name + " 30 IN SRV 10 5 7001 a.t.", "a.t. 30 IN A 127.0.0.1"},
			want:     []Target{{"127.0.0.1:7001", "a.t", 10, 5}},
			queries:  []string{"udp SRV " + name, "tcp SRV " + name},
		},
		{
			name: "a target without address is dropped",
			rrs: []string{name + " 30 IN SRV 10 5 7001 a.t.", name + " 30 IN SRV 20 5 7002 gone.t.",
				"a.t. 30 IN A 127.0.0.1"},
			want: []Target{{"127.0.0.1:7001", "a.t", 10, 5}},
			warn: "SRV target has no address, dropped",
		},
		{
			name: `"." next to a real target is ignored`,
			rrs:  []string{name + " 30 IN SRV 0 0 0 .", name + " 30 IN SRV 10 5 7001 a.t.", "a.t. 30 IN A 127.0.0.1"},
			want: []Target{{"127.0.0.1:7001", "a.t", 10, 5}},
		},
		{
			name: "the same address twice is kept once",
			rrs: []string{name + " 30 IN SRV 10 5 7001 a.t.", name + " 30 IN SRV 20 5 7001 a2.t.",
				"a.t. 30 IN A 127.0.0.1", "a2.t. 30 IN A 127.0.0.1"},
			want: []Target{{"127.0.0.1:7001", "a.t", 10, 5}},
		},
		{name: `only "."`, rrs: []string{name + " 30 IN SRV 0 0 0 ."}, wantErr: `service is not available (SRV target ".")`},
		{name: "no SRV records", rrs: []string{name + " 30 IN TXT hello"}, wantErr: "no SRV records"},
		{name: "NXDOMAIN", rrs: []string{"other.t. 30 IN A 127.0.0.1"}, wantErr: "SRV _lp._udp.t: NXDOMAIN"},
		{name: "SERVFAIL", rcode: dns.RcodeServerFailure, wantErr: "SRV _lp._udp.t: SERVFAIL"},
		{name: "REFUSED", rcode: dns.RcodeRefused, wantErr: "SRV _lp._udp.t: REFUSED"},
		{
			name:    "no target has an address",
			rrs:     []string{name + " 30 IN SRV 10 5 7001 gone.t.", "gone.t. 30 IN TXT x"},
			wantErr: "no SRV target resolves to an address",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newFakeZone(t, tc.rrs...)
			z.mu.Lock()
			z.glue, z.truncUDP, z.rcode = !tc.noGlue, tc.truncUDP, tc.rcode
			z.mu.Unlock()
			u, lb := newTestSRV(t, strings.TrimSuffix(name, "."), Options{Resolver: z.addr})
			got, err := u.Order(context.Background())
			st := u.Stats()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "discovery: srv:_lp._udp.t: ") {
					t.Fatalf("Order = %v, %v; want an error with %q", got, err, tc.wantErr)
				}
				if st.Lookups != 1 || st.LookupFailures != 1 || st.Stale || st.Targets != 0 || st.LastError != err.Error() {
					t.Errorf("Stats = %+v", st)
				}
				if n := lb.Count("lookup failed, no answer yet"); n != 1 {
					t.Errorf("%d warnings, want 1", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Order =\n%+v, want\n%+v", got, tc.want)
			}
			if tc.queries != nil && !slices.Equal(z.log(), tc.queries) {
				t.Errorf("queries %q, want %q", z.log(), tc.queries)
			}
			if tc.warn != "" && lb.Count(tc.warn) != 1 {
				t.Errorf("log lacks %q", tc.warn)
			}
			for _, w := range tc.want {
				if !u.Has(w.Addr) {
					t.Errorf("Has(%q) = false", w.Addr)
				}
			}
			if st.Lookups != 1 || st.LookupFailures != 0 || st.Stale || st.Targets != len(tc.want) || st.LastGood.IsZero() {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// TestSRVLifetime steps a fake clock through an answer's life: the TTL
// (smallest of the SRV records, clamped to [MinTTL, MaxTTL]), Failed and its
// MinTTL gap, a failed lookup keeping the last answer with one warning per
// streak and Retry between attempts, and recovery.
func TestSRVLifetime(t *testing.T) {
	const name = "_lp._udp.t."
	z := newFakeZone(t, name+" 30 IN SRV 10 5 7001 a.t.", name+" 20 IN SRV 10 5 7002 a.t.", "a.t. 30 IN A 127.0.0.1")
	clk := newFakeClock()
	u, lb := newTestSRV(t, "_lp._udp.t", Options{Resolver: z.addr, Now: clk.Now, MinTTL: 5 * time.Second,
		MaxTTL: time.Minute, Retry: 10 * time.Second})
	ctx := context.Background()
	order := func(wantLookups, wantFailures uint64, wantStale bool, wantAddrs ...string) {
		t.Helper()
		got, err := u.Order(ctx)
		if err != nil {
			t.Fatalf("Order: %v", err)
		}
		ga := slices.Sorted(slices.Values(addrsOf(got)))
		if !slices.Equal(ga, wantAddrs) {
			t.Fatalf("Order = %v, want %v", ga, wantAddrs)
		}
		st := u.Stats()
		if st.Lookups != wantLookups || st.LookupFailures != wantFailures || st.Stale != wantStale {
			t.Fatalf("Stats = %+v, want %d lookups, %d failures, stale %v", st, wantLookups, wantFailures, wantStale)
		}
	}
	both := []string{"127.0.0.1:7001", "127.0.0.1:7002"}
	order(1, 0, false, both...)
	clk.Add(19 * time.Second)
	order(1, 0, false, both...) // TTL 20 (the smaller one) not over yet
	clk.Add(time.Second)
	order(2, 0, false, both...) // now it is

	// Failed: the next Order looks up, but not within MinTTL of the last.
	u.Failed("127.0.0.1:7001")
	clk.Add(4 * time.Second)
	order(2, 0, false, both...)
	clk.Add(time.Second)
	order(3, 0, false, both...)
	order(3, 0, false, both...) // once per Failed
	clk.Add(5 * time.Second)
	order(3, 0, false, both...) // and no lookup without one before the TTL

	// The records change; a target leaves.
	z.set(t, name+" 30 IN SRV 10 5 7001 a.t.", "a.t. 30 IN A 127.0.0.1")
	clk.Add(15 * time.Second)
	order(4, 0, false, "127.0.0.1:7001")
	if u.Has("127.0.0.1:7002") || !u.Has("127.0.0.1:7001") {
		t.Fatal("Has does not follow the answer")
	}

	// DNS fails: the last answer stays, one warning, a retry every Retry.
	z.setRcode(dns.RcodeServerFailure)
	good := u.Stats().LastGood
	clk.Add(30 * time.Second)
	order(5, 1, true, "127.0.0.1:7001")
	clk.Add(9 * time.Second)
	u.Failed("127.0.0.1:7001") // Retry still holds
	order(5, 1, true, "127.0.0.1:7001")
	clk.Add(time.Second)
	order(6, 2, true, "127.0.0.1:7001")
	if n := lb.Count("lookup failed, keeping the last answer"); n != 1 {
		t.Fatalf("%d warnings in one failure streak, want 1", n)
	}
	if st := u.Stats(); !st.LastGood.Equal(good) || !strings.Contains(st.LastError, "SERVFAIL") || st.Targets != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	if !strings.Contains(lb.String(), "age=30s") {
		t.Errorf("the warning does not give the answer's age (30s): %s", lb)
	}

	// Recovery, then a second streak warns again.
	z.setRcode(0)
	clk.Add(10 * time.Second)
	order(7, 2, false, "127.0.0.1:7001")
	if st := u.Stats(); st.LastError != "" || !st.LastGood.Equal(clk.Now()) {
		t.Fatalf("Stats after recovery = %+v", st)
	}
	z.setRcode(dns.RcodeServerFailure)
	clk.Add(30 * time.Second)
	order(8, 3, true, "127.0.0.1:7001")
	if n := lb.Count("lookup failed, keeping the last answer"); n != 2 {
		t.Fatalf("%d warnings after two streaks, want 2", n)
	}
	if n := lb.Count("lookup succeeded again"); n != 1 {
		t.Fatalf("%d recovery lines, want 1", n)
	}
}

// TestSRVTTLClamp: TTL 0 lives MinTTL; a day lives MaxTTL.
func TestSRVTTLClamp(t *testing.T) {
	for _, tc := range []struct {
		ttl   string
		lives time.Duration
	}{{"0", 5 * time.Second}, {"86400", time.Minute}, {"30", 30 * time.Second}} {
		z := newFakeZone(t, "_lp._udp.t. "+tc.ttl+" IN SRV 1 1 1 127.0.0.1.")
		clk := newFakeClock()
		u, _ := newTestSRV(t, "_lp._udp.t", Options{Resolver: z.addr, Now: clk.Now, MinTTL: 5 * time.Second, MaxTTL: time.Minute})
		u.Order(context.Background())
		clk.Add(tc.lives - time.Nanosecond)
		u.Order(context.Background())
		if n := u.Stats().Lookups; n != 1 {
			t.Errorf("TTL %s: %d lookups before %v, want 1", tc.ttl, n, tc.lives)
		}
		clk.Add(time.Nanosecond)
		u.Order(context.Background())
		if n := u.Stats().Lookups; n != 2 {
			t.Errorf("TTL %s: %d lookups at %v, want 2", tc.ttl, n, tc.lives)
		}
	}
}

// TestSRVNoAnswerYet: without any good answer, every Order is an error and
// asks again at most once per MinTTL.
func TestSRVNoAnswerYet(t *testing.T) {
	z := newFakeZone(t)
	z.setRcode(dns.RcodeServerFailure)
	clk := newFakeClock()
	u, lb := newTestSRV(t, "_lp._udp.t", Options{Resolver: z.addr, Now: clk.Now, MinTTL: 5 * time.Second})
	for i, step := range []struct {
		advance time.Duration
		lookups uint64
	}{{0, 1}, {time.Second, 1}, {4 * time.Second, 2}, {0, 2}} {
		clk.Add(step.advance)
		if _, err := u.Order(context.Background()); err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
			t.Fatalf("step %d: Order error %v, want SERVFAIL", i, err)
		}
		if n := u.Stats().Lookups; n != step.lookups {
			t.Fatalf("step %d: %d lookups, want %d", i, n, step.lookups)
		}
	}
	if u.Has("127.0.0.1:1") || u.Stats().Stale {
		t.Fatal("no answer: Has is true or Stale is set")
	}
	if n := lb.Count("no answer yet"); n != 1 {
		t.Fatalf("%d warnings, want 1 per streak", n)
	}
	z.setRcode(0)
	z.set(t, "_lp._udp.t. 30 IN SRV 1 1 1 127.0.0.1.")
	clk.Add(5 * time.Second)
	if got, err := u.Order(context.Background()); err != nil || len(got) != 1 {
		t.Fatalf("Order = %v, %v", got, err)
	}
}

// TestSRVOneLookupAtATime: concurrent Orders make one lookup; those without
// an answer wait for it, those with one use it meanwhile.
func TestSRVOneLookupAtATime(t *testing.T) {
	z := newFakeZone(t, "_lp._udp.t. 0 IN SRV 1 1 7001 127.0.0.1.")
	hold := make(chan struct{})
	z.mu.Lock()
	z.hold = hold
	z.mu.Unlock()
	clk := newFakeClock()
	u, _ := newTestSRV(t, "_lp._udp.t", Options{Resolver: z.addr, Now: clk.Now, Timeout: time.Minute})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	run := func() {
		wg.Go(func() {
			got, err := u.Order(context.Background())
			if err == nil && len(got) != 1 {
				err = errors.New("no target")
			}
			errs <- err
		})
	}
	for range 10 {
		run()
	}
	waitFor(t, "the first SRV query", func() bool { return len(z.log()) >= 1 })
	close(hold)
	wg.Wait()
	for range 10 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := u.Stats().Lookups; n != 1 {
		t.Fatalf("%d lookups for 10 concurrent first Orders, want 1", n)
	}

	// The answer expired: one caller looks up (held), the others answer
	// from the old one meanwhile.
	hold = make(chan struct{})
	z.mu.Lock()
	z.hold = hold
	z.mu.Unlock()
	clk.Add(2 * time.Second)
	run()
	waitFor(t, "the second SRV query", func() bool { return len(z.log()) >= 2 })
	for range 10 {
		if got, err := u.Order(context.Background()); err != nil || len(got) != 1 {
			t.Fatalf("Order during a lookup = %v, %v", got, err)
		}
	}
	close(hold)
	wg.Wait()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	z.mu.Lock()
	maxIn := z.maxInSRV
	z.mu.Unlock()
	if n := u.Stats().Lookups; n != 2 || maxIn != 1 || len(z.log()) != 2 {
		t.Fatalf("%d lookups, %d queries, up to %d at once; want 2, 2, 1", n, len(z.log()), maxIn)
	}
}

// TestSRVCancel: a caller that gives up gets its context's error at once,
// and that is not counted as a DNS failure.
func TestSRVCancel(t *testing.T) {
	z := newFakeZone(t, "_lp._udp.t. 0 IN SRV 1 1 7001 127.0.0.1.")
	z.mu.Lock()
	z.hold = make(chan struct{})
	z.mu.Unlock()
	u, _ := newTestSRV(t, "_lp._udp.t", Options{Resolver: z.addr, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := u.Order(ctx)
		done <- err
	}()
	waitFor(t, "the SRV query", func() bool { return len(z.log()) >= 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Order after cancel: %v, want context.Canceled", err)
	}
	if st := u.Stats(); st.Lookups != 0 || st.LookupFailures != 0 {
		t.Fatalf("Stats = %+v: an abandoned lookup was counted", st)
	}
}

// TestSRVResolverUnreachable: nothing listens: a failed lookup, not a hang.
func TestSRVResolverUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	u, _ := newTestSRV(t, "_lp._udp.t", Options{Resolver: addr})
	if _, err := u.Order(context.Background()); err == nil {
		t.Fatal("Order without a resolver succeeded")
	}
	if st := u.Stats(); st.LookupFailures != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSRVTimeout: a resolver that stops answering is a failed lookup after
// Timeout: the last answer is kept.
func TestSRVTimeout(t *testing.T) {
	z := newFakeZone(t, "_lp._udp.t. 0 IN SRV 1 1 7001 127.0.0.1.")
	clk := newFakeClock()
	u, lb := newTestSRV(t, "_lp._udp.t", Options{Resolver: z.addr, Now: clk.Now, Timeout: 100 * time.Millisecond})
	if got, err := u.Order(context.Background()); err != nil || len(got) != 1 {
		t.Fatalf("Order = %v, %v", got, err)
	}
	z.mu.Lock()
	z.hold = make(chan struct{})
	z.mu.Unlock()
	clk.Add(time.Second)
	got, err := u.Order(context.Background())
	if err != nil || len(got) != 1 || got[0].Addr != "127.0.0.1:7001" {
		t.Fatalf("Order = %v, %v; want the last answer", got, err)
	}
	st := u.Stats()
	if !st.Stale || st.LookupFailures != 1 || !(strings.Contains(st.LastError, "timeout") || strings.Contains(st.LastError, "deadline exceeded")) {
		t.Fatalf("Stats = %+v", st)
	}
	if lb.Count("keeping the last answer") != 1 {
		t.Fatalf("no warning: %s", lb)
	}
}
