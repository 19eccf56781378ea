// Package cluster is the gossip cluster the roots of a logpacker tree form,
// built on github.com/hashicorp/memberlist (SWIM: probes, suspicion, gossip
// and periodic full state syncs). Each member publishes its relay (QUIC)
// address and its load; relay clients read the cluster view to spread their
// links over the roots by spare capacity.
//
// # Lifecycle
//
//	c, err := cluster.New(opts)   // checks Options, binds gossip (TCP+UDP), measures the load once
//	err = c.Start(ctx)            // load refresher, state watcher, joins opts.Join in the background
//	n, err := c.Join(addrs)       // more members, e.g. when cluster.nodes grows on reload
//	err = c.Leave(5*time.Second)  // graceful: peers see "left"
//	err = c.Shutdown()            // without Leave, peers see a failure: suspect, then dead
//
// A failed join at Start is logged (warn once, then debug) and retried with
// backoff (1s doubling to 30s) while the node has no live peer: the first
// root up forms the cluster and the others join it, whichever order they
// start in. Join skips addresses that are this node or a live member.
//
// # What a member publishes
//
// Its node metadata holds the relay address (Options.RelayAddr; an empty or
// 0.0.0.0 host is replaced by the gossip IP), a "leaving" flag, and its Load:
// CPU user and system percent over the last interval (deltas of gopsutil
// cpu.Times; 0 on the first sample), memory available and total
// (mem.VirtualMemory), free and total bytes of the filesystem holding
// Options.DataDir (disk.Usage), the 1-minute load average (load.Avg) and the
// CPU count. A part that cannot be measured is published as 0 (unknown) and
// the error is logged at debug level; measuring never stops the node.
//
// # Node metadata
//
// memberlist allows 512 bytes (MetaMaxSize). The metadata is compact JSON
// with short keys, zero values left out:
//
//	{"v":1,"r":"10.0.0.1:7001","x":true,"cu":12.5,"cs":3.1,"mf":8123456512,"mt":16777216000,
//	 "df":90000000000,"dt":100000000000,"l1":0.72,"n":8}
//
// v is the format version (a reader rejects a higher one; new keys that old
// readers may ignore keep v=1), r the relay address, x "leaving", cu/cs CPU
// percent with 1 decimal, mf/mt memory and df/dt disk in bytes as measured,
// l1 the load average with 2 decimals (at most 1e6), n the CPU count (at most
// 2^20). The relay address is at most 300 bytes of letters, digits and
// ".-_:[]%" (no JSON escapes), checked in New, which bounds the worst case
// to 474 bytes (TestMetaWorstCaseFits).
//
// Peers' metadata is decoded defensively: anything that is not such an
// object, is oversized, has an unknown version, a negative or out-of-range
// value, free above total, or a bad relay address, is rejected as a whole.
// The member is kept, with an unknown (zero) Load and no relay address; the
// first bad metadata from a member is logged at warn level, later ones at
// debug until it publishes good metadata again (Stats.BadMeta counts all).
//
// # Refresh interval
//
// The load is measured every Options.LoadInterval (default 2s) and published
// only when its quantized form changed. Publishing is memberlist's
// UpdateNode: a new incarnation of the member's alive message, gossiped to
// every member and retransmitted, so it is not cheap. Keep the interval at 1s
// or more in production (memory available changes at nearly every sample,
// so a member publishes about every interval: 0.5 broadcasts a second per
// member at the default). For data that must be fresher or larger, memberlist
// offers user messages and push/pull state, not used here.
//
// # Health states and how long failed members stay
//
// alive, suspect, dead, left (State). A member is suspect when a probe of it
// failed (direct and indirect); it has SuspicionMult * max(1, log10(N)) *
// ProbeInterval to refute (4s for a small cluster with the lan profile:
// ProbeInterval 1s, ProbeTimeout 500ms, SuspicionMult 4), then it is dead.
// A member that calls Leave first publishes "leaving" (Member.Leaving; it
// drops out of Healthy at once), then memberlist's leave message, and the
// others mark it left instead of dead. Dead and left members stay in Members
// for Options.Retain (default 1 minute) after they went, so operators and
// relay clients see what failed, then they are forgotten (memberlist itself
// forgets them after GossipToTheDeadTime, 30s with lan). A member that
// comes back (same name) is alive again; at a new address it is let in once
// it has been dead 30 seconds (memberlist's DeadNodeReclaimTime).
//
// Joins, metadata and leaves come from memberlist's event callbacks, where
// the node's fields are copied under memberlist's lock. Suspicion is in no
// callback, and memberlist v0.7.0 does not expose node states safely
// (Node.State is never set, and Members() returns nodes it rewrites in
// place), so a watcher reads memberlist's own state table under its lock
// every ProbeInterval/4 (20-250ms): see mlstate.go for how and for the
// fallback if a memberlist upgrade breaks it (no suspect state; left/dead from
// the leaving flag).
//
// Subscribe signals (coalesced, never blocking memberlist) when a member
// joins, changes state, is forgotten, or publishes a different load or
// relay address, this node's own included.
//
// # Spare capacity
//
// Load.Spare is the balancing weight, in [SpareFloor, 1]: the smallest of the
// known fractions
//
//	cpu   1 - (CPUUser+CPUSystem)/100
//	run   1 - Load1/CPUs                 (a run queue above the CPU count counts as 0)
//	mem   MemFree/MemTotal               (below LowFree, 5%, counts as 0)
//	disk  DiskFree/DiskTotal             (below LowFree counts as 0)
//
// raised to SpareFloor (0.01). A part with a zero total (or no CPU count) is
// unknown and left out; a zero Load is SpareUnknown (0.5). So an idle root
// is near 1, one at 95% CPU near 0.05, and one whose WAL disk is 98% full or
// whose memory is nearly exhausted is overloaded (Overloaded reports Spare at
// the floor) whatever its CPU does. The floor keeps weights summing above 0:
// when every root is overloaded the links still spread evenly.
//
// # How relay clients use it
//
// For whoever picks a root from this view (a relay client given the view, or
// a root steering its clients): the candidates are the Healthy() members
// (alive, not leaving) with a RelayAddr. Weight each by Load.Spare() and pick
// at random in proportion; leave out
// overloaded candidates unless every candidate is overloaded (then all get
// the same trickle). On a Subscribe signal, move links away from members no
// longer healthy (suspect, dead, left, leaving); rebalancing healthy links on
// small load changes is the client's choice and wants hysteresis, since every
// member's load moves at each refresh.
//
// # Logging and security
//
// memberlist's own log lines go to Options.Logger (component=memberlist),
// "[DEBUG]" at debug level, "[WARN]" at warn and "[ERR]" at error, never to
// stderr. Gossip is neither authenticated nor encrypted here (memberlist's
// keyring is not wired): bind it to the roots' private network.
package cluster
