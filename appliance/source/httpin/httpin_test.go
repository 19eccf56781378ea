package httpin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"logpacker/protocol"
)

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		n          int
		check      func(t *testing.T, evs []protocol.Event)
	}{
		{"object", `{"message":"hello","level":"warn","host":"web-1","app":"shop","time":"2026-12-01T10:00:00.5Z","user":{"id":7,"plan":"pro"},"ok":true}`, 1,
			func(t *testing.T, evs []protocol.Event) {
				e := evs[0]
				if e.Message != "hello" || e.Severity != protocol.SevWarning || e.Host != "web-1" || e.App != "shop" ||
					!e.Time.Equal(time.Date(2026, 12, 1, 10, 0, 0, 5e8, time.UTC)) ||
					e.Fields["user.id"] != "7" || e.Fields["user.plan"] != "pro" || e.Fields["ok"] != "true" || len(e.Fields) != 3 {
					t.Errorf("%+v", e)
				}
			}},
		{"array", `[{"msg":"a","severity":3},{"log":"b","lvl":"fatal","ts":1764583200123}]`, 2,
			func(t *testing.T, evs []protocol.Event) {
				if evs[0].Message != "a" || evs[0].Severity != protocol.SevErr || evs[1].Message != "b" || evs[1].Severity != protocol.SevCrit ||
					!evs[1].Time.Equal(time.UnixMilli(1764583200123)) {
					t.Errorf("%+v", evs)
				}
			}},
		{"ndjson", "{\"message\":\"1\"}\n{\"message\":\"2\",\"tags\":[\"x\",\"y\"]}\n\n{\"message\":\"3\",\"time\":1764583200.25}\n", 3,
			func(t *testing.T, evs []protocol.Event) {
				if evs[2].Message != "3" || len(evs[1].Tags) != 2 || !evs[2].Time.Equal(time.Unix(1764583200, 25e7)) {
					t.Errorf("%+v", evs)
				}
			}},
		{"stack gets a fingerprint", `{"message":"TypeError: x is undefined","stack":"TypeError: x is undefined\n    at boom (http://a.example/app.js?v=1:10:5)"}`, 1,
			func(t *testing.T, evs []protocol.Event) {
				if len(evs[0].Fields["fingerprint"]) != 16 {
					t.Errorf("%+v", evs[0])
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := DecodeJSON([]byte(tc.body), 1<<20)
			if err != nil || len(evs) != tc.n {
				t.Fatalf("%d events, %v", len(evs), err)
			}
			tc.check(t, evs)
		})
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"empty", "  ", "empty body"},
		{"truncated", `{"message":"a"`, "unexpected end"},
		{"second bad", "{\"message\":\"a\"}\n{\"message\":}\n", "event 1"},
		{"array bad", `[{"message":"a"},{"message":"b"`, "event 1"},
		{"not an object", `["a"]`, "not a JSON object"},
		{"bad time", `{"time":"yesterday"}`, "time:"},
		{"bad level", `{"level":"loud"}`, "not a severity"},
		{"garbage after array", `[{"a":1}] x`, "after the array"},
		{"empty array", `[]`, "no events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := DecodeJSON([]byte(tc.body), 1<<20)
			if err == nil || evs != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want an error with %q", evs, err, tc.want)
			}
		})
	}
	_, err := DecodeJSON([]byte(`{"message":"`+strings.Repeat("x", 2000)+`"}`), 1024)
	var de *DecodeError
	if !errors.As(err, &de) || !de.Large {
		t.Fatalf("large event: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	chrome := "TypeError: Cannot read properties of undefined (reading 'x')\n" +
		"    at render (https://shop.example.com/static/app.3f2a1b9c.js?v=12:10:15)\n" +
		"    at async load (https://shop.example.com/static/app.3f2a1b9c.js?v=12:200:3)\n" +
		"    at https://shop.example.com/static/vendor.js:1:1"
	rebuilt := strings.NewReplacer("3f2a1b9c", "77aa01ee", ":10:15", ":12:1", "v=12", "v=13", "shop.example.com", "cdn.example.net").Replace(chrome)
	other := strings.Replace(chrome, "render", "paint", 1)
	fp := func(s string) string { return Fingerprint(FramesFromStack(s), errType("", s)) }
	if fp(chrome) != fp(rebuilt) {
		t.Errorf("a new build's stack groups apart:\n%s\n%s", NormalisedStack(FramesFromStack(chrome)), NormalisedStack(FramesFromStack(rebuilt)))
	}
	if fp(chrome) == fp(other) {
		t.Error("another function's error groups together")
	}
	if got := NormalisedStack(FramesFromStack(chrome)); got != "render /static/app.#.js\nload /static/app.#.js\n /static/vendor.js\n" {
		t.Errorf("normalised: %q", got)
	}
	firefox := "render@https://shop.example.com/static/app.3f2a1b9c.js:10:15\nload@https://shop.example.com/static/app.3f2a1b9c.js:200:3\n"
	if got := NormalisedStack(FramesFromStack(firefox)); got != "render /static/app.#.js\nload /static/app.#.js\n" {
		t.Errorf("firefox: %q", got)
	}
}

const envelope = `{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://abc12345@logs.example.com/42","sent_at":"2026-12-01T10:00:00Z"}
{"type":"session","length":13}
{"sid":"1"} 
{"type":"event","content_type":"application/json"}
{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","level":"error","platform":"javascript","release":"shop@1.2.3","environment":"prod","timestamp":1764583200.5,"request":{"url":"https://shop.example.com/cart","headers":{"User-Agent":"Mozilla/5.0"}},"tags":{"team":"web"},"exception":{"values":[{"type":"TypeError","value":"x is undefined","stacktrace":{"frames":[{"filename":"https://shop.example.com/app.3f2a1b9c.js","function":"main","lineno":1,"colno":1},{"filename":"https://shop.example.com/app.3f2a1b9c.js","function":"render","lineno":10,"colno":15}]}}]}}
`

func TestDecodeEnvelope(t *testing.T) {
	env, err := DecodeEnvelope([]byte(envelope), "42", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if env.Skipped != 1 || len(env.Events) != 1 || env.EventID != "9ec79c33ec9942ab8353589fcb2e04dc" || env.DSN == "" {
		t.Fatalf("%+v", env)
	}
	e := env.Events[0]
	if e.Message != "TypeError: x is undefined" || e.App != "42" || e.Host != "shop.example.com" || e.Severity != protocol.SevErr ||
		e.Fields["release"] != "shop@1.2.3" || e.Fields["url"] != "https://shop.example.com/cart" || e.Fields["user_agent"] != "Mozilla/5.0" ||
		e.Fields["tags.team"] != "web" || !strings.HasPrefix(e.Fields["stack"], "    at render (https://shop.example.com/app.3f2a1b9c.js:10:15)\n") ||
		e.Fields["fingerprint"] != Fingerprint([]Frame{{"render", "https://x/app.1234abcd.js"}, {"main", "/app.99.js"}}, "TypeError") ||
		!e.Time.Equal(time.Unix(1764583200, 5e8)) {
		t.Errorf("%+v", e)
	}
	for _, bad := range []string{"", "{\n{\"type\":\"event\",\"length\":500}\n{}", "{}\n{\"type\":\"event\"}\n{\"exception\":3", "{}\nnot json\n"} {
		if env, err := DecodeEnvelope([]byte(bad), "1", 1<<20); err == nil {
			t.Errorf("%q: %+v, no error", bad, env)
		}
	}
}

// fakeWAL records what was emitted; fail makes emit fail.
type fakeWAL struct {
	mu   sync.Mutex
	evs  []protocol.Event
	fail error
}

func (f *fakeWAL) emit(_ context.Context, evs []protocol.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.evs = append(f.evs, evs...)
	return nil
}

func (f *fakeWAL) n() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.evs) }

