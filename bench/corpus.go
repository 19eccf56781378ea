package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// The chain scenario's payload. loggen's own messages are a header, a sequence
// number and "PADDPADD…" to the requested size: they compress about 30:1, which
// would make any wire-bytes figure meaningless. The chain sends instead a corpus
// of realistic RFC 5424 lines, generated here from a fixed seed (the same bytes
// in every run and on every machine), that loggen reads in a loop
// (--read-file --loop-reading --dont-parse: each line is sent as it is,
// newline-framed).
//
// What makes it realistic rather than friendly: ~60 hosts, each running a
// subset of ~14 programs with a stable PID per (host, program), as on real
// machines; ten message families in the proportions of a typical mixed
// server fleet (web access logs, sshd, firewall, database, kubelet, mail,
// cron, sudo, systemd, a key=value application log); values drawn from
// skewed pools where real logs repeat (client IPs, paths, users: a few are
// frequent, most are rare) and uniformly where real logs do not (ports, byte
// counts, durations, request/trace IDs in hex, which do not compress at all);
// timestamps with microseconds, increasing. Every line is exactly size-1
// bytes plus '\n': shorter messages get realistic key=value trailers,
// longer ones are cut.

const corpusLines = 100_000 // × 200 B = 20 MB; much larger than a relay batch (2048 events)

type corpusGen struct {
	r     *rand.Rand
	hosts []corpusHost
	ips   []string // client IPs, drawn skewed
	paths []string
	users []string
	pods  []string // pod="…" event={"ID":"…" of the k8s nodes' kubelets
	ts    time.Time
	t0    time.Time
}

type corpusHost struct {
	name string
	apps []corpusApp
	mac  string  // this host's and its gateway's MAC (firewall lines)
	boot float64 // kernel uptime at the corpus's first timestamp, seconds
}

type corpusApp struct {
	name string
	pid  int
	kind int // message family
}

const (
	kNginx = iota
	kSshd
	kKernel
	kPostgres
	kKubelet
	kPostfix
	kCron
	kSudo
	kSystemd
	kApp
)

// family weights (out of 100) per kind, in the order above
var corpusWeights = []int{30, 8, 10, 10, 10, 5, 4, 2, 6, 15}

func newCorpusGen(seed uint64) *corpusGen {
	g := &corpusGen{r: rand.New(rand.NewPCG(seed, 0x6c6f677061636b)), ts: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	g.t0 = g.ts
	r := g.r
	roles := []struct {
		prefix string
		n      int
		apps   []int
	}{
		{"web", 14, []int{kNginx, kSshd, kKernel, kCron, kSystemd, kSudo, kApp}},
		{"api", 10, []int{kApp, kNginx, kSshd, kSystemd, kCron, kKernel}},
		{"db", 6, []int{kPostgres, kSshd, kCron, kSystemd, kKernel, kSudo}},
		{"k8s-node", 16, []int{kKubelet, kKernel, kSystemd, kSshd, kApp}},
		{"mail", 4, []int{kPostfix, kSshd, kSystemd, kCron, kKernel}},
		{"edge-fw", 6, []int{kKernel, kSshd, kSystemd}},
		{"batch", 4, []int{kCron, kApp, kSystemd, kSudo, kSshd}},
	}
	appNames := map[int][]string{
		kNginx: {"nginx"}, kSshd: {"sshd"}, kKernel: {"kernel"}, kPostgres: {"postgres"},
		kKubelet: {"kubelet"}, kPostfix: {"postfix/smtp", "postfix/qmgr"}, kCron: {"CRON"},
		kSudo: {"sudo"}, kSystemd: {"systemd"}, kApp: {"billing-api", "orders-svc", "auth-svc", "search-api"},
	}
	dcs := []string{"fra1", "ams2", "nyc3"}
	for _, role := range roles {
		for i := 1; i <= role.n; i++ {
			h := corpusHost{name: fmt.Sprintf("%s-%02d.%s.prod.example.com", role.prefix, i, dcs[r.IntN(len(dcs))]),
				mac: fmt.Sprintf("52:54:00:%02x:%02x:%02x:fe:54:00:%02x:%02x:%02x:08:00", r.IntN(256), r.IntN(256), r.IntN(256),
					r.IntN(256), r.IntN(256), r.IntN(256)),
				boot: float64(3600 + r.IntN(90*86400))}
			for _, k := range role.apps {
				for _, a := range appNames[k] {
					pid := 300 + r.IntN(60000)
					if k == kKernel {
						pid = 0
					}
					h.apps = append(h.apps, corpusApp{name: a, pid: pid, kind: k})
				}
			}
			g.hosts = append(g.hosts, h)
		}
	}
	for i := 0; i < 5000; i++ {
		switch r.IntN(4) {
		case 0:
			g.ips = append(g.ips, fmt.Sprintf("10.%d.%d.%d", r.IntN(32), r.IntN(256), 1+r.IntN(254)))
		case 1:
			g.ips = append(g.ips, fmt.Sprintf("192.168.%d.%d", r.IntN(16), 1+r.IntN(254)))
		default:
			g.ips = append(g.ips, fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254)))
		}
	}
	resources := []string{"orders", "customers", "invoices", "products", "carts", "sessions", "payments", "users", "shipments", "reports"}
	for i := 0; i < 400; i++ {
		res := resources[r.IntN(len(resources))]
		switch r.IntN(5) {
		case 0:
			g.paths = append(g.paths, fmt.Sprintf("/api/v%d/%s", 1+r.IntN(2), res))
		case 1:
			g.paths = append(g.paths, fmt.Sprintf("/static/%s/%x.%s", []string{"js", "css", "img"}[r.IntN(3)], r.Uint32(), []string{"js", "css", "png", "webp"}[r.IntN(4)]))
		default:
			g.paths = append(g.paths, fmt.Sprintf("/api/v%d/%s/%d", 1+r.IntN(2), res, r.IntN(1_000_000)))
		}
	}
	for i := 0; i < 60; i++ {
		g.pods = append(g.pods, fmt.Sprintf(`pod="default/%s-%s-%s" event={"ID":"%s"`, k8sPods[g.skew(len(k8sPods))],
			g.hex(9+r.IntN(2)), g.hex(5), g.hex(64)))
	}
	g.users = []string{"deploy", "root", "ubuntu", "admin", "backup", "jenkins", "ansible", "postgres", "www-data", "monitor",
		"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent"}
	return g
}

