package filetail

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"logpacker/protocol"
)

// collector is the emit function of the tests: it keeps every event, as
// the WAL would.
type collector struct {
	mu  sync.Mutex
	evs []protocol.Event
}

func (c *collector) emit(_ context.Context, evs []protocol.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		ev.Fields = maps.Clone(ev.Fields)
		ev.Tags = slices.Clone(ev.Tags)
		ev.Received = time.Now()
		c.evs = append(c.evs, ev)
	}
	return nil
}

func (c *collector) messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ev := range c.evs {
		out = append(out, ev.Message)
	}
	return out
}

// recovered is what the node's WAL scan would give a restarted source.
func (c *collector) recovered(name string) Recovered {
	c.mu.Lock()
	defer c.mu.Unlock()
	var r Recovered
	for _, ev := range c.evs {
		if ev.Fields[FieldSource] == name {
			r.Note(ev.Fields, ev.Received)
		}
	}
	return r
}

// runner runs a source over dir until stopped; it can be restarted on
// the same checkpoint.
type runner struct {
	t      *testing.T
	o      Options
	c      *collector
	cancel context.CancelFunc
	done   chan error
}

func newRunner(t *testing.T, dir string, mod func(*Options)) *runner {
	o := Options{Name: "t", Paths: []string{filepath.Join(dir, "*.log")}, StateFile: filepath.Join(dir, "state", "t.json"),
		PollInterval: 10 * time.Millisecond, RotateWait: 200 * time.Millisecond, Host: "h"}
	if mod != nil {
		mod(&o)
	}
	r := &runner{t: t, o: o, c: &collector{}}
	t.Cleanup(r.stop)
	return r
}

func (r *runner) start(crash func() bool) {
	r.t.Helper()
	o := r.o
	o.Recovered = r.c.recovered(o.Name)
	s, err := New(o)
	if err != nil {
		r.t.Fatal(err)
	}
	s.crashAfterEmit = crash
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- s.Run(ctx, r.c.emit) }()
}

func (r *runner) stop() {
	if r.cancel != nil {
		r.cancel()
		if err := <-r.done; err != nil && !errors.Is(err, errCrash) {
			r.t.Errorf("run: %v", err)
		}
		r.cancel = nil
	}
}

// settle waits until done holds for the messages so far (the test's
// deadline bounds it: no timing threshold), then a moment more, in which a
// duplicate would arrive, and returns them.
func (r *runner) settle(done func([]string) bool) []string {
	deadline := time.Now().Add(20 * time.Second)
	for !done(r.c.messages()) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	return r.c.messages()
}

// expect checks that the events are want exactly, in order.
func (r *runner) expect(want []string) {
	r.t.Helper()
	got := r.settle(func(m []string) bool { return len(m) >= len(want) })
	if !slices.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(0, i-2)
		r.t.Fatalf("events differ from #%d\n got %d: %s\nwant %d: %s", i, len(got), abbrev(got[lo:min(len(got), i+4)]), len(want), abbrev(want[lo:min(len(want), i+4)]))
	}
}

func abbrev(s []string) string {
	var b strings.Builder
	for i, x := range s {
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		fmt.Fprintf(&b, "\n  %d %q", i, x)
	}
	return b.String()
}

type lineGen struct {
	n    int
	want []string
}

func (g *lineGen) write(t *testing.T, path string, k int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range k {
		g.n++
		l := fmt.Sprintf("line %06d %s", g.n, strings.Repeat("x", 30))
		g.want = append(g.want, l)
		fmt.Fprintln(f, l)
	}
}

func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Remove(src)
}

func copyTruncate(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(src, 0); err != nil {
		t.Fatal(err)
	}
}

