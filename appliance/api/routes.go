package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"

	"logpacker/appliance/api/ui"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options are what the node's HTTP listener serves from. A nil field
// answers its routes with 503 (Store, Hub) or leaves them out (the rest).
type Options struct {
	Store   Searcher              // GET /api/v1/events, /hits, /facets; nil: no store output
	Hub     *Hub                  // GET /api/v1/events/stream
	Token   string                // non-empty: required as a bearer token on the authenticated routes
	Metrics prometheus.Gatherer   // GET /metrics
	Ready   func() (bool, string) // GET /readyz: ready, or why not; nil: ready
	// Status and Cluster give the JSON of /api/v1/status and /api/v1/cluster.
	Status  func(*http.Request) any
	Cluster func() any
	Logger  *slog.Logger
	// Ingest are the HTTP ingest endpoints (packages source/httpin and
	// source/journal); nil: not served. They check their own per-source
	// tokens ([ingest] tokens), never the API's read token.
	Ingest *Ingest
}

// Ingest are the handlers of the ingest routes; a nil one is not served.
type Ingest struct {
	JSON     http.Handler // POST, OPTIONS /api/v1/ingest
	Envelope http.Handler // POST, OPTIONS /api/{project}/envelope/ (Sentry SDKs)
	Script   http.Handler // GET /logpacker.js
	Journal  http.Handler // POST /upload (systemd-journal-upload)
}

// route is one path the node serves. auth: behind the bearer token.
type route struct {
	pattern string
	auth    bool
	h       http.Handler
}

// routes is every path of the node's HTTP listener, in one list, with
// whether it needs the token. Ingest endpoints are added here.
func (a *api) routes() []route {
	o := a.o
	r := []route{
		// The web UI's files hold no data and are the same in every copy of
		// logpacker: they are open; what the UI shows comes from the /api/
		// routes below, with the token (package ui explains how a browser
		// sends it).
		{"GET /{$}", false, ui.Index()},
		{"GET /ui/", false, ui.Assets()},
		{"GET /healthz", false, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })},
		{"GET /readyz", false, http.HandlerFunc(a.ready)},
	}
	if o.Metrics != nil {
		r = append(r, route{"GET /metrics", false, promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{})})
	}
	r = append(r,
		route{"GET /api/v1/events", true, http.HandlerFunc(a.search)},
		route{"GET /api/v1/events/stream", true, http.HandlerFunc(a.stream)},
		route{"GET /api/v1/hits", true, http.HandlerFunc(a.hits)},
		route{"GET /api/v1/facets", true, http.HandlerFunc(a.facets)},
	)
	if o.Status != nil {
		r = append(r, route{"GET /api/v1/status", true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, o.Status(r))
		})})
	}
	if o.Cluster != nil {
		r = append(r, route{"GET /api/v1/cluster", true, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, o.Cluster())
		})})
	}
	// Ingest: auth false here because each checks its own per-source
	// tokens (httpin.Server.Authenticate): a sender's token reads nothing.
	if in := o.Ingest; in != nil {
		for _, x := range []struct {
			pattern string
			h       http.Handler
		}{
			{"/api/v1/ingest", in.JSON},
			{"/api/{project}/envelope/{$}", in.Envelope},
			{"GET /logpacker.js", in.Script},
			{"/upload", in.Journal},
		} {
			if x.h != nil {
				r = append(r, route{x.pattern, false, x.h})
			}
		}
	}
	// Go profiling, for operators chasing CPU or memory
	return append(r,
		route{"/debug/pprof/", true, http.HandlerFunc(pprof.Index)},
		route{"/debug/pprof/profile", true, http.HandlerFunc(pprof.Profile)},
		route{"/debug/pprof/trace", true, http.HandlerFunc(pprof.Trace)},
		route{"/debug/pprof/cmdline", true, http.HandlerFunc(pprof.Cmdline)},
		route{"/debug/pprof/symbol", true, http.HandlerFunc(pprof.Symbol)},
	)
}

// Handler serves every route of the node's HTTP listener; the token (when
// set) is applied here, to every route marked auth, and nowhere else.
func Handler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	a := &api{o: o}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		h := rt.h
		if rt.auth {
			h = Auth(o.Token, h)
		}
		mux.Handle(rt.pattern, h)
	}
	return mux
}

// Paths lists the patterns Handler serves and whether each needs the token
// (README and tests check it).
func Paths(o Options) map[string]bool {
	out := map[string]bool{}
	for _, rt := range (&api{o: o}).routes() {
		out[rt.pattern] = rt.auth
	}
	return out
}

func (a *api) ready(w http.ResponseWriter, _ *http.Request) {
	if a.o.Ready != nil {
		if ok, why := a.o.Ready(); !ok {
			http.Error(w, "not ready: "+why+"\n", http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
