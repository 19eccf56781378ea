package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The chain scenario: three logpacker nodes leaf → mid → root, linked over QUIC
// on loopback, against two rsyslog instances A → B linked over RELP, the same
// loggen load (the generated corpus, see corpus.go) into the first of each.

type chainResult struct {
	name  string // rsyslog | logpacker
	run   int
	l     load
	raw   int64     // syslog bytes into the first node
	hops  []hopStat // logpacker: per node link
	notes []string
	err   error
}

// hopStat is one node link's BATCH bytes, read from the receiving node's /metrics.
type hopStat struct {
	name         string
	wire, record float64 // logpacker_relay_wire_bytes_total, _record_bytes_total
}

func (c *chainResult) rate() float64 {
	if c.l.elapsed <= 0 {
		return 0
	}
	return float64(c.l.delivered) / c.l.elapsed.Seconds()
}

func (c *chainResult) cpu() (s float64) {
	for _, v := range c.l.cpu {
		s += v
	}
	return s
}

func (c *chainResult) cpuPerM() float64 {
	if c.l.delivered <= 0 {
		return 0
	}
	return c.cpu() / float64(c.l.delivered) * 1e6
}

func (c *chainResult) rssSum() (s float64) {
	for _, v := range c.l.rss {
		s += float64(v) / 1024
	}
	return s
}

func (c *chainResult) rssMax() (m float64) {
	for _, v := range c.l.rss {
		m = max(m, float64(v)/1024)
	}
	return m
}

// wireRatio is a hop's BATCH bytes over the raw syslog bytes (0: unknown).
func (c *chainResult) wireRatio(i int) float64 {
	if i >= len(c.hops) || c.raw <= 0 {
		return 0
	}
	return c.hops[i].wire / float64(c.raw)
}

// chainBench holds what every chain run shares: the corpus and the certificates.
type chainBench struct {
	o      options
	dir    string
	corpus string          // path
	desc   string          // corpus description for the header
	tails  map[string]bool // corpusTails
	certs  string          // dir with ca/ and <node>/node.{crt,key}
}