func newTestServer(t *testing.T, s Settings) (*httptest.Server, *fakeWAL, *Server) {
	w := &fakeWAL{}
	srv := New(s, w.emit, nil, nil)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/ingest", srv.Ingest())
	mux.Handle("/api/{project}/envelope/{$}", srv.Envelope())
	mux.Handle("GET /logpacker.js", srv.Script())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts, w, srv
}

type resp struct {
	code int
	h    http.Header
	body map[string]any
}

func do(t *testing.T, method, url string, body io.Reader, hdr ...string) resp {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	json.Unmarshal(b, &m)
	return resp{res.StatusCode, res.Header, m}
}

func TestIngestHandler(t *testing.T) {
	s := DefaultSettings()
	s.Set("tokens", "app:app-token-1, web:web-token-2")
	s.Set("cors_origins", "http://shop.example")
	s.MaxBodySize = 4096
	ts, w, _ := newTestServer(t, s)
	u := ts.URL + "/api/v1/ingest"
	ok := `{"message":"hi"}`

	if r := do(t, "POST", u, strings.NewReader(ok)); r.code != 401 || !strings.Contains(r.body["error"].(string), "token") {
		t.Errorf("no token: %+v", r)
	}
	if r := do(t, "POST", u, strings.NewReader(ok), "Authorization", "Bearer nope-nope-nope"); r.code != 401 {
		t.Errorf("bad token: %+v", r)
	}
	for _, hdr := range [][]string{{"Authorization", "Bearer app-token-1"}, {"X-Logpacker-Token", "web-token-2"}} {
		if r := do(t, "POST", u, strings.NewReader(ok), hdr...); r.code != 200 || r.body["accepted"] != 1.0 {
			t.Errorf("%v: %+v", hdr, r)
		}
	}
	if r := do(t, "POST", u+"?token=app-token-1", strings.NewReader(ok), "Content-Type", "text/plain;charset=UTF-8"); r.code != 200 {
		t.Errorf("?token= text/plain: %+v", r)
	}
	req, _ := http.NewRequest("POST", u, strings.NewReader(ok))
	req.SetBasicAuth("journal", "app-token-1")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("basic: %v %v", res, err)
	}
	if w.n() != 4 || w.evs[0].Tags[0] != "app" || w.evs[1].Tags[0] != "web" || w.evs[0].Transport != "http" || !strings.HasPrefix(w.evs[0].Peer, "127.0.0.1:") {
		t.Fatalf("stored %+v", w.evs)
	}

	// gzip
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`[{"message":"z1"},{"message":"z2"}]`))
	zw.Close()
	if r := do(t, "POST", u, &gz, "Content-Encoding", "gzip", "X-Logpacker-Token", "app-token-1"); r.code != 200 || w.n() != 6 {
		t.Errorf("gzip: %+v", r)
	}
	if r := do(t, "POST", u, strings.NewReader(ok), "Content-Encoding", "br", "X-Logpacker-Token", "app-token-1"); r.code != 415 {
		t.Errorf("br: %+v", r)
	}

	// bad input: a clear 4xx, nothing stored
	before := w.n()
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{"{\"message\":\"ok\"}\n{\"message\":\"cut", 400, "event 1"},
		{`[{"message":"a"}, 7]`, 400, "not a JSON object"},
		{`{"message":"` + strings.Repeat("x", 5000) + `"}`, 413, "max_body_size"},
	} {
		r := do(t, "POST", u, strings.NewReader(tc.body), "X-Logpacker-Token", "app-token-1")
		if r.code != tc.code || !strings.Contains(r.body["error"].(string), tc.want) || !strings.Contains(r.body["error"].(string), "nothing stored") {
			t.Errorf("%.40q: %+v", tc.body, r)
		}
	}
	// a gzip bomb stops at max_body_size too
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write([]byte(`{"message":"` + strings.Repeat("x", 1<<20) + `"}`))
	zw.Close()
	if r := do(t, "POST", u, &gz, "Content-Encoding", "gzip", "X-Logpacker-Token", "app-token-1"); r.code != 413 {
		t.Errorf("gzip bomb: %+v", r)
	}
	if w.n() != before {
		t.Errorf("bad requests stored %d events", w.n()-before)
	}

	// the WAL cannot store: 503, so the client retries
	w.fail = errors.New("disk on fire")
	if r := do(t, "POST", u, strings.NewReader(ok), "X-Logpacker-Token", "app-token-1"); r.code != 503 {
		t.Errorf("emit failed: %+v", r)
	}
	w.fail = nil
	if r := do(t, "GET", u, nil); r.code != 405 {
		t.Errorf("GET: %+v", r)
	}
}

