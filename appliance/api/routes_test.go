package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRoutesAuthInOnePlace: every route Paths lists is served, and the token
// is required exactly on the routes marked auth (the open ones are the
// probes and /metrics).
func TestRoutesAuthInOnePlace(t *testing.T) {
	o := Options{Token: "s3cret", Hub: NewHub(), Metrics: prometheus.NewRegistry(),
		Ready:   func() (bool, string) { return false, "wal cannot append" },
		Status:  func(*http.Request) any { return map[string]string{"node": "n1"} },
		Cluster: func() any { return map[string]bool{"cluster": false} },
		Ingest:  &Ingest{JSON: ingestStub, Envelope: ingestStub, Script: ingestStub, Journal: ingestStub}}
	ts := httptest.NewServer(Handler(o))
	defer ts.Close()
	paths := Paths(o)
	want := map[string]bool{
		"GET /{$}": false, "GET /ui/": false, "GET /healthz": false, "GET /readyz": false, "GET /metrics": false,
		"GET /api/v1/events": true, "GET /api/v1/events/stream": true, "GET /api/v1/status": true,
		"GET /api/v1/hits": true, "GET /api/v1/facets": true,
		"GET /api/v1/cluster": true, "/debug/pprof/": true, "/debug/pprof/profile": true,
		"/debug/pprof/trace": true, "/debug/pprof/cmdline": true, "/debug/pprof/symbol": true,
		// ingest: their own per-source tokens, not the API's
		"/api/v1/ingest": false, "/api/{project}/envelope/{$}": false, "GET /logpacker.js": false, "/upload": false,
	}
	if len(paths) != len(want) {
		t.Errorf("Paths: %v, want %v", paths, want)
	}
	for p, auth := range want {
		if got, ok := paths[p]; !ok || got != auth {
			t.Errorf("%s: listed %v auth %v, want auth %v", p, ok, got, auth)
		}
		path := strings.TrimSuffix(p[strings.IndexByte(p, '/'):], "{$}")
		path = strings.Replace(path, "{project}", "7", 1)
		if path == "/ui/" {
			path += "app.js"
		}
		if path == "/debug/pprof/profile" || path == "/debug/pprof/trace" {
			path += "?seconds=1" // 0 would mean 30 s
		}
		for _, withToken := range []bool{false, true} {
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			if withToken {
				req.Header.Set("Authorization", "Bearer s3cret")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if !strings.HasSuffix(path, "/stream") || res.StatusCode != 200 { // a stream does not end
				body, _ = io.ReadAll(io.LimitReader(res.Body, 1<<16))
			}
			res.Body.Close()
			if auth && !withToken && res.StatusCode != 401 {
				t.Errorf("%s without token: %d, want 401", path, res.StatusCode)
			}
			if (!auth || withToken) && (res.StatusCode == 401 || res.StatusCode == 404) {
				t.Errorf("%s (token %v): %d %s", path, withToken, res.StatusCode, body)
			}
			if path == "/readyz" && (res.StatusCode != 503 || !strings.Contains(string(body), "wal cannot append")) {
				t.Errorf("/readyz: %d %q, want 503 with the reason", res.StatusCode, body)
			}
		}
	}
	// without the optional parts their routes are not served
	if p := Paths(Options{}); len(p) != 13 {
		t.Errorf("Paths(Options{}) = %v, want the UI, the probes, events, stream, hits, facets and pprof", p)
	}
}

// ingestStub stands for the ingest handlers (their own tests are in
// source/httpin and source/journal): it answers 204.
var ingestStub = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
