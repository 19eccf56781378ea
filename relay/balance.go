package relay

import (
	"context"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"logpacker/discovery"
	"logpacker/protocol/wire"
)

// Targets is where a Client's parents come from: a DNS SRV name or a static
// list (package discovery).
type Targets interface {
	Order(ctx context.Context) ([]discovery.Target, error)
	Failed(addr string)
	Has(addr string) bool
}

// Balance is the policy by which a Client spreads over the members of its
// parents' cluster and moves between them.
type Balance struct {
	// Overload: a parent whose spare capacity is below this is overloaded;
	// the client moves to a member with at least twice its spare (and not
	// less than Overload). Default 0.1.
	Overload float64
	// MaxLinkAge: after this long on one link (±25% jitter) the client picks
	// its parent again, weighted by spare capacity, so that load spreads to
	// members that joined since. 0: DefaultMaxLinkAge; negative: never.
	MaxLinkAge time.Duration
	// Retry: a target that failed is not dialled again for this long while
	// others are available. Default 5 s.
	Retry time.Duration
}

// SpareUnknown is the weight of a member whose spare capacity is not known.
const SpareUnknown = 0.5

// DefaultMaxLinkAge is Balance.MaxLinkAge when it is 0.
const DefaultMaxLinkAge = 10 * time.Minute

func (b *Balance) defaults() {
	if b.Overload <= 0 {
		b.Overload = 0.1
	}
	if b.MaxLinkAge == 0 {
		b.MaxLinkAge = DefaultMaxLinkAge
	}
	if b.Retry <= 0 {
		b.Retry = 5 * time.Second
	}
}

// ViewMember is one member of the cluster view a parent sent.
type ViewMember struct {
	Node  string      `json:"node"`
	Addr  string      `json:"addr"`
	Spare float64     `json:"spare"`
	State string      `json:"state"`
	Attrs []wire.Attr `json:"attrs"`
}

// view is the latest cluster view any parent sent, and the targets that
// failed lately.
type view struct {
	mu      sync.Mutex
	members []ViewMember
	from    string    // the parent that sent it
	at      time.Time // when
	down    map[string]time.Time
	rng     *rand.Rand
}

func (v *view) set(from string, ms []wire.Member) {
	vm := make([]ViewMember, 0, len(ms))
	for _, m := range ms {
		// A spare capacity that is missing or does not parse counts as
		// middling (the cluster's "unknown"): neither preferred nor starved.
		x := ViewMember{Node: m.Node, Addr: m.Addr, Spare: SpareUnknown, State: "alive", Attrs: m.Attrs}
		for _, a := range m.Attrs {
			switch a.Key {
			case wire.AttrSpare:
				if f, err := strconv.ParseFloat(a.Value, 64); err == nil && f >= 0 && !math.IsNaN(f) {
					x.Spare = min(f, 1)
				}
			case wire.AttrState:
				x.State = a.Value
			}
		}
		vm = append(vm, x)
	}
	v.mu.Lock()
	v.members, v.from, v.at = vm, from, time.Now()
	v.mu.Unlock()
}

// get returns the view's members (nil when no parent sent one).
func (v *view) get() []ViewMember {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.members)
}

func (v *view) rand() *rand.Rand { return v.rng } // callers hold the Client's mu

func (v *view) failed(addr string, retry time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.down == nil {
		v.down = map[string]time.Time{}
	}
	v.down[addr] = time.Now().Add(retry)
}

func (v *view) ok(addr string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.down, addr)
}

func (v *view) isDown(addr string, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return now.Before(v.down[addr])
}

// member returns the view's member at addr.
func (v *view) member(addr string) (ViewMember, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range v.members {
		if m.Addr == addr {
			return m, true
		}
	}
	return ViewMember{}, false
}

// weightedOrder orders members by a weighted random draw without
// replacement (Efraimidis–Spirakis: key u^(1/w)), so a member is first with
// probability weight/sum. Members of weight 0 come last.
func weightedOrder(rng *rand.Rand, ms []ViewMember) []ViewMember {
	type kv struct {
		k float64
		m ViewMember
	}
	ks := make([]kv, len(ms))
	for i, m := range ms {
		k := -1.0
		if m.Spare > 0 {
			k = math.Pow(rng.Float64(), 1/m.Spare)
		}
		ks[i] = kv{k, m}
	}
	slices.SortStableFunc(ks, func(a, b kv) int {
		switch {
		case a.k > b.k:
			return -1
		case a.k < b.k:
			return 1
		}
		return 0
	})
	out := make([]ViewMember, len(ks))
	for i := range ks {
		out[i] = ks[i].m
	}
	return out
}

// candidate is a parent to dial: its address and the TLS server name.
type candidate struct {
	addr, name string
	member     bool // from the cluster view
}

// candidates lists the parents to try, best first: the alive members of the
// cluster view in a weighted random order by spare capacity, then the
// configured targets (DNS SRV order or the static list) not among them.
// Targets that failed lately go last. avoid (the parent being left) is
// left out when anything else is there.
func (c *Client) candidates(ctx context.Context, avoid string) ([]candidate, error) {
	tg, terr := c.targets.Order(ctx)
	var out []candidate
	seen := map[string]bool{}
	if ms := c.view.get(); len(ms) > 0 {
		alive := ms[:0]
		for _, m := range ms {
			if m.State == "alive" && m.Addr != "" {
				alive = append(alive, m)
			}
		}
		c.view.mu.Lock()
		ordered := weightedOrder(c.view.rng, alive)
		c.view.mu.Unlock()
		for _, m := range ordered {
			host, _, _ := net.SplitHostPort(m.Addr)
			out = append(out, candidate{addr: m.Addr, name: host, member: true})
			seen[m.Addr] = true
		}
	}
	for _, t := range tg {
		if !seen[t.Addr] {
			out = append(out, candidate{addr: t.Addr, name: t.Name})
			seen[t.Addr] = true
		}
	}
	if len(out) == 0 {
		return nil, terr
	}
	now := time.Now()
	var good, later []candidate
	for _, x := range out {
		if x.addr == avoid || c.view.isDown(x.addr, now) {
			later = append(later, x)
		} else {
			good = append(good, x)
		}
	}
	return append(good, later...), nil
}

// moveReason says why the client should leave its current link for another
// parent, or "" to stay.
func (c *Client) moveReason(l *link, now time.Time) string {
	if m, ok := c.view.member(l.addr); ok {
		if m.State != "alive" {
			return "parent is " + m.State
		}
		if m.Spare < c.o.Balance.Overload {
			for _, o := range c.view.get() {
				if o.Addr != l.addr && o.State == "alive" && o.Spare >= max(2*m.Spare, c.o.Balance.Overload) && !c.view.isDown(o.Addr, now) {
					return "parent overloaded"
				}
			}
		}
	} else if len(c.view.get()) > 0 && l.member {
		return "parent left the cluster"
	} else if !l.member && !c.targets.Has(l.addr) {
		return "parent left DNS"
	}
	if !l.expires.IsZero() && now.After(l.expires) {
		return "link age"
	}
	return ""
}