// Every rotation case, with the source running and with it stopped while
// the rotation happens (lines written and rotated away unread).
func TestRotations(t *testing.T) {
	cases := []struct {
		name   string
		rotate func(t *testing.T, dir string, k int)
	}{
		{"rename+create", func(t *testing.T, dir string, k int) {
			os.Rename(filepath.Join(dir, "app.log"), filepath.Join(dir, fmt.Sprintf("app.log.%d", k)))
		}},
		{"copytruncate", func(t *testing.T, dir string, k int) {
			copyTruncate(t, filepath.Join(dir, "app.log"), filepath.Join(dir, fmt.Sprintf("app.log.%d", k)))
		}},
		{"rename+gzip", func(t *testing.T, dir string, k int) {
			r := filepath.Join(dir, fmt.Sprintf("app.log.%d", k))
			os.Rename(filepath.Join(dir, "app.log"), r)
			gzipFile(t, r, r+".gz")
		}},
		{"copytruncate+gzip", func(t *testing.T, dir string, k int) {
			r := filepath.Join(dir, fmt.Sprintf("app.log.%d", k))
			copyTruncate(t, filepath.Join(dir, "app.log"), r)
			gzipFile(t, r, r+".gz")
		}},
	}
	for _, tc := range cases {
		for _, stopped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stopped=%v", tc.name, stopped), func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, "app.log")
				g := &lineGen{}
				g.write(t, p, 50)
				r := newRunner(t, dir, nil)
				r.start(nil)
				r.expect(g.want)
				for k := 1; k <= 3; k++ {
					if stopped {
						r.stop()
					}
					g.write(t, p, 40) // maybe unread when rotated
					tc.rotate(t, dir, k)
					g.write(t, p, 30)
					if stopped {
						r.start(nil)
					}
					r.expect(g.want)
				}
			})
		}
	}
}

// Files rotated away twice while the source was down: the one in between
// was never seen, and is read (before the current file).
func TestRotatedUnseen(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gz=%v", gz), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app.log")
			g := &lineGen{}
			g.write(t, p, 20)
			r := newRunner(t, dir, nil)
			r.start(nil)
			r.expect(g.want)
			r.stop()
			for k := 1; k <= 3; k++ {
				g.write(t, p, 25)
				rp := filepath.Join(dir, fmt.Sprintf("app.log.%d", k))
				os.Rename(p, rp)
				if gz {
					gzipFile(t, rp, rp+".gz")
				}
			}
			g.write(t, p, 10)
			r.start(nil)
			r.expect(g.want)
		})
	}
}

// A file shorter than the fingerprint that grows past it, with restarts;
// and two files whose first 2 KiB are the same.
func TestSmallAndSharedPrefix(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.log")
	os.WriteFile(small, []byte("s1\n"), 0o644)
	head := strings.Repeat("# same header line for both files, padding padding\n", 40)
	os.WriteFile(filepath.Join(dir, "a.log"), []byte(head+"a1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.log"), []byte(head+"b1\n"), 0o644)
	r := newRunner(t, dir, func(o *Options) { o.Exclude = []string{"*.log.*"} })
	r.start(nil)
	count := func(want map[string]int) {
		t.Helper()
		got := map[string]int{}
		for _, m := range r.settle(func(m []string) bool { return len(m) >= sum(want) }) {
			got[m]++
		}
		if !maps.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	want := map[string]int{"s1": 1, "a1": 1, "b1": 1, "# same header line for both files, padding padding": 80}
	count(want)
	appendTo := func(p, s string) {
		f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(s)
		f.Close()
	}
	r.stop()
	appendTo(small, "s2\n")
	appendTo(filepath.Join(dir, "b.log"), "b2\n")
	r.start(nil)
	want["s2"], want["b2"] = 1, 1
	count(want)
	r.stop()
	appendTo(small, strings.Repeat("s3 grows past the fingerprint size\n", 40))
	appendTo(filepath.Join(dir, "a.log"), "a2\n")
	r.start(nil)
	want["s3 grows past the fingerprint size"], want["a2"] = 40, 1
	count(want)
	// b rotated (renamed) while down, a new b starts with the same header
	r.stop()
	appendTo(filepath.Join(dir, "b.log"), "b3\n")
	os.Rename(filepath.Join(dir, "b.log"), filepath.Join(dir, "b.log.1"))
	os.WriteFile(filepath.Join(dir, "b.log"), []byte(head+"b4\n"), 0o644)
	r.start(nil)
	want["b3"], want["b4"] = 1, 1
	want["# same header line for both files, padding padding"] = 120
	count(want)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Multi-line events by a start pattern, one of them split by a rotation
// (its first lines in the rotated file, the rest in the new one).
func TestMultilineAcrossRotation(t *testing.T) {
	for _, stopped := range []bool{false, true} {
		t.Run(fmt.Sprintf("stopped=%v", stopped), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app.log")
			r := newRunner(t, dir, func(o *Options) {
				o.MultilineStart = regexp.MustCompile(`^\d{4}-`)
				o.MultilineTimeout = time.Hour // only the next start line ends an event
			})
			os.WriteFile(p, []byte("2026-01-01 one\n2026-01-01 ERROR boom\n\tat a.b(C.java:1)\n\tat c.d(E.java:2)\n"), 0o644)
			r.start(nil)
			for len(r.c.messages()) < 1 {
				time.Sleep(5 * time.Millisecond)
			}
			if stopped {
				r.stop()
			}
			os.Rename(p, p+".1")
			os.WriteFile(p, []byte("\tat e.f(G.java:3)\nCaused by: x\n\tat h.i(J.java:4)\n2026-01-01 three\n2026-01-01 four\n"), 0o644)
			if stopped {
				r.start(nil)
			}
			r.expect([]string{"2026-01-01 one",
				"2026-01-01 ERROR boom\n\tat a.b(C.java:1)\n\tat c.d(E.java:2)\n\tat e.f(G.java:3)\nCaused by: x\n\tat h.i(J.java:4)",
				"2026-01-01 three"})
			r.c.mu.Lock()
			ev := r.c.evs[1]
			r.c.mu.Unlock()
			if ev.Fields[FieldStartedIn] == "" || ev.Fields[FieldOffset] != "15" {
				t.Errorf("split event fields: %v", ev.Fields)
			}
		})
	}
}

// A huge line is cut once at MaxLineBytes and tagged; memory stays bounded
// (the partial line never holds more than MaxLineBytes); the next lines
// are whole.
func TestHugeLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	f, _ := os.Create(p)
	f.WriteString("before\n")
	chunk := strings.Repeat("y", 1<<20)
	for range 8 {
		f.WriteString(chunk)
	}
	f.WriteString("\nafter\n")
	f.Close()
	r := newRunner(t, dir, func(o *Options) { o.MaxLineBytes = 1000 })
	r.start(nil)
	r.expect([]string{"before", strings.Repeat("y", 1000), "after"})
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if !slices.Contains(r.c.evs[1].Tags, TruncatedTag) || slices.Contains(r.c.evs[2].Tags, TruncatedTag) {
		t.Errorf("tags: %v %v", r.c.evs[1].Tags, r.c.evs[2].Tags)
	}
	if r.c.evs[2].Fields[FieldOffset] != strconv.Itoa(7+8<<20+1) {
		t.Errorf("offset after the huge line: %v", r.c.evs[2].Fields)
	}
}

