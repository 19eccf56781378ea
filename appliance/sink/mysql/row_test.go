package mysql

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"logpacker/protocol"
)

func TestAppendRow(t *testing.T) {
	recv := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
	longHost := strings.Repeat("h", 300)
	longApp := strings.Repeat("é", 200) // 2 bytes each: cut on characters, not bytes
	tests := []struct {
		name  string
		ev    protocol.Event
		check func(t *testing.T, r []any, extra map[string]any)
	}{
		{"null time, no extra", protocol.Event{ID: protocol.ID{Node: "n1", Seq: 7}, Received: recv, Host: "h", App: "a", Severity: 3, Facility: 4, Message: "m"},
			func(t *testing.T, r []any, extra map[string]any) {
				want := []any{"n1:7", nil, recv.UTC(), "h", "a", uint8(3), uint8(4), "m", nil}
				if !reflect.DeepEqual(r, want) {
					t.Fatalf("row %#v, want %#v", r, want)
				}
			}},
		{"time in UTC", protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, Time: recv.Add(-time.Second)},
			func(t *testing.T, r []any, extra map[string]any) {
				if got := r[1].(time.Time); !got.Equal(recv.Add(-time.Second)) || got.Location() != time.UTC {
					t.Fatalf("time %v", got)
				}
			}},
		{"time outside DATETIME", protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, Time: time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC)},
			func(t *testing.T, r []any, extra map[string]any) {
				if r[1] != nil || extra["time"] != "0999-01-01T00:00:00Z" {
					t.Fatalf("time %v extra %v", r[1], extra)
				}
			}},
		{"long host and app cut, kept in extra", protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, Host: longHost, App: longApp},
			func(t *testing.T, r []any, extra map[string]any) {
				if r[3] != longHost[:255] || r[4] != strings.Repeat("é", 128) {
					t.Fatalf("host %q app %q", r[3], r[4])
				}
				if extra["host"] != longHost || extra["app"] != longApp {
					t.Fatalf("extra %v", extra)
				}
			}},
		{"invalid UTF-8 replaced", protocol.Event{ID: protocol.ID{Node: "n\xff", Seq: 1}, Received: recv, Host: "h\xc3", App: "a\x80b", Message: "bad \xff\xfe end", ProcID: "p\xff"},
			func(t *testing.T, r []any, extra map[string]any) {
				for i, want := range map[int]string{0: "n\uFFFD:1", 3: "h\uFFFD", 4: "a\uFFFDb", 7: "bad \uFFFD\uFFFD end"} {
					if r[i] != want {
						t.Errorf("column %d = %q, want %q", i, r[i], want)
					}
				}
				if extra["procid"] != "p\uFFFD" {
					t.Errorf("extra %v", extra)
				}
			}},
		{"extra holds the rest", protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, ProcID: "42", MsgID: "ID1",
			SD:   []protocol.SDElement{{ID: "meta@1", Params: []protocol.SDParam{{Name: "k", Value: "v\"\\\n"}}}, {ID: "x"}},
			Tags: []string{"t1", "t2"}, Fields: map[string]string{"b": "2", "a": "1\x00"}, Peer: "10.0.0.1:514", Transport: "tcp",
			Hops: 2, Count: 5, ParseErr: "bad header"},
			func(t *testing.T, r []any, extra map[string]any) {
				want := map[string]any{"procid": "42", "msgid": "ID1",
					"sd":   map[string]any{"meta@1": map[string]any{"k": "v\"\\\n"}, "x": map[string]any{}},
					"tags": []any{"t1", "t2"}, "fields": map[string]any{"a": "1\x00", "b": "2"}, "peer": "10.0.0.1:514",
					"transport": "tcp", "hops": 2.0, "count": 5.0, "parse_error": "bad header"}
				if !reflect.DeepEqual(extra, want) {
					t.Fatalf("extra %#v\nwant  %#v", extra, want)
				}
			}},
		{"count 1 is not extra", protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, Count: 1},
			func(t *testing.T, r []any, extra map[string]any) {
				if r[8] != nil {
					t.Fatalf("extra %v", r[8])
				}
			}},
		{"zero received is NULL", protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}},
			func(t *testing.T, r []any, extra map[string]any) {
				if r[2] != nil || r[8] != nil {
					t.Fatalf("received %v extra %v", r[2], r[8])
				}
			}},
		{"long message cut on a character", protocol.Event{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, Message: strings.Repeat("ü", 600)},
			func(t *testing.T, r []any, extra map[string]any) {
				m := r[7].(string)
				if len(m) != 1000 || !utf8.ValidString(m) || extra["message_bytes"] != 1200.0 {
					t.Fatalf("message %d bytes, extra %v", len(m), extra)
				}
			}},
		{"very long id hashed", protocol.Event{ID: protocol.ID{Node: strings.Repeat("n", 400), Seq: 1}, Received: recv},
			func(t *testing.T, r []any, extra map[string]any) {
				id := r[0].(string)
				if utf8.RuneCountInString(id) != 255 || !strings.HasPrefix(id, "nnnn") || id == rowID(protocol.ID{Node: strings.Repeat("n", 400), Seq: 2}) {
					t.Fatalf("id %q", id)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row, _, size := appendRow(nil, nil, &tc.ev, 1001)
			if len(row) != numColumns {
				t.Fatalf("%d columns", len(row))
			}
			if size < rowOverhead {
				t.Fatalf("size %d", size)
			}
			var extra map[string]any
			if row[8] != nil {
				if err := json.Unmarshal([]byte(row[8].(string)), &extra); err != nil {
					t.Fatalf("extra %q: %v", row[8], err)
				}
			}
			for i, v := range row {
				if s, ok := v.(string); ok && !utf8.ValidString(s) {
					t.Errorf("column %d not UTF-8: %q", i, s)
				}
			}
			tc.check(t, row, extra)
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n cr\r tab\t nul\x00 esc\x1b", "ünï 𝄞", "bad\xff\xc3", "\u2028<&>"} {
		b := protocol.AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); got != want && validUTF8(s) != got {
			t.Errorf("%q → %q", s, got)
		}
	}
}

