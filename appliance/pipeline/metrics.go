package pipeline

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/wal"
)

// ingestMetrics are the ingest path's: logpacker_ingest_*.
type ingestMetrics struct {
	ingested      prometheus.Counter
	ingestErrors  prometheus.Counter
	ingestLatency prometheus.Histogram
}

type outputMetrics struct {
	delivered, retries, permanentErrors, decodeErrors, filtered prometheus.Counter
	committed                                                   prometheus.Gauge
}

func newIngestMetrics(reg prometheus.Registerer) *ingestMetrics {
	m := &ingestMetrics{
		ingested: prometheus.NewCounter(prometheus.CounterOpts{Name: "logpacker_ingest_events_total",
			Help: "Events made durable in the WAL."}),
		ingestErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "logpacker_ingest_errors_total",
			Help: "Batches the WAL refused (closed, full and cancelled, disk error)."}),
		ingestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "logpacker_ingest_seconds",
			Help: "Time from handing a batch to the WAL until it is durable.", Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}),
	}
	reg.MustRegister(m.ingested, m.ingestErrors, m.ingestLatency)
	return m
}

// FsyncObserver registers logpacker_wal_fsync_seconds and returns what
// wal.Options.OnFsync should call.
func FsyncObserver(reg prometheus.Registerer) func(time.Duration) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "logpacker_wal_fsync_seconds",
		Help: "WAL fsync latency.", Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)})
	reg.MustRegister(h)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

func newOutputMetrics(reg prometheus.Registerer, name string) *outputMetrics {
	l := prometheus.Labels{"output": name}
	c := func(n, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "logpacker_output_" + n, Help: help, ConstLabels: l})
	}
	m := &outputMetrics{
		delivered:       c("delivered_total", "Events the output confirmed."),
		retries:         c("retries_total", "Failed writes that will be retried."),
		permanentErrors: c("permanent_errors_total", "Batches rejected permanently and dead-lettered."),
		decodeErrors:    c("decode_errors_total", "WAL records that did not decode (dead-lettered)."),
		filtered:        c("filtered_total", "Events the output's match keys did not select (passed over; the cursor moves past them)."),
		committed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logpacker_output_committed_index",
			Help: "WAL index up to which the output's cursor is committed.", ConstLabels: l}),
	}
	// An output opened again (a reload changed its settings) goes on with
	// the series it had: reuse what is registered under its label.
	reuse := func(c prometheus.Counter) prometheus.Counter { return registerOrReuse(reg, c) }
	m.delivered, m.retries, m.permanentErrors = reuse(m.delivered), reuse(m.retries), reuse(m.permanentErrors)
	m.decodeErrors, m.filtered = reuse(m.decodeErrors), reuse(m.filtered)
	m.committed = registerOrReuse(reg, m.committed)
	return m
}

// registerOrReuse registers c, or returns the collector already registered
// with c's description. Any other error is a bug: it panics, as MustRegister.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old
		}
	}
	panic(err)
}

// unregister removes the output's series from reg (the output was removed).
func (m *outputMetrics) unregister(reg prometheus.Registerer) {
	for _, c := range []prometheus.Collector{m.delivered, m.retries, m.permanentErrors, m.decodeErrors, m.filtered, m.committed} {
		reg.Unregister(c)
	}
}

// NewWALCollector exports the WAL's state at scrape time: logpacker_wal_*
// (size, segments, first and last index, dropped, corrupt, repairs, whether
// appends wait or fail and why, free disk space and min_free) and each
// cursor's lag.
func NewWALCollector(w *wal.Log) prometheus.Collector { return newWALCollector(w) }

// walCollector exports the WAL's state at scrape time.
type walCollector struct {
	w                                                       *wal.Log
	bytes, segments, first, last, dropped, corrupt, repairs *prometheus.Desc
	lag, blocked, blocks, free, minFree                     *prometheus.Desc
}

func newWALCollector(w *wal.Log) *walCollector {
	d := func(n, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("logpacker_wal_"+n, help, labels, nil)
	}
	return &walCollector{w: w,
		bytes:    d("size_bytes", "Bytes of WAL segments on disk."),
		segments: d("segments", "WAL segment files."),
		first:    d("first_index", "Oldest retained record index."),
		last:     d("last_index", "Newest record index."),
		dropped:  d("dropped_records_total", "Records deleted unread because the WAL was full (when_full = drop_oldest)."),
		corrupt:  d("corrupt_records_total", "Records lost to corruption (quarantined, reported)."),
		repairs:  d("repairs_total", "Torn or zero-filled tails repaired on open."),
		lag:      d("cursor_lag_records", "Records between a cursor's committed position and the newest record.", "cursor"),
		blocked: d("append_blocked", "1 while appends wait or fail for this cause: min_free (free disk space below [wal] min_free), "+
			"max_size (when_full = block), io_error (the last write or fsync failed); /readyz says why.", "cause"),
		blocks:  d("append_blocks_total", "Times appends started to wait or fail, by cause.", "cause"),
		free:    d("fs_free_bytes", "Free space on the WAL's filesystem (what unprivileged writers may use)."),
		minFree: d("min_free_bytes", "Free space the WAL leaves on its filesystem ([wal] min_free resolved); 0: none."),
	}
}

func (c *walCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.bytes, c.segments, c.first, c.last, c.dropped, c.corrupt, c.repairs, c.lag,
		c.blocked, c.blocks, c.free, c.minFree} {
		ch <- d
	}
}

func (c *walCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.Stats()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	k := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	g(c.bytes, float64(s.Bytes))
	g(c.segments, float64(s.Segments))
	g(c.first, float64(s.FirstIndex))
	g(c.last, float64(s.LastIndex))
	k(c.dropped, s.DroppedRecords)
	k(c.corrupt, s.CorruptRecords)
	k(c.repairs, s.Repairs)
	for _, cause := range wal.BlockedCauses {
		v := 0.0
		if s.Blocked == cause {
			v = 1
		}
		g(c.blocked, v, cause)
		ch <- prometheus.MustNewConstMetric(c.blocks, prometheus.CounterValue, float64(s.Blocks[cause]), cause)
	}
	if s.FreeBytes >= 0 {
		g(c.free, float64(s.FreeBytes))
	}
	g(c.minFree, float64(s.MinFree))
	for name, committed := range s.Cursors {
		lag := uint64(0)
		if s.LastIndex > committed {
			lag = s.LastIndex - committed
		}
		g(c.lag, float64(lag), name)
	}
}
