package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

// pageAll pages through q and returns the IDs in order.
func pageAll(t *testing.T, s *Store, q Query) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		res, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, js := range res.Events {
			var e struct{ ID string }
			if err := json.Unmarshal(js, &e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		if res.Next == "" {
			return ids
		}
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		q.Cursor = res.Next
	}
}

// TestTextStreamingMatchesPlainQuery: the streaming text search (matches
// walked newest rid first, stopped early by the blocks' received bounds)
// returns exactly what the plain SQL query does, page by page, on data
// written the way relays write it: mostly in received order, with late
// backlogs (old received times written after new ones), many events
// sharing one received time, batches written twice, and a day file whose
// blocks do not cover its rows (written before blocks existed).
func TestTextStreamingMatchesPlainQuery(t *testing.T) {
	defer func(n int) { streamMinMatches = n }(streamMinMatches)
	streamMinMatches = 1 // stream on this small data (the probe is tested below)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	s := openTest(t, t.TempDir(), 0, day.Add(72*time.Hour))
	ctx := context.Background()
	vocab := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	seq := uint64(0)
	clock := day.Add(time.Hour)
	prevBase := clock
	var batches [][]protocol.Event
	for range 60 {
		n := 1 + rng.IntN(40)
		base := clock
		switch rng.IntN(6) {
		case 2: // the same received times as the batch before (ties across write blocks)
			base = prevBase
		case 0: // a late backlog: hours older
			base = clock.Add(-time.Duration(rng.IntN(20)) * time.Hour)
		case 1: // the next day
			base = clock.Add(24 * time.Hour)
		}
		var evs []protocol.Event
		for i := range n {
			seq++
			rec := base.Add(time.Duration(i/7) * time.Millisecond) // ties: 7 events per received time
			var words []string
			for k, w := range vocab {
				// alpha in nearly every event, theta in few
				if rng.IntN(len(vocab)+1) < len(vocab)-k {
					words = append(words, w)
				}
			}
			words = append(words, vocab[rng.IntN(len(vocab))])
			evs = append(evs, ev(seq, rec, fmt.Sprintf("h%d", seq%3), "app", protocol.Severity(rng.IntN(8)), strings.Join(words, " ")))
		}
		prevBase = base
		clock = clock.Add(time.Duration(1+rng.IntN(3000)) * time.Millisecond)
		batches = append(batches, evs)
		if err := s.Write(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(10) == 0 && len(batches) > 1 { // a batch written again (after a crash)
			if err := s.Write(ctx, batches[rng.IntN(len(batches))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// the newest day file as if written before blocks existed
	newest := s.dayFiles()[0]
	d, _ := s.acquire(newest, false)
	if _, err := d.db.Exec("DELETE FROM blocks WHERE lo = (SELECT min(lo) FROM blocks)"); err != nil {
		t.Fatal(err)
	}
	s.release(d)

	warn := protocol.SevWarning
	queries := []Query{
		{Text: "alpha"}, {Text: "alpha beta"}, {Text: "theta"}, {Text: `"gamma delta"`}, {Text: "eps*"},
		{Text: "alpha", Severity: &warn}, {Text: "beta", From: day.Add(90 * time.Minute), To: day.Add(30 * time.Hour)}, {Text: "beta", From: day.Add(90 * time.Minute)},
		{Text: "nothingmatches"},
	}
	// From at an event's exact received time (inclusive bounds), of
	// batches at the edge of a write block
	for _, b := range batches[len(batches)/3:][:4] {
		queries = append(queries, Query{Text: "alpha", From: b[0].Received}, Query{Text: "beta", From: b[len(b)-1].Received, Severity: &warn})
	}
	for _, q := range queries {
		// every day file streams (1), or those where the text has at least 150 matches
		streamMinMatches = []int{1, 150}[len(q.Text)%2]
		for _, limit := range []int{5, 100, 10000} {
			q.Limit = limit
			noTextStreaming = true
			want := pageAll(t, s, q)
			noTextStreaming = false
			got := pageAll(t, s, q)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("%+v: streaming gave %d events, the plain query %d; first difference at %d", q, len(got), len(want), firstDiff(got, want))
			}
			if q.Text == "alpha" && q.From.IsZero() && q.Severity == nil && len(want) < 500 {
				t.Fatalf("alpha matched only %d events: the test data is not what it means to be", len(want))
			}
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
