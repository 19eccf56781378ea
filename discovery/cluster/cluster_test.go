package cluster

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// The cluster tests run real memberlists on 127.0.0.1 (port 0) with short
// probe timings. They wait for conditions with bounded polling, never for
// fixed times.

const waitLimit = 20 * time.Second // generous: only a failing test waits this long

// recorder is a slog.Handler that keeps every record, for assertions and
// for the log dump of a failed test.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec.Clone())
	r.mu.Unlock()
	return nil
}

// find returns the records at level whose message contains substr and whose
// attributes include every key=value in kv.
func (r *recorder) find(level slog.Level, substr string, kv ...string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.recs {
		if rec.Level != level || !strings.Contains(rec.Message, substr) {
			continue
		}
		attrs := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			if attrs[kv[i]] != kv[i+1] {
				ok = false
			}
		}
		if ok {
			out = append(out, rec)
		}
	}
	return out
}

func (r *recorder) dump(t *testing.T, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := max(0, len(r.recs)-150)
	for _, rec := range r.recs[start:] {
		var b strings.Builder
		rec.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		t.Logf("[%s] %s %s %s%s", name, rec.Time.Format("15:04:05.000"), rec.Level, rec.Message, b.String())
	}
}

type testNode struct {
	*Cluster
	load *atomic.Pointer[Load]
	logs *recorder
}

func (n *testNode) setLoad(l Load) { n.load.Store(&l) }

var relayPort atomic.Int32

func init() { relayPort.Store(17000) }

// startNode starts a member with fast failure detection and a fake load.
func startNode(t *testing.T, name string, join []string, mod ...func(*Options)) *testNode {
	t.Helper()
	return startNodeWith(t, name, join, nil, mod...)
}

// startNodeWith is startNode with a hook run between New and Start.
func startNodeWith(t *testing.T, name string, join []string, prep func(*Cluster), mod ...func(*Options)) *testNode {
	t.Helper()
	n := &testNode{load: new(atomic.Pointer[Load]), logs: &recorder{}}
	n.setLoad(idle)
	o := Options{
		NodeID:       name,
		Bind:         "127.0.0.1:0",
		RelayAddr:    fmt.Sprintf("127.0.0.1:%d", relayPort.Add(1)),
		Join:         join,
		LoadInterval: 100 * time.Millisecond,
		LoadFunc:     func() Load { return *n.load.Load() },
		Logger:       slog.New(n.logs),
		// The production profile (lan), with failure detection shortened.
		ProbeInterval:    200 * time.Millisecond,
		ProbeTimeout:     100 * time.Millisecond,
		SuspicionMult:    5, // with 3-4 members: suspect for 5 probe intervals (1s) before dead
		GossipInterval:   50 * time.Millisecond,
		PushPullInterval: time.Second,
	}
	for _, f := range mod {
		f(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	n.Cluster = c
	if prep != nil {
		prep(c)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("Start(%s): %v", name, err)
	}
	t.Cleanup(func() {
		_ = c.Shutdown()
		if t.Failed() {
			n.logs.dump(t, name)
		}
	})
	return n
}

// startCluster starts members n1..nk, all joining n1.
func startCluster(t *testing.T, k int) []*testNode {
	t.Helper()
	nodes := []*testNode{startNode(t, "n1", nil)}
	for i := 2; i <= k; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), []string{nodes[0].GossipAddr()}))
	}
	waitAllAlive(t, nodes)
	return nodes
}

// waitFor polls cond until it holds or waitLimit passes; then it logs what
// the given nodes see and fails.
func waitFor(t *testing.T, what string, cond func() bool, show ...*testNode) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			for _, n := range show {
				for _, m := range n.Members() {
					t.Logf("%s sees %s %s gossip=%s relay=%s load=%+v", n.LocalNode(), m.Node, m.State, m.Gossip, m.RelayAddr, m.Load)
				}
			}
			t.Fatalf("gave up after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSignal waits for a Subscribe signal.
func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("no Subscribe signal for %s", what)
	}
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func member(c *Cluster, node string) (Member, bool) {
	for _, m := range c.Members() {
		if m.Node == node {
			return m, true
		}
	}
	return Member{}, false
}

// waitAllAlive waits until every node sees every node alive with its
// gossip and relay address.
func waitAllAlive(t *testing.T, nodes []*testNode) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d members alive everywhere", len(nodes)), func() bool {
		for _, a := range nodes {
			ms := a.Members()
			if len(ms) != len(nodes) {
				return false
			}
			for _, b := range nodes {
				m, ok := member(a.Cluster, b.LocalNode())
				if !ok || m.State != StateAlive || m.RelayAddr != b.RelayAddr() || m.Gossip != b.GossipAddr() {
					return false
				}
			}
		}
		return true
	}, nodes...)
}

