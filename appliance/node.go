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

	"logpacker/appliance/api"
	"logpacker/appliance/match"
	"logpacker/appliance/pipeline"
	"logpacker/appliance/sink/file"
	"logpacker/appliance/source/relp"
	ssyslog "logpacker/appliance/source/syslog"
	"logpacker/appliance/store"
	"logpacker/discovery"
	"logpacker/discovery/cluster"
	"logpacker/relay"
	"logpacker/wal"
	"logpacker/wal/durable"
)

// The file output encodes the next batch while the last is written.
var _ pipeline.PreparedSink = (*file.Writer)(nil)

// Node is one logpacker process: WAL, inputs, outputs and the HTTP API,
// wired from a Config.
type Node struct {
	cfg *Config
	log *slog.Logger
	id  string

	wal     *wal.Log
	ingest  *pipeline.Ingest
	store   *store.Store // the first store output: the search API's
	hub     *api.Hub     // events stored, to the API's streams
	reg     *prometheus.Registry
	sources []namedSource
	outputs []*pipeline.Consumer
	closers []func() error // closed after inputs stopped, before the WAL
	httpLn  net.Listener
	httpSrv *http.Server

	up          discovery.Upstreams // [relay] upstream; nil on a root
	relayClient *relay.Client
	cluster     *cluster.Cluster // [cluster]; nil when not a member

	ready    atomic.Bool
	cancelIn context.CancelFunc
	cancelOu context.CancelFunc
	inWG     sync.WaitGroup
	outWG    sync.WaitGroup
	fatal    chan error
}

type namedSource struct {
	name string
	src  pipeline.Source
	addr net.Addr
}

