// Package counters turns a sink's Stats snapshot into Prometheus counters:
// one logpacker_<prefix>_<name>_total series per counter, with the
// constant label output=<the output's name>, read at each scrape. The
// elasticsearch and victorialogs outputs embed a *Set in their sink, which
// makes the sink a prometheus.Collector that the node registers.
package counters

import "github.com/prometheus/client_golang/prometheus"

// Counter is one counter of a Stats type S.
type Counter[S any] struct {
	Name, Help string
	Get        func(S) uint64
}

// Set exports the counters of a Stats snapshot (prometheus.Collector).
type Set[S any] struct {
	counters []Counter[S]
	descs    []*prometheus.Desc
	stats    func() S
}

var _ prometheus.Collector = (*Set[struct{}])(nil)

// New describes counters as logpacker_<prefix>_<name>_total{output="<output>"};
// Collect reads them from stats.
func New[S any](prefix, output string, counters []Counter[S], stats func() S) *Set[S] {
	s := &Set[S]{counters: counters, stats: stats, descs: make([]*prometheus.Desc, len(counters))}
	for i, c := range counters {
		s.descs[i] = prometheus.NewDesc("logpacker_"+prefix+"_"+c.Name+"_total", c.Help,
			nil, prometheus.Labels{"output": output})
	}
	return s
}

// Describe sends the descriptions of the counters (prometheus.Collector).
func (s *Set[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
}

// Collect sends the counters' current values (prometheus.Collector).
func (s *Set[S]) Collect(ch chan<- prometheus.Metric) {
	st := s.stats()
	for i, c := range s.counters {
		ch <- prometheus.MustNewConstMetric(s.descs[i], prometheus.CounterValue, float64(c.Get(st)))
	}
}
