package victorialogs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"logpacker/appliance/pipeline"
	"logpacker/appliance/sink/victorialogs/vltest"
	"logpacker/protocol"
)

func newSink(t *testing.T, o Options) *Sink {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var base = time.Now().Add(-time.Hour).Truncate(time.Millisecond)

// testEvents are events node:from … node:to with every field set; every
// third has no time of its own (its _time is the received time).
func testEvents(node string, from, to int) []protocol.Event {
	var evs []protocol.Event
	for i := from; i <= to; i++ {
		ev := protocol.Event{ID: protocol.ID{Node: node, Seq: uint64(i)}, Received: base.Add(time.Duration(i) * time.Millisecond),
			Facility: protocol.Facility(i % 24), Severity: protocol.Severity(i % 8), Host: fmt.Sprintf("web-%d", i%3),
			App: "app", ProcID: "99", MsgID: "M1", Message: fmt.Sprintf("msg %d <ü> \"q\"\tend", i),
			SD:   []protocol.SDElement{{ID: "meta@1", Params: []protocol.SDParam{{Name: "seq", Value: fmt.Sprint(i)}}}},
			Tags: []string{"t1", "t2"}, Fields: map[string]string{"env": "prod", "n": fmt.Sprint(i)},
			Transport: "tcp", Peer: "127.0.0.1:1"}
		if i%3 != 0 {
			ev.Time = base.Add(-time.Duration(i) * time.Second).In(time.FixedZone("", 3600))
		}
		evs = append(evs, ev)
	}
	return evs
}

// wantRow is what VictoriaLogs answers for ev (all values strings).
func wantRow(ev protocol.Event) map[string]string {
	tm := ev.Time
	if tm.IsZero() {
		tm = ev.Received
	}
	return map[string]string{"id": ev.ID.String(), "_time": tm.UTC().Format(time.RFC3339Nano), "_msg": ev.Message,
		"received": ev.Received.Format(protocol.TimeLayout), "host": ev.Host, "app": ev.App, "procid": ev.ProcID,
		"msgid": ev.MsgID, "facility": ev.Facility.String(), "severity": ev.Severity.String(), "tags": `["t1","t2"]`,
		"fields.env": "prod", "fields.n": ev.Fields["n"], "sd.meta@1.seq": ev.Fields["n"], "transport": "tcp",
		"peer": "127.0.0.1:1", "_stream": fmt.Sprintf(`{app="app",host="%s"}`, ev.Host)}
}

// TestWriteIntegration: events written with each compression, each into its
// own tenant, come back from a real VictoriaLogs with every field.
func TestWriteIntegration(t *testing.T) {
	vl := vltest.Start(t)
	for i, comp := range []string{CompressGzip, CompressZstd, CompressNone} {
		tenant := fmt.Sprint(i + 1)
		s := newSink(t, Options{URLs: []string{vl.URL}, Compression: comp, AccountID: tenant, ProjectID: "7"})
		evs := testEvents(comp, 1, 300)
		if err := s.Write(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Events != 300 || st.Requests != 1 || st.Bytes == 0 || st.Failed+st.Rejected+st.Truncated != 0 {
			t.Errorf("%s: stats %+v", comp, st)
		}
		rows := vl.Query("*", "AccountID", tenant, "ProjectID", "7")
		if len(rows) != len(evs) {
			t.Fatalf("%s: %d rows, want %d", comp, len(rows), len(evs))
		}
		byID := map[string]map[string]string{}
		for _, r := range rows {
			delete(r, "_stream_id")
			byID[r["id"]] = r
		}
		for _, ev := range evs {
			want, got := wantRow(ev), byID[ev.ID.String()]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %s\n got %v\nwant %v", comp, ev.ID, got, want)
				break
			}
		}
	}
	if n := vl.Count("*"); n != 0 {
		t.Errorf("tenant 0:0 has %d events", n)
	}
}

// uniqIDs runs `* | uniq by (id)` and checks it gives each of want once.
func uniqIDs(t *testing.T, vl *vltest.Server, want []protocol.Event) {
	t.Helper()
	rows := vl.Query("* | uniq by (id) limit 1000000")
	seen := map[string]int{}
	for _, r := range rows {
		seen[r["id"]]++
	}
	for _, ev := range want {
		if seen[ev.ID.String()] != 1 {
			t.Fatalf("id %s: %d times in uniq by (id)", ev.ID, seen[ev.ID.String()])
		}
	}
	if len(rows) != len(want) {
		t.Fatalf("uniq by (id): %d rows, want %d", len(rows), len(want))
	}
}

// TestAtLeastOnceIntegration: a batch sent again (the output loop retries
// one whose answer was lost) is stored again, and uniq by (id) counts every
// event once.
func TestAtLeastOnceIntegration(t *testing.T) {
	vl := vltest.Start(t)
	s := newSink(t, Options{URLs: []string{vl.URL}})
	evs := testEvents("n1", 1, 500)
	data := s.Prepare(nil, evs)
	for range 3 {
		if err := s.WritePrepared(context.Background(), data); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(context.Background(), evs[100:200]); err != nil {
		t.Fatal(err)
	}
	if n := vl.Count("*"); n != 1600 {
		t.Errorf("count = %d, want 1600 (at least once: resends are stored again)", n)
	}
	uniqIDs(t, vl, evs)
}

// TestPermanentIntegration: what VictoriaLogs refuses for good (400) is a
// Permanent error; a server that is down is not.
func TestPermanentIntegration(t *testing.T) {
	vl := vltest.Start(t)
	s := newSink(t, Options{URLs: []string{vl.URL}})
	err := s.WritePrepared(context.Background(), []byte("not json\n"))
	if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("unreadable line: %v (permanent %v)", err, pipeline.IsPermanent(err))
	}
	// a bad field in the URL's query args: extra_fields must be name=value
	bad := newSink(t, Options{URLs: []string{vl.URL + "/?extra_fields=oops"}})
	err = bad.Write(context.Background(), testEvents("n", 1, 10))
	if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "invalid extra_field") {
		t.Errorf("bad extra_fields: %v", err)
	}
	if st := bad.Stats(); st.Rejected != 10 || st.Events != 0 {
		t.Errorf("stats %+v", st)
	}
	vl.Kill()
	err = s.Write(context.Background(), testEvents("n", 1, 10))
	if err == nil || pipeline.IsPermanent(err) || s.Stats().Failed != 1 {
		t.Errorf("server down: %v, %+v", err, s.Stats())
	}
}

