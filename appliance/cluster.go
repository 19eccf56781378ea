package appliance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/discovery"
	"logpacker/discovery/cluster"
	"logpacker/protocol/wire"
	"logpacker/relay"
)

// The discovery and cluster wiring of a node: [relay] upstream through
// package discovery, the [cluster] membership (package discovery/cluster),
// the cluster view a root sends its children, /api/v1/status and
// /api/v1/cluster, and the reload of [cluster] nodes.

// upstreams resolves [relay] upstream and counts its lookups in /metrics.
func (n *Node) upstreams() (discovery.Upstreams, error) {
	up, err := discovery.New(strings.Join(n.cfg.Relay.Upstream, ","), discovery.Options{
		Resolver: n.cfg.Relay.Resolver, Logger: n.log})
	if err != nil {
		return nil, fmt.Errorf("node: relay: upstream: %w", err)
	}
	n.up = up
	for name, f := range map[string]func(discovery.Stats) float64{
		"lookups_total":         func(s discovery.Stats) float64 { return float64(s.Lookups) },
		"lookup_failures_total": func(s discovery.Stats) float64 { return float64(s.LookupFailures) },
	} {
		n.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "logpacker_discovery_" + name,
			Help: "[relay] upstream DNS lookups: " + name}, func() float64 { return f(up.Stats()) }))
	}
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logpacker_discovery_stale",
		Help: "1 when the last DNS lookup failed and an older answer is in use"}, func() float64 {
		if up.Stats().Stale {
			return 1
		}
		return 0
	}))
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logpacker_discovery_targets",
		Help: "parents in the current [relay] upstream answer"}, func() float64 { return float64(up.Stats().Targets) }))
	return up, nil
}

// balance is [relay]'s balancing policy.
func (n *Node) balance() relay.Balance {
	age := n.cfg.Relay.MaxLinkAge
	if age == 0 {
		age = -1 // 0 in the file: never
	}
	return relay.Balance{Overload: n.cfg.Relay.Overload, MaxLinkAge: age}
}

// registerClientStats puts a relay client's counters in /metrics.
func (n *Node) registerClientStats(c *relay.Client) {
	n.relayClient = c
	n.reg.MustRegister(c.Collector())
}

// openCluster creates the [cluster] membership (joined at Start).
func (n *Node) openCluster(relayAddr string) error {
	c := n.cfg.Cluster
	if c.Bind == "" {
		return nil
	}
	if c.RelayAddr != "" {
		relayAddr = c.RelayAddr
	}
	o := cluster.Options{NodeID: n.id, Bind: c.Bind, Advertise: c.Advertise, RelayAddr: relayAddr,
		Join: c.Nodes, DataDir: n.cfg.Node.DataDir, LoadInterval: c.LoadInterval,
		ProbeInterval: c.ProbeInterval, Logger: n.log.With("component", "cluster")}
	if c.ProbeInterval > 0 {
		o.ProbeTimeout = c.ProbeInterval / 2 // must be below the interval
	}
	if f := c.LoadFile; f != "" {
		path := n.cfg.DataPath(f)
		o.LoadFunc = func() cluster.Load {
			var l cluster.Load
			if b, err := os.ReadFile(path); err == nil {
				if err := json.Unmarshal(b, &l); err != nil {
					n.log.Warn("cluster: load_file does not decode", "file", path, "err", err)
				}
			}
			return l
		}
	}
	cl, err := cluster.New(o)
	if err != nil {
		return fmt.Errorf("node: cluster: %w", err)
	}
	n.cluster = cl
	n.closers = append(n.closers, cl.Shutdown) // after leaveCluster, or when New fails
	for _, st := range []string{"alive", "suspect", "dead", "left"} {
		n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logpacker_cluster_members",
			Help: "cluster members by health", ConstLabels: prometheus.Labels{"state": st}}, func() float64 {
			s := cl.Stats()
			return float64(map[string]int{"alive": s.Alive, "suspect": s.Suspect, "dead": s.Dead, "left": s.Left}[st])
		}))
	}
	return nil
}

// members is the cluster view sent to children: every member with a relay
// address, its health and load (wire.Attr* keys).
func (n *Node) members() []wire.Member {
	if n.cluster == nil {
		return nil
	}
	var out []wire.Member
	for _, m := range n.cluster.Members() {
		if m.RelayAddr == "" {
			continue
		}
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		state := string(m.State)
		if m.Leaving {
			state = string(cluster.StateLeft) // on its way out: not to be picked
		}
		out = append(out, wire.Member{Node: m.Node, Addr: m.RelayAddr, Attrs: []wire.Attr{
			{Key: wire.AttrState, Value: state},
			{Key: wire.AttrSpare, Value: strconv.FormatFloat(m.Load.Spare(), 'f', 3, 64)},
			{Key: wire.AttrCPUUser, Value: f(m.Load.CPUUser)},
			{Key: wire.AttrCPUSystem, Value: f(m.Load.CPUSystem)},
			{Key: wire.AttrMemFree, Value: strconv.FormatUint(m.Load.MemFree, 10)},
			{Key: wire.AttrDiskFree, Value: strconv.FormatUint(m.Load.DiskFree, 10)},
			{Key: wire.AttrLoad1, Value: f(m.Load.Load1)},
		}})
	}
	return out
}

