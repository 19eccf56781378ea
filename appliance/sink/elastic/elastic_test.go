package elastic

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/sink/elastic/elastictest"
	"logpacker/protocol"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// newTestSink makes a sink against url with short backoffs (the retry
// schedule is not what is tested).
func newTestSink(t testing.TB, opts Options) *Sink {
	t.Helper()
	if opts.DeadLetter == "" {
		opts.DeadLetter = filepath.Join(t.TempDir(), "dead.jsonl")
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	opts.Name = "es"
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.backoffLo, s.backoffHi = time.Millisecond, 4*time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s
}

// writeRetrying is what the output loop does: Write the batch and, on an
// error that is not permanent, write the same batch again until it is
// delivered. It gives up (failing the test) after 100 attempts.
func writeRetrying(t testing.TB, s *Sink, evs []protocol.Event) (failures int) {
	t.Helper()
	for {
		err := s.Write(context.Background(), evs)
		if err == nil {
			return failures
		}
		if permanent(err) {
			t.Fatalf("Write returned a permanent error: %v", err)
		}
		failures++
		if failures >= 100 {
			t.Fatalf("batch not delivered after %d attempts: %v", failures, err)
		}
	}
}

var base = time.Date(2026, 3, 30, 22, 0, 0, 0, time.UTC)

func testEvents(from, n int) []protocol.Event {
	evs := make([]protocol.Event, n)
	for i := range evs {
		seq := uint64(from + i)
		evs[i] = protocol.Event{ID: protocol.ID{Node: "leaf-1", Seq: seq}, Received: base.Add(time.Duration(seq) * 30 * time.Second),
			Host: "web-1", App: "nginx", Severity: 6, Facility: 16, Message: fmt.Sprintf("request %d", seq), Transport: "tcp"}
		if seq%97 == 0 {
			evs[i].Message = "poison"
		}
	}
	return evs
}

// TestWriteExactlyOnce: 10,000 events in batches of 500, each written the way
// the output loop does (retried until nil), against a server that injects
// whole-request 429s, per-item 429/503s (some outlasting one Write), replies
// lost after storing, and a mapping error for the "poison" events. Every
// other event is stored exactly once, in the index of its received day; the
// poison ones are in the dead-letter file once each, with the reason, and
// nowhere else.
func TestWriteExactlyOnce(t *testing.T) {
	es := elastictest.New(t)
	es.Whole = func(n int) int {
		if n == 3 || n == 4 || (n >= 10 && n <= 14) { // 10-14: more than the client's own retries
			return 429
		}
		return 0
	}
	es.ItemFail = func(id string, attempt int) int {
		var seq int
		fmt.Sscanf(id, "leaf-1:%d", &seq)
		switch {
		case seq%13 == 0 && attempt <= maxItemRounds+1: // outlasts one Write
			return 429
		case seq%7 == 0 && attempt == 1:
			return 429
		case seq%11 == 0 && attempt <= 2:
			return 503
		}
		return 0
	}
	es.Poison = func(src []byte) bool { return strings.Contains(string(src), `"message":"poison"`) }
	es.LoseReply = func(n int) bool { return n == 20 || n == 40 }
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	s := newTestSink(t, Options{URLs: []string{es.URL()}, DeadLetter: dead})

	const total, batch = 10000, 500
	failures := 0
	for from := 1; from <= total; from += batch {
		failures += writeRetrying(t, s, testEvents(from, batch))
	}

	poison := map[string]bool{}
	for seq := 97; seq <= total; seq += 97 {
		poison[fmt.Sprintf("leaf-1:%d", seq)] = true
	}
	n, where := es.Stored()
	if want := total - len(poison); n != want || len(where) != want {
		t.Fatalf("stored %d documents (%d distinct _id), want %d", n, len(where), want)
	}
	created := es.Counts().Created
	if created != n {
		t.Errorf("%d creates answered 201 for %d documents: something was stored twice", created, n)
	}
	for seq := 1; seq <= total; seq++ {
		id := fmt.Sprintf("leaf-1:%d", seq)
		idx, ok := where[id]
		if poison[id] {
			if ok {
				t.Errorf("poison event %s stored in %s", id, idx)
			}
			continue
		}
		want := "logpacker-" + base.Add(time.Duration(seq)*30*time.Second).Format("2006.01.02")
		if !ok || idx != want {
			t.Errorf("event %s in index %q (stored %v), want %q", id, idx, ok, want)
		}
	}
	if idx := es.Indexes(); len(idx) != 5 { // 2026-03-30 22:00 + 10,000 × 30 s: March 30 to April 3
		t.Errorf("indexes %v, want 5 days", idx)
	}

	lines := elastictest.ReadDeadLetters(t, dead)
	seen := map[string]bool{}
	for _, l := range lines {
		if !poison[l.ID] || l.Event.ID != l.ID || seen[l.ID] {
			t.Errorf("dead-letter line for %s (event %s, seen before %v): not a poison event, or twice", l.ID, l.Event.ID, seen[l.ID])
		}
		seen[l.ID] = true
		if l.Status != 400 || l.Error.Type != "mapper_parsing_exception" || !strings.Contains(l.Error.Reason, "failed to parse field [message]") ||
			l.Event.Message != "poison" || l.Output != "es" || !strings.HasPrefix(l.Index, "logpacker-2026.") {
			t.Errorf("dead-letter line %+v", l)
		}
	}
	if len(seen) != len(poison) {
		t.Errorf("dead-letter file has %d poison events, want %d", len(seen), len(poison))
	}

	st := s.Stats()
	t.Logf("stats %+v, Write failures (batch retried by the loop) %d", st, failures)
	if st.RetriedItems == 0 || st.Duplicates == 0 || failures == 0 {
		t.Errorf("stats %+v, failures %d: want items retried, duplicates (409) after lost replies, and whole-batch retries", st, failures)
	}
	if st.DeadLettered != uint64(len(poison)) {
		t.Errorf("DeadLettered %d, want %d", st.DeadLettered, len(poison))
	}
	if st.Indexed > uint64(n) || st.Indexed+st.Duplicates < uint64(n) {
		t.Errorf("Indexed %d + Duplicates %d do not account for %d stored", st.Indexed, st.Duplicates, n)
	}
}

// TestWriteTwice: a batch written again (the loop replaying after a crash)
// answers 409 for every event and stores nothing twice.
func TestWriteTwice(t *testing.T) {
	es := elastictest.New(t)
	s := newTestSink(t, Options{URLs: []string{es.URL()}, Index: "logs-%Y.%m.%d-%H"})
	evs := testEvents(1, 50)
	for i := range evs {
		evs[i].Message = "fine"
	}
	for range 2 {
		if err := s.Write(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	n, where := es.Stored()
	st := s.Stats()
	if created := es.Counts().Created; n != 50 || st.Indexed != 50 || st.Duplicates != 50 || created != 50 {
		t.Fatalf("stored %d, stats %+v, created %d: want 50 stored once, 50 duplicates", n, st, created)
	}
	if got := where["leaf-1:1"]; got != "logs-2026.03.30-22" {
		t.Errorf("index %q, want logs-2026.03.30-22", got)
	}
}

// TestWholeRequestErrors: requests refused as a whole never drop events and
// never dead-letter: Write returns a transient error saying why.
func TestWholeRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{429, "HTTP 429"},
		{503, "cluster busy or unavailable"},
		{400, "refused as a whole"},
		{401, "check username/password or api_key"},
		{403, "index privileges"},
		{413, "lower batch_size"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			es := elastictest.New(t)
			es.Whole = func(int) int { return tc.status }
			dead := filepath.Join(t.TempDir(), "dead.jsonl")
			s := newTestSink(t, Options{URLs: []string{es.URL()}, DeadLetter: dead})
			err := s.Write(context.Background(), testEvents(1, 10))
			if err == nil || permanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v: want a transient error containing %q", err, tc.want)
			}
			if _, err := os.Stat(dead); !os.IsNotExist(err) {
				t.Errorf("dead-letter file written: %v", err)
			}
			es.Locked(func() { es.Whole = nil }) // fixed: the same batch goes through
			if err := s.Write(context.Background(), testEvents(1, 10)); err != nil {
				t.Fatal(err)
			}
			if n, _ := es.Stored(); n != 10 {
				t.Errorf("stored %d, want 10", n)
			}
		})
	}
}

