package syslog

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type frame struct {
	data string
	info FrameInfo
}

func readAll(t *testing.T, r io.Reader, max int) ([]frame, error) {
	t.Helper()
	f := NewFramer(r, max)
	var out []frame
	for i := 0; i < 10000; i++ {
		b, info, err := f.Next()
		if err != nil {
			return out, err
		}
		out = append(out, frame{string(b), info})
	}
	t.Fatal("framer does not terminate")
	return nil, nil
}

func TestFramer(t *testing.T) {
	oc := FrameInfo{OctetCounted: true}
	big := strings.Repeat("a", 1<<20)
	cases := []struct {
		name string
		in   string
		max  int
		want []frame
	}{
		{"lf", "<13>a\n<13>b\r\n<13>c", 0, []frame{{"<13>a", FrameInfo{}}, {"<13>b", FrameInfo{}}, {"<13>c", FrameInfo{Partial: true}}}},
		{"octet", "5 <13>a6 <13>bc", 0, []frame{{"<13>a", oc}, {"<13>bc", oc}}},
		{"octet with embedded LF", "8 <13>a\nbc", 0, []frame{{"<13>a\nbc", oc}}},
		{"mixed per frame", "<13>lf\n5 <13>a<13>lf2\n", 0, []frame{{"<13>lf", FrameInfo{}}, {"<13>a", oc}, {"<13>lf2", FrameInfo{}}}},
		{"LF after octet frame skipped", "5 <13>a\n5 <13>b\n", 0, []frame{{"<13>a", oc}, {"<13>b", oc}}},
		{"count not followed by <", "12 apples\n", 0, []frame{{"12 apples", FrameInfo{}}}},
		{"count with leading zero", "05 <13>a\n", 0, []frame{{"05 <13>a", FrameInfo{}}}},
		{"ten digit count", "1234567890 <13>a\n", 0, []frame{{"1234567890 <13>a", FrameInfo{}}}},
		{"huge count is text", "999999999 <13>a\n<13>b\n", 0, []frame{{"999999999 <13>a", FrameInfo{}}, {"<13>b", FrameInfo{}}}},
		{"http request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n<13>ok\n", 0,
			[]frame{{"GET / HTTP/1.1", FrameInfo{}}, {"Host: x", FrameInfo{}}, {"", FrameInfo{Empty: true}}, {"<13>ok", FrameInfo{}}}},
		{"empty lines", "\n\r\n<13>x\n", 0, []frame{{"", FrameInfo{Empty: true}}, {"", FrameInfo{Empty: true}}, {"<13>x", FrameInfo{}}}},
		{"invalid utf8", "<13>\xff\xfe\n", 0, []frame{{"<13>\xff\xfe", FrameInfo{}}}},
		{"eof mid octet frame", "10 <13>abc", 0, []frame{{"<13>abc", FrameInfo{OctetCounted: true, Partial: true}}}},
		{"eof after header", "10 <", 0, []frame{{"<", FrameInfo{OctetCounted: true, Partial: true}}}},
		{"digits then eof", "123", 0, []frame{{"123", FrameInfo{Partial: true}}}},
		{"long line", big + "\n<13>next\n", 100, []frame{{big[:100], FrameInfo{Truncated: true, Discarded: 1<<20 - 100}}, {"<13>next", FrameInfo{}}}},
		{"long line CRLF", big + "\r\n<13>next\n", 100, []frame{{big[:100], FrameInfo{Truncated: true, Discarded: 1<<20 - 100}}, {"<13>next", FrameInfo{}}}},
		{"line a bit over max", strings.Repeat("b", 150) + "\n", 100, []frame{{strings.Repeat("b", 100), FrameInfo{Truncated: true, Discarded: 50}}}},
		{"line exactly max", strings.Repeat("b", 100) + "\r\n", 100, []frame{{strings.Repeat("b", 100), FrameInfo{}}}},
		{"long line no LF", big, 100, []frame{{big[:100], FrameInfo{Truncated: true, Partial: true, Discarded: 1<<20 - 100}}}},
		{"octet over max", "1048576 <" + big[1:] + "5 <13>n", 100, []frame{{"<" + big[1:100], FrameInfo{OctetCounted: true, Truncated: true, Discarded: 1<<20 - 100}}, {"<13>n", oc}}},
		{"octet over max eof", "1048576 <" + big[1:1000], 100, []frame{{"<" + big[1:100], FrameInfo{OctetCounted: true, Truncated: true, Partial: true, Discarded: 900}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = strings.NewReader(c.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got, err := readAll(t, r, c.max)
				if err != io.EOF {
					t.Errorf("err = %v, want io.EOF", err)
				}
				if len(got) != len(c.want) {
					t.Fatalf("oneByte=%v: %d frames, want %d: %.200v", oneByte, len(got), len(c.want), got)
				}
				for i := range got {
					if got[i] != c.want[i] {
						t.Errorf("oneByte=%v frame %d: %.80q %+v, want %.80q %+v", oneByte, i, got[i].data, got[i].info, c.want[i].data, c.want[i].info)
					}
				}
			}
		})
	}
}

func TestFramerReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("<13>a\n<13>part"), iotest.ErrReader(boom))
	f := NewFramer(r, 0)
	if b, _, err := f.Next(); err != nil || string(b) != "<13>a" {
		t.Fatalf("first: %q %v", b, err)
	}
	if b, info, err := f.Next(); err != nil || string(b) != "<13>part" || !info.Partial {
		t.Fatalf("partial: %q %+v %v", b, info, err)
	}
	if _, _, err := f.Next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

// TestFramerDoesNotWait: a short LF line starting with digits must be returned
// without waiting for more bytes than it has.
func TestFramerDoesNotWait(t *testing.T) {
	pr, pw := io.Pipe()
	f := NewFramer(pr, 0)
	go pw.Write([]byte("12\n"))
	b, _, err := f.Next()
	if err != nil || string(b) != "12" {
		t.Fatalf("%q %v", b, err)
	}
	pw.Close()
}

func TestFramerBuffered(t *testing.T) {
	f := NewFramer(bytes.NewReader([]byte("<13>a\n<13>b\n")), 0)
	f.Next()
	if f.Buffered() != 6 {
		t.Errorf("Buffered = %d, want 6", f.Buffered())
	}
}
