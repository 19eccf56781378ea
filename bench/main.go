package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	logpacker string
	rsyslogd  string
	loggen    string
	duration  time.Duration
	conns     int
	size      int
	rate      int
	fsync     string
	keep      bool
	receiver  string
	names     []string // the receivers -receiver selects, in run order
	profile   string   // write a CPU profile of logpacker under load here
	runs      int
	scenario  string        // single, chain or both
	drain     time.Duration // chain: how long the final file may keep growing after loggen exits
	relpWin   int           // chain: omrelp windowSize (0: librelp's default)
	corpus    string        // chain: a file of syslog lines to send instead of the generated corpus
}

type result struct {
	name      string
	run       int
	sent      int64 // -1 when loggen's summary could not be parsed
	delivered int64
	elapsed   time.Duration // loggen start → last growth of the output file
	cpu       float64       // receiver CPU seconds over the run
	rssKiB    int64         // VmHWM
	loggenCPU float64       // loggen's own CPU seconds
	summary   string        // loggen's "average rate = …" line
	notes     []string
	lag       *lagStats // logpacker-default: the store's lag over the load
	err       error
}

func (r *result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.delivered) / r.elapsed.Seconds()
}

func (r *result) cpuPerM() float64 {
	if r.delivered <= 0 {
		return 0
	}
	return r.cpu / float64(r.delivered) * 1e6
}

var clkTck = 100.0

func main() {
	var o options
	defLoggen := ".ci/loggen.sh"
	if v := os.Getenv("LOGPACKER_LOGGEN"); v != "" {
		defLoggen = v
	}
	flag.StringVar(&o.logpacker, "logpacker", "bin/logpacker", "logpacker binary")
	flag.StringVar(&o.rsyslogd, "rsyslogd", "", "rsyslogd binary (default: from PATH, then /usr/sbin/rsyslogd)")
	flag.StringVar(&o.loggen, "loggen", defLoggen, "loggen (or the .ci/loggen.sh wrapper); default $LOGPACKER_LOGGEN if set")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long loggen sends (whole seconds, loggen -I)")
	flag.IntVar(&o.conns, "conns", 4, "loggen --active-connections")
	flag.IntVar(&o.size, "size", 200, "message size in bytes (loggen -s)")
	flag.IntVar(&o.rate, "rate", 100000000, "messages/s per connection (loggen -r); the default means as fast as possible")
	flag.StringVar(&o.fsync, "fsync", "always", "logpacker [wal] fsync (always, interval, never)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, outputs, logs)")
	flag.StringVar(&o.receiver, "receiver", "all", "all (rsyslog, logpacker, logpacker-default), both (rsyslog and logpacker), or a comma-separated\nlist of rsyslog, logpacker (store off, file only), logpacker-default (the default outputs: file + store;\nsingle scenario only)")
	flag.IntVar(&o.runs, "runs", 3, "runs per receiver, alternating; the ratios compare the medians (this VM's figures vary ±10–20% run to run)")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a pprof CPU profile of logpacker, taken during the load, to this file\n(logpacker-default: FILE with -default before the extension; chain: one per node, with -leaf, -mid, -root)")
	flag.StringVar(&o.scenario, "scenario", "single", "single (one receiver), chain (three logpacker nodes vs two rsyslog over RELP) or both")
	flag.DurationVar(&o.drain, "drain", 5*time.Minute, "chain and logpacker-default: how long the final output (the store's count) may keep growing after\nloggen exits before it is measured anyway")
	flag.IntVar(&o.relpWin, "relp-window", 4096, "chain: rsyslog omrelp windowSize; 0 keeps librelp's default (128), which limits the RELP link to a few thousand msgs/s on loopback")
	flag.StringVar(&o.corpus, "corpus", "", "chain: send the lines of this file (syslog, one per line, looped) instead of the generated corpus; -size then does not apply to the chain")
	flag.Parse()
	if flag.NArg() > 0 {
		fatalf("unexpected arguments: %q", flag.Args())
	}
	names, err := receivers(o.receiver)
	if err != nil {
		fatalf("%v", err)
	}
	o.names = names
	if o.duration < time.Second || o.conns < 1 || o.size < 1 || o.rate < 1 || o.runs < 1 {
		fatalf("-duration must be ≥ 1s; -conns, -size, -rate and -runs ≥ 1")
	}
	single, chain := o.scenario == "single" || o.scenario == "both", o.scenario == "chain" || o.scenario == "both"
	if !single && !chain {
		fatalf("-scenario must be single, chain or both, not %q", o.scenario)
	}
	if chain && o.corpus != "" {
		abs, err := filepath.Abs(o.corpus)
		if err != nil {
			fatalf("-corpus: %v", err)
		}
		if _, err := os.Stat(abs); err != nil {
			fatalf("-corpus: %v", err)
		}
		o.corpus = abs
	} else if chain && o.size < 120 {
		fatalf("-scenario chain needs -size ≥ 120 (corpus lines are RFC 5424 with a realistic header)")
	}
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			clkTck = v
		}
	}

	// Resolve binaries up front so a missing one fails before any load is sent.
	if o.loggen, err = resolve(o.loggen); err != nil {
		fatalf("loggen: %v (run `make deps`)", err)
	}
	for _, n := range names {
		switch n {
		case "logpacker", "logpacker-default":
			if o.logpacker, err = resolve(o.logpacker); err != nil {
				fatalf("logpacker: %v (run `make build`)", err)
			}
		case "rsyslog":
			if o.rsyslogd == "" {
				o.rsyslogd = "rsyslogd"
				if _, err := exec.LookPath("rsyslogd"); err != nil {
					o.rsyslogd = "/usr/sbin/rsyslogd"
				}
			}
			if o.rsyslogd, err = resolve(o.rsyslogd); err != nil {
				fatalf("rsyslogd: %v (run `make deps`)", err)
			}
		}
	}

	dir, err := os.MkdirTemp("", "lpbench-")
	if err != nil {
		fatalf("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	code := 0
	var results []*result
	if single {
		printHeader(o)
		for run := 1; run <= o.runs; run++ {
			for _, n := range names {
				if ctx.Err() != nil {
					break
				}
				fmt.Printf("\n== %s, run %d/%d: loggen %s, %d conns, %d B, -r %d …\n", n, run, o.runs, o.duration, o.conns, o.size, o.rate)
				var r *result
				switch n {
				case "rsyslog":
					r = runRsyslog(ctx, o, filepath.Join(dir, fmt.Sprintf("rs%d", run)))
				case "logpacker":
					oo := o
					if run > 1 {
						oo.profile = "" // one profile, of the first run
					}
					r = runLogpacker(ctx, oo, filepath.Join(dir, fmt.Sprintf("lp%d", run)), false)
				case "logpacker-default":
					oo := o
					oo.profile = ""
					if run == 1 && o.profile != "" {
						oo.profile = profilePath(o.profile, "default")
					}
					r = runLogpacker(ctx, oo, filepath.Join(dir, fmt.Sprintf("lpd%d", run)), true)
				}
				r.run = run
				results = append(results, r)
				printRun(r)
			}
		}
	}
	if chain && ctx.Err() == nil {
		if single { // the single scenario's table before the chain's runs
			code = report(os.Stdout, results)
		}
		// The chain has no logpacker-default: its root writes a file, as rsyslog's B does.
		cn := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "logpacker-default" })
		if len(cn) > 0 {
			code = max(code, runChains(ctx, o, cn, dir, !single))
		} else {
			fmt.Println("\nchain: skipped (-receiver logpacker-default has no chain)")
		}
	}

	interrupted := ctx.Err() != nil
	if o.keep {
		fmt.Printf("\nkept %s\n", dir)
	} else {
		os.RemoveAll(dir)
	}
	if interrupted {
		fmt.Fprintln(os.Stderr, "lpbench: interrupted; child processes stopped")
		os.Exit(130)
	}
	if single && !chain {
		code = report(os.Stdout, results)
	}
	if code != 0 {
		os.Exit(code)
	}
}

