package appliance_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"logpacker/protocol"
)

// TestBrowserIngestIntegration: a real headless Chromium loads a page of
// another origin that includes the node's logpacker.js; the page throws,
// rejects a promise and calls console.error, and all three arrive in the
// node's output with the page URL, a stack, the user agent and the
// release tag (sent with fetch, JSON and the token header: a CORS
// preflight, which the node answers); leaving the page sends an event
// with sendBeacon (text/plain, no preflight). A page of an origin not in
// cors_origins gets its preflight and its sendBeacon refused: nothing of
// it is stored.
func TestBrowserIngestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with a real browser (chromium)")
	}
	chromium := need(t, "chromium")
	const token = "web-token-0123"
	var nodeURL string
	page := func(name string) string {
		return `<!doctype html><html><head><title>` + name + `</title>
<script src="` + nodeURL + `/logpacker.js" data-token="` + token + `" data-release="shop@1.2.3" data-app="shop"></script></head>
<body><script>
function boom() { throw new TypeError("boom from " + document.title); }
function later() { return Promise.reject(new Error("rejected in " + document.title)); }
setTimeout(boom, 0);
later();
console.error("console error in", document.title, new RangeError("bad range"));
</script></body></html>`
	}
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page("allowed")))
	}))
	defer allowed.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page("other")))
	}))
	defer other.Close()

	n, dir := testNode(t, loopbackListeners+fmt.Sprintf("[ingest]\ntokens = web:%s\ncors_origins = %s\n", token, allowed.URL))
	http_ := n.Addr("http")
	nodeURL = "http://" + http_.String()
	out := filepath.Join(dir, "events.jsonl")

	// preflight and a disallowed origin, from Go first
	pre := func(origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", nodeURL+"/api/v1/ingest", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-logpacker-token")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := pre(allowed.URL); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != allowed.URL {
		t.Fatalf("preflight of the page's origin: %d %v", res.StatusCode, res.Header)
	}
	if res := pre(other.URL); res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight of another origin: %d %v", res.StatusCode, res.Header)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelA := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()))...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelB()
	if err := chromedp.Do(bctx, chromedp.Navigate(allowed.URL+"/shop/cart?item=7")); err != nil {
		t.Fatal(err)
	}
	ua, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatal(err)
	}
	pageURL := allowed.URL + "/shop/cart?item=7"
	byKind := map[string]protocol.Event{}
	deadline := time.Now().Add(60 * time.Second)
	for len(byKind) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the node has %d of the 3 browser events: %+v", len(byKind), readEvents(t, out))
		}
		time.Sleep(50 * time.Millisecond)
		for _, ev := range readEvents(t, out) {
			byKind[ev.Fields["kind"]] = ev
		}
	}
	want := map[string]struct{ msg, stack string }{
		"error":              {"TypeError: boom from allowed", "boom"},
		"unhandledrejection": {"Error: rejected in allowed", "later"},
		"console.error":      {"console error in allowed RangeError: bad range", "bad range"},
	}
	for kind, w := range want {
		ev, ok := byKind[kind]
		if !ok {
			t.Errorf("no %s event: %+v", kind, byKind)
			continue
		}
		f := ev.Fields
		if !strings.Contains(ev.Message, w.msg) || f["url"] != pageURL || !strings.Contains(f["stack"], w.stack) ||
			!strings.Contains(f["stack"], allowed.URL) || f["user_agent"] != ua || f["release"] != "shop@1.2.3" ||
			ev.App != "shop" || ev.Severity != protocol.SevErr || len(f["fingerprint"]) != 16 || ev.Transport != "http" ||
			!hasTag(ev.Tags, "web") {
			t.Errorf("%s: %q %+v", kind, ev.Message, f)
		}
	}
	if pf := metric(t, http_, `logpacker_http_ingest_requests_total{code="204",endpoint="json"}`); pf < 2 {
		t.Errorf("preflights answered: %v, want the test's and the browser's", pf)
	}

	// leaving the page sends what is queued with sendBeacon (text/plain,
	// the token in the query: no preflight)
	if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`window.logpacker.log("warning", "beacon from allowed", {via: "beacon"}); window.dispatchEvent(new Event("pagehide"))`)); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for byKind["log"].Message == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the beacon's event did not arrive: %+v", readEvents(t, out))
		}
		time.Sleep(50 * time.Millisecond)
		for _, ev := range readEvents(t, out) {
			byKind[ev.Fields["kind"]] = ev
		}
	}
	if ev := byKind["log"]; ev.Message != "beacon from allowed" || ev.Severity != protocol.SevWarning || ev.Fields["via"] != "beacon" || ev.Fields["url"] != pageURL {
		t.Errorf("beacon: %+v", ev)
	}

	// a page of another origin: its preflighted fetch and, on leaving the
	// page, its sendBeacon (no preflight) are both refused
	m403 := `logpacker_http_ingest_requests_total{code="403",endpoint="json"}`
	waitRefused := func(want float64, what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for metric(t, http_, m403) < want {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not refused: %v 403s, want %v", what, metric(t, http_, m403), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	refused := metric(t, http_, m403)
	if err := chromedp.Do(bctx, chromedp.Navigate(other.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitRefused(refused+1, "the other origin's preflight (its errors sent with fetch)")
	if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`window.logpacker.log("error", "beacon from other"); window.dispatchEvent(new Event("pagehide"))`)); err != nil {
		t.Fatal(err)
	}
	waitRefused(refused+2, "the other origin's sendBeacon")
	for _, ev := range readEvents(t, out) {
		if strings.HasPrefix(ev.Fields["url"], other.URL) {
			t.Errorf("stored an event of a disallowed origin: %+v", ev)
		}
	}
	if got := len(readEvents(t, out)); got != 4 {
		t.Errorf("%d events stored, want the 4 of the allowed page", got)
	}
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

// TestHTTPIngestNode: JSON through a node's listener (loopback, no
// tokens: the source "http"): 200 once stored, the events in the output
// with their fields; malformed JSON, an oversized body and a bad envelope
// are refused whole (the WAL's last index does not move); a Sentry
// envelope is stored with its fingerprint.
func TestHTTPIngestNode(t *testing.T) {
	n, dir := testNode(t, loopbackListeners+"[ingest]\nmax_body_size = 64k\n")
	base := "http://" + n.Addr("http").String()
	post := func(path, body string) int {
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := post("/api/v1/ingest", "{\"message\":\"one\",\"level\":\"error\",\"order\":{\"id\":7}}\n{\"msg\":\"two\",\"host\":\"app-1\"}\n"); c != 200 {
		t.Fatalf("ndjson: %d", c)
	}
	last := n.WAL().Stats().LastIndex
	for _, bad := range []struct {
		path, body string
		code       int
	}{
		{"/api/v1/ingest", "{\"message\":\"three\"}\n{\"message\":\"four\"", 400},
		{"/api/v1/ingest", `[{"message":"` + strings.Repeat("x", 70<<10) + `"}]`, 413},
		{"/api/3/envelope/", "{}\n{\"type\":\"event\",\"length\":1000}\n{}", 400},
	} {
		if c := post(bad.path, bad.body); c != bad.code {
			t.Errorf("%.30q: %d, want %d", bad.body, c, bad.code)
		}
	}
	if got := n.WAL().Stats().LastIndex; got != last {
		t.Fatalf("refused requests appended %d records", got-last)
	}
	env := "{\"event_id\":\"abc\"}\n{\"type\":\"event\"}\n{\"level\":\"error\",\"exception\":{\"values\":[{\"type\":\"Error\",\"value\":\"boom\",\"stacktrace\":{\"frames\":[{\"filename\":\"/app.js\",\"function\":\"f\",\"lineno\":1}]}}]}}\n"
	if c := post("/api/3/envelope/", env); c != 200 {
		t.Fatalf("envelope: %d", c)
	}
	out := filepath.Join(dir, "events.jsonl")
	deadline := time.Now().Add(30 * time.Second)
	for len(readEvents(t, out)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("events in the output: %+v", readEvents(t, out))
		}
		time.Sleep(20 * time.Millisecond)
	}
	evs := readEvents(t, out)
	if len(evs) != 3 || evs[0].Message != "one" || evs[0].Severity != protocol.SevErr || evs[0].Fields["order.id"] != "7" ||
		evs[1].Host != "app-1" || !hasTag(evs[0].Tags, "http") || evs[2].Message != "Error: boom" || evs[2].App != "3" ||
		len(evs[2].Fields["fingerprint"]) != 16 {
		t.Fatalf("%+v", evs)
	}
}
