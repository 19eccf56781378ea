package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Defaults of Options.
const (
	DefaultBind         = "0.0.0.0:7946"
	DefaultLoadInterval = 2 * time.Second
	DefaultRetain       = time.Minute
	DefaultLeaveTimeout = 5 * time.Second

	minLoadInterval = 50 * time.Millisecond
	maxNodeID       = 128
)

// Options configure New. NodeID is required; the rest has defaults.
type Options struct {
	NodeID    string   // memberlist node name, unique in the cluster (at most 128 bytes, no spaces or control characters)
	Bind      string   // gossip "ip:port", TCP and UDP; "" = DefaultBind; port 0 = any free port (tests)
	Advertise string   // "host:port" peers reach us at; "" = the bound address (memberlist picks a private IP when bound to 0.0.0.0)
	RelayAddr string   // this node's relay (QUIC) address, published; an empty or unspecified host is replaced by the gossip IP; "" = publish none
	Join      []string // gossip addresses to join at Start; failures are logged and retried in the background while the node is alone
	DataDir   string   // DiskFree/DiskTotal are of the filesystem holding it; "" = disk not measured

	LoadInterval time.Duration // how often the load is measured and, when changed, published; 0 = DefaultLoadInterval; at least 50ms
	LoadFunc     func() Load   // test hook: used instead of measuring
	Logger       *slog.Logger  // nil = discard; memberlist's own lines go here too (its [DEBUG] at debug level)

	// Failure detection. Profile picks memberlist's base timings: "" or "lan"
	// (DefaultLANConfig), "local" (DefaultLocalConfig: quicker, for one
	// host or a fast LAN), "wan" (DefaultWANConfig). A non-zero field below
	// overrides the profile's value.
	Profile        string
	ProbeInterval  time.Duration // time between failure probes (lan 1s)
	ProbeTimeout   time.Duration // wait for a probe's ack before indirect probes (lan 500ms); must be below ProbeInterval
	SuspicionMult  int           // a suspect is declared dead after SuspicionMult * max(1, log10(N)) * ProbeInterval (lan 4)
	GossipInterval time.Duration // time between gossip rounds (lan 200ms)
	// PushPullInterval is the time between full state syncs with a random
	// member (lan 30s), which heal what gossip missed: in a small cluster a
	// broadcast is sent only RetransmitMult (lan 4) times and can miss a member.
	PushPullInterval time.Duration

	// Retain is how long a dead or left member stays in Members() after it
	// failed or left (unless it comes back); 0 = DefaultRetain.
	Retain time.Duration
}

// State is a member's health as this node sees it.
type State string

// Member states.
const (
	StateAlive   State = "alive"   // answering probes
	StateSuspect State = "suspect" // a probe failed; dead unless it refutes within the suspicion timeout
	StateDead    State = "dead"    // failed: declared dead after the suspicion timeout
	StateLeft    State = "left"    // left gracefully (Leave)
)

// Member is one node of the cluster view. Its JSON form (the node's
// /api/v1/cluster and /api/v1/status) has the snake_case keys of the tags,
// every key always present.
type Member struct {
	Node      string    `json:"node"`
	Gossip    string    `json:"gossip"`     // gossip address host:port
	RelayAddr string    `json:"relay_addr"` // "" when it publishes none (or its metadata did not decode)
	State     State     `json:"state"`
	Leaving   bool      `json:"leaving"` // it announced that it is leaving (Leave in progress): do not pick it
	Load      Load      `json:"load"`    // as published (quantized); zero when unknown
	Updated   time.Time `json:"updated"` // when its metadata was last received (local node: last refresh)
	Local     bool      `json:"local"`   // this node
}

// Stats counts the members of the view by state, and metadata traffic.
type Stats struct {
	Members      int    `json:"members"`
	Alive        int    `json:"alive"`
	Suspect      int    `json:"suspect"`
	Dead         int    `json:"dead"`
	Left         int    `json:"left"`
	MetaUpdates  uint64 `json:"meta_updates"`  // metadata changes received from peers
	LocalUpdates uint64 `json:"local_updates"` // local metadata changes broadcast
	BadMeta      uint64 `json:"bad_meta"`      // peer metadata that did not decode
}

