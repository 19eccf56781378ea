package syslog

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are one listener's counters. NewMetrics registers them with the
// label listener=<name> so every listener is visible on its own (vector#19395).
type Metrics struct {
	Received    prometheus.Counter // messages read (events produced)
	Parsed      prometheus.Counter // messages that parsed cleanly
	ParseErrors prometheus.Counter // kept raw with parse_error set
	Truncated   prometheus.Counter // longer than max_message_size: truncated once
	Dropped     prometheus.Counter // read but not stored: the WAL refused the batch for good (closed at shutdown, too large)
	Empty       prometheus.Counter // empty frames skipped
	Bytes       prometheus.Counter // bytes read from the network
	Conns       prometheus.Gauge   // open stream connections
	ConnsTotal  prometheus.Counter // accepted stream connections
	Rejected    prometheus.Counter // connections refused (max_connections, TLS handshake failures)
	EmitRetries prometheus.Counter // batches the WAL failed (disk full, I/O error), emitted again
	Stalled     prometheus.Gauge   // readers not reading: the WAL has not taken their batch (see stall.go)
	Stalls      prometheus.Counter // times the listener went from reading to stalled

	stall stallState // shared by the listener's readers (stall.go)

	mu      sync.Mutex
	inodes  map[uint64]uint64 // UDP socket inode → its kernel drop count when last read (kept after the socket closed: a counter never goes down)
	kdrops  *prometheus.Desc
	udpName string
}

// MetricVecs holds the shared vectors; Listener(name) curries them.
type MetricVecs struct {
	received, parsed, parseErrors, truncated, dropped, empty, bytes, connsTotal, rejected *prometheus.CounterVec
	emitRetries, stalls                                                                   *prometheus.CounterVec
	conns, stalled                                                                        *prometheus.GaugeVec
	reg                                                                                   prometheus.Registerer
}

// NewMetricVecs registers the per-listener metric families with reg.
func NewMetricVecs(reg prometheus.Registerer) *MetricVecs {
	cv := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "logpacker", Subsystem: "listener", Name: name, Help: help}, []string{"listener"})
		reg.MustRegister(v)
		return v
	}
	gv := func(name, help string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "logpacker", Subsystem: "listener", Name: name, Help: help}, []string{"listener"})
		reg.MustRegister(v)
		return v
	}
	return &MetricVecs{
		received:    cv("received_total", "Messages received (one event each)."),
		parsed:      cv("parsed_total", "Messages that parsed without error."),
		parseErrors: cv("parse_errors_total", "Messages that did not parse; kept raw with parse_error set."),
		truncated:   cv("truncated_total", "Messages longer than max_message_size, truncated once."),
		dropped:     cv("dropped_total", "Messages read but not stored: the WAL refused their batch for good (closed while shutting down, or larger than a quarter of max_size)."),
		empty:       cv("empty_frames_total", "Empty frames or datagrams skipped."),
		bytes:       cv("bytes_total", "Bytes read from clients."),
		connsTotal:  cv("connections_total", "Stream connections accepted."),
		rejected:    cv("rejected_connections_total", "Stream connections refused or failed in the TLS handshake."),
		emitRetries: cv("emit_retries_total", "Batches the WAL failed (disk full, I/O error) and that were emitted again, with backoff."),
		stalls:      cv("stalls_total", "Times the listener's readers stopped reading because the WAL did not take their batches (each logged)."),
		conns:       gv("connections", "Open stream connections."),
		stalled: gv("stalled_readers", "Readers (stream connections, UDP sockets) not reading now: the WAL has not taken their batch for "+
			"1 s or failed it (TCP/TLS senders are back-pressured; UDP datagrams beyond the socket buffer are dropped by the kernel, counted)."),
		reg: reg,
	}
}

// Listener returns the metrics of one listener.
func (v *MetricVecs) Listener(name string) *Metrics {
	m := &Metrics{
		Received: v.received.WithLabelValues(name), Parsed: v.parsed.WithLabelValues(name),
		ParseErrors: v.parseErrors.WithLabelValues(name), Truncated: v.truncated.WithLabelValues(name),
		Dropped: v.dropped.WithLabelValues(name), Empty: v.empty.WithLabelValues(name),
		Bytes: v.bytes.WithLabelValues(name), Conns: v.conns.WithLabelValues(name),
		ConnsTotal: v.connsTotal.WithLabelValues(name), Rejected: v.rejected.WithLabelValues(name),
		EmitRetries: v.emitRetries.WithLabelValues(name), Stalled: v.stalled.WithLabelValues(name),
		Stalls:  v.stalls.WithLabelValues(name),
		udpName: name,
	}
	return m
}

// RegisterKernelDrops exports the kernel's receive-buffer drop counter for
// this listener's UDP sockets (the "drops" column of /proc/net/udp{,6}, which
// counts exactly the datagrams the kernel discarded because the socket's
// receive buffer was full — the loss nobody sees otherwise).
func (v *MetricVecs) RegisterKernelDrops(m *Metrics) {
	m.kdrops = prometheus.NewDesc("logpacker_listener_kernel_drops_total",
		"Datagrams the kernel dropped for this listener's sockets (receive buffer full).", nil,
		prometheus.Labels{"listener": m.udpName})
	v.reg.MustRegister(m)
}

// Describe implements prometheus.Collector for the kernel drop counter.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.kdrops }

// Collect implements prometheus.Collector for the kernel drop counter.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.kdrops, prometheus.CounterValue, float64(m.KernelDrops()))
}

func (m *Metrics) addInode(ino uint64) {
	m.mu.Lock()
	if m.inodes == nil {
		m.inodes = map[uint64]uint64{}
	}
	m.inodes[ino] = 0
	m.mu.Unlock()
}

// KernelDrops sums the kernel's drop counter over this listener's UDP
// sockets: the "drops" column of /proc/net/udp{,6} (sk_drops: the receive
// buffer was full, or the kernel's UDP memory limit was reached). A socket
// that was closed keeps the count it had when last read.
func (m *Metrics) KernelDrops() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.inodes) == 0 {
		return 0
	}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		procUDPDrops(f, m.inodes)
	}
	var total uint64
	for _, d := range m.inodes {
		total += d
	}
	return total
}

// procUDPDrops reads one /proc/net/udp-format file (columns: sl local rem st
// tx:rx tr:when retrnsmt uid timeout inode ref pointer drops) and raises the
// count of each socket in inodes to what the file says.
func procUDPDrops(path string, inodes map[uint64]uint64) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 13 {
			continue
		}
		ino, err := strconv.ParseUint(fs[9], 10, 64)
		if err != nil {
			continue
		}
		last, ok := inodes[ino]
		if !ok {
			continue
		}
		if d, err := strconv.ParseUint(fs[len(fs)-1], 10, 64); err == nil && d > last {
			inodes[ino] = d
		}
	}
}

func socketInode(fd uintptr) (uint64, error) {
	link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return 0, err
	}
	var ino uint64
	if _, err := fmt.Sscanf(link, "socket:[%d]", &ino); err != nil {
		return 0, fmt.Errorf("fd %d is %q, not a socket", fd, link)
	}
	return ino, nil
}