// receivers returns the receivers -receiver names, in run order.
func receivers(v string) ([]string, error) {
	switch v {
	case "all":
		return []string{"rsyslog", "logpacker", "logpacker-default"}, nil
	case "both":
		return []string{"rsyslog", "logpacker"}, nil
	}
	var names []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		switch n {
		case "rsyslog", "logpacker", "logpacker-default":
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		default:
			return nil, fmt.Errorf("-receiver: %q is not all, both, rsyslog, logpacker or logpacker-default", n)
		}
	}
	return names, nil
}

// runChains runs the chain scenario: -runs runs of each chain, alternating,
// then its table. It returns the exit code.
func runChains(ctx context.Context, o options, names []string, dir string, machine bool) int {
	o.names = names
	if machine {
		host, _ := os.Hostname()
		kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
		fmt.Printf("lpbench %s  host %s  kernel %s  cpus %d\n", time.Now().Format(time.RFC3339), host,
			bytes.TrimSpace(kernel), runtime.NumCPU())
	}
	b, err := newChainBench(o, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lpbench: chain: %v\n", err)
		return 1
	}
	printChainHeader(o, b)
	var results []*chainResult
	for run := 1; run <= o.runs; run++ {
		for _, n := range names {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Printf("\n== %s chain, run %d/%d: loggen %s, %d conns, -r %d …\n", n, run, o.runs, o.duration, o.conns, o.rate)
			var c *chainResult
			if n == "rsyslog" {
				c = b.runRsyslog(ctx, filepath.Join(dir, fmt.Sprintf("chain-rs%d", run)))
			} else {
				profile := o.profile
				if run > 1 {
					profile = ""
				}
				c = b.runLogpacker(ctx, filepath.Join(dir, fmt.Sprintf("chain-lp%d", run)), profile)
			}
			c.run = run
			results = append(results, c)
			printChainRun(c)
		}
	}
	if ctx.Err() != nil {
		return 0
	}
	return reportChain(os.Stdout, results)
}

