package victorialogs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"logpacker/protocol"
)

// checkLines checks what VictoriaLogs needs of every line (doc.go): one JSON
// object of strings (tags an array of strings) per line, at most maxLine
// bytes with its "\n", field names of at most 128 bytes, at most 1000
// fields, a _time VictoriaLogs can parse; it returns the objects.
func checkLines(t testing.TB, data []byte, maxLine int) []map[string]any {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("no final newline: %q", data)
	}
	var out []map[string]any
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if len(line) > maxLine {
			t.Fatalf("line of %d bytes > %d", len(line), maxLine)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if len(m) > maxFields {
			t.Fatalf("%d fields", len(m))
		}
		for k, v := range m {
			if len(k) > maxFieldName {
				t.Fatalf("field name of %d bytes: %q", len(k), k)
			}
			if _, ok := v.(string); !ok && k != "tags" {
				t.Fatalf("field %q: %T", k, v)
			}
		}
		if ts, ok := m["_time"].(string); ok {
			tm, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil || tm.UTC().Year() < minYear || tm.UTC().Year() > maxYear {
				t.Fatalf("_time %q: %v", ts, err)
			}
		}
		out = append(out, m)
	}
	return out
}

func TestLineFields(t *testing.T) {
	recv := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	at := time.Date(2026, 5, 1, 13, 59, 59, 5, time.FixedZone("", 2*3600))
	ev := protocol.Event{ID: protocol.ID{Node: `web-1."x"`, Seq: 4711}, Received: recv, Time: at,
		Facility: 4, Severity: 2, Host: "web-1", App: "sshd", ProcID: "42", MsgID: "ID7", Message: "a\tb <c>\xff",
		SD:   []protocol.SDElement{{ID: "meta@1", Params: []protocol.SDParam{{Name: "ip", Value: "10.0.0.1"}, {Name: "empty"}}}},
		Tags: []string{"prod", "eu"}, Fields: map[string]string{"env": "prod", "b": "2"},
		Peer: "10.0.0.2:514", Transport: "tcp", Hops: 2, Count: 3, ParseErr: "bad"}
	s := encodeOnly(DefaultMaxLineSize)
	m := checkLines(t, s.Prepare(nil, []protocol.Event{ev}), DefaultMaxLineSize)[0]
	want := map[string]any{"id": `web-1."x":4711`, "_time": "2026-05-01T13:59:59.000000005+02:00",
		"received": "2026-05-01T12:00:00.123456789Z", "host": "web-1", "app": "sshd", "procid": "42", "msgid": "ID7",
		"facility": "auth", "severity": "crit", "_msg": "a\tb <c>\ufffd", "sd.meta@1.ip": "10.0.0.1",
		"tags": []any{"prod", "eu"}, "fields.env": "prod", "fields.b": "2", "peer": "10.0.0.2:514",
		"transport": "tcp", "hops": "2", "count": "3", "parse_error": "bad"}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Errorf("line\n got %v\nwant %v", m, want)
	}

	// no time: _time is the received time; a time VictoriaLogs cannot store:
	// _time is the received time and the event's time is in "time"
	ev = protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, Message: "m"}
	m = checkLines(t, s.Prepare(nil, []protocol.Event{ev}), DefaultMaxLineSize)[0]
	if m["_time"] != "2026-05-01T12:00:00.123456789Z" || m["time"] != nil || m["severity"] != "emerg" {
		t.Errorf("no time: %v", m)
	}
	ev.Time = time.Date(3001, 1, 1, 0, 0, 0, 0, time.UTC)
	m = checkLines(t, s.Prepare(nil, []protocol.Event{ev}), DefaultMaxLineSize)[0]
	if m["_time"] != "2026-05-01T12:00:00.123456789Z" || m["time"] != "3001-01-01T00:00:00.000000000Z" {
		t.Errorf("year 3001: %v", m)
	}
	ev.Received = time.Time{}
	m = checkLines(t, s.Prepare(nil, []protocol.Event{ev}), DefaultMaxLineSize)[0]
	if m["_time"] != nil {
		t.Errorf("no usable time: %v", m)
	}
}

