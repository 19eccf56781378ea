package filetail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"logpacker/protocol"
)

// FuzzLines: any bytes, read in chunks of any size, make the same events
// as splitting them at '\n' (empty lines skipped, '\r' before '\n' taken
// off, lines cut at MaxLineBytes and tagged), and each event's offset and
// end point at its line in the data.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\nccc"), uint8(1), uint8(8))
	f.Add([]byte("x\n"), uint8(0), uint8(1))
	f.Add(bytes.Repeat([]byte("long line "), 20), uint8(3), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, chunk, maxLine uint8) {
		max := int(maxLine) + 1
		s := &Source{o: Options{Name: "f", MaxLineBytes: max}}
		st := &stream{path: "/p"}
		tr := &tracked{}
		step := int(chunk) + 1
		for i := 0; i < len(data); i += step {
			s.consume(st, tr, data[i:min(len(data), i+step)])
		}
		var want []string
		var wantTrunc []bool
		rest := data
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			l := rest[:i]
			trunc := len(l) > max
			if trunc {
				l = l[:max]
			}
			if len(l) > 0 && l[len(l)-1] == '\r' {
				l = l[:len(l)-1]
			}
			if len(l) > 0 {
				want = append(want, string(l))
				wantTrunc = append(wantTrunc, trunc)
			}
			rest = rest[i+1:]
		}
		if len(s.b.evs) != len(want) {
			t.Fatalf("%d events, want %d", len(s.b.evs), len(want))
		}
		for i, ev := range s.b.evs {
			if ev.Message != want[i] || wantTrunc[i] != (len(ev.Tags) > 0 && ev.Tags[len(ev.Tags)-1] == TruncatedTag) {
				t.Fatalf("event %d: %q, want %q", i, ev.Message, want[i])
			}
			off, _ := strconv.Atoi(ev.Fields[FieldOffset])
			end, _ := strconv.Atoi(ev.Fields[FieldEnd])
			if off < 0 || end > len(data) || off >= end || data[end-1] != '\n' || !bytes.HasPrefix(data[off:end], []byte(ev.Message)) {
				t.Fatalf("event %d: offsets %d-%d do not point at %q", i, off, end, ev.Message)
			}
		}
	})
}

// FuzzCheckpoint: any state file is refused with an error or taken, and a
// source started on it neither panics nor fails.
func FuzzCheckpoint(f *testing.F) {
	f.Add([]byte(`{"version":1,"streams":{"/x/a.log":{"seen":"2026-12-02T00:00:00Z","files":[{"dev":1,"ino":2,"fp":3,"fplen":4,"off":5,"role":"cur"},{"dev":1,"ino":9,"fp":3,"fplen":1024,"off":99,"role":"old"}]}}}`))
	f.Add([]byte(`{"streams":null}`))
	f.Add([]byte(`{"streams":{"":{"files":[{"off":-5,"fplen":-1,"role":"done"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a.log"), []byte("line\n"), 0o644)
		st := filepath.Join(dir, "state.json")
		os.WriteFile(st, data, 0o644)
		s, err := New(Options{Name: "f", Paths: []string{filepath.Join(dir, "*.log")}, StateFile: st, PollInterval: time.Millisecond})
		if err != nil {
			return
		}
		if _, err := s.cycle(context.Background(), func(context.Context, []protocol.Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
		s.closeAll()
	})
}

// Recovered.Note and the file_id parser take any fields.
func FuzzRecovered(f *testing.F) {
	f.Add("1:2:ff:1024:1796229369000000000", "100", "3:4:5:6:0,x")
	f.Add(":::", "-1", "")
	f.Fuzz(func(t *testing.T, id, end, started string) {
		var r Recovered
		r.Note(map[string]string{FieldFileID: id, FieldEnd: end, FieldStartedIn: started, FieldPath: "/p"}, time.Now())
		s := &Source{o: Options{Recovered: r}, streams: map[string]*stream{}, rec: map[[2]uint64][]recEnd{}}
		for id, e := range r.End {
			s.noteRecovered(id, e, false)
			s.seedRecovered(id, e)
		}
	})
}
