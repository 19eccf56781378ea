package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"logpacker/appliance"
	"logpacker/appliance/alert"
	"logpacker/protocol"
	psyslog "logpacker/protocol/syslog"
	"logpacker/relay"
	"logpacker/systemd"
	"logpacker/wal"
)

var version = "dev"

const usage = `usage:
  logpacker run [-c server.ini]      run a node (embedded defaults without -c); SIGTERM drains,
                                     SIGHUP reopens output files and re-reads -c (what it cannot
                                     apply live is logged: "restart needed: [section] key")
  logpacker check [-c server.ini]    validate a configuration and its notify.ini (errors name
                                     file, line and key); print "FILE: ok" for each
  logpacker notify test [-c server.ini] RULE
                                     send a test notification through each provider of notify.ini's
                                     RULE to each of its groups' recipients, once; print each send;
                                     exit 1 unless every one went through
  logpacker parse [-tz ZONE] [-max-size N] [-now RFC3339]
                                     read syslog (lines or octet-counted frames) on stdin, print
                                     one JSON event per line: see how a node reads your devices
  logpacker wal verify DIR           check every WAL record (CRC, framing, order); exit 1 if any
                                     is damaged (DIR: data_dir/wal, or data_dir)
  logpacker wal dump [-node ID] DIR  print every intact WAL record as a JSON event (IDs: the node
                                     from -node or data_dir/node_id, NODE.EPOCH:INDEX); exit 1
                                     naming any damage
  logpacker wal repair DIR           what run does at open, with the node stopped: remove leftovers,
                                     cut a torn or zero-filled tail, rewrite damaged segments
                                     (originals to quarantine/), move cursors back; print what was
                                     cut, records kept, last index
  logpacker cert ca [-dir D] [-name N] [-days N]
                                     create a cluster CA for node links (D/ca.crt, D/ca.key)
  logpacker cert node -id NODE [-ca D] [-host H,H…] [-dir OUT] [-days N]
                                     create a node certificate for mutual TLS, signed by the CA
                                     in D (OUT/node.crt, OUT/node.key; OUT defaults to NODE)
  logpacker send -to HOST:PORT[,…] [-ca F -cert F -key F] [-count N -size B] [-rate R]
                 [-batch E] [-compress=false] [-retries N] [FILE]
                                     deliver lines from FILE or stdin (or N generated messages) to
                                     a node's relay listener, acknowledged; exit 1 unless all were
  logpacker status [-c server.ini | -api URL] [-token T] [-json]
                                     a running node's parents (discovery answer, link up now, the
                                     parent's cluster), cluster members (health, load), WAL size
                                     and lag, the keys its last reload left for a restart, from
                                     its GET /api/v1/status
  logpacker health [-c server.ini | -api URL] [-timeout D]
                                     exit 0 if a running node is ready (its GET /readyz answers
                                     200), else print why and exit 1: the container image's
                                     HEALTHCHECK
  logpacker defaults                 print the embedded server.ini
  logpacker version                  print the version
  logpacker help                     print this list (COMMAND -h: that command's flags)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = cmdRun(args)
	case "check":
		err = cmdCheck(args, os.Stdout)
	case "notify":
		err = cmdNotify(args, os.Stdout)
	case "parse":
		err = cmdParse(args, os.Stdin, os.Stdout)
	case "wal":
		err = cmdWAL(args, os.Stdout)
	case "cert":
		err = cmdCert(args, os.Stdout)
	case "send":
		err = cmdSend(args, os.Stdin, os.Stdout)
	case "status":
		err = cmdStatus(args, os.Stdout)
	case "health":
		err = cmdHealth(args, os.Stdout)
	case "defaults":
		_, err = os.Stdout.Write(appliance.DefaultConfig)
	case "version", "-version", "--version":
		fmt.Println("logpacker", buildVersion())
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "logpacker: unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			os.Exit(int(ex))
		}
		fmt.Fprintln(os.Stderr, "logpacker:", err)
		os.Exit(1)
	}
}

type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && version == "dev" {
		return version + " (" + bi.GoVersion + ")"
	}
	return version
}

func configFlag(name string, args []string) (*flag.FlagSet, *string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c := fs.String("c", "", "server.ini (default: the embedded defaults)")
	return fs, c, fs.Parse(args)
}

func cmdCheck(args []string, out io.Writer) error {
	_, c, err := configFlag("check", args)
	if err != nil {
		return err
	}
	cfg, err := appliance.LoadConfig(*c)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: ok\n", cfg.File)
	nc, err := appliance.LoadNotify(cfg)
	if err != nil {
		return err
	}
	if nc != nil {
		fmt.Fprintf(out, "%s: ok (%d rules)\n", nc.File, len(nc.Rules))
	}
	return nil
}

// cmdNotify is `logpacker notify test RULE`.
func cmdNotify(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return fmt.Errorf("usage: logpacker notify test [-c server.ini] RULE")
	}
	fs, c, err := configFlag("notify test", args[1:])
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: logpacker notify test [-c server.ini] RULE")
	}
	cfg, err := appliance.LoadConfig(*c)
	if err != nil {
		return err
	}
	nc, err := appliance.LoadNotify(cfg)
	if err != nil {
		return err
	}
	if nc == nil {
		return fmt.Errorf("no notify.ini (%q)", cfg.NotifyPath())
	}
	node := cfg.Node.ID
	if node == "" {
		node, _ = os.Hostname()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := alert.SendTest(ctx, nc, fs.Arg(0), node)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range res {
		status := "ok"
		if r.Err != nil {
			status, failed = "FAILED: "+r.Err.Error(), failed+1
		}
		fmt.Fprintf(out, "%s %s %s: %s\n", r.Group, r.Provider, r.Target, status)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d sends failed", failed, len(res))
	}
	return nil
}

// tuneGC trades a little memory for much less GC work: the WAL's segment
// buffers are large, short-lived allocations that otherwise trigger a GC
// every few megabytes. The soft limit keeps the heap near 56 MiB (Go exceeds
// it rather than fail); a node with the embedded store gets 256 MiB
// (storeGC). GOGC and GOMEMLIMIT in the environment win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(56 << 20)
	}
}

// storeGC raises the soft memory limit for a node that runs the embedded
// store: its engine keeps row buffers and in-memory parts of some tens of
// MiB live, and under a 56 MiB limit the collector ran all the time (lpbench,
// default node: 40-50 % of the CPU in GC, 20 CPU s per 1M messages and the
// store falling behind; with 256 MiB, 4.9 CPU s per 1M and the store keeping
// pace). GOMEMLIMIT in the environment wins.
func storeGC() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}

func cmdRun(args []string) error {
	tuneGC()
	_, c, err := configFlag("run", args)
	if err != nil {
		return err
	}
	cfg, err := appliance.LoadConfig(*c)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	level.UnmarshalText([]byte(cfg.Node.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	// Under systemd: the sockets of its .socket units, and the notify
	// socket (see systemd/doc.go). Both absent elsewhere.
	socks, err := systemd.Listeners()
	if err != nil {
		return err
	}
	sd, err := systemd.NewNotifier()
	if err != nil {
		log.Warn("systemd notify socket; no READY, STATUS or WATCHDOG will be sent", "err", err)
	}
	defer sd.Close()
	node, err := appliance.NewActivated(cfg, log, socks)
	if err != nil {
		return err
	}
	if node.Store() != nil {
		storeGC()
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	node.Start()
	stopNotify := notifySystemd(sd, node, log)
	defer stopNotify()
	// The config file is watched (its size and modification time, every 2 s)
	// and re-read on SIGHUP: what can change without a restart is applied,
	// the rest is logged as "restart needed: [section] key" (Node.Reload).
	// The watch reads a changed file once it stayed the same for a period,
	// not while an editor may still be writing it.
	watch := time.NewTicker(2 * time.Second)
	defer watch.Stop()
	stamp := fileStamp(cfg.File) // what was read last
	seen := stamp                // what the watch saw last
	// notify.ini is watched the same way, also without -c.
	nstamp := fileStamp(cfg.NotifyPath())
	nseen := nstamp
	reload := func(why string) {
		nstamp = fileStamp(cfg.NotifyPath())
		nseen = nstamp
		stamp = fileStamp(cfg.File)
		seen = stamp
		nc, err := appliance.LoadConfig(*c)
		if err != nil {
			log.Error("reload: the configuration does not load; keeping the running one", "why", why, "err", err)
			node.ReloadFailed(err)
			return
		}
		log.Info("reload", "why", why, "file", nc.File)
		node.Reload(nc)
	}
	for {
		select {
		case <-watch.C:
			if st := fileStamp(cfg.NotifyPath()); st != nstamp {
				if st == nseen {
					nstamp = st
					log.Info("reload", "why", "notify.ini changed", "file", cfg.NotifyPath())
					node.ReloadNotify()
				} else {
					nseen = st
				}
			}
			if *c == "" {
				continue
			}
			if st := fileStamp(cfg.File); st != stamp {
				if st == seen {
					reload("config file changed")
				} else {
					seen = st
				}
			}
		case s := <-sigs:
			if s == syscall.SIGHUP {
				log.Info("SIGHUP: reopening output files, re-reading the configuration")
				node.Reopen()
				if *c != "" {
					reload("SIGHUP")
				} else {
					node.ReloadNotify()
				}
				continue
			}
			log.Info("shutting down", "signal", s.String())
			stopNotify()
			sd.Stopping("draining: " + s.String())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			go func() { // a second signal stops waiting
				<-sigs
				cancel()
			}()
			err := node.Shutdown(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			log.Info("stopped")
			return nil
		case err := <-node.Fatal():
			log.Error("fatal error; shutting down", "err", err)
			stopNotify()
			sd.Stopping("fatal error; draining: " + err.Error())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			node.Shutdown(ctx)
			cancel()
			return err
		}
	}
}

// notifySystemd tells systemd the node is ready (the WAL open, every
// listener bound and running, every output open), then, while the returned
// function is not called, refreshes STATUS= and pings the watchdog every
// half of WatchdogSec= as long as the pipeline's heartbeat is healthy
// (Node.Health with the stall limit: $LOGPACKER_STALL_LIMIT, default
// appliance.DefaultStallLimit). Without a notify socket it does nothing.
func notifySystemd(sd *systemd.Notifier, node *appliance.Node, log *slog.Logger) (stop func()) {
	if sd == nil {
		return func() {}
	}
	if err := sd.Ready(node.NotifyStatus()); err != nil {
		log.Warn("systemd: READY=1 not sent", "err", err)
	}
	every, watchdog := systemd.WatchdogInterval()
	stall := appliance.DefaultStallLimit
	if v := os.Getenv("LOGPACKER_STALL_LIMIT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			stall = d
		} else {
			log.Warn("LOGPACKER_STALL_LIMIT is not a duration; using the default", "value", v, "default", stall)
		}
	}
	health := func() error { return node.Health(stall) }
	if !watchdog {
		every, health = 10*time.Second, nil
	} else {
		log.Info("systemd watchdog on", "ping_every", every, "stall_limit", stall)
	}
	done := make(chan struct{})
	t := time.NewTicker(every)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sd.Watchdog(done, t.C, health, node.NotifyStatus)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.Stop()
			close(done)
			<-finished
		})
	}
}

// fileStamp is what the config watch compares: size and modification time.
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}

// cmdParse is the operator's tool to see how logpacker reads their devices.
func cmdParse(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	tz := fs.String("tz", "Local", "zone for RFC 3164 timestamps without one")
	maxSize := fs.Int("max-size", psyslog.DefaultMaxSize, "maximum message size in bytes")
	now := fs.String("now", "", "pretend the current time is this (RFC 3339), for the RFC 3164 year rule")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("parse: -tz: %w", err)
	}
	opts := psyslog.Options{MaxSize: *maxSize, Location: loc}
	if *now != "" {
		t, err := time.Parse(time.RFC3339Nano, *now)
		if err != nil {
			return fmt.Errorf("parse: -now: %w", err)
		}
		opts.Now = func() time.Time { return t }
	}
	p := psyslog.NewParser(opts)
	fr := psyslog.NewFramer(in, *maxSize)
	w := bufio.NewWriter(out)
	defer w.Flush()
	var buf []byte
	for {
		frame, info, err := fr.Next()
		if len(frame) > 0 || (err == nil && !info.Empty) {
			ev := protocol.Event{Transport: "stdin"}
			if p.Parse(frame, &ev) || info.Truncated {
				ev.Tags = append(ev.Tags, "truncated")
			}
			buf = ev.AppendJSON(buf[:0])
			buf = append(buf, '\n')
			w.Write(buf)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parse: read: %w", err)
		}
	}
}

func cmdWAL(args []string, out io.Writer) error {
	const use = "usage: logpacker wal verify|repair DIR, wal dump [-node ID] DIR (DIR: data_dir/wal, or data_dir)"
	if len(args) < 1 || (args[0] != "verify" && args[0] != "dump" && args[0] != "repair") {
		return errors.New(use)
	}
	sub := args[0]
	fs := flag.NewFlagSet("wal "+sub, flag.ContinueOnError)
	var node *string
	if sub == "dump" {
		node = fs.String("node", "", "node ID for the events this node accepted first (default: data_dir/node_id)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitError(2)
	}
	if fs.NArg() != 1 {
		return errors.New(use)
	}
	dir := fs.Arg(0)
	dataDir := filepath.Dir(filepath.Clean(dir))
	if _, err := os.Stat(filepath.Join(dir, "wal")); err == nil {
		dataDir, dir = dir, filepath.Join(dir, "wal") // accept data_dir too
	}
	switch sub {
	case "verify":
		rep, err := wal.Verify(dir)
		if err != nil {
			return err
		}
		fmt.Fprint(out, rep.String())
		if !rep.OK() {
			return exitError(1)
		}
		return nil
	case "repair":
		rep, err := wal.Repair(dir)
		if err != nil {
			return err
		}
		fmt.Fprint(out, rep.String())
		return nil
	default:
		return walDump(dir, dataDir, *node, out)
	}
}

// walDump prints every intact record as a JSON event, its ID complete as the
// node's consumers make it (this node's ID and the WAL index for the events
// it accepted first). Damage and undecodable records are an error that says
// what and where, after the rest was printed.
func walDump(dir, dataDir, node string, out io.Writer) error {
	if node == "" {
		p := filepath.Join(dataDir, "node_id")
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) == "" {
			return fmt.Errorf("wal dump: no node ID for the events' IDs: %s: %v; give -node ID (the node's [node] id)",
				p, cmp.Or(err, errors.New("empty")))
		}
		node = strings.TrimSpace(string(b))
	}
	epoch, _, err := wal.ReadEpoch(dir)
	if err != nil {
		return fmt.Errorf("wal dump: %w", err)
	}
	origin := protocol.Origin(node, epoch) // what the node's consumers give its own events
	w := bufio.NewWriter(out)
	var (
		buf      []byte
		badFirst uint64
		bad      int
	)
	rep, err := wal.DumpReport(dir, func(index uint64, data []byte) error {
		var ev protocol.Event
		if err := ev.UnmarshalBinary(data); err != nil {
			fmt.Fprintf(w, "{\"wal_index\":%d,\"error\":%q}\n", index, err.Error())
			if bad == 0 {
				badFirst = index
			}
			bad++
			return nil
		}
		if ev.ID.Node == "" {
			ev.ID = protocol.ID{Node: origin, Seq: index}
		}
		buf = ev.AppendJSON(buf[:0])
		buf = append(buf, '\n')
		_, err := w.Write(buf)
		return err
	})
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("wal dump: %w", ferr)
	}
	if err != nil {
		return err
	}
	var msgs []string
	for _, s := range rep.Segments {
		for _, d := range s.Damages {
			msgs = append(msgs, fmt.Sprintf("segment %s: %s", s.Name, d))
		}
	}
	if bad > 0 {
		msgs = append(msgs, fmt.Sprintf("%d records (the first at WAL index %d) do not decode as events (printed with \"error\")",
			bad, badFirst))
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("wal dump: %s is damaged; the records above are the intact ones:\n  %s\n"+
		"(logpacker wal verify %[1]s: the whole report; logpacker wal repair %[1]s: repair it as run would, with the node stopped)",
		dir, strings.Join(msgs, "\n  "))
}

func cmdCert(args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "ca" && args[0] != "node") {
		return fmt.Errorf("usage: logpacker cert ca|node [flags] (logpacker cert ca -h)")
	}
	fs := flag.NewFlagSet("cert "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "ca":
		dir := fs.String("dir", "ca", "directory for ca.crt and ca.key (created)")
		name := fs.String("name", "logpacker cluster CA", "the CA's common name")
		days := fs.Int("days", 3650, "validity in days")
		if err := fs.Parse(args[1:]); err != nil {
			return exitError(2)
		}
		if err := relay.NewCA(*dir, *name, time.Duration(*days)*24*time.Hour); err != nil {
			return err
		}
		fmt.Fprintf(out, "created %s and %s (keep the key off the nodes)\n",
			filepath.Join(*dir, relay.CACertFile), filepath.Join(*dir, relay.CAKeyFile))
	default:
		caDir := fs.String("ca", "ca", "directory of the CA (ca.crt, ca.key)")
		id := fs.String("id", "", "the node's ID (required): the certificate's subject")
		hosts := fs.String("host", "", "comma-separated DNS names and IP addresses the node is reached at")
		dir := fs.String("dir", "", "directory for node.crt and node.key (default: the node ID)")
		days := fs.Int("days", 825, "validity in days (at most the CA's)")
		if err := fs.Parse(args[1:]); err != nil {
			return exitError(2)
		}
		if *id == "" {
			return fmt.Errorf("cert node: -id is required")
		}
		if *dir == "" {
			*dir = *id
		}
		var hs []string
		if *hosts != "" {
			hs = strings.Split(*hosts, ",")
		}
		if err := relay.NewNodeCert(*caDir, *dir, *id, hs, time.Duration(*days)*24*time.Hour); err != nil {
			return err
		}
		fmt.Fprintf(out, "created %s and %s for node %s\n",
			filepath.Join(*dir, relay.NodeCertFile), filepath.Join(*dir, relay.NodeKeyFile), *id)
	}
	return nil
}

func cmdSend(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	to := fs.String("to", "", "the parent's relay address, host:port (required; comma-separated: fail-over list)")
	caFile := fs.String("ca", "ca.crt", "cluster CA certificate")
	certFile := fs.String("cert", "node.crt", "this sender's node certificate")
	keyFile := fs.String("key", "node.key", "its key")
	count := fs.Int("count", 0, "send N generated messages instead of reading lines")
	size := fs.Int("size", 200, "with -count: message size in bytes")
	rate := fs.Int("rate", 0, "messages per second (0: as fast as acknowledgements allow)")
	batch := fs.Int("batch", 1000, "events per batch")
	compress := fs.Bool("compress", true, "zstd batches")
	retries := fs.Int("retries", 5, "attempts per batch before giving up")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *to == "" || *batch < 1 || *count < 0 || *size < 1 || *rate < 0 || *retries < 1 || fs.NArg() > 1 {
		return fmt.Errorf("usage: logpacker send -to HOST:PORT[,…] [-ca F -cert F -key F] [-count N -size B] [-rate R] [-batch E] [-compress=false] [-retries N] [FILE]")
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	pool, err := relay.CAPool(*caFile)
	if err != nil {
		return err
	}
	node := leaf.Subject.CommonName
	c, err := relay.NewClient(relay.ClientOptions{Upstreams: strings.Split(*to, ","), NodeID: node, Compress: *compress,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer c.Close()

	// The sender is the events' first node: IDs are its node ID and a
	// sequence that starts at the current time in nanoseconds, so runs never
	// reuse one.
	base := uint64(time.Now().UnixNano())
	host, _ := os.Hostname()
	var next func() (string, bool)
	if *count > 0 {
		i := 0
		pad := strings.Repeat("x", *size)
		next = func() (string, bool) {
			if i >= *count {
				return "", false
			}
			i++
			m := fmt.Sprintf("seq=%d ", i)
			if len(m) < *size {
				m += pad[:*size-len(m)]
			}
			return m, true
		}
	} else {
		r := in
		if fs.NArg() == 1 && fs.Arg(0) != "-" {
			f, err := os.Open(fs.Arg(0))
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		next = func() (string, bool) {
			if !sc.Scan() {
				return "", false
			}
			return sc.Text(), true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	var sent, acked uint64
	evs := make([]protocol.Event, 0, *batch)
	flush := func() error {
		if len(evs) == 0 {
			return nil
		}
		var err error
		for attempt := 0; attempt < *retries; attempt++ {
			if err = c.Write(ctx, evs); err == nil || ctx.Err() != nil {
				break
			}
			var p interface{ Permanent() bool }
			if errors.As(err, &p) && p.Permanent() {
				break
			}
			time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
		}
		if err != nil {
			return err
		}
		acked += uint64(len(evs))
		evs = evs[:0]
		return nil
	}
	for {
		msg, ok := next()
		if !ok {
			break
		}
		now := time.Now()
		if *rate > 0 {
			if due := start.Add(time.Duration(float64(sent) / float64(*rate) * float64(time.Second))); due.After(now) {
				if err := flush(); err != nil { // do not hold events back while waiting
					break
				}
				time.Sleep(due.Sub(now))
			}
		}
		sent++
		evs = append(evs, protocol.Event{ID: protocol.ID{Node: node, Seq: base + sent}, Received: now.UTC(),
			Facility: protocol.Facility(1), Severity: protocol.Severity(5), Host: host, App: "logpacker-send",
			Message: msg, Transport: "send", Count: 1})
		if len(evs) == *batch {
			if err := flush(); err != nil {
				break
			}
		}
	}
	err = flush()
	elapsed := time.Since(start)
	fmt.Fprintf(out, "sent %d, acknowledged %d in %s (%.0f msgs/s)\n", sent, acked, elapsed.Round(time.Millisecond),
		float64(acked)/elapsed.Seconds())
	if err != nil || acked != sent {
		return fmt.Errorf("send: %d of %d messages not acknowledged: %v", sent-acked, sent, err)
	}
	return nil
}