// leaveCluster leaves the cluster gracefully at shutdown, while this node
// still serves its children: the others see it leaving at once, its
// WELCOME status frame tells its children (state left), and they move to
// other members, draining their links, before the inputs stop.
func (n *Node) leaveCluster(ctx context.Context) {
	if n.cluster == nil {
		return
	}
	if err := n.cluster.Leave(2 * time.Second); err != nil {
		n.log.Warn("cluster: leave", "err", err)
	}
	if n.cfg.Listen.Relay == "" {
		return
	}
	// one status interval of the relay server, for the children to hear it
	select {
	case <-ctx.Done():
	case <-time.After(2500 * time.Millisecond):
	}
}

// reloadClusterNodes applies a changed [cluster] nodes (keys: the changed
// keys of [cluster]): new members are joined; removing one does not make it
// leave (stop that node). Without a cluster membership (no [cluster] bind
// at start) it waits for a restart.
func (n *Node) reloadClusterNodes(cfg *Config, keys []string) {
	if !slices.Contains(keys, "nodes") || n.cluster == nil {
		return
	}
	n.cfg.adopt(cfg, "cluster", "nodes")
	old := n.cfg.Cluster.Nodes
	var added []string
	for _, a := range cfg.Cluster.Nodes {
		if !slices.Contains(old, a) {
			added = append(added, a)
		}
	}
	n.cfg.Cluster.Nodes = cfg.Cluster.Nodes
	if len(added) == 0 {
		return
	}
	// The whole list (Join skips members it has), so that a node a failed
	// join missed is tried again; off the signal loop, which must stay free
	// for SIGTERM while memberlist waits on an unreachable address.
	go func(all []string) {
		k, err := n.cluster.Join(all)
		n.log.Info("reload: joined cluster nodes", "added", added, "contacted", k, "err", err)
	}(slices.Clone(cfg.Cluster.Nodes))
}

// Status is what `logpacker status` shows (GET /api/v1/status).
type Status struct {
	Node     string           `json:"node"`
	Time     time.Time        `json:"time"`
	Upstream *UpstreamStatus  `json:"upstream,omitempty"`
	Cluster  []cluster.Member `json:"cluster,omitempty"`
	WAL      WALStatus        `json:"wal"`
	// RestartNeeded: the keys the configuration file changed that the last
	// reload could not apply live ("[wal] fsync"); they take effect at the
	// next start. Empty when the node runs what the file says.
	RestartNeeded []string `json:"restart_needed"`
	// ReloadErrors: what the last reload tried and could not do (a listener
	// address that did not bind, an output that did not open), or why the
	// file did not load; the running settings stayed. Empty when none.
	ReloadErrors []string `json:"reload_errors"`
}

// UpstreamStatus is a non-root node's parents.
type UpstreamStatus struct {
	Spec      string             `json:"spec"`
	Targets   []discovery.Target `json:"targets"`
	Discovery discovery.Stats    `json:"discovery"`
	Parent    string             `json:"parent"` // address of the link up now
	ParentID  string             `json:"parent_node"`
	View      []relay.ViewMember `json:"view,omitempty"` // the parent's cluster
	Err       string             `json:"error,omitempty"`
}

// WALStatus is the WAL's size and each cursor's lag.
type WALStatus struct {
	Bytes    int64             `json:"bytes"`
	Segments int               `json:"segments"`
	Last     uint64            `json:"last_index"`
	Lag      map[string]uint64 `json:"lag"`
}

func (n *Node) status(r *http.Request) Status {
	s := Status{Node: n.id, Time: time.Now().UTC(), RestartNeeded: []string{}, ReloadErrors: []string{}}
	if r := n.reloaded.Load(); r != nil {
		s.RestartNeeded = append(s.RestartNeeded, r.restart...)
		s.ReloadErrors = append(s.ReloadErrors, r.errors...)
	}
	ws := n.wal.Stats()
	s.WAL = WALStatus{Bytes: ws.Bytes, Segments: ws.Segments, Last: ws.LastIndex, Lag: map[string]uint64{}}
	for name, c := range ws.Cursors {
		s.WAL.Lag[name] = ws.LastIndex - min(c, ws.LastIndex)
	}
	if n.up != nil {
		u := &UpstreamStatus{Spec: n.up.String(), Discovery: n.up.Stats()}
		if t, err := n.up.Order(r.Context()); err != nil {
			u.Err = err.Error()
		} else {
			u.Targets = t
		}
		if n.relayClient != nil {
			u.Parent, u.ParentID = n.relayClient.Parent()
			u.View = n.relayClient.View()
		}
		s.Upstream = u
	}
	if n.cluster != nil {
		s.Cluster = n.cluster.Members()
	}
	return s
}

// clusterView is /api/v1/cluster.
func (n *Node) clusterView() any {
	if n.cluster == nil {
		return map[string]any{"node": n.id, "cluster": false, "members": []cluster.Member{}}
	}
	return map[string]any{"node": n.id, "cluster": true, "members": n.cluster.Members(), "stats": n.cluster.Stats()}
}
