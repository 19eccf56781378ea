package discovery

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"logpacker/discovery/dnsmasqtest"
)

// The tests here run against a real dnsmasq (package dnsmasqtest): each
// starts its own on 127.0.0.1 and a free high port, with its records on the
// command line, and restarts it on the same port to change them.

const srvName = "_logpacker._udp.cluster.test"

func srvHost(target string, port, prio, weight int) string {
	return fmt.Sprintf("--srv-host=%s,%s,%d,%d,%d", srvName, target, port, prio, weight)
}

// TestSRVWeightsIntegration: dnsmasq serves two priority-10 targets of weight
// 20 and 80 and one of priority 20: over 2000 Orders (one lookup, cached) the
// weight-80 one is first about 80% of the time, the priority-20 one is always
// last. Targets carry their SRV name, priority and weight; an AAAA record
// becomes a bracketed address.
func TestSRVWeightsIntegration(t *testing.T) {
	d := dnsmasqtest.Start(t, 1,
		srvHost("root1.cluster.test", 7001, 10, 20),
		srvHost("root2.cluster.test", 7002, 10, 80),
		srvHost("root3.cluster.test", 7003, 20, 50),
		"--srv-host=_v6._udp.cluster.test,root6.cluster.test,7006,1,1",
		"--host-record=root1.cluster.test,127.0.0.1",
		"--host-record=root2.cluster.test,127.0.0.1",
		"--host-record=root3.cluster.test,127.0.0.1",
		"--host-record=root6.cluster.test,::1",
	)
	u, _ := newTestSRV(t, srvName, Options{Resolver: d.Addr(), MinTTL: time.Hour, MaxTTL: time.Hour,
		Rand: rand.New(rand.NewPCG(2782, 1))})
	ctx := context.Background()
	got, err := u.Order(ctx)
	if err != nil {
		t.Fatalf("Order: %v", err)
	}
	byAddr := map[string]Target{}
	for _, tg := range got {
		byAddr[tg.Addr] = tg
	}
	want := map[string]Target{
		"127.0.0.1:7001": {"127.0.0.1:7001", "root1.cluster.test", 10, 20},
		"127.0.0.1:7002": {"127.0.0.1:7002", "root2.cluster.test", 10, 80},
		"127.0.0.1:7003": {"127.0.0.1:7003", "root3.cluster.test", 20, 50},
	}
	if len(got) != 3 || len(byAddr) != 3 {
		t.Fatalf("Order = %+v, want the 3 targets %+v", got, want)
	}
	for a, w := range want {
		if byAddr[a] != w {
			t.Errorf("target %s = %+v, want %+v", a, byAddr[a], w)
		}
	}

	const n = 2000
	first := 0
	for range n {
		got, err := u.Order(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[2].Addr != "127.0.0.1:7003" {
			t.Fatalf("Order = %v: the priority-20 target is not last", addrsOf(got))
		}
		if got[0].Addr == "127.0.0.1:7002" {
			first++
		}
	}
	share := float64(first) / n
	t.Logf("weight 80 first in %d of %d orders (%.1f%%)", first, n, 100*share)
	if share < 0.74 || share > 0.86 {
		t.Fatalf("the weight-80 target was first in %.1f%% of orders, want 74-86%%", 100*share)
	}
	if st := u.Stats(); st.Lookups != 1 || st.Targets != 3 || st.Stale {
		t.Fatalf("Stats = %+v, want one lookup for all the Orders", st)
	}
	waitFor(t, "dnsmasq's log of the query", func() bool { return d.SRVQueries(srvName) >= 1 })
	if q := d.SRVQueries(srvName); q != 1 {
		t.Fatalf("dnsmasq answered %d SRV queries, want 1", q)
	}

	v6, _ := newTestSRV(t, "_v6._udp.cluster.test.", Options{Resolver: d.Addr()})
	got, err = v6.Order(ctx)
	if err != nil || len(got) != 1 || got[0] != (Target{"[::1]:7006", "root6.cluster.test", 1, 1}) {
		t.Fatalf("AAAA target: Order = %+v, %v", got, err)
	}
	if !v6.Has("[::1]:7006") || !v6.Has("[0::1]:7006") {
		t.Fatal("Has([::1]:7006) = false")
	}
}

// TestSRVRecordsChangeIntegration: dnsmasq is restarted with other records;
// once the TTL (1 s) is over, Order returns the new targets and Has(the
// target that left) is false.
func TestSRVRecordsChangeIntegration(t *testing.T) {
	d := dnsmasqtest.Start(t, 1,
		srvHost("root1.cluster.test", 7001, 10, 50),
		srvHost("root2.cluster.test", 7002, 10, 50),
		"--host-record=root1.cluster.test,127.0.0.1",
		"--host-record=root2.cluster.test,127.0.0.1",
	)
	u, lb := newTestSRV(t, srvName, Options{Resolver: d.Addr(), MinTTL: 100 * time.Millisecond, Retry: 100 * time.Millisecond})
	ctx := context.Background()
	sorted := func() []string {
		got, err := u.Order(ctx)
		if err != nil {
			t.Fatalf("Order: %v", err)
		}
		return slices.Sorted(slices.Values(addrsOf(got)))
	}
	if got := sorted(); !slices.Equal(got, []string{"127.0.0.1:7001", "127.0.0.1:7002"}) {
		t.Fatalf("Order = %v", got)
	}
	if !u.Has("127.0.0.1:7002") {
		t.Fatal("Has(127.0.0.1:7002) = false before the change")
	}

	d.Restart(
		srvHost("root1.cluster.test", 7001, 10, 50),
		srvHost("root3.cluster.test", 7003, 20, 50),
		"--host-record=root1.cluster.test,127.0.0.1",
		"--host-record=root3.cluster.test,127.0.0.1",
	)
	want := []string{"127.0.0.1:7001", "127.0.0.1:7003"}
	waitFor(t, "the new records", func() bool { return slices.Equal(sorted(), want) })
	if u.Has("127.0.0.1:7002") {
		t.Fatal("Has(127.0.0.1:7002) = true after it left DNS")
	}
	if !u.Has("127.0.0.1:7003") {
		t.Fatal("Has(127.0.0.1:7003) = false after it joined")
	}
	if st := u.Stats(); st.Stale || st.Targets != 2 || st.Lookups < 2 {
		t.Fatalf("Stats = %+v", st)
	}
	if !strings.Contains(lb.String(), "root3.cluster.test 127.0.0.1:7003") {
		t.Errorf("the new answer was not logged: %s", lb)
	}
}

// TestSRVResolverStoppedIntegration: dnsmasq is stopped; Order keeps
// returning the last good answer without an error, Stale is set, the failures
// are counted, one warning is logged, and lookups are retried every Retry.
func TestSRVResolverStoppedIntegration(t *testing.T) {
	d := dnsmasqtest.Start(t, 1,
		srvHost("root1.cluster.test", 7001, 10, 50),
		"--host-record=root1.cluster.test,127.0.0.1",
	)
	clk := newFakeClock()
	u, lb := newTestSRV(t, srvName, Options{Resolver: d.Addr(), Now: clk.Now, MinTTL: 100 * time.Millisecond,
		Retry: 5 * time.Second, Timeout: time.Second})
	ctx := context.Background()
	want := []Target{{"127.0.0.1:7001", "root1.cluster.test", 10, 50}}
	if got, err := u.Order(ctx); err != nil || !slices.Equal(got, want) {
		t.Fatalf("Order = %+v, %v", got, err)
	}
	good := u.Stats().LastGood

	d.Stop()
	for i, step := range []struct {
		advance  time.Duration
		failures uint64
	}{
		{2 * time.Second, 1}, // the TTL is over: a lookup, which fails
		{time.Second, 1},     // within Retry: no lookup
		{4 * time.Second, 2}, // Retry is over
		{5 * time.Second, 3},
	} {
		clk.Add(step.advance)
		got, err := u.Order(ctx)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("step %d: Order = %+v, %v; want the last answer %+v", i, got, err, want)
		}
		st := u.Stats()
		if !st.Stale || st.LookupFailures != step.failures || st.LastError == "" || !st.LastGood.Equal(good) || st.Targets != 1 {
			t.Fatalf("step %d: Stats = %+v, want stale, %d failures", i, st, step.failures)
		}
		if !u.Has("127.0.0.1:7001") {
			t.Fatalf("step %d: Has(the kept target) = false", i)
		}
	}
	if n := lb.Count("discovery: lookup failed, keeping the last answer"); n != 1 {
		t.Fatalf("%d warnings in one failure streak, want 1", n)
	}
}

