package httpin

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/protocol"
)

// EmitFunc stores events: nil only once they are durable in the WAL
// (pipeline.Ingest.Emit).
type EmitFunc func(context.Context, []protocol.Event) error

//go:embed logpacker.js
var script []byte

// Server serves the HTTP ingest endpoints. Its handlers go into the node's
// one route list (package api); each checks its own per-source tokens.
type Server struct {
	s    Settings
	emit EmitFunc
	log  *slog.Logger
	m    *Metrics
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket // per source
}

// New makes the ingest endpoints for settings s, storing through emit.
func New(s Settings, emit EmitFunc, m *Metrics, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Server{s: s, emit: emit, log: log, m: m, now: time.Now, buckets: map[string]*bucket{}}
}

// Metrics are the logpacker_http_ingest_* families.
type Metrics struct {
	Events   *prometheus.CounterVec // accepted, by endpoint and source
	Requests *prometheus.CounterVec // by endpoint and status code
}

// NewMetrics registers the families with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logpacker_http_ingest_events_total",
			Help: "Events stored from the HTTP ingest endpoints, by endpoint (json, sentry, journal) and source."}, []string{"endpoint", "source"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logpacker_http_ingest_requests_total",
			Help: "Requests to the HTTP ingest endpoints, by endpoint and HTTP status code."}, []string{"endpoint", "code"}),
	}
	if reg != nil {
		reg.MustRegister(m.Events, m.Requests)
	}
	return m
}

// Error is an ingest endpoint's refusal: the HTTP status and the JSON body
// {"error": Msg, …}.
type Error struct {
	Status int
	Msg    string
	Extra  map[string]any
}

func (e *Error) Error() string { return e.Msg }

// WriteError answers e as JSON.
func WriteError(w http.ResponseWriter, e *Error) {
	body := map[string]any{"error": e.Msg, "status": e.Status}
	for k, v := range e.Extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(body)
}

func (s *Server) fail(w http.ResponseWriter, endpoint string, e *Error) {
	s.m.Requests.WithLabelValues(endpoint, strconv.Itoa(e.Status)).Inc()
	if e.Status >= 500 {
		s.log.Error("http ingest: "+e.Msg, "endpoint", endpoint)
	} else {
		s.log.Debug("http ingest: refused", "endpoint", endpoint, "status", e.Status, "err", e.Msg)
	}
	WriteError(w, e)
}

// Authenticate finds the request's source from its token, which may come
// as "Authorization: Bearer T", "Authorization: Basic" (any user, password
// T: what a URL's user:password@ sends, e.g. systemd-journal-upload's
// --url), an "X-Logpacker-Token" header, a "token" query parameter
// (navigator.sendBeacon cannot set headers), or Sentry's sentry_key
// (X-Sentry-Auth, the query, or extra, the envelope's DSN). With no tokens
// configured every request is the source "http".
func (s *Server) Authenticate(r *http.Request, extra ...string) (string, *Error) {
	if len(s.s.Tokens) == 0 {
		return "http", nil
	}
	cands := extra
	if a := r.Header.Get("Authorization"); a != "" {
		if t, ok := strings.CutPrefix(a, "Bearer "); ok {
			cands = append(cands, strings.TrimSpace(t))
		} else if _, p, ok := r.BasicAuth(); ok {
			cands = append(cands, p)
		}
	}
	cands = append(cands, r.Header.Get("X-Logpacker-Token"), r.URL.Query().Get("token"), r.URL.Query().Get("sentry_key"))
	if sa := r.Header.Get("X-Sentry-Auth"); sa != "" {
		for _, kv := range strings.Split(strings.TrimPrefix(sa, "Sentry "), ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "sentry_key="); ok {
				cands = append(cands, v)
			}
		}
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		for tok, name := range s.s.Tokens {
			if subtle.ConstantTimeCompare([]byte(c), []byte(tok)) == 1 {
				return name, nil
			}
		}
	}
	return "", &Error{Status: http.StatusUnauthorized, Msg: "a source token is required ([ingest] tokens): Authorization: Bearer <token>, X-Logpacker-Token, ?token=, or Sentry's sentry_key"}
}

// cors applies the Origin allow-list: a request without Origin (not from
// a browser, or same-origin GET) passes; a listed origin gets the CORS
// headers; any other is refused (403), so a page of another site cannot
// make the node store events even with no-cors requests (sendBeacon).
func (s *Server) cors(w http.ResponseWriter, r *http.Request) *Error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	w.Header().Add("Vary", "Origin")
	if !slices.Contains(s.s.Origins, "*") && !slices.Contains(s.s.Origins, origin) {
		if s.sameOrigin(r, origin) {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Msg: fmt.Sprintf("origin %q is not in [ingest] cors_origins", origin)}
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return nil
}

