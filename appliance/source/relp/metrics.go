package relp

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// statMetrics are the metrics of Stats: logpacker_relp_<name>_total.
var statMetrics = []struct {
	desc *prometheus.Desc
	get  func(*Stats) *atomic.Uint64
}{
	{relpDesc("frames", "RELP frames read (every command)."),
		func(s *Stats) *atomic.Uint64 { return &s.Frames }},
	{relpDesc("bad_frames", "RELP connections closed for a malformed frame or a protocol violation."),
		func(s *Stats) *atomic.Uint64 { return &s.BadFrames }},
	{relpDesc("oversized", "RELP frames refused because their DATA exceeded [relp] max_data_size (also in bad_frames)."),
		func(s *Stats) *atomic.Uint64 { return &s.Oversized }},
	{relpDesc("acked", "RELP syslog transactions answered 200 OK, each after its message was in the WAL."),
		func(s *Stats) *atomic.Uint64 { return &s.Acked }},
	{relpDesc("unacked_closes", "RELP connections closed without acknowledging because the WAL refused a batch (the client resends)."),
		func(s *Stats) *atomic.Uint64 { return &s.UnackedCloses }},
}

func relpDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("logpacker_relp_"+name+"_total", help, nil, nil)
}

var _ prometheus.Collector = (*Server)(nil)

// Describe implements prometheus.Collector: a Server exports its Stats as
// logpacker_relp_frames_total, _bad_frames_total, _oversized_total,
// _acked_total and _unacked_closes_total (counters, no labels: register one
// RELP server per registry).
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range statMetrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	for _, m := range statMetrics {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.get(&s.Stats).Load()))
	}
}
