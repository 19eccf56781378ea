package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHealth: exit 0 with the node's answer while /readyz is 200; an error
// (exit 1) that carries the node's reason while it is 503, or when nothing
// listens.
func TestHealth(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || r.Header.Get("Authorization") != "" {
			http.NotFound(w, r)
			return
		}
		if !ready.Load() {
			http.Error(w, "not ready: wal cannot append (min_free): 1.0 MiB free", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	}))
	defer srv.Close()
	var out bytes.Buffer
	err := cmdHealth([]string{"-api", srv.URL}, &out)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "min_free") {
		t.Fatalf("not ready: %v", err)
	}
	ready.Store(true)
	if err := cmdHealth([]string{"-api", srv.URL}, &out); err != nil || out.String() != "ready\n" {
		t.Fatalf("ready: %v %q", err, out.String())
	}
	srv.Close()
	if err := cmdHealth([]string{"-api", srv.URL}, &out); err == nil || !strings.Contains(err.Error(), "is the node running?") {
		t.Fatalf("no node: %v", err)
	}
	if err := cmdHealth([]string{"-bogus"}, &out); err != exitError(2) {
		t.Fatalf("bad flag: %v", err)
	}
}
