package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/sink/elastic/elastictest"
	"logpacker/protocol"
)

// operatorTemplate is a template an operator installed for logpacker-*.
const operatorTemplate = `{"index_patterns":["logpacker-*"],"priority":300,"_meta":{"owner":"ops"},
	"template":{"mappings":{"properties":{"message":{"type":"text"},"host":{"type":"keyword"}}}}}`

// TestTemplate: every way the index template can go. The template comes
// before the first _bulk request; once it is dealt with (installed, there
// already, or refused for good) it is not sent again; a failure that can go
// away (503, 429) makes Write fail before any event is sent, and the next
// Write tries again; refusals for good (403, another 400) are logged once,
// counted, and the events are indexed without it.
func TestTemplate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     string
		seed     map[string]string            // templates there before
		fail     func(name string, n int) int // fake's templateFail
		failures int                          // Writes that return an error first
		puts     []string                     // PUT /_index_template requests, in order
		errs     uint64                       // Stats.TemplateErrors
		warn     string                       // logged once, at WARN
		used     string                       // template the indexes were created with
		ours     bool                         // it is logpacker's
	}{
		{name: "created", mode: "", puts: []string{"logpacker-es create=true"}, used: "logpacker-es", ours: true},
		{name: "exists", mode: TemplateCreate, seed: map[string]string{"logpacker-es": operatorTemplate},
			puts: []string{"logpacker-es create=true"}, used: "logpacker-es"},
		{name: "overwrite", mode: TemplateOverwrite, seed: map[string]string{"logpacker-es": operatorTemplate},
			puts: []string{"logpacker-es create=false"}, used: "logpacker-es", ours: true},
		{name: "403 goes on", mode: TemplateCreate, fail: func(string, int) int { return 403 },
			puts: []string{"logpacker-es create=true"}, errs: 1, warn: "manage_index_templates"},
		{name: "400 overlap goes on", mode: TemplateOverwrite,
			seed: map[string]string{"ops": strings.Replace(operatorTemplate, "300", "200", 1)},
			puts: []string{"logpacker-es create=false"}, errs: 1, warn: "same priority", used: "ops"},
		{name: "503 retried", mode: TemplateCreate, fail: func(_ string, n int) int {
			if n <= 4 { // the client's own 3 retries, then Write fails
				return 503
			}
			return 0
		}, failures: 1, puts: slices.Repeat([]string{"logpacker-es create=true"}, 5), used: "logpacker-es", ours: true},
		{name: "429 retried", mode: TemplateOverwrite, fail: func(_ string, n int) int {
			if n <= 8 {
				return 429
			}
			return 0
		}, failures: 2, puts: slices.Repeat([]string{"logpacker-es create=false"}, 9), used: "logpacker-es", ours: true},
		{name: "none sends nothing", mode: TemplateNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := elastictest.New(t)
			for name, body := range tc.seed {
				es.SeedTemplate(name, body)
			}
			es.TemplateFail = tc.fail
			es.Poison = func(src []byte) bool { return bytes.Contains(src, []byte(`"message":"poison"`)) }
			var logs bytes.Buffer
			s := newTestSink(t, Options{URLs: []string{es.URL()}, Template: tc.mode,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			evs := testEvents(1, 100) // 97 is poison
			for i := range tc.failures {
				err := s.Write(context.Background(), evs)
				if err == nil || permanent(err) || !strings.Contains(err.Error(), "index template logpacker-es: HTTP") {
					t.Fatalf("Write %d: err %v: want a transient index template error", i+1, err)
				}
				if es.Counts().Requests != 0 {
					t.Fatalf("a _bulk request went before the template was dealt with")
				}
			}
			for range 2 { // the second Write sends no template
				if err := s.Write(context.Background(), evs); err != nil {
					t.Fatal(err)
				}
				evs = testEvents(101, 100)
			}
			if log := es.TemplateLog(); !slices.Equal(log, tc.puts) {
				t.Errorf("template requests %q, want %q", log, tc.puts)
			}
			if n, _ := es.Stored(); n != 198 || es.Counts().Rejected != 2 {
				t.Errorf("stored %d, rejected %d: want 198 stored and the 2 poison events dead-lettered", n, es.Counts().Rejected)
			}
			if st := s.Stats(); st.TemplateErrors != tc.errs || st.Indexed != 198 || st.DeadLettered != 2 {
				t.Errorf("stats %+v, want TemplateErrors %d, Indexed 198, DeadLettered 2", st, tc.errs)
			}
			if got := strings.Count(logs.String(), "level=WARN"); tc.warn != "" && (got != 1 || !strings.Contains(logs.String(), tc.warn)) {
				t.Errorf("want one warning about %q, got:\n%s", tc.warn, logs.String())
			} else if tc.warn == "" && got != 0 {
				t.Errorf("unexpected warnings:\n%s", logs.String())
			}
			for name, used := range es.Indexes() {
				if used != tc.used {
					t.Errorf("index %s created with template %q, want %q", name, used, tc.used)
				}
			}
			if tc.used == "" {
				return
			}
			used, _ := es.Template(tc.used)
			if mine := used.Meta["managed_by"] == "logpacker"; mine != tc.ours {
				t.Errorf("template %s: _meta %v: logpacker's %v, want %v", tc.used, used.Meta, mine, tc.ours)
			}
			if tc.ours && (used.Priority != templatePriority || !slices.Equal(used.Patterns, []string{"logpacker-*"})) {
				t.Errorf("template %s: priority %d, patterns %q", tc.used, used.Priority, used.Patterns)
			}
		})
	}
}

