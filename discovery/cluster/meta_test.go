package cluster

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestMetaRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   meta
		want meta // after quantization
	}{
		{"empty", meta{}, meta{}},
		{"relay only", meta{Relay: "10.0.0.1:7001"}, meta{Relay: "10.0.0.1:7001"}},
		{"leaving", meta{Relay: "[fe80::1%eth0]:7001", Leaving: true, Load: idle}, meta{Relay: "[fe80::1%eth0]:7001", Leaving: true, Load: quantize(idle)}},
		{"quantized percent and load",
			meta{Relay: "root-1.example.org:7001", Load: Load{CPUUser: 33.333, CPUSystem: 12.06, Load1: 1.23456, CPUs: 4, MemFree: 5, MemTotal: 10}},
			meta{Relay: "root-1.example.org:7001", Load: Load{CPUUser: 33.3, CPUSystem: 12.1, Load1: 1.23, CPUs: 4, MemFree: 5, MemTotal: 10}}},
		{"clamped", meta{Load: Load{CPUUser: 180, CPUSystem: -3, Load1: 1e9, CPUs: 1 << 30, MemFree: 20, MemTotal: 10, DiskFree: 7, DiskTotal: 5}},
			meta{Load: Load{CPUUser: 100, Load1: maxLoad1, CPUs: maxCPUs, MemFree: 10, MemTotal: 10, DiskFree: 5, DiskTotal: 5}}},
		{"sum above 100 trimmed", meta{Load: Load{CPUUser: 70.04, CPUSystem: 30.04}}, meta{Load: Load{CPUUser: 70, CPUSystem: 30}}},
		{"non-finite", meta{Load: Load{CPUUser: math.NaN(), Load1: math.Inf(1)}}, meta{}},
		{"max bytes", meta{Load: Load{MemFree: math.MaxUint64, MemTotal: math.MaxUint64, DiskFree: math.MaxUint64, DiskTotal: math.MaxUint64}},
			meta{Load: Load{MemFree: math.MaxUint64, MemTotal: math.MaxUint64, DiskFree: math.MaxUint64, DiskTotal: math.MaxUint64}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeMeta(tc.in)
			got, err := decodeMeta(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if got != tc.want {
				t.Errorf("round trip of %+v\n got %+v\nwant %+v\n(wire %s)", tc.in, got, tc.want, b)
			}
		})
	}
	// The wire form is compact JSON with short keys.
	if got, want := string(encodeMeta(meta{Relay: "10.0.0.1:7001", Load: Load{CPUUser: 12.5, CPUSystem: 3, MemFree: 100, MemTotal: 200, DiskFree: 5, DiskTotal: 10, Load1: 0.7, CPUs: 2}})),
		`{"v":1,"r":"10.0.0.1:7001","cu":12.5,"cs":3,"mf":100,"mt":200,"df":5,"dt":10,"l1":0.7,"n":2}`; got != want {
		t.Errorf("wire form\n got %s\nwant %s", got, want)
	}
}

// TestMetaWorstCaseFits: the largest metadata New can produce fits
// memberlist's limit, with room to spare.
func TestMetaWorstCaseFits(t *testing.T) {
	relay := strings.Repeat("a", maxRelayAddr-len(":65535")) + ":65535"
	if err := checkRelayAddr(relay, false); err != nil {
		t.Fatal(err)
	}
	worst := meta{Relay: relay, Leaving: true, Load: Load{
		CPUUser: 33.3, CPUSystem: 66.6, Load1: 999999.99, CPUs: maxCPUs,
		MemFree: math.MaxUint64 - 1, MemTotal: math.MaxUint64, DiskFree: math.MaxUint64 - 1, DiskTotal: math.MaxUint64,
	}}
	b := encodeMeta(worst)
	t.Logf("worst case: %d bytes (limit %d)", len(b), memberlist.MetaMaxSize)
	if len(b) > memberlist.MetaMaxSize {
		t.Fatalf("worst-case meta is %d bytes, over memberlist's %d", len(b), memberlist.MetaMaxSize)
	}
	if _, err := decodeMeta(b); err != nil {
		t.Fatalf("worst case does not decode: %v", err)
	}
	// Random loads with a longest relay address fit as well.
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		l := Load{
			CPUUser: r.Float64() * 120, CPUSystem: r.Float64() * 120, Load1: r.ExpFloat64() * 1e5,
			CPUs: r.IntN(maxCPUs * 2), MemFree: r.Uint64(), MemTotal: r.Uint64(), DiskFree: r.Uint64(), DiskTotal: r.Uint64(),
		}
		b := encodeMeta(meta{Relay: relay, Leaving: r.IntN(2) == 0, Load: l})
		if len(b) > memberlist.MetaMaxSize {
			t.Fatalf("meta for %+v is %d bytes", l, len(b))
		}
		if m, err := decodeMeta(b); err != nil || m.Load != quantize(l) {
			t.Fatalf("round trip of %+v: %+v, %v", l, m, err)
		}
	}
}