// skew picks an index in [0, n): low indices much more often (a few hot values,
// a long tail), as client IPs, URLs and users are in real logs.
func (g *corpusGen) skew(n int) int {
	f := g.r.Float64()
	return int(float64(n) * f * f * f)
}

func (g *corpusGen) ip() string   { return g.ips[g.skew(len(g.ips))] }
func (g *corpusGen) path() string { return g.paths[g.skew(len(g.paths))] }
func (g *corpusGen) user() string { return g.users[g.skew(len(g.users))] }
func (g *corpusGen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

var (
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"curl/8.5.0", "Go-http-client/2.0", "python-requests/2.32.3", "kube-probe/1.31",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	}
	methods    = []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD"}
	statuses   = []int{200, 200, 200, 200, 200, 200, 204, 301, 304, 304, 400, 401, 403, 404, 404, 500, 502}
	sqls       = []string{"SELECT id, status, total FROM orders WHERE customer_id = %d", "UPDATE carts SET updated_at = now() WHERE id = %d", "INSERT INTO events (kind, ref) VALUES ('login', %d)", "SELECT * FROM invoices WHERE due < now() AND account = %d", "DELETE FROM sessions WHERE expires < now() - interval '%d minutes'"}
	levels     = []string{"info", "info", "info", "info", "debug", "warn", "error"}
	appMsgs    = []string{"request completed", "cache miss", "retrying upstream call", "payment authorized", "token refreshed", "order created", "rate limit exceeded", "slow query", "user logged in", "webhook delivered"}
	k8sPods    = []string{"web", "orders", "billing", "auth", "search", "redis", "fluent-bit", "coredns", "ingress-nginx-controller", "prometheus-node-exporter"}
	systemdMsg = []string{"Started Session %d of User %s.", "session-%d.scope: Deactivated successfully.", "Starting Daily apt download activities (%d)...", "logrotate.service: Consumed %d.%03ds CPU time.", "Started snapshot-%d.service - Periodic snapshot.", "user@%d.service: Deactivated successfully."}
	cronCmds   = []string{"/usr/local/bin/backup.sh --incremental", "command -v debian-sa1 > /dev/null && debian-sa1 1 1", "/usr/bin/certbot renew -q", "cd / && run-parts --report /etc/cron.hourly", "/opt/app/bin/reindex --shard %d"}
)