// sameOrigin: a page the node serves itself.
func (s *Server) sameOrigin(r *http.Request, origin string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host
}

// preflight answers OPTIONS for a listed origin (204 with what may be
// sent; browsers cache it 10 minutes) and refuses others (403).
func (s *Server) preflight(w http.ResponseWriter, r *http.Request, endpoint string) {
	if e := s.cors(w, r); e != nil {
		s.fail(w, endpoint, e)
		return
	}
	if m := r.Header.Get("Access-Control-Request-Method"); m != "" && m != "POST" {
		s.fail(w, endpoint, &Error{Status: http.StatusMethodNotAllowed, Msg: "only POST is accepted"})
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization, X-Logpacker-Token, X-Sentry-Auth")
	h.Set("Access-Control-Max-Age", "600")
	h.Set("Allow", "POST, OPTIONS")
	s.m.Requests.WithLabelValues(endpoint, "204").Inc()
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads the whole body, gunzipped when Content-Encoding says gzip,
// up to max_body_size (413 beyond: nothing is stored).
func (s *Server) readBody(r *http.Request) ([]byte, *Error) {
	var rd io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, int64(s.s.MaxBodySize)+1))
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Msg: "gzip body: " + err.Error()}
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Msg: fmt.Sprintf("Content-Encoding %q is not supported (gzip or none)", enc)}
	}
	if r.ContentLength > int64(s.s.MaxBodySize) {
		return nil, tooLarge(s.s.MaxBodySize)
	}
	b, err := io.ReadAll(io.LimitReader(rd, int64(s.s.MaxBodySize)+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.s.MaxBodySize)
		}
		return nil, &Error{Status: http.StatusBadRequest, Msg: "reading the body: " + err.Error()}
	}
	if len(b) > s.s.MaxBodySize {
		return nil, tooLarge(s.s.MaxBodySize)
	}
	return b, nil
}

func tooLarge(max int) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body larger than max_body_size (%d bytes, after gzip): nothing stored; send smaller batches", max),
		Extra: map[string]any{"max_body_size": max}}
}

// bucket is a token bucket of events per second.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes n events from source's bucket, or says how long to wait.
func (s *Server) allow(source string, n int) *Error {
	if s.s.Rate <= 0 {
		return nil
	}
	if n > s.s.Burst {
		return &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("%d events in one request: more than [ingest] burst (%d); send smaller batches", n, s.s.Burst),
			Extra: map[string]any{"burst": s.s.Burst}}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[source]
	if b == nil {
		b = &bucket{tokens: float64(s.s.Burst), last: now}
		s.buckets[source] = b
	}
	b.tokens = math.Min(float64(s.s.Burst), b.tokens+now.Sub(b.last).Seconds()*s.s.Rate)
	b.last = now
	if b.tokens >= float64(n) {
		b.tokens -= float64(n)
		return nil
	}
	wait := math.Ceil((float64(n) - b.tokens) / s.s.Rate)
	return &Error{Status: http.StatusTooManyRequests, Msg: fmt.Sprintf("source %q is over [ingest] rate_limit (%g events/s): nothing stored; retry after %gs", source, s.s.Rate, wait),
		Extra: map[string]any{"retry_after": wait}}
}

// store stamps and emits evs; 2xx only once they are durable.
func (s *Server) store(ctx context.Context, endpoint, source, peer string, evs []protocol.Event) *Error {
	for i := range evs {
		evs[i].Transport = "http"
		evs[i].Peer = peer
		evs[i].Tags = append(evs[i].Tags, source)
		evs[i].Message = validText(evs[i].Message)
	}
	if err := s.emit(ctx, evs); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Msg: "not stored: " + err.Error() + "; retry"}
	}
	s.m.Events.WithLabelValues(endpoint, source).Add(float64(len(evs)))
	return nil
}

// peerOf is the sender's address, host:port, as the syslog listeners give it.
func peerOf(r *http.Request) string { return r.RemoteAddr }