func TestCORS(t *testing.T) {
	s := DefaultSettings()
	s.Set("tokens", "web:web-token-2")
	s.Set("cors_origins", "http://shop.example, https://m.shop.example")
	ts, w, _ := newTestServer(t, s)
	u := ts.URL + "/api/v1/ingest"

	r := do(t, "OPTIONS", u, nil, "Origin", "http://shop.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,x-logpacker-token")
	if r.code != 204 || r.h.Get("Access-Control-Allow-Origin") != "http://shop.example" ||
		!strings.Contains(r.h.Get("Access-Control-Allow-Headers"), "X-Logpacker-Token") || r.h.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight: %d %v", r.code, r.h)
	}
	r = do(t, "OPTIONS", u, nil, "Origin", "http://evil.example", "Access-Control-Request-Method", "POST")
	if r.code != 403 || r.h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of a disallowed origin: %d %v", r.code, r.h)
	}
	// a simple (no-preflight) request from a disallowed origin: refused, not stored
	r = do(t, "POST", u+"?token=web-token-2", strings.NewReader(`{"message":"x"}`), "Origin", "http://evil.example", "Content-Type", "text/plain")
	if r.code != 403 || w.n() != 0 {
		t.Errorf("disallowed origin: %+v, stored %d", r, w.n())
	}
	r = do(t, "POST", u+"?token=web-token-2", strings.NewReader(`{"message":"x"}`), "Origin", "https://m.shop.example", "Content-Type", "text/plain")
	if r.code != 200 || r.h.Get("Access-Control-Allow-Origin") != "https://m.shop.example" || w.n() != 1 {
		t.Errorf("allowed origin: %+v", r)
	}
	// the script is open to any page
	if r := do(t, "GET", ts.URL+"/logpacker.js", nil); r.code != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/javascript") {
		t.Errorf("logpacker.js: %+v", r)
	}
}