// TestMalformedReplies: answers the sink cannot read are transient errors.
func TestMalformedReplies(t *testing.T) {
	for _, body := range []string{`not json`, `{"took":1,"errors":false,"items":[]}`, `{"items":[{"create":{"_id":"leaf-1:1","status":201}}]}`} {
		es := elastictest.New(t)
		es.Raw = func(int) (int, string) { return 200, body }
		s := newTestSink(t, Options{URLs: []string{es.URL()}})
		err := s.Write(context.Background(), testEvents(1, 1))
		if err == nil || permanent(err) || !strings.Contains(err.Error(), "malformed _bulk response") {
			t.Errorf("body %s: err %v, want a transient malformed-response error", body, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	// The template comes first (and is tried again on the next Write).
	for mode, want := range map[string]string{TemplateCreate: "index template", TemplateNone: "bulk request"} {
		s := newTestSink(t, Options{URLs: []string{url}, Template: mode})
		for range 2 {
			err = s.Write(context.Background(), testEvents(1, 3))
			if err == nil || permanent(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
				t.Fatalf("template = %s: err %v: want a transient %q error", mode, err, want)
			}
		}
	}
}

// TestDeadLetterUnwritable: when rejected items cannot be written to the
// dead-letter file, Write fails (transient) rather than lose them.
func TestDeadLetterUnwritable(t *testing.T) {
	es := elastictest.New(t)
	es.Poison = func(src []byte) bool { return strings.Contains(string(src), "poison") }
	dead := filepath.Join(t.TempDir(), "missing-dir", "dead.jsonl")
	s := newTestSink(t, Options{URLs: []string{es.URL()}, DeadLetter: dead})
	err := s.Write(context.Background(), testEvents(90, 10)) // 97 is poison
	if err == nil || permanent(err) || !strings.Contains(err.Error(), "dead-letter") {
		t.Fatalf("err %v: want a transient dead-letter error", err)
	}
	if err := os.Mkdir(filepath.Dir(dead), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), testEvents(90, 10)); err != nil {
		t.Fatal(err)
	}
	if l := elastictest.ReadDeadLetters(t, dead); len(l) != 1 || l[0].ID != "leaf-1:97" {
		t.Fatalf("dead letters %+v", l)
	}
	if n, _ := es.Stored(); n != 9 {
		t.Errorf("stored %d, want 9", n)
	}
}

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Username: "elastic", Password: "s3cret"}, "Basic " + base64.StdEncoding.EncodeToString([]byte("elastic:s3cret"))},
		{Options{APIKey: "aWQ6a2V5"}, "ApiKey aWQ6a2V5"},
	} {
		es := elastictest.New(t)
		es.Auth = func(r *http.Request) bool { // the scheme is case-insensitive (the client sends "APIKey")
			scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			wantScheme, wantToken, _ := strings.Cut(tc.want, " ")
			return strings.EqualFold(scheme, wantScheme) && token == wantToken
		}
		tc.opts.URLs = []string{es.URL()}
		if err := newTestSink(t, tc.opts).Write(context.Background(), testEvents(1, 2)); err != nil {
			t.Errorf("%s: %v", tc.want, err)
		}
		if tc.opts.Username != "" {
			tc.opts.Password = "wrong"
		} else {
			tc.opts.APIKey = "d3Jvbmc="
		}
		err := newTestSink(t, tc.opts).Write(context.Background(), testEvents(1, 2))
		if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
			t.Errorf("wrong credentials: err %v, want HTTP 401", err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	dl := filepath.Join(t.TempDir(), "d")
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{DeadLetter: dl}, "no urls"},
		{Options{URLs: []string{"es:9200"}, DeadLetter: dl}, "want http://"},
		{Options{URLs: []string{"http://x"}}, "dead-letter"},
		{Options{URLs: []string{"http://x"}, DeadLetter: dl, APIKey: "k", Username: "u"}, "exclusive"},
		{Options{URLs: []string{"http://x"}, DeadLetter: dl, Index: "Logs-%Y"}, "lowercase"},
	} {
		if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestIndexPattern(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 5*3600)) // 2026-01-01 22:04 UTC
	for _, tc := range []struct {
		pattern, want, err string
	}{
		{"", "logpacker-2026.01.01", ""},
		{"logs-%Y-%m-%d-%H", "logs-2026-01-01-22", ""},
		{"logs", "logs", ""},
		{"logs-%Y.%m", "logs-2026.01", ""},
		{"a%%b-%Y", "a%b-2026", ""},
		{"logs-%y", "", "unknown %y"},
		{"logs-%", "", "at the end"},
		{"Logs", "", "lowercase"},
		{"_logs", "", "must not start"},
		{"logs %Y", "", "must not contain"},
		{"logs:%Y", "", "must not contain"},
		{strings.Repeat("a", 256), "", "255 bytes"},
	} {
		p, err := parseIndexPattern(tc.pattern)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.pattern, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		if got := p.nameFor(indexTime(at, time.Time{})); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.pattern, got, tc.want)
		}
	}
	// The cache follows the day; received time first, then the message's, then 1970.
	p, _ := parseIndexPattern("")
	for _, tc := range []struct {
		recv, msg time.Time
		want      string
	}{
		{time.Date(2026, 5, 1, 23, 59, 59, 0, time.UTC), time.Time{}, "logpacker-2026.05.01"},
		{time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), time.Time{}, "logpacker-2026.05.02"},
		{time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), time.Time{}, "logpacker-2026.05.01"},
		{time.Time{}, time.Date(2025, 7, 4, 0, 0, 0, 0, time.UTC), "logpacker-2025.07.04"},
		{time.Time{}, time.Time{}, "logpacker-1970.01.01"},
		{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), time.Time{}, "logpacker-1969.12.31"},
	} {
		if got := p.nameFor(indexTime(tc.recv, tc.msg)); got != tc.want {
			t.Errorf("recv %v msg %v: %q, want %q", tc.recv, tc.msg, got, tc.want)
		}
	}
}

