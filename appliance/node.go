package appliance

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"logpacker/appliance/alert"
	"logpacker/appliance/api"
	"logpacker/appliance/match"
	"logpacker/appliance/pipeline"
	"logpacker/appliance/sink/file"
	"logpacker/appliance/source/httpin"
	"logpacker/appliance/source/journal"
	"logpacker/appliance/source/relp"
	ssyslog "logpacker/appliance/source/syslog"
	"logpacker/appliance/store"
	"logpacker/discovery"
	"logpacker/discovery/cluster"
	"logpacker/protocol"
	"logpacker/relay"
	"logpacker/systemd"
	"logpacker/wal"
	"logpacker/wal/durable"
)

// The file output encodes the next batch while the last is written.
var _ pipeline.PreparedSink = (*file.Writer)(nil)

// Node is one logpacker process: WAL, inputs, outputs and the HTTP API,
// wired from a Config.
type Node struct {
	cfg    *Config
	log    *slog.Logger
	id     string // [node] id: the node, in certificates, the cluster, status and logs
	origin string // the origin of the event IDs it gives: id and the WAL's epoch (protocol.Origin)

	wal     *wal.Log
	ingest  *pipeline.Ingest
	store   *store.Store // the first store output: the search API's
	hub     *api.Hub     // events stored, to the API's streams
	reg     *prometheus.Registry
	closers []func() error // closed after inputs stopped, before the WAL
	httpSrv *http.Server
	ingestH *api.Ingest // the HTTP ingest routes ([ingest]); nil: not served

	// mu guards what a reload changes: the listeners and outputs running.
	mu       sync.Mutex
	sources  []*namedSource
	outputs  []*output
	httpLn   net.Listener
	vecs     *ssyslog.MetricVecs         // the listeners' metric families
	lmetrics map[string]*ssyslog.Metrics // each listener's, kept across a rebind
	reloaded atomic.Pointer[reloadReport]

	up          discovery.Upstreams // [relay] upstream; nil on a root
	relayClient *relay.Client
	cluster     *cluster.Cluster // [cluster]; nil when not a member
	alerter     *alert.Alerter   // notify.ini's rules and outbox (alerting.go)

	ready    atomic.Bool
	ictx     context.Context // inputs run under it (set by Start)
	octx     context.Context // outputs run under it (set by Start)
	cancelIn context.CancelFunc
	cancelOu context.CancelFunc
	inWG     sync.WaitGroup
	outWG    sync.WaitGroup
	fatal    chan error

	// inherited are the sockets systemd passed, by [listen] key (systemd.go):
	// a listener with one takes it instead of binding its address.
	inherited map[string]systemd.Socket
}

// namedSource is a running input: a [listen] key's listener, or a
// [source.NAME] (named "source.NAME", no address).
type namedSource struct {
	name   string
	src    pipeline.Source
	addr   net.Addr
	coll   prometheus.Collector // its own metrics (relp, relay), or nil
	cancel context.CancelFunc   // stops it (set by Start)
	stop   func()               // stops it after its current emit (file sources), or nil
	done   chan struct{}        // closed when Run returned (set by Start)
}

// output is a running output: its consumer, and what the node keeps to
// stop it (a reload) or close it.
type output struct {
	*pipeline.Consumer
	cfg    *OutputConfig        // its section; nil: the relay output
	coll   prometheus.Collector // the sink's own metrics, or nil
	cancel context.CancelFunc   // ends its Run (set by Start)
	done   chan struct{}        // closed when Run returned
}

// New opens the WAL, binds every listener and opens every output, so that
// any configuration or environment problem is reported before the node
// starts serving. Nothing runs until Start.
func New(cfg *Config, log *slog.Logger) (*Node, error) { return newNode(cfg, log, nil) }

