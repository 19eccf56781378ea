package syslog

import (
	"bytes"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc5424"

	"logpacker/protocol"
)

func seeds(f *testing.F) {
	for _, file := range []string{"testdata/rfc5424.txt", "testdata/rfc3164.txt"} {
		for _, m := range readCorpus(f, file) {
			f.Add(m)
		}
	}
	f.Add([]byte("<13>1 - h a - - [x a=\"1\" a=\"2\"] m"))
	f.Add([]byte("5 <13>a\n<13>b\r\n\n1048576 <x"))
}

func FuzzParse(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 256
		p := newTestParser(max)
		var ev protocol.Event
		trunc := p.Parse(in, &ev)
		if len(ev.Message) > max {
			t.Fatalf("message %d bytes > max", len(ev.Message))
		}
		if trunc != (len(trimEOL(in)) > max) {
			t.Fatalf("truncated = %v for %d bytes", trunc, len(in))
		}
		if !ev.Facility.Valid() || !ev.Severity.Valid() {
			t.Fatalf("invalid pri %d.%d", ev.Facility, ev.Severity)
		}
		body := trimEOL(in)
		if trunc {
			body = cutUTF8(body, max)
		}
		// Accounting: a failed parse keeps the input whole; a successful one
		// keeps the message as a part of it.
		if ev.ParseErr != "" {
			if ev.Message != string(body) {
				t.Fatalf("parse error %q but message %q != input %q", ev.ParseErr, ev.Message, body)
			}
		} else if !bytes.Contains(body, []byte(ev.Message)) {
			t.Fatalf("message %q not from input %q", ev.Message, body)
		}
	})
}

func FuzzFramer(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 64
		fr := NewFramer(bytes.NewReader(in), max)
		total := 0
		for i := 0; ; i++ {
			b, info, err := fr.Next()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("err %v", err)
				}
				break
			}
			if len(b) > max {
				t.Fatalf("frame of %d bytes > max", len(b))
			}
			if info.Empty != (len(b) == 0) {
				t.Fatalf("Empty=%v for %q", info.Empty, b)
			}
			total += len(b) + info.Discarded
			if i > len(in)+1 {
				t.Fatalf("no progress: %d frames from %d bytes", i, len(in))
			}
		}
		if total > len(in) {
			t.Fatalf("framed %d bytes from %d", total, len(in))
		}
	})
}

// FuzzFastPathMatchesGoSyslog: whenever the hand-written RFC 5424 path accepts
// a message, the result equals the go-syslog path's, and go-syslog's own SD map.
func FuzzFastPathMatchesGoSyslog(f *testing.F) {
	seeds(f)
	f.Add([]byte(`<13>1 2026-11-24T11:00:00.123456-05:30 h a p m [x@1 a="\]\"\\" b="é"] m`))
	f.Fuzz(func(t *testing.T, in []byte) {
		in = trimEOL(in)
		pri, n, st := parsePRI(in)
		if st != priOK || len(in) < n+2 || in[n] != '1' || in[n+1] != ' ' {
			return
		}
		p := newTestParser(0)
		var fast, slow protocol.Event
		if !p.fast5424(in, pri, n, &fast) {
			return
		}
		p.slow5424(in, pri, n, &slow)
		if slow.ParseErr != "" {
			t.Fatalf("fast path accepted %q, go-syslog: %s", in, slow.ParseErr)
		}
		if !fast.Time.Equal(slow.Time) || fast.Time.IsZero() != slow.Time.IsZero() {
			t.Fatalf("%q: time %v vs %v", in, fast.Time, slow.Time)
		}
		_, fo := fast.Time.Zone()
		_, so := slow.Time.Zone()
		if fo != so {
			t.Fatalf("%q: offset %d vs %d", in, fo, so)
		}
		fast.Time, slow.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %+v\nslow %+v", in, fast, slow)
		}
		m, _ := rfc5424.NewMachine().Parse(in)
		gm := map[string]map[string]string{}
		if sd := m.(*rfc5424.SyslogMessage).StructuredData; sd != nil {
			gm = *sd
		}
		fm := map[string]map[string]string{}
		for _, el := range fast.SD {
			fm[el.ID] = map[string]string{}
			for _, p := range el.Params {
				fm[el.ID][p.Name] = p.Value
			}
		}
		if !reflect.DeepEqual(fm, gm) {
			t.Fatalf("%q: sd %v vs go-syslog %v", in, fm, gm)
		}
	})
}