// Cluster is this node's membership in the gossip cluster of roots.
type Cluster struct {
	o          Options
	log        *slog.Logger
	ml         *memberlist.Memberlist
	sr         *stateReader // nil when memberlist's states cannot be read (see mlstate.go)
	meas       *measurer
	gossipAddr string
	relayAddr  string // as published
	watchEvery time.Duration
	updTimeout time.Duration
	wake       chan struct{}

	mu           sync.Mutex
	view         map[string]*entry
	gen          uint64 // bumped by every state change from a memberlist event
	localMeta    []byte // what NodeMeta returns
	localLoad    Load   // last measured, quantized
	leaving      bool
	subs         map[int]chan struct{}
	nextSub      int
	metaUpdates  uint64
	localUpdates uint64
	badMeta      uint64

	lc            sync.Mutex // orders Start, Leave, Shutdown
	started, left bool
	shut          bool
	cancel        context.CancelFunc // stops all background work
	refreshCancel context.CancelFunc
	refreshDone   chan struct{}
	watchDone     chan struct{}
}

// entry is one member in the view.
type entry struct {
	Member
	raw       []byte    // metadata as last received
	badLogged bool      // its current bad metadata was logged already
	goneAt    time.Time // when it became dead or left
}

var errShutdown = errors.New("discovery/cluster: cluster is shut down")

// New checks o, creates the memberlist (bound, not joined) and publishes the
// first load sample. Start joins.
func New(o Options) (*Cluster, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	cfg, err := o.memberlistConfig()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		o:          o,
		log:        o.Logger,
		meas:       &measurer{dataDir: o.DataDir, log: o.Logger},
		view:       make(map[string]*entry),
		subs:       make(map[int]chan struct{}),
		wake:       make(chan struct{}, 1),
		watchEvery: clampDur(cfg.ProbeInterval/4, 20*time.Millisecond, 250*time.Millisecond),
		updTimeout: clampDur(o.LoadInterval, 100*time.Millisecond, time.Second),
	}
	c.localLoad = quantize(c.measureLoad(context.Background()))
	c.localMeta = encodeMeta(meta{Load: c.localLoad}) // the relay address follows once the gossip IP is known
	cfg.Delegate = delegate{c}
	cfg.Events = delegate{c}
	cfg.Logger = newMemberlistLogger(c.log)

	ml, err := memberlist.Create(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery/cluster: start memberlist on %s: %w", o.Bind, err)
	}
	c.ml = ml
	c.sr = newStateReader(ml)
	if c.sr == nil {
		c.log.Warn("discovery/cluster: cannot read memberlist node states; suspect members will show as alive")
	}
	// Only UpdateNode rewrites the local node's address fields, and nothing
	// has called it concurrently yet: this read does not race.
	ln := ml.LocalNode()
	c.gossipAddr = net.JoinHostPort(ln.Addr.String(), strconv.Itoa(int(ln.Port)))
	if o.RelayAddr != "" {
		host, port, _ := net.SplitHostPort(o.RelayAddr)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = ln.Addr.String()
		}
		c.relayAddr = net.JoinHostPort(host, port)
		if err := checkRelayAddr(c.relayAddr, false); err != nil {
			_ = ml.Shutdown()
			return nil, fmt.Errorf("discovery/cluster: %w", err)
		}
	}
	c.mu.Lock()
	c.localMeta = encodeMeta(meta{Relay: c.relayAddr, Load: c.localLoad})
	if e := c.view[o.NodeID]; e != nil {
		e.RelayAddr, e.Load, e.Updated = c.relayAddr, c.localLoad, time.Now()
	}
	c.mu.Unlock()
	if err := ml.UpdateNode(c.updTimeout); err != nil { // no peers yet: returns at once
		c.log.Debug("discovery/cluster: publish metadata", "err", err)
	}
	c.log.Info("discovery/cluster: gossip bound", "node", o.NodeID, "gossip", c.gossipAddr, "relay", c.relayAddr)
	return c, nil
}

