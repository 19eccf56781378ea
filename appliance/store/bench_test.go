package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"logpacker/protocol"
)

var words = []string{"connection", "timeout", "refused", "disk", "full", "user", "login", "failed", "accepted", "request"}

func benchEvents(seq0, n int, start time.Time) []protocol.Event {
	evs := make([]protocol.Event, n)
	for i := range evs {
		s := seq0 + i
		evs[i] = ev(uint64(s), start.Add(time.Duration(s)*time.Millisecond), fmt.Sprintf("web-%d", s%20), []string{"nginx", "sshd", "app"}[s%3],
			protocol.Severity(s%8), fmt.Sprintf("%s %s for user%d from 10.0.%d.%d port %d", words[s%10], words[(s/10)%10], s%1000, s%250, s%200, 1024+s%5000))
	}
	return evs
}

// BenchmarkSendIndexed: batches of 2048 events (the output loop's default)
// through SendIndexed, as the output loop gives them, until the last is
// confirmed by a checkpoint; the events are made before the timer starts.
// Reports events/s.
func BenchmarkSendIndexed(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Logger: quiet(), Origin: "n1"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const batch = 2048
	evs := benchEvents(0, batch*16, base.Add(-12*time.Hour))
	idx := make([]uint64, batch)
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range b.N {
		for j := range idx {
			idx[j] = uint64(i*batch + j + 1)
		}
		wg.Add(1)
		k := i % 16 * batch
		if err := s.SendIndexed(ctx, evs[k:k+batch], idx, func(error) { wg.Done() }); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRowBuild: one event into the engine's fields.
func BenchmarkRowBuild(b *testing.B) {
	evs := benchEvents(0, 1024, base)
	var rb rowBuilder
	b.ReportAllocs()
	for i := range b.N {
		rb.build(&evs[i%len(evs)], "n1", uint64(i))
	}
}

// BenchmarkSearch: first pages (limit 100) over 200,000 events in 2 day files.
func BenchmarkSearch(b *testing.B) {
	s := openTest(b, b.TempDir(), 0, base)
	ctx := context.Background()
	for i := 0; i < 200_000; i += 5000 {
		if err := s.Write(ctx, benchEvents(i, 5000, base.Add(-2*time.Hour))); err != nil {
			b.Fatal(err)
		}
	}
	warn := protocol.SevWarning
	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"newest", Query{}},
		{"text", Query{Text: "timeout refused"}},
		{"rare-text", Query{Text: "user7 port 1031"}},
		{"host+severity", Query{Host: "web-3", Severity: &warn}},
		{"text+app+tag-none", Query{Text: "disk", App: "sshd", Tag: "nope", Limit: 10}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				if _, err := s.Search(ctx, bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
