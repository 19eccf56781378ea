package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleEvent() Event {
	return Event{
		ID:       ID{Node: "edge-1", Seq: 42},
		Received: time.Date(2026, 11, 24, 11, 0, 0, 123456789, time.UTC),
		Time:     time.Date(2026, 11, 24, 12, 0, 0, 5000, time.FixedZone("", 3600)),
		Facility: FacLocal4, Severity: SevWarning,
		Host: "web-1", App: "nginx", ProcID: "1234", MsgID: "ACCESS",
		Message: "GET /index.html 200 \"quoted\" <tag> & ünïcode \u2028",
		SD: []SDElement{{ID: "meta@32473", Params: []SDParam{{"k", "v ] \" \\"}, {"a", ""}}},
			{ID: "timeQuality", Params: []SDParam{{"tzKnown", "1"}}}},
		Tags:      []string{"web", "truncated"},
		Fields:    map[string]string{"b": "2", "a": "1"},
		Peer:      "127.0.0.1:5555",
		Transport: "tcp",
		Hops:      2,
		Count:     3,
		ParseErr:  "",
	}
}

func equalEvents(t *testing.T, got, want Event) {
	t.Helper()
	if !got.Time.Equal(want.Time) || !got.Received.Equal(want.Received) {
		t.Fatalf("times: got %v / %v, want %v / %v", got.Time, got.Received, want.Time, want.Received)
	}
	_, go1 := got.Time.Zone()
	_, wo := want.Time.Zone()
	if go1 != wo {
		t.Fatalf("zone offset %d, want %d", go1, wo)
	}
	got.Time, want.Time, got.Received, want.Received = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, ev := range []Event{sampleEvent(), {}, {Message: "only", ParseErr: "bad"}, {ID: ID{Node: "a:b", Seq: 1<<64 - 1}}} {
		b := ev.AppendBinary(nil)
		got, err := DecodeEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		equalEvents(t, got, ev)
		if b2 := got.AppendBinary(nil); string(b2) != string(b) {
			t.Fatalf("re-encoding differs")
		}
	}
}

func TestBinaryMalformed(t *testing.T) {
	good := sampleEvent()
	enc := good.AppendBinary(nil)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"short header", []byte{1, 0}, "truncated"},
		{"unknown version", append([]byte{9}, enc[1:]...), "unknown version 9"},
		{"unknown flag", append([]byte{1, 0x80}, enc[2:]...), "unknown flags"},
		{"bad facility", append([]byte{1, 0, 99}, enc[3:]...), "bad facility"},
		{"bad severity", append([]byte{1, 0, 1, 8}, enc[4:]...), "bad facility 1 or severity 8"},
		{"cut in the middle", enc[:len(enc)/2], "truncated"},
		{"cut by one", enc[:len(enc)-1], ""},
		{"trailing byte", append(append([]byte{}, enc...), 0), "trailing bytes"},
		{"huge string length", []byte{1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "exceeds"},
		{"varint overflow", []byte{1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "overflows"},
		{"absurd count", append((&Event{}).AppendBinary(nil)[:len((&Event{}).AppendBinary(nil))-3], 0xff, 0x7f, 0, 0), "count"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeEvent(c.in)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.HasPrefix(err.Error(), "protocol: decode event: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to mention %q", err, c.want)
			}
			if c.want == "truncated" && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %q does not wrap ErrTruncated", err)
			}
		})
	}
}

func TestJSONForm(t *testing.T) {
	ev := sampleEvent()
	got := string(ev.AppendJSON(nil))
	want := `{"id":"edge-1:42","received":"2026-11-24T11:00:00.123456789Z","time":"2026-11-24T12:00:00.000005000+01:00",` +
		`"facility":"local4","severity":"warning","host":"web-1","app":"nginx","procid":"1234","msgid":"ACCESS",` +
		`"message":"GET /index.html 200 \"quoted\" \u003ctag\u003e \u0026 ünïcode \u2028",` +
		`"sd":{"meta@32473":{"k":"v ] \" \\","a":""},"timeQuality":{"tzKnown":"1"}},"tags":["web","truncated"],` +
		`"fields":{"a":"1","b":"2"},"transport":"tcp","peer":"127.0.0.1:5555","hops":2,"count":3}`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("not valid JSON")
	}
	var back Event
	if err := back.UnmarshalJSON([]byte(got)); err != nil {
		t.Fatal(err)
	}
	equalEvents(t, back, ev)

	// no time, a parse error, invalid UTF-8, control characters
	e2 := Event{Message: "raw \xff\x00\x1f line", ParseErr: "expecting a priority value"}
	j := string(e2.AppendJSON(nil))
	if strings.Contains(j, `"time"`) || !strings.Contains(j, `"parse_error":"expecting a priority value"`) ||
		!strings.Contains(j, `"message":"raw \ufffd\u0000\u001f line"`) || !strings.Contains(j, `"count":1`) {
		t.Fatalf("got %s", j)
	}
	if !json.Valid([]byte(j)) {
		t.Fatal("not valid JSON")
	}
	// agree with encoding/json's escaping on awkward strings
	for _, s := range []string{"\u2029", "a\tb\nc\r", "\"\\/", "\xed\xa0\x80", "日本"} {
		ours := appendQuoted(nil, s)
		std, _ := json.Marshal(s)
		if string(ours) != string(std) {
			t.Errorf("escape %q: ours %s, encoding/json %s", s, ours, std)
		}
	}
}

