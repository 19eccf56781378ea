package relay

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"logpacker/discovery"
	"logpacker/protocol"
	"logpacker/protocol/wire"
)

// TestWeightedOrder: over many draws, a member is first in proportion to
// its spare capacity; members with none are always last.
func TestWeightedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ms := []ViewMember{{Addr: "a", Spare: 0.1}, {Addr: "b", Spare: 0.3}, {Addr: "c", Spare: 0.6}, {Addr: "z", Spare: 0}}
	first := map[string]int{}
	const n = 20000
	for range n {
		o := weightedOrder(rng, ms)
		first[o[0].Addr]++
		if o[len(o)-1].Addr != "z" {
			t.Fatalf("weight-0 member not last: %v", o)
		}
	}
	for _, m := range ms[:3] {
		got := float64(first[m.Addr]) / n
		if got < m.Spare-0.02 || got > m.Spare+0.02 {
			t.Errorf("%s first %.3f of draws, want %.2f ± 0.02", m.Addr, got, m.Spare)
		}
	}
}

// TestMoveReason: the policy's decisions from a cluster view.
func TestMoveReason(t *testing.T) {
	view := func(spareA, spareB float64, stateA string) []wire.Member {
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
		return []wire.Member{
			{Node: "a", Addr: "10.0.0.1:1", Attrs: []wire.Attr{{Key: wire.AttrSpare, Value: f(spareA)}, {Key: wire.AttrState, Value: stateA}}},
			{Node: "b", Addr: "10.0.0.2:1", Attrs: []wire.Attr{{Key: wire.AttrSpare, Value: f(spareB)}, {Key: wire.AttrState, Value: "alive"}}},
		}
	}
	for _, tc := range []struct {
		name    string
		members []wire.Member
		link    *link
		inDNS   bool
		want    string
	}{
		{"idle", view(0.8, 0.8, "alive"), &link{addr: "10.0.0.1:1"}, true, ""},
		{"overloaded, another has room", view(0.05, 0.5, "alive"), &link{addr: "10.0.0.1:1"}, true, "parent overloaded"},
		{"overloaded, all are", view(0.05, 0.08, "alive"), &link{addr: "10.0.0.1:1"}, true, ""},
		{"busy but not overloaded", view(0.15, 0.9, "alive"), &link{addr: "10.0.0.1:1"}, true, ""},
		{"suspect", view(0.8, 0.8, "suspect"), &link{addr: "10.0.0.1:1"}, true, "parent is suspect"},
		{"left the cluster", view(0.8, 0.8, "alive"), &link{addr: "10.0.0.3:1", member: true}, true, "parent left the cluster"},
		{"not a member, still in DNS", view(0.8, 0.8, "alive"), &link{addr: "10.0.0.3:1"}, true, ""},
		{"left DNS", nil, &link{addr: "10.0.0.3:1"}, false, "parent left DNS"},
		{"link age", nil, &link{addr: "10.0.0.3:1", expires: time.Now().Add(-time.Second)}, true, "link age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{targets: fixedTargets{has: tc.inDNS}}
			c.o.Balance.defaults()
			if tc.members != nil {
				c.view.set("a", tc.members)
			}
			if got := c.moveReason(tc.link, time.Now()); got != tc.want {
				t.Errorf("moveReason = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLinkMovesOffOverloadedParent (real QUIC): two parents publish one
// cluster view. The client links to one; when that one reports itself
// overloaded, the client moves to the other: the batches in flight on the
// old link are still ACKed there, the following ones go to the new parent,
// and every event arrives exactly once.
func TestLinkMovesOffOverloadedParent(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	spare := map[string]float64{"root-a": 0.9, "root-b": 0.5}
	addrs := map[string]string{}
	members := func() []wire.Member {
		mu.Lock()
		defer mu.Unlock()
		var out []wire.Member
		for _, n := range []string{"root-a", "root-b"} {
			out = append(out, wire.Member{Node: n, Addr: addrs[n], Attrs: []wire.Attr{
				{Key: wire.AttrState, Value: "alive"}, {Key: wire.AttrSpare, Value: strconv.FormatFloat(spare[n], 'f', 3, 64)}}})
		}
		return out
	}
	stores := map[string]*store{"root-a": {}, "root-b": {}}
	for _, n := range []string{"root-a", "root-b"} {
		s, err := Listen(ServerOptions{Addr: "127.0.0.1:0", TLS: p.serverTLS(t, n), NodeID: n, Logger: quiet(),
			Members: members, StatusInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		go s.Run(ctx, stores[n].emit)
		mu.Lock()
		addrs[n] = s.Addr().String()
		mu.Unlock()
	}
	c, err := NewClient(ClientOptions{Upstreams: []string{addrs["root-a"]}, TLS: p.clientTLS(t, "leaf", p),
		NodeID: "leaf", Compress: true, Logger: quiet(), Balance: Balance{MaxLinkAge: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const batches, per = 200, 50
	var wg sync.WaitGroup
	var failed sync.Map
	moved := -1
	for i := range batches {
		if i == 50 {
			mu.Lock()
			spare["root-a"] = 0.02 // root-a reports itself overloaded
			mu.Unlock()
		}
		if moved < 0 && c.Stats.Moves.Load() > 0 {
			moved = i
		}
		wg.Add(1)
		if err := c.Send(ctx, batchOf("leaf", i*per+1, per), func(err error) {
			if err != nil {
				failed.Store(i, err)
			}
			wg.Done()
		}); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if i >= 50 && moved < 0 {
			time.Sleep(10 * time.Millisecond) // let the status frame arrive
		}
	}
	wg.Wait()
	failed.Range(func(k, v any) bool {
		t.Errorf("batch %v failed: %v", k, v)
		return true
	})
	if moved < 0 {
		t.Fatalf("the client never moved off the overloaded parent (moves %d)", c.Stats.Moves.Load())
	}
	seen := map[uint64]string{}
	for n, s := range stores {
		s.mu.Lock()
		for _, ev := range s.evs {
			if prev, dup := seen[ev.ID.Seq]; dup {
				t.Errorf("event %d stored at %s and %s", ev.ID.Seq, prev, n)
			}
			seen[ev.ID.Seq] = n
		}
		s.mu.Unlock()
	}
	if len(seen) != batches*per {
		t.Fatalf("%d distinct events stored, want %d", len(seen), batches*per)
	}
	na, nb := len(stores["root-a"].evs), len(stores["root-b"].evs)
	t.Logf("moved after batch %d; root-a stored %d events, root-b %d", moved, na, nb)
	if na == 0 || nb == 0 {
		t.Errorf("root-a %d, root-b %d: want both to have received events", na, nb)
	}
	if addr, node := c.Parent(); node != "root-b" {
		t.Errorf("linked to %s (%s) at the end, want root-b", node, addr)
	}
}

type fixedTargets struct{ has bool }

func (f fixedTargets) Order(context.Context) ([]discovery.Target, error) { return nil, nil }
func (f fixedTargets) Failed(string)                                     {}
func (f fixedTargets) Has(string) bool                                   { return f.has }

// BenchmarkMoveReason: the balancing check made before every batch, with a
// cluster view of 16 members.
func BenchmarkMoveReason(b *testing.B) {
	c := &Client{targets: fixedTargets{has: true}}
	c.o.Balance.defaults()
	var ms []wire.Member
	for i := range 16 {
		ms = append(ms, wire.Member{Node: strconv.Itoa(i), Addr: "10.0.0." + strconv.Itoa(i) + ":5515",
			Attrs: []wire.Attr{{Key: wire.AttrSpare, Value: "0.500"}, {Key: wire.AttrState, Value: "alive"}}})
	}
	c.view.set("0", ms)
	l := &link{addr: "10.0.0.7:5515", expires: time.Now().Add(time.Hour)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if c.moveReason(l, now) != "" {
			b.Fatal("moved")
		}
	}
}

// TestNextPick: MaxLinkAge ±25%, and never when it is negative.
func TestNextPick(t *testing.T) {
	c := &Client{}
	c.view.rng = rand.New(rand.NewPCG(3, 4))
	c.o.Balance = Balance{MaxLinkAge: -1}
	if got := c.nextPick(); !got.IsZero() {
		t.Fatalf("MaxLinkAge < 0: next pick %v, want never (zero)", got)
	}
	c.o.Balance = Balance{MaxLinkAge: time.Minute}
	for range 1000 {
		d := time.Until(c.nextPick())
		if d < 44*time.Second || d > 75*time.Second {
			t.Fatalf("next pick in %v, want 45s..75s", d)
		}
	}
}

// listTargets is a configured list whose Has can be switched off for the
// first entry ("it left DNS").
type listTargets struct {
	addrs []string
	gone  atomic.Bool // addrs[0] left
}

func (f *listTargets) Order(context.Context) ([]discovery.Target, error) {
	var ts []discovery.Target
	for _, a := range f.addrs {
		ts = append(ts, discovery.Target{Addr: a, Name: "127.0.0.1"})
	}
	return ts, nil
}
func (f *listTargets) Failed(string) {}
func (f *listTargets) Has(a string) bool {
	return !(f.gone.Load() && a == f.addrs[0])
}

func deadUDPAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// TestLinkStaysWhenNowhereBetter: the parent reports itself overloaded but
// the member with room cannot be reached. The client tries it once, comes
// back, and then stays (no dial per batch) until Balance.Retry has passed.
func TestLinkStaysWhenNowhereBetter(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dead := deadUDPAddr(t)
	var addrA atomic.Value
	addrA.Store("")
	members := func() []wire.Member {
		return []wire.Member{
			{Node: "root-a", Addr: addrA.Load().(string), Attrs: []wire.Attr{{Key: wire.AttrState, Value: "alive"}, {Key: wire.AttrSpare, Value: "0.020"}}},
			{Node: "root-b", Addr: dead, Attrs: []wire.Attr{{Key: wire.AttrState, Value: "alive"}, {Key: wire.AttrSpare, Value: "0.900"}}},
		}
	}
	st := &store{}
	s, err := Listen(ServerOptions{Addr: "127.0.0.1:0", TLS: p.serverTLS(t, "root-a"), NodeID: "root-a", Logger: quiet(), Members: members})
	if err != nil {
		t.Fatal(err)
	}
	addrA.Store(s.Addr().String())
	go s.Run(ctx, st.emit)
	c, err := NewClient(ClientOptions{Upstreams: []string{s.Addr().String()}, TLS: p.clientTLS(t, "leaf", p),
		NodeID: "leaf", Logger: quiet(), Balance: Balance{MaxLinkAge: -1, Retry: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 8 {
		if err := c.Write(ctx, batchOf("leaf", i*10+1, 10)); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	if d, f := c.Stats.Dials.Load(), c.Stats.DialFailures.Load(); d > 3 || f > 1 {
		t.Fatalf("%d dials, %d failed over 8 batches: want at most 3 and 1 (A, the dead B once, A again)", d, f)
	}
	if _, node := c.Parent(); node != "root-a" {
		t.Fatalf("parent %q, want root-a", node)
	}
}

// twoParents starts root-a and root-b; the client's list names both, root-a
// first.
func twoParents(t *testing.T, ctx context.Context, p *pki) (a, b *store, tg *listTargets) {
	a, b = &store{}, &store{}
	sa := startServer(t, ctx, p.serverTLS(t, "root-a"), "root-a", a)
	sb := startServer(t, ctx, p.serverTLS(t, "root-b"), "root-b", b)
	return a, b, &listTargets{addrs: []string{sa.Addr().String(), sb.Addr().String()}}
}

// linkedClient is a client of tg's parents (no re-pick by age) whose first
// batch is acknowledged: its link to root-a is up.
func linkedClient(t *testing.T, ctx context.Context, p *pki, tg *listTargets) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{Targets: tg, TLS: p.clientTLS(t, "leaf", p), NodeID: "leaf", Logger: quiet(),
		Balance: Balance{MaxLinkAge: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, batchOf("leaf", 1, 1)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLinkDrainedAfterRefusal: the last batch in flight on a link the client
// is leaving is refused (ERROR ErrBadBatch): the link closes then.
func TestLinkDrainedAfterRefusal(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, tg := twoParents(t, ctx, p)
	c := linkedClient(t, ctx, p, tg)
	defer c.Close()
	old := c.cur.Load()
	refused := make(chan error, 1)
	if err := c.Send(ctx, []protocol.Event{{Message: "no id"}}, func(err error) { refused <- err }); err != nil {
		t.Fatal(err)
	}
	tg.gone.Store(true) // root-a left DNS: the next batch moves to root-b
	if err := c.Write(ctx, batchOf("leaf", 2, 1)); err != nil {
		t.Fatal(err)
	}
	if err := <-refused; err == nil {
		t.Fatal("the batch without an ID was acknowledged")
	}
	select {
	case <-old.conn.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the link left behind is still open after its last batch was refused")
	}
}

// TestCloseFailsDrainingLinks: Close fails the batches still in flight on a
// link being left, as on the current one.
func TestCloseFailsDrainingLinks(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _, tg := twoParents(t, ctx, p)
	c := linkedClient(t, ctx, p, tg)
	a.mu.Lock() // root-a stalls: batch 2 stays in flight there
	defer a.mu.Unlock()
	done2 := make(chan error, 1)
	if err := c.Send(ctx, batchOf("leaf", 2, 1), func(err error) { done2 <- err }); err != nil {
		t.Fatal(err)
	}
	tg.gone.Store(true)
	if err := c.Write(ctx, batchOf("leaf", 3, 1)); err != nil { // moves: root-a's link drains
		t.Fatal(err)
	}
	if c.Stats.Moves.Load() != 1 {
		t.Fatalf("moves %d, want 1", c.Stats.Moves.Load())
	}
	c.Close()
	select {
	case err := <-done2:
		if err == nil {
			t.Fatal("batch 2 acknowledged though its parent stalled")
		}
	default:
		t.Fatal("Close returned with batch 2 still in flight on the link being left")
	}
}
