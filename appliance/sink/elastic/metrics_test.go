package elastic

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"logpacker/appliance/sink/elastic/elastictest"
)

// TestCollector: a Sink is a prometheus.Collector exporting its Stats with
// the names and help texts the node used to register (node.go elasticHelp),
// labelled with the output's name; two outputs share a registry.
func TestCollector(t *testing.T) {
	es := elastictest.New(t)
	es.Poison = func(src []byte) bool { return strings.Contains(string(src), `"message":"poison"`) }
	s := newTestSink(t, Options{URLs: []string{es.URL()}}) // its Name is "es"
	// events 97 and 194 are poison: dead-lettered
	if err := s.Write(context.Background(), testEvents(1, 200)); err != nil {
		t.Fatal(err)
	}
	other, err := New(Options{Name: "es2", URLs: []string{es.URL()}, DeadLetter: t.TempDir() + "/dead.jsonl", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s, other)
	if err := reg.Register(s); err == nil {
		t.Error("registering the same output twice: no error")
	}

	const want = `
# HELP logpacker_elasticsearch_dead_lettered_total Events Elasticsearch rejected for good (mapping errors), written to data_dir/deadletter-NAME-items.jsonl.
# TYPE logpacker_elasticsearch_dead_lettered_total counter
logpacker_elasticsearch_dead_lettered_total{output="es"} 2
logpacker_elasticsearch_dead_lettered_total{output="es2"} 0
# HELP logpacker_elasticsearch_duplicates_total Events Elasticsearch had already (409 to a bulk create: stored by an earlier attempt whose answer was lost); not stored twice.
# TYPE logpacker_elasticsearch_duplicates_total counter
logpacker_elasticsearch_duplicates_total{output="es"} 0
logpacker_elasticsearch_duplicates_total{output="es2"} 0
# HELP logpacker_elasticsearch_indexed_total Events the Elasticsearch output stored (201 to a bulk create).
# TYPE logpacker_elasticsearch_indexed_total counter
logpacker_elasticsearch_indexed_total{output="es"} 198
logpacker_elasticsearch_indexed_total{output="es2"} 0
# HELP logpacker_elasticsearch_retried_items_total Events the Elasticsearch output sent again after a 429 or 5xx of their own.
# TYPE logpacker_elasticsearch_retried_items_total counter
logpacker_elasticsearch_retried_items_total{output="es"} 0
logpacker_elasticsearch_retried_items_total{output="es2"} 0
# HELP logpacker_elasticsearch_template_errors_total Index templates Elasticsearch refused for good (401/403, other 4xx): the output went on without it.
# TYPE logpacker_elasticsearch_template_errors_total counter
logpacker_elasticsearch_template_errors_total{output="es"} 0
logpacker_elasticsearch_template_errors_total{output="es2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(s); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// the counters are read at each scrape
	if err := s.Write(context.Background(), testEvents(201, 10)); err != nil {
		t.Fatal(err)
	}
	const indexed = `
# HELP logpacker_elasticsearch_indexed_total Events the Elasticsearch output stored (201 to a bulk create).
# TYPE logpacker_elasticsearch_indexed_total counter
logpacker_elasticsearch_indexed_total{output="es"} 208
logpacker_elasticsearch_indexed_total{output="es2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(indexed), "logpacker_elasticsearch_indexed_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(s, "logpacker_elasticsearch_indexed_total"); n != 1 {
		t.Errorf("%d indexed series for one output", n)
	}
}
