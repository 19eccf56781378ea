package elastic

import (
	"github.com/prometheus/client_golang/prometheus"

	"logpacker/appliance/internal/counters"
)

// statsMetrics are the counters of Stats that Collect exports, as
// logpacker_elasticsearch_<name>_total{output="<Options.Name>"}.
var statsMetrics = []counters.Counter[Stats]{
	{Name: "indexed", Help: "Events the Elasticsearch output stored (201 to a bulk create).",
		Get: func(s Stats) uint64 { return s.Indexed }},
	{Name: "duplicates", Help: "Events Elasticsearch had already (409 to a bulk create: stored by an earlier attempt whose answer was lost); not stored twice.",
		Get: func(s Stats) uint64 { return s.Duplicates }},
	{Name: "retried_items", Help: "Events the Elasticsearch output sent again after a 429 or 5xx of their own.",
		Get: func(s Stats) uint64 { return s.RetriedItems }},
	{Name: "dead_lettered", Help: "Events Elasticsearch rejected for good (mapping errors), written to data_dir/deadletter-NAME-items.jsonl.",
		Get: func(s Stats) uint64 { return s.DeadLettered }},
	{Name: "template_errors", Help: "Index templates Elasticsearch refused for good (401/403, other 4xx): the output went on without it.",
		Get: func(s Stats) uint64 { return s.TemplateErrors }},
}

var _ prometheus.Collector = (*Sink)(nil)

// newMetrics makes the Collector of s's counters for the output called
// name: logpacker_elasticsearch_<counter>_total{output="<name>"}. The Sink embeds
// it, so it is a prometheus.Collector itself.
func newMetrics(s *Sink, name string) *counters.Set[Stats] {
	return counters.New("elasticsearch", name, statsMetrics, s.Stats)
}
