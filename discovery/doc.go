// Package discovery turns a [relay] upstream setting into the ordered list of
// parent nodes a relay client tries (relay.Client dials them in that order).
//
// # Spec forms
//
//	srv:_logpacker._udp.example.org      one DNS SRV name (a trailing dot is optional;
//	                                     the "srv:" prefix is matched without regard to case)
//	root1.example.org:7001, [::1]:7001   a static list: comma-separated host:port entries,
//	                                     IPv6 in brackets, tried in the order given
//
// New checks the spec and says what is wrong with a bad one: an empty spec,
// "srv:" without a name, a name with a bad label (letters, digits, '-' and
// '_' only; at most 63 bytes a label, 253 in all; the last label must not be
// all digits, so "srv:53" is refused instead of read as a name), a list after
// "srv:", an empty list element, a missing or bad port (1-65535), an IPv6
// address without brackets, the same address twice. New does no lookup; the
// first Order does. String() gives the spec back normalised ("srv:" + the
// name; the entries joined by ", " with IP literals in canonical form), and
// New(String()) gives the same Upstreams.
//
// # SRV answers and their order
//
// A lookup asks the resolver (Options.Resolver, or the first nameserver of
// /etc/resolv.conf on port 53, read again at each lookup) for the name's SRV
// records with github.com/miekg/dns, over UDP with EDNS0 (1232 bytes), again
// over TCP when the answer is truncated, recursion desired; each exchange is
// bounded by Options.Timeout, a whole lookup by 4 × Timeout, and both by the
// caller's context. Each SRV target is
// resolved to its addresses: from the A/AAAA records in the answer's
// Additional section when there are any for it (dnsmasq and bind9 send them),
// else by asking for its A and then its AAAA records (up to 8 targets at a
// time), or as itself when the target is an IP literal. Every address is one
// Target ("ip:port", IPv6 in brackets) whose Name is the SRV target without
// its trailing dot: the TLS server name the client checks. A target without
// addresses is dropped with a warning (once, until it has addresses again);
// an address listed twice is kept once. A target of "." means "service not
// available" (RFC 2782): an answer of only "." records, like an answer
// without SRV records, NXDOMAIN, SERVFAIL, a timeout or an answer none of
// whose targets has an address, is a failed lookup.
//
// Order sorts by priority, lowest first. Within one priority it orders the
// records by weight as RFC 2782 says: each next record is drawn with the
// probability weight / (sum of the weights not drawn yet), so a record of
// weight 80 next to one of weight 20 comes first 80% of the time. Records of
// weight 0 come after all others of their priority, in random order (RFC
// 2782 lets them be drawn first, with a tiny chance; here weight 0 means
// "only when the others failed"). Every Order draws a new order, so clients
// spread over the parents as the weights say. The addresses of one record
// stay together, A before AAAA. A static list is returned as given, every
// time (Priority = position, Weight = 0).
//
// # Lifetime, re-resolving and the last good answer
//
// An answer is used for the smallest TTL of its SRV records, clamped to
// [MinTTL, MaxTTL] (default 1s and 5m). Order re-resolves first, synchronously,
// when that time is up, or when Failed was called since the last lookup and
// MinTTL has passed since it (so a client cycling through dead parents makes
// at most one lookup per MinTTL). Only one lookup runs at a time: while one
// runs, other Order calls return the current answer, or wait for the lookup
// when there is none yet.
//
// When a lookup fails and there is an answer from before, Order keeps
// returning that answer (a DNS outage must not cut a relay off from parents
// that still work), Stats().Stale is true, and the next lookup is tried after
// Retry (default 5s). Order returns an error only when it has never had a
// good answer; then it asks again at the next Order, at most once per MinTTL.
// A lookup the caller abandons (its context cancelled) counts for nothing.
//
// Failed(addr) is for the client: the target could not be dialled or its
// link failed, so the answer may be out of date: the next Order re-resolves.
// Has(addr) reports whether addr is in the current answer: a client connected
// to a parent that has left DNS moves away from it.
//
// # Logs and metrics
//
// Logged (slog, Options.Logger): at Warn "discovery: lookup failed, keeping
// the last answer" (name, err, age of the answer, targets) once per failure
// streak, or "discovery: lookup failed, no answer yet" (name, err); at Info
// "discovery: lookup succeeded again" when a streak ends and "discovery:
// answer" (name, targets as "prio/weight target addrs", ttl) whenever the
// answer changes; at Warn "discovery: SRV target has no address, dropped".
//
// Stats become the metrics logpacker_discovery_*: Lookups and LookupFailures
// (counters: lookups done, and how many of them failed), Stale (1 while an
// old answer is in use because the last lookup failed), Targets (targets in
// the current answer), LastGood (when it was obtained: its age is the
// answer's age) and LastError (the last failure, for the status page). A
// static list has Targets only.
//
// Upstreams are safe for concurrent use.
//
// # Cluster
//
// The roots' gossip cluster (hashicorp/memberlist) and the load figures its
// members share live in package discovery/cluster; this package only finds
// parents.
package discovery
