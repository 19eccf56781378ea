package relp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// What librelp 1.11.0 (rsyslog 8.2302 omrelp) sent to a test listener.
const librelpOpen = "1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n"

func TestReadFrames(t *testing.T) {
	in := librelpOpen +
		"2 syslog 40 <13>2026-01-01T00:00:00Z h app hello one\n" +
		"3 syslog 1 x\n" +
		"999999999 close 0\n" +
		"04 SysLog 003 a\nb\n" // leading zeros are digits; letters of either case
	want := []Frame{
		{1, CmdOpen, []byte("relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog")},
		{2, CmdSyslog, []byte("<13>2026-01-01T00:00:00Z h app hello one")},
		{3, CmdSyslog, []byte("x")},
		{999999999, CmdClose, nil},
	}
	r := NewReader(strings.NewReader(in), 0)
	for i, w := range want {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Txnr != w.Txnr || f.Command != w.Command || !bytes.Equal(f.Data, w.Data) {
			t.Fatalf("frame %d: got %d %q %q, want %d %q %q", i, f.Txnr, f.Command, f.Data, w.Txnr, w.Command, w.Data)
		}
	}
	// "SysLog" is letters, but not a command we know
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), `unknown command "SysLog"`) {
		t.Fatalf("mixed-case command: %v", err)
	}
	r = NewReader(strings.NewReader(librelpOpen), 0)
	r.Next()
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("clean end: %v, want io.EOF", err)
	}
	if r.Offset() != int64(len(librelpOpen)) {
		t.Fatalf("offset %d, want %d", r.Offset(), len(librelpOpen))
	}
}

// One byte per Read: every state of the parser meets a buffer boundary.
func TestReadFramesOneByteReads(t *testing.T) {
	var in []byte
	for i := 1; i <= 50; i++ {
		in = AppendFrame(in, i, CmdSyslog, bytes.Repeat([]byte{'a' + byte(i%26)}, i*3))
	}
	r := NewReader(iotest.OneByteReader(bytes.NewReader(in)), 0)
	for i := 1; i <= 50; i++ {
		f, err := r.Next()
		if err != nil || f.Txnr != i || len(f.Data) != i*3 || f.Data[0] != 'a'+byte(i%26) {
			t.Fatalf("frame %d: %+v %v", i, f, err)
		}
	}
}

// DATA larger than the read buffer is read into a buffer of its own.
func TestReadBigFrame(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB
	in := AppendFrame(nil, 7, CmdSyslog, data)
	in = AppendFrame(in, 8, CmdSyslog, []byte("next"))
	r := NewReader(bytes.NewReader(in), 2<<20)
	f, err := r.Next()
	if err != nil || !bytes.Equal(f.Data, data) {
		t.Fatalf("big frame: %v (len %d)", err, len(f.Data))
	}
	if f, err = r.Next(); err != nil || string(f.Data) != "next" {
		t.Fatalf("after big frame: %+v %v", f, err)
	}
	// and its trailer is checked
	bad := AppendFrame(nil, 1, CmdSyslog, data)
	bad[len(bad)-1] = 'X'
	if _, err := NewReader(bytes.NewReader(bad), 2<<20).Next(); err == nil || !strings.Contains(err.Error(), "expected LF after 1000000 bytes") {
		t.Fatalf("big frame without trailer: %v", err)
	}
}