// TestSRVFailedIntegration: with a long TTL (1 h), Failed makes the next
// Order ask dnsmasq again, but not within MinTTL of the last lookup, and
// only once per Failed.
func TestSRVFailedIntegration(t *testing.T) {
	d := dnsmasqtest.Start(t, 3600,
		srvHost("root1.cluster.test", 7001, 10, 50),
		srvHost("root2.cluster.test", 7002, 20, 50),
		"--host-record=root1.cluster.test,127.0.0.1",
		"--host-record=root2.cluster.test,127.0.0.1",
	)
	clk := newFakeClock()
	u, _ := newTestSRV(t, srvName, Options{Resolver: d.Addr(), Now: clk.Now, MinTTL: time.Second, MaxTTL: 2 * time.Hour})
	ctx := context.Background()
	step := func(what string, advance time.Duration, failed bool, lookups uint64) {
		t.Helper()
		clk.Add(advance)
		if failed {
			u.Failed("127.0.0.1:7001")
		}
		got, err := u.Order(ctx)
		if err != nil || len(got) != 2 {
			t.Fatalf("%s: Order = %+v, %v", what, got, err)
		}
		if n := u.Stats().Lookups; n != lookups {
			t.Fatalf("%s: %d lookups, want %d", what, n, lookups)
		}
	}
	step("first Order", 0, false, 1)
	step("Failed within MinTTL of the last lookup", 0, true, 1)
	step("still within MinTTL", 999*time.Millisecond, false, 1)
	step("MinTTL over: the pending Failed re-resolves", time.Millisecond, false, 2)
	step("once per Failed", 10*time.Minute, false, 2)
	step("Failed long after the last lookup: at once", 0, true, 3)
	step("Failed again, within MinTTL", 500*time.Millisecond, true, 3)
	step("Failed again, within MinTTL", 499*time.Millisecond, true, 3)
	u.Failed("127.0.0.1:7002")
	u.Failed("127.0.0.1:7001")
	step("MinTTL over: one lookup for all the Failed", time.Millisecond, false, 4)
	step("no lookup without Failed before the TTL", 59*time.Minute, false, 4)
	step("the TTL (1 h) is over", time.Minute, false, 5)

	waitFor(t, "dnsmasq's log of the queries", func() bool { return d.SRVQueries(srvName) >= 5 })
	if q := d.SRVQueries(srvName); q != 5 {
		t.Fatalf("dnsmasq answered %d SRV queries, want 5", q)
	}
}

