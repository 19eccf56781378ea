package victorialogs

import (
	"github.com/prometheus/client_golang/prometheus"

	"logpacker/appliance/internal/counters"
)

// statsMetrics are the counters of Stats that Collect exports, as
// logpacker_victorialogs_<name>_total{output="<Options.Name>"}.
var statsMetrics = []counters.Counter[Stats]{
	{Name: "events", Help: "Events VictoriaLogs took (in requests answered 2xx; a batch sent again after a lost answer counts again).",
		Get: func(s Stats) uint64 { return s.Events }},
	{Name: "requests", Help: "Requests to /insert/jsonline answered 2xx.",
		Get: func(s Stats) uint64 { return s.Requests }},
	{Name: "bytes", Help: "Request bodies (compressed) answered 2xx, in bytes.",
		Get: func(s Stats) uint64 { return s.Bytes }},
	{Name: "failed_requests", Help: "Requests that failed for now (network, 5xx, 429, 401/403, 404): the batch is sent again.",
		Get: func(s Stats) uint64 { return s.Failed }},
	{Name: "rejected", Help: "Events in requests VictoriaLogs refused for good (400 and the like): the node dead-letters them.",
		Get: func(s Stats) uint64 { return s.Rejected }},
	{Name: "split_requests", Help: "Requests answered 413 (too large) and sent again as two halves.",
		Get: func(s Stats) uint64 { return s.Splits }},
	{Name: "truncated", Help: "Events shortened to fit VictoriaLogs' limits (line size, field count), marked truncated=true.",
		Get: func(s Stats) uint64 { return s.Truncated }},
}

var _ prometheus.Collector = (*Sink)(nil)

// newMetrics makes the Collector of s's counters for the output called
// name: logpacker_victorialogs_<counter>_total{output="<name>"}. The Sink embeds
// it, so it is a prometheus.Collector itself.
func newMetrics(s *Sink, name string) *counters.Set[Stats] {
	return counters.New("victorialogs", name, statsMetrics, s.Stats)
}
