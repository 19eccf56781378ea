package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/store"
	"logpacker/protocol"
)

// server runs the API over a real store holding n events: host web-<i%3>,
// severity i%8, message "request <i> done" (+ " timeout" every 10th).
func server(t *testing.T, n int, token string) (*httptest.Server, *Hub) {
	t.Helper()
	return serverAt(t, n, token, time.Now().UTC().Add(-time.Hour))
}

// serverAt is server with the first event received at base (event i at base + i s).
func serverAt(t *testing.T, n int, token string, base time.Time) (*httptest.Server, *Hub) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	evs := make([]protocol.Event, n)
	for i := range evs {
		msg := fmt.Sprintf("request %d done", i)
		if i%10 == 0 {
			msg += " timeout"
		}
		evs[i] = protocol.Event{ID: protocol.ID{Node: "n1", Seq: uint64(i + 1)}, Received: base.Add(time.Duration(i) * time.Second),
			Host: fmt.Sprintf("web-%d", i%3), App: "app", Severity: protocol.Severity(i % 8), Message: msg, Count: 1}
	}
	if n > 0 {
		if err := st.Write(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	hub := NewHub()
	ts := httptest.NewServer(Handler(Options{Store: st, Hub: hub, Token: token}))
	t.Cleanup(ts.Close)
	return ts, hub
}

type page struct {
	Events []protocol.Event `json:"events"`
	Next   string           `json:"next"`
}

func get(t *testing.T, ts *httptest.Server, path string, hdr ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	if len(hdr) == 2 {
		req.Header.Set(hdr[0], hdr[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, []byte(b.String())
}

func TestSearchAndPaging(t *testing.T) {
	ts, _ := server(t, 1000, "")
	// every event once, newest first, through the cursor
	seen := map[uint64]bool{}
	last := uint64(1 << 62)
	next := ""
	for pages := 0; ; pages++ {
		code, body := get(t, ts, "/api/v1/events?limit=77&cursor="+url.QueryEscape(next))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		for _, ev := range p.Events {
			if seen[ev.ID.Seq] || ev.ID.Seq >= last {
				t.Fatalf("event %d twice or out of order", ev.ID.Seq)
			}
			seen[ev.ID.Seq], last = true, ev.ID.Seq
		}
		if next = p.Next; next == "" {
			break
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("paged %d events, want 1000", len(seen))
	}
	// text, host, severity and time range together
	from := url.QueryEscape(time.Now().UTC().Add(-time.Hour).Add(100 * time.Second).Format(time.RFC3339))
	code, body := get(t, ts, "/api/v1/events?q=timeout&host=WEB-0&severity=warning&limit=1000&from="+from)
	var p page
	json.Unmarshal(body, &p)
	want := 0
	for i := 100; i < 1000; i++ {
		if i%10 == 0 && i%3 == 0 && i%8 <= 4 {
			want++
		}
	}
	if code != 200 || len(p.Events) != want || want == 0 {
		t.Fatalf("%d: %d events, want %d", code, len(p.Events), want)
	}
	for _, ev := range p.Events {
		if ev.Host != "web-0" || ev.Severity > protocol.SevWarning || !strings.Contains(ev.Message, "timeout") {
			t.Fatalf("event %+v does not match", ev)
		}
	}
}

// TestHitsAndFacets: the histogram counts every event once, in its bucket,
// for the query's conditions; the facets give the top values per field.
func TestHitsAndFacets(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour)
	ts, _ := serverAt(t, 1000, "", base)
	from := base.Truncate(time.Minute)
	q := "from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(from.Add(20*time.Minute).Format(time.RFC3339))
	code, body := get(t, ts, "/api/v1/hits?step=1m&"+q)
	var h store.Hits
	if err := json.Unmarshal(body, &h); code != 200 || err != nil {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if h.Total != 1000 || len(h.Buckets) != 20 || h.StepSec != 60 {
		t.Fatalf("total %d, %d buckets of %vs; want 1000 in 20 of 60s", h.Total, len(h.Buckets), h.StepSec)
	}
	var sum uint64
	for i, b := range h.Buckets {
		// event i was received at base + i s
		want := 0
		for j := range 1000 {
			if r := base.Add(time.Duration(j) * time.Second); !r.Before(b.Time) && r.Before(b.Time.Add(time.Minute)) {
				want++
			}
		}
		if b.Count != uint64(want) || !b.Time.Equal(from.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("bucket %d: %s %d, want %d", i, b.Time, b.Count, want)
		}
		sum += b.Count
	}
	if sum != 1000 {
		t.Fatalf("buckets sum to %d", sum)
	}
	// with conditions: timeout (every 10th) on web-0 (every 3rd)
	code, body = get(t, ts, "/api/v1/hits?q=timeout&host=web-0&"+q)
	if err := json.Unmarshal(body, &h); code != 200 || err != nil || h.Total != 34 {
		t.Fatalf("%d: total %d, want 34: %s", code, h.Total, body)
	}

	code, body = get(t, ts, "/api/v1/facets?limit=3&"+q)
	var f struct {
		Facets map[string][]store.FacetValue `json:"facets"`
	}
	if err := json.Unmarshal(body, &f); code != 200 || err != nil {
		t.Fatalf("%d %s %v", code, body, err)
	}
	want := map[string][]store.FacetValue{
		"host":     {{Value: "web-0", Count: 334}, {Value: "web-1", Count: 333}, {Value: "web-2", Count: 333}},
		"app":      {{Value: "app", Count: 1000}},
		"severity": {{Value: "emerg", Count: 125}, {Value: "alert", Count: 125}, {Value: "crit", Count: 125}},
		"tags":     {},
	}
	if fmt.Sprint(f.Facets) != fmt.Sprint(want) {
		t.Fatalf("facets %v, want %v", f.Facets, want)
	}
	for _, bad := range []struct{ path, param string }{
		{"/api/v1/hits?step=fortnight", "step"},
		{"/api/v1/hits?step=1ms", "step"},
		{"/api/v1/hits?step=1s&from=2020-01-01T00:00:00Z", "step"},
		{"/api/v1/hits?q=%22open", "q"},
		{"/api/v1/facets?limit=101", "limit"},
		{"/api/v1/facets?colour=red", "colour"},
	} {
		code, body := get(t, ts, bad.path)
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil || code != 400 || e.Parameter != bad.param {
			t.Errorf("%s: %d %s (want 400 naming %q)", bad.path, code, body, bad.param)
		}
	}
}

func TestBadParametersAre400(t *testing.T) {
	ts, _ := server(t, 0, "")
	for _, c := range []struct{ query, param string }{
		{"severity=loud", "severity"},
		{"limit=0", "limit"},
		{"limit=x", "limit"},
		{"from=yesterday", "from"},
		{"cursor=%21%21", "cursor"},
		{"colour=red", "colour"},
		{"host=a&host=b", "host"},
	} {
		code, body := get(t, ts, "/api/v1/events?"+c.query)
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil || code != 400 || e.Parameter != c.param || e.Error == "" {
			t.Errorf("%s: %d %s (want 400 naming %q)", c.query, code, body, c.param)
		}
	}
	if code, _ := get(t, ts, "/api/v1/events/stream?limit=5"); code != 400 {
		t.Errorf("stream with limit: %d, want 400", code)
	}
}

func TestBearerToken(t *testing.T) {
	ts, _ := server(t, 3, "s3cret")
	if code, _ := get(t, ts, "/api/v1/events"); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := get(t, ts, "/api/v1/events", "Authorization", "Bearer wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, body := get(t, ts, "/api/v1/events", "Authorization", "Bearer s3cret"); code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
}

func TestNoStoreIs503(t *testing.T) {
	ts := httptest.NewServer(Handler(Options{}))
	defer ts.Close()
	for _, p := range []string{"/api/v1/events", "/api/v1/events/stream"} {
		if code, body := get(t, ts, p); code != 503 || !strings.Contains(string(body), "type = store") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
}

// TestStream: a stream gets the published events its filter selects, in
// order, as server-sent events; one that falls too far behind is told so.
func TestStream(t *testing.T) {
	ts, hub := server(t, 0, "")
	resp, err := http.Get(ts.URL + "/api/v1/events/stream?severity=err&q=disk")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, ":") { // the opening comment: subscribed
		t.Fatalf("first line %q", l)
	}
	var evs []protocol.Event
	for i := range 6 {
		sev := protocol.SevInfo
		if i%2 == 0 {
			sev = protocol.SevErr
		}
		evs = append(evs, protocol.Event{ID: protocol.ID{Node: "n", Seq: uint64(i + 1)}, Severity: sev, Message: fmt.Sprintf("Disk %d full", i)})
	}
	evs = append(evs, protocol.Event{ID: protocol.ID{Node: "n", Seq: 7}, Severity: protocol.SevCrit, Message: "cpu hot"})
	hub.Publish(evs)
	var got []uint64
	for len(got) < 3 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			var ev protocol.Event
			if err := json.Unmarshal([]byte(d), &ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.ID.Seq)
		}
	}
	if fmt.Sprint(got) != "[1 3 5]" {
		t.Fatalf("streamed %v, want [1 3 5]", got)
	}

	// a stream that does not read falls behind and is dropped
	s := hub.subscribe(filter{})
	for range maxBehind + 1 {
		hub.Publish(evs[:1])
	}
	n := 0
	for range s.ch {
		n++
	}
	if n != maxBehind {
		t.Fatalf("%d batches queued before the overflow, want %d", n, maxBehind)
	}
}

func FuzzFilter(f *testing.F) {
	f.Add("disk full", "web-1", "Disk is FULL on web-1")
	f.Add(`"a b" c*`, "", "a b c")
	f.Fuzz(func(t *testing.T, q, host, msg string) {
		fl := newFilter(store.Query{Text: q, Host: host})
		ev := protocol.Event{Host: host, Message: msg}
		got := fl.match(&ev)
		for _, w := range fl.words {
			if !strings.Contains(strings.ToLower(msg), w) && got {
				t.Fatalf("%q matched %q without word %q", q, msg, w)
			}
		}
	})
}

func BenchmarkPublish(b *testing.B) {
	hub := NewHub()
	s := hub.subscribe(newFilter(store.Query{Text: "timeout"}))
	go func() {
		for range s.ch {
		}
	}()
	evs := make([]protocol.Event, 512)
	for i := range evs {
		evs[i] = protocol.Event{Host: "web-1", Message: fmt.Sprintf("request %d done", i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		hub.Publish(evs)
	}
}
