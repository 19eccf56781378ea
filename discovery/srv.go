package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// srvUpstreams resolves one SRV name.
type srvUpstreams struct {
	name string // as configured
	fqdn string // dns.Fqdn(name)
	o    Options

	mu       sync.Mutex
	recs     []record        // the current answer (nil: none yet)
	addrs    map[string]bool // its targets' Addrs
	ntargets int
	have     bool      // there is a good answer
	lastGood time.Time // when it was obtained
	expires  time.Time // when it needs re-resolving
	last     time.Time // when the last lookup ended (good or not)
	nextTry  time.Time // after a failure with an answer kept: not before this
	failed   bool      // Failed asked for a re-resolve
	inflight chan struct{}
	stale    bool
	warned   bool // the failure streak was logged
	lastErr  error
	dropped  map[string]bool // targets without an address at the last lookup (warned about)
	lookups  uint64
	failures uint64
}

var _ Upstreams = (*srvUpstreams)(nil)

func newSRV(name string, o Options) *srvUpstreams {
	return &srvUpstreams{name: name, fqdn: dns.Fqdn(name), o: o}
}

func (u *srvUpstreams) String() string { return srvPrefix + u.name }

func (u *srvUpstreams) Failed(string) {
	u.mu.Lock()
	u.failed = true
	u.mu.Unlock()
}

func (u *srvUpstreams) Has(addr string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.addrs[normAddr(addr)]
}

func (u *srvUpstreams) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := Stats{Lookups: u.lookups, LookupFailures: u.failures, Stale: u.stale, Targets: u.ntargets, LastGood: u.lastGood}
	if u.lastErr != nil {
		s.LastError = u.lastErr.Error()
	}
	return s
}

// due reports whether Order must look up before answering (caller holds mu).
func (u *srvUpstreams) due(now time.Time) bool {
	if !u.have {
		// Never had an answer: every Order asks again, but not more often
		// than MinTTL.
		return u.last.IsZero() || now.Sub(u.last) >= u.o.MinTTL
	}
	if now.Before(u.nextTry) {
		return false
	}
	if !now.Before(u.expires) {
		return true
	}
	return u.failed && now.Sub(u.last) >= u.o.MinTTL
}

func (u *srvUpstreams) Order(ctx context.Context) ([]Target, error) {
	u.mu.Lock()
	var ctxErr error
	for u.due(u.o.Now()) {
		if u.inflight != nil {
			if u.have {
				break // another caller is looking up: use the current answer
			}
			ch := u.inflight
			u.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, fmt.Errorf("discovery: %s: %w", u, ctx.Err())
			}
			u.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		u.inflight = ch
		u.mu.Unlock()
		recs, ttl, err := u.lookup(ctx)
		u.mu.Lock()
		u.inflight = nil
		close(ch)
		if err != nil && errors.Is(ctx.Err(), context.Canceled) {
			// The caller gave up: that says nothing about DNS.
			ctxErr = err
		} else {
			u.apply(recs, ttl, err)
		}
		break
	}
	defer u.mu.Unlock()
	if !u.have {
		if u.lastErr == nil {
			if ctxErr == nil {
				ctxErr = ctx.Err()
			}
			if ctxErr == nil {
				ctxErr = errors.New("no lookup completed")
			}
			return nil, fmt.Errorf("discovery: %s: no answer yet: %w", u, ctxErr)
		}
		return nil, u.lastErr
	}
	return flatten(orderRecords(u.o.Rand, u.recs)), nil
}

// apply records a lookup's result (caller holds mu).
func (u *srvUpstreams) apply(recs []record, ttl time.Duration, err error) {
	now := u.o.Now()
	u.last = now
	u.lookups++
	u.failed = false
	log := u.o.Logger
	if err != nil {
		u.failures++
		u.lastErr = fmt.Errorf("discovery: %s: %w", u, err)
		if !u.have {
			if !u.warned {
				log.Warn("discovery: lookup failed, no answer yet", "name", u.name, "err", err)
				u.warned = true
			}
			return
		}
		u.stale = true
		u.nextTry = now.Add(u.o.Retry)
		if !u.warned {
			log.Warn("discovery: lookup failed, keeping the last answer", "name", u.name, "err", err,
				"age", now.Sub(u.lastGood).Round(time.Millisecond), "targets", u.ntargets)
			u.warned = true
		}
		return
	}
	if u.warned {
		log.Info("discovery: lookup succeeded again", "name", u.name, "targets", countTargets(recs))
		u.warned = false
	}
	changed := !sameAnswer(u.recs, recs)
	u.recs = recs
	u.addrs = make(map[string]bool)
	for _, rc := range recs {
		for _, t := range rc.targets {
			u.addrs[t.Addr] = true
		}
	}
	u.ntargets = countTargets(recs)
	u.have = true
	u.stale = false
	u.lastErr = nil
	u.lastGood = now
	u.nextTry = time.Time{}
	ttl = min(max(ttl, u.o.MinTTL), u.o.MaxTTL)
	u.expires = now.Add(ttl)
	if changed {
		log.Info("discovery: answer", "name", u.name, "targets", describe(recs), "ttl", ttl)
	} else {
		log.Debug("discovery: answer unchanged", "name", u.name, "ttl", ttl)
	}
}