// TestTemplateMappings: the mappings cover the event's public JSON form
// with the types README's Elasticsearch section lists (keywords; date_nanos
// for received and time, time with ignore_malformed; text message; flattened
// sd and fields; integer hops; long count), and every kind of event
// fits them (the fake rejects a document whose mapped field does not fit,
// as Elasticsearch does): structured data, fields, tags, a parse error, a
// message time before 1970 (outside date_nanos: ignore_malformed), a count
// beyond integer's range.
func TestTemplateMappings(t *testing.T) {
	es := elastictest.New(t)
	s := newTestSink(t, Options{URLs: []string{es.URL()}})
	full := protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: base, Time: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC),
		Facility: 4, Severity: 2, Host: "h", App: "a", ProcID: "1", MsgID: "m", Message: "full",
		SD:   []protocol.SDElement{{ID: "x@1", Params: []protocol.SDParam{{Name: "k", Value: strings.Repeat("v", 5000)}}}},
		Tags: []string{"t1", "t2"}, Fields: map[string]string{"f": "v"}, Peer: "127.0.0.1:1", Transport: "tcp",
		Hops: 3, Count: 1<<32 - 1, ParseErr: "bad header"}
	bare := protocol.Event{ID: protocol.ID{Node: "n", Seq: 2}} // no times at all
	if err := s.Write(context.Background(), []protocol.Event{full, bare}); err != nil {
		t.Fatal(err)
	}
	if n, _ := es.Stored(); n != 2 || s.Stats().DeadLettered != 0 {
		t.Fatalf("stored %d, stats %+v: every event must fit the mappings", n, s.Stats())
	}

	want := map[string]string{"id": "keyword", "received": "date_nanos", "time": "date_nanos", "facility": "keyword",
		"severity": "keyword", "host": "keyword", "app": "keyword", "procid": "keyword", "msgid": "keyword",
		"message": "text", "sd": "flattened", "tags": "keyword", "fields": "flattened", "transport": "keyword",
		"peer": "keyword", "hops": "integer", "count": "long", "parse_error": "keyword"}
	var doc map[string]any
	if err := json.Unmarshal(full.AppendJSON(nil), &doc); err != nil {
		t.Fatal(err)
	}
	tmpl, _ := es.Template("logpacker-es")
	props := tmpl.Fields
	for k := range doc {
		if _, ok := want[k]; !ok {
			t.Errorf("field %q of the JSON form is not mapped", k)
		}
	}
	for k, typ := range want {
		if props[k].Type != typ {
			t.Errorf("%s mapped as %q, want %q", k, props[k].Type, typ)
		}
	}
	if !props["time"].IgnoreMalformed {
		t.Error("time: want ignore_malformed (a sender's clock can be anywhere)")
	}
	if (elastictest.Field{Type: "date_nanos"}).Fits("1969-07-20T20:17:00Z") {
		t.Error("the fake takes a date_nanos before 1970: the check above proves nothing")
	}

	// The fake's checks bite: with an operator's template that maps
	// message as an integer, events are rejected for good.
	es2 := elastictest.New(t)
	es2.SeedTemplate("ops", `{"index_patterns":["logpacker-*"],"template":{"mappings":{"properties":{"message":{"type":"integer"}}}}}`)
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	s2 := newTestSink(t, Options{URLs: []string{es2.URL()}, Template: TemplateNone, DeadLetter: dead})
	if err := s2.Write(context.Background(), []protocol.Event{full}); err != nil {
		t.Fatal(err)
	}
	if l := elastictest.ReadDeadLetters(t, dead); len(l) != 1 || l[0].Error.Type != "document_parsing_exception" || !strings.Contains(l[0].Error.Reason, "[message] of type [integer]") {
		t.Fatalf("dead letters %+v", l)
	}
}