func (o *Options) defaults() error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NodeID == "" {
		return errors.New("discovery/cluster: NodeID is required")
	}
	if len(o.NodeID) > maxNodeID {
		return fmt.Errorf("discovery/cluster: NodeID is %d bytes, more than %d", len(o.NodeID), maxNodeID)
	}
	if strings.IndexFunc(o.NodeID, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return fmt.Errorf("discovery/cluster: NodeID %q has a space or control character", o.NodeID)
	}
	if o.Bind == "" {
		o.Bind = DefaultBind
	}
	if o.RelayAddr != "" {
		if err := checkRelayAddr(o.RelayAddr, true); err != nil {
			return fmt.Errorf("discovery/cluster: RelayAddr: %w", err)
		}
	}
	switch {
	case o.LoadInterval == 0:
		o.LoadInterval = DefaultLoadInterval
	case o.LoadInterval < minLoadInterval:
		return fmt.Errorf("discovery/cluster: LoadInterval %v is below %v", o.LoadInterval, minLoadInterval)
	}
	switch {
	case o.Retain == 0:
		o.Retain = DefaultRetain
	case o.Retain < 0:
		return errors.New("discovery/cluster: Retain is negative")
	}
	if o.ProbeInterval < 0 || o.ProbeTimeout < 0 || o.GossipInterval < 0 || o.SuspicionMult < 0 || o.PushPullInterval < 0 {
		return errors.New("discovery/cluster: negative ProbeInterval, ProbeTimeout, SuspicionMult, GossipInterval or PushPullInterval")
	}
	o.Join = slices.Clone(o.Join)
	return nil
}

func (o *Options) memberlistConfig() (*memberlist.Config, error) {
	var cfg *memberlist.Config
	switch strings.ToLower(o.Profile) {
	case "", "lan":
		cfg = memberlist.DefaultLANConfig()
	case "local":
		cfg = memberlist.DefaultLocalConfig()
	case "wan":
		cfg = memberlist.DefaultWANConfig()
	default:
		return nil, fmt.Errorf("discovery/cluster: Profile %q: want lan, local or wan", o.Profile)
	}
	if o.ProbeInterval > 0 {
		cfg.ProbeInterval = o.ProbeInterval
	}
	if o.ProbeTimeout > 0 {
		cfg.ProbeTimeout = o.ProbeTimeout
	}
	if o.SuspicionMult > 0 {
		cfg.SuspicionMult = o.SuspicionMult
	}
	if o.GossipInterval > 0 {
		cfg.GossipInterval = o.GossipInterval
	}
	if o.PushPullInterval > 0 {
		cfg.PushPullInterval = o.PushPullInterval
	}
	if cfg.ProbeTimeout >= cfg.ProbeInterval {
		return nil, fmt.Errorf("discovery/cluster: ProbeTimeout %v must be below ProbeInterval %v", cfg.ProbeTimeout, cfg.ProbeInterval)
	}
	// A root that comes back under the same name at another address (a new
	// container IP) is let in once it has been dead this long.
	cfg.DeadNodeReclaimTime = 30 * time.Second

	cfg.Name = o.NodeID
	host, port, err := splitIPPort(o.Bind, false)
	if err != nil {
		return nil, fmt.Errorf("discovery/cluster: Bind %q: %w", o.Bind, err)
	}
	cfg.BindAddr, cfg.BindPort = host, port
	cfg.AdvertiseAddr, cfg.AdvertisePort = "", port
	if o.Advertise != "" {
		host, aport, err := splitIPPort(o.Advertise, true)
		if err != nil {
			return nil, fmt.Errorf("discovery/cluster: Advertise %q: %w", o.Advertise, err)
		}
		cfg.AdvertiseAddr = host
		if aport != 0 {
			cfg.AdvertisePort = aport
		}
	}
	return cfg, nil
}

// splitIPPort splits "ip:port"; an empty host is 0.0.0.0. With resolve, the
// host must be there, and a name is resolved to its first address (IPv4
// first).
func splitIPPort(s string, resolve bool) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("bad port %q", port)
	}
	if host == "" {
		if resolve {
			return "", 0, errors.New("missing host")
		}
		host = "0.0.0.0"
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), int(p), nil
	}
	if !resolve {
		return "", 0, fmt.Errorf("host %q is not an IP address", host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return "", 0, fmt.Errorf("resolve %q: %v", host, err)
	}
	slices.SortStableFunc(ips, func(a, b net.IP) int {
		return boolInt(a.To4() == nil) - boolInt(b.To4() == nil)
	})
	return ips[0].String(), int(p), nil
}