func TestParseBulkResponse(t *testing.T) {
	ids := []string{"n:1", "n:2"}
	for _, tc := range []struct {
		name, body, err string
		status          []int
	}{
		{"ok", `{"took":1,"errors":false,"items":[{"create":{"_index":"i","_id":"n:1","status":201}},{"create":{"_index":"i","_id":"n:2","status":201}}]}`, "", []int{201, 201}},
		{"mixed", `{"took":1,"errors":true,"items":[{"create":{"_id":"n:1","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},{"create":{"_id":"n:2","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad","caused_by":{"type":"x","reason":"y"}}}}]}`, "", []int{409, 400}},
		{"not json", `<html>`, "malformed", nil},
		{"empty", ``, "malformed", nil},
		{"no errors field", `{"items":[]}`, "no \"errors\"", nil},
		{"count", `{"errors":false,"items":[{"create":{"_id":"n:1","status":201}}]}`, "1 items for 2 sent", nil},
		{"order", `{"errors":false,"items":[{"create":{"_id":"n:2","status":201}},{"create":{"_id":"n:1","status":201}}]}`, "_id \"n:2\", sent \"n:1\"", nil},
		{"other op", `{"errors":false,"items":[{"index":{"_id":"n:1","status":201}},{"create":{"_id":"n:2","status":201}}]}`, "not one \"create\"", nil},
		{"no status", `{"errors":false,"items":[{"create":{"_id":"n:1"}},{"create":{"_id":"n:2","status":201}}]}`, "status 0", nil},
		{"errors false but failed", `{"errors":false,"items":[{"create":{"_id":"n:1","status":429}},{"create":{"_id":"n:2","status":201}}]}`, "\"errors\": false", nil},
		{"error as string", `{"errors":true,"items":[{"create":{"_id":"n:1","status":400,"error":"x"}},{"create":{"_id":"n:2","status":201}}]}`, "malformed", nil},
	} {
		items, err := parseBulkResponse([]byte(tc.body), ids)
		if tc.err != "" {
			if err == nil || !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for i, it := range items {
			if it.Status != tc.status[i] {
				t.Errorf("%s: item %d status %d, want %d", tc.name, i, it.Status, tc.status[i])
			}
		}
	}
	if got := requestError([]byte(`{"error":{"type":"security_exception","reason":"no"},"status":401}`)); got != "security_exception: no" {
		t.Errorf("requestError: %q", got)
	}
	if got := requestError([]byte(`{"error":"Incorrect HTTP method"}`)); got != "Incorrect HTTP method" {
		t.Errorf("requestError: %q", got)
	}
}

func TestBulkBody(t *testing.T) {
	evs := testEvents(1, 2)
	evs[1].ID.Node = "we\"ird\\node\x01\xff"
	long := protocol.ID{Node: strings.Repeat("é", 400), Seq: 1}
	evs = append(evs, protocol.Event{ID: long, Message: "long id"})
	items := []item{{0, docID(evs[0].ID), "i"}, {1, docID(evs[1].ID), "i"}, {2, docID(long), "i"}}
	if len(items[2].id) > maxIDBytes || docID(long) != items[2].id {
		t.Fatalf("long id: %d bytes, or not stable", len(items[2].id))
	}
	var enc protocol.JSONEncoder
	body := appendBulk(nil, &enc, evs, items)
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 6 || body[len(body)-1] != '\n' {
		t.Fatalf("body %q", body)
	}
	for i := 0; i < 6; i += 2 {
		var a map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &a); err != nil || a["create"].Index != "i" {
			t.Fatalf("action %q: %v", lines[i], err)
		}
		if got, want := a["create"].ID, strings.ToValidUTF8(items[i/2].id, "\ufffd"); got != want {
			t.Errorf("_id %q, want %q", got, want)
		}
		if !json.Valid([]byte(lines[i+1])) {
			t.Errorf("source %q", lines[i+1])
		}
	}
}

