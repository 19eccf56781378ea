package relay

import (
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the server's Stats as Prometheus counters,
// logpacker_relay_<name>_total (links, refused, batches, events, bad_frames,
// bad_batches, duplicates, wire_bytes, record_bytes, column_batches).
func (s *Server) Collector() prometheus.Collector {
	st := &s.Stats
	return newCounters("logpacker_relay_", func(name string) string {
		return "node links (relay input): " + strings.ReplaceAll(name, "_", " ")
	}, []statCounter{
		{"links", &st.Links}, {"refused", &st.Refused}, {"batches", &st.Batches}, {"events", &st.Events},
		{"bad_frames", &st.BadFrames}, {"bad_batches", &st.BadBatches}, {"duplicates", &st.Duplicates},
		{"wire_bytes", &st.WireBytes}, {"record_bytes", &st.RecordBytes}, {"column_batches", &st.ColumnBatches},
	})
}

// Collector exports the client's Stats as Prometheus counters,
// logpacker_relay_client_<name>_total (dials, dial_failures, moves).
func (c *Client) Collector() prometheus.Collector {
	st := &c.Stats
	return newCounters("logpacker_relay_client_", func(name string) string { return "relay output: " + name },
		[]statCounter{{"dials", &st.Dials}, {"dial_failures", &st.DialFailures}, {"moves", &st.Moves}})
}

// statCounter is one field of a Stats struct and its metric's name part.
type statCounter struct {
	name string
	v    *atomic.Uint64
}

// counters is a prometheus.Collector that reads atomic counters at each
// scrape.
type counters struct {
	descs []*prometheus.Desc
	vs    []*atomic.Uint64
}

func newCounters(prefix string, help func(name string) string, cs []statCounter) *counters {
	out := &counters{}
	for _, c := range cs {
		out.descs = append(out.descs, prometheus.NewDesc(prefix+c.name+"_total", help(c.name), nil, nil))
		out.vs = append(out.vs, c.v)
	}
	return out
}

func (c *counters) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *counters) Collect(ch chan<- prometheus.Metric) {
	for i, d := range c.descs {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(c.vs[i].Load()))
	}
}