func TestMalformedFrames(t *testing.T) {
	cases := []struct {
		name, in string
		field    string // FrameError.Field
		want     string // substring of the error
		eof      bool   // wraps io.ErrUnexpectedEOF
		tooLarge bool   // wraps ErrDataTooLarge
	}{
		{"no txnr", " syslog 1 x\n", "txnr", "expected a digit, got ' '", false, false},
		{"letter txnr", "x syslog 1 x\n", "txnr", "expected a digit, got 'x'", false, false},
		{"negative txnr", "-1 syslog 1 x\n", "txnr", "expected a digit, got '-'", false, false},
		{"txnr 0", "0 syslog 1 x\n", "txnr", "0 is reserved for hints", false, false},
		{"txnr 10 digits", "1234567890 syslog 1 x\n", "txnr", "more than 9 digits", false, false},
		{"txnr then tab", "1\tsyslog 1 x\n", "txnr", "expected a space after the transaction number, got byte 0x09", false, false},
		{"txnr then letter", "12a syslog 1 x\n", "txnr", "got 'a'", false, false},
		{"empty command", "1  1 x\n", "command", "empty", false, false},
		{"digit in command", "1 sys1og 1 x\n", "command", "expected a letter or a space, got '1'", false, false},
		{"command 33 letters", "1 " + strings.Repeat("a", 33) + " 1 x\n", "command", "longer than 32 letters", false, false},
		{"unknown command", "1 eventlog 1 x\n", "command", `unknown command "eventlog"`, false, false},
		{"command at LF", "1 syslog\n", "command", "expected a letter or a space, got byte 0x0a", false, false},
		{"no datalen", "1 close \n", "datalen", "expected a digit, got byte 0x0a", false, false},
		{"non-digit datalen", "1 syslog x1 a\n", "datalen", "expected a digit, got 'x'", false, false},
		{"datalen 10 digits", "1 syslog 1234567890 a\n", "datalen", "more than 9 digits", false, false},
		{"datalen then letter", "1 syslog 5x hello\n", "datalen", "expected a space before 5 bytes of data, got 'x'", false, false},
		{"datalen without data", "1 syslog 5\n", "datalen", "expected a space before 5 bytes of data, got byte 0x0a", false, false},
		{"datalen 0 with space", "1 close 0 \n", "trailer", "DATALEN is 0, so LF must follow it; got ' '", false, false},
		{"datalen too big", "1 syslog 200000 x\n", "datalen", "200000 bytes of data, more than the limit of 131072", false, true},
		{"datalen 999999999", "1 syslog 999999999 x\n", "datalen", "more than the limit", false, true},
		{"data longer than datalen", "1 syslog 3 abcd\n", "trailer", "expected LF after 3 bytes of data, got 'd'", false, false},
		{"data shorter than datalen", "1 syslog 5 abc\n2 syslog 1 x\n", "trailer", "expected LF after 5 bytes of data, got ' '", false, false},
		{"CRLF trailer", "1 syslog 3 abc\r\n", "trailer", "got byte 0x0d", false, false},
		{"missing trailer at end", "1 syslog 3 abc", "data", "stream ended inside a frame", true, false},
		{"truncated in txnr", "12", "txnr", "stream ended inside a frame (after 2 bytes of it)", true, false},
		{"truncated after txnr", "12 ", "command", "stream ended", true, false},
		{"truncated in command", "12 sys", "command", "stream ended", true, false},
		{"truncated in datalen", "12 syslog 1", "datalen", "stream ended", true, false},
		{"truncated in data", "12 syslog 10 abc", "data", "stream ended", true, false},
		{"truncated before trailer of empty", "1 close 0", "datalen", "stream ended", true, false},
		{"binary garbage", "\x00\xff\x16\x03\x01", "txnr", "expected a digit, got byte 0x00", false, false},
		{"TLS client hello", "\x16\x03\x01\x02\x00\x01", "txnr", "got byte 0x16", false, false},
		{"HTTP request", "GET / HTTP/1.1\r\n", "txnr", "got 'G'", false, false},
		{"plain syslog", "<13>Nov 24 10:00:00 host app: hi\n", "txnr", "got '<'", false, false},
		{"octet-counted syslog", "30 <13>1 2026-11-24T10:00:00Z h\n", "command", "got '<'", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(c.in), 0).Next()
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: error %v (%T) is not a *FrameError", c.in, err, err)
			}
			if fe.Field != c.field || !strings.Contains(err.Error(), c.want) || fe.Offset != 0 {
				t.Errorf("%q: got field %q offset %d error %q; want field %q, error containing %q", c.in, fe.Field, fe.Offset, err, c.field, c.want)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) != c.eof || errors.Is(err, ErrDataTooLarge) != c.tooLarge {
				t.Errorf("%q: wraps EOF %v, too large %v; want %v, %v", c.in, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrDataTooLarge), c.eof, c.tooLarge)
			}
			if !strings.HasPrefix(err.Error(), "relp: bad frame at byte 0: "+c.field+": ") {
				t.Errorf("error %q does not say where and what", err)
			}
		})
	}
	// the offset names the frame, not the stream's start
	r := NewReader(strings.NewReader("1 syslog 1 a\n2 syslog x\n"), 0)
	r.Next()
	if _, err := r.Next(); err == nil || !strings.HasPrefix(err.Error(), "relp: bad frame at byte 13: datalen:") {
		t.Fatalf("second frame: %v", err)
	}
	// hints are accepted when asked for (a client reading a server)
	r = NewReader(strings.NewReader("0 serverclose 0\n"), 0)
	r.Hints = true
	if f, err := r.Next(); err != nil || f.Txnr != 0 || f.Command != CmdServerClose {
		t.Fatalf("hint: %+v %v", f, err)
	}
}

