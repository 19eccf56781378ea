package appliance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"logpacker/protocol"
)

// TestWebUIIntegration drives the web UI in a real headless Chromium
// (Debian's chromium, through the DevTools protocol) against the real
// binary with [api] token set and seeded events: the token is asked for
// and kept; the histogram is drawn; a query typed narrows the results; a
// facet clicked narrows them again; an event expands to its fields; a
// drag on the histogram zooms in; a reload keeps the state (the URL holds
// it); the live tail gets a message sent with `logger` while it is open,
// filtered on the server; pause (the button, then scrolling up) counts
// the events skipped, which a link finds in the search; the cluster page shows the node, its WAL and the
// cluster, and a leaf's page its parent; on a phone-sized screen nothing overflows sideways. Screenshots
// of each step are kept in a directory the test prints
// ($LOGPACKER_UI_SCREENSHOTS, else a new one under the temp directory).
func TestWebUIIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes (the binary, chromium)")
	}
	chromium := need(t, "chromium")
	logger := need(t, "logger")
	// a root (store, cluster of one, token) and a leaf relaying to it
	bin, dir, ca := relayFixture(t, "ui-node", "ui-leaf")
	tcpPort, httpPort, relayPort, leafTCP, leafHTTP := freePort(t), freePort(t), freeUDPPort(t), freePort(t), freePort(t)
	const token = "ui-test-token"
	cfg := writeNodeINI(t, dir, "ui-node", fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\nrelay = 127.0.0.1:%d\n"+
		"[relay]\n%s[api]\ntoken = %s\n[cluster]\nbind = 127.0.0.1:%d\n", tcpPort, httpPort, relayPort, relayKeys(ca), token, freePort(t)))
	p := runBinary(t, bin, cfg, dir, "node")
	leafCfg := writeNodeINI(t, dir, "ui-leaf", fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\n[relay]\n%supstream = 127.0.0.1:%d\n",
		leafTCP, leafHTTP, relayKeys(ca), relayPort))
	runBinary(t, bin, leafCfg, dir, "leaf")
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	syslogAddr := fmt.Sprintf("127.0.0.1:%d", tcpPort)
	get := func(path string, v any) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		if v != nil {
			json.NewDecoder(resp.Body).Decode(v)
		}
		return resp.StatusCode
	}
	p.waitFor(time.Now().Add(30*time.Second), "/readyz", func() bool { return get("/readyz", nil) == 200 })

	// Seed: 6 bursts of 40 events, 700 ms apart (a few bars in the
	// histogram): hosts, apps and severities in turn, every 5th a timeout.
	hosts := []string{"web-1", "web-2", "db-1", "cache-1"}
	apps := []string{"nginx", "postgres", "cron"}
	const bursts, perBurst = 6, 40
	const total = bursts * perBurst
	wantTimeout, wantTimeoutDB := 0, 0
	seedStart := time.Now().UTC()
	for b := range bursts {
		var lines []string
		for j := range perBurst {
			i := b*perBurst + j
			msg := fmt.Sprintf("GET /api/orders/%d 200 12ms", i)
			if i%5 == 0 {
				msg = fmt.Sprintf("connection timeout after 30s to 10.0.0.7:5432 n=%d", i)
				wantTimeout++
				if hosts[i%4] == "db-1" {
					wantTimeoutDB++
				}
			}
			lines = append(lines, fmt.Sprintf("<%d>1 2026-12-01T10:00:00Z %s %s %d REQ [req@32473 id=\"r%d\"] %s\n",
				protocol.Priority(protocol.FacDaemon, protocol.Severity(i%8)), hosts[i%4], apps[i%3], 1000+i, i, msg))
		}
		sendTCP(t, syslogAddr, lines...)
		time.Sleep(700 * time.Millisecond)
	}
	var page struct{ Events []json.RawMessage }
	p.waitFor(time.Now().Add(60*time.Second), "the seeded events in the store", func() bool {
		return get("/api/v1/events?limit=1000", &page) == 200 && len(page.Events) == total
	})
	// the range the UI opens: the seeded events and a little around them
	from := seedStart.Add(-time.Second).Truncate(time.Second)
	to := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second)
	searchURL := base + "/?" + url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}.Encode()

	shots := os.Getenv("LOGPACKER_UI_SCREENSHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "logpacker-ui-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	actx, cancelA := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelB()
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// every console error and uncaught exception of the page fails the test
	// (but the browser's notes of the 401s that make the page ask for the
	// token and of the 400s for the bad query the test types)
	var consoleMu sync.Mutex
	var consoleErrs []string
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" && !strings.Contains(m.Text, "status of 401") && !strings.Contains(m.Text, "status of 400") {
				consoleMu.Lock()
				consoleErrs = append(consoleErrs, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m))
				consoleMu.Unlock()
			}
		}
	}()

	b := &uiBrowser{t: t, ctx: bctx, shots: shots}
	b.do("open the search page", chromedp.Navigate(searchURL))
	// the token is asked for, then kept in the tab
	b.wait("the token prompt", `document.getElementById('tokdlg').open`)
	b.shot("0-token")
	b.do("enter the token", chromedp.SendKeys(chromedp.ID("token"), token+kb.Enter))
	b.wait("the histogram and the first page",
		fmt.Sprintf(`document.getElementById('hist').dataset.total === '%d' && document.querySelectorAll('#hist rect.bar').length > 0 && document.querySelectorAll('#events details.ev').length === 100`, total))
	if sum := b.eval(`[...document.querySelectorAll('#hist rect.bar')].reduce((s, r) => s + +r.dataset.count, 0)`); sum != float64(total) {
		t.Errorf("histogram bars add up to %v, want %d", sum, total)
	}
	if n := b.eval(`[...document.querySelectorAll('#hist rect.bar')].filter(r => +r.dataset.count > 0).length`); n < 2 {
		t.Errorf("%v bars with events, want the bursts in several", n)
	}
	if n := b.eval(`document.querySelectorAll('#facets [data-facet] button').length`); n < 10 {
		t.Errorf("%v facet values shown", n)
	}
	b.shot("1-search")

	// a query the store refuses: the error shows, the box is marked
	b.do("type a bad query", chromedp.Click(chromedp.ID("q")), chromedp.SendKeys(chromedp.ID("q"), "!!!"+kb.Enter))
	b.wait("the error", `!document.getElementById('error').hidden && document.getElementById('error').textContent.includes('q') && document.getElementById('q').getAttribute('aria-invalid') === 'true'`)
	b.shot("1b-bad-query")
	// a query typed (Enter submits)
	b.do("clear the query box", chromedp.Evaluate[chromedp.Void](`document.getElementById('q').value = ''`))
	b.do("type a query", chromedp.Click(chromedp.ID("q")), chromedp.SendKeys(chromedp.ID("q"), "timeout"+kb.Enter))
	b.wait("the query's results", fmt.Sprintf(`document.getElementById('hist').dataset.total === '%d' && location.search.includes('q=timeout') && document.querySelectorAll('#events details.ev').length === %d`, wantTimeout, wantTimeout))
	if bad := b.eval(`[...document.querySelectorAll('#events .m')].filter(m => !m.textContent.includes('timeout')).length`); bad != 0 {
		t.Errorf("%v results without the word", bad)
	}
	// a facet clicked narrows them
	b.do("click the facet host=db-1", chromedp.Click(chromedp.CSS(`#facets button[data-field="host"][data-value="db-1"]`)))
	b.wait("the facet's results", fmt.Sprintf(`document.getElementById('hist').dataset.total === '%d' && location.search.includes('host=db-1') && document.querySelectorAll('#events details.ev').length === %d && document.querySelector('#chips [data-filter="host"]') !== null`, wantTimeoutDB, wantTimeoutDB))
	if bad := b.eval(`[...document.querySelectorAll('#events .h')].filter(h => h.textContent !== 'db-1').length`); bad != 0 {
		t.Errorf("%v results from another host", bad)
	}
	b.shot("2-query-and-facet")
	// an event expanded to all its fields
	b.do("expand the first event", chromedp.Click(chromedp.CSS(`#events details.ev > summary`)))
	b.wait("the event's fields", `(() => { const d = document.querySelector('#events details.ev[open] .detail'); return d && ['procid', 'msgid', 'sd.req@32473.id', 'transport', 'peer', 'received'].every(k => [...d.querySelectorAll('th')].some(th => th.textContent === k)); })()`)
	b.shot("3-event-expanded")
	// keyboard: / focuses the query, j moves to the first event, Enter folds it
	b.do("keys / Escape j Enter", chromedp.KeyEvent("/"))
	if id := b.evalString(`document.activeElement.id`); id != "q" {
		t.Errorf("after /: focus on %q, want the query box", id)
	}
	b.do("keys Escape j Enter", chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("j"), chromedp.KeyEvent(kb.Enter))
	b.wait("the first event folded by the keyboard", `document.querySelector('#events details.ev[open]') === null`)
	// the state is in the URL: a reload shows the same
	b.do("reload", chromedp.Reload())
	b.wait("the same view after a reload", fmt.Sprintf(`document.getElementById('hist').dataset.total === '%d' && document.getElementById('q').value === 'timeout' && document.querySelector('#chips [data-filter="host"]') !== null`, wantTimeoutDB))
	// a drag across the histogram zooms in: from and to in the URL change
	box := evalAs[map[string]float64](b, `(() => { const r = document.getElementById('hist').getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; })()`)
	before := b.evalString(`location.search`)
	y := box["y"] + box["h"]/2
	b.do("drag across the histogram", chromedp.DragAndDropXY(box["x"]+box["w"]*0.3, y, box["x"]+box["w"]*0.7, y))
	b.wait("the zoomed range", fmt.Sprintf(`location.search !== %q && new URLSearchParams(location.search).get('from') > %q && document.body.dataset.shown === location.search && +document.getElementById('hist').dataset.total <= %d`, before, from.Format(time.RFC3339), wantTimeoutDB))
	b.shot("4-zoomed")

	// the live tail, filtered on the server (app=uitail), gets what logger sends
	b.do("open the live tail", chromedp.Navigate(base+"/?view=tail&app=uitail"))
	b.wait("the stream connected", `document.getElementById('tail').dataset.connected === 'true'`)
	send := func(app, msg string) {
		t.Helper()
		if out, err := exec.Command(logger, "--server", "127.0.0.1", "--port", fmt.Sprint(tcpPort), "--tcp", "-t", app, msg).CombinedOutput(); err != nil {
			t.Fatalf("logger: %v %s", err, out)
		}
	}
	send("othertail", "not for this tail")
	send("uitail", "hello from logger")
	b.wait("logger's message in the tail", `[...document.querySelectorAll('#tail .m')].some(m => m.textContent === 'hello from logger')`)
	b.shot("5-tail")
	// pause: what arrives is counted, not shown
	b.do("pause", chromedp.Click(chromedp.ID("pause")))
	b.wait("paused", `document.getElementById('tailstate').classList.contains('paused')`)
	for i := 1; i <= 3; i++ {
		send("uitail", fmt.Sprintf("while paused %d", i))
	}
	b.wait("3 skipped", `document.getElementById('skipped').dataset.skipped === '3' && !document.getElementById('skipped').hidden && document.getElementById('skipped').textContent.includes('3 new events skipped')`)
	if n := b.eval(`[...document.querySelectorAll('#tail .m')].filter(m => m.textContent.startsWith('while paused')).length`); n != 0 {
		t.Errorf("%v events shown while paused", n)
	}
	b.shot("6-tail-paused")
	b.do("resume", chromedp.Click(chromedp.ID("pause")))
	send("uitail", "after resume")
	b.wait("the tail going on", `[...document.querySelectorAll('#tail .m')].some(m => m.textContent === 'after resume') && document.getElementById('skipped').hidden`)
	// scrolling up pauses too
	var lines []string
	for i := range 80 {
		lines = append(lines, fmt.Sprintf("<14>1 2026-12-01T10:00:00Z web-1 uitail - - - scroll line %d\n", i))
	}
	sendTCP(t, syslogAddr, lines...)
	b.wait("80 more lines", `[...document.querySelectorAll('#tail .m')].some(m => m.textContent === 'scroll line 79')`)
	b.do("scroll the tail up", chromedp.Evaluate[chromedp.Void](`document.getElementById('tail').scrollTop = 0`))
	b.wait("paused by scrolling", `document.getElementById('tailstate').textContent.includes('scrolled')`)
	send("uitail", "while scrolled up")
	b.wait("1 skipped", `document.getElementById('skipped').dataset.skipped === '1'`)
	if n := b.eval(`[...document.querySelectorAll('#tail .m')].filter(m => m.textContent === 'not for this tail').length`); n != 0 {
		t.Errorf("an event of another app reached the filtered tail")
	}
	// the skipped events are a click away in the search (the stream gets
	// events as the store takes them, a search once its checkpoint made them
	// searchable: wait for that first)
	p.waitFor(time.Now().Add(30*time.Second), "the skipped event searchable", func() bool {
		return get("/api/v1/events?app=uitail&q=scrolled", &page) == 200 && len(page.Events) == 1
	})
	b.do("search the skipped events", chromedp.Click(chromedp.CSS(`#skipped a`)))
	b.wait("the skipped event found", `document.body.dataset.shown === location.search && new URLSearchParams(location.search).get('app') === 'uitail' && [...document.querySelectorAll('#events .m')].some(m => m.textContent === 'while scrolled up')`)

	// the cluster page: this node, its WAL and lag per output, the members
	b.do("open the cluster page", chromedp.Click(chromedp.ID("tab-cluster")))
	b.wait("the cluster page", `(() => { const m = document.getElementById('c-members'), w = document.getElementById('c-wal'); return m && w && m.textContent.includes('ui-node') && m.textContent.includes('alive') && w.textContent.includes('output.store'); })()`)
	b.shot("7-cluster")
	b.do("open the patterns tab", chromedp.Click(chromedp.ID("tab-patterns")))
	b.wait("the patterns placeholder", `document.getElementById('view-patterns').textContent.includes('Not available yet')`)
	// the leaf's cluster page: its parent (connected once it has sent), and the parent's cluster
	sendTCP(t, fmt.Sprintf("127.0.0.1:%d", leafTCP), "<14>1 2026-12-01T10:00:00Z leaf-host leafapp - - - from the leaf\n")
	b.do("open the leaf's cluster page", chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/?view=cluster", leafHTTP)))
	b.wait("the leaf's parent", fmt.Sprintf(`(() => { const u = document.getElementById('c-upstream'); return u && u.textContent.includes('127.0.0.1:%d (ui-node)') && u.textContent.includes("The parent's cluster"); })()`, relayPort))
	b.shot("7b-leaf-cluster")

	// a phone-sized screen: nothing wider than it
	b.do("phone-sized", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Navigate(searchURL+"&q=timeout"))
	b.wait("the search on a phone", fmt.Sprintf(`document.getElementById('hist').dataset.total === '%d'`, wantTimeout))
	if w := b.eval(`document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a 390 px wide screen the page is %v px wide", w)
	}
	b.shot("8-phone")
	b.do("phone-sized tail", chromedp.Navigate(base+"/?view=tail"))
	b.wait("the stream connected", `document.getElementById('tail').dataset.connected === 'true'`)
	if w := b.eval(`document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("live tail on a 390 px wide screen is %v px wide", w)
	}

	consoleMu.Lock()
	defer consoleMu.Unlock()
	for _, e := range consoleErrs {
		t.Errorf("browser console: %s", e)
	}
}

