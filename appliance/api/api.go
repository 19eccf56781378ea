package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"logpacker/appliance/store"
	"logpacker/protocol"
)

// Searcher is what the API searches (a *store.Store).
type Searcher interface {
	Search(ctx context.Context, q store.Query) (store.Result, error)
	Hits(ctx context.Context, q store.Query, step time.Duration) (store.Hits, error)
	Facets(ctx context.Context, q store.Query, limit int) (map[string][]store.FacetValue, error)
}

const noStore = "no searchable store: [output.store] is off (enabled = false, or auto on a relay); turn it on or add an [output.NAME] with type = store"

// storeQuery reads the store's query parameters from r, less those named in
// own, whose values it returns (empty when absent): a bad parameter is
// answered with 400 and ok is false.
func (a *api) storeQuery(w http.ResponseWriter, r *http.Request, own ...string) (q store.Query, vals map[string]string, ok bool) {
	if a.o.Store == nil {
		writeError(w, http.StatusServiceUnavailable, noStore, "")
		return q, nil, false
	}
	v := r.URL.Query()
	vals = map[string]string{}
	for _, k := range own {
		if len(v[k]) > 1 {
			writeError(w, http.StatusBadRequest, "store: bad query: "+k+": given more than once", k)
			return q, nil, false
		}
		vals[k] = strings.TrimSpace(v.Get(k))
		v.Del(k)
	}
	q, err := store.ParseQuery(v)
	if err != nil {
		if !queryError(w, err) {
			writeError(w, http.StatusBadRequest, err.Error(), "")
		}
		return q, nil, false
	}
	return q, vals, true
}

// storeFailed answers an error of the store: 400 for bad input, else 500.
func (a *api) storeFailed(w http.ResponseWriter, what string, err error) {
	if queryError(w, err) {
		return
	}
	a.o.Logger.Error("api: "+what+" failed", "err", err)
	writeError(w, http.StatusInternalServerError, what+" failed: "+err.Error(), "")
}

// hits answers GET /api/v1/hits: the histogram of a query (the search
// parameters but limit and cursor, and step: a duration such as 1h, 5m, 30s;
// empty picks one for about 100 buckets).
func (a *api) hits(w http.ResponseWriter, r *http.Request) {
	q, vals, ok := a.storeQuery(w, r, "step")
	if !ok {
		return
	}
	var step time.Duration
	if s := vals["step"]; s != "" {
		var err error
		if step, err = time.ParseDuration(s); err != nil || step <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("store: bad query: step: %q is not a duration (1h, 5m, 30s)", s), "step")
			return
		}
	}
	h, err := a.o.Store.Hits(r.Context(), q, step)
	if err != nil {
		a.storeFailed(w, "hits", err)
		return
	}
	writeJSON(w, h)
}

// facets answers GET /api/v1/facets: the top values of host, app, severity
// and tags among the events a query selects (the search parameters but
// cursor; limit is the values per field, 1-100, default 10).
func (a *api) facets(w http.ResponseWriter, r *http.Request) {
	q, _, ok := a.storeQuery(w, r)
	if !ok {
		return
	}
	f, err := a.o.Store.Facets(r.Context(), q, q.Limit)
	if err != nil {
		a.storeFailed(w, "facets", err)
		return
	}
	writeJSON(w, map[string]any{"facets": f})
}

type api struct{ o Options }