// Errors of the underlying reader are returned as they are, not as frame
// errors, wherever they happen.
func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, prefix := range []string{"", "1", "1 ", "1 sys", "1 syslog 5", "1 syslog 5 ab", "1 syslog 5 abcde"} {
		r := NewReader(io.MultiReader(strings.NewReader(prefix), iotest.ErrReader(boom)), 0)
		_, err := r.Next()
		var fe *FrameError
		if err != boom || errors.As(err, &fe) {
			t.Errorf("after %q: %v, want boom", prefix, err)
		}
	}
}

func TestAppendRoundTrip(t *testing.T) {
	var b []byte
	b = AppendOK(b, 42)
	b = AppendServerClose(b)
	b = AppendFrame(b, 7, CmdRsp, []byte("200 OK\nrelp_version=0"))
	if want := "42 rsp 6 200 OK\n0 serverclose 0\n7 rsp 21 200 OK\nrelp_version=0\n"; string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
	if n := testing.AllocsPerRun(100, func() { b = AppendOK(b[:0], 123456789) }); n != 0 {
		t.Errorf("AppendOK allocates %v times", n)
	}
}

func TestNextTxnrWraps(t *testing.T) {
	if nextTxnr(1) != 2 || nextTxnr(MaxTxnr-1) != MaxTxnr || nextTxnr(MaxTxnr) != 1 {
		t.Fatal("txnr sequence")
	}
}