func TestTemplatePatterns(t *testing.T) {
	for _, tc := range []struct {
		index, want, err string
	}{
		{"", "logpacker-*", ""},
		{"logs-%Y.%m.%d-%H", "logs-*", ""},
		{"logs", "logs", ""},
		{"a%%b-%Y", "a%b-*", ""},
		{"logs%Y", "logs*", ""},
		{"%Y-logs", "", "starts with %Y"},
	} {
		p, err := parseIndexPattern(tc.index)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.templatePatterns()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "template = none") {
				t.Errorf("%q: err %v, want %q", tc.index, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q: %q %v, want [%q]", tc.index, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		index, mode, name, err string
	}{
		{"", "", "", ""},
		{"%Y-logs", TemplateNone, "", ""},
		{"%Y-logs", "", "", "starts with %Y"},
		{"", "always", "", "want create, overwrite or none"},
		{"", TemplateCreate, "Logs", "lowercase"},
		{"", TemplateCreate, "_logs", "must not start"},
		{"", TemplateNone, "a b", "must not contain"},
	} {
		err := CheckTemplate(tc.index, tc.mode, tc.name)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckTemplate(%q, %q, %q): %v, want %q", tc.index, tc.mode, tc.name, err, tc.err)
		}
		if _, err2 := New(Options{URLs: []string{"http://x"}, DeadLetter: "d", Index: tc.index, Template: tc.mode, TemplateName: tc.name}); (err == nil) != (err2 == nil) {
			t.Errorf("New and CheckTemplate disagree: %v, %v", err2, err)
		}
	}
	for in, want := range map[string]string{"es": "logpacker-es", "ES_Main-2": "logpacker-es_main-2", "": "logpacker"} {
		if got := DefaultTemplateName(in); got != want || CheckTemplateName(got) != nil {
			t.Errorf("DefaultTemplateName(%q) = %q, want %q (valid)", in, got, want)
		}
	}
	for _, tc := range []struct {
		status int
		body   string
		want   bool
	}{
		{400, `{"error":{"type":"illegal_argument_exception","reason":"index template [x] already exists"},"status":400}`, true},
		{400, `{"error":{"type":"resource_already_exists_exception","reason":"x"},"status":400}`, true},
		{400, `{"error":{"type":"illegal_argument_exception","reason":"index template [x] has index patterns [a*] matching"},"status":400}`, false},
		{403, `{"error":{"type":"security_exception","reason":"already exists"},"status":403}`, false},
		{400, `not json`, false},
	} {
		if got := templateExists(tc.status, []byte(tc.body)); got != tc.want {
			t.Errorf("templateExists(%d, %s) = %v", tc.status, tc.body, got)
		}
	}
}
