package appliance

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestIngestRoutesOffLoopbackNeedTokens: [listen] http off loopback without
// [ingest] tokens serves no ingest route; with tokens (or on loopback) it
// does, journald's /upload too unless [ingest] journal = false. (The
// configuration alone: no socket is bound.)
func TestIngestRoutesOffLoopbackNeedTokens(t *testing.T) {
	for _, tc := range []struct {
		ini           string
		served, jrnal bool
	}{
		{"[listen]\nhttp = 0.0.0.0:8080\n[api]\ntoken = read-token-1\n", false, false},
		{"[listen]\nhttp = 0.0.0.0:8080\n[api]\ntoken = read-token-1\n[ingest]\ntokens = app:app-token-1\n", true, true},
		{"[listen]\nhttp = 127.0.0.1:8080\n[ingest]\njournal = false\n", true, false},
		{"[listen]\nhttp =\n", false, false},
	} {
		cfg, err := ParseConfig("test.ini", []byte("[node]\ndata_dir = "+t.TempDir()+"\n"+tc.ini))
		if err != nil {
			t.Fatal(err)
		}
		n := &Node{cfg: cfg, log: slog.Default(), reg: prometheus.NewRegistry()}
		in, err := n.ingestRoutes()
		if err != nil {
			t.Fatal(err)
		}
		if (in != nil) != tc.served || (in != nil && (in.Journal != nil) != tc.jrnal) {
			t.Errorf("%q: routes %+v", tc.ini, in)
		}
	}
}