func newChainBench(o options, dir string) (*chainBench, error) {
	b := &chainBench{o: o, dir: dir, corpus: o.corpus, certs: filepath.Join(dir, "certs")}
	what := "the lines of " + o.corpus + ", sent as they are"
	if o.corpus == "" {
		b.corpus = filepath.Join(dir, "corpus.log")
		if err := writeCorpus(b.corpus, o.size); err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		what = fmt.Sprintf("generated RFC 5424 lines of %d B (realistic mixed-fleet content, see corpus.go)", o.size)
	}
	desc, err := describeCorpus(b.corpus)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	b.desc = what + ", newline-framed, looped: " + desc
	if b.tails, err = corpusTails(b.corpus); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if slices.Contains(o.names, "logpacker") {
		run := func(args ...string) error {
			if out, err := exec.Command(o.logpacker, args...).CombinedOutput(); err != nil {
				return fmt.Errorf("logpacker %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		if err := run("cert", "ca", "-dir", filepath.Join(b.certs, "ca")); err != nil {
			return nil, err
		}
		for _, n := range []string{"leaf", "mid", "root"} {
			if err := run("cert", "node", "-ca", filepath.Join(b.certs, "ca"), "-id", n, "-host", "127.0.0.1",
				"-dir", filepath.Join(b.certs, n)); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

func (b *chainBench) loggenArgs(port int) []string {
	return []string{"-i", "-S", "-d", "-R", b.corpus, "-l", "--active-connections", strconv.Itoa(b.o.conns),
		"-r", strconv.Itoa(b.o.rate), "-I", strconv.Itoa(secs(b.o.duration)), "127.0.0.1", strconv.Itoa(port)}
}

func printChainHeader(o options, b *chainBench) {
	fmt.Printf("\nchain scenario: loggen -i -S -d -R CORPUS -l --active-connections %d -r %d -I %d (TCP, one line of CORPUS per message)\n",
		o.conns, o.rate, secs(o.duration))
	fmt.Printf("payload: %s\n", b.desc)
	if slices.Contains(o.names, "rsyslog") {
		win := "librelp's default 128"
		if o.relpWin > 0 {
			win = strconv.Itoa(o.relpWin)
		}
		fmt.Printf("rsyslog chain:   %s ×2: A imtcp → omrelp (RFC 5424 template, windowSize %s; LinkedList action queue, disk-assisted, saveOnShutdown, resumeRetryCount -1) → B imrelp → omfile; nothing fsynced\n", o.rsyslogd, win)
	}
	if slices.Contains(o.names, "logpacker") {
		fmt.Printf("logpacker chain: %s ×3: leaf (TCP syslog) → mid → root (file output), QUIC node links, compress = true, [wal] fsync = %s at every hop\n", o.logpacker, o.fsync)
	}
}

func (b *chainBench) runRsyslog(ctx context.Context, dir string) *chainResult {
	c := &chainResult{name: "rsyslog"}
	c.l.sent = -1
	o := b.o
	inPort, relpPort, err := freePorts("tcp")
	if err != nil {
		c.err = err
		return c
	}
	out := filepath.Join(dir, "B", "out.log")
	for _, d := range []string{"A/work", "B/work"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			c.err = err
			return c
		}
	}
	// B: RELP in, file out. Inputs are bound to their own rulesets so rsyslog's
	// internal messages do not land in out.log.
	confB := fmt.Sprintf(`# written by lpbench: rsyslog chain, B (the receiver)
global(workDirectory=%q maxMessageSize="64k")
module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="%d" ruleset="bench")
ruleset(name="bench") {
	action(type="omfile" file=%q)
}
`, filepath.Join(dir, "B", "work"), relpPort, out)
	window := ""
	if o.relpWin > 0 {
		window = fmt.Sprintf(` windowSize="%d"`, o.relpWin)
	}
	// A: TCP in, RELP out through a disk-assisted action queue: what rsyslog's
	// documentation recommends for forwarding without loss (the queue spills to
	// disk when B is slow or down, keeps its content over a restart, and retries
	// for ever). The RFC 5424 template keeps MSGID and structured data, which the
	// default forwarding template drops.
	confA := fmt.Sprintf(`# written by lpbench: rsyslog chain, A (the relay)
global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="fwd")
ruleset(name="fwd") {
	action(type="omrelp" target="127.0.0.1" port="%d" template="RSYSLOG_SyslogProtocol23Format"%s
		queue.type="LinkedList" queue.filename="fwd_relp" queue.maxDiskSpace="4g"
		queue.saveOnShutdown="on" action.resumeRetryCount="-1" action.resumeInterval="1")
}
`, filepath.Join(dir, "A", "work"), inPort, relpPort, window)
	var procs []*proc
	var labels []string
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- { // A first
			if err := procs[i].stop(15 * time.Second); err != nil {
				c.notes = append(c.notes, "rsyslog "+labels[i]+" shutdown: "+err.Error())
			}
		}
		// With saveOnShutdown, A writes what its queue still holds to A/work (a .qi
		// index next to the segment files): messages not yet forwarded.
		if len(procs) == 2 {
			if qi, _ := filepath.Glob(filepath.Join(dir, "A", "work", "*.qi")); len(qi) > 0 {
				var size int64
				segs, _ := filepath.Glob(filepath.Join(dir, "A", "work", "fwd_relp.0*"))
				for _, f := range segs {
					if st, err := os.Stat(f); err == nil {
						size += st.Size()
					}
				}
				c.notes = append(c.notes, fmt.Sprintf("A's disk queue still held messages when it was stopped (%d segment files, %s, saved for its next start)", len(segs), mb(float64(size))))
			}
		}
		if !o.keep { // the output and A's queue files
			os.Remove(out)
			os.RemoveAll(filepath.Join(dir, "A", "work"))
		}
	}()
	for _, n := range []struct {
		name, conf string
		port       int
	}{{"B", confB, relpPort}, {"A", confA, inPort}} {
		d := filepath.Join(dir, n.name)
		cfg := filepath.Join(d, "rsyslog.conf")
		if err := os.WriteFile(cfg, []byte(n.conf), 0o644); err != nil {
			c.err = err
			return c
		}
		p, err := startProc(d, "rsyslogd.log", o.rsyslogd, "-n", "-f", cfg, "-i", filepath.Join(d, "rsyslogd.pid"))
		if err != nil {
			c.err = err
			return c
		}
		procs = append(procs, p)
		labels = append(labels, n.name)
		if err := waitReady(ctx, p, n.port, 0, 15*time.Second); err != nil {
			c.err = fmt.Errorf("rsyslogd %s: %w%s", n.name, err, p.tail())
			return c
		}
	}
	// measured in the order A, B (the order of the chain)
	c.l = load{name: "rsyslog chain", procs: []*proc{procs[1], procs[0]}, labels: []string{"A", "B"},
		args: b.loggenArgs(inPort), out: out, quiet: time.Second, settle: 15 * time.Second, drainMax: o.drain}
	c.l.run(ctx, o)
	c.err = c.l.err
	if c.err == nil {
		if o.corpus == "" {
			c.raw = c.l.delivered * int64(o.size)
		}
		if n, note := verifyOutput(out, b.tails, false); note != "" {
			c.notes = append(c.notes, note)
		} else {
			c.notes = append(c.notes, fmt.Sprintf("payload check: the first %d lines of B's file end like corpus lines", n))
		}
	}
	return c
}

func (b *chainBench) runLogpacker(ctx context.Context, dir string, profile string) *chainResult {
	c := &chainResult{name: "logpacker"}
	c.l.sent = -1
	o := b.o
	syslogPort, leafHTTP, err := freePorts("tcp")
	if err != nil {
		c.err = err
		return c
	}
	midHTTP, rootHTTP, err := freePorts("tcp")
	if err != nil {
		c.err = err
		return c
	}
	midRelay, rootRelay, err := freePorts("udp")
	if err != nil {
		c.err = err
		return c
	}
	out := filepath.Join(dir, "root", "events.jsonl")
	type node struct {
		name, listen, upstream, output string
		http                           int
	}
	nodes := []node{
		{"root", fmt.Sprintf("syslog_tcp =\nrelay = 127.0.0.1:%d", rootRelay), "", fmt.Sprintf("path = %s\nmax_size = 0", out), rootHTTP},
		{"mid", fmt.Sprintf("syslog_tcp =\nrelay = 127.0.0.1:%d", midRelay), fmt.Sprintf("127.0.0.1:%d", rootRelay), "path =", midHTTP},
		{"leaf", fmt.Sprintf("syslog_tcp = 127.0.0.1:%d\nrelay =", syslogPort), fmt.Sprintf("127.0.0.1:%d", midRelay), "path =", leafHTTP},
	}
	var procs []*proc
	var labels []string
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- { // leaf first: it drains into mid, mid into root
			if err := procs[i].stop(30 * time.Second); err != nil {
				c.notes = append(c.notes, "logpacker "+labels[i]+" shutdown: "+err.Error())
			}
		}
		if !o.keep { // the WALs and the output: GBs per run
			os.Remove(out)
			for _, n := range nodes {
				os.RemoveAll(filepath.Join(dir, n.name, "data"))
			}
		}
	}()
	for _, n := range nodes {
		d := filepath.Join(dir, n.name)
		if err := os.MkdirAll(filepath.Join(d, "data"), 0o755); err != nil {
			c.err = err
			return c
		}
		conf := fmt.Sprintf(`; written by lpbench: logpacker chain, %s
[node]
id = %s
data_dir = %s

[listen]
syslog_udp =
%s
http = 127.0.0.1:%d

[relay]
upstream = %s
ca = %s
cert = %s
key = %s
compress = true

[wal]
fsync = %s

[output.file]
%s

`+storeOff, n.name, n.name, filepath.Join(d, "data"), n.listen, n.http, n.upstream,
			filepath.Join(b.certs, "ca", "ca.crt"), filepath.Join(b.certs, n.name, "node.crt"), filepath.Join(b.certs, n.name, "node.key"),
			o.fsync, n.output)
		cfg := filepath.Join(d, "server.ini")
		if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
			c.err = err
			return c
		}
		p, err := startProc(d, "logpacker.log", o.logpacker, "run", "-c", cfg)
		if err != nil {
			c.err = err
			return c
		}
		procs = append(procs, p)
		labels = append(labels, n.name)
		if n.name == "leaf" {
			err = waitReady(ctx, p, syslogPort, n.http, 30*time.Second)
		} else {
			err = waitHTTPReady(ctx, p, n.http, 30*time.Second)
		}
		if err != nil {
			c.err = fmt.Errorf("logpacker %s: %w%s", n.name, err, p.tail())
			return c
		}
	}
	// measured in the order leaf, mid, root
	c.l = load{name: "logpacker chain", procs: []*proc{procs[2], procs[1], procs[0]}, labels: []string{"leaf", "mid", "root"},
		args: b.loggenArgs(syslogPort), out: out, quiet: time.Second, settle: 15 * time.Second, drainMax: o.drain}
	var profDone []chan struct{}
	if profile != "" {
		c.l.before = func() {
			for _, n := range nodes {
				done := make(chan struct{})
				profDone = append(profDone, done)
				path := profilePath(profile, n.name)
				go func() {
					defer close(done)
					if err := fetchProfile(n.http, o.duration, path); err != nil {
						fmt.Fprintf(os.Stderr, "lpbench: cpu profile of %s: %v\n", n.name, err)
					}
				}()
			}
		}
	}
	c.l.run(ctx, o)
	for _, d := range profDone {
		<-d
	}
	if profile != "" && c.l.err == nil {
		c.notes = append(c.notes, "CPU profiles of the first "+strconv.Itoa(secs(o.duration))+" s: "+
			profilePath(profile, "leaf")+", "+profilePath(profile, "mid")+", "+profilePath(profile, "root"))
	}
	c.err = c.l.err
	if c.err == nil {
		leaf, err1 := scrape(leafHTTP)
		mid, err2 := scrape(midHTTP)
		root, err3 := scrape(rootHTTP)
		if err := firstErr(err1, err2, err3); err != nil {
			c.err = fmt.Errorf("/metrics: %w", err)
		} else {
			c.raw = int64(leaf.sum("logpacker_listener_bytes_total"))
			if want := c.l.delivered * int64(o.size); c.raw != want && o.corpus == "" {
				c.notes = append(c.notes, fmt.Sprintf("leaf read %d syslog bytes, delivered × %d B = %d", c.raw, o.size, want))
			}
			if n := leaf.sum("logpacker_listener_parse_errors_total"); n != 0 {
				c.notes = append(c.notes, fmt.Sprintf("leaf: %.0f messages did not parse", n))
			}
			for _, h := range []struct {
				name string
				m    metrics
			}{{"leaf→mid", mid}, {"mid→root", root}} {
				hs := hopStat{name: h.name, wire: h.m.sum("logpacker_relay_wire_bytes_total"), record: h.m.sum("logpacker_relay_record_bytes_total")}
				c.hops = append(c.hops, hs)
				if d := h.m.sum("logpacker_relay_duplicates_total"); d != 0 {
					c.notes = append(c.notes, fmt.Sprintf("%s: %.0f duplicate events dropped (batches resent)", h.name, d))
				}
				comp := 0.0
				if hs.wire > 0 {
					comp = hs.record / hs.wire
				}
				c.notes = append(c.notes, fmt.Sprintf("%s: BATCH data %s, uncompressed records %s (%.2f:1), raw syslog %s: wire/raw %.4f",
					h.name, mb(hs.wire), mb(hs.record), comp, mb(float64(c.raw)), c.wireRatio(len(c.hops)-1)))
			}
		}
		if n, note := verifyOutput(out, b.tails, true); note != "" {
			c.err = fmt.Errorf("root's file: %s", note)
		} else {
			c.notes = append(c.notes, fmt.Sprintf("payload check: the first %d lines of the root's file are leaf events, 2 hops, parsed, messages from the corpus", n))
		}
	}
	return c
}

func mb(v float64) string { return fmt.Sprintf("%.1f MB", v/1e6) }

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// profilePath inserts "-node" before the extension: /tmp/lp.prof → /tmp/lp-mid.prof.
func profilePath(path, node string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + node + ext
}

// verifyOutput checks the first lines of a chain's final file against the
// corpus. It returns how many lines it checked, or what was wrong.
func verifyOutput(path string, tails map[string]bool, logpacker bool) (int, string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err.Error()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for n < 1000 && sc.Scan() {
		line := sc.Bytes()
		n++
		text := line
		if logpacker {
			var ev struct {
				ID         string `json:"id"`
				Message    string `json:"message"`
				Hops       int    `json:"hops"`
				Transport  string `json:"transport"`
				ParseError string `json:"parse_error"`
			}
			if err := json.Unmarshal(line, &ev); err != nil {
				return n, fmt.Sprintf("line %d: %v: %s", n, err, line)
			}
			// the leaf's origin: "leaf.<WAL epoch>" ("leaf" for a WAL from before epochs)
			origin, _, _ := strings.Cut(ev.ID, ":")
			if origin != "leaf" && !strings.HasPrefix(origin, "leaf.") || ev.Hops != 2 || ev.Transport != "tcp" || ev.ParseError != "" {
				return n, fmt.Sprintf("line %d is not a parsed TCP event from the leaf, 2 hops away: %s", n, line)
			}
			text = []byte(ev.Message)
		}
		text = bytes.TrimRight(text, " \t\r")
		if len(text) < tailLen { // too short to tell (only in a -corpus file)
			continue
		}
		if !tails[string(text[len(text)-tailLen:])] {
			return n, fmt.Sprintf("line %d does not end like any corpus line: %s", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return n, err.Error()
	}
	if n == 0 {
		return 0, "empty"
	}
	return n, ""
}

// metrics is a parsed Prometheus text exposition: series (name with labels) → value.
type metrics map[string]float64

// sum adds every series of the metric name, whatever its labels.
func (m metrics) sum(name string) (s float64) {
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

func scrape(httpPort int) (metrics, error) {
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			continue
		}
		m[l[:i]] = v
	}
	return m, sc.Err()
}

// waitHTTPReady waits until GET /readyz on httpPort answers 200 (a relay-only
// node has no TCP port to dial).
func waitHTTPReady(ctx context.Context, p *proc, httpPort int, limit time.Duration) error {
	cl := &http.Client{Timeout: time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)
	deadline := time.Now().Add(limit)
	last := ""
	for {
		if p.exited() {
			return fmt.Errorf("exited before it was ready (%v)", p.err)
		}
		resp, err := cl.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not 200 after %s: %s", url, limit, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func printChainRun(c *chainResult) {
	if c.l.summary != "" {
		fmt.Printf("   loggen: %s\n", c.l.summary)
	}
	for _, s := range append(append([]string(nil), c.l.notes...), c.notes...) {
		fmt.Printf("   note: %s\n", s)
	}
	if c.err != nil {
		fmt.Printf("   ERROR: %v\n", c.err)
	}
}

// reportChain prints the chain table, the medians and the ratios against the
// issue's goals; it returns the exit code.
func reportChain(w io.Writer, results []*chainResult) int {
	code := 0
	fmt.Fprintln(w)
	fmt.Fprintln(w, "chain scenario (3 logpacker nodes vs 2 rsyslog over RELP; CPU and RSS over all of a chain's processes):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "chain\trun\tsent\tdelivered\tmsgs/s\tCPU s\tCPU s/1M msgs\tpeak RSS MiB per process\tRSS sum MiB\twire/raw per hop\tloggen CPU s\t")
	ok := map[string][]*chainResult{}
	var order []string
	for _, c := range results {
		if c.err != nil {
			code = 1
			fmt.Fprintf(tw, "%s\t%d\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t\n", c.name, c.run, count(c.l.sent))
			continue
		}
		if ok[c.name] == nil {
			order = append(order, c.name)
		}
		ok[c.name] = append(ok[c.name], c)
		var rss []string
		for i, v := range c.l.rss {
			rss = append(rss, fmt.Sprintf("%s %.1f", c.l.labels[i], float64(v)/1024))
		}
		wire := "-"
		if len(c.hops) > 0 {
			var ws []string
			for i := range c.hops {
				ws = append(ws, fmt.Sprintf("%.4f", c.wireRatio(i)))
			}
			wire = strings.Join(ws, ", ")
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.0f\t%.2f\t%.2f\t%s\t%.1f\t%s\t%.2f\t\n", c.name, c.run, count(c.l.sent), c.l.delivered,
			c.rate(), c.cpu(), c.cpuPerM(), strings.Join(rss, ", "), c.rssSum(), wire, c.l.loggenCPU)
	}
	type med struct{ rate, cpuPerM, rssSum, rssMax, wire0, wire1, comp float64 }
	meds := map[string]med{}
	for _, n := range order {
		rs := ok[n]
		f := func(g func(*chainResult) float64) float64 {
			v := make([]float64, len(rs))
			for i, c := range rs {
				v[i] = g(c)
			}
			return medianOf(v)
		}
		m := med{
			rate:    f((*chainResult).rate),
			cpuPerM: f((*chainResult).cpuPerM),
			rssSum:  f((*chainResult).rssSum),
			rssMax:  f((*chainResult).rssMax),
			wire0:   f(func(c *chainResult) float64 { return c.wireRatio(0) }),
			wire1:   f(func(c *chainResult) float64 { return c.wireRatio(1) }),
			comp: f(func(c *chainResult) float64 {
				var wire, rec float64
				for _, h := range c.hops {
					wire, rec = wire+h.wire, rec+h.record
				}
				if wire == 0 {
					return 0
				}
				return rec / wire
			}),
		}
		meds[n] = m
		if len(rs) > 1 {
			wire := "-"
			if m.wire0 > 0 {
				wire = fmt.Sprintf("%.4f, %.4f", m.wire0, m.wire1)
			}
			fmt.Fprintf(tw, "%s\tmedian\t\t\t%.0f\t\t%.2f\t(max %.1f)\t%.1f\t%s\t\t\n", n, m.rate, m.cpuPerM, m.rssMax, m.rssSum, wire)
		}
	}
	tw.Flush()

	lp, lok := meds["logpacker"]
	rs, rok := meds["rsyslog"]
	what := "same run"
	if len(ok["logpacker"]) > 1 || len(ok["rsyslog"]) > 1 {
		what = "medians"
	}
	goal := func(met bool) string {
		if met {
			return "met"
		}
		return "NOT met"
	}
	if lok && rok {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "chain logpacker/rsyslog (%s): end-to-end throughput %s (goal ≥ 3x: %s), CPU per message %s, peak RSS sum %.1f MiB vs %.1f MiB (%s)\n",
			what, ratio(lp.rate, rs.rate), goal(rs.rate > 0 && lp.rate/rs.rate >= 3), ratio(lp.cpuPerM, rs.cpuPerM), lp.rssSum, rs.rssSum, ratio(lp.rssSum, rs.rssSum))
	}
	if lok && lp.wire0 > 0 {
		fmt.Fprintf(w, "logpacker wire/raw syslog bytes (%s): leaf→mid %.4f, mid→root %.4f (goal ≤ 0.125: %s); compression of the records %.2f:1\n",
			what, lp.wire0, lp.wire1, goal(max(lp.wire0, lp.wire1) <= 0.125), lp.comp)
		fmt.Fprintln(w, "(wire = BATCH data as the parent received it, logpacker_relay_wire_bytes_total; QUIC/TLS framing not included.")
		fmt.Fprintln(w, " raw = syslog bytes the leaf read, logpacker_listener_bytes_total. rsyslog's RELP carries the plain text: about 1.0.)")
	}
	for _, c := range results {
		if c.err != nil || c.l.sent < 0 || c.l.delivered == c.l.sent {
			continue
		}
		if c.name == "logpacker" {
			code = 1
			what, n := "LOSS", c.l.sent-c.l.delivered
			if n < 0 {
				what, n = "DUPLICATES", -n
			}
			fmt.Fprintln(w)
			fmt.Fprintln(w, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")
			fmt.Fprintf(w, "!!! %s: logpacker chain run %d delivered %d lines for %d sent (%d %s)\n",
				what, c.run, c.l.delivered, c.l.sent, n, strings.ToLower(what))
			fmt.Fprintln(w, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")
		} else if c.l.delivered < c.l.sent {
			fmt.Fprintf(w, "note: rsyslog chain run %d delivered %d of %d sent (%d missing)\n", c.run, c.l.delivered, c.l.sent, c.l.sent-c.l.delivered)
		} else {
			fmt.Fprintf(w, "note: rsyslog chain run %d delivered %d more lines than loggen reported sent\n", c.run, c.l.delivered-c.l.sent)
		}
	}
	return code
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Sorted(slices.Values(v))
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}