func TestJSONMalformed(t *testing.T) {
	cases := map[string]string{
		"not json":        `{`,
		"unknown key":     `{"id":"a:1","colour":"red"}`,
		"bad id":          `{"id":"nocolon"}`,
		"bad seq":         `{"id":"a:-1"}`,
		"bad facility":    `{"facility":"kitchen"}`,
		"bad severity":    `{"severity":"meh"}`,
		"bad time":        `{"time":"yesterday"}`,
		"sd not object":   `{"sd":[1]}`,
		"sd param number": `{"sd":{"x":{"a":1}}}`,
		"trailing":        `{} {}`,
		"hops overflow":   `{"hops":300}`,
	}
	for name, in := range cases {
		var ev Event
		if err := ev.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%s: no error for %s", name, in)
		}
	}
}

// TestParseID: IDs are split at the last ':'; the origin, "<node>" or
// "<node>.<epoch>" (Origin), may hold '.' (node IDs may) and ':'. Every
// valid ID goes through String, JSON and the binary form unchanged.
func TestParseID(t *testing.T) {
	valid := []struct {
		in   string
		want ID
	}{
		{"leaf1:20", ID{"leaf1", 20}},                                     // no epoch: a WAL from before epochs
		{"leaf1.3f9a2c01:20", ID{"leaf1.3f9a2c01", 20}},                   // node.epoch
		{"web.example.com.3f9a2c01:1", ID{"web.example.com.3f9a2c01", 1}}, // a node ID with dots
		{"web.example.com:7", ID{"web.example.com", 7}},
		{"host:with:colons:77", ID{"host:with:colons", 77}},
		{".3f9a2c01:5", ID{".3f9a2c01", 5}}, // `logpacker wal dump`: the node left out
		{":5", ID{"", 5}},
		{"n:18446744073709551615", ID{"n", 1<<64 - 1}},
	}
	for _, c := range valid {
		id, err := ParseID(c.in)
		if err != nil || id != c.want || id.String() != c.in || string(id.AppendText(nil)) != c.in {
			t.Errorf("ParseID(%q) = %+v, %v; want %+v and the same text back", c.in, id, err, c.want)
			continue
		}
		ev := Event{ID: id}
		var fromJSON, fromBinary Event
		if err := fromJSON.UnmarshalJSON(ev.AppendJSON(nil)); err != nil || fromJSON.ID != id {
			t.Errorf("%q through JSON: %+v, %v", c.in, fromJSON.ID, err)
		}
		if err := fromBinary.UnmarshalBinary(ev.AppendBinary(nil)); err != nil || fromBinary.ID != id {
			t.Errorf("%q through the binary form: %+v, %v", c.in, fromBinary.ID, err)
		}
	}
	for _, in := range []string{"", "leaf1", "leaf1.3f9a2c01", "leaf1:", "leaf1:x", "leaf1:-1", "leaf1: 1",
		"leaf1:20.3f9a2c01", "leaf1:18446744073709551616"} {
		if id, err := ParseID(in); err == nil {
			t.Errorf("ParseID(%q) = %+v; want an error", in, id)
		}
	}
}

func TestOrigin(t *testing.T) {
	for _, c := range []struct{ node, epoch, want string }{
		{"leaf1", "3f9a2c01", "leaf1.3f9a2c01"},
		{"leaf1", "", "leaf1"},
		{"web.example.com", "00000000", "web.example.com.00000000"},
	} {
		if got := Origin(c.node, c.epoch); got != c.want {
			t.Errorf("Origin(%q, %q) = %q, want %q", c.node, c.epoch, got, c.want)
		}
	}
}

