package relay

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCollectors: the server's and the client's Stats are in a registry under
// their metric names and help texts, as counters with the current values.
func TestCollectors(t *testing.T) {
	var s Server
	s.Stats.Events.Add(42)
	s.Stats.BadFrames.Add(1)
	var c Client
	c.Stats.DialFailures.Add(3)
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector(), c.Collector())

	type metric struct {
		help string
		v    float64
	}
	want := map[string]metric{
		"logpacker_relay_links_total":                {"node links (relay input): links", 0},
		"logpacker_relay_refused_total":              {"node links (relay input): refused", 0},
		"logpacker_relay_batches_total":              {"node links (relay input): batches", 0},
		"logpacker_relay_events_total":               {"node links (relay input): events", 42},
		"logpacker_relay_bad_frames_total":           {"node links (relay input): bad frames", 1},
		"logpacker_relay_bad_batches_total":          {"node links (relay input): bad batches", 0},
		"logpacker_relay_duplicates_total":           {"node links (relay input): duplicates", 0},
		"logpacker_relay_wire_bytes_total":           {"node links (relay input): wire bytes", 0},
		"logpacker_relay_record_bytes_total":         {"node links (relay input): record bytes", 0},
		"logpacker_relay_column_batches_total":       {"node links (relay input): column batches", 0},
		"logpacker_relay_client_dials_total":         {"relay output: dials", 0},
		"logpacker_relay_client_dial_failures_total": {"relay output: dial_failures", 3},
		"logpacker_relay_client_moves_total":         {"relay output: moves", 0},
	}
	gather := func() map[string]metric {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]metric{}
		for _, mf := range mfs {
			if mf.GetType().String() != "COUNTER" || len(mf.GetMetric()) != 1 {
				t.Fatalf("%s: %v with %d metrics, want one counter", mf.GetName(), mf.GetType(), len(mf.GetMetric()))
			}
			got[mf.GetName()] = metric{mf.GetHelp(), mf.GetMetric()[0].GetCounter().GetValue()}
		}
		return got
	}
	got := gather()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %+v, want %+v", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d metrics, want %d: %v", len(got), len(want), got)
	}
	// read at each scrape
	c.Stats.Moves.Add(2)
	if m := gather()["logpacker_relay_client_moves_total"]; m.v != 2 {
		t.Fatalf("moves after 2 moves: %v", m.v)
	}
}
