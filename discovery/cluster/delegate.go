package cluster

import (
	"bytes"
	"context"
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate implements memberlist.Delegate and memberlist.EventDelegate for
// a Cluster without putting those methods on Cluster's exported API.
//
// memberlist calls the event methods with its node lock held, the only time
// a *memberlist.Node's fields may be read without racing memberlist's own
// updates: everything needed is copied here, and nothing here calls back
// into memberlist.
type delegate struct{ c *Cluster }

var (
	_ memberlist.Delegate      = delegate{}
	_ memberlist.EventDelegate = delegate{}
)

// NodeMeta returns the local metadata: relay address, leaving flag, load.
func (d delegate) NodeMeta(limit int) []byte {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	if len(d.c.localMeta) > limit { // cannot happen: New bounds the relay address (TestMetaWorstCaseFits)
		d.c.log.Error("discovery/cluster: metadata too large; publishing none", "size", len(d.c.localMeta), "limit", limit)
		return nil
	}
	return bytes.Clone(d.c.localMeta)
}

func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}

func (d delegate) NotifyJoin(n *memberlist.Node)   { d.c.onAlive(n, false) }
func (d delegate) NotifyUpdate(n *memberlist.Node) { d.c.onAlive(n, true) }
func (d delegate) NotifyLeave(n *memberlist.Node)  { d.c.onLeave(n) }

// onAlive records a member that joined (or came back), or whose metadata
// changed.
func (c *Cluster) onAlive(n *memberlist.Node, update bool) {
	name, gossip, raw := n.Name, n.Address(), bytes.Clone(n.Meta)
	now := time.Now()

	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.view[name]
	if e == nil {
		e = &entry{Member: Member{Node: name, Local: name == c.o.NodeID}}
		c.view[name] = e
	}
	changed := false
	if e.State != StateAlive {
		e.State, e.goneAt = StateAlive, time.Time{}
		c.gen++
		changed = true
	}
	if e.Gossip != gossip {
		e.Gossip = gossip
		changed = true
	}
	if e.Updated.IsZero() || !bytes.Equal(raw, e.raw) {
		m, err := decodeMeta(raw)
		if err != nil {
			c.badMeta++
			if !e.badLogged {
				e.badLogged = true
				c.log.Warn("discovery/cluster: member's metadata does not decode; keeping it with an unknown load",
					"node", name, "gossip", gossip, "err", err)
			} else {
				c.log.Debug("discovery/cluster: member's metadata still does not decode", "node", name, "err", err)
			}
			m = meta{}
		} else {
			e.badLogged = false
		}
		if m.Relay != e.RelayAddr || m.Leaving != e.Leaving || m.Load != e.Load {
			changed = true
		}
		e.RelayAddr, e.Leaving, e.Load, e.raw = m.Relay, m.Leaving, m.Load, raw
		if update && !e.Local {
			c.metaUpdates++
		}
	}
	e.Updated = now
	if changed {
		c.notifyLocked()
	}
}

// onLeave records a member that failed or left. memberlist does not say
// which (Node.State is not set, see mlstate.go): it is "left" when the member
// announced it was leaving, else "dead"; the watcher then takes memberlist's
// own verdict when it can read it.
func (c *Cluster) onLeave(n *memberlist.Node) {
	name := n.Name
	c.mu.Lock()
	e := c.view[name]
	if e == nil {
		e = &entry{Member: Member{Node: name, Gossip: n.Address(), Local: name == c.o.NodeID}}
		c.view[name] = e
	}
	st := StateDead
	if e.Leaving || e.Local {
		st = StateLeft
	}
	if e.State != st {
		e.State, e.goneAt = st, time.Now()
		c.gen++
		c.notifyLocked()
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// watchLoop keeps the view's states in step with memberlist's (suspect
// comes from here alone) and forgets members gone for longer than Retain.
func (c *Cluster) watchLoop(ctx context.Context) {
	t := time.NewTicker(c.watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
		}
		c.sync()
	}
}

func (c *Cluster) sync() {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	var states map[string]State
	if c.sr != nil {
		states = c.sr.states()
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		// An event changed a state while we read: our snapshot may be older
		// than it. Take the next one.
		states = nil
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	changed := false
	for name, e := range c.view {
		if s, ok := states[name]; ok && !e.Local && s != e.State {
			e.State = s
			if s == StateDead || s == StateLeft {
				if e.goneAt.IsZero() {
					e.goneAt = now
				}
			} else {
				e.goneAt = time.Time{}
			}
			changed = true
		}
		if (e.State == StateDead || e.State == StateLeft) && !e.Local && now.Sub(e.goneAt) > c.o.Retain {
			delete(c.view, name)
			changed = true
		}
	}
	if changed {
		c.notifyLocked()
	}
}
