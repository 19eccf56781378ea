package elastic

import "github.com/prometheus/client_golang/prometheus"

// statsMetrics are the counters of Stats that Collect exports, as
// logpacker_elasticsearch_<name>_total{output="<Options.Name>"}.
var statsMetrics = []struct {
	name, help string
	get        func(Stats) uint64
}{
	{"indexed", "Events the Elasticsearch output stored (201 to a bulk create).",
		func(s Stats) uint64 { return s.Indexed }},
	{"duplicates", "Events Elasticsearch had already (409 to a bulk create: stored by an earlier attempt whose answer was lost); not stored twice.",
		func(s Stats) uint64 { return s.Duplicates }},
	{"retried_items", "Events the Elasticsearch output sent again after a 429 or 5xx of their own.",
		func(s Stats) uint64 { return s.RetriedItems }},
	{"dead_lettered", "Events Elasticsearch rejected for good (mapping errors), written to data_dir/deadletter-NAME-items.jsonl.",
		func(s Stats) uint64 { return s.DeadLettered }},
	{"template_errors", "Index templates Elasticsearch refused for good (401/403, other 4xx): the output went on without it.",
		func(s Stats) uint64 { return s.TemplateErrors }},
}

var _ prometheus.Collector = (*Sink)(nil)

// statsDescs are the descriptions of statsMetrics for the output called name.
func statsDescs(name string) []*prometheus.Desc {
	descs := make([]*prometheus.Desc, len(statsMetrics))
	for i, m := range statsMetrics {
		descs[i] = prometheus.NewDesc("logpacker_elasticsearch_"+m.name+"_total", m.help,
			nil, prometheus.Labels{"output": name})
	}
	return descs
}

// Describe sends the descriptions of the counters Collect exports
// (prometheus.Collector).
func (s *Sink) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
}

// Collect sends the Stats counters, logpacker_elasticsearch_<counter>_total
// with the label output=Options.Name (prometheus.Collector).
func (s *Sink) Collect(ch chan<- prometheus.Metric) {
	st := s.Stats()
	for i, m := range statsMetrics {
		ch <- prometheus.MustNewConstMetric(s.descs[i], prometheus.CounterValue, float64(m.get(st)))
	}
}