func printRun(r *result) {
	if r.summary != "" {
		fmt.Printf("   loggen: %s\n", r.summary)
	}
	if r.lag != nil {
		fmt.Printf("   %s\n", r.lag)
	}
	for _, s := range r.notes {
		fmt.Printf("   note: %s\n", s)
	}
	if r.err != nil {
		fmt.Printf("   ERROR: %v\n", r.err)
	}
}

func printHeader(o options) {
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Printf("lpbench %s  host %s  kernel %s  cpus %d\n", time.Now().Format(time.RFC3339), host,
		bytes.TrimSpace(kernel), runtime.NumCPU())
	fmt.Printf("load: loggen -i -S -P -s %d --active-connections %d -r %d -I %d (TCP, RFC 5424, octet-counted)\n",
		o.size, o.conns, o.rate, secs(o.duration))
	if slices.Contains(o.names, "rsyslog") {
		fmt.Printf("rsyslog:           %s, imtcp → omfile, nothing fsynced\n", o.rsyslogd)
	}
	if slices.Contains(o.names, "logpacker") {
		fmt.Printf("logpacker:         %s, TCP syslog → WAL ([wal] fsync = %s) → file output; store off\n", o.logpacker, o.fsync)
	}
	if slices.Contains(o.names, "logpacker-default") {
		fmt.Printf("logpacker-default: %s, TCP syslog → WAL ([wal] fsync = %s) → the default outputs: file + store;\n", o.logpacker, o.fsync)
		fmt.Printf("                   delivered = the store's count (GET /api/v1/hits every %s)\n", storePoll)
	}
}

