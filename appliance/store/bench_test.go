package store

import (
	"context"
	"fmt"
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

// BenchmarkWrite: batches of 2048 events (the output loop's default) into one
// day file; reports events/s.
func BenchmarkWrite(b *testing.B) {
	s := openTest(b, b.TempDir(), 0, base)
	ctx := context.Background()
	const batch = 2048
	b.ResetTimer()
	for i := range b.N {
		evs := benchEvents(i*batch, batch, base.Add(-12*time.Hour))
		if err := s.Write(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
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