func TestRateLimit(t *testing.T) {
	s := DefaultSettings()
	s.Set("tokens", "app:app-token-1, web:web-token-2")
	s.Rate, s.Burst = 10, 5
	ts, w, srv := newTestServer(t, s)
	now := time.Unix(1000, 0)
	srv.now = func() time.Time { return now }
	u := ts.URL + "/api/v1/ingest"
	four := `[{"message":"1"},{"message":"2"},{"message":"3"},{"message":"4"}]`
	if r := do(t, "POST", u, strings.NewReader(four), "X-Logpacker-Token", "app-token-1"); r.code != 200 {
		t.Fatalf("%+v", r)
	}
	r := do(t, "POST", u, strings.NewReader(four), "X-Logpacker-Token", "app-token-1")
	if r.code != 429 || r.h.Get("Retry-After") != "1" || w.n() != 4 {
		t.Errorf("over the rate: %+v", r)
	}
	// per source: another one is not limited by app's use
	if r := do(t, "POST", u, strings.NewReader(four), "X-Logpacker-Token", "web-token-2"); r.code != 200 {
		t.Errorf("other source: %+v", r)
	}
	now = now.Add(time.Second) // the bucket refills
	if r := do(t, "POST", u, strings.NewReader(four), "X-Logpacker-Token", "app-token-1"); r.code != 200 {
		t.Errorf("after a second: %+v", r)
	}
	six := `[{"a":1},{"a":1},{"a":1},{"a":1},{"a":1},{"a":1}]`
	if r := do(t, "POST", u, strings.NewReader(six), "X-Logpacker-Token", "web-token-2"); r.code != 413 || !strings.Contains(r.body["error"].(string), "burst") {
		t.Errorf("more than burst: %+v", r)
	}
}