func TestOffers(t *testing.T) {
	o, err := ParseOffers([]byte("relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n\nflag\nempty="))
	if err != nil {
		t.Fatal(err)
	}
	if len(o["relp_software"]) != 3 || o["relp_version"][0] != "0" || o["commands"][0] != "syslog" || o["flag"] != nil || o["empty"] != nil {
		t.Fatalf("%q", o)
	}
	rsp, err := negotiate(o, "logpacker")
	if err != nil || string(rsp) != "200 OK\nrelp_version=0\nrelp_software=logpacker\ncommands=syslog" {
		t.Fatalf("%q %v", rsp, err)
	}
	// a client offering the specification's version 1 gets 1; a future 7 gets 1
	for in, want := range map[string]string{"1": "relp_version=1", "7": "relp_version=1"} {
		rsp, err := negotiate(Offers{"relp_version": {in}, "commands": {"syslog"}}, "x")
		if err != nil || !bytes.Contains(rsp, []byte(want+"\n")) {
			t.Errorf("version %s: %q %v", in, rsp, err)
		}
	}
	bad := map[string]string{
		"commands=syslog":                               "relp_version offer is missing",
		"relp_version\ncommands=syslog":                 "relp_version offer is missing",
		"relp_version=x\ncommands=syslog":               `relp_version "x" is not a version number`,
		"relp_version=0":                                "does not offer the syslog command",
		"relp_version=0\ncommands=eventlog,foo":         "(commands=eventlog,foo)",
		"=1\nrelp_version=0":                            "the name must be 1 to 32 bytes",
		strings.Repeat("n", 33) + "=1":                  "the name must be 1 to 32 bytes",
		"relp_version=0\nx=" + strings.Repeat("v", 256): "longer than 255 bytes",
	}
	for in, want := range bad {
		o, err := ParseOffers([]byte(in))
		if err == nil {
			_, err = negotiate(o, "x")
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// FuzzRELPFrame feeds arbitrary bytes to the frame reader: it must never
// panic, every frame it returns must obey the grammar and re-encode to the
// bytes it was read from, and every error must be a FrameError or io.EOF.
func FuzzRELPFrame(f *testing.F) {
	f.Add([]byte(librelpOpen))
	f.Add([]byte("2 syslog 40 <13>2026-01-01T00:00:00Z h app hello one\n3 close 0\n"))
	f.Add([]byte("1 rsp 6 200 OK\n0 serverclose 0\n"))
	f.Add([]byte("1 syslog 5 ab\ncd\n"))
	f.Add([]byte("999999999 syslog 000000001 x\n"))
	f.Add([]byte("1234567890 syslog 1 x\n"))
	f.Add([]byte("1 syslog 1234567890 x\n"))
	f.Add([]byte("1 " + strings.Repeat("a", 33) + " 0\n"))
	f.Add([]byte("1 syslog 300 x\n"))
	f.Add([]byte("1 close 0 \n"))
	f.Add([]byte("1 syslog 3 abc"))
	f.Add([]byte("\x16\x03\x01\x02\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		hints := len(in) > 0 && in[0]&1 == 1
		r := NewReader(bytes.NewReader(in), 256)
		r.Hints = hints
		// the same input one byte per read: the byte-wise path must agree
		// with the buffered fast path on every frame and every error
		slow := NewReader(iotest.OneByteReader(bytes.NewReader(in)), 256)
		slow.Hints = hints
		var re []byte
		for {
			start := r.Offset()
			fr, err := r.Next()
			sf, serr := slow.Next()
			if fmt.Sprint(err) != fmt.Sprint(serr) || sf.Txnr != fr.Txnr || sf.Command != fr.Command || !bytes.Equal(sf.Data, fr.Data) {
				t.Fatalf("buffered and byte-wise reads differ: %+v %v / %+v %v", fr, err, sf, serr)
			}
			if err == io.EOF {
				if start != int64(len(in)) {
					t.Fatalf("EOF at %d of %d bytes", start, len(in))
				}
				break
			}
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) || fe.Offset != start || fe.Reason == "" {
					t.Fatalf("error %v (%T) at %d", err, err, start)
				}
				break
			}
			if fr.Txnr < 0 || fr.Txnr > MaxTxnr || (fr.Txnr == 0 && !r.Hints) || len(fr.Data) > 256 || intern([]byte(fr.Command)) != fr.Command {
				t.Fatalf("frame out of the grammar: %+v", fr)
			}
			// re-encoding gives the same frame (the input may differ only in
			// leading zeros and the case of the command)
			re = AppendFrame(re[:0], fr.Txnr, fr.Command, fr.Data)
			r2 := NewReader(bytes.NewReader(re), 256)
			r2.Hints = true
			fr2, err := r2.Next()
			if err != nil || fr2.Txnr != fr.Txnr || fr2.Command != fr.Command || !bytes.Equal(fr2.Data, fr.Data) {
				t.Fatalf("round trip of %+v: %+v %v", fr, fr2, err)
			}
			if got := r.Offset() - start; got < int64(len(re)) {
				t.Fatalf("frame %+v consumed %d bytes, its encoding is %d", fr, got, len(re))
			}
		}
		checkReady(t, in, hints)
	})
}

// errBlock stands for a read that would block: no more bytes yet.
var errBlock = errors.New("would block")

// checkReady: whenever Ready says yes, Next completes from what is
// buffered; whenever it says no, Next does not return a frame from what is
// buffered (so a server never blocks in a read with a whole frame unanswered).
func checkReady(t *testing.T, in []byte, hints bool) {
	r := NewReader(io.MultiReader(bytes.NewReader(in), iotest.ErrReader(errBlock)), 256)
	r.Hints = hints
	for {
		r.r.Peek(1) // what a read already brought in
		ready := r.Ready()
		_, err := r.Next()
		if ready && err == errBlock {
			t.Fatalf("Ready, but Next needed more bytes (at byte %d of %q)", r.start, in)
		}
		if !ready && err == nil {
			t.Fatalf("not Ready, but a whole frame was buffered (at byte %d of %q)", r.start, in)
		}
		if err != nil {
			return
		}
	}
}

func TestReady(t *testing.T) {
	whole := "2 syslog 5 hello\n3 close 0\n"
	for i := 0; i <= len(whole); i++ {
		checkReady(t, []byte(whole[:i]), false)
	}
	for _, in := range []string{"1 syslog 300 x", "12345678901", "1 " + strings.Repeat("a", 40), "1 syslog 1234567890",
		"1 close 0 ", "1 syslog 5 hello!", "x", "1 1", "0 syslog 1 x\n"} {
		checkReady(t, []byte(in), false)
	}
}

func benchStream(n int) []byte {
	msg := []byte("<134>1 2026-11-24T11:00:00.000Z loadhost bulk - - - seq=123456 padding-to-make-it-realistic-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	var b []byte
	for i := 1; i <= n; i++ {
		b = AppendFrame(b, i, CmdSyslog, msg)
	}
	return b
}

// BenchmarkReadFrame is the parser's hot path: one ~150-byte syslog frame.
func BenchmarkReadFrame(b *testing.B) {
	const n = 10000
	in := benchStream(n)
	rd := bytes.NewReader(in)
	r := NewReader(rd, 0)
	b.SetBytes(int64(len(in) / n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := r.Next()
		if err == io.EOF {
			rd.Reset(in)
			r = NewReader(rd, 0)
			f, err = r.Next()
		}
		if err != nil || f.Command != CmdSyslog {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendOK is the acknowledgement of one transaction.
func BenchmarkAppendOK(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendOK(buf[:0], i%MaxTxnr+1)
	}
}
