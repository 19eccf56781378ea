package discovery

import (
	"math/rand/v2"
	"slices"
)

// record is one SRV record of an answer and the addresses its target
// resolved to (one Target each, all with the record's priority and weight).
type record struct {
	Priority, Weight uint16
	Target           string // the SRV target, without its trailing dot
	Port             uint16
	targets          []Target
}

// orderRecords returns recs in the order to try them (RFC 2782): by priority,
// lowest first; within one priority, records with a weight above 0 in a
// weighted random order (each next one is picked with probability weight /
// sum of the weights not picked yet), then the weight-0 records in a random
// order. (RFC 2782 puts weight-0 records at the front of the running sum,
// which gives them a small chance to come first; we put them last: weight 0
// means "only when nothing else is left".) recs is not modified.
func orderRecords(r *rand.Rand, recs []record) []record {
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b record) int { return int(a.Priority) - int(b.Priority) })
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].Priority == out[i].Priority {
			j++
		}
		weighted(r, out[i:j])
		i = j
	}
	return out
}

// weighted orders one priority's records in place.
func weighted(r *rand.Rand, g []record) {
	// Weight-0 records go to the end, shuffled.
	nz := 0
	for i := range g {
		if g[i].Weight > 0 {
			g[nz], g[i] = g[i], g[nz]
			nz++
		}
	}
	zero := g[nz:]
	r.Shuffle(len(zero), func(i, j int) { zero[i], zero[j] = zero[j], zero[i] })
	sum := 0
	for _, x := range g[:nz] {
		sum += int(x.Weight)
	}
	for i := 0; i < nz-1; i++ {
		// Pick from g[i:nz]: the first record whose running sum exceeds n.
		n := r.IntN(sum)
		k := i
		for run := int(g[k].Weight); run <= n; run += int(g[k].Weight) {
			k++
		}
		g[i], g[k] = g[k], g[i]
		sum -= int(g[i].Weight)
	}
}

// flatten lists the records' targets in order.
func flatten(recs []record) []Target {
	n := 0
	for _, rc := range recs {
		n += len(rc.targets)
	}
	out := make([]Target, 0, n)
	for _, rc := range recs {
		out = append(out, rc.targets...)
	}
	return out
}
