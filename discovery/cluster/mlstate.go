package cluster

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/hashicorp/memberlist"
)

// stateReader reads memberlist's own per-node state (alive, suspect, dead,
// left) under memberlist's own lock.
//
// Why: memberlist v0.7.0 has no race-free way to learn a node's state. The
// State field of the *Node that Members() and the event callbacks hand out is
// never set (nodeState declares its own State that shadows it: memberlist
// issue #293, PR #321), Members() returns pointers into nodes that memberlist
// rewrites in place (issues #250, #306), and no callback reports suspicion.
// So this reads the unexported fields Memberlist.nodeLock (sync.RWMutex) and
// Memberlist.nodes ([]*nodeState, each with Name and State), found by
// reflection at New, holding nodeLock for reading, as memberlist's own
// readers do. Only those reads are done; nothing is written.
//
// When the fields are not there (another memberlist version), newStateReader
// returns nil and the cluster falls back to what the public API gives: alive
// from joins, dead or left from leave events (left when the member announced
// it was leaving), and no "suspect". TestStateReaderSupported fails then, so
// an upgrade does not lose suspicion silently. Drop this file when memberlist
// exposes node states (PR #321 would do it through Node.State).
type stateReader struct {
	lock     *sync.RWMutex
	nodes    reflect.Value // the addressable Memberlist.nodes field
	nameIdx  []int         // field index of Name in nodeState (promoted from Node)
	stateIdx []int         // field index of State in nodeState
}

func newStateReader(ml *memberlist.Memberlist) *stateReader {
	if ml == nil {
		return nil
	}
	v := reflect.ValueOf(ml).Elem()
	lf := v.FieldByName("nodeLock")
	nf := v.FieldByName("nodes")
	if !lf.IsValid() || lf.Type() != reflect.TypeFor[sync.RWMutex]() || !lf.CanAddr() {
		return nil
	}
	if !nf.IsValid() || nf.Kind() != reflect.Slice || nf.Type().Elem().Kind() != reflect.Pointer ||
		nf.Type().Elem().Elem().Kind() != reflect.Struct {
		return nil
	}
	st := nf.Type().Elem().Elem()
	name, ok1 := st.FieldByName("Name")
	state, ok2 := st.FieldByName("State")
	if !ok1 || !ok2 || name.Type.Kind() != reflect.String || state.Type != reflect.TypeFor[memberlist.NodeStateType]() {
		return nil
	}
	return &stateReader{
		lock:     (*sync.RWMutex)(unsafe.Pointer(lf.UnsafeAddr())),
		nodes:    nf,
		nameIdx:  name.Index,
		stateIdx: state.Index,
	}
}

// states returns every node memberlist still holds (it forgets dead and left
// ones after GossipToTheDeadTime) with its state. It must not be called from
// a memberlist callback: those run with nodeLock held.
func (r *stateReader) states() map[string]State {
	r.lock.RLock()
	defer r.lock.RUnlock()
	n := r.nodes.Len()
	out := make(map[string]State, n)
	for i := range n {
		p := r.nodes.Index(i)
		if p.IsNil() {
			continue
		}
		ns := p.Elem()
		out[ns.FieldByIndex(r.nameIdx).String()] = stateOf(memberlist.NodeStateType(ns.FieldByIndex(r.stateIdx).Int()))
	}
	return out
}

func stateOf(t memberlist.NodeStateType) State {
	switch t {
	case memberlist.StateAlive:
		return StateAlive
	case memberlist.StateSuspect:
		return StateSuspect
	case memberlist.StateLeft:
		return StateLeft
	default:
		return StateDead
	}
}