// TestSRVNoAnswerIntegration: a name dnsmasq does not know (NXDOMAIN), a name
// with no SRV records, an SRV of target "." only, or one whose target has no
// address: Order returns an error (there never was a good answer).
func TestSRVNoAnswerIntegration(t *testing.T) {
	d := dnsmasqtest.Start(t, 1,
		srvHost("root1.cluster.test", 7001, 10, 50),
		"--host-record=root1.cluster.test,127.0.0.1",
		"--srv-host=_dot._udp.cluster.test",
		"--srv-host=_lost._udp.cluster.test,gone.cluster.test,7009,1,1",
	)
	for _, tc := range []struct {
		name string
		want string
	}{
		{"_nothing._udp.cluster.test", "SRV _nothing._udp.cluster.test: NXDOMAIN"},
		{"root1.cluster.test", "no SRV records"},
		{"_dot._udp.cluster.test", `the service is not available (SRV target ".")`},
		{"_lost._udp.cluster.test", "no SRV target resolves to an address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, lb := newTestSRV(t, tc.name, Options{Resolver: d.Addr()})
			got, err := u.Order(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Order = %+v, %v; want an error with %q", got, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "discovery: srv:"+tc.name+": ") {
				t.Errorf("error %q does not name the spec", err)
			}
			st := u.Stats()
			if st.Lookups != 1 || st.LookupFailures != 1 || st.Stale || st.Targets != 0 || u.Has("127.0.0.1:7001") {
				t.Fatalf("Stats = %+v", st)
			}
			if lb.Count("lookup failed, no answer yet") != 1 {
				t.Errorf("no warning logged: %s", lb)
			}
		})
	}
}