func FuzzParseBulkResponse(f *testing.F) {
	f.Add([]byte(`{"took":1,"errors":true,"items":[{"create":{"_index":"i","_id":"n:0","status":429,"error":{"type":"es_rejected_execution_exception","reason":"x"}}}]}`), uint8(1))
	f.Add([]byte(`{"errors":false,"items":[]}`), uint8(0))
	f.Add([]byte(`{"errors":false,"items":[{"create":{"_id":"n:0","status":201}},{"create":{"_id":"n:1","status":201}}]}`), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		ids := make([]string, n%8)
		for i := range ids {
			ids[i] = fmt.Sprintf("n:%d", i)
		}
		items, err := parseBulkResponse(data, ids)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			return
		}
		if len(items) != len(ids) {
			t.Fatalf("%d items for %d ids", len(items), len(ids))
		}
		for i, it := range items {
			if it.ID != ids[i] || it.Status < 100 || it.Status > 599 {
				t.Fatalf("item %d: %+v", i, it)
			}
			_ = it.Error.String()
		}
		_ = requestError(data)
	})
}

func BenchmarkAppendBulk(b *testing.B) {
	evs := testEvents(1, 1000)
	p, _ := parseIndexPattern("")
	items := make([]item, len(evs))
	for i := range evs {
		items[i] = item{i, docID(evs[i].ID), p.nameFor(indexTime(evs[i].Received, evs[i].Time))}
	}
	var enc protocol.JSONEncoder
	body := appendBulk(nil, &enc, evs, items)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		body = appendBulk(body[:0], &enc, evs, items)
	}
}