func TestThreeMembers(t *testing.T) {
	t.Parallel()
	n1 := startNode(t, "n1", nil)
	sub, unsub := n1.Subscribe()
	defer unsub()
	drain(sub)
	n2 := startNode(t, "n2", []string{n1.GossipAddr()})
	n3 := startNode(t, "n3", []string{n2.GossipAddr()}) // learns n1 through n2
	nodes := []*testNode{n1, n2, n3}
	waitAllAlive(t, nodes)
	waitSignal(t, sub, "members joining")

	for _, a := range nodes {
		ms := a.Members()
		for i, m := range ms {
			if want := fmt.Sprintf("n%d", i+1); m.Node != want {
				t.Errorf("%s: Members()[%d] = %s, want %s (sorted by Node)", a.LocalNode(), i, m.Node, want)
			}
			if m.Local != (m.Node == a.LocalNode()) {
				t.Errorf("%s: %s has Local=%v", a.LocalNode(), m.Node, m.Local)
			}
			if m.Load != quantize(idle) {
				t.Errorf("%s: %s load %+v, want %+v", a.LocalNode(), m.Node, m.Load, quantize(idle))
			}
			if m.Updated.IsZero() {
				t.Errorf("%s: %s has no Updated time", a.LocalNode(), m.Node)
			}
		}
		if h := a.Healthy(); len(h) != 3 {
			t.Errorf("%s: Healthy() has %d members, want 3", a.LocalNode(), len(h))
		}
		if s := a.Stats(); s.Members != 3 || s.Alive != 3 || s.Suspect+s.Dead+s.Left != 0 {
			t.Errorf("%s: Stats() = %+v", a.LocalNode(), s)
		}
	}
	if !strings.HasPrefix(n1.GossipAddr(), "127.0.0.1:") || strings.HasSuffix(n1.GossipAddr(), ":0") {
		t.Errorf("GossipAddr() = %q, want the bound 127.0.0.1 port", n1.GossipAddr())
	}
	// memberlist's own lines reach the slog logger, its [DEBUG] at debug level.
	if len(n1.logs.find(slog.LevelDebug, "", "component", "memberlist")) == 0 {
		t.Error("no memberlist debug line reached the slog logger")
	}
	for _, r := range n1.logs.find(slog.LevelInfo, "", "component", "memberlist") {
		if strings.Contains(r.Message, "[DEBUG]") {
			t.Errorf("memberlist debug line logged at info: %q", r.Message)
		}
	}
}

func TestLoadChangeReachesPeers(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	sub, unsub := n1.Subscribe()
	defer unsub()
	drain(sub)
	before := n1.Stats().MetaUpdates

	busy := with(func(l *Load) { l.CPUUser, l.CPUSystem, l.Load1 = 90.04, 7, 7.5 })
	n2.setLoad(busy)
	for _, a := range []*testNode{n1, n3} {
		waitFor(t, a.LocalNode()+" to see n2 busy", func() bool {
			m, _ := member(a.Cluster, "n2")
			return m.Load == quantize(busy)
		})
	}
	waitSignal(t, sub, "n2's load change")
	m, _ := member(n1.Cluster, "n2")
	if s := m.Load.Spare(); s > 0.04 {
		t.Errorf("busy n2's Spare = %v, want about 0.03", s)
	}
	if n1.Stats().MetaUpdates <= before {
		t.Errorf("MetaUpdates did not grow: %d", n1.Stats().MetaUpdates)
	}
	// The local view follows the local load too.
	waitFor(t, "n2 to see its own load", func() bool {
		m, _ := member(n2.Cluster, "n2")
		return m.Local && m.Load == quantize(busy)
	})

	// An overloaded disk: Spare at the floor, seen by the others.
	full := with(func(l *Load) { l.DiskFree = l.DiskTotal / 100 })
	n3.setLoad(full)
	waitFor(t, "n1 to see n3's disk full", func() bool {
		m, _ := member(n1.Cluster, "n3")
		return m.Load.Overloaded() && m.Load.Spare() == SpareFloor
	})
}