// Auth requires "Authorization: Bearer <token>" before next when token is
// set (401 otherwise); with no token it is next.
func Auth(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="logpacker"`)
			writeError(w, http.StatusUnauthorized, "a bearer token is required (Authorization: Bearer <token>)", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type errorBody struct {
	Error     string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg, param string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(errorBody{msg, param})
}

// queryError answers a bad parameter with 400 naming it.
func queryError(w http.ResponseWriter, err error) bool {
	var qe *store.QueryError
	if errors.As(err, &qe) {
		writeError(w, http.StatusBadRequest, qe.Error(), qe.Param)
		return true
	}
	return false
}

func (a *api) search(w http.ResponseWriter, r *http.Request) {
	q, _, ok := a.storeQuery(w, r)
	if !ok {
		return
	}
	res, err := a.o.Store.Search(r.Context(), q)
	if err != nil {
		a.storeFailed(w, "search", err)
		return
	}
	if res.Events == nil {
		res.Events = []json.RawMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Events []json.RawMessage `json:"events"`
		Next   string            `json:"next"`
	}{res.Events, res.Next})
}

// keepalive is how often an idle stream gets a comment line.
var keepalive = 15 * time.Second

func (a *api) stream(w http.ResponseWriter, r *http.Request) {
	if a.o.Hub == nil {
		writeError(w, http.StatusServiceUnavailable, noStore, "")
		return
	}
	v := r.URL.Query()
	for _, k := range []string{"limit", "cursor", "from", "to"} {
		if v.Has(k) {
			writeError(w, http.StatusBadRequest, k+": not a stream parameter (known: q, severity, host, app, tag)", k)
			return
		}
	}
	q, err := store.ParseQuery(v)
	if err != nil {
		if !queryError(w, err) {
			writeError(w, http.StatusBadRequest, err.Error(), "")
		}
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported", "")
		return
	}
	sub := a.o.Hub.subscribe(newFilter(q))
	defer a.o.Hub.unsubscribe(sub)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(": logpacker event stream\n\n"))
	fl.Flush()
	tick := time.NewTicker(keepalive)
	defer tick.Stop()
	var buf []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			w.Write([]byte(": keepalive\n\n"))
			fl.Flush()
		case evs, ok := <-sub.ch:
			if !ok { // overflow
				w.Write([]byte("event: overflow\ndata: {}\n\n"))
				fl.Flush()
				return
			}
			buf = buf[:0]
			for _, ev := range evs {
				buf = append(buf, "event: event\ndata: "...)
				buf = append(buf, ev...)
				buf = append(buf, "\n\n"...)
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// Hub hands stored events to the open streams.
type Hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	f       filter
	ch      chan [][]byte
	pending int // events queued in ch (guarded by Hub.mu)
	closed  bool
}

// maxBehind is how many events a stream may lag before it is dropped.
const maxBehind = 1024

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*subscriber]struct{}{}} }

func (h *Hub) subscribe(f filter) *subscriber {
	s := &subscriber{f: f, ch: make(chan [][]byte, maxBehind)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Publish offers stored events to every stream whose filter selects them. It
// never blocks: a stream too far behind is closed (overflow).
func (h *Hub) Publish(evs []protocol.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	for s := range h.subs {
		if s.closed {
			continue
		}
		var out [][]byte
		for i := range evs {
			if s.f.match(&evs[i]) {
				out = append(out, evs[i].AppendJSON(nil))
			}
		}
		if len(out) == 0 {
			continue
		}
		select {
		case s.ch <- out:
		default:
			s.closed = true
			close(s.ch)
		}
	}
}

// filter is a stream's selection: the search parameters applied to one event.
type filter struct {
	words    []string // lower case; all must occur in the message
	severity *protocol.Severity
	host     string
	app, tag string
}

func newFilter(q store.Query) filter {
	f := filter{severity: q.Severity, host: strings.ToLower(q.Host), app: q.App, tag: q.Tag}
	for _, w := range strings.Fields(strings.ToLower(q.Text)) {
		w = strings.Trim(w, `"*()`)
		if w != "" && w != "and" && w != "or" && w != "not" {
			f.words = append(f.words, w)
		}
	}
	return f
}

func (f *filter) match(ev *protocol.Event) bool {
	if f.severity != nil && ev.Severity > *f.severity {
		return false
	}
	if f.host != "" && !strings.EqualFold(ev.Host, f.host) {
		return false
	}
	if f.app != "" && ev.App != f.app {
		return false
	}
	if f.tag != "" {
		found := false
		for _, t := range ev.Tags {
			if t == f.tag {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(f.words) > 0 {
		msg := strings.ToLower(ev.Message)
		for _, w := range f.words {
			if !strings.Contains(msg, w) {
				return false
			}
		}
	}
	return true
}