// Ingest serves POST (and the CORS preflight) of /api/v1/ingest: a JSON
// object, an array of objects, or NDJSON, as application/json,
// application/x-ndjson or text/plain (sendBeacon, fetch without a
// preflight), gzip or not. 200 {"accepted": N} once all N are durable;
// a 4xx JSON body says what was wrong, and then nothing was stored.
func (s *Server) Ingest() http.Handler {
	return s.endpoint("json", func(_ *http.Request, body []byte) (*decoded, error) {
		evs, err := DecodeJSON(body, s.s.MaxEventSize)
		if err != nil {
			return nil, err
		}
		return &decoded{evs: evs, reply: map[string]int{"accepted": len(evs)}}, nil
	})
}

// Envelope serves POST (and the preflight) of /api/{project}/envelope/:
// Sentry SDKs' envelopes (a DSN pointed at the node, or tunnel). The
// sentry_key is a source token. 200 {"id": event_id} once stored.
func (s *Server) Envelope() http.Handler {
	return s.endpoint("sentry", func(r *http.Request, body []byte) (*decoded, error) {
		env, err := DecodeEnvelope(body, r.PathValue("project"), s.s.MaxEventSize)
		if err != nil {
			return nil, err
		}
		d := &decoded{evs: env.Events, reply: map[string]string{"id": env.EventID}}
		if i := strings.Index(env.DSN, "://"); i >= 0 {
			if at := strings.IndexByte(env.DSN[i+3:], '@'); at >= 0 {
				k, _, _ := strings.Cut(env.DSN[i+3:i+3+at], ":")
				d.tokens = append(d.tokens, k)
			}
		}
		return d, nil
	})
}

// decoded is a request body an endpoint read: its events, tokens it
// carries (a Sentry envelope's DSN), and the answer once they are stored.
type decoded struct {
	evs    []protocol.Event
	tokens []string
	reply  any
}

// endpoint is the one flow of the JSON and envelope endpoints: preflight,
// method, origin, body, decode (nothing stored on an error), token, rate,
// store, answer.
func (s *Server) endpoint(ep string, decode func(*http.Request, []byte) (*decoded, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			s.preflight(w, r, ep)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			s.fail(w, ep, &Error{Status: http.StatusMethodNotAllowed, Msg: "only POST (and OPTIONS) are accepted here"})
			return
		}
		if e := s.cors(w, r); e != nil {
			s.fail(w, ep, e)
			return
		}
		body, e := s.readBody(r)
		if e != nil {
			s.fail(w, ep, e)
			return
		}
		d, err := decode(r, body)
		if err != nil {
			s.fail(w, ep, decodeFailure(err))
			return
		}
		source, e := s.Authenticate(r, d.tokens...)
		if e == nil && len(d.evs) > 0 {
			if e = s.allow(source, len(d.evs)); e != nil {
				if ra, ok := e.Extra["retry_after"]; ok {
					w.Header().Set("Retry-After", fmt.Sprint(ra))
				}
			} else {
				e = s.store(r.Context(), ep, source, peerOf(r), d.evs)
			}
		}
		if e != nil {
			s.fail(w, ep, e)
			return
		}
		s.m.Requests.WithLabelValues(ep, "200").Inc()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(d.reply)
	})
}

func decodeFailure(err error) *Error {
	var de *DecodeError
	if errors.As(err, &de) {
		st := http.StatusBadRequest
		if de.Large {
			st = http.StatusRequestEntityTooLarge
		}
		ex := map[string]any{"offset": de.Offset}
		if de.Index >= 0 {
			ex["event"] = de.Index
		}
		return &Error{Status: st, Msg: de.Error() + ": nothing stored", Extra: ex}
	}
	return &Error{Status: http.StatusBadRequest, Msg: err.Error() + ": nothing stored"}
}

// Script serves GET /logpacker.js: the browser client (see its comment for
// how a page loads it).
func (s *Server) Script() http.Handler {
	etag := `"` + base64.RawURLEncoding.EncodeToString(checksum(script)) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("ETag", etag)
		w.Header().Set("Access-Control-Allow-Origin", "*") // a script holds no data
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(script)
	})
}

func checksum(b []byte) []byte {
	var h uint64 = 14695981039346656037
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	out := make([]byte, 8)
	for i := range out {
		out[i] = byte(h >> (8 * i))
	}
	return out
}

// Guard wraps an endpoint that reads its own body (journald's /upload) in
// the token check; the source's name is in the request's context
// (SourceFrom).
func (s *Server) Guard(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		source, e := s.Authenticate(r)
		if e != nil {
			s.fail(w, endpoint, e)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sourceKey{}, source)))
	})
}

type sourceKey struct{}

// SourceFrom is the source Guard found for the request ("" without Guard).
func SourceFrom(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}
