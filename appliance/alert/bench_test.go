package alert

import (
	"fmt"
	"testing"
	"time"

	"logpacker/protocol"
)

// BenchmarkFold is the alerter's hot path: matching events against the
// rules and groups and folding the matches into the open digests (README
// example rules: errors to monitoring, every level of dev-* to dev).
// "repeats": 50 distinct messages; "unique": every message distinct (the
// Space-Saving counters are full and each new message replaces the least
// counted).
func BenchmarkFold(b *testing.B) {
	cfg := mustParse(b, `[webhook]
urls = http://127.0.0.1:9/x
[group.monitoring]
webhooks = http://127.0.0.1:9/m
[group.dev]
webhooks = http://127.0.0.1:9/d
host = dev-*
[rule.errors]
providers = webhook
levels = err..emerg
groups = monitoring
[rule.dev]
providers = webhook
groups = dev
[rule.auth]
providers = webhook
app = sshd, sudo
message_regexp = (?i)failed password
`)
	for _, mode := range []string{"repeats", "unique"} {
		b.Run(mode, func(b *testing.B) {
			a := newTestAlerter(b, b.TempDir(), cfg)
			evs := make([]protocol.Event, 2048)
			hosts := []string{"web-1", "web-2", "dev-1", "db-1"}
			now := time.Now()
			for i := range evs {
				msg := fmt.Sprintf("request %d failed: upstream timed out", i%50)
				if mode == "unique" {
					msg = fmt.Sprintf("request %d failed: upstream timed out", i)
				}
				evs[i] = protocol.Event{Host: hosts[i%len(hosts)], App: "nginx", Severity: protocol.Severity(i % 8),
					Message: msg, Time: now, Received: now}
			}
			var unique []string // made beforehand: the loop measures the fold, not Sprintf
			if mode == "unique" {
				unique = make([]string, 1<<16)
				for i := range unique {
					unique[i] = fmt.Sprintf("request %d failed: upstream timed out", i)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				a.mu.Lock()
				for i := range evs {
					if mode == "unique" {
						evs[i].Message = unique[n&(len(unique)-1)]
						n++
					}
					a.foldLocked(&evs[i], now)
				}
				a.mu.Unlock()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}