// Start starts the load refresher and the state watcher, and joins o.Join in
// the background: a failed join is logged and retried (1s, doubling to 30s)
// while this node has no live peer. ctx bounds the background work; Shutdown
// ends it too.
func (c *Cluster) Start(ctx context.Context) error {
	c.lc.Lock()
	defer c.lc.Unlock()
	switch {
	case c.shut:
		return errShutdown
	case c.started:
		return errors.New("discovery/cluster: already started")
	}
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	rctx, rcancel := context.WithCancel(ctx)
	c.refreshCancel = rcancel
	c.refreshDone = make(chan struct{})
	c.watchDone = make(chan struct{})
	go func() { defer close(c.refreshDone); c.refreshLoop(rctx) }()
	go func() { defer close(c.watchDone); c.watchLoop(ctx) }()
	if len(c.o.Join) > 0 {
		// Not waited for by Shutdown: a join to an unreachable host can take
		// memberlist's TCPTimeout, and it ends by itself.
		go c.joinLoop(ctx, c.o.Join)
	}
	return nil
}

func (c *Cluster) joinLoop(ctx context.Context, addrs []string) {
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		n, err := c.Join(addrs)
		switch {
		case err == nil:
			if n > 0 {
				c.log.Info("discovery/cluster: joined", "contacted", n, "of", addrs)
			}
			return
		case !c.alone():
			return
		case attempt == 0:
			c.log.Warn("discovery/cluster: join failed; waiting for peers and retrying", "addrs", addrs, "err", err)
		default:
			c.log.Debug("discovery/cluster: join failed", "addrs", addrs, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// alone reports whether no other member is alive or suspect.
func (c *Cluster) alone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.view {
		if !e.Local && (e.State == StateAlive || e.State == StateSuspect) {
			return false
		}
	}
	return true
}

// Join joins the members at addrs ("host:port"), skipping addresses of
// members already alive or suspect in the view and this node's own. It
// returns how many addresses were contacted; the error is non-nil only when
// none of the addresses that were tried could be reached. (0, nil) means all
// were skipped.
func (c *Cluster) Join(addrs []string) (int, error) {
	c.lc.Lock()
	shut, left := c.shut, c.left
	c.lc.Unlock()
	if shut {
		return 0, errShutdown
	}
	if left {
		return 0, errors.New("discovery/cluster: cannot join after Leave")
	}
	todo := c.filterJoin(addrs)
	if len(todo) == 0 {
		return 0, nil
	}
	n, err := c.ml.Join(todo)
	if n == 0 && err != nil {
		return 0, fmt.Errorf("discovery/cluster: join %s: %w", strings.Join(todo, ", "), err)
	}
	return n, nil
}

func (c *Cluster) filterJoin(addrs []string) []string {
	known := map[string]bool{c.gossipAddr: true}
	c.mu.Lock()
	for _, e := range c.view {
		if e.Local || e.State == StateAlive || e.State == StateSuspect {
			known[e.Gossip] = true
		}
	}
	c.mu.Unlock()
	var todo []string
	seen := map[string]bool{}
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" || seen[a] {
			continue
		}
		seen[a] = true
		if c.isKnown(a, known) {
			continue
		}
		todo = append(todo, a)
	}
	return todo
}

// isKnown reports whether addr (host:port) names a known gossip address.
// A host name is resolved (bounded to 2s); an address that does not split or
// resolve is not known, so memberlist gets to try it and say why it fails.
func (c *Cluster) isKnown(addr string, known map[string]bool) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return known[net.JoinHostPort(ip.String(), port)]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if known[net.JoinHostPort(ip.IP.String(), port)] {
			return true
		}
	}
	return false
}

// Members returns every member in the view, this node included (Local set),
// sorted by Node: live ones, and dead or left ones for Options.Retain after
// they went.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	out := make([]Member, 0, len(c.view))
	for _, e := range c.view {
		out = append(out, e.Member)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// Healthy returns the alive members that are not leaving, sorted by Node.
func (c *Cluster) Healthy() []Member {
	return slices.DeleteFunc(c.Members(), func(m Member) bool { return m.State != StateAlive || m.Leaving })
}

// LocalNode returns this node's name.
func (c *Cluster) LocalNode() string { return c.o.NodeID }

// GossipAddr returns the gossip address peers reach this node at (the bound
// port when Bind asked for port 0).
func (c *Cluster) GossipAddr() string { return c.gossipAddr }

// RelayAddr returns the relay address this node publishes.
func (c *Cluster) RelayAddr() string { return c.relayAddr }

// Subscribe returns a channel that receives a value when a member joins,
// changes state or publishes a different load or relay address (this node's
// own refreshes included). Signals are coalesced (capacity 1, never blocks
// the sender): after a receive, read Members again. The returned func
// unsubscribes; the channel is not closed.
func (c *Cluster) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = ch
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	}
}

