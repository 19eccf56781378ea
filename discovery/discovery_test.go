package discovery

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		str    string   // String()
		static []Target // nil: an SRV spec
	}{
		{spec: "srv:_logpacker._udp.example.org", str: "srv:_logpacker._udp.example.org"},
		{spec: "  srv:_logpacker._udp.example.org.  ", str: "srv:_logpacker._udp.example.org."},
		{spec: "SRV: _logpacker._udp.Example.org", str: "srv:_logpacker._udp.Example.org"},
		{spec: "srv:localhost", str: "srv:localhost"},
		{spec: "root1.example.org:7001", str: "root1.example.org:7001",
			static: []Target{{Addr: "root1.example.org:7001", Name: "root1.example.org"}}},
		{spec: "root1.example.org:7001, 10.0.0.2:7002 ,[::1]:7003", str: "root1.example.org:7001, 10.0.0.2:7002, [::1]:7003",
			static: []Target{
				{Addr: "root1.example.org:7001", Name: "root1.example.org"},
				{Addr: "10.0.0.2:7002", Name: "10.0.0.2", Priority: 1},
				{Addr: "[::1]:7003", Name: "::1", Priority: 2},
			}},
		{spec: "[0:0::1]:0080,host.:9", str: "[::1]:80, host.:9",
			static: []Target{{Addr: "[::1]:80", Name: "::1"}, {Addr: "host.:9", Name: "host", Priority: 1}}},
		{spec: "[fe80::1%eth0]:65535", str: "[fe80::1%eth0]:65535",
			static: []Target{{Addr: "[fe80::1%eth0]:65535", Name: "fe80::1%eth0"}}},
		{spec: "127.0.0.1:1", str: "127.0.0.1:1", static: []Target{{Addr: "127.0.0.1:1", Name: "127.0.0.1"}}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			u, err := New(tc.spec, Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := u.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			if tc.static == nil {
				if _, ok := u.(*srvUpstreams); !ok {
					t.Fatalf("New gave %T, want an SRV upstream", u)
				}
				if st := u.Stats(); st != (Stats{}) {
					t.Errorf("Stats before any Order = %+v, want zero (New does no lookup)", st)
				}
				return
			}
			got, err := u.Order(context.Background())
			if err != nil || !slices.Equal(got, tc.static) {
				t.Errorf("Order = %+v, %v; want %+v", got, err, tc.static)
			}
			for _, want := range tc.static {
				if !u.Has(want.Addr) {
					t.Errorf("Has(%q) = false", want.Addr)
				}
			}
			if u.Has("192.0.2.1:1") {
				t.Error("Has(an address not listed) = true")
			}
			if st := u.Stats(); st.Targets != len(tc.static) || st.Lookups != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // in the error
	}{
		{"", "empty upstream"},
		{"   ", "empty upstream"},
		{"srv:", `"srv:" needs a name`},
		{"srv:  ", `"srv:" needs a name`},
		{"srv:.", "the root name is not a host"},
		{"srv:_a._udp..example.org", "empty label"},
		{"srv:.example.org", "empty label"},
		{"srv:a b", "exactly one name"},
		{"srv:_a._udp.x.org, _b._udp.x.org", "exactly one name"},
		{"srv:_a._udp.x$.org", `the character '$'`},
		{"srv:_a._udp.-x.org", "starts or ends with '-'"},
		{"srv:" + strings.Repeat("a", 64) + ".org", "at most 63"},
		{"srv:" + strings.Repeat("abcdefghi.", 26) + "org", "at most 253"},
		{"srv:53", `last label "53" is all digits`},
		{"host", "missing port"},
		{"host:", "missing port"},
		{"host:http", `bad port "http"`},
		{"host:0", `bad port "0"`},
		{"host:65536", `bad port "65536"`},
		{"host:-1", `bad port "-1"`},
		{":7001", "missing host"},
		{"a:1,,b:2", "element 2 of 3 is empty"},
		{"a:1,", "element 2 of 2 is empty"},
		{",a:1", "element 1 of 2 is empty"},
		{"a:1 b:2", "contains a space"},
		{"::1:7001", "IPv6 address needs brackets"},
		{"[1.2.3.4]:7001", "brackets are for IPv6"},
		{"[nothost]:7001", `bad IPv6 address "nothost"`},
		{"1.2.3.400:7001", `bad host "1.2.3.400"`},
		{"a_b!:7001", `bad host "a_b!"`},
		{"a:1, b:2, a:01", `element 3 "a:01": the same address as element 1`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			u, err := New(tc.spec, Options{})
			if err == nil {
				t.Fatalf("New(%q) = %v, want an error", tc.spec, u)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "discovery: ") {
				t.Fatalf("New(%q) error %q, want it to contain %q", tc.spec, err, tc.want)
			}
		})
	}
}

func TestNewOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{MinTTL: -1}, "MinTTL is negative"},
		{Options{Timeout: -time.Second}, "Timeout is negative"},
		{Options{MinTTL: time.Minute, MaxTTL: time.Second}, "MaxTTL (1s) is below MinTTL (1m0s)"},
		{Options{MinTTL: 10 * time.Minute}, "MaxTTL (5m0s) is below MinTTL"},
		{Options{Resolver: "127.0.0.1"}, `Resolver "127.0.0.1": want host:port`},
		{Options{Resolver: ":53"}, "no host"},
		{Options{Resolver: "127.0.0.1:dns"}, "bad port"},
	} {
		_, err := New("srv:_x._udp.example.org", tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New with %+v: error %v, want it to contain %q", tc.o, err, tc.want)
		}
	}
}

func TestStaticOrder(t *testing.T) {
	u, err := New("c:3, a:1, b:2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c:3", "a:1", "b:2"}
	for range 50 {
		u.Failed("a:1") // changes nothing for a static list
		ts, err := u.Order(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, tg := range ts {
			got = append(got, tg.Addr)
			if tg.Priority != uint16(i) || tg.Weight != 0 {
				t.Fatalf("target %d = %+v, want priority %d weight 0", i, tg, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Order = %v, want %v every time", got, want)
		}
		ts[0].Addr = "changed" // the caller owns the slice
	}
}

// recs builds one-target records: "name/prio/weight".
func recs(specs ...string) []record {
	var out []record
	for _, s := range specs {
		f := strings.Split(s, "/")
		var p, w int
		for _, c := range f[1] {
			p = p*10 + int(c-'0')
		}
		for _, c := range f[2] {
			w = w*10 + int(c-'0')
		}
		rc := record{Priority: uint16(p), Weight: uint16(w), Target: f[0], Port: 1}
		rc.targets = []Target{{Addr: f[0] + ":1", Name: f[0], Priority: rc.Priority, Weight: rc.Weight}}
		out = append(out, rc)
	}
	return out
}

func names(rs []record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Target)
	}
	return out
}

// TestOrderRecords draws many orders with a seeded rand and checks the
// RFC 2782 rules: the frequencies of being first (and second) follow the
// weights, weight 0 is last within its priority, lower priority is always first.
func TestOrderRecords(t *testing.T) {
	const draws = 40000
	for _, tc := range []struct {
		name  string
		in    []record
		first map[string]float64 // expected share of being first
		// second: expected share of being second (optional)
		second map[string]float64
		check  func(t *testing.T, order []string)
	}{
		{
			name:  "weights 10/30/60",
			in:    recs("a/10/10", "b/10/30", "c/10/60"),
			first: map[string]float64{"a": 0.10, "b": 0.30, "c": 0.60},
			// P(b second) = P(a first)·30/90 + P(c first)·30/40
			second: map[string]float64{"b": 0.1*30/90 + 0.6*30/40, "a": 0.3*10/70 + 0.6*10/40},
		},
		{
			name:  "equal weights",
			in:    recs("a/1/5", "b/1/5", "c/1/5", "d/1/5"),
			first: map[string]float64{"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25},
		},
		{
			name:  "weight 0 last, in random order",
			in:    recs("z1/10/0", "a/10/1", "z2/10/0", "b/10/65535"),
			first: map[string]float64{"a": 1.0 / 65536, "b": 65535.0 / 65536},
			// the zero-weight ones: each is third about half of the time
			second: map[string]float64{"z1": 0, "z2": 0},
			check: func(t *testing.T, o []string) {
				if !strings.HasPrefix(o[2], "z") || !strings.HasPrefix(o[3], "z") {
					t.Fatalf("weight-0 records not last: %v", o)
				}
			},
		},
		{
			name:  "all weight 0",
			in:    recs("a/5/0", "b/5/0", "c/5/0"),
			first: map[string]float64{"a": 1.0 / 3, "b": 1.0 / 3, "c": 1.0 / 3},
		},
		{
			name:  "priorities: lower always first",
			in:    recs("p20/20/100", "b/10/80", "p30/30/0", "a/10/20", "p20b/20/0"),
			first: map[string]float64{"b": 0.8, "a": 0.2},
			check: func(t *testing.T, o []string) {
				if o[2] != "p20" || o[3] != "p20b" || o[4] != "p30" {
					t.Fatalf("order %v breaks priorities", o)
				}
			},
		},
		{
			name:  "one record",
			in:    recs("only/0/0"),
			first: map[string]float64{"only": 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			in := slices.Clone(tc.in)
			first := map[string]int{}
			second := map[string]int{}
			zeroThird := map[string]int{}
			for range draws {
				o := names(orderRecords(r, tc.in))
				if len(o) != len(tc.in) {
					t.Fatalf("order %v has %d records, want %d", o, len(o), len(tc.in))
				}
				if s := slices.Sorted(slices.Values(o)); !slices.Equal(s, slices.Sorted(slices.Values(names(tc.in)))) {
					t.Fatalf("order %v is not a permutation of %v", o, names(tc.in))
				}
				first[o[0]]++
				if len(o) > 1 {
					second[o[1]]++
				}
				if len(o) > 2 {
					zeroThird[o[2]]++
				}
				if tc.check != nil {
					tc.check(t, o)
				}
			}
			if !slices.EqualFunc(in, tc.in, func(a, b record) bool { return a.Target == b.Target }) {
				t.Fatal("orderRecords modified its input")
			}
			near := func(what, n string, got int, want float64) {
				share := float64(got) / draws
				if math.Abs(share-want) > 0.01 {
					t.Errorf("%s is %s %.4f of the time, want %.4f ± 0.01", n, what, share, want)
				}
			}
			for n, want := range tc.first {
				near("first", n, first[n], want)
			}
			for n, want := range tc.second {
				near("second", n, second[n], want)
			}
			if tc.name == "weight 0 last, in random order" {
				near("third", "z1", zeroThird["z1"], 0.5)
			}
		})
	}
}

func TestFlatten(t *testing.T) {
	rs := recs("a/1/1", "b/2/1")
	rs[0].targets = append(rs[0].targets, Target{Addr: "[::1]:1", Name: "a"})
	got := flatten(rs)
	want := []string{"a:1", "[::1]:1", "b:1"}
	if len(got) != 3 || got[0].Addr != want[0] || got[1].Addr != want[1] || got[2].Addr != want[2] {
		t.Fatalf("flatten = %+v, want addrs %v", got, want)
	}
}

func FuzzNew(f *testing.F) {
	for _, s := range []string{
		"srv:_logpacker._udp.example.org", "srv:_logpacker._udp.example.org.", "SRV:x", "srv:", "srv:53",
		"a:1", "a:1, b:2", "[::1]:7001", "[fe80::1%eth0]:1", "1.2.3.4:0080", "a:1,,b:2", "::1:80", "", ",",
		"host.:9", "[::ffff:1.2.3.4]:5", "a:1,a:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		u, err := New(spec, Options{})
		if err != nil {
			if u != nil {
				t.Fatalf("New(%q) returned %v and an error", spec, u)
			}
			if !strings.HasPrefix(err.Error(), "discovery: ") {
				t.Fatalf("New(%q) error %q lacks the component", spec, err)
			}
			return
		}
		s := u.String()
		u2, err := New(s, Options{})
		if err != nil {
			t.Fatalf("New(%q) ok, but New(its String() %q): %v", spec, s, err)
		}
		if s2 := u2.String(); s2 != s {
			t.Fatalf("String() of %q = %q, then %q", spec, s, s2)
		}
		if _, ok := u.(*srvUpstreams); ok {
			if _, ok := u2.(*srvUpstreams); !ok {
				t.Fatalf("%q is SRV but its String() %q is not", spec, s)
			}
			return
		}
		a, _ := u.Order(context.Background())
		b, _ := u2.Order(context.Background())
		if !slices.Equal(a, b) || len(a) == 0 {
			t.Fatalf("targets of %q = %+v, of its String() %q = %+v", spec, a, s, b)
		}
		for _, tg := range a {
			if !u.Has(tg.Addr) {
				t.Fatalf("%q: Has(%q) = false", spec, tg.Addr)
			}
		}
	})
}