// newNode is New, with the sockets systemd passed (NewActivated).
func newNode(cfg *Config, log *slog.Logger, socks []systemd.Socket) (n *Node, err error) {
	if log == nil {
		log = slog.Default()
	}
	n = &Node{cfg: cfg, log: log, reg: prometheus.NewRegistry(), fatal: make(chan error, 8), hub: api.NewHub(),
		lmetrics: map[string]*ssyslog.Metrics{}}
	node := n // `return nil, err` sets n to nil before the deferred call runs
	if n.inherited, err = inheritedListeners(socks); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			node.closeAll()
		}
	}()
	if err := os.MkdirAll(cfg.Node.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("node: data_dir: %w", err)
	}
	if n.id, err = nodeID(cfg); err != nil {
		return nil, err
	}
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.wal, err = wal.Open(wal.Options{
		Dir:           filepath.Join(cfg.Node.DataDir, "wal"),
		Fsync:         cfg.WAL.Fsync,
		FsyncInterval: cfg.WAL.FsyncInterval,
		SegmentSize:   cfg.WAL.SegmentSize,
		MaxSize:       cfg.WAL.MaxSize,
		WhenFull:      cfg.WAL.WhenFull,
		MinFree:       cfg.WAL.MinFree,
		Logger:        log.With("component", "wal"),
		OnFsync:       pipeline.FsyncObserver(n.reg),
	})
	if err != nil {
		return nil, fmt.Errorf("node: open wal: %w", err)
	}
	n.origin = protocol.Origin(n.id, n.wal.Epoch())
	log.Info("node: events accepted here get IDs ORIGIN:INDEX", "origin", n.origin, "wal_epoch", n.wal.Epoch())
	n.reg.MustRegister(pipeline.NewWALCollector(n.wal))
	n.ingest = pipeline.NewIngest(n.wal, n.reg)
	if err := n.openOutputs(); err != nil {
		return nil, err
	}
	if err := n.bindSources(); err != nil {
		return nil, err
	}
	if err := n.openSources(); err != nil {
		return nil, err
	}
	if n.cluster == nil {
		if err := n.openCluster(""); err != nil { // [cluster] relay_addr without [listen] relay
			return nil, err
		}
	}
	if n.ingestH, err = n.ingestRoutes(); err != nil {
		return nil, err
	}
	if cfg.Listen.HTTP != "" {
		if n.httpLn, err = net.Listen("tcp", cfg.Listen.HTTP); err != nil {
			return nil, fmt.Errorf("node: listen http %s: %w", cfg.Listen.HTTP, err)
		}
	}
	return n, nil
}

// nodeID is [node] id, or one generated on first start and kept in data_dir.
func nodeID(cfg *Config) (string, error) {
	if cfg.Node.ID != "" {
		return cfg.Node.ID, nil
	}
	p := filepath.Join(cfg.Node.DataDir, "node_id")
	if b, err := os.ReadFile(p); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	}
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, host)
	var rnd [4]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	if host != "" {
		id = host + "-" + id
	}
	if err := durable.WriteFileAtomic(p, []byte(id+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("node: write node_id: %w", err)
	}
	return id, nil
}

// openRelayOutput makes the relay client the output "relay": every event
// [relay]'s match keys select goes to the parent found through [relay]
// upstream.
func (n *Node) openRelayOutput() error {
	tc, err := n.relayTLS(false)
	if err != nil {
		return err
	}
	targets, err := n.upstreams()
	if err != nil {
		return err
	}
	c, err := relay.NewClient(relay.ClientOptions{Targets: targets, Balance: n.balance(), TLS: tc, NodeID: n.id, Origin: n.origin,
		Compress: n.cfg.Relay.Compress, Window: n.cfg.Relay.Window, Logger: n.log})
	if err != nil {
		return fmt.Errorf("node: relay: %w", err)
	}
	n.registerClientStats(c)
	// a parent that is down is retried (and the next one tried) within 2 s
	out, err := n.newOutput("relay", &relayOutput{Client: c}, n.cfg.Relay.BatchSize, &n.cfg.Relay.Match, 0, 2*time.Second)
	if err != nil {
		c.Close()
		return err
	}
	n.outputs = append(n.outputs, out)
	return nil
}