// TestDeadLetterAfterRestart: the output loop replays the batch it had not
// committed when the process died. Its events dead-lettered before the
// restart are neither sent nor written again (each stays once in the file),
// and a torn last line (a crash inside write) is cut and written again whole.
func TestDeadLetterAfterRestart(t *testing.T) {
	es := elastictest.New(t)
	es.Poison = func(src []byte) bool { return strings.Contains(string(src), `"message":"poison"`) }
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	batch := testEvents(1, 200) // 97 and 194 are poison
	if err := newTestSink(t, Options{URLs: []string{es.URL()}, DeadLetter: dead}).Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	// The process died before the commit: a new one gets the same batch.
	s := newTestSink(t, Options{URLs: []string{es.URL()}, DeadLetter: dead})
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	poisonSent := es.Attempts("leaf-1:97")
	if st := s.Stats(); st.Duplicates != 198 || st.DeadLettered != 0 || poisonSent != 1 {
		t.Errorf("replay: stats %+v, poison event sent %d times: want 198 duplicates, the poison events neither sent nor dead-lettered again", st, poisonSent)
	}
	if l := elastictest.ReadDeadLetters(t, dead); len(l) != 2 || l[0].ID != "leaf-1:97" || l[1].ID != "leaf-1:194" {
		t.Fatalf("dead letters %+v, want 97 and 194 once", l)
	}

	// A torn last line: its Write failed, so its event comes again.
	b, _ := os.ReadFile(dead)
	cut := bytes.LastIndexByte(b[:len(b)-1], '\n') + 1
	if err := os.WriteFile(dead, b[:cut+40], 0o640); err != nil { // 194's line, torn after its _id
		t.Fatal(err)
	}
	s = newTestSink(t, Options{URLs: []string{es.URL()}, DeadLetter: dead})
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if l := elastictest.ReadDeadLetters(t, dead); len(l) != 2 || l[0].ID != "leaf-1:97" || l[1].ID != "leaf-1:194" || l[1].Event.Message != "poison" {
		t.Fatalf("dead letters %+v, want 97 and 194 once, whole", l)
	}
	if st := s.Stats(); st.DeadLettered != 1 {
		t.Errorf("stats %+v: want 194 dead-lettered again", st)
	}
	// A torn line longer than the part read is cut too; the _ids are
	// those of the complete lines in the part read.
	for _, tt := range []struct {
		content, want string
		ids           []string
	}{
		{`{"output":"es","_id":"x","event":{"message":"` + strings.Repeat("a", 100), "", nil},
		{`{"_id":"a"}` + "\n" + `{"_id":"b"}` + "\n" + `{"_id":"c","event":{"message":"` + strings.Repeat("a", 100),
			`{"_id":"a"}` + "\n" + `{"_id":"b"}` + "\n", []string{"b"}},
		{`{"_id":"a"}` + "\n" + `{"_id":"b"}` + "\n", `{"_id":"a"}` + "\n" + `{"_id":"b"}` + "\n", []string{"b"}},
	} {
		if err := os.WriteFile(dead, []byte(tt.content), 0o640); err != nil {
			t.Fatal(err)
		}
		ids, err := loadDeadTail(dead, 20)
		var got []string
		for id := range ids {
			got = append(got, id)
		}
		slices.Sort(got)
		if b, _ := os.ReadFile(dead); err != nil || !slices.Equal(got, tt.ids) || string(b) != tt.want {
			t.Errorf("loadDeadTail(%.30q…, 20) = %v, %v; file %q; want %v, file %q", tt.content, got, err, b, tt.ids, tt.want)
		}
	}
}