func TestJoinLater(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	n1, n2 := nodes[0], nodes[1]
	n4 := startNode(t, "n4", nil)
	sub, unsub := n4.Subscribe()
	defer unsub()
	drain(sub)

	// Members and the node itself are skipped: only n4 is contacted.
	n, err := n1.Join([]string{n2.GossipAddr(), n4.GossipAddr(), n1.GossipAddr(), n4.GossipAddr()})
	if err != nil || n != 1 {
		t.Fatalf("Join = %d, %v; want 1, nil", n, err)
	}
	waitAllAlive(t, append(nodes, n4))
	waitSignal(t, sub, "n4 joining")

	// Everybody is a member now: nothing to do.
	all := []string{}
	for _, x := range append(nodes, n4) {
		all = append(all, x.GossipAddr())
	}
	if n, err := n2.Join(all); n != 0 || err != nil {
		t.Errorf("Join of members = %d, %v; want 0, nil", n, err)
	}
	// An address nobody listens on is an error.
	if n, err := n2.Join([]string{"127.0.0.1:1"}); n != 0 || err == nil {
		t.Errorf("Join of a dead address = %d, %v; want 0 and an error", n, err)
	}
}

// TestStartJoinRetries: a node whose seed is not up yet forms alone, keeps
// retrying, and joins once the seed is there.
func TestStartJoinRetries(t *testing.T) {
	t.Parallel()
	seed := startNode(t, "seed", nil)
	addr := seed.GossipAddr()
	if err := seed.Shutdown(); err != nil {
		t.Fatal(err)
	}
	late := startNode(t, "late", []string{addr})
	waitFor(t, "a failed-join warning", func() bool {
		return len(late.logs.find(slog.LevelWarn, "join failed")) > 0
	})
	if h := late.Healthy(); len(h) != 1 || !h[0].Local {
		t.Fatalf("alone node's Healthy() = %+v", h)
	}
	seed2 := startNode(t, "seed", nil, func(o *Options) { o.Bind = addr })
	waitAllAlive(t, []*testNode{seed2, late})
}

func TestLeave(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	sub, unsub := n1.Subscribe()
	defer unsub()
	drain(sub)

	if err := n3.Leave(5 * time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := n3.Leave(time.Second); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if m, _ := member(n3.Cluster, "n3"); m.State != StateLeft || !m.Leaving {
		t.Errorf("n3 sees itself as %+v, want left", m)
	}
	for _, a := range []*testNode{n1, n2} {
		waitFor(t, a.LocalNode()+" to see n3 left", func() bool {
			m, ok := member(a.Cluster, "n3")
			return ok && m.State == StateLeft
		})
	}
	waitSignal(t, sub, "n3 leaving")
	if err := n3.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, h := range n1.Healthy() {
		if h.Node == "n3" {
			t.Errorf("left n3 in Healthy(): %+v", h)
		}
	}
	if s := n1.Stats(); s.Left != 1 || s.Alive != 2 || s.Dead != 0 {
		t.Errorf("Stats() = %+v, want 2 alive, 1 left", s)
	}
	// It stays "left" (not "dead") after its process is gone: wait for more
	// than a suspicion timeout.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := member(n1.Cluster, "n3"); m.State != StateLeft {
			t.Fatalf("after shutdown, n1 sees n3 as %q, want left", m.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := n3.Join([]string{n1.GossipAddr()}); err == nil {
		t.Error("Join after Leave and Shutdown succeeded")
	}
	if err := n3.Leave(time.Second); err == nil {
		t.Error("Leave after Shutdown succeeded")
	}
}

// TestCrash: a member that stops without leaving becomes suspect, then dead,
// on the others, and stays visible as dead.
func TestCrash(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	sub, unsub := n1.Subscribe()
	defer unsub()
	drain(sub)

	if err := n3.Shutdown(); err != nil { // no Leave: a crash
		t.Fatal(err)
	}
	var seen []State
	signals := 0
	waitFor(t, "n1 to see n3 dead", func() bool {
		select {
		case <-sub:
			signals++
		default:
		}
		m, ok := member(n1.Cluster, "n3")
		if ok && (len(seen) == 0 || seen[len(seen)-1] != m.State) {
			seen = append(seen, m.State)
		}
		return ok && m.State == StateDead
	})
	if want := []State{StateAlive, StateSuspect, StateDead}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("n1 saw n3 go %v, want %v", seen, want)
	}
	if signals == 0 {
		t.Error("no Subscribe signal while n3 failed")
	}
	waitFor(t, "n2 to see n3 dead", func() bool {
		m, _ := member(n2.Cluster, "n3")
		return m.State == StateDead
	})
	if h := n1.Healthy(); len(h) != 2 {
		t.Errorf("Healthy() = %+v, want n1 and n2", h)
	}
	if s := n1.Stats(); s.Dead != 1 || s.Alive != 2 {
		t.Errorf("Stats() = %+v", s)
	}
	m, _ := member(n1.Cluster, "n3")
	if m.RelayAddr != n3.RelayAddr() || m.Gossip != n3.GossipAddr() {
		t.Errorf("dead member lost its addresses: %+v", m)
	}
}

// TestWithoutStateReader: if memberlist's states cannot be read (another
// memberlist version), left and dead are still told apart, by the leaving
// flag, and there is no suspect state.
func TestWithoutStateReader(t *testing.T) {
	t.Parallel()
	n1 := startNodeWith(t, "n1", nil, func(c *Cluster) { c.sr = nil })
	n2 := startNode(t, "n2", []string{n1.GossipAddr()})
	n3 := startNode(t, "n3", []string{n1.GossipAddr()})
	waitAllAlive(t, []*testNode{n1, n2, n3})

	if err := n3.Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to see n3 left", func() bool {
		m, _ := member(n1.Cluster, "n3")
		return m.State == StateLeft
	}, n1)

	if err := n2.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to see n2 dead", func() bool {
		m, _ := member(n1.Cluster, "n2")
		if m.State == StateSuspect {
			t.Fatalf("suspect without the state reader")
		}
		return m.State == StateDead
	}, n1)
	if m, _ := member(n1.Cluster, "n3"); m.State != StateLeft {
		t.Errorf("n3 is %s, want still left", m.State)
	}
}