// newOutput gives the output called kind its WAL cursor (output.<kind>),
// read from its last commit, and its consumer. m selects the events it gets
// (nil or empty: all); linger is its flush_interval; backoffHi caps its
// retry delay (0: 30 s).
func (n *Node) newOutput(kind string, s pipeline.Sink, batch int, m *match.Matcher, linger, backoffHi time.Duration) (*output, error) {
	name := "output." + kind
	cur, err := n.wal.OpenCursor(name)
	if err != nil {
		return nil, fmt.Errorf("node: %s: open cursor: %w", name, err)
	}
	cur.Rewind() // a consumer stopped by a reload may have read ahead of its commit
	if !m.All() {
		n.log.Info("output selects events", "output", name, "match", m.String())
	}
	return &output{Consumer: pipeline.NewConsumer(pipeline.ConsumerOptions{
		Name: name, Kind: kind, NodeID: n.origin, Cursor: cur, Sink: s, Match: m, Batch: batch, Linger: linger,
		DeadPath:  filepath.Join(n.cfg.Node.DataDir, "deadletter-"+kind+".jsonl"),
		BackoffHi: backoffHi, Logger: n.log, Metrics: n.reg,
	})}, nil
}

// listenerNames are the [listen] keys that are inputs, in the order they
// are bound.
var listenerNames = []string{"syslog_udp", "syslog_tcp", "syslog_tls", "relp", "relay", "syslog_unix"}

// bindSources binds every input [listen] sets.
func (n *Node) bindSources() error {
	n.vecs = ssyslog.NewMetricVecs(n.reg)
	for _, name := range listenerNames {
		a := *n.cfg.listenAddr(name)
		if _, ok := n.inherited[name]; a == "" && !ok {
			continue
		}
		bind := n.bindListener
		if name == "relay" {
			bind = n.bindRelay
		}
		s, err := bind(name, a)
		if err != nil {
			return err
		}
		n.addSource(s)
	}
	return nil
}

// addSource registers a bound input's own metrics and adds it to the
// inputs (Start runs them; after Start, startSource).
func (n *Node) addSource(s *namedSource) {
	if s.coll != nil {
		n.reg.MustRegister(s.coll)
	}
	n.sources = append(n.sources, s)
}

// listenerMetrics are the metrics of the listener called name: the same
// across a rebind, so its series go on.
func (n *Node) listenerMetrics(name string) *ssyslog.Metrics {
	m := n.lmetrics[name]
	if m == nil {
		m = n.vecs.Listener(name)
		if name == "syslog_udp" {
			n.vecs.RegisterKernelDrops(m)
		}
		n.lmetrics[name] = m
	}
	return m
}

// bindListener binds the syslog or RELP listener called name (a [listen]
// key other than relay and http) at addr, with the running [syslog], [tls]
// and [relp] settings.
func (n *Node) bindListener(name, addr string) (*namedSource, error) {
	c := n.cfg
	cm := ssyslog.Common{Name: name, Parse: c.Syslog.Parse(), BatchSize: c.Syslog.BatchSize,
		Metrics: n.listenerMetrics(name), Logger: n.log}
	pc, ln, err := n.inheritedSocket(name, addr)
	if err != nil {
		return nil, err
	}
	stream := func(tc *tls.Config) (*namedSource, error) {
		s, err := ssyslog.ListenStream(ssyslog.StreamOptions{Common: cm, Addr: addr, TLS: tc,
			MaxConns: c.Syslog.MaxConnections, IdleTimeout: c.Syslog.IdleTimeout, Listener: ln})
		if err != nil {
			return nil, err
		}
		return &namedSource{name: name, src: s, addr: s.Addr()}, nil
	}
	switch name {
	case "syslog_udp", "syslog_unix":
		o := ssyslog.DgramOptions{Common: cm, Network: "udp", Addr: addr, ReadBuffer: c.Syslog.UDPReadBuffer,
			Readers: c.Syslog.UDPReaders, Conn: pc}
		if name == "syslog_unix" {
			o.Network, o.Readers = "unixgram", 0
		}
		d, err := ssyslog.ListenDgram(o)
		if err != nil {
			return nil, err
		}
		return &namedSource{name: name, src: d, addr: d.Addr()}, nil
	case "syslog_tcp":
		return stream(nil)
	case "syslog_tls":
		ts := c.TLS // relative paths are under data_dir, as [relay]'s and the outputs' are
		ts.CertFile, ts.KeyFile, ts.ClientCAFile = c.DataPath(ts.CertFile), c.DataPath(ts.KeyFile), c.DataPath(ts.ClientCAFile)
		tc, err := ts.ServerConfig(n.log)
		if err != nil {
			if ln != nil {
				ln.Close()
			}
			return nil, err
		}
		return stream(tc)
	case "relp":
		srv, err := relp.Listen(relp.Options{Name: "relp", Addr: addr, Parse: cm.Parse, MaxData: c.RELP.MaxDataSize,
			BatchSize: cm.BatchSize, MaxConns: c.Syslog.MaxConnections, IdleTimeout: c.Syslog.IdleTimeout,
			Metrics: cm.Metrics, Logger: n.log, Listener: ln})
		if err != nil {
			return nil, err
		}
		return &namedSource{name: name, src: srv, addr: srv.Addr(), coll: srv}, nil
	}
	return nil, fmt.Errorf("node: no listener %q", name)
}

