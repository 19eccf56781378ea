package appliance_test

import (
	"net"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestElasticMetrics: an elasticsearch output puts its sink's counters on
// /metrics, labelled with the output's name (their values are checked
// against what happened in TestElasticKillIntegration).
func TestElasticMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() // nobody answers: the counters stay 0
	ln.Close()
	n, _ := testNode(t, loopbackListeners+"[output.file]\npath =\n[output.search]\ntype = elasticsearch\nurls = "+url+"\n")
	rec := httptest.NewRecorder()
	n.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, name := range []string{"indexed", "duplicates", "retried_items", "dead_lettered", "template_errors"} {
		series := `logpacker_elasticsearch_` + name + `_total{output="search"} 0`
		if !strings.Contains(rec.Body.String(), "\n"+series+"\n") {
			t.Errorf("/metrics has no %s", series)
		}
	}
}
