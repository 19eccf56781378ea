package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
)

// Node metadata format (see doc.go, "Node metadata"). Keys are short; a zero
// value is left out.
const (
	metaVersion  = 1       // the highest "v" this code reads; writers keep 1 while changes stay compatible
	maxRelayAddr = 300     // bytes; checked in New, so the worst case meta fits memberlist.MetaMaxSize
	maxLoad1     = 1e6     // a larger load average is published as this
	maxCPUs      = 1 << 20 // a larger CPU count is published as this
)

// wireMeta is the JSON form of a member's metadata.
type wireMeta struct {
	V  int     `json:"v"`            // format version
	R  string  `json:"r,omitempty"`  // relay (QUIC) address, host:port
	X  bool    `json:"x,omitempty"`  // leaving: the member is about to leave gracefully
	CU float64 `json:"cu,omitempty"` // CPU user percent, 1 decimal
	CS float64 `json:"cs,omitempty"` // CPU system percent, 1 decimal
	MF uint64  `json:"mf,omitempty"` // memory available, bytes
	MT uint64  `json:"mt,omitempty"` // memory total, bytes
	DF uint64  `json:"df,omitempty"` // disk free, bytes
	DT uint64  `json:"dt,omitempty"` // disk total, bytes
	L1 float64 `json:"l1,omitempty"` // load average (1 min), 2 decimals
	N  int     `json:"n,omitempty"`  // CPUs
}

// meta is what a member publishes, decoded.
type meta struct {
	Relay   string
	Leaving bool
	Load    Load
}

// quantize returns l as it is published: percentages with 1 decimal in
// [0,100], the load average with 2 decimals in [0,maxLoad1], free bytes at
// most the total. Decoding the encoded form gives exactly quantize(l).
func quantize(l Load) Load {
	round := func(f float64, scale, hi float64) float64 {
		f = finite(f)
		f = math.Max(0, math.Min(hi, f))
		return math.Round(f*scale) / scale
	}
	q := l
	q.CPUUser = round(l.CPUUser, 10, 100)
	q.CPUSystem = round(l.CPUSystem, 10, 100)
	if q.CPUUser+q.CPUSystem > 100 {
		q.CPUSystem = math.Round((100-q.CPUUser)*10) / 10
	}
	q.Load1 = round(l.Load1, 100, maxLoad1)
	q.CPUs = max(0, min(maxCPUs, l.CPUs))
	if q.MemTotal > 0 && q.MemFree > q.MemTotal {
		q.MemFree = q.MemTotal
	}
	if q.DiskTotal > 0 && q.DiskFree > q.DiskTotal {
		q.DiskFree = q.DiskTotal
	}
	return q
}

// encodeMeta encodes m (quantized). The result is at most
// memberlist.MetaMaxSize bytes when m.Relay passed checkRelayAddr.
func encodeMeta(m meta) []byte {
	q := quantize(m.Load)
	w := wireMeta{
		V: metaVersion, R: m.Relay, X: m.Leaving,
		CU: q.CPUUser, CS: q.CPUSystem,
		MF: q.MemFree, MT: q.MemTotal,
		DF: q.DiskFree, DT: q.DiskTotal,
		L1: q.Load1, N: q.CPUs,
	}
	b, err := json.Marshal(w)
	if err != nil { // cannot happen: the struct holds only finite numbers and strings
		panic(fmt.Sprintf("discovery/cluster: encode meta: %v", err))
	}
	return b
}

var errNoMeta = errors.New("no metadata")

// decodeMeta decodes a peer's metadata. It never panics; any malformed,
// oversized or out-of-range input is an error (the caller keeps the member
// with a zero Load and no relay address).
func decodeMeta(b []byte) (meta, error) {
	if len(b) == 0 {
		return meta{}, errNoMeta
	}
	if len(b) > memberlist.MetaMaxSize {
		return meta{}, fmt.Errorf("metadata is %d bytes, more than %d", len(b), memberlist.MetaMaxSize)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return meta{}, errors.New("metadata is not a JSON object")
	}
	var w wireMeta
	if err := json.Unmarshal(b, &w); err != nil {
		return meta{}, fmt.Errorf("metadata: %w", err)
	}
	switch {
	case w.V < 1:
		return meta{}, errors.New("metadata without version")
	case w.V > metaVersion:
		return meta{}, fmt.Errorf("metadata version %d not supported (max %d)", w.V, metaVersion)
	case w.CU < 0 || w.CU > 100 || w.CS < 0 || w.CS > 100 || w.CU+w.CS > 100.05:
		return meta{}, fmt.Errorf("metadata: cpu percent out of range (user %g, system %g)", w.CU, w.CS)
	case w.L1 < 0 || w.L1 > maxLoad1:
		return meta{}, fmt.Errorf("metadata: load average %g out of range", w.L1)
	case w.N < 0 || w.N > maxCPUs:
		return meta{}, fmt.Errorf("metadata: cpu count %d out of range", w.N)
	case w.MT > 0 && w.MF > w.MT:
		return meta{}, fmt.Errorf("metadata: free memory %d above total %d", w.MF, w.MT)
	case w.DT > 0 && w.DF > w.DT:
		return meta{}, fmt.Errorf("metadata: free disk %d above total %d", w.DF, w.DT)
	}
	if w.R != "" {
		if err := checkRelayAddr(w.R, false); err != nil {
			return meta{}, fmt.Errorf("metadata: %w", err)
		}
	}
	return meta{
		Relay:   w.R,
		Leaving: w.X,
		Load: Load{
			CPUUser: w.CU, CPUSystem: w.CS,
			MemFree: w.MF, MemTotal: w.MT,
			DiskFree: w.DF, DiskTotal: w.DT,
			Load1: w.L1, CPUs: w.N,
		},
	}, nil
}

// checkRelayAddr checks a relay address: host:port, at most maxRelayAddr
// bytes of letters, digits and ".-_:[]%" (so JSON needs no escapes), a
// port 1-65535. listen allows an empty or unspecified host (Options.RelayAddr,
// which New completes with the gossip address); a published address needs a
// host.
func checkRelayAddr(s string, listen bool) error {
	if len(s) > maxRelayAddr {
		return fmt.Errorf("relay address is %d bytes, more than %d", len(s), maxRelayAddr)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '[', c == ']', c == '%':
		default:
			return fmt.Errorf("relay address %q: bad character %q", s, c)
		}
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("relay address %q: %w", s, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("relay address %q: bad port %q", s, port)
	}
	if !listen && host == "" {
		return fmt.Errorf("relay address %q: want host:port", s)
	}
	return nil
}
