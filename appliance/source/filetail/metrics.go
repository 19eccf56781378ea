package filetail

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// stats are a source's counters (updated by its goroutine, read by Collect).
type stats struct {
	events, bytes, parseErrors, truncated atomic.Uint64
	rotations, truncations, unseen, lost  atomic.Uint64
	open                                  atomic.Int64
}

var (
	metricSet = []struct {
		name, help string
		gauge      bool
		get        func(*stats) float64
	}{
		{"logpacker_file_events_total", "Events a file source emitted (they are in the WAL).", false, func(s *stats) float64 { return float64(s.events.Load()) }},
		{"logpacker_file_read_bytes_total", "Bytes a file source read from files.", false, func(s *stats) float64 { return float64(s.bytes.Load()) }},
		{"logpacker_file_parse_errors_total", "Events whose text was not in the source's format (kept whole, parse_error set).", false, func(s *stats) float64 { return float64(s.parseErrors.Load()) }},
		{"logpacker_file_truncated_total", "Events cut at max_line_bytes (tagged truncated).", false, func(s *stats) float64 { return float64(s.truncated.Load()) }},
		{"logpacker_file_rotations_total", "Files rotated away from a followed path (renamed or deleted).", false, func(s *stats) float64 { return float64(s.rotations.Load()) }},
		{"logpacker_file_truncations_total", "Followed files found truncated (copytruncate).", false, func(s *stats) float64 { return float64(s.truncations.Load()) }},
		{"logpacker_file_rotated_unseen_total", "Rotated files read that the source had not seen at their path (rotated while it was down or busy).", false, func(s *stats) float64 { return float64(s.unseen.Load()) }},
		{"logpacker_file_lost_total", "Files a checkpoint named that were gone at a restart, with lines not read (logged).", false, func(s *stats) float64 { return float64(s.lost.Load()) }},
		{"logpacker_file_open_files", "Files a file source has open.", true, func(s *stats) float64 { return float64(s.open.Load()) }},
	}
)

// newDescs are the metrics' descriptions for the source called name (a
// constant label: each source is a collector of its own, registered and
// unregistered as it is added and removed).
func newDescs(name string) []*prometheus.Desc {
	out := make([]*prometheus.Desc, len(metricSet))
	for i, m := range metricSet {
		out[i] = prometheus.NewDesc(m.name, m.help, nil, prometheus.Labels{"source": name})
	}
	return out
}

var _ prometheus.Collector = (*Source)(nil)

// Describe implements prometheus.Collector: a Source exports its counters
// with the label source="NAME".
func (s *Source) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Source) Collect(ch chan<- prometheus.Metric) {
	for i, m := range metricSet {
		t := prometheus.CounterValue
		if m.gauge {
			t = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(s.descs[i], t, m.get(&s.st))
	}
}
