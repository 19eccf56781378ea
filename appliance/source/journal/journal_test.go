package journal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"logpacker/protocol"
)

// bin is a binary field in export format.
func bin(name string, v []byte) string {
	var sz [8]byte
	binary.LittleEndian.PutUint64(sz[:], uint64(len(v)))
	return name + "\n" + string(sz[:]) + string(v) + "\n"
}

var binValue = []byte{0, 1, 2, 0xff, 0xfe, '\n', 'x', 0x80}

func sample() string {
	return "__CURSOR=s=abc;i=1;b=def;m=1;t=2;x=3\n__REALTIME_TIMESTAMP=1764583200123456\n__MONOTONIC_TIMESTAMP=42\n" +
		"_BOOT_ID=def\nPRIORITY=3\nSYSLOG_FACILITY=4\nSYSLOG_IDENTIFIER=sshd\n_PID=1234\n_HOSTNAME=web-1\n" +
		"MESSAGE=Failed password for root\n_SYSTEMD_UNIT=ssh.service\n\n" +
		"__CURSOR=s=abc;i=2\n__REALTIME_TIMESTAMP=1764583200223456\n_COMM=cron\nSYSLOG_PID=77\n" +
		bin("MESSAGE", []byte("line one\nline two")) + bin("BLOB", binValue) + "TAG=a\nTAG=b\n\n"
}

func TestDecoderAndMapping(t *testing.T) {
	d := NewDecoder(strings.NewReader(sample()), 1<<20)
	var evs []protocol.Event
	for {
		f, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ToEvent(f))
	}
	if len(evs) != 2 {
		t.Fatalf("%d entries", len(evs))
	}
	e := evs[0]
	if e.Message != "Failed password for root" || e.Severity != protocol.SevErr || e.Facility != protocol.FacAuth || e.App != "sshd" ||
		e.ProcID != "1234" || e.Host != "web-1" || !e.Time.Equal(time.UnixMicro(1764583200123456)) ||
		e.Fields["__CURSOR"] != "s=abc;i=1;b=def;m=1;t=2;x=3" || e.Fields["_SYSTEMD_UNIT"] != "ssh.service" || e.Fields["_BOOT_ID"] != "def" {
		t.Errorf("%+v", e)
	}
	for _, k := range []string{"MESSAGE", "PRIORITY", "_HOSTNAME", "_PID", "SYSLOG_IDENTIFIER", "__REALTIME_TIMESTAMP"} {
		if _, ok := e.Fields[k]; ok {
			t.Errorf("%s is the event's and in fields too", k)
		}
	}
	e = evs[1]
	got, _ := base64.StdEncoding.DecodeString(e.Fields["BLOB.base64"])
	if e.Message != "line one\nline two" || e.App != "cron" || e.ProcID != "77" || !bytes.Equal(got, binValue) ||
		e.Fields["TAG"] != "a" || e.Fields["TAG.2"] != "b" {
		t.Errorf("%+v", e)
	}
	// the WAL's binary codec keeps every byte
	var back protocol.Event
	if err := back.UnmarshalBinary(e.AppendBinary(nil)); err != nil || back.Fields["BLOB.base64"] != e.Fields["BLOB.base64"] {
		t.Errorf("round trip: %v", err)
	}
}

func TestDecoderErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"lower-case name", "message=hi\n\n", "bad field name"},
		{"no equals", "MESSAGE\nhi\n", "stream ends inside"},
		{"binary size cut", "MESSAGE\n\x05\x00", "inside the size"},
		{"binary data cut", "MESSAGE\n\x05\x00\x00\x00\x00\x00\x00\x00ab", "inside binary field"},
		{"binary no newline", "MESSAGE\n\x02\x00\x00\x00\x00\x00\x00\x00abX\n", "not followed by a newline"},
		{"no final newline", "MESSAGE=hi", "no newline"},
		{"digit first", "1A=x\n\n", "bad field name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(tc.in), 1<<20)
			_, err := d.Next()
			var fe *FrameError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a frame error with %q", err, tc.want)
			}
		})
	}
	d := NewDecoder(strings.NewReader(bin("MESSAGE", make([]byte, 5000))+"\n"), 1024)
	_, err := d.Next()
	var fe *FrameError
	if !errors.As(err, &fe) || !fe.Large {
		t.Fatalf("large binary: %v", err)
	}
	d = NewDecoder(strings.NewReader("MESSAGE="+strings.Repeat("x", 200<<10)+"\n\n"), 64<<10)
	if _, err = d.Next(); !errors.As(err, &fe) || !fe.Large {
		t.Fatalf("long line: %v", err)
	}
}

