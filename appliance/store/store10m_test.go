package store

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"logpacker/protocol"
)

// storeBenchEnv is the number of events BenchmarkStore10M stores; the
// benchmark is skipped without it (so `go test -bench .` does not spend
// minutes on it); `make bench` sets 10000000.
const storeBenchEnv = "LOGPACKER_STORE_BENCH_EVENTS"

// BenchmarkStore10M fills a store with N events (the environment variable
// LOGPACKER_STORE_BENCH_EVENTS, 10,000,000 in `make bench`) spread over 4
// UTC days ending yesterday, in batches of 2048 through Send as the output
// loop gives them (each confirmed by a checkpoint; the fill ends when all
// are), from 200 hosts and 8 apps with realistic messages and severities,
// then times typical searches at that size, a 24 h histogram and the top-10
// facets. It prints tables and reports insert events/s (Send and the wait
// for the last checkpoint; generating the events is not counted), the
// process's CPU seconds per 1M events over the fill (generation included),
// peak RSS, bytes on disk per event and per raw syslog byte (approximated),
// and each search's median latency in ms. Run it with -benchtime 1x.
func BenchmarkStore10M(b *testing.B) {
	env := os.Getenv(storeBenchEnv)
	if env == "" {
		b.Skipf("set %s (make bench: 10000000) to run", storeBenchEnv)
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 10_000 {
		b.Fatalf("%s=%q: want a number of events >= 10000", storeBenchEnv, env)
	}
	const days, batch = 4, 2048
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days-1)
	end := start.AddDate(0, 0, days)
	step := end.Sub(start) / time.Duration(n)
	s := openTest(b, b.TempDir(), 0, end)
	ctx := context.Background()
	b.ResetTimer()

	var g benchGen
	evs := make([]protocol.Event, batch)
	var writing time.Duration
	var pending sync.WaitGroup
	// rawBytes approximates the RFC 5424 line of each event:
	// len(message)+len(host)+len(app) + rawHeader (PRI, version, timestamp,
	// procid, msgid, structured data, separators, newline).
	const rawHeader = 60
	var rawBytes, msgBytes int64
	ru0 := rusage(b)
	t0, lastReport := time.Now(), 0
	fmt.Printf("store: filling %d events over %d day files in batches of %d\n", n, days, batch)
	for seq := 0; seq < n; seq += batch {
		k := min(batch, n-seq)
		for i := range k {
			g.event(&evs[i], seq+i, start.Add(time.Duration(seq+i)*step))
			rawBytes += int64(len(evs[i].Message) + len(evs[i].Host) + len(evs[i].App) + rawHeader)
			msgBytes += int64(len(evs[i].Message))
		}
		w0 := time.Now()
		pending.Add(1)
		if err := s.Send(ctx, evs[:k], func(err error) {
			if err != nil {
				b.Error(err)
			}
			pending.Done()
		}); err != nil {
			b.Fatal(err)
		}
		writing += time.Since(w0)
		if done := seq + k; done-lastReport >= 1_000_000 || done == n {
			fmt.Printf("store: %9d events stored, %6.0f events/s (Write only), %5.0f s elapsed\n",
				done, float64(done)/writing.Seconds(), time.Since(t0).Seconds())
			lastReport = done
		}
	}
	w0 := time.Now()
	pending.Wait() // every batch confirmed by a checkpoint: on disk
	writing += time.Since(w0)
	fillWall := time.Since(t0)
	ru1 := rusage(b)
	rate := float64(n) / writing.Seconds()
	var size int64
	filepath.WalkDir(s.dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	dbSize := size
	cpu := cpuSeconds(ru1) - cpuSeconds(ru0)
	userS := tv(ru1.Utime) - tv(ru0.Utime)
	sysS := tv(ru1.Stime) - tv(ru0.Stime)
	cpuPerM := cpu / (float64(n) / 1e6)
	rssMiB := float64(ru1.Maxrss) / 1024 // Linux: KiB
	fmt.Printf("\nstore: fill: %d events in %.1f s wall (%.1f s in Write): %.0f events/s (Write only), %.0f events/s (wall)\n",
		n, fillWall.Seconds(), writing.Seconds(), rate, float64(n)/fillWall.Seconds())
	fmt.Printf("store: fill CPU (getrusage RUSAGE_SELF, whole process incl. event generation): %.1f s user + %.1f s sys = %.1f s, %.2f CPU s per 1M events\n",
		userS, sysS, cpu, cpuPerM)
	fmt.Printf("store: peak RSS (ru_maxrss) after the fill: %.1f MiB\n", rssMiB)
	fmt.Printf("store: on disk: %d bytes, %.1f bytes/event\n", dbSize, float64(size)/float64(n))
	fmt.Printf("store: raw syslog approx. (len(message)+len(host)+len(app)+%d): %.1f bytes/event avg (message alone %.1f): %.2f bytes on disk per raw syslog byte\n",
		rawHeader, float64(rawBytes)/float64(n), float64(msgBytes)/float64(n), float64(size)/float64(rawBytes))
	if out, err := exec.Command("du", "-sb", s.dir).Output(); err == nil {
		fmt.Printf("store: du -sb: %s", out)
	}
	if out, err := exec.Command("du", "-s", "--block-size=1", s.dir).Output(); err == nil {
		fmt.Printf("store: du (allocated): %s", out)
	}
	b.ReportMetric(cpuPerM, "cpu-s/1M-events")
	b.ReportMetric(rssMiB, "peak-rss-MiB")
	b.ReportMetric(float64(size)/float64(n), "disk-bytes/event")
	b.ReportMetric(float64(size)/float64(rawBytes), "disk-bytes/raw-byte")

	// Typical searches. The deep pages start from a cursor 50 pages (5,000
	// events) back, taken by paging there first (or the last page, if fewer).
	warn, errSev := protocol.SevWarning, protocol.SevErr
	mid := start.Add(time.Duration(days) * 12 * time.Hour) // a time range in the middle of the data
	deep := func(q Query) Query {
		for range 50 {
			r, err := s.Search(ctx, q)
			if err != nil {
				b.Fatalf("paging %+v: %v", q, err)
			}
			if r.Next == "" { // fewer than 51 pages (a small N): the last one
				break
			}
			q.Cursor = r.Next
		}
		return q
	}
	fmt.Printf("store: searching (paging 50 pages deep for the cursor cases first)\n")
	deepAll := deep(Query{})
	cases := []struct {
		name string
		q    Query
	}{
		{"newest page (100)", Query{}},
		{"host + severity<=warning", Query{Host: "db-07", Severity: &warn}},
		{"app + severity<=err", Query{App: "postgres", Severity: &errSev}},
		{`rare text "out of memory"`, Query{Text: `"out of memory"`}},
		{"rare text, one request id", Query{Text: "req" + strconv.Itoa(n/3)}},
		{"common text: GET 200", Query{Text: "GET 200"}},
		{"common text + host", Query{Text: "accepted publickey", Host: "web-042"}},
		{"time range (1 h, mid)", Query{From: mid, To: mid.Add(time.Hour)}},
		{"time range + text", Query{From: mid, To: mid.Add(time.Hour), Text: "failed"}},
		{"deep page (cursor, 51st)", deepAll},
		// from the same cursor: paging 50 pages of a common text takes minutes
		{"common text from that cursor", Query{Text: "GET 200", Cursor: deepAll.Cursor}},
		{"deep page, host+severity", deep(Query{Host: "db-07", Severity: &warn})},
	}
	// 9 runs each, 3 when the first takes over half a second
	const reps, slowReps, slow = 9, 3, 500 * time.Millisecond
	fmt.Printf("\nstore: %d events, %d days, %.1f GB on disk; insert %.0f events/s (batches of %d, each confirmed by a checkpoint)\n\n",
		n, days, float64(size)/1e9, rate, batch)
	fmt.Printf("| %-28s | %6s | %4s | %9s | %9s | %9s |\n", "search (limit 100)", "events", "runs", "first ms", "median ms", "max ms")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|\n", dashes(30), dashes(8), dashes(6), dashes(11), dashes(11), dashes(11))
	time1 := func(name string, q Query) (ds []time.Duration, got int) {
		for i := 0; i < reps && (i < slowReps || ds[0] < slow); i++ {
			t := time.Now()
			r, err := s.Search(ctx, q)
			ds = append(ds, time.Since(t))
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			got = len(r.Events)
		}
		return ds, got
	}
	for _, c := range cases {
		ds, got := time1(c.name, c.q)
		first := ds[0]
		slices.Sort(ds)
		med := ds[len(ds)/2]
		fmt.Printf("| %-28s | %6d | %4d | %9.2f | %9.2f | %9.2f |\n", c.name, got, len(ds), ms(first), ms(med), ms(ds[len(ds)-1]))
		b.ReportMetric(ms(med), "ms/"+metricName(c.name))
	}
	fmt.Println()
	b.ReportMetric(rate, "insert-events/s")

	// Aggregations over a 24 h window in the middle of the data (it spans
	// two day files: 12 h of each).
	hStats, fStats := aggregates(b, s, mid.Add(-12*time.Hour), mid.Add(12*time.Hour))
	b.ReportMetric(ms(hStats[0]), "ms/histogram-24h-median")
	b.ReportMetric(ms(hStats[1]), "ms/histogram-24h-max")
	b.ReportMetric(ms(fStats[0]), "ms/facets-top10-24h-median")
	b.ReportMetric(ms(fStats[1]), "ms/facets-top10-24h-max")
	if r := rusage(b); r.Maxrss != ru1.Maxrss {
		fmt.Printf("store: peak RSS at the end (after searches): %.1f MiB\n", float64(r.Maxrss)/1024)
	}
}

func rusage(b *testing.B) syscall.Rusage {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		b.Fatal(err)
	}
	return r
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func cpuSeconds(r syscall.Rusage) float64 { return tv(r.Utime) + tv(r.Stime) }

// aggregates times a 24 h histogram (counts per hour: Hits) and the top-10
// facets of host, app, severity and tags (Facets) over [from, to), 5 runs
// each, prints the results and returns the median and max of each.
func aggregates(b *testing.B, s *Store, from, to time.Time) (hist, facets [2]time.Duration) {
	ctx := context.Background()
	q := Query{From: from, To: to}
	var hs, fs []time.Duration
	var total uint64
	var top string
	for range 5 {
		t := time.Now()
		h, err := s.Hits(ctx, q, time.Hour)
		hs = append(hs, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
		total = h.Total
		t = time.Now()
		f, err := s.Facets(ctx, q, 10)
		fs = append(fs, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
		top = fmt.Sprintf("host %v, severity %v", f["host"][:1], f["severity"][:1])
	}
	fmt.Printf("\n| aggregation (24 h, %d events)           | runs |  first ms | median ms |    max ms |\n", total)
	fmt.Printf("|%s|%s|%s|%s|%s|\n", dashes(42), dashes(6), dashes(11), dashes(11), dashes(11))
	for _, r := range []struct {
		name string
		ds   []time.Duration
	}{{"histogram, 24 hourly counts", hs}, {"top-10 facets host+app+severity+tags", fs}} {
		first := r.ds[0]
		slices.Sort(r.ds)
		fmt.Printf("| %-40s | %4d | %9.1f | %9.1f | %9.1f |\n", r.name, len(r.ds), ms(first), ms(r.ds[len(r.ds)/2]), ms(r.ds[len(r.ds)-1]))
	}
	fmt.Printf("store: top values: %s\n", top)
	slices.Sort(hs)
	slices.Sort(fs)
	return [2]time.Duration{hs[2], hs[4]}, [2]time.Duration{fs[2], fs[4]}
}
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func dashes(n int) string { return string(slices.Repeat([]byte{'-'}, n)) }

// metricName turns a case name into a metric unit without spaces.
func metricName(s string) string {
	var out []byte
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			out = append(out, c)
		case len(out) > 0 && out[len(out)-1] != '-':
			out = append(out, '-')
		}
	}
	for len(out) > 0 && out[len(out)-1] == '-' {
		out = out[:len(out)-1]
	}
	return string(out)
}

// benchGen makes realistic events cheaply: a tiny PRNG and appended strings.
type benchGen struct {
	x   uint64
	buf []byte
}

func (g *benchGen) next() uint64 { // xorshift64*
	if g.x == 0 {
		g.x = 0x9E3779B97F4A7C15
	}
	g.x ^= g.x >> 12
	g.x ^= g.x << 25
	g.x ^= g.x >> 27
	return g.x * 2685821657736338717
}

func (g *benchGen) intn(n int) int { return int(g.next() % uint64(n)) }

var (
	benchHosts = func() []string {
		var hs []string
		for _, p := range []struct {
			name string
			n    int
		}{{"web", 120}, {"db", 20}, {"cache", 20}, {"lb", 10}, {"worker", 30}} {
			for i := range p.n {
				hs = append(hs, fmt.Sprintf("%s-%02d", p.name, i))
			}
		}
		for i := range hs {
			if hs[i][:4] == "web-" {
				hs[i] = fmt.Sprintf("web-%03d", i)
			}
		}
		return hs
	}()
	benchApps = []string{"nginx", "sshd", "postgres", "kernel", "cron", "app", "haproxy", "systemd"}
	// weights (per 100) of severities 0..7: mostly info and notice
	benchSev = func() []protocol.Severity {
		var s []protocol.Severity
		for sev, w := range []int{0, 0, 1, 4, 10, 15, 62, 8} {
			for range w {
				s = append(s, protocol.Severity(sev))
			}
		}
		return s
	}()
	benchPaths = []string{"/", "/api/v1/items", "/api/v1/orders", "/login", "/static/app.js", "/healthz", "/search"}
	benchUsers = []string{"root", "deploy", "alice", "bob", "backup", "admin", "git"}
)

func (g *benchGen) event(e *protocol.Event, seq int, received time.Time) {
	r := g.intn(1000)
	host := benchHosts[g.intn(len(benchHosts))]
	app := benchApps[r%len(benchApps)]
	sev := benchSev[g.intn(len(benchSev))]
	if seq%200_000 == 7 { // rare: 50 in 10 M
		app, sev = "kernel", protocol.SevErr
	}
	b := g.buf[:0]
	num := func(n int) { b = strconv.AppendInt(b, int64(n), 10) }
	ip := func() {
		b = append(b, "10."...)
		num(g.intn(256))
		b = append(b, '.')
		num(g.intn(256))
		b = append(b, '.')
		num(g.intn(256))
	}
	switch app {
	case "nginx", "haproxy":
		ip()
		b = append(b, ` - - "GET `...)
		b = append(b, benchPaths[g.intn(len(benchPaths))]...)
		b = append(b, '/')
		num(g.intn(100000))
		b = append(b, ` HTTP/1.1" `...)
		code := 200
		switch x := g.intn(100); {
		case x < 3:
			code = 500
		case x < 10:
			code = 404
		case x < 15:
			code = 304
		}
		num(code)
		b = append(b, ' ')
		num(200 + g.intn(50000))
		b = append(b, ` rt=0.`...)
		num(g.intn(999))
		b = append(b, ` req`...)
		num(seq)
	case "sshd":
		if g.intn(4) == 0 {
			b = append(b, "Failed password for invalid user "...)
		} else {
			b = append(b, "Accepted publickey for "...)
		}
		b = append(b, benchUsers[g.intn(len(benchUsers))]...)
		b = append(b, " from "...)
		ip()
		b = append(b, " port "...)
		num(1024 + g.intn(60000))
		b = append(b, " ssh2"...)
	case "postgres":
		if g.intn(3) == 0 {
			b = append(b, "duration: "...)
			num(g.intn(5000))
			b = append(b, ".123 ms statement: SELECT * FROM orders WHERE id = "...)
			num(g.intn(1_000_000))
		} else {
			b = append(b, "connection authorized: user=app database=orders application_name=api-"...)
			num(g.intn(50))
		}
	case "kernel":
		if seq%200_000 == 7 {
			b = append(b, "Out of memory: Killed process "...)
			num(g.intn(60000))
			b = append(b, " (java) total-vm:8123456kB"...)
		} else {
			b = append(b, "eth0: renamed from veth"...)
			num(g.intn(100000))
		}
	case "cron":
		b = append(b, "(root) CMD (run-parts /etc/cron.hourly) pid "...)
		num(g.intn(60000))
	case "app":
		if sev <= protocol.SevErr {
			b = append(b, "payment failed for order "...)
			num(g.intn(10_000_000))
			b = append(b, ": card declined"...)
		} else {
			b = append(b, "order "...)
			num(g.intn(10_000_000))
			b = append(b, " processed in "...)
			num(g.intn(900))
			b = append(b, " ms"...)
		}
	case "systemd":
		b = append(b, "Started Session "...)
		num(g.intn(100000))
		b = append(b, " of User root."...)
	}
	g.buf = b
	*e = protocol.Event{ID: protocol.ID{Node: "n1", Seq: uint64(seq)}, Received: received,
		Time: received.Add(-time.Duration(g.intn(2000)) * time.Millisecond), Facility: protocol.Facility(g.intn(24)),
		Severity: sev, Host: host, App: app, Message: string(b), Transport: "udp", Peer: "10.0.0.1:514"}
}
