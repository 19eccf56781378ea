package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Target is one parent to dial.
type Target struct {
	Addr string `json:"addr"` // "ip:port" (or "host:port" for a static entry) to dial
	// Name is the host name the target was given by (the SRV target without
	// its trailing dot, or the static entry's host): the TLS server name.
	Name     string `json:"name"`
	Priority uint16 `json:"priority"` // from SRV (static entries: their position 0,1,2...)
	Weight   uint16 `json:"weight"`   // from SRV (static entries: 0)
}

// Options tune New. The zero value is usable.
type Options struct {
	// Resolver is the "host:port" of the DNS server to ask (UDP, falling back to
	// TCP when the answer is truncated). "" = the first nameserver of
	// /etc/resolv.conf, port 53 (read again at every lookup).
	Resolver string
	MinTTL   time.Duration // floor for an answer's lifetime, and the minimum gap between lookups asked for by Failed (default 1s)
	MaxTTL   time.Duration // ceiling on an answer's lifetime (default 5m)
	Retry    time.Duration // after a failed lookup while an old answer is kept, try again after this (default 5s)
	Timeout  time.Duration // one DNS exchange (default 2s)
	Logger   *slog.Logger  // nil = discard
	Rand     *rand.Rand    // nil = seeded randomly; used under the Upstreams' mutex only
	Now      func() time.Time
}

// Defaults of Options.
const (
	DefaultMinTTL  = time.Second
	DefaultMaxTTL  = 5 * time.Minute
	DefaultRetry   = 5 * time.Second
	DefaultTimeout = 2 * time.Second
)

// Upstreams is a [relay] upstream setting, resolved.
type Upstreams interface {
	// Order returns the targets in the order to try now.
	// SRV: lowest priority first; within one priority a weighted random order
	// per RFC 2782 (weight-0 targets last within their priority, in random
	// order; a new random order every call). It first re-resolves when the
	// answer's TTL (clamped to [MinTTL, MaxTTL]) has expired or Failed asked
	// for it, synchronously, bounded by ctx and Timeout. When that lookup fails
	// it keeps and returns the last good answer, logs a warning once per
	// failure streak, sets Stats().Stale, and tries again after Retry. It
	// returns an error only when it has never had a good answer.
	// Static lists: the entries in the order given, every time, never an error.
	Order(ctx context.Context) ([]Target, error)
	// Failed reports that the target at addr could not be reached or its link
	// failed: the next Order re-resolves (but not more often than MinTTL).
	Failed(addr string)
	// Has reports whether addr is in the current answer (the client moves
	// away from a target that left DNS).
	Has(addr string) bool
	Stats() Stats
	String() string // the spec as configured (normalised: see New)
}

// Stats are an Upstreams' counters and state (metrics logpacker_discovery_*).
type Stats struct {
	Lookups        uint64    `json:"lookups"`         // DNS lookups done
	LookupFailures uint64    `json:"lookup_failures"` // DNS lookups failed
	Stale          bool      `json:"stale"`           // the last lookup failed and an older answer is in use
	Targets        int       `json:"targets"`         // targets in the current answer
	LastGood       time.Time `json:"last_good"`       // when the current answer was obtained (zero: none yet, or a static list)
	LastError      string    `json:"last_error"`      // the last failed lookup's error ("" after a good one)
}

// srvPrefix starts an SRV spec (matched without regard to case).
const srvPrefix = "srv:"

// New parses spec: "srv:_logpacker._udp.example.org" (one SRV name; a
// trailing dot is optional) or a static comma-separated "host:port, host:port"
// list (IPv6 as [::1]:port). It does no lookup (the first Order does).
//
// String() of the result is the spec normalised: "srv:" + the name as given,
// or the entries as "host:port" (IP literals in their canonical form, ports
// without leading zeros) joined by ", ". New(u.String()) gives the same
// Upstreams again.
func New(spec string, o Options) (Upstreams, error) {
	if err := o.defaults(); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, errors.New("discovery: empty upstream: want srv:NAME or host:port[, host:port...]")
	}
	if len(s) >= len(srvPrefix) && strings.EqualFold(s[:len(srvPrefix)], srvPrefix) {
		name := strings.TrimSpace(s[len(srvPrefix):])
		if err := checkSRVName(name); err != nil {
			return nil, fmt.Errorf("discovery: upstream %q: %w", spec, err)
		}
		return newSRV(name, o), nil
	}
	ts, err := parseStatic(s)
	if err != nil {
		return nil, fmt.Errorf("discovery: upstream %q: %w", spec, err)
	}
	return newStatic(ts), nil
}