type sink struct {
	mu      sync.Mutex
	n       int
	evs     []protocol.Event
	keep    bool
	maxHeap uint64
	measure bool
}

func (s *sink) emit(_ context.Context, evs []protocol.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += len(evs)
	if s.keep {
		s.evs = append(s.evs, evs...)
	}
	if s.measure {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		s.maxHeap = max(s.maxHeap, m.HeapInuse)
	}
	return nil
}

func post(t *testing.T, url string, body io.Reader, ct string) (int, string) {
	t.Helper()
	res, err := http.Post(url, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestUploadHandler(t *testing.T) {
	s := &sink{keep: true}
	ts := httptest.NewServer(Handler(Options{Emit: s.emit, MaxEntry: 4096, BatchEntries: 1}))
	defer ts.Close()
	if code, body := post(t, ts.URL, strings.NewReader(sample()), ContentType); code != 200 || body != "OK.\n" || s.n != 2 {
		t.Fatalf("%d %q, %d stored", code, body, s.n)
	}
	if s.evs[0].Transport != "journal" || s.evs[0].Tags[0] != "journal" {
		t.Errorf("%+v", s.evs[0])
	}
	if code, body := post(t, ts.URL, strings.NewReader(sample()), "application/json"); code != 415 || !strings.Contains(body, ContentType) {
		t.Errorf("content type: %d %q", code, body)
	}
	// a bad frame in the third entry: the two before are stored, the cut one not
	s.n = 0
	code, body := post(t, ts.URL, strings.NewReader(sample()+"MESSAGE=ok\nbad name=x\n\n"), ContentType)
	if code != 400 || !strings.Contains(body, "entry 2") || !strings.Contains(body, "2 entries before it were stored") || s.n != 2 {
		t.Errorf("bad frame: %d %q, %d stored", code, body, s.n)
	}
	s.n = 0
	code, body = post(t, ts.URL, strings.NewReader("MESSAGE="+strings.Repeat("x", 5000)+"\n\n"), ContentType)
	if code != 413 || s.n != 0 {
		t.Errorf("large entry: %d %q, %d stored", code, body, s.n)
	}
	res, _ := http.Get(ts.URL)
	if res.StatusCode != 405 {
		t.Errorf("GET: %d", res.StatusCode)
	}
}

// entryStream generates n entries of about size bytes each (a binary
// field), without holding them: a reader of any length.
type entryStream struct {
	n, i int
	buf  bytes.Buffer
	blob []byte
}

func (s *entryStream) Read(p []byte) (int, error) {
	for s.buf.Len() < len(p) && s.i < s.n {
		s.i++
		fmt.Fprintf(&s.buf, "__CURSOR=s=x;i=%d\nPRIORITY=6\nSYSLOG_IDENTIFIER=big\nMESSAGE=entry %d\n", s.i, s.i)
		s.buf.WriteString(bin("PAYLOAD", s.blob))
		s.buf.WriteByte('\n')
	}
	if s.buf.Len() == 0 {
		return 0, io.EOF
	}
	return s.buf.Read(p)
}

// TestUpload1GiBBoundedMemory streams a 1 GiB upload (16,384 entries of
// 64 KiB) through the handler: every entry stored, and the heap in use
// while it runs stays far below the body's size (VictoriaLogs' journald
// endpoint reads the whole body first).
func TestUpload1GiBBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: streams 1 GiB")
	}
	blob := bytes.Repeat([]byte("log line\n"), 64<<10/9) // multi-line: a binary field, valid UTF-8
	const n = 16384
	s := &sink{measure: true}
	ts := httptest.NewServer(Handler(Options{Emit: s.emit, MaxEntry: 1 << 20}))
	defer ts.Close()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapInuse
	code, body := post(t, ts.URL, &entryStream{n: n, blob: blob}, ContentType)
	if code != 200 || s.n != n {
		t.Fatalf("%d %q: %d of %d entries", code, body, s.n, n)
	}
	grew := int64(s.maxHeap) - int64(base)
	t.Logf("1 GiB upload: heap in use grew by at most %d MiB", grew>>20)
	if grew > 128<<20 {
		t.Errorf("heap grew by %d MiB for a 1 GiB upload: not streamed", grew>>20)
	}
}