// TestRetain: dead and left members leave the view Retain after they went.
func TestRetain(t *testing.T) {
	t.Parallel()
	short := func(o *Options) { o.Retain = 300 * time.Millisecond }
	n1 := startNode(t, "n1", nil, short)
	n2 := startNode(t, "n2", []string{n1.GossipAddr()}, short)
	waitAllAlive(t, []*testNode{n1, n2})
	if err := n2.Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to see n2 left", func() bool {
		m, _ := member(n1.Cluster, "n2")
		return m.State == StateLeft
	})
	waitFor(t, "n2 to leave n1's view", func() bool {
		_, ok := member(n1.Cluster, "n2")
		return !ok
	})
	if s := n1.Stats(); s.Members != 1 {
		t.Errorf("Stats() = %+v", s)
	}
}

// metaDelegate is a foreign memberlist node's delegate publishing whatever
// metadata the test sets.
type metaDelegate struct{ meta atomic.Pointer[[]byte] }

func (d *metaDelegate) NodeMeta(int) []byte             { return *d.meta.Load() }
func (d *metaDelegate) NotifyMsg([]byte)                {}
func (d *metaDelegate) GetBroadcasts(int, int) [][]byte { return nil }
func (d *metaDelegate) LocalState(bool) []byte          { return nil }
func (d *metaDelegate) MergeRemoteState([]byte, bool)   {}
func (d *metaDelegate) set(s string)                    { b := []byte(s); d.meta.Store(&b) }
func (d *metaDelegate) publish(ml *memberlist.Memberlist, s string) error {
	d.set(s)
	return ml.UpdateNode(5 * time.Second)
}