var malformedMeta = []struct {
	name, in, err string
}{
	{"empty", "", "no metadata"},
	{"null", "null", "not a JSON object"},
	{"array", `[1,2]`, "not a JSON object"},
	{"string", `"x"`, "not a JSON object"},
	{"truncated", `{"v":1,"cu":`, "unexpected end"},
	{"trailing garbage", `{"v":1} x`, "invalid character"},
	{"two objects", `{"v":1}{"v":1}`, "invalid character"},
	{"no version", `{"cu":1}`, "without version"},
	{"version zero", `{"v":0}`, "without version"},
	{"future version", `{"v":2,"cu":1}`, "version 2 not supported"},
	{"negative cpu", `{"v":1,"cu":-0.1}`, "cpu percent out of range"},
	{"cpu over 100", `{"v":1,"cs":100.1}`, "cpu percent out of range"},
	{"cpu sum over 100", `{"v":1,"cu":60,"cs":50}`, "cpu percent out of range"},
	{"cpu as string", `{"v":1,"cu":"5"}`, "cannot unmarshal string"},
	{"huge float", `{"v":1,"cu":1e400}`, "cannot unmarshal number 1e400"},
	{"negative bytes", `{"v":1,"mf":-5}`, "cannot unmarshal number -5"},
	{"fractional bytes", `{"v":1,"mt":1.5}`, "cannot unmarshal number 1.5"},
	{"bytes overflow", `{"v":1,"dt":18446744073709551616}`, "cannot unmarshal number"},
	{"free memory above total", `{"v":1,"mf":2,"mt":1}`, "free memory 2 above total 1"},
	{"free disk above total", `{"v":1,"df":9,"dt":8}`, "free disk 9 above total 8"},
	{"negative load", `{"v":1,"l1":-1}`, "load average"},
	{"load too large", `{"v":1,"l1":1e7}`, "load average"},
	{"negative cpus", `{"v":1,"n":-1}`, "cpu count"},
	{"too many cpus", `{"v":1,"n":99999999}`, "cpu count"},
	{"relay not a string", `{"v":1,"r":5}`, "cannot unmarshal number"},
	{"relay without port", `{"v":1,"r":"10.0.0.1"}`, "missing port"},
	{"relay without host", `{"v":1,"r":":7001"}`, "want host:port"},
	{"relay port 0", `{"v":1,"r":"h:0"}`, "bad port"},
	{"relay port too big", `{"v":1,"r":"h:70000"}`, "bad port"},
	{"relay port name", `{"v":1,"r":"h:quic"}`, "bad port"},
	{"relay with space", `{"v":1,"r":"a b:1"}`, "bad character"},
	{"relay with quote", `{"v":1,"r":"a\"b:1"}`, "bad character"},
	{"relay invalid utf8", "{\"v\":1,\"r\":\"\xff:1\"}", "bad character"},
	{"relay too long", `{"v":1,"r":"` + strings.Repeat("a", maxRelayAddr) + `:1"}`, "more than 300"},
	{"leaving not bool", `{"v":1,"x":"yes"}`, "cannot unmarshal string"},
	{"oversized", `{"v":1,"zz":"` + strings.Repeat("z", 600) + `"}`, "more than 512"},
	{"binary", "\x00\x01\x02", "not a JSON object"},
}

func TestDecodeMetaMalformed(t *testing.T) {
	for _, tc := range malformedMeta {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeMeta([]byte(tc.in))
			if err == nil {
				t.Fatalf("decodeMeta(%q) = %+v, want error", tc.in, m)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("decodeMeta(%q) error %q, want it to contain %q", tc.in, err, tc.err)
			}
			if m != (meta{}) {
				t.Errorf("decodeMeta(%q) returned %+v with its error, want zero", tc.in, m)
			}
		})
	}
}

// TestDecodeMetaLenient: what a newer writer may add is accepted.
func TestDecodeMetaLenient(t *testing.T) {
	cases := []struct {
		name, in string
		want     meta
	}{
		{"unknown keys ignored", `{"v":1,"zz":[1,{"a":2}],"cu":5}`, meta{Load: Load{CPUUser: 5}}},
		{"whitespace", " \n{ \"v\" : 1 , \"n\" : 4 } \n", meta{Load: Load{CPUs: 4}}},
		{"free with unknown total", `{"v":1,"mf":7}`, meta{Load: Load{MemFree: 7}}},
		{"unquantized values", `{"v":1,"cu":12.345,"l1":0.001}`, meta{Load: Load{CPUUser: 12.345, Load1: 0.001}}},
		{"ipv6 relay", `{"v":1,"r":"[2001:db8::1]:7001","x":true}`, meta{Relay: "[2001:db8::1]:7001", Leaving: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeMeta([]byte(tc.in))
			if err != nil || got != tc.want {
				t.Errorf("decodeMeta(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzDecodeMeta(f *testing.F) {
	for _, tc := range malformedMeta {
		f.Add([]byte(tc.in))
	}
	f.Add(encodeMeta(meta{Relay: "10.0.0.1:7001", Leaving: true, Load: idle}))
	f.Add(encodeMeta(meta{}))
	f.Add([]byte(`{"v":1,"r":"[::1]:1","cu":99.9,"cs":0.1,"l1":1e6,"n":1048576}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			if m != (meta{}) {
				t.Fatalf("error %v with non-zero meta %+v", err, m)
			}
			return
		}
		// What decodes is in range: re-encoding fits and gives the quantized value back.
		if m.Relay != "" {
			if err := checkRelayAddr(m.Relay, false); err != nil {
				t.Fatalf("decoded relay %q: %v", m.Relay, err)
			}
		}
		if s := m.Load.Spare(); !(s >= SpareFloor && s <= 1) {
			t.Fatalf("Spare of decoded %+v = %v", m.Load, s)
		}
		enc := encodeMeta(m)
		if len(enc) > memberlist.MetaMaxSize {
			t.Fatalf("re-encoded meta is %d bytes", len(enc))
		}
		m2, err := decodeMeta(enc)
		want := meta{Relay: m.Relay, Leaving: m.Leaving, Load: quantize(m.Load)}
		if err != nil || m2 != want {
			t.Fatalf("re-encoded %s: %+v, %v; want %+v", enc, m2, err, want)
		}
		if quantize(m2.Load) != m2.Load {
			t.Fatalf("quantize not idempotent on %+v", m2.Load)
		}
	})
}
