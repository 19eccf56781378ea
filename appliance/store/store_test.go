package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"logpacker/internal/tmpfstest"
	"logpacker/protocol"
)

// base is three days ago at 23:00 UTC: within any retention the tests use
// (the engine applies retention by the wall clock).
var base = time.Now().UTC().Truncate(24 * time.Hour).Add(-3*24*time.Hour + 23*time.Hour)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTest(t testing.TB, dir string, retention time.Duration, now time.Time) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Retention: retention, Logger: quiet(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ev(seq uint64, received time.Time, host, app string, sev protocol.Severity, msg string, tags ...string) protocol.Event {
	return protocol.Event{ID: protocol.ID{Node: "n1", Seq: seq}, Received: received, Time: received.Add(-time.Second),
		Facility: protocol.Facility(1), Severity: sev, Host: host, App: app, Message: msg, Tags: tags, Transport: "udp"}
}

func ids(t testing.TB, r Result) []string {
	t.Helper()
	var out []string
	for _, raw := range r.Events {
		var e struct{ ID string }
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.ID)
	}
	return out
}

func search(t testing.TB, s *Store, q Query) []string {
	t.Helper()
	r, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return ids(t, r)
}

// TestRoundTrip: every field of an event comes back from the store as it
// went in (the public JSON form, byte for byte).
func TestRoundTrip(t *testing.T) {
	s := openTest(t, t.TempDir(), 0, base)
	full := ev(7, base.Add(123456789), "Web-1", "nginx", protocol.SevErr, "GET /x \"quoted\" 500 ünïcode", "audit", "pager")
	full.Time = time.Date(2026, 11, 24, 10, 0, 0, 123000000, time.FixedZone("", -5*3600))
	full.ProcID, full.MsgID, full.Peer, full.Hops, full.Count = "1234", "ID47", "10.1.2.3:514", 2, 17
	full.SD = []protocol.SDElement{{ID: "exampleSDID@32473", Params: []protocol.SDParam{{Name: "iut", Value: "3"}, {Name: "eventSource", Value: "App\"x"}}}}
	full.Fields = map[string]string{"url": "https://x/y", "user": "bob"}
	bare := protocol.Event{ID: protocol.ID{Node: "relay.5", Seq: 1 << 40}, Received: base.Add(time.Second), Message: "bare", ParseErr: "no PRI"}
	if err := s.Write(context.Background(), []protocol.Event{full, bare}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Search(context.Background(), Query{})
	if err != nil || len(r.Events) != 2 {
		t.Fatal(r, err)
	}
	for i, e := range []protocol.Event{bare, full} {
		if want := string(e.AppendJSON(nil)); string(r.Events[i]) != want {
			t.Fatalf("event JSON\n got %s\nwant %s", r.Events[i], want)
		}
	}
}

// sendAll gives batches to SendIndexed and waits until every one is confirmed.
func sendAll(t testing.TB, s *Store, evs []protocol.Event, idx []uint64) {
	t.Helper()
	done := make(chan error, 1)
	if err := s.SendIndexed(context.Background(), evs, idx, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReplaySkipsStored: after a restart the WAL replays from the last
// confirmed batch; what the engine already has of the replay (flushed but
// not confirmed when the node died) is skipped by WAL index, for the
// node's own events (ID = origin:index) and relayed ones (their own IDs),
// and nothing else is.
func TestReplaySkipsStored(t *testing.T) {
	dir := t.TempDir()
	const origin = "root.abc"
	open := func() *Store {
		s, err := Open(Options{Dir: dir, Logger: quiet(), Origin: origin})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mk := func(from, to uint64) ([]protocol.Event, []uint64) {
		var evs []protocol.Event
		var idx []uint64
		for i := from; i <= to; i++ {
			e := ev(i, base.Add(time.Duration(i)*time.Millisecond), "h", "a", 6, fmt.Sprintf("replay %d", i))
			e.ID.Node = origin
			if i%3 == 0 { // relayed: its own origin and numbering
				e.ID = protocol.ID{Node: "leaf.1", Seq: 1000 + i}
			}
			evs = append(evs, e)
			idx = append(idx, i)
		}
		return evs, idx
	}
	s := open()
	evs, idx := mk(1, 300)
	sendAll(t, s, evs[:100], idx[:100]) // confirmed: the cursor is at 100
	sendAll(t, s, evs[100:], idx[100:]) // stored, but say the cursor commit was lost
	s.Close()
	s = open()
	defer s.Close()
	evs, idx = mk(101, 500) // the replay, and new events
	sendAll(t, s, evs[:50], idx[:50])
	sendAll(t, s, evs[50:], idx[50:])
	if s.replay != nil {
		t.Fatal("the replay check did not end past the stored events")
	}
	var got []string
	q := Query{Limit: 1000}
	r, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	got = ids(t, r)
	if len(got) != 500 {
		t.Fatalf("%d events stored, want 500 (each once)", len(got))
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s stored twice", id)
		}
		seen[id] = true
	}
}

// TestDayPartitions: events go to the partition of their received UTC day;
// a search runs across days, newest first, also after a reopen.
func TestDayPartitions(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, 0, base)
	mid := base.Truncate(24 * time.Hour)
	batch := []protocol.Event{
		ev(1, mid.Add(-time.Nanosecond), "h", "a", protocol.SevInfo, "before midnight"),
		ev(2, mid, "h", "a", protocol.SevInfo, "at midnight"),
		// received 00:30 in +02:00 is 22:30 UTC the day before: days are UTC
		ev(3, mid.Add(-90*time.Minute).In(time.FixedZone("x", 2*3600)), "h", "a", protocol.SevInfo, "zone"),
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	want := []string{mid.Add(-time.Hour).Format("20060102"), mid.Format("20060102")}
	if got := s.Partitions(); !slices.Equal(got, want) {
		t.Fatalf("partitions = %v, want %v", got, want)
	}
	if got := search(t, s, Query{}); !slices.Equal(got, []string{"n1:2", "n1:1", "n1:3"}) {
		t.Fatalf("order = %v", got)
	}
	s.Close()
	s2 := openTest(t, dir, 0, base)
	if got := search(t, s2, Query{Limit: 2}); !slices.Equal(got, []string{"n1:2", "n1:1"}) {
		t.Fatalf("after reopen = %v", got)
	}
}

// TestRetention: days past retention are deleted when the store opens, and
// events received longer ago than retention are not stored.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openTest(t, dir, 0, now) // no retention: keep all while filling
	var batch []protocol.Event
	for d := range 20 {
		batch = append(batch, ev(uint64(d), now.AddDate(0, 0, -d), "h", "a", protocol.SevInfo, "day"))
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Partitions()); n != 20 {
		t.Fatalf("%d partitions, want 20", n)
	}
	s.Close()
	s = openTest(t, dir, 10*24*time.Hour, now)
	// The engine keeps whole days: today and the 10 before it. It drops the
	// rest in the background, as it opens.
	for deadline := time.Now().Add(30 * time.Second); len(s.Partitions()) > 11; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("partitions 30 s after opening with retention = %v", s.Partitions())
		}
	}
	if n := len(s.Partitions()); n < 10 {
		t.Fatalf("partitions after retention = %v", s.Partitions())
	}
	got := search(t, s, Query{Limit: 100})
	if len(got) > 11 || len(got) < 10 || got[0] != "n1:0" {
		t.Fatalf("kept = %v", got)
	}
	// An event received before retention is not stored.
	if err := s.Write(context.Background(), []protocol.Event{ev(99, now.AddDate(0, 0, -30), "h", "a", 6, "old")}); err != nil {
		t.Fatal(err)
	}
	if got := search(t, s, Query{Text: "old"}); len(got) != 0 {
		t.Fatalf("expired event stored: %v", got)
	}
}

