package filetail

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"logpacker/appliance/scan"
	"logpacker/protocol"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTail tails a file of b.N lines (made by line) to its end, emitting
// into nothing: the hot path of reading, splitting, building events,
// parsing and checkpointing (one atomic write per batch). It reports
// lines/s and CPU seconds per 1M lines.
func benchTail(b *testing.B, line func(i int) string, mod func(*Options)) {
	dir := b.TempDir()
	p := filepath.Join(dir, "app.log")
	f, _ := os.Create(p)
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range b.N {
		w.WriteString(line(i))
		w.WriteByte('\n')
	}
	w.Flush()
	f.Close()
	o := Options{Name: "bench", Paths: []string{p}, StateFile: filepath.Join(dir, "state.json"), Host: "h", PollInterval: time.Millisecond,
		MultilineTimeout: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(p)
	size := strconv.FormatInt(fi.Size(), 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	var closed atomic.Bool
	emit := func(_ context.Context, evs []protocol.Event) error {
		if len(evs) > 0 && evs[len(evs)-1].Fields[FieldEnd] == size && !closed.Swap(true) {
			close(done)
		}
		return nil
	}
	b.ResetTimer()
	c0, t0 := cpuTime(), time.Now()
	ran := make(chan struct{})
	go func() { s.Run(ctx, emit); close(ran) }()
	<-done
	el, cpu := time.Since(t0), cpuTime()-c0
	b.StopTimer()
	cancel()
	<-ran
	b.ReportMetric(float64(b.N)/el.Seconds(), "lines/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N)*1e6, "cpu-s/1M-lines")
}

// BenchmarkTailRaw: lines as they are (no format).
func BenchmarkTailRaw(b *testing.B) {
	benchTail(b, func(i int) string {
		return fmt.Sprintf("main seq=%d %s", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	}, nil)
}

// BenchmarkTailParseAccess: nginx access lines through the access parser.
func BenchmarkTailParseAccess(b *testing.B) {
	fm, _ := scan.LookupFormat("access")
	benchTail(b, func(i int) string {
		return fmt.Sprintf(`192.0.2.%d - - [02/Dec/2026:15:52:01 +0000] "GET /item/%d HTTP/1.1" 200 612 "-" "Mozilla/5.0 (X11; Linux x86_64)"`, i%250, i)
	}, func(o *Options) { o.App, o.Parse = "nginx", fm.Parser(time.UTC) })
}

// BenchmarkTailMultiline: 5-line stack traces by a start pattern.
func BenchmarkTailMultiline(b *testing.B) {
	benchTail(b, func(i int) string {
		if i%5 == 0 {
			return fmt.Sprintf("2026-12-02 15:52:01,123 ERROR [main] c.e.App: failed %d", i)
		}
		return fmt.Sprintf("\tat com.example.App.method%d(App.java:%d)", i%5, i)
	}, func(o *Options) { o.MultilineStart = regexp.MustCompile(`^\d{4}-`) })
}