func TestIDAndKeywords(t *testing.T) {
	id, err := ParseID("host:with:colons:77")
	if err != nil || id.Node != "host:with:colons" || id.Seq != 77 || id.String() != "host:with:colons:77" {
		t.Fatalf("%v %v", id, err)
	}
	for f := Facility(0); f < 24; f++ {
		if g, err := ParseFacility(f.String()); err != nil || g != f {
			t.Errorf("facility %d", f)
		}
	}
	for s := Severity(0); s < 8; s++ {
		if g, err := ParseSeverity(s.String()); err != nil || g != s {
			t.Errorf("severity %d", s)
		}
	}
	if Facility(24).Valid() || Severity(8).Valid() || Facility(30).String() != "facility(30)" {
		t.Error("out of range values")
	}
}

func FuzzDecodeEvent(f *testing.F) {
	ev := sampleEvent()
	f.Add(ev.AppendBinary(nil))
	f.Add((&Event{}).AppendBinary(nil))
	f.Add([]byte{1, 3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvent(b)
		var shared Event
		serr := shared.UnmarshalBinaryShared(bytes.Clone(b))
		if (err == nil) != (serr == nil) {
			t.Fatalf("copying decode: %v, shared decode: %v", err, serr)
		}
		if err != nil {
			return
		}
		if string(shared.AppendBinary(nil)) != string(ev.AppendBinary(nil)) {
			t.Fatalf("shared decode differs from copying decode")
		}
		// whatever decodes must re-encode to the same bytes (canonical form)
		// except Fields order, which the encoder sorts
		again, err := DecodeEvent(ev.AppendBinary(nil))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if string(again.AppendBinary(nil)) != string(ev.AppendBinary(nil)) {
			t.Fatalf("not stable")
		}
		if !json.Valid(ev.AppendJSON(nil)) {
			t.Fatalf("invalid JSON for %q", b)
		}
	})
}

func FuzzEventJSON(f *testing.F) {
	ev := sampleEvent()
	f.Add(ev.AppendJSON(nil))
	f.Add([]byte(`{"id":"a:1","sd":{"x":{"k":"v"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if err := ev.UnmarshalJSON(b); err != nil {
			return
		}
		out := ev.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		var back Event
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("our own JSON does not read back: %v: %s", err, out)
		}
	})
}

var sink []byte

func BenchmarkEncodeBinary(b *testing.B) {
	ev := sampleEvent()
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.AppendBinary(nil))))
	for b.Loop() {
		sink = ev.AppendBinary(sink[:0])
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	ev := sampleEvent()
	enc := ev.AppendBinary(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		var e Event
		if err := e.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	ev := sampleEvent()
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.AppendJSON(nil))))
	for b.Loop() {
		sink = ev.AppendJSON(sink[:0])
	}
}

// FuzzAppendRecordWithID: rewriting the ID of an encoded event equals
// decoding it, setting the ID (when it had none) and encoding it again; bad
// input is an error, never a panic.
func FuzzAppendRecordWithID(f *testing.F) {
	ev := Event{Host: "h", App: "a", Message: "m", Count: 1, Severity: SevInfo, Facility: FacUser}
	f.Add(ev.AppendBinary(nil), "leaf-1", uint64(42))
	ev.ID = ID{Node: "origin", Seq: 7}
	f.Add(ev.AppendBinary(nil), "leaf-1", uint64(1))
	f.Add([]byte{1, 0, 0, 0}, "n", uint64(1))
	f.Add([]byte{1, 0, 0, 0, 0, 1, 0x80}, "n", uint64(1))
	f.Fuzz(func(t *testing.T, rec []byte, node string, seq uint64) {
		id := ID{Node: node, Seq: seq}
		got, err := AppendRecordWithID([]byte("prefix"), rec, id)
		var e Event
		if derr := e.UnmarshalBinary(rec); derr != nil {
			return // the header may still have been good: nothing more to say
		}
		if err != nil {
			t.Fatalf("decodable record refused: %v", err)
		}
		if e.ID.Node == "" {
			e.ID = id
		}
		if string(got[:len("prefix")]) != "prefix" {
			t.Fatalf("dst overwritten: %q", got)
		}
		var back Event
		if err := back.UnmarshalBinary(got[len("prefix"):]); err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("rewritten record decodes to %+v (%v), want %+v", back, err, e)
		}
	})
}

// BenchmarkForwardRecord: what a relay does per event to send on a WAL
// record, both ways: the ID rewritten in place (what it does) against a
// decode and an encode.
func BenchmarkForwardRecord(b *testing.B) {
	ev := sampleEvent()
	ev.ID = ID{}
	rec := ev.AppendBinary(nil)
	id := ID{Node: "mid-1", Seq: 123456789}
	b.Run("rewrite-id", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			var err error
			if sink, err = AppendRecordWithID(sink[:0], rec, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			var e Event
			if err := e.UnmarshalBinaryShared(rec); err != nil {
				b.Fatal(err)
			}
			e.ID = id
			sink = e.AppendBinary(sink[:0])
		}
	})
}