func TestSearchFilters(t *testing.T) {
	s := openTest(t, t.TempDir(), 0, base)
	t0 := base
	batch := []protocol.Event{
		ev(1, t0, "web-1", "nginx", protocol.SevInfo, "GET /index.html 200"),
		ev(2, t0.Add(1*time.Minute), "web-2", "nginx", protocol.SevErr, "upstream timed out (110: Connection timed out)"),
		ev(3, t0.Add(2*time.Minute), "DB-1", "mysqld", protocol.SevWarning, "Aborted connection 42 to db: 'shop' user: 'bob'", "audit"),
		ev(4, t0.Add(3*time.Minute), "db-1", "mysqld", protocol.SevCrit, "InnoDB: disk full while writing", "audit", "pager"),
		ev(5, t0.Add(4*time.Minute), "web-1", "sshd", protocol.SevNotice, "Accepted publickey for bob from 10.0.0.1 port 5022"),
		ev(6, t0.Add(5*time.Minute), "web-1", "café", protocol.SevDebug, "Résumé téléchargé"),
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	warn := protocol.SevWarning
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"all newest first", Query{}, []string{"n1:6", "n1:5", "n1:4", "n1:3", "n1:2", "n1:1"}},
		{"word", Query{Text: "bob"}, []string{"n1:5", "n1:3"}},
		{"two words, any order", Query{Text: "out timed"}, []string{"n1:2"}},
		{"phrase", Query{Text: `"timed out"`}, []string{"n1:2"}},
		{"phrase in order only", Query{Text: `"out timed"`}, nil},
		{"prefix", Query{Text: "conn*"}, []string{"n1:3", "n1:2"}},
		{"ip address", Query{Text: "10.0.0.1"}, []string{"n1:5"}},
		{"any case", Query{Text: "RÉSUMÉ"}, []string{"n1:6"}},
		{"fts operators are words", Query{Text: "disk AND NOT full"}, nil},
		{"host any case", Query{Host: "db-1"}, []string{"n1:4", "n1:3"}},
		{"app", Query{App: "nginx"}, []string{"n1:2", "n1:1"}},
		{"severity warning and worse", Query{Severity: &warn}, []string{"n1:4", "n1:3", "n1:2"}},
		{"tag", Query{Tag: "pager"}, []string{"n1:4"}},
		{"tag audit", Query{Tag: "audit"}, []string{"n1:4", "n1:3"}},
		{"from to", Query{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, []string{"n1:3", "n1:2"}},
		{"combined", Query{Text: "bob", Host: "web-1", Severity: &warn}, nil},
		{"combined 2", Query{Text: "connection", App: "mysqld", Tag: "audit"}, []string{"n1:3"}},
		{"limit", Query{Limit: 2}, []string{"n1:6", "n1:5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := search(t, s, tt.q); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSearchBadQuery(t *testing.T) {
	s := openTest(t, t.TempDir(), 0, base)
	if err := s.Write(context.Background(), []protocol.Event{ev(1, base, "h", "a", 6, "x")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []Query{
		{Text: `"unterminated`},
		{Text: `***`},
		{Text: `""`},
		{Text: "a \xff"},
		{Cursor: "not a cursor!"},
		{Cursor: encodeCursor(cursor{received: 1})[:2]},
		{Limit: MaxLimit + 1},
	} {
		_, err := s.Search(context.Background(), q)
		if !IsQueryError(err) {
			t.Errorf("%+v: err = %v, want a QueryError", q, err)
		} else {
			t.Logf("%+v: %v", q, err)
		}
	}
}

func TestPagingEveryEventOnce(t *testing.T) {
	s := openTest(t, t.TempDir(), 0, base)
	ctx := context.Background()
	const n = 2500
	var want []string
	var batch []protocol.Event
	for i := range n {
		// 3 days, and runs of equal received times (the id breaks the tie)
		r := base.Add(time.Duration(i/3) * 90 * time.Second)
		e := ev(uint64(i), r, "h", "a", 6, "paging test")
		batch = append(batch, e)
		want = append(want, e.ID.String())
		if len(batch) == 500 {
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	// newest first by (received, id): sort the same way
	type key struct {
		r   int
		seq int
		id  string
	}
	keys := make([]key, n)
	for i := range n {
		keys[i] = key{i / 3, i, want[i]}
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].r != keys[b].r {
			return keys[a].r > keys[b].r
		}
		return keys[a].seq > keys[b].seq
	})
	want = want[:0]
	for _, k := range keys {
		want = append(want, k.id)
	}

	late := ev(n, base.Add(47*time.Hour), "h", "a", 6, "arrived late")
	for pass, text := range []string{"paging", ""} {
		if pass == 1 { // the late event (written in the first pass) is the newest
			want = append([]string{late.ID.String()}, want...)
		}
		var got []string
		q := Query{Text: text, Limit: 99}
		pages := 0
		for {
			r, err := s.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(t, r)...)
			pages++
			// new events arriving while paging do not show up in later pages
			if pages == 3 {
				if err := s.Write(ctx, []protocol.Event{late}); err != nil {
					t.Fatal(err)
				}
			}
			if r.Next == "" {
				break
			}
			q.Cursor = r.Next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("q=%q: %d events over %d pages, want %d in order", text, len(got), pages, len(want))
		}
		if pages != (len(want)+98)/99 {
			t.Fatalf("pages = %d", pages)
		}
	}
}

func TestParseQuery(t *testing.T) {
	sev := func(s protocol.Severity) *protocol.Severity { return &s }
	cur := encodeCursor(cursor{received: 1234, node: "n1", seq: 7})
	tests := []struct {
		in     string
		want   Query
		badArg string
	}{
		{"", Query{}, ""},
		{"q=disk+full&host=web-1&app=nginx&tag=audit&limit=50", Query{Text: "disk full", Host: "web-1", App: "nginx", Tag: "audit", Limit: 50}, ""},
		{"severity=warning", Query{Severity: sev(protocol.SevWarning)}, ""},
		{"severity=WARN", Query{Severity: sev(protocol.SevWarning)}, ""},
		{"severity=3", Query{Severity: sev(protocol.SevErr)}, ""},
		{"severity=", Query{}, ""},
		{"from=2026-11-24T10:00:00Z&to=2026-11-24T11:00:00.5%2B01:00", Query{From: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
			To: time.Date(2026, 11, 24, 11, 0, 0, 5e8, time.FixedZone("", 3600))}, ""},
		{"cursor=" + cur, Query{Cursor: cur}, ""},
		{"severity=8", Query{}, "severity"},
		{"severity=loud", Query{}, "severity"},
		{"limit=0", Query{}, "limit"},
		{"limit=x", Query{}, "limit"},
		{"limit=10001", Query{}, "limit"},
		{"from=yesterday", Query{}, "from"},
		{"cursor=abc", Query{}, "cursor"},
		{"q=%22open", Query{}, "q"},
		{"host=a&host=b", Query{}, "host"},
		{"sort=asc", Query{}, "sort"},
	}
	for _, tt := range tests {
		v, err := url.ParseQuery(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseQuery(v)
		if tt.badArg != "" {
			qe, ok := err.(*QueryError)
			if !ok || qe.Param != tt.badArg {
				t.Errorf("%q: err = %v, want a QueryError for %s", tt.in, err, tt.badArg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if (got.Severity == nil) != (tt.want.Severity == nil) || got.Severity != nil && *got.Severity != *tt.want.Severity {
			t.Errorf("%q: severity %v, want %v", tt.in, got.Severity, tt.want.Severity)
		}
		got.Severity, tt.want.Severity = nil, nil
		if !got.From.Equal(tt.want.From) || !got.To.Equal(tt.want.To) {
			t.Errorf("%q: from/to %v %v, want %v %v", tt.in, got.From, got.To, tt.want.From, tt.want.To)
		}
		got.From, got.To, tt.want.From, tt.want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseText(t *testing.T) {
	cc := func(p string) string { return "_msg:contains_common_case(" + strconv.Quote(p) + ")" }
	tests := []struct{ in, want, err string }{
		{"disk full", cc("Disk") + " " + cc("Full"), ""},
		{`  "timed out"  conn*`, cc("Timed Out") + ` i("conn"*)`, ""},
		{`"say ""hi"""`, cc(`Say "Hi"`), ""},
		{`"phrase"* x`, `i("phrase"*) ` + cc("X"), ""},
		{"AND OR NOT NEAR(a b)", cc("AND") + " " + cc("OR") + " " + cc("NOT") + " " + cc("NEAR(A") + " " + cc("B)"), ""},
		{"10.0.0.1", cc("10.0.0.1"), ""},
		{"x:y^z-", cc("X:Y^Z-"), ""},
		{"résumé", cc("Résumé"), ""},
		{"McDonald", cc("McDonald"), ""},
		{"ABCDEFG", `i("ABCDEFG")`, ""},
		{"a\x00b\tc\n", cc("A") + " " + cc("B") + " " + cc("C"), ""},
		{`"open`, "", "unterminated"},
		{"*", "", "no letters"},
		{"- x", "", "no letters"},
		{`""`, "", "empty phrase"},
		{"\xff", "", "UTF-8"},
	}
	for _, tt := range tests {
		got, err := ParseText(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []cursor{{0, "a", 0}, {-1, "x", 1}, {1 << 62, "node-with-long-name", 18446744073709551615}, {time.Now().UnixNano(), "é", 1}} {
		s := encodeCursor(c)
		got, err := decodeCursor(s)
		if err != nil || got != c {
			t.Errorf("%+v → %q → %+v, %v", c, s, got, err)
		}
	}
	for _, bad := range []string{"", "AA", "AQ", "!!!", "Ag", encodeCursor(cursor{1, "x", 2}) + "="} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{1234, "n1", 7}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		// whatever decodes encodes back to a cursor that decodes the same
		c2, err := decodeCursor(encodeCursor(c))
		if err != nil || c2 != c {
			t.Fatalf("%q: %+v then %+v, %v", s, c, c2, err)
		}
	})
}

// FuzzParseText: every text either gets an error or a filter the engine accepts.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{"disk full", `"a b" c*`, `"x""y"`, "NEAR(a b)", "a OR b", `"`, "*", "é"} {
		f.Add(s)
	}
	st := openTest(f, f.TempDir(), 0, base)
	if err := st.Write(context.Background(), []protocol.Event{ev(1, base, "h", "a", 6, "disk full")}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseText(s); err != nil {
			return
		}
		if _, err := st.Search(context.Background(), Query{Text: s}); err != nil {
			t.Fatalf("%q: parsed, but search failed: %v", s, err)
		}
	})
}

// TestDiskFull: below min_free the store takes no events (a clear error;
// the output retries and its WAL cursor stays), what it has stays
// searchable, and it takes events again once space is freed.
func TestDiskFull(t *testing.T) {
	mnt := tmpfstest.Mount(t, "64m")
	s, err := Open(Options{Dir: filepath.Join(mnt, "store"), Logger: quiet(), MinFree: 16 << 20, Origin: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := func(from int) ([]protocol.Event, []uint64) {
		var evs []protocol.Event
		var idx []uint64
		for i := from; i < from+1000; i++ {
			evs = append(evs, ev(uint64(i), base.Add(time.Duration(i)*time.Millisecond), "h", "a", 6, fmt.Sprintf("disk %d", i)))
			idx = append(idx, uint64(i))
		}
		return evs, idx
	}
	evs, idx := batch(1)
	sendAll(t, s, evs, idx)
	free := tmpfstest.Fill(t, mnt, 8<<20)
	evs, idx = batch(1001)
	err = s.SendIndexed(context.Background(), evs, idx, func(error) { t.Error("done called for a refused batch") })
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("SendIndexed with 8 MiB free (min_free 16 MiB) = %v, want ErrReadOnly", err)
	}
	if err := s.Write(context.Background(), evs); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Write = %v, want ErrReadOnly", err)
	}
	if got := search(t, s, Query{Limit: 5000}); len(got) != 1000 {
		t.Fatalf("%d events searchable while full, want 1000", len(got))
	}
	free()
	sendAll(t, s, evs, idx) // the output's retry
	if got := search(t, s, Query{Limit: 5000}); len(got) != 2000 {
		t.Fatalf("%d events after space was freed, want 2000", len(got))
	}
}

// TestMaxDisk: over max_disk the oldest days are deleted (when the store
// opens, then every 10 s); the engine always keeps the newest two.
func TestMaxDisk(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openTest(t, dir, 0, now)
	var batch []protocol.Event
	for d := range 6 {
		for i := range 100 {
			batch = append(batch, ev(uint64(d*100+i), now.AddDate(0, 0, -d).Add(-time.Duration(i)*time.Second), "h", "a", 6, "a day's event"))
		}
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Partitions()); n != 6 {
		t.Fatalf("%d partitions, want 6", n)
	}
	s.Close()
	s, err := Open(Options{Dir: dir, Logger: quiet(), MaxDisk: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for deadline := time.Now().Add(30 * time.Second); len(s.Partitions()) > 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("partitions 30 s after opening with max_disk = 1 byte: %v", s.Partitions())
		}
	}
	want := []string{now.AddDate(0, 0, -1).Format("20060102"), now.Format("20060102")}
	if got := s.Partitions(); !slices.Equal(got, want) {
		t.Fatalf("partitions %v, want the newest two %v", got, want)
	}
	if got := search(t, s, Query{Limit: 1000}); len(got) != 200 || got[0] != "n1:0" {
		t.Fatalf("%d events kept, want the newest two days' 200", len(got))
	}
}