// notifyLocked signals every subscriber. c.mu must be held.
func (c *Cluster) notifyLocked() {
	for _, ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Leave leaves the cluster gracefully: it stops publishing the load,
// announces "leaving" in its metadata (peers stop picking it), then
// broadcasts memberlist's leave so peers mark it "left". Each step waits at
// most half of timeout (≤ 0 = DefaultLeaveTimeout). Call Shutdown after.
func (c *Cluster) Leave(timeout time.Duration) error {
	c.lc.Lock()
	defer c.lc.Unlock()
	if c.shut {
		return errShutdown
	}
	if c.left {
		return nil
	}
	if timeout <= 0 {
		timeout = DefaultLeaveTimeout
	}
	c.left = true
	if c.refreshCancel != nil {
		c.refreshCancel()
		<-c.refreshDone
	}
	c.mu.Lock()
	c.leaving = true
	c.localMeta = encodeMeta(meta{Relay: c.relayAddr, Leaving: true, Load: c.localLoad})
	if e := c.view[c.o.NodeID]; e != nil {
		e.Leaving = true
	}
	c.notifyLocked()
	c.mu.Unlock()
	if err := c.ml.UpdateNode(timeout / 2); err != nil {
		c.log.Debug("discovery/cluster: announce leaving", "err", err)
	}
	err := c.ml.Leave(timeout / 2)
	c.mu.Lock()
	if e := c.view[c.o.NodeID]; e != nil && e.State != StateLeft {
		e.State, e.goneAt = StateLeft, time.Now()
		c.notifyLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("discovery/cluster: leave: %w", err)
	}
	c.log.Info("discovery/cluster: left the cluster", "node", c.o.NodeID)
	return nil
}

// Shutdown stops the background work and memberlist, without a leave
// message: peers detect the failure (suspect, then dead). Call Leave first
// to leave gracefully. Safe to call more than once.
func (c *Cluster) Shutdown() error {
	c.lc.Lock()
	defer c.lc.Unlock()
	if c.shut {
		return nil
	}
	c.shut = true
	if c.cancel != nil {
		c.cancel()
	}
	err := c.ml.Shutdown()
	if c.started {
		<-c.refreshDone
		<-c.watchDone
	}
	if err != nil {
		return fmt.Errorf("discovery/cluster: shutdown: %w", err)
	}
	return nil
}

// Stats counts the view by state.
func (c *Cluster) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Members:      len(c.view),
		MetaUpdates:  c.metaUpdates,
		LocalUpdates: c.localUpdates,
		BadMeta:      c.badMeta,
	}
	for _, e := range c.view {
		switch e.State {
		case StateAlive:
			s.Alive++
		case StateSuspect:
			s.Suspect++
		case StateDead:
			s.Dead++
		case StateLeft:
			s.Left++
		}
	}
	return s
}

func (c *Cluster) measureLoad(ctx context.Context) Load {
	if c.o.LoadFunc != nil {
		return c.o.LoadFunc()
	}
	return c.meas.measure(ctx)
}

// refreshLoop measures the load every LoadInterval and publishes it when its
// quantized form changed.
func (c *Cluster) refreshLoop(ctx context.Context) {
	t := time.NewTicker(c.o.LoadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.refresh(ctx)
		}
	}
}

func (c *Cluster) refresh(ctx context.Context) {
	l := quantize(c.measureLoad(ctx))
	b := encodeMeta(meta{Relay: c.relayAddr, Load: l})
	c.mu.Lock()
	if c.leaving {
		c.mu.Unlock()
		return
	}
	changed := string(b) != string(c.localMeta)
	c.localMeta, c.localLoad = b, l
	if e := c.view[c.o.NodeID]; e != nil {
		e.Load, e.Updated = l, time.Now()
	}
	if changed {
		c.localUpdates++
		c.notifyLocked()
	}
	c.mu.Unlock()
	if changed {
		if err := c.ml.UpdateNode(c.updTimeout); err != nil {
			c.log.Debug("discovery/cluster: publish load", "err", err)
		}
	}
}

func clampDur(d, lo, hi time.Duration) time.Duration { return max(lo, min(hi, d)) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
