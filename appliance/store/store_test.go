package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

var base = time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)

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

func count(t testing.TB, s *Store, day, table string) int {
	t.Helper()
	d, err := s.acquire(day, false)
	if err != nil || d == nil {
		t.Fatalf("day %s: %v", day, err)
	}
	defer s.release(d)
	var n int
	q := "SELECT count(*) FROM " + table
	if table == "events_fts" { // the FTS index's own rows (docsize), not the content table
		q = "SELECT count(*) FROM events_fts_docsize"
	}
	if err := d.db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
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

func TestWriteIdempotent(t *testing.T) {
	s := openTest(t, t.TempDir(), 0, base)
	var batch []protocol.Event
	for i := range 100 {
		batch = append(batch, ev(uint64(i), base.Add(time.Duration(i)*time.Second), "web-1", "nginx", protocol.SevInfo, fmt.Sprintf("request %d served", i)))
	}
	ctx := context.Background()
	for range 2 {
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(ctx, batch[10:20]); err != nil { // a partial replay
		t.Fatal(err)
	}
	if n := count(t, s, "2026-11-24", "events"); n != 100 {
		t.Fatalf("events = %d, want 100", n)
	}
	if n := count(t, s, "2026-11-24", "events_fts"); n != 100 {
		t.Fatalf("fts rows = %d, want 100", n)
	}
	if got := search(t, s, Query{Text: "request 42"}); !slices.Equal(got, []string{"n1:42"}) {
		t.Fatalf("search = %v", got)
	}
	if got := search(t, s, Query{Text: "served", Limit: 1000}); len(got) != 100 {
		t.Fatalf("search served = %d events, want 100", len(got))
	}
	// The stored JSON is the whole event.
	r, err := s.Search(ctx, Query{Text: "request 7"})
	if err != nil || len(r.Events) != 1 {
		t.Fatal(r, err)
	}
	e := batch[7]
	if want := string(e.AppendJSON(nil)); string(r.Events[0]) != want {
		t.Fatalf("event JSON\n got %s\nwant %s", r.Events[0], want)
	}
}

// TestWriteChunks: Write's multi-row INSERTs (chunks of 64, 16, 4, 1 rows)
// store every event once, whatever the batch size, with duplicates inside
// one chunk, across chunks and against rows stored before, and each row's
// columns and JSON belong to that row.
func TestWriteChunks(t *testing.T) {
	s := openTest(t, t.TempDir(), 0, base)
	ctx := context.Background()
	mk := func(i int) protocol.Event {
		return ev(uint64(i), base.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("h%d", i%7), "app", protocol.Severity(i%8), fmt.Sprintf("chunk message %d", i))
	}
	seq := 0
	for _, n := range []int{1, 3, 4, 5, 63, 64, 65, 85, 149, 300} {
		var batch []protocol.Event
		for i := range n {
			batch = append(batch, mk(seq+i))
			if i%10 == 9 { // a duplicate inside the batch (same chunk or the next)
				batch = append(batch, mk(seq+i-1))
			}
		}
		batch = append(batch, mk(seq/2)) // one stored by an earlier batch
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		seq += n
	}
	if n := count(t, s, "2026-11-24", "events"); n != seq {
		t.Fatalf("events = %d, want %d", n, seq)
	}
	if n := count(t, s, "2026-11-24", "events_fts"); n != seq {
		t.Fatalf("fts rows = %d, want %d", n, seq)
	}
	for _, i := range []int{0, 1, 63, 64, 200, seq - 1} {
		r, err := s.Search(ctx, Query{Text: fmt.Sprintf(`"message %d"`, i), Host: fmt.Sprintf("h%d", i%7)})
		if err != nil || len(r.Events) != 1 {
			t.Fatalf("event %d: %v %v", i, ids(t, r), err)
		}
		e := mk(i)
		if want := string(e.AppendJSON(nil)); string(r.Events[0]) != want {
			t.Fatalf("event %d JSON\n got %s\nwant %s", i, r.Events[0], want)
		}
	}
}

func TestDayPartitionAcrossMidnight(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, 0, base)
	mid := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	batch := []protocol.Event{
		ev(1, mid.Add(-time.Nanosecond), "h", "a", protocol.SevInfo, "before midnight"),
		ev(2, mid, "h", "a", protocol.SevInfo, "at midnight"),
		// received 00:30 in +02:00 is 22:30 UTC the day before: days are UTC
		ev(3, time.Date(2026, 11, 25, 0, 30, 0, 0, time.FixedZone("x", 2*3600)), "h", "a", protocol.SevInfo, "zone"),
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.db"))
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	if !slices.Equal(files, []string{"2026-11-24.db", "2026-11-25.db"}) {
		t.Fatalf("files = %v", files)
	}
	if a, b := count(t, s, "2026-11-24", "events"), count(t, s, "2026-11-25", "events"); a != 2 || b != 1 {
		t.Fatalf("per day = %d, %d; want 2, 1", a, b)
	}
	// Newest first across both days.
	if got := search(t, s, Query{}); !slices.Equal(got, []string{"n1:2", "n1:1", "n1:3"}) {
		t.Fatalf("order = %v", got)
	}
	// Reopened, the store finds its days again.
	s.Close()
	s2 := openTest(t, dir, 0, base)
	if got := search(t, s2, Query{Limit: 2}); !slices.Equal(got, []string{"n1:2", "n1:1"}) {
		t.Fatalf("after reopen = %v", got)
	}
}

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s := openTest(t, dir, 0, now) // no retention: keep all while filling
	var batch []protocol.Event
	for d := range 20 {
		batch = append(batch, ev(uint64(d), now.AddDate(0, 0, -d), "h", "a", protocol.SevInfo, "day"))
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, 14*24*time.Hour, now) // Open drops what is past retention
	files, _ := filepath.Glob(filepath.Join(dir, "*.db"))
	// Day D goes when D+1 <= now-14d = 11-10 12:00, i.e. 11-09 and older;
	// 11-10 (partly within 14 days) stays: 11-10 … 11-24 is 15 days.
	if len(files) != 15 || filepath.Base(files[0]) != "2026-11-10.db" {
		var names []string
		for _, f := range files {
			names = append(names, filepath.Base(f))
		}
		t.Fatalf("files after retention = %v", names)
	}
	if got := search(t, s, Query{Limit: 100}); len(got) != 15 || got[14] != "n1:14" {
		t.Fatalf("kept = %v", got)
	}
	// The method, a day later: one more day goes.
	dropped, err := s.DropExpired(now.AddDate(0, 0, 1))
	if err != nil || !slices.Equal(dropped, []string{"2026-11-10"}) {
		t.Fatalf("DropExpired = %v, %v", dropped, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "2026-11-10.db")); !os.IsNotExist(err) {
		t.Fatalf("2026-11-10.db still there: %v", err)
	}
	// A write of an event from a dropped day is skipped, not stored in a file that would go at once.
	if err := s.Write(context.Background(), []protocol.Event{ev(99, now.AddDate(0, 0, -30), "h", "a", 6, "old")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "2026-10-25.db")); !os.IsNotExist(err) {
		t.Fatalf("expired day file created: %v", err)
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
		{"case and diacritics", Query{Text: "RESUME"}, []string{"n1:6"}},
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
		r  int
		id string
	}
	keys := make([]key, n)
	for i := range n {
		keys[i] = key{i / 3, want[i]}
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].r != keys[b].r {
			return keys[a].r > keys[b].r
		}
		return keys[a].id > keys[b].id
	})
	want = want[:0]
	for _, k := range keys {
		want = append(want, k.id)
	}

	late := ev(n, base.Add(48*time.Hour), "h", "a", 6, "arrived late")
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
	cur := encodeCursor(cursor{received: 1234, id: "n1:7"})
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
	tests := []struct{ in, want, err string }{
		{"disk full", `"disk" "full"`, ""},
		{`  "timed out"  conn*`, `"timed out" "conn"*`, ""},
		{`"say ""hi"""`, `"say ""hi"""`, ""},
		{`"phrase"* x`, `"phrase"* "x"`, ""},
		{"AND OR NOT NEAR(a b)", `"AND" "OR" "NOT" "NEAR(a" "b)"`, ""},
		{"10.0.0.1", `"10.0.0.1"`, ""},
		{"x:y^z-", `"x:y^z-"`, ""},
		{"résumé", `"résumé"`, ""},
		{"a\x00b\tc\n", `"a" "b" "c"`, ""},
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
	for _, c := range []cursor{{0, "a:0"}, {-1, "x"}, {1 << 62, "node-with-long-name:18446744073709551615"}, {time.Now().UnixNano(), "é:1"}} {
		s := encodeCursor(c)
		got, err := decodeCursor(s)
		if err != nil || got != c {
			t.Errorf("%+v → %q → %+v, %v", c, s, got, err)
		}
	}
	for _, bad := range []string{"", "AA", "AQ", "!!!", "Ag", encodeCursor(cursor{1, "x"}) + "="} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{1234, "n1:7"}))
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

// FuzzParseText: every text either gets an error or an FTS5 query that SQLite accepts.
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