// report prints the table, the medians and the ratios; it returns the exit code.
func report(w io.Writer, results []*result) int {
	code := 0
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "receiver\trun\tsent\tdelivered\tmsgs/s\tCPU s\tCPU s/1M msgs\tpeak RSS MiB\tloggen CPU s\t")
	ok := map[string][]*result{}
	var order []string
	for _, r := range results {
		if r.err != nil {
			code = 1
			fmt.Fprintf(tw, "%s\t%d\t%s\t-\t-\t-\t-\t-\t-\t\n", r.name, r.run, count(r.sent))
			continue
		}
		if ok[r.name] == nil {
			order = append(order, r.name)
		}
		ok[r.name] = append(ok[r.name], r)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.1f\t%.2f\t\n", r.name, r.run, count(r.sent), r.delivered,
			r.rate(), r.cpu, r.cpuPerM(), float64(r.rssKiB)/1024, r.loggenCPU)
	}
	type med struct{ rate, cpuPerM, rssMiB float64 }
	meds := map[string]med{}
	for _, n := range order {
		rs := ok[n]
		m := med{
			rate:    median(rs, func(r *result) float64 { return r.rate() }),
			cpuPerM: median(rs, func(r *result) float64 { return r.cpuPerM() }),
			rssMiB:  median(rs, func(r *result) float64 { return float64(r.rssKiB) / 1024 }),
		}
		meds[n] = m
		if len(rs) > 1 {
			fmt.Fprintf(tw, "%s\tmedian\t\t\t%.0f\t\t%.2f\t%.1f\t\t\n", n, m.rate, m.cpuPerM, m.rssMiB)
		}
	}
	tw.Flush()

	if rs, rok := meds["rsyslog"]; rok && len(order) > 1 {
		what := "the run"
		for _, n := range order {
			if len(ok[n]) > 1 {
				what = "medians"
			}
		}
		fmt.Fprintf(w, "\nagainst rsyslog (%s):\n", what)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "receiver\tmsgs/s\tCPU s/1M msgs\tpeak RSS MiB\tthroughput ratio\tCPU/msg ratio\tRSS ratio\t")
		for _, n := range order {
			m := meds[n]
			fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.1f\t%s\t%s\t%s\t\n", n, m.rate, m.cpuPerM, m.rssMiB,
				ratio(m.rate, rs.rate), ratio(m.cpuPerM, rs.cpuPerM), ratio(m.rssMiB, rs.rssMiB))
		}
		tw.Flush()
		fmt.Fprintln(w, "(throughput >1 is better; CPU per message and RSS <1 are better. loggen itself needs about a core per connection:")
		fmt.Fprintln(w, " on 2 cores the sender, not the receiver, often sets msgs/s, so compare CPU per message.)")
		if d, dok := meds["logpacker-default"]; dok {
			verdict := "met"
			if rs.cpuPerM <= 0 || d.cpuPerM > rs.cpuPerM {
				verdict = "NOT met"
			}
			fmt.Fprintf(w, "goal: logpacker-default CPU per message ≤ 1.0x rsyslog's: %s, %s\n", ratio(d.cpuPerM, rs.cpuPerM), verdict)
		}
	}
	var lagged []*result
	for _, r := range results {
		if r.lag != nil && r.err == nil {
			lagged = append(lagged, r)
		}
	}
	if len(lagged) > 0 {
		fmt.Fprintln(w, "\ngoal: the store keeps pace with ingest (lag bounded, not growing, over the load):")
		for _, r := range lagged {
			fmt.Fprintf(w, "  %s run %d: %s\n", r.name, r.run, r.lag)
		}
	}
	for _, r := range results {
		if r.err != nil || r.sent < 0 || r.delivered >= r.sent {
			if r.err == nil && r.sent >= 0 && r.delivered > r.sent {
				fmt.Fprintf(w, "note: %s run %d delivered %d more lines than loggen reported sent\n", r.name, r.run, r.delivered-r.sent)
			}
			continue
		}
		lost := r.sent - r.delivered
		if strings.HasPrefix(r.name, "logpacker") {
			code = 1
			where := "its output file has"
			if r.lag != nil {
				where = "its store has"
			}
			fmt.Fprintln(w)
			fmt.Fprintln(w, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")
			fmt.Fprintf(w, "!!! LOSS: %s run %d: %s %d of %d sent: %d messages lost (%.4f%%)\n",
				r.name, r.run, where, r.delivered, r.sent, lost, 100*float64(lost)/float64(r.sent))
			fmt.Fprintln(w, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")
		} else {
			fmt.Fprintf(w, "note: %s run %d delivered %d of %d sent (%d missing)\n", r.name, r.run, r.delivered, r.sent, lost)
		}
	}
	return code
}

// median of f over rs (the mean of the middle two for an even count).
func median(rs []*result, f func(*result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func count(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}

// ---- receivers ----

func runRsyslog(ctx context.Context, o options, dir string) *result {
	r := &result{name: "rsyslog", sent: -1}
	port, _, err := freePorts("tcp")
	if err != nil {
		r.err = err
		return r
	}
	out := filepath.Join(dir, "out.log")
	if err := os.MkdirAll(filepath.Join(dir, "work"), 0o755); err != nil {
		r.err = err
		return r
	}
	// Only imtcp: no imuxsock/imklog, so the system's /dev/log and kernel log are not
	// touched. The input is bound to its own ruleset, so rsyslog's internal messages
	// (start/stop notices) do not land in out.log and inflate the count.
	conf := fmt.Sprintf(`# written by lpbench
global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="bench")
ruleset(name="bench") {
	action(type="omfile" file=%q)
}
`, filepath.Join(dir, "work"), port, out)
	cfg := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		r.err = err
		return r
	}
	p, err := startProc(dir, "rsyslogd.log", o.rsyslogd, "-n", "-f", cfg, "-i", filepath.Join(dir, "rsyslogd.pid"))
	if err != nil {
		r.err = err
		return r
	}
	defer p.stop(10 * time.Second)
	if err := waitReady(ctx, p, port, 0, 15*time.Second); err != nil {
		r.err = fmt.Errorf("rsyslogd: %w%s", err, p.tail())
		return r
	}
	measure(ctx, o, r, p, port, out, nil)
	if !o.keep {
		os.Remove(out)
	}
	return r
}

// runLogpacker measures one logpacker node: with store false its file output
// alone (the store turned off, as rsyslog writes a file), with store true the
// default outputs (file + store), delivered being what the store has.
func runLogpacker(ctx context.Context, o options, dir string, store bool) *result {
	r := &result{name: "logpacker", sent: -1}
	outputs := storeOff
	if store {
		r.name, outputs = "logpacker-default", ""
	}
	port, httpPort, err := freePorts("tcp")
	if err != nil {
		r.err = err
		return r
	}
	out := filepath.Join(dir, "events.jsonl")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		r.err = err
		return r
	}
	// output.file max_size = 0: never rotate, so every delivered line is in one file.
	// With store, [output.store] is left to its default (on for a root: this node).
	conf := fmt.Sprintf(`; written by lpbench
[node]
id = bench
data_dir = %s

[listen]
syslog_tcp = 127.0.0.1:%d
syslog_udp =
http = 127.0.0.1:%d

[wal]
fsync = %s

[output.file]
path = %s
max_size = 0

`+outputs, filepath.Join(dir, "data"), port, httpPort, o.fsync, out)
	cfg := filepath.Join(dir, "server.ini")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		r.err = err
		return r
	}
	p, err := startProc(dir, "logpacker.log", o.logpacker, "run", "-c", cfg)
	if err != nil {
		r.err = err
		return r
	}
	defer func() {
		if err := p.stop(30 * time.Second); err != nil && r.err == nil {
			r.notes = append(r.notes, "logpacker shutdown: "+err.Error())
		}
		// A loss or a failed run: the node's own account (unless an error above has it).
		if r.err != nil || (r.sent >= 0 && r.delivered < r.sent) {
			if t := p.tail(); t != "" && (r.err == nil || !strings.Contains(r.err.Error(), t)) {
				r.notes = append(r.notes, "last lines of "+p.log+":"+t)
			}
		}
		// Only once the node has stopped: removing its data under it fails it (the
		// store's checkpoint panics on the missing part files).
		if !o.keep {
			os.Remove(out)
			os.RemoveAll(filepath.Join(dir, "data"))
		}
	}()
	if err := waitReady(ctx, p, port, httpPort, 30*time.Second); err != nil {
		r.err = fmt.Errorf("logpacker: %w%s", err, p.tail())
		return r
	}
	if o.profile != "" {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			if err := fetchProfile(httpPort, o.duration, o.profile); err != nil {
				fmt.Fprintf(os.Stderr, "lpbench: cpu profile: %v\n", err)
			}
		}()
	}
	var tweak func(*load)
	var lag *lagSampler
	if store {
		tweak = func(l *load) {
			from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
			hits := fmt.Sprintf("http://127.0.0.1:%d/api/v1/hits?step=24h&from=%s", httpPort, url.QueryEscape(from))
			l.progress = func() (int64, error) { return storeTotal(hits) }
			l.every = storePoll
			l.settle = 15 * time.Second // a store pausing (a merge) below the count sent is not the end…
			l.drainMax = o.drain        // …and one behind at loggen's end may need long to catch up
			l.before = func() { lag = startLagSampler(httpPort, 500*time.Millisecond) }
			l.after = func() {
				// What the polling itself costs the node (hits over the whole store, the
				// heaviest at the end): a few queries on the idle node, after the run.
				if l.polls > 0 && l.err == nil {
					if per, err := queryCPU(p.pid(), hits, 10); err == nil {
						r.notes = append(r.notes, fmt.Sprintf("%d hits queries during the run; one costs the node ≈ %.1f ms CPU at the end (≤ %.2f s of the CPU s, included)",
							l.polls, per*1e3, per*float64(l.polls)))
					}
				}
			}
		}
	}
	l := measure(ctx, o, r, p, port, out, tweak)
	if lag != nil {
		lag.finish()
		r.lag = lag.stats(l)
		if n, err := countLines(out); err == nil {
			r.notes = append(r.notes, fmt.Sprintf("file output: %d lines", n))
		}
	}
	return r
}