// New opens the WAL, binds every listener and opens every output, so that
// any configuration or environment problem is reported before the node
// starts serving. Nothing runs until Start.
func New(cfg *Config, log *slog.Logger) (n *Node, err error) {
	if log == nil {
		log = slog.Default()
	}
	n = &Node{cfg: cfg, log: log, reg: prometheus.NewRegistry(), fatal: make(chan error, 8), hub: api.NewHub()}
	node := n // `return nil, err` sets n to nil before the deferred call runs
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
	n.reg.MustRegister(pipeline.NewWALCollector(n.wal))
	n.ingest = pipeline.NewIngest(n.wal, n.reg)
	if err := n.openOutputs(); err != nil {
		return nil, err
	}
	if err := n.bindSources(); err != nil {
		return nil, err
	}
	if n.cluster == nil {
		if err := n.openCluster(""); err != nil { // [cluster] relay_addr without [listen] relay
			return nil, err
		}
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
	c, err := relay.NewClient(relay.ClientOptions{Targets: targets, Balance: n.balance(), TLS: tc, NodeID: n.id,
		Compress: n.cfg.Relay.Compress, Window: n.cfg.Relay.Window, Logger: n.log})
	if err != nil {
		return fmt.Errorf("node: relay: %w", err)
	}
	n.registerClientStats(c)
	// a parent that is down is retried (and the next one tried) within 2 s
	if err := n.addOutput("relay", &relayOutput{Client: c}, n.cfg.Relay.BatchSize, &n.cfg.Relay.Match, 0, 2*time.Second); err != nil {
		c.Close()
		return err
	}
	return nil
}

// addOutput gives the output called kind its WAL cursor (output.<kind>) and
// its consumer. m selects the events it gets (nil or empty: all); linger is
// its flush_interval; backoffHi caps its retry delay (0: 30 s).
func (n *Node) addOutput(kind string, s pipeline.Sink, batch int, m *match.Matcher, linger, backoffHi time.Duration) error {
	name := "output." + kind
	cur, err := n.wal.OpenCursor(name)
	if err != nil {
		return fmt.Errorf("node: %s: open cursor: %w", name, err)
	}
	if !m.All() {
		n.log.Info("output selects events", "output", name, "match", m.String())
	}
	n.outputs = append(n.outputs, pipeline.NewConsumer(pipeline.ConsumerOptions{
		Name: name, Kind: kind, NodeID: n.id, Cursor: cur, Sink: s, Match: m, Batch: batch, Linger: linger,
		DeadPath:  filepath.Join(n.cfg.Node.DataDir, "deadletter-"+kind+".jsonl"),
		BackoffHi: backoffHi, Logger: n.log, Metrics: n.reg,
	}))
	return nil
}

func (n *Node) bindSources() error {
	c := n.cfg
	vecs := ssyslog.NewMetricVecs(n.reg)
	common := func(name string) ssyslog.Common {
		return ssyslog.Common{Name: name, Parse: c.Syslog.Parse(), BatchSize: c.Syslog.BatchSize,
			Metrics: vecs.Listener(name), Logger: n.log}
	}
	if a := c.Listen.SyslogUDP; a != "" {
		cm := common("syslog_udp")
		vecs.RegisterKernelDrops(cm.Metrics)
		d, err := ssyslog.ListenDgram(ssyslog.DgramOptions{Common: cm, Network: "udp", Addr: a,
			ReadBuffer: c.Syslog.UDPReadBuffer, Readers: c.Syslog.UDPReaders})
		if err != nil {
			return err
		}
		n.sources = append(n.sources, namedSource{"syslog_udp", d, d.Addr()})
	}
	if a := c.Listen.SyslogTCP; a != "" {
		s, err := ssyslog.ListenStream(ssyslog.StreamOptions{Common: common("syslog_tcp"), Addr: a,
			MaxConns: c.Syslog.MaxConnections, IdleTimeout: c.Syslog.IdleTimeout})
		if err != nil {
			return err
		}
		n.sources = append(n.sources, namedSource{"syslog_tcp", s, s.Addr()})
	}
	if a := c.Listen.SyslogTLS; a != "" {
		tc, err := c.TLS.ServerConfig(n.log)
		if err != nil {
			return err
		}
		s, err := ssyslog.ListenStream(ssyslog.StreamOptions{Common: common("syslog_tls"), Addr: a, TLS: tc,
			MaxConns: c.Syslog.MaxConnections, IdleTimeout: c.Syslog.IdleTimeout})
		if err != nil {
			return err
		}
		n.sources = append(n.sources, namedSource{"syslog_tls", s, s.Addr()})
	}
	if a := c.Listen.RELP; a != "" {
		cm := common("relp")
		srv, err := relp.Listen(relp.Options{Name: "relp", Addr: a, Parse: cm.Parse, MaxData: c.RELP.MaxDataSize,
			BatchSize: cm.BatchSize, MaxConns: c.Syslog.MaxConnections, IdleTimeout: c.Syslog.IdleTimeout,
			Metrics: cm.Metrics, Logger: n.log})
		if err != nil {
			return err
		}
		n.reg.MustRegister(srv)
		n.sources = append(n.sources, namedSource{"relp", srv, srv.Addr()})
	}
	if a := c.Listen.Relay; a != "" {
		tc, err := n.relayTLS(true)
		if err != nil {
			return err
		}
		seen, err := n.openSeen()
		if err != nil {
			return err
		}
		so := relay.ServerOptions{Addr: a, TLS: tc, NodeID: n.id, Seen: seen,
			EmitRecords: n.ingest.EmitRecords, Logger: n.log}
		if c.Cluster.Bind != "" {
			so.Members = n.members
		}
		srv, err := relay.Listen(so)
		if err != nil {
			seen.Close()
			return err
		}
		if err := n.openCluster(srv.Addr().String()); err != nil {
			srv.Close()
			seen.Close()
			return err
		}
		n.closers = append(n.closers, seen.Close)
		n.reg.MustRegister(srv.Collector())
		n.sources = append(n.sources, namedSource{"relay", srv, srv.Addr()})
	}
	if a := c.Listen.SyslogUnix; a != "" {
		d, err := ssyslog.ListenDgram(ssyslog.DgramOptions{Common: common("syslog_unix"), Network: "unixgram",
			Addr: a, ReadBuffer: c.Syslog.UDPReadBuffer})
		if err != nil {
			return err
		}
		n.sources = append(n.sources, namedSource{"syslog_unix", d, d.Addr()})
	}
	return nil
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

// ID is the node's ID (the origin part of event IDs it assigns).
func (n *Node) ID() string { return n.id }

// Emit is the ingest path (what every source gets as its emit function).
func (n *Node) Emit() pipeline.EmitFunc { return n.ingest.Emit }

// WAL exposes the log (tests, tools).
func (n *Node) WAL() *wal.Log { return n.wal }

// Store is the first type = store output's store (what the search API
// answers from), or nil when there is none.
func (n *Node) Store() *store.Store { return n.store }

// Addr returns the bound address of a listener ("syslog_tcp", "http", …), or nil.
func (n *Node) Addr(name string) net.Addr {
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
	octx, ocancel := context.WithCancel(context.Background())
	n.cancelOu = ocancel
	for _, c := range n.outputs {
		n.outWG.Add(1)
		go func() {
			defer n.outWG.Done()
			if err := c.Run(octx); err != nil {
				n.log.Error("output stopped", "output", c.Name(), "err", err)
				n.fatal <- err
			}
		}()
	}
	ictx, icancel := context.WithCancel(context.Background())
	n.cancelIn = icancel
	if n.cluster != nil {
		if err := n.cluster.Start(ictx); err != nil {
			n.log.Error("cluster: start", "err", err)
		}
	}
	for _, s := range n.sources {
		n.inWG.Add(1)
		go func() {
			defer n.inWG.Done()
			if err := s.src.Run(ictx, n.ingest.Emit); err != nil {
				n.log.Error("input stopped", "input", s.name, "err", err)
				n.fatal <- err
			}
		}()
		n.log.Info("listening", "input", s.name, "addr", s.addr.String())
	}
	if n.httpLn != nil {
		n.httpSrv = &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go n.httpSrv.Serve(n.httpLn)
		n.log.Info("listening", "input", "http", "addr", n.httpLn.Addr().String())
	}
	n.ready.Store(true)
	n.log.Info("node started", "id", n.id, "data_dir", n.cfg.Node.DataDir, "fsync", n.cfg.WAL.Fsync)
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
	return api.Handler(o)
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