// TestBadMetaFromPeer: a member with malformed metadata is kept, with an
// unknown load and no relay address; it is logged once until it publishes
// good metadata again.
func TestBadMetaFromPeer(t *testing.T) {
	t.Parallel()
	n1 := startNode(t, "n1", nil)

	d := &metaDelegate{}
	d.set(`{"v":1,"cu":500}`)
	cfg := memberlist.DefaultLocalConfig()
	cfg.Name, cfg.BindAddr, cfg.BindPort = "weird", "127.0.0.1", 0
	cfg.Delegate = d
	cfg.Logger = log.New(io.Discard, "", 0)
	ml, err := memberlist.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ml.Shutdown() })
	if _, err := ml.Join([]string{n1.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	weird := func() Member { m, _ := member(n1.Cluster, "weird"); return m }
	waitFor(t, "n1 to see weird alive", func() bool { return weird().State == StateAlive })
	if m := weird(); m.Load != (Load{}) || m.RelayAddr != "" || m.Load.Spare() != SpareUnknown {
		t.Errorf("member with bad meta: %+v", m)
	}
	warnings := func() int {
		return len(n1.logs.find(slog.LevelWarn, "metadata does not decode", "node", "weird"))
	}
	if w := warnings(); w != 1 {
		t.Errorf("%d warnings for bad meta, want 1", w)
	}

	// More bad metadata: counted, not logged again.
	if err := d.publish(ml, "not json at all"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second bad meta to be counted", func() bool { return n1.Stats().BadMeta >= 2 })
	if w := warnings(); w != 1 {
		t.Errorf("%d warnings after a second bad meta, want still 1", w)
	}

	// Good metadata: taken.
	good := with(func(l *Load) { l.CPUUser = 50 })
	if err := d.publish(ml, string(encodeMeta(meta{Relay: "127.0.0.1:9999", Load: good}))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "weird's good meta", func() bool { return weird().RelayAddr == "127.0.0.1:9999" })
	if m := weird(); m.Load != quantize(good) {
		t.Errorf("load %+v, want %+v", m.Load, quantize(good))
	}

	// Bad again: logged again, load back to unknown.
	if err := d.publish(ml, `{"v":7}`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second warning", func() bool { return warnings() == 2 })
	if m := weird(); m.Load != (Load{}) || m.RelayAddr != "" || m.State != StateAlive {
		t.Errorf("member with bad meta again: %+v", m)
	}
}

func TestStateReaderSupported(t *testing.T) {
	c, err := New(Options{NodeID: "solo", Bind: "127.0.0.1:0", LoadFunc: func() Load { return idle }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	if c.sr == nil {
		t.Fatal("cannot read memberlist's node states: suspect detection is off (see mlstate.go)")
	}
	if got := c.sr.states(); len(got) != 1 || got["solo"] != StateAlive {
		t.Errorf("states() = %v, want solo alive", got)
	}
}

func TestNewOptions(t *testing.T) {
	bad := []struct {
		name string
		o    Options
		err  string
	}{
		{"no node id", Options{}, "NodeID is required"},
		{"node id with space", Options{NodeID: "a b"}, "space or control"},
		{"node id too long", Options{NodeID: strings.Repeat("n", 200)}, "more than 128"},
		{"bind host name", Options{NodeID: "a", Bind: "localhost:0"}, "not an IP address"},
		{"bind without port", Options{NodeID: "a", Bind: "127.0.0.1"}, "missing port"},
		{"bind bad port", Options{NodeID: "a", Bind: "127.0.0.1:x"}, "bad port"},
		{"advertise without host", Options{NodeID: "a", Bind: "127.0.0.1:0", Advertise: ":7946"}, "missing host"},
		{"relay without port", Options{NodeID: "a", Bind: "127.0.0.1:0", RelayAddr: "127.0.0.1"}, "RelayAddr"},
		{"relay port 0", Options{NodeID: "a", Bind: "127.0.0.1:0", RelayAddr: "127.0.0.1:0"}, "bad port"},
		{"relay too long", Options{NodeID: "a", Bind: "127.0.0.1:0", RelayAddr: strings.Repeat("h", 400) + ":1"}, "more than 300"},
		{"load interval too short", Options{NodeID: "a", LoadInterval: time.Millisecond}, "LoadInterval"},
		{"negative retain", Options{NodeID: "a", Retain: -1}, "Retain"},
		{"negative probe", Options{NodeID: "a", ProbeInterval: -1}, "negative"},
		{"negative push/pull", Options{NodeID: "a", PushPullInterval: -1}, "negative"},
		{"timeout above interval", Options{NodeID: "a", ProbeInterval: time.Second, ProbeTimeout: 2 * time.Second}, "below ProbeInterval"},
		{"unknown profile", Options{NodeID: "a", Profile: "mars"}, "Profile"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.o)
			if err == nil {
				c.Shutdown()
				t.Fatalf("New(%+v) succeeded", tc.o)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q, want %q", err, tc.err)
			}
		})
	}

	// A gossip port that is taken.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if c, err := New(Options{NodeID: "a", Bind: ln.Addr().String()}); err == nil {
		c.Shutdown()
		t.Error("New on a port in use succeeded")
	} else if !strings.Contains(err.Error(), "start memberlist") {
		t.Errorf("port in use: %v", err)
	}

	// An unspecified relay host is published with the gossip IP.
	c, err := New(Options{NodeID: "a", Bind: "127.0.0.1:0", RelayAddr: ":7001", Profile: "local", LoadFunc: func() Load { return idle }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	if c.RelayAddr() != "127.0.0.1:7001" {
		t.Errorf("RelayAddr() = %q, want 127.0.0.1:7001", c.RelayAddr())
	}
	if ms := c.Members(); len(ms) != 1 || !ms[0].Local || ms[0].RelayAddr != "127.0.0.1:7001" || ms[0].State != StateAlive {
		t.Errorf("Members() before Start = %+v", ms)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err == nil {
		t.Error("second Start succeeded")
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := c.Start(t.Context()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
}