func TestChunks(t *testing.T) {
	tests := []struct {
		sizes          []int
		maxRows, bytes int
		want           [][2]int
	}{
		{[]int{10, 10, 10, 10, 10}, 2, 1000, [][2]int{{0, 2}, {2, 4}, {4, 5}}},
		{[]int{10, 10, 10, 10, 10}, 100, 25, [][2]int{{0, 2}, {2, 4}, {4, 5}}},
		{[]int{10, 100, 10}, 100, 50, [][2]int{{0, 1}, {1, 2}, {2, 3}}}, // an oversized row goes alone
		{nil, 10, 10, nil},
	}
	for _, tc := range tests {
		var got [][2]int
		chunks(tc.sizes, tc.maxRows, tc.bytes, func(i, j int) error { got = append(got, [2]int{i, j}); return nil })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("chunks(%v, %d, %d) = %v, want %v", tc.sizes, tc.maxRows, tc.bytes, got, tc.want)
		}
	}
}

func TestNewOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		err  string
	}{
		{Options{DSN: "root@tcp(127.0.0.1:1)/"}, "no database name"},
		{Options{DSN: "root@tcp(127.0.0.1:1)/lp", Table: "bad-name"}, "table"},
		{Options{DSN: "root@tcp(127.0.0.1:1)/lp", Table: "a.b.c"}, "table"},
		{Options{DSN: "::bad"}, "dsn"},
	} {
		_, err := newSink(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: err %v, want %q", tc.opts, err, tc.err)
		}
	}
	s, err := newSink(Options{DSN: "root@tcp(127.0.0.1:1)/lp", Table: "db.t_1", MaxRows: 100000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.table != "`db`.`t_1`" || s.maxRows*numColumns > maxPlaceholders {
		t.Fatalf("table %s maxRows %d", s.table, s.maxRows)
	}
	q := s.insertSQL(3)
	if strings.Count(q, "?") != 27 || !strings.HasSuffix(q, "ON DUPLICATE KEY UPDATE id=id") {
		t.Fatal(q)
	}
}

func testEvents(node string, from, n int) []protocol.Event {
	evs := make([]protocol.Event, n)
	recv := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range evs {
		seq := uint64(from + i)
		evs[i] = protocol.Event{
			ID: protocol.ID{Node: node, Seq: seq}, Received: recv.Add(time.Duration(seq) * time.Microsecond),
			Time: recv.Add(time.Duration(seq) * time.Millisecond), Host: "web-01.example.net", App: "nginx", ProcID: "1234",
			Severity: protocol.Severity(seq % 8), Facility: 16,
			Message:   "GET /index.html HTTP/1.1 200 5120 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" request_time=0.003",
			Transport: "tcp", Peer: "10.1.2.3:51514",
		}
	}
	return evs
}

func BenchmarkBuildRows(b *testing.B) {
	evs := testEvents("bench", 1, 1000)
	s, err := newSink(Options{DSN: "root@tcp(127.0.0.1:1)/lp", MaxRows: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.budget = defaultMaxBytes
	b.ReportAllocs()
	for b.Loop() {
		s.build(evs)
		_ = s.insertSQL(len(evs))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}