// killingTransport SIGKILLs the server in the middle of sending the body
// of the requests it is told to. Before that it makes the server write what
// it acknowledged to its disk (vltest.Persist): VictoriaLogs answers 200
// before it writes the data, and loses the last seconds acknowledged when it
// is killed — its own window, which no client can see and this test leaves
// out (README: "Durability").
type killingTransport struct {
	vl     *vltest.Server
	n      atomic.Int32
	killAt map[int32]bool
	killed atomic.Bool
}

func (k *killingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if k.killAt[k.n.Add(1)] && req.Body != nil {
		k.vl.Persist()
		body, _ := io.ReadAll(req.Body)
		half := len(body) / 2
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:half]),
			readFunc(func([]byte) (int, error) {
				k.vl.Kill()
				k.killed.Store(true)
				return 0, io.ErrUnexpectedEOF
			})))
	}
	return http.DefaultTransport.RoundTrip(req)
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// TestKillIntegration: the server is SIGKILLed three times while a request
// is being sent, and started again; each batch is retried as the output
// loop does until it is taken, and every event is there (uniq by (id)).
func TestKillIntegration(t *testing.T) {
	vl := vltest.Start(t)
	kt := &killingTransport{vl: vl, killAt: map[int32]bool{5: true, 16: true, 27: true}}
	s := newSink(t, Options{URLs: []string{vl.URL}, Transport: kt, Timeout: 5 * time.Second})
	evs := testEvents("k", 1, 20000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	failures := 0
	for from := 0; from < len(evs); from += 500 {
		data := s.Prepare(nil, evs[from:from+500])
		for {
			err := s.WritePrepared(ctx, data)
			if err == nil {
				break
			}
			if pipeline.IsPermanent(err) || ctx.Err() != nil {
				t.Fatalf("batch at %d: %v", from, err)
			}
			failures++
			if kt.killed.Swap(false) {
				time.Sleep(200 * time.Millisecond)
				vl.Restart()
			} else {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if failures < 3 || s.Stats().Failed != uint64(failures) {
		t.Errorf("%d failed writes (stats %+v), want at least 3 (one per kill)", failures, s.Stats())
	}
	if n := vl.Count("*"); n < len(evs) {
		t.Errorf("count = %d < %d", n, len(evs))
	}
	uniqIDs(t, vl, evs)
}

// fakeServer records requests (headers, decoded body) and answers with
// status(body lines).
type fakeServer struct {
	*httptest.Server
	reqs   []*http.Request
	bodies [][]byte
	status func(lines int) int
}

func newFake(t *testing.T, status func(lines int) int) *fakeServer {
	f := &fakeServer{status: status}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rd io.Reader = r.Body
		switch r.Header.Get("Content-Encoding") {
		case "gzip":
			rd, _ = gzip.NewReader(r.Body)
		case "zstd":
			d, _ := zstd.NewReader(r.Body)
			defer d.Close()
			rd = d
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Errorf("fake: body: %v", err)
		}
		f.reqs, f.bodies = append(f.reqs, r), append(f.bodies, b)
		w.WriteHeader(f.status(bytes.Count(b, []byte("\n"))))
	}))
	t.Cleanup(f.Close)
	return f
}

func TestRequestHeaders(t *testing.T) {
	f := newFake(t, func(int) int { return 204 })
	for _, tt := range []struct {
		o    Options
		auth string
	}{
		{Options{Username: "u", Password: "p", AccountID: "3", ProjectID: "4", Compression: CompressZstd}, "Basic dTpw"},
		{Options{BearerToken: "tok", Compression: CompressNone}, "Bearer tok"},
		{Options{}, ""},
	} {
		tt.o.URLs = []string{f.URL}
		s := newSink(t, tt.o)
		if err := s.Write(context.Background(), testEvents("h", 1, 3)); err != nil {
			t.Fatal(err)
		}
		r, body := f.reqs[len(f.reqs)-1], f.bodies[len(f.bodies)-1]
		if r.Method != "POST" || r.URL.Path != "/insert/jsonline" || r.URL.Query().Get("_stream_fields") != "host,app" ||
			r.Header.Get("Authorization") != tt.auth || r.Header.Get("AccountID") != tt.o.AccountID ||
			r.Header.Get("ProjectID") != tt.o.ProjectID || r.Header.Get("Content-Type") != "application/stream+json" ||
			bytes.Count(body, []byte("\n")) != 3 {
			t.Errorf("%+v: %s %s %v, %d bytes", tt.o, r.Method, r.URL, r.Header, len(body))
		}
	}
}

// TestSplit413: a request answered 413 is sent again in halves until it
// fits; one line answered 413 is refused for good.
func TestSplit413(t *testing.T) {
	f := newFake(t, func(lines int) int {
		if lines > 100 {
			return 413
		}
		return 200
	})
	s := newSink(t, Options{URLs: []string{f.URL}})
	evs := testEvents("s", 1, 333)
	if err := s.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i, b := range f.bodies {
		if f.status(bytes.Count(b, []byte("\n"))) == 200 {
			got = append(got, f.bodies[i]...)
		}
	}
	if want := s.Prepare(nil, evs); !bytes.Equal(got, want) {
		t.Errorf("the halves taken are not the batch, in order")
	}
	if st := s.Stats(); st.Events != 333 || st.Splits == 0 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
	f.status = func(int) int { return 413 }
	if err := s.Write(context.Background(), evs[:1]); !pipeline.IsPermanent(err) {
		t.Errorf("one line, 413: %v", err)
	}
}

// TestFailover: with the first URL down, the retry goes to the next one;
// 5xx, 429, 401 are not permanent.
func TestFailover(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	f := newFake(t, func(int) int { return 200 })
	s := newSink(t, Options{URLs: []string{down, f.URL}})
	evs := testEvents("f", 1, 5)
	if err := s.Write(context.Background(), evs); err == nil || pipeline.IsPermanent(err) {
		t.Fatalf("first URL down: %v", err)
	}
	if err := s.Write(context.Background(), evs); err != nil || len(f.reqs) != 1 {
		t.Fatalf("retry on the second URL: %v, %d requests", err, len(f.reqs))
	}
	for _, code := range []int{500, 503, 429, 401, 403, 404} {
		f.status = func(int) int { return code }
		if err := s.Write(context.Background(), evs); err == nil || pipeline.IsPermanent(err) {
			t.Errorf("HTTP %d: %v", code, err)
		}
		s.cur.Store(1)
	}
}