// Files that appear after the start, vanish, and come back; a glob that
// matches nothing yet.
func TestAppearAndVanish(t *testing.T) {
	dir := t.TempDir()
	r := newRunner(t, dir, func(o *Options) { o.Paths = []string{filepath.Join(dir, "sub", "*.log")} })
	r.start(nil)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	g := &lineGen{}
	p := filepath.Join(dir, "sub", "late.log")
	g.write(t, p, 10)
	r.expect(g.want)
	os.Remove(p)
	time.Sleep(300 * time.Millisecond) // past RotateWait: the deleted file is let go
	g.write(t, p, 5)
	r.expect(g.want)
}

// A kill between the emit (the WAL has the lines) and the checkpoint: the
// restarted source learns from the WAL's records what was emitted, and
// sends nothing twice. Also across a rotation and a multi-line event.
func TestCrashAfterEmit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	g := &lineGen{}
	g.write(t, p, 30)
	r := newRunner(t, dir, nil)
	crashed := make(chan struct{}, 1)
	crash := func() bool {
		select {
		case crashed <- struct{}{}:
			return true
		default:
			return false
		}
	}
	r.start(crash)
	r.expect(g.want)
	r.stop()
	<-crashed
	g.write(t, p, 20)
	r.start(crash) // crashes after the next emit again
	r.expect(g.want)
	r.stop()
	<-crashed
	g.write(t, p, 5)
	os.Rename(p, p+".1")
	g.write(t, p, 5)
	r.start(nil)
	r.expect(g.want)
}