// storePoll is how often the store's count is polled (a hits query over the
// whole store: it costs the node CPU, so not as often as the file's size).
const storePoll = 250 * time.Millisecond

// storeTotal returns the store's event count from GET /api/v1/hits.
func storeTotal(url string) (int64, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /api/v1/hits: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var h struct {
		Total *int64 `json:"total"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return 0, fmt.Errorf("GET /api/v1/hits: %v", err)
	}
	if h.Total == nil {
		return 0, fmt.Errorf("GET /api/v1/hits: no total in %.200s", body)
	}
	return *h.Total, nil
}

// queryCPU returns the CPU seconds process pid spends per GET of url, over n GETs.
func queryCPU(pid int, url string, n int) (float64, error) {
	c0, err := procCPU(pid)
	if err != nil {
		return 0, err
	}
	for range n {
		if _, err := storeTotal(url); err != nil {
			return 0, err
		}
	}
	c1, err := procCPU(pid)
	if err != nil {
		return 0, err
	}
	return (c1 - c0) / float64(n), nil
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// ---- the store's lag ----

type lagSample struct {
	t time.Time
	v float64
}

// lagSampler reads logpacker_wal_cursor_lag_records{cursor="output.store"}
// from /metrics every interval until finish.
type lagSampler struct {
	url     string
	stop    chan struct{}
	done    chan struct{}
	samples []lagSample
	errs    int
	lastErr error
}

func startLagSampler(httpPort int, every time.Duration) *lagSampler {
	s := &lagSampler{url: fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			v, err := storeLag(s.url)
			if err != nil {
				s.errs++
				s.lastErr = err
			} else {
				s.samples = append(s.samples, lagSample{time.Now(), v})
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *lagSampler) finish() {
	close(s.stop)
	<-s.done
}

// storeLag returns the output.store cursor's lag from a /metrics page.
func storeLag(url string) (float64, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "logpacker_wal_cursor_lag_records{") || !strings.Contains(line, `cursor="output.store"`) {
			continue
		}
		f := strings.Fields(line)
		return strconv.ParseFloat(f[len(f)-1], 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New(`GET /metrics: no logpacker_wal_cursor_lag_records{cursor="output.store"}`)
}

// lagStats is the store's lag over the load (loggen start → loggen's exit).
type lagStats struct {
	samples  int
	max      float64
	at       [4]float64 // at 25, 50, 75 and 100% of the load period (the last sample at or before)
	slope    float64    // records/s, least squares over the second half of the load
	ingest   float64    // msgs/s loggen sent over the load period
	growing  bool       // slope > 1% of ingest: the store falls behind what comes in
	atEnd    int64      // the store's count at loggen's exit (-1: unknown)
	catchUp  time.Duration
	errs     int
	lastErr  error
	loadSecs float64
}

func (s *lagSampler) stats(l *load) *lagStats {
	st := &lagStats{samples: len(s.samples), errs: s.errs, lastErr: s.lastErr, atEnd: l.atLgEnd}
	if l.lgEnd.IsZero() || l.lgEnd.Before(l.start) {
		return st
	}
	period := l.lgEnd.Sub(l.start)
	st.loadSecs = period.Seconds()
	if l.sent > 0 && period > 0 {
		st.ingest = float64(l.sent) / period.Seconds()
	}
	if d := l.lastChange.Sub(l.lgEnd); d > 0 {
		st.catchUp = d
	}
	var xs, ys []float64
	half := l.start.Add(period / 2)
	for _, x := range s.samples {
		if x.t.After(l.lgEnd) {
			break
		}
		st.max = max(st.max, x.v)
		if !x.t.Before(half) {
			xs, ys = append(xs, x.t.Sub(l.start).Seconds()), append(ys, x.v)
		}
	}
	for i := range st.at {
		mark := l.start.Add(period * time.Duration(i+1) / 4)
		for _, x := range s.samples {
			if x.t.After(mark) {
				break
			}
			st.at[i] = x.v
		}
	}
	if n := float64(len(xs)); n >= 3 {
		var sx, sy, sxx, sxy float64
		for i := range xs {
			sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
		}
		if d := n*sxx - sx*sx; d > 0 {
			st.slope = (n*sxy - sx*sy) / d
		}
	}
	st.growing = st.slope > 0.01*st.ingest && st.at[3] > st.at[1]
	return st
}

func (st *lagStats) String() string {
	if st.samples == 0 {
		return fmt.Sprintf("store lag: no samples (%d errors: %v)", st.errs, st.lastErr)
	}
	verdict := "bounded"
	if st.growing {
		verdict = "GROWING"
	}
	s := fmt.Sprintf("store lag (records) over the %.1f s load: max %.0f; at 25/50/75/100%%: %.0f / %.0f / %.0f / %.0f; trend over the 2nd half %+.0f records/s (ingest %.0f msgs/s): %s",
		st.loadSecs, st.max, st.at[0], st.at[1], st.at[2], st.at[3], st.slope, st.ingest, verdict)
	if st.atEnd >= 0 {
		s += fmt.Sprintf("; the store had %d at loggen's exit, its count grew until %.1f s after", st.atEnd, st.catchUp.Seconds())
	}
	if st.errs > 0 {
		s += fmt.Sprintf(" (%d /metrics errors, last: %v)", st.errs, st.lastErr)
	}
	return s
}

// measure runs loggen against port and fills r from the receiver p and its output
// file (or what tweak, when set, makes of the load: e.g. a store's count).
func measure(ctx context.Context, o options, r *result, p *proc, port int, out string, tweak func(*load)) *load {
	l := load{
		name:   r.name,
		procs:  []*proc{p},
		labels: []string{r.name},
		args: []string{"-i", "-S", "-P", "-s", strconv.Itoa(o.size), "--active-connections", strconv.Itoa(o.conns),
			"-r", strconv.Itoa(o.rate), "-I", strconv.Itoa(secs(o.duration)), "127.0.0.1", strconv.Itoa(port)},
		out:      out,
		quiet:    time.Second,
		drainMax: 60 * time.Second,
	}
	if tweak != nil {
		tweak(&l)
	}
	l.run(ctx, o)
	r.elapsed, r.loggenCPU, r.summary, r.sent, r.delivered = l.elapsed, l.loggenCPU, l.summary, l.sent, l.delivered
	r.notes = append(r.notes, l.notes...)
	if len(l.cpu) == 1 {
		r.cpu, r.rssKiB = l.cpu[0], l.rss[0]
	}
	if r.err == nil {
		r.err = l.err
	}
	return &l
}

// load is one loggen run against a receiver (or the first node of a chain of
// receivers) and its measurement.
type load struct {
	name     string        // for messages
	procs    []*proc       // the receivers: CPU and peak RSS of each; one exiting fails the run
	labels   []string      // their names in messages
	args     []string      // loggen's arguments
	out      string        // the output file to watch (loggen.log goes next to it)
	quiet    time.Duration // the end: loggen has exited and out has not grown for this long…
	settle   time.Duration // …and, when settle > quiet, has as many lines as loggen sent or has not grown for settle…
	drainMax time.Duration // …or it is still growing this long after loggen exited
	before   func()        // called just before loggen starts (e.g. to start profiles)
	after    func()        // called at the end, after CPU and RSS are taken
	// progress, when set, is "delivered" instead of out's line count: polled every
	// `every` (default 100 ms) instead of out's size, its last value is the count.
	progress func() (int64, error)
	every    time.Duration

	start      time.Time // loggen started
	lgEnd      time.Time // loggen exited (or was killed)
	lastChange time.Time // the last growth of out (or of progress)
	atLgEnd    int64     // progress's value when loggen exited (-1: no progress)
	polls      int       // calls of progress

	elapsed   time.Duration // loggen start → last growth of out (or of progress)
	cpu       []float64     // per proc, seconds over the run
	rss       []int64       // per proc, VmHWM KiB
	loggenCPU float64
	summary   string
	sent      int64
	delivered int64
	notes     []string
	err       error
}

func (l *load) run(ctx context.Context, o options) {
	l.sent, l.atLgEnd = -1, -1
	cpu0 := make([]float64, len(l.procs))
	for i, p := range l.procs {
		var err error
		if cpu0[i], err = procCPU(p.pid()); err != nil {
			l.err = err
			return
		}
	}
	if l.before != nil {
		l.before()
	}
	lgLog := filepath.Join(filepath.Dir(l.out), "loggen.log")
	t0 := time.Now()
	l.start = t0
	lg, err := startProc(filepath.Dir(l.out), "loggen.log", o.loggen, l.args...)
	if err != nil {
		l.err = err
		return
	}
	defer lg.stop(5 * time.Second)

	// Poll the output file's size (cheap: the line count is taken once, at the end, so
	// the poller does not compete with the receiver for the 2 cores), or progress.
	every := l.every
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	var (
		lastSize   int64 = -1
		lastChange       = t0
		lgDone     time.Time
		lgDeadline = t0.Add(o.duration + 30*time.Second)
		tick       = time.NewTicker(every)
		pollErrs   int
		pollErr    error
	)
	defer tick.Stop()
	defer func() { l.lgEnd, l.lastChange = lgDone, lastChange }()
	countedSize := int64(-1) // out's size when its lines were last counted
	exited := func() bool {
		for i, p := range l.procs {
			if p.exited() {
				l.err = fmt.Errorf("%s exited during the run%s", l.labels[i], p.tail())
				return true
			}
		}
		return false
	}
	for {
		select {
		case <-ctx.Done():
			l.err = ctx.Err()
			return
		case <-tick.C:
		}
		now := time.Now()
		if l.progress != nil {
			l.polls++
			if n, err := l.progress(); err != nil {
				pollErrs, pollErr = pollErrs+1, err
			} else if n != lastSize {
				lastSize, lastChange = n, now
			}
		} else if st, err := os.Stat(l.out); err == nil && st.Size() != lastSize {
			lastSize, lastChange = st.Size(), now
		}
		if lgDone.IsZero() {
			select {
			case <-lg.done:
				lgDone = now
			default:
				if now.After(lgDeadline) {
					l.notes = append(l.notes, fmt.Sprintf("loggen still running %s after start: killed", now.Sub(t0).Round(time.Second)))
					lg.stop(5 * time.Second)
					lgDone = now
				}
			}
			if !lgDone.IsZero() && l.progress != nil {
				l.atLgEnd = lastSize
			}
			if exited() {
				return
			}
			continue
		}
		if exited() {
			return
		}
		if now.Sub(lastChange) >= l.quiet && now.Sub(lgDone) >= l.quiet {
			if l.settle <= l.quiet || now.Sub(lastChange) >= l.settle {
				break
			}
			// A relay may pause with messages still queued (rsyslog's disk queue
			// does): quiet is not the end until every message sent has arrived.
			if lastSize != countedSize {
				countedSize = lastSize
				_, sent := parseLoggen(lgLog)
				n, err := lastSize, error(nil)
				if l.progress == nil {
					n, err = countLines(l.out)
				}
				if err == nil && sent >= 0 && n >= sent {
					break
				}
			}
		}
		if now.Sub(lgDone) >= l.drainMax {
			l.notes = append(l.notes, fmt.Sprintf("output still growing %s after loggen exited: measured anyway", l.drainMax))
			break
		}
	}
	l.elapsed = lastChange.Sub(t0)

	l.cpu = make([]float64, len(l.procs))
	l.rss = make([]int64, len(l.procs))
	for i, p := range l.procs {
		cpu1, err := procCPU(p.pid())
		if err != nil {
			l.err = err
			return
		}
		l.cpu[i] = cpu1 - cpu0[i]
		l.rss[i], _ = procHWM(p.pid())
	}
	if st := lg.cmd.ProcessState; st != nil {
		l.loggenCPU = (st.UserTime() + st.SystemTime()).Seconds()
		if !st.Success() {
			l.notes = append(l.notes, "loggen: "+st.String()+lg.tail())
		}
	}
	l.summary, l.sent = parseLoggen(lgLog)
	if pollErrs > 0 {
		l.notes = append(l.notes, fmt.Sprintf("%d of %d polls failed, last: %v", pollErrs, l.polls, pollErr))
	}
	if l.progress != nil {
		if lastSize < 0 {
			l.err = fmt.Errorf("no count: %v", pollErr)
		}
		l.delivered = max(lastSize, 0)
	} else if l.delivered, err = countLines(l.out); err != nil {
		l.err = err
	}
	if l.after != nil {
		l.after()
	}
}

var (
	reSummary  = regexp.MustCompile(`average rate = .*`)
	reCount    = regexp.MustCompile(`count=(\d+)`)
	reProgress = regexp.MustCompile(`count=(\d+), rate`)
)

// parseLoggen returns loggen's final summary line and the count it reports sent.
// Without a summary (loggen killed) it falls back to the last progress line.
func parseLoggen(path string) (string, int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", -1
	}
	if s := reSummary.Find(b); s != nil {
		line := strings.TrimSpace(string(s))
		if m := reCount.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			return line, n
		}
		return line, -1
	}
	if ms := reProgress.FindAllSubmatch(b, -1); len(ms) > 0 {
		n, _ := strconv.ParseInt(string(ms[len(ms)-1][1]), 10, 64)
		return "(no summary; last progress line) count=" + strconv.FormatInt(n, 10), n
	}
	return "", -1
}

func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// ---- processes ----

type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // from Wait, valid after done
}

// startProc starts bin in its own process group (so Ctrl-C on the terminal reaches
// only lpbench, which then stops it) with stdout+stderr to dir/logName. Pdeathsig
// kills it if lpbench itself dies without cleaning up.
func startProc(dir, logName, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, logName)
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{name: filepath.Base(bin), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs it.
// It returns an error when the process had to be killed or exited unsuccessfully.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: %v after SIGTERM%s", p.name, p.err, p.tail())
		}
		return nil
	case <-time.After(grace):
	}
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s did not exit within %s of SIGTERM: killed", p.name, grace)
}

// tail returns the last lines of the process's log, for error messages.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\n   | " + strings.Join(lines, "\n   | ")
}

// waitReady waits until port accepts TCP connections and, when httpPort is set,
// GET /readyz answers 200 (if it never does, it prints a note after 5 s and goes on).
func waitReady(ctx context.Context, p *proc, port, httpPort int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		if p.exited() {
			return fmt.Errorf("exited before listening (%v)", p.err)
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d not accepting after %s: %v", port, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if httpPort == 0 {
		return nil
	}
	cl := &http.Client{Timeout: time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)
	until := time.Now().Add(5 * time.Second)
	last := ""
	for time.Now().Before(until) {
		resp, err := cl.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Printf("   note: %s not 200 after 5 s (%s); the TCP port accepts, going on\n", url, last)
	return nil
}

// freePorts returns two distinct free loopback ports of network: "tcp", or
// "udp" (QUIC listeners).
func freePorts(network string) (int, int, error) {
	var ports [2]int
	for i := range ports {
		var c io.Closer
		var addr net.Addr
		if network == "udp" {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return 0, 0, err
			}
			c, addr = pc, pc.LocalAddr()
		} else {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, 0, err
			}
			c, addr = l, l.Addr()
		}
		defer c.Close() // both held until both are chosen: distinct
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return 0, 0, err
		}
		ports[i] = int(ap.Port())
	}
	return ports[0], ports[1], nil
}

// procCPU returns utime+stime+cutime+cstime of pid in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// comm (field 2) may contain spaces: fields are counted after its closing ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 { // f[0] is field 3 (state); utime..cstime are fields 14..17
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	var ticks float64
	for _, s := range f[11:15] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
		}
		ticks += v
	}
	return ticks / clkTck, nil
}

// procHWM returns VmHWM (peak resident set) of pid in KiB.
func procHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// ---- helpers ----

func resolve(bin string) (string, error) {
	if strings.ContainsRune(bin, '/') {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return "", err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s is not executable", abs)
		}
		return abs, nil
	}
	return exec.LookPath(bin)
}

func secs(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "lpbench: "+format+"\n", args...)
	os.Exit(2)
}

// fetchProfile saves logpacker's /debug/pprof/profile for the load's duration.
func fetchProfile(httpPort int, d time.Duration, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", httpPort, secs(d)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// storeOff ends the logpacker configs lpbench writes but logpacker-default's:
// rsyslog's side writes a file, so there the searchable store (on by default
// for a root) is not part of the comparison.
const storeOff = `
[output.store]
enabled = false
`