// An upload whose body ends early (journal-upload killed): the complete
// entries are stored, the cut one is not, and no 200 is sent (the
// uploader keeps its cursor).
func TestUploadCutShort(t *testing.T) {
	s := &sink{}
	h := Handler(Options{Emit: s.emit, BatchEntries: 1})
	full := sample()
	cut := full[:len(full)-20]
	req := httptest.NewRequest("POST", "/upload", io.MultiReader(strings.NewReader(cut), errReader{}))
	req.Header.Set("Content-Type", ContentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code == 200 || s.n != 1 {
		t.Fatalf("%d %q, %d stored, want not 200 and 1 stored", rec.Code, rec.Body, s.n)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func FuzzDecoder(f *testing.F) {
	f.Add([]byte(sample()))
	f.Add([]byte("A=1\n\n\nB=2\n"))
	f.Add([]byte(bin("M", []byte("x\ny")) + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(bytes.NewReader(b), 1<<16)
		for range 10000 {
			fields, err := d.Next()
			if err != nil {
				return
			}
			ev := ToEvent(fields)
			var back protocol.Event
			if err := back.UnmarshalBinary(ev.AppendBinary(nil)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestSeen(t *testing.T) {
	path := t.TempDir() + "/seen.json"
	s, err := OpenSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	add := map[string][]uint64{"a/x": {5, 3, 4, 9, 1}, "a/y": {7}}
	if err := s.Add(add); err != nil {
		t.Fatal(err)
	}
	if got := s.m["a/x"]; fmt.Sprint(got) != "[[1 1] [3 5] [9 9]]" {
		t.Errorf("ranges %v", got)
	}
	s.Add(map[string][]uint64{"a/x": {2, 8}})
	if got := s.m["a/x"]; fmt.Sprint(got) != "[[1 5] [8 9]]" {
		t.Errorf("merged %v", got)
	}
	s2, err := OpenSeen(path) // persisted
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[uint64]bool{0: false, 1: true, 5: true, 6: false, 7: false, 8: true, 9: true, 10: false} {
		if s2.Has("a/x", n) != want {
			t.Errorf("Has(%d) = %v", n, !want)
		}
	}
	if s2.Has("b/x", 1) || !s2.Has("a/y", 7) {
		t.Error("keys mixed up")
	}
}

// TestUploadSkipsStored: an upload sent again (journal-upload resumes at
// its saved cursor, or resends an interrupted upload) stores only what is
// new; entries without a cursor are always stored.
func TestUploadSkipsStored(t *testing.T) {
	seen, _ := OpenSeen("")
	s := &sink{keep: true}
	h := Handler(Options{Emit: s.emit, Seen: seen, BatchEntries: 2})
	entry := func(i int) string { return fmt.Sprintf("__CURSOR=s=abc;i=%x;b=1\nMESSAGE=m%d\n\n", i, i) }
	send := func(body string) {
		req := httptest.NewRequest("POST", "/upload", strings.NewReader(body))
		req.Header.Set("Content-Type", ContentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	send(entry(1) + entry(2) + entry(3))
	send(entry(3) + entry(4) + "MESSAGE=no cursor\n\n" + entry(2) + entry(16))
	send("MESSAGE=no cursor\n\n")
	var got []string
	for _, e := range s.evs {
		got = append(got, e.Message)
	}
	if strings.Join(got, ",") != "m1,m2,m3,m4,no cursor,m16,no cursor" {
		t.Errorf("stored %v", got)
	}
}