var trailers = []func(g *corpusGen) string{
	func(g *corpusGen) string { return fmt.Sprintf("conn=%d", g.r.IntN(1_000_000)) },
	func(g *corpusGen) string { return fmt.Sprintf("bytes_in=%d", g.r.IntN(g.r.IntN(100_000)+1)) },
	func(g *corpusGen) string { return fmt.Sprintf("bytes_out=%d", g.r.IntN(g.r.IntN(100_000)+1)) },
	func(g *corpusGen) string { return fmt.Sprintf("upstream_ms=%d", g.r.IntN(g.r.IntN(2000)+1)) },
	func(g *corpusGen) string { return fmt.Sprintf("retries=%d", g.skew(4)) },
	func(g *corpusGen) string { return fmt.Sprintf("worker=%d", g.r.IntN(16)) },
	func(g *corpusGen) string { return fmt.Sprintf("shard=%d", g.r.IntN(64)) },
	func(g *corpusGen) string { return "cache=" + []string{"hit", "hit", "hit", "miss"}[g.r.IntN(4)] },
	func(g *corpusGen) string { return "tls=" + []string{"TLSv1.3", "TLSv1.3", "TLSv1.2"}[g.r.IntN(3)] },
	func(g *corpusGen) string { return fmt.Sprintf("client=%s", g.ip()) },
}