// bindRelay binds the relay input (node links) at addr, with its set of
// stored event IDs, and creates the cluster membership that publishes its
// address.
func (n *Node) bindRelay(_, addr string) (*namedSource, error) {
	tc, err := n.relayTLS(true)
	if err != nil {
		return nil, err
	}
	seen, err := n.openSeen()
	if err != nil {
		return nil, err
	}
	so := relay.ServerOptions{Addr: addr, TLS: tc, NodeID: n.id, Seen: seen,
		EmitRecords: n.ingest.EmitRecords, Logger: n.log}
	if n.cfg.Cluster.Bind != "" {
		so.Members = n.members
	}
	srv, err := relay.Listen(so)
	if err != nil {
		seen.Close()
		return nil, err
	}
	if err := n.openCluster(srv.Addr().String()); err != nil {
		srv.Close()
		seen.Close()
		return nil, err
	}
	n.closers = append(n.closers, seen.Close)
	return &namedSource{name: "relay", src: srv, addr: srv.Addr(), coll: srv.Collector()}, nil
}

// openSeen opens the relay input's set of stored event IDs, with the IDs of
// the newest WAL records re-added (relay.RecoverSeen).
func (n *Node) openSeen() (*relay.Seen, error) {
	seen, added, err := relay.RecoverSeen(filepath.Join(n.cfg.Node.DataDir, "relay-seen"),
		func(fn func(uint64, []byte) error) error { return n.wal.ScanRecent(2, fn) })
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n.log.Info("relay: stored event IDs loaded", "from_wal", added)
	return seen, nil
}

// relayTLS is the mutual-TLS configuration of node links (relay.LoadTLS),
// from [relay]'s files.
func (n *Node) relayTLS(server bool) (*tls.Config, error) {
	r := n.cfg.Relay
	tc, err := relay.LoadTLS(relay.TLSFiles{CA: n.cfg.DataPath(r.CA), Cert: n.cfg.DataPath(r.Cert),
		Key: n.cfg.DataPath(r.Key)}, n.id, server)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return tc, nil
}

// ID is the node's ID ([node] id, or the one generated and kept in data_dir).
func (n *Node) ID() string { return n.id }

// Origin is the origin part of the event IDs the node gives: its ID and its
// WAL's epoch (protocol.Origin), e.g. "leaf1.3f9a2c01".
func (n *Node) Origin() string { return n.origin }

// Emit is the ingest path (what every source gets as its emit function).
func (n *Node) Emit() pipeline.EmitFunc { return n.ingest.Emit }

// WAL exposes the log (tests, tools).
func (n *Node) WAL() *wal.Log { return n.wal }