// TestTruncate: events VictoriaLogs would drop are shortened and marked.
func TestTruncate(t *testing.T) {
	const maxLine = 16 << 10
	s, big := encodeOnly(maxLine), encodeOnly(DefaultMaxLineSize)
	many := map[string]string{}
	for i := range 1500 {
		many[fmt.Sprintf("k%04d", i)] = "v"
	}
	long := strings.Repeat("é<\n", 10000)
	for _, tt := range []struct {
		name string
		ev   protocol.Event
		ok   func(m map[string]any) bool
	}{
		{"long message", protocol.Event{Message: long, Host: "h"}, func(m map[string]any) bool {
			msg := m["_msg"].(string)
			return m["truncated"] == "true" && strings.HasPrefix(long, msg) && len(msg) > 1000 && m["host"] == "h"
		}},
		{"many fields", protocol.Event{Message: "m", Fields: many}, func(m map[string]any) bool {
			return m["truncated"] == "true" && m["fields.k0000"] == "v" && m["fields.k1499"] == nil
		}},
		{"long field name", protocol.Event{Message: "m", Fields: map[string]string{strings.Repeat("n", 200): "v"}}, func(m map[string]any) bool {
			for k, v := range m {
				if strings.HasPrefix(k, "fields.nnn") && v == "v" && len(k) == maxFieldName {
					return m["truncated"] == nil
				}
			}
			return false
		}},
		{"huge tags and fields", protocol.Event{Message: long, Host: strings.Repeat("\x01", 50000),
			Tags: []string{strings.Repeat("t", 50000)}, Fields: map[string]string{"f": long}}, func(m map[string]any) bool {
			return m["truncated"] == "true" && m["tags"] == nil && m["fields.f"] == nil &&
				len(m["host"].(string)) == minimalCap && strings.HasPrefix(long, m["_msg"].(string))
		}},
		{"exactly fits", protocol.Event{Message: "x"}, func(m map[string]any) bool { return m["truncated"] == nil }},
	} {
		tt.ev.ID = protocol.ID{Node: "n", Seq: 1}
		m := checkLines(t, s.Prepare(nil, []protocol.Event{tt.ev}), maxLine)[0]
		if tt.name == "many fields" { // too long for 16 KiB: see it under the default
			m = checkLines(t, big.Prepare(nil, []protocol.Event{tt.ev}), DefaultMaxLineSize)[0]
		}
		if !tt.ok(m) {
			t.Errorf("%s: %.300v", tt.name, m)
		}
	}
	if s.Stats().Truncated != 3 || big.Stats().Truncated != 1 {
		t.Errorf("Truncated = %d, %d, want 3, 1", s.Stats().Truncated, big.Stats().Truncated)
	}
}

// FuzzPrepare: whatever the event holds, each line is one VictoriaLogs can
// take whole (checkLines), with the event's id and a prefix of its message.
func FuzzPrepare(f *testing.F) {
	f.Add("n1", uint64(1), "host", "app", "msg", "k", "v", "sd@1", "p", "tag", int64(1700000000), 16<<10)
	f.Add("\xff\"", uint64(0), "\x00", "<&>", strings.Repeat("\u2028\x01", 9000), "", "\xfe", "", "", "", int64(-1e12), 20000)
	f.Fuzz(func(t *testing.T, node string, seq uint64, host, app, msg, k, v, sdID, p, tag string, unix int64, maxLine int) {
		maxLine = max(minMaxLineSize, min(maxLine, 2<<20))
		ev := protocol.Event{ID: protocol.ID{Node: cutUTF8(node, 200), Seq: seq}, Received: time.Unix(unix, 0), Time: time.Unix(unix*7, 3),
			Host: host, App: app, Message: msg, Fields: map[string]string{k: v, k + "2": msg}, Tags: []string{tag, msg},
			SD: []protocol.SDElement{{ID: sdID, Params: []protocol.SDParam{{Name: p, Value: v}, {Name: p + "x", Value: msg}}}}}
		s := encodeOnly(maxLine)
		m := checkLines(t, s.Prepare([]byte("{}\n"), []protocol.Event{ev}), maxLine)[1]
		var id bytes.Buffer
		id.WriteString(strings.ToValidUTF8(ev.ID.Node, "\ufffd"))
		fmt.Fprintf(&id, ":%d", seq)
		if got, _ := m["id"].(string); !utf8.ValidString(node) || got != id.String() {
			if utf8.ValidString(node) {
				t.Fatalf("id %q, want %q", got, id.String())
			}
		}
		if got, _ := m["_msg"].(string); utf8.ValidString(msg) && !strings.HasPrefix(msg, got) {
			t.Fatalf("_msg %q is not a prefix of %q", got, msg)
		}
	})
}

// BenchmarkPrepare: encoding a batch of syslog-sized events (events/s).
func BenchmarkPrepare(b *testing.B) {
	now := time.Now()
	evs := make([]protocol.Event, 2048)
	for i := range evs {
		evs[i] = protocol.Event{ID: protocol.ID{Node: "web-17.x9a", Seq: uint64(i)}, Received: now, Time: now.Add(-time.Second),
			Facility: 16, Severity: 6, Host: "web-17", App: "nginx", ProcID: "1234",
			Message: fmt.Sprintf(`10.0.0.%d - - "GET /api/v1/items/%d HTTP/1.1" 200 512 "-" "curl/8.5"`, i%256, i),
			Tags:    []string{"prod"}, Transport: "tcp", Peer: "10.0.0.1:50514"}
	}
	s := encodeOnly(DefaultMaxLineSize)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf = s.Prepare(buf[:0], evs)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

// encodeOnly is a Sink for Prepare alone.
func encodeOnly(maxLine int) *Sink {
	return &Sink{enc: encoder{maxLine: maxLine}, log: slog.New(slog.DiscardHandler)}
}