// line returns one RFC 5424 line of exactly size-1 bytes (no newline).
func (g *corpusGen) line(size int) string {
	r := g.r
	g.ts = g.ts.Add(time.Duration(r.IntN(2000)) * time.Microsecond)
	h := &g.hosts[g.skew(len(g.hosts))]
	// pick a family by weight among this host's programs
	var a *corpusApp
	for a == nil {
		w := r.IntN(100)
		k := 0
		for ; k < len(corpusWeights)-1 && w >= corpusWeights[k]; k++ {
			w -= corpusWeights[k]
		}
		var cand []*corpusApp
		for i := range h.apps {
			if h.apps[i].kind == k {
				cand = append(cand, &h.apps[i])
			}
		}
		if len(cand) > 0 {
			a = cand[r.IntN(len(cand))]
		}
	}
	fac, sev, msgid, sd := 3, 6, "-", "-" // daemon.info
	var msg string
	switch a.kind {
	case kNginx:
		fac, msgid = 23, "access"
		st := statuses[r.IntN(len(statuses))]
		msg = fmt.Sprintf(`%s - - "%s %s HTTP/1.1" %d %d "-" "%s" rt=%.3f req_id=%s`, g.ip(), methods[r.IntN(len(methods))],
			g.path(), st, r.IntN(90000), userAgents[g.skew(len(userAgents))], r.Float64()*r.Float64()*2, g.hex(16))
	case kSshd:
		fac = 10
		switch r.IntN(4) {
		case 0:
			msg = fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s", g.user(), g.ip(), 1024+r.IntN(64000), g.hex(32))
		case 1:
			sev = 5
			msg = fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", g.user(), g.ip(), 1024+r.IntN(64000))
		case 2:
			msg = fmt.Sprintf("Disconnected from user %s %s port %d", g.user(), g.ip(), 1024+r.IntN(64000))
		default:
			msg = fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", g.user(), 1000+r.IntN(30))
		}
	case kKernel:
		fac, sev = 0, 4
		msg = fmt.Sprintf("[%.6f] [UFW BLOCK] IN=eth0 OUT= MAC=%s SRC=%s DST=10.0.%d.%d LEN=%d TOS=0x00 TTL=%d ID=%d PROTO=TCP SPT=%d DPT=%d SYN",
			h.boot+g.ts.Sub(g.t0).Seconds(), h.mac, g.ip(), r.IntN(4), r.IntN(256),
			40+r.IntN(1400), 32+r.IntN(96), r.IntN(65536), 1024+r.IntN(64000), []int{22, 23, 80, 443, 3389, 5432, 6379, 8080}[r.IntN(8)])
	case kPostgres:
		fac = 16
		msg = fmt.Sprintf("[%d-1] user=app,db=shop LOG:  duration: %.3f ms  statement: "+sqls[r.IntN(len(sqls))],
			r.IntN(100000), r.Float64()*r.Float64()*900, r.IntN(2_000_000))
	case kKubelet:
		msg = fmt.Sprintf(`I1124 %s %d kubelet.go:%d] "SyncLoop (PLEG): event for pod" %s,"Type":"Container%s","Data":"%s"}`,
			g.ts.Format("15:04:05.000000"), a.pid, []int{2157, 2404, 2452}[r.IntN(3)], g.pods[g.skew(len(g.pods))],
			[]string{"Started", "Died", "Started"}[r.IntN(3)], g.hex(64))
	case kPostfix:
		fac = 2
		msg = fmt.Sprintf("%s: to=<%s@%s>, relay=mx%d.%s[%s]:25, delay=%.2f, delays=%.2f/0/%.2f/%.2f, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %s)",
			strings.ToUpper(g.hex(10)), g.user(), []string{"example.org", "mail.example.net", "corp.example.com"}[r.IntN(3)],
			1+r.IntN(3), []string{"example.org", "example.net"}[r.IntN(2)], g.ip(), r.Float64()*3, r.Float64(), r.Float64(), r.Float64(), strings.ToUpper(g.hex(10)))
	case kCron:
		fac = 9
		c := cronCmds[r.IntN(len(cronCmds))]
		if strings.Contains(c, "%d") {
			c = fmt.Sprintf(c, r.IntN(64))
		}
		msg = fmt.Sprintf("(%s) CMD (%s)", g.user(), c)
	case kSudo:
		fac, sev = 10, 5
		msg = fmt.Sprintf("%s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=/usr/bin/systemctl restart %s", g.user(), r.IntN(8), g.user(),
			[]string{"nginx", "postgresql", "billing-api", "kubelet", "postfix"}[r.IntN(5)])
	case kSystemd:
		t := systemdMsg[r.IntN(len(systemdMsg))]
		if strings.Count(t, "%") == 2 && strings.Contains(t, "%s") {
			msg = fmt.Sprintf(t, r.IntN(90000), g.user())
		} else if strings.Count(t, "%") == 2 {
			msg = fmt.Sprintf(t, r.IntN(40), r.IntN(1000))
		} else {
			msg = fmt.Sprintf(t, r.IntN(90000))
		}
	case kApp:
		fac = 16 + r.IntN(4) // local0..local3
		lv := levels[r.IntN(len(levels))]
		sev = map[string]int{"debug": 7, "info": 6, "warn": 4, "error": 3}[lv]
		if r.IntN(3) == 0 {
			sd = fmt.Sprintf(`[req@32473 id="%s" tenant="t%d"]`, g.hex(12), g.skew(500))
		}
		msg = fmt.Sprintf(`level=%s caller=%s.go:%d msg="%s" method=%s path=%s status=%d duration_ms=%d user_id=%d trace_id=%s`,
			lv, []string{"handler", "service", "store", "client"}[r.IntN(4)], 20+r.IntN(400), appMsgs[r.IntN(len(appMsgs))],
			methods[r.IntN(len(methods))], g.path(), statuses[r.IntN(len(statuses))], r.IntN(r.IntN(2000)+1), r.IntN(500000), g.hex(32))
	}
	pid := "-"
	if a.pid != 0 {
		pid = strconv.Itoa(a.pid)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s %s %s", fac*8+sev, g.ts.Format("2006-01-02T15:04:05.000000Z07:00"), h.name, a.name, pid, msgid, sd, msg)
	// short messages: key=value trailers as applications append them, each key
	// once, values small and repetitive where they are in real logs
	for i, p := range r.Perm(len(trailers)) {
		if b.Len() >= size-1 {
			break
		}
		if i == len(trailers)-1 {
			p = 0 // out of keys (a very short message): repeat conn= as needed
		}
		b.WriteByte(' ')
		b.WriteString(trailers[p](g))
	}
	for b.Len() < size-1 {
		b.WriteByte(' ')
		b.WriteString(trailers[0](g))
	}
	l := []byte(b.String()[:size-1])
	if l[len(l)-1] == ' ' { // receivers may trim a trailing space; keep lines comparable
		l[len(l)-1] = '.'
	}
	return string(l)
}

// writeCorpus writes corpusLines lines of exactly size bytes (with '\n') to path.
func writeCorpus(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	g := newCorpusGen(20261124)
	w := bufio.NewWriterSize(f, 1<<20)
	for i := 0; i < corpusLines; i++ {
		l := g.line(size)
		if len(l) != size-1 || strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("corpus line %d: %d bytes, want %d", i, len(l), size-1)
		}
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// describeCorpus returns a one-line description of the corpus at path: lines,
// mean size, and how well gzip compresses it (a yardstick for the relay's wire
// bytes: the payload's own redundancy bounds what any compression can do).
func describeCorpus(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	n := bytes.Count(b, []byte{'\n'})
	if n == 0 {
		return "", fmt.Errorf("%s: no lines", path)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return fmt.Sprintf("%d lines, %.1f B each on average (with the newline), gzip -6 of the whole file: %.3f of raw",
		n, float64(len(b))/float64(n), float64(gz.Len())/float64(len(b))), nil
}

// corpusTails returns the set of the last tailLen bytes of every corpus line:
// whatever a receiver prints around the message, the line's end is the
// message's end, so an output line can be matched to the corpus by it.
func corpusTails(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for l := range bytes.Lines(b) {
		l = bytes.TrimRight(l, " \t\r\n") // receivers may trim trailing blanks
		if len(l) >= tailLen {
			set[string(l[len(l)-tailLen:])] = true
		}
	}
	return set, nil
}

const tailLen = 48