// Store is the first type = store output's store (what the search API
// answers from), or nil when there is none.
func (n *Node) Store() *store.Store { return n.store }

// Addr returns the bound address of a listener ("syslog_tcp", "http", …), or nil.
func (n *Node) Addr(name string) net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name == "http" && n.httpLn != nil {
		return n.httpLn.Addr()
	}
	for _, s := range n.sources {
		if s.name == name {
			return s.addr
		}
	}
	return nil
}

// Start runs outputs first, then inputs, then the HTTP API.
func (n *Node) Start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.octx, n.cancelOu = context.WithCancel(context.Background())
	for _, o := range n.outputs {
		n.startOutput(o)
	}
	n.ictx, n.cancelIn = context.WithCancel(context.Background())
	if n.cluster != nil {
		if err := n.cluster.Start(n.ictx); err != nil {
			n.log.Error("cluster: start", "err", err)
		}
	}
	for _, s := range n.sources {
		n.startSource(s)
	}
	if n.httpLn != nil {
		n.serveHTTP(n.httpLn)
	}
	n.ready.Store(true)
	n.log.Info("node started", "id", n.id, "data_dir", n.cfg.Node.DataDir, "fsync", n.cfg.WAL.Fsync)
}

// startOutput runs o's consumer (Start, or a reload after Start).
func (n *Node) startOutput(o *output) {
	ctx, cancel := context.WithCancel(n.octx)
	o.cancel, o.done = cancel, make(chan struct{})
	n.outWG.Add(1)
	go func() {
		defer n.outWG.Done()
		defer close(o.done)
		if err := o.Run(ctx); err != nil {
			n.log.Error("output stopped", "output", o.Name(), "err", err)
			n.fatal <- err
		}
	}()
}

// startSource runs an input (Start, or a reload after Start).
func (n *Node) startSource(s *namedSource) {
	ctx, cancel := context.WithCancel(n.ictx)
	s.cancel, s.done = cancel, make(chan struct{})
	n.inWG.Add(1)
	go func() {
		defer n.inWG.Done()
		defer close(s.done)
		if err := s.src.Run(ctx, n.ingest.Emit); err != nil {
			n.log.Error("input stopped", "input", s.name, "err", err)
			n.fatal <- err
		}
	}()
	if s.addr == nil {
		n.log.Info("input started", "input", s.name)
		return
	}
	n.log.Info("listening", "input", s.name, "addr", s.addr.String())
}

// serveHTTP serves the API on ln (Start, or a reload that moved [listen] http).
func (n *Node) serveHTTP(ln net.Listener) {
	if n.httpSrv == nil {
		n.httpSrv = &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second}
	}
	go n.httpSrv.Serve(ln)
	n.log.Info("listening", "input", "http", "addr", ln.Addr().String())
}

// Fatal reports errors that stopped an input or output.
func (n *Node) Fatal() <-chan error { return n.fatal }

// Handler serves every route of the node's HTTP listener (api.Handler
// lists them and applies [api] token).
func (n *Node) Handler() http.Handler {
	o := api.Options{Hub: n.hub, Token: n.cfg.API.Token, Metrics: n.reg, Logger: n.log,
		Ready: n.readiness, Status: func(r *http.Request) any { return n.status(r) }, Cluster: n.clusterView}
	if n.store != nil {
		o.Store = n.store
	}
	o.Ingest = n.ingestH
	return api.Handler(o)
}