func countTargets(recs []record) int {
	n := 0
	for _, rc := range recs {
		n += len(rc.targets)
	}
	return n
}

// describe lists an answer for the log: "prio/weight name addr,addr".
func describe(recs []record) []string {
	out := make([]string, 0, len(recs))
	for _, rc := range recs {
		addrs := make([]string, len(rc.targets))
		for i, t := range rc.targets {
			addrs[i] = t.Addr
		}
		out = append(out, fmt.Sprintf("%d/%d %s %s", rc.Priority, rc.Weight, rc.Target, strings.Join(addrs, ",")))
	}
	return out
}

func sameAnswer(a, b []record) bool {
	return slices.EqualFunc(a, b, func(x, y record) bool {
		return x.Priority == y.Priority && x.Weight == y.Weight && x.Target == y.Target && x.Port == y.Port &&
			slices.Equal(x.targets, y.targets)
	})
}

// Lookup errors that are not the resolver's.
var (
	errNoRecords = errors.New("no SRV records")
	errNoService = errors.New(`the service is not available (SRV target ".")`)
	errNoAddress = errors.New("no SRV target resolves to an address")
)

// server returns the resolver to ask.
func (u *srvUpstreams) server() (string, error) {
	if u.o.Resolver != "" {
		return u.o.Resolver, nil
	}
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return "", fmt.Errorf("no resolver: %w", err)
	}
	if len(cfg.Servers) == 0 {
		return "", errors.New("no resolver: /etc/resolv.conf lists no nameserver")
	}
	port := cfg.Port
	if port == "" {
		port = "53"
	}
	return net.JoinHostPort(cfg.Servers[0], port), nil
}

// lookup resolves the SRV name and its targets. ttl is the smallest TTL of
// the SRV records used.
//
// Each exchange is bounded by Timeout; the whole lookup (the SRV exchange,
// maybe again over TCP, then the targets' A and AAAA queries, 8 targets at a
// time) by 4 × Timeout, and by ctx.
func (u *srvUpstreams) lookup(ctx context.Context) ([]record, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*u.o.Timeout)
	defer cancel()
	server, err := u.server()
	if err != nil {
		return nil, 0, err
	}
	r, err := u.exchange(ctx, server, u.fqdn, dns.TypeSRV)
	if err != nil {
		return nil, 0, err
	}
	var (
		srvs []*dns.SRV
		dots int
		ttl  uint32
	)
	for _, rr := range r.Answer {
		s, ok := rr.(*dns.SRV)
		if !ok {
			continue
		}
		if s.Target == "." {
			dots++
			continue
		}
		if len(srvs) == 0 || s.Hdr.Ttl < ttl {
			ttl = s.Hdr.Ttl
		}
		srvs = append(srvs, s)
	}
	if len(srvs) == 0 {
		if dots > 0 {
			return nil, 0, errNoService
		}
		return nil, 0, errNoRecords
	}
	glue := make(map[string][]netip.Addr)
	for _, rr := range r.Extra {
		if a, ok := addrOf(rr); ok {
			k := strings.ToLower(rr.Header().Name)
			glue[k] = append(glue[k], a)
		}
	}

	recs := make([]record, len(srvs))
	errs := make([]error, len(srvs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range srvs {
		name := strings.TrimSuffix(s.Target, ".")
		recs[i] = record{Priority: s.Priority, Weight: s.Weight, Target: name, Port: s.Port}
		if ip, err := netip.ParseAddr(name); err == nil {
			recs[i].targets = targetsOf(recs[i], []netip.Addr{ip})
			continue
		}
		if g := glue[strings.ToLower(dns.Fqdn(s.Target))]; len(g) > 0 {
			recs[i].targets = targetsOf(recs[i], g)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var ips []netip.Addr
			ips, errs[i] = u.addresses(ctx, server, s.Target)
			recs[i].targets = targetsOf(recs[i], ips)
		}()
	}
	wg.Wait()

	// Drop targets without an address (warning once per target and streak)
	// and addresses listed twice.
	seen := make(map[string]bool)
	dropped := make(map[string]bool)
	out := recs[:0]
	for i, rc := range recs {
		ts := rc.targets[:0]
		for _, t := range rc.targets {
			if !seen[t.Addr] {
				seen[t.Addr] = true
				ts = append(ts, t)
			}
		}
		rc.targets = ts
		if len(ts) == 0 {
			key := rc.Target + ":" + strconv.Itoa(int(rc.Port))
			dropped[key] = true
			if !u.droppedBefore(key) {
				reason := "no A or AAAA records"
				if errs[i] != nil {
					reason = errs[i].Error()
				}
				u.o.Logger.Warn("discovery: SRV target has no address, dropped", "name", u.name, "target", rc.Target,
					"port", rc.Port, "err", reason)
			}
			continue
		}
		out = append(out, rc)
	}
	u.mu.Lock()
	u.dropped = dropped
	u.mu.Unlock()
	// A fixed order for the answer: a resolver that rotates its records has
	// not changed them.
	slices.SortFunc(out, func(a, b record) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), strings.Compare(a.Target, b.Target),
			cmp.Compare(a.Port, b.Port), cmp.Compare(a.Weight, b.Weight))
	})
	if len(out) == 0 {
		if err := errors.Join(errs...); err != nil {
			return nil, 0, fmt.Errorf("%w: %w", errNoAddress, err)
		}
		return nil, 0, errNoAddress
	}
	return out, time.Duration(ttl) * time.Second, nil
}