func TestEnvelopeHandler(t *testing.T) {
	s := DefaultSettings()
	s.Set("tokens", "sentry:abc12345, web:web-token-2")
	ts, w, _ := newTestServer(t, s)
	// the key from the envelope's DSN (a tunnel)
	r := do(t, "POST", ts.URL+"/api/42/envelope/", strings.NewReader(envelope), "Content-Type", "application/x-sentry-envelope")
	if r.code != 200 || r.body["id"] != "9ec79c33ec9942ab8353589fcb2e04dc" || w.n() != 1 || w.evs[0].Tags[1] != "sentry" {
		t.Fatalf("%+v %+v", r, w.evs)
	}
	noDSN := strings.Replace(envelope, `"dsn":"https://abc12345@logs.example.com/42",`, "", 1)
	if r := do(t, "POST", ts.URL+"/api/42/envelope/", strings.NewReader(noDSN)); r.code != 401 {
		t.Errorf("no key: %+v", r)
	}
	if r := do(t, "POST", ts.URL+"/api/42/envelope/?sentry_key=web-token-2&sentry_version=7", strings.NewReader(noDSN)); r.code != 200 {
		t.Errorf("?sentry_key: %+v", r)
	}
	if r := do(t, "POST", ts.URL+"/api/42/envelope/", strings.NewReader(noDSN), "X-Sentry-Auth", "Sentry sentry_version=7, sentry_key=abc12345, sentry_client=x"); r.code != 200 {
		t.Errorf("X-Sentry-Auth: %+v", r)
	}
	if r := do(t, "POST", ts.URL+"/api/42/envelope/", strings.NewReader("{}\n{\"type\":\"event\",\"length\":99}\n{}"), "X-Sentry-Auth", "Sentry sentry_key=abc12345"); r.code != 400 || w.n() != 3 {
		t.Errorf("bad envelope: %+v", r)
	}
}

func TestSettings(t *testing.T) {
	s := DefaultSettings()
	for _, tc := range []struct{ k, v string }{
		{"tokens", "app"}, {"tokens", "a:short"}, {"tokens", "a:12345678,b:12345678"}, {"tokens", "a b:12345678"},
		{"cors_origins", "shop.example"}, {"max_body_size", "1"}, {"rate_limit", "-1"}, {"journal", "maybe"}, {"nope", "1"},
	} {
		if err := s.Set(tc.k, tc.v); err == nil {
			t.Errorf("%s = %s: no error", tc.k, tc.v)
		}
	}
	if err := s.Set("tokens", "app:12345678, web:abcdefgh"); err != nil || s.Tokens["abcdefgh"] != "web" {
		t.Errorf("%v %v", err, s.Tokens)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"message":"a","level":3,"time":1764583200}`, `[{"a":{"b":[1,2]}},{"msg":"x"}]`, "{}\n{}\n", `{"stack":"at f (http://x/a.js:1:2)"}`, `[`, `{"time":"2026-12-01 10:00:00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := DecodeJSON(b, 1<<16)
		if (err == nil) == (len(evs) == 0) {
			t.Fatalf("%d events and err %v", len(evs), err)
		}
		for _, e := range evs {
			e.AppendBinary(nil)
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(envelope))
	f.Add([]byte("{}\n{\"type\":\"event\",\"length\":2}\n{}\n"))
	f.Add([]byte("{}\n{\"type\":\"event\"}\n{\"message\":\"m\",\"exception\":[{\"type\":\"E\"}]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b, "p", 1<<16)
		if err == nil && env == nil {
			t.Fatal("no envelope, no error")
		}
	})
}

func FuzzFramesFromStack(f *testing.F) {
	f.Add("TypeError: x\n    at f (http://a/b.js:1:2)\n    at http://a/c.js:3:4")
	f.Add("f@http://a/b.js:1:2\n@http://a/c.js:3:4")
	f.Fuzz(func(t *testing.T, s string) {
		fr := FramesFromStack(s)
		if len(Fingerprint(fr, "E")) != 16 {
			t.Fatal("fingerprint length")
		}
	})
}