func (o *Options) defaults() error {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"MinTTL", &o.MinTTL, DefaultMinTTL}, {"MaxTTL", &o.MaxTTL, DefaultMaxTTL}, {"Retry", &o.Retry, DefaultRetry}, {"Timeout", &o.Timeout, DefaultTimeout}} {
		if *d.v < 0 {
			return fmt.Errorf("option %s is negative (%v)", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.MaxTTL < o.MinTTL {
		return fmt.Errorf("option MaxTTL (%v) is below MinTTL (%v)", o.MaxTTL, o.MinTTL)
	}
	if o.Resolver != "" {
		host, port, err := net.SplitHostPort(o.Resolver)
		if err != nil {
			return fmt.Errorf("option Resolver %q: want host:port: %v", o.Resolver, err)
		}
		if host == "" {
			return fmt.Errorf("option Resolver %q: no host", o.Resolver)
		}
		if _, err := parsePort(port); err != nil {
			return fmt.Errorf("option Resolver %q: %w", o.Resolver, err)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// checkSRVName checks an SRV owner name: labels of letters, digits, '-' and
// '_' (1-63 bytes each, 253 in all), an optional trailing dot, and a last
// label that is not all digits (RFC 3696 §2: so "srv:53" is refused instead
// of being read as the name "53").
func checkSRVName(name string) error {
	if name == "" {
		return errors.New(`"srv:" needs a name, as in srv:_logpacker._udp.example.org`)
	}
	if strings.ContainsAny(name, ", \t") {
		return fmt.Errorf("bad SRV name %q: srv: takes exactly one name (no list, no spaces)", name)
	}
	if err := checkDomainName(name); err != nil {
		return fmt.Errorf("bad SRV name %q: %w", name, err)
	}
	return nil
}

// checkDomainName checks a host or SRV name (see checkSRVName).
func checkDomainName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" {
		return errors.New("the root name is not a host")
	}
	if len(n) > 253 {
		return fmt.Errorf("%d bytes long (at most 253)", len(n))
	}
	labels := strings.Split(n, ".")
	for _, l := range labels {
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q is %d bytes long (at most 63)", l, len(l))
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("label %q has the character %q (letters, digits, '-' and '_' only)", l, rune(c))
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with '-'", l)
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("the last label %q is all digits (not a host name, nor an IP address)", last)
	}
	return nil
}

func parsePort(p string) (uint16, error) {
	if p == "" {
		return 0, errors.New("missing port")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, fmt.Errorf("bad port %q: want a number 1-65535", p)
		}
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad port %q: want a number 1-65535", p)
	}
	return uint16(n), nil
}

// parseStatic parses "host:port, host:port".
func parseStatic(s string) ([]Target, error) {
	parts := strings.Split(s, ",")
	ts := make([]Target, 0, len(parts))
	seen := make(map[string]int, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("element %d of %d is empty", i+1, len(parts))
		}
		t, err := parseHostPort(p)
		if err != nil {
			return nil, fmt.Errorf("element %d %q: %w", i+1, p, err)
		}
		if j, ok := seen[t.Addr]; ok {
			return nil, fmt.Errorf("element %d %q: the same address as element %d", i+1, p, j+1)
		}
		seen[t.Addr] = i
		t.Priority = uint16(min(i, 0xffff))
		ts = append(ts, t)
	}
	return ts, nil
}

func parseHostPort(p string) (Target, error) {
	if strings.ContainsAny(p, " \t") {
		return Target{}, errors.New("contains a space (separate entries with commas)")
	}
	if !strings.HasPrefix(p, "[") && strings.Count(p, ":") > 1 {
		return Target{}, errors.New("an IPv6 address needs brackets: [::1]:port")
	}
	host, port, err := net.SplitHostPort(p)
	if err != nil {
		if ae, ok := err.(*net.AddrError); ok && ae.Err == "missing port in address" {
			return Target{}, errors.New("missing port: want host:port")
		}
		return Target{}, fmt.Errorf("want host:port: %v", err)
	}
	if host == "" {
		return Target{}, errors.New("missing host: want host:port")
	}
	n, err := parsePort(port)
	if err != nil {
		return Target{}, err
	}
	bracketed := strings.HasPrefix(p, "[")
	if ip, err := netip.ParseAddr(host); err == nil {
		if bracketed != ip.Is6() {
			return Target{}, fmt.Errorf("brackets are for IPv6 addresses only, as in [::1]:%d", n)
		}
		return Target{Addr: netip.AddrPortFrom(ip, n).String(), Name: ip.String()}, nil
	}
	if bracketed {
		return Target{}, fmt.Errorf("bad IPv6 address %q", host)
	}
	if err := checkDomainName(host); err != nil {
		return Target{}, fmt.Errorf("bad host %q: %w", host, err)
	}
	return Target{Addr: net.JoinHostPort(host, strconv.Itoa(int(n))), Name: strings.TrimSuffix(host, ".")}, nil
}

// normAddr puts an "ip:port" into the form Targets use, so that Has and
// Failed match however the caller spelled the address.
func normAddr(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.String()
	}
	return addr
}

// static is a fixed list of targets.
type static struct {
	ts   []Target
	set  map[string]bool
	spec string
}

var _ Upstreams = (*static)(nil)

func newStatic(ts []Target) *static {
	s := &static{ts: ts, set: make(map[string]bool, len(ts))}
	addrs := make([]string, len(ts))
	for i, t := range ts {
		s.set[t.Addr] = true
		addrs[i] = t.Addr
	}
	s.spec = strings.Join(addrs, ", ")
	return s
}

func (s *static) Order(context.Context) ([]Target, error) {
	return append([]Target(nil), s.ts...), nil
}

func (s *static) Failed(string) {}

func (s *static) Has(addr string) bool { return s.set[normAddr(addr)] }

func (s *static) Stats() Stats { return Stats{Targets: len(s.ts)} }

func (s *static) String() string { return s.spec }