func (u *srvUpstreams) droppedBefore(key string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.dropped[key]
}

// targetsOf makes one Target per address, IPv4 first, in a fixed order (so
// that an answer that only comes in another order is not a change).
func targetsOf(rc record, ips []netip.Addr) []Target {
	ips = slices.Clone(ips)
	slices.SortFunc(ips, netip.Addr.Compare)
	ips = slices.Compact(ips)
	ts := make([]Target, len(ips))
	for i, ip := range ips {
		ts[i] = Target{Addr: netip.AddrPortFrom(ip, rc.Port).String(), Name: rc.Target, Priority: rc.Priority, Weight: rc.Weight}
	}
	return ts
}

func addrOf(rr dns.RR) (netip.Addr, bool) {
	var ip net.IP
	switch rr := rr.(type) {
	case *dns.A:
		ip = rr.A
	case *dns.AAAA:
		ip = rr.AAAA
	default:
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, false
	}
	if _, is4 := rr.(*dns.A); is4 {
		a = a.Unmap()
	}
	return a, true
}

// addresses asks for name's A, then AAAA records. It fails only when both
// queries fail.
func (u *srvUpstreams) addresses(ctx context.Context, server, name string) ([]netip.Addr, error) {
	var ips []netip.Addr
	var errs []error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		r, err := u.exchange(ctx, server, dns.Fqdn(name), qt)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", dns.TypeToString[qt], strings.TrimSuffix(name, "."), err))
			continue
		}
		for _, rr := range r.Answer {
			if rr.Header().Rrtype != qt {
				continue // a CNAME on the way
			}
			if a, ok := addrOf(rr); ok {
				ips = append(ips, a)
			}
		}
	}
	if len(ips) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ips, nil
}

// rcodeError is an answer with an error code (NXDOMAIN, SERVFAIL, ...).
type rcodeError struct {
	name  string
	qtype uint16
	rcode int
}

func (e *rcodeError) Error() string {
	rc, ok := dns.RcodeToString[e.rcode]
	if !ok {
		rc = "RCODE" + strconv.Itoa(e.rcode)
	}
	return fmt.Sprintf("%s %s: %s", dns.TypeToString[e.qtype], strings.TrimSuffix(e.name, "."), rc)
}

// exchange asks server one question over UDP, again over TCP when the
// answer is truncated. Each exchange is bounded by Timeout and ctx. An answer
// whose RCODE is not NOERROR is an *rcodeError, except NXDOMAIN for an
// address query (the name has no addresses).
func (u *srvUpstreams) exchange(ctx context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	r, err := u.exchangeNet(ctx, "udp", server, m)
	if r != nil && r.Truncated {
		r, err = u.exchangeNet(ctx, "tcp", server, m)
	}
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess {
		if r.Rcode == dns.RcodeNameError && qtype != dns.TypeSRV {
			return r, nil
		}
		return nil, &rcodeError{name: name, qtype: qtype, rcode: r.Rcode}
	}
	return r, nil
}

func (u *srvUpstreams) exchangeNet(ctx context.Context, network, server string, m *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, u.o.Timeout)
	defer cancel()
	c := &dns.Client{Net: network, Timeout: u.o.Timeout}
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// miekg/dns honours the context's deadline only: close the connection
	// when the caller cancels, so that Order returns at once.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%s: %w", server, ctx.Err())
	}
	if err != nil && r != nil && r.Truncated {
		err = nil
	}
	return r, err
}