// uiBrowser runs the steps of TestWebUIIntegration in one tab; a failed
// step fails the test with what the page showed.
type uiBrowser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func (b *uiBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// wait polls the JavaScript expression until it is true (deadline: a
// minute, for a machine under load; nothing is timed).
func (b *uiBrowser) wait(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))); err != nil {
		b.fail("waiting for "+what, err)
	}
}

func (b *uiBrowser) eval(expr string) float64 { b.t.Helper(); return evalAs[float64](b, expr) }

func (b *uiBrowser) evalString(expr string) string { b.t.Helper(); return evalAs[string](b, expr) }

// evalAs is the value of the JavaScript expression, decoded as a T.
func evalAs[T any](b *uiBrowser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail(expr, err)
	}
	return v
}

// shot saves a screenshot of what the window shows as <shots>/<name>.png.
func (b *uiBrowser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fail("screenshot "+name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *uiBrowser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\nerror banner: ' + document.getElementById('error').textContent + '\ntotal: ' + document.getElementById('total').textContent + '\ntail: ' + document.getElementById('tailstate').textContent`))
	if png, e := chromedp.Run(ctx, chromedp.FullScreenshot(100)); e == nil {
		os.WriteFile(filepath.Join(b.shots, "failed.png"), png, 0o644)
	}
	b.t.Fatalf("%s: %v\npage: %s\n(screenshot of the failure: %s)", what, err, strings.TrimSpace(state), filepath.Join(b.shots, "failed.png"))
}
