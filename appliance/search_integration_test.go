package appliance_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

// TestSearchAPIIntegration: syslog over TCP into a node with a store output;
// the events are found through GET /api/v1/events by text, host, severity
// and time range, paging with the cursor returns each once, and an open
// /api/v1/events/stream gets the new matching ones.
func TestSearchAPIIntegration(t *testing.T) {
	n, _ := testNode(t, loopbackListeners+`
[output.store]
type = store
`)
	base := "http://" + n.Addr("http").String()
	search := func(q string) (evs []protocol.Event, next string, code int) {
		t.Helper()
		resp, err := http.Get(base + "/api/v1/events?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p struct {
			Events []protocol.Event
			Next   string
		}
		json.NewDecoder(resp.Body).Decode(&p)
		return p.Events, p.Next, resp.StatusCode
	}

	// open a stream first: it must see the events stored from now on
	sresp, err := http.Get(base + "/api/v1/events/stream?host=db-1&severity=err")
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	sr := bufio.NewReader(sresp.Body)
	sr.ReadString('\n') // subscribed

	start := time.Now().UTC()
	conn, err := net.Dial("tcp", n.Addr("syslog_tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	const total = 600
	for i := range total {
		host := []string{"web-1", "web-2", "db-1"}[i%3]
		sev := protocol.Severity(i % 8)
		word := "ok"
		if i%50 == 0 {
			word = "checksum-mismatch"
		}
		fmt.Fprintf(conn, "<%d>1 2026-11-24T10:00:00Z %s searchtest - - - event %d %s\n",
			protocol.Priority(protocol.FacDaemon, sev), host, i, word)
	}
	conn.Close()
	sent := time.Now()

	// searchable: poll until all are there (the delay is logged, not asserted)
	deadline := time.Now().Add(30 * time.Second)
	var found time.Duration
	for {
		evs, _, code := search("limit=1000&app=searchtest")
		if code != 200 {
			t.Fatalf("search: %d", code)
		}
		if len(evs) == total {
			found = time.Since(sent)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events searchable after 30 s", len(evs), total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("all %d events searchable %s after the last was sent", total, found.Round(time.Millisecond))

	// text + host + severity + time range
	q := url.Values{"q": {"checksum-mismatch"}, "host": {"db-1"}, "severity": {"warning"},
		"from": {start.Add(-time.Second).Format(time.RFC3339Nano)}, "to": {time.Now().UTC().Add(time.Second).Format(time.RFC3339Nano)}}
	evs, _, code := search(q.Encode())
	want := 0
	for i := 0; i < total; i += 50 {
		if i%3 == 2 && i%8 <= 4 {
			want++
		}
	}
	if code != 200 || len(evs) != want || want == 0 {
		t.Fatalf("text+host+severity+time: %d, %d events, want %d", code, len(evs), want)
	}
	for _, ev := range evs {
		if ev.Host != "db-1" || ev.Severity > protocol.SevWarning || !strings.Contains(ev.Message, "checksum-mismatch") {
			t.Fatalf("does not match: %+v", ev)
		}
	}
	// a time range before the events: nothing
	if evs, _, _ := search("to=" + url.QueryEscape(start.Add(-time.Hour).Format(time.RFC3339))); len(evs) != 0 {
		t.Fatalf("%d events before they were sent", len(evs))
	}
	// paging: every event once
	seen := map[string]bool{}
	for next, pages := "", 0; ; pages++ {
		evs, nx, code := search("limit=64&cursor=" + url.QueryEscape(next))
		if code != 200 {
			t.Fatalf("page %d: %d", pages, code)
		}
		for _, ev := range evs {
			if seen[ev.ID.String()] {
				t.Fatalf("%s on two pages", ev.ID)
			}
			seen[ev.ID.String()] = true
		}
		if next = nx; next == "" {
			break
		}
	}
	if len(seen) != total {
		t.Fatalf("paging returned %d events, want %d", len(seen), total)
	}
	// bad input: 400
	if _, _, code := search("severity=loud"); code != 400 {
		t.Fatalf("bad severity: %d, want 400", code)
	}
	// the stream got the db-1 events of severity err and worse, in order
	wantStream := 0
	for i := range total {
		if i%3 == 2 && i%8 <= 3 {
			wantStream++
		}
	}
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for got < wantStream {
			l, err := sr.ReadString('\n')
			if err != nil {
				return
			}
			if d, ok := strings.CutPrefix(l, "data: "); ok {
				var ev protocol.Event
				if json.Unmarshal([]byte(d), &ev) != nil || ev.Host != "db-1" || ev.Severity > protocol.SevErr {
					return
				}
				got++
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		sresp.Body.Close() // the reader returns
		<-done
	}
	if got != wantStream {
		t.Fatalf("stream: %d events, want %d", got, wantStream)
	}
}