// ReadFromEnd: a file found at the very first start is read from its end.
func TestReadFromEnd(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	os.WriteFile(p, []byte("old\n"), 0o644)
	r := newRunner(t, dir, func(o *Options) { o.ReadFromEnd = true })
	r.start(nil)
	time.Sleep(100 * time.Millisecond)
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("new\n")
	f.Close()
	g := &lineGen{}
	g.write(t, filepath.Join(dir, "later.log"), 2)
	got := r.settle(func(m []string) bool { return len(m) >= 3 })
	slices.Sort(got)
	want := append([]string{"new"}, g.want...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

// Events carry transport, host, app, tags and the file fields; the parser
// runs on each.
func TestEventFields(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.log"), []byte("hello\n"), 0o644)
	r := newRunner(t, dir, func(o *Options) {
		o.App, o.Tags = "myapp", []string{"web"}
		o.Parse = func(text string, ev *protocol.Event) { ev.Severity = protocol.SevErr }
	})
	r.start(nil)
	r.expect([]string{"hello"})
	ev := r.c.evs[0]
	if ev.Transport != "file" || ev.Host != "h" || ev.App != "myapp" || ev.Severity != protocol.SevErr ||
		!slices.Equal(ev.Tags, []string{"web", "myapp"}) || ev.Fields[FieldPath] != filepath.Join(dir, "app.log") ||
		ev.Fields[FieldOffset] != "0" || ev.Fields[FieldEnd] != "6" || ev.Fields[FieldSource] != "t" || ev.Fields[FieldFileID] == "" {
		t.Errorf("event: %+v", ev)
	}
}

func TestOptionsErrors(t *testing.T) {
	if _, err := New(Options{Name: "x", StateFile: "/tmp/x"}); err == nil {
		t.Error("no paths: no error")
	}
	if _, err := New(Options{Name: "x", Paths: []string{"["}, StateFile: "/tmp/x"}); err == nil {
		t.Error("bad glob: no error")
	}
	if _, err := New(Options{Name: "x", Paths: []string{"/a"}}); err == nil {
		t.Error("no state file: no error")
	}
	st := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(st, []byte("{not json"), 0o644)
	if _, err := New(Options{Name: "x", Paths: []string{"/a"}, StateFile: st}); err == nil {
		t.Error("bad checkpoint: no error")
	}
}

var _ = io.EOF

// failingEmit fails its first n calls (as a WAL that is full or failing:
// a retriable error), then hands over to c.
type failingEmit struct {
	c    *collector
	n    int
	perm bool
	mu   sync.Mutex
}

type permErr struct{}

func (permErr) Error() string   { return "wal closed" }
func (permErr) Permanent() bool { return true }

func (f *failingEmit) emit(ctx context.Context, evs []protocol.Event) error {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		if f.perm {
			return permErr{}
		}
		return errors.New("disk full")
	}
	f.mu.Unlock()
	return f.c.emit(ctx, evs)
}

// A batch the WAL does not take is emitted again (retriable errors, with
// backoff), and its offsets do not move until it is taken: nothing lost,
// nothing twice. A permanent error ends Run; the restarted source reads
// the batch again.
func TestEmitFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	g := &lineGen{}
	g.write(t, p, 20)
	o := Options{Name: "t", Paths: []string{p}, StateFile: filepath.Join(dir, "state.json"), PollInterval: 10 * time.Millisecond}
	c := &collector{}
	for _, perm := range []bool{false, true} {
		s, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		fe := &failingEmit{c: c, n: 3, perm: perm}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, fe.emit) }()
		if perm {
			g.write(t, p, 5) // a batch to fail
			if err := <-done; err == nil || !strings.Contains(err.Error(), "wal closed") {
				t.Fatalf("permanent error: Run returned %v", err)
			}
			cancel()
			continue
		}
		r := &runner{t: t, c: c}
		r.expect(g.want)
		g.write(t, p, 5)
		r.expect(g.want)
		cancel()
		<-done
	}
	// after the permanent error: a new source reads what was not taken
	g.write(t, p, 5)
	r := &runner{t: t, o: o, c: c}
	r.start(nil)
	r.expect(g.want)
	r.stop()
}

// A file deleted and a new one created with the same first KiB (a header)
// on what is often the same, reused inode: the new file is read from its
// start, not from where the old one ended.
func TestReusedInodeSameHeader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	head := strings.Repeat("# header line, the same in every file of this app ......\n", 30)
	r := newRunner(t, dir, func(o *Options) { o.RotateWait = 20 * time.Millisecond })
	var want []string
	for range strings.Split(strings.TrimSpace(head), "\n") {
		want = append(want, "# header line, the same in every file of this app ......")
	}
	reused := 0
	var lastIno uint64
	all := []string{}
	for k := range 4 {
		os.WriteFile(p, []byte(head+fmt.Sprintf("file %d line 1\nfile %d line 2\n", k, k)), 0o644)
		fi, _ := os.Stat(p)
		_, ino := statIno(fi)
		if ino == lastIno {
			reused++
		}
		lastIno = ino
		all = append(all, want...)
		all = append(all, fmt.Sprintf("file %d line 1", k), fmt.Sprintf("file %d line 2", k))
		if k == 0 {
			r.start(nil)
		}
		r.expect(all)
		if k == 2 { // across a restart too
			r.stop()
			os.Remove(p)
			r.start(nil)
			continue
		}
		os.Remove(p)
		time.Sleep(100 * time.Millisecond) // the source sees the file gone (not a threshold: either way is a case)
	}
	t.Logf("inode reused %d of 3 times", reused)
}