// ingestRoutes makes the HTTP ingest handlers of [ingest] (JSON, browsers,
// Sentry envelopes, journald uploads), storing through the ingest path.
// Without tokens they are served only on a loopback [listen] http.
func (n *Node) ingestRoutes() (*api.Ingest, error) {
	c := n.cfg
	if c.Listen.HTTP == "" {
		return nil, nil
	}
	if len(c.Ingest.Tokens) == 0 && !loopbackAddr(c.Listen.HTTP) {
		n.log.Warn("http ingest is off: [listen] http is not on loopback and [ingest] tokens is empty", "http", c.Listen.HTTP)
		return nil, nil
	}
	m := httpin.NewMetrics(n.reg)
	srv := httpin.New(c.Ingest, n.ingest.Emit, m, n.log.With("component", "httpin"))
	in := &api.Ingest{JSON: srv.Ingest(), Envelope: srv.Envelope(), Script: srv.Script()}
	if c.Ingest.Journal {
		seen, err := journal.OpenSeen(filepath.Join(c.Node.DataDir, "journal-seen.json"))
		if err != nil {
			return nil, err
		}
		dups := prometheus.NewCounter(prometheus.CounterOpts{Name: "logpacker_journal_duplicates_total",
			Help: "Journal entries uploaded again (the entry at journal-upload's saved cursor, a resent upload) and skipped: already stored."})
		n.reg.MustRegister(dups)
		in.Journal = srv.Guard("journal", journal.Handler(journal.Options{Emit: n.ingest.Emit, MaxEntry: c.Ingest.MaxEventSize,
			Source: httpin.SourceFrom, Events: m.Events, Seen: seen, Duplicates: dups, Logger: n.log.With("component", "journal")}))
	}
	return in, nil
}

// readiness is /readyz: ready once started, until shutdown begins, and
// while the WAL takes appends (not below [wal] min_free, not held at
// max_size, no failing writes: the reason says which).
func (n *Node) readiness() (bool, string) {
	if !n.ready.Load() {
		return false, "not started, or shutting down"
	}
	if cause, why := n.wal.AppendState(); cause != "" {
		return false, "wal cannot append (" + cause + "): " + why
	}
	return true, ""
}

// Reopen reopens output files (SIGHUP).
func (n *Node) Reopen() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.outputs {
		if r, ok := c.Sink().(pipeline.Reopener); ok {
			if err := r.Reopen(); err != nil {
				n.log.Error("reopen failed", "output", c.Name(), "err", err)
			} else {
				n.log.Info("reopened", "output", c.Name())
			}
		}
	}
}

// Shutdown drains: stop reading (inputs emit what they already read), then
// let outputs finish their current batch, then close the WAL. If ctx ends
// first, the WAL is closed under the remaining work (whatever was not
// acknowledged is not lost: it is replayed or re-sent after restart).
func (n *Node) Shutdown(ctx context.Context) error {
	n.ready.Store(false)
	n.leaveCluster(ctx)
	n.mu.Lock() // no reload from here on
	defer n.mu.Unlock()
	if n.httpSrv != nil {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		n.httpSrv.Shutdown(sctx)
		cancel()
	}
	if n.cancelIn != nil {
		n.cancelIn()
	}
	if !waitCtx(ctx, &n.inWG) {
		n.log.Warn("inputs did not drain in time; closing the WAL under them")
	}
	// Give outputs a moment to deliver what was just ingested, then stop.
	n.drainOutputs(ctx)
	if n.cancelOu != nil {
		n.cancelOu()
	}
	waitCtx(ctx, &n.outWG)
	return n.closeAll()
}

func (n *Node) drainOutputs(ctx context.Context) {
	if len(n.outputs) == 0 || n.cancelOu == nil {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for time.Now().Before(deadline) {
		s := n.wal.Stats()
		done := true
		for _, c := range n.outputs {
			if c.Committed() < s.LastIndex {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeAll closes what New opened (n.mu held, or New failed).
func (n *Node) closeAll() error {
	var errs []error
	if n.cancelIn == nil { // never started: release the bound sockets
		for _, s := range n.sources {
			if c, ok := s.src.(interface{ Close() }); ok {
				c.Close()
			} else if c, ok := s.src.(interface{ Close() error }); ok {
				c.Close()
			}
		}
	}
	if n.httpLn != nil && n.httpSrv == nil {
		n.httpLn.Close()
	}
	for _, c := range n.outputs {
		errs = append(errs, c.Sink().Close())
	}
	for _, c := range n.closers {
		errs = append(errs, c())
	}
	if n.wal != nil {
		errs = append(errs, n.wal.Close())
	}
	return errors.Join(errs...)
}

func waitCtx(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
