package httpin

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/appliance/pipeline"
	"logpacker/wal"
)

// BenchmarkJSONIngest measures POST /api/v1/ingest end to end but for the
// socket: read the body, decode 100 NDJSON events of an app's typical shape,
// check the token, stamp, encode, append to a real WAL (fsync = always,
// group commit) and answer 200; 4 concurrent senders. It reports events/s
// and the process's CPU seconds per million events.
func BenchmarkJSONIngest(b *testing.B) {
	l, err := wal.Open(wal.Options{Dir: filepath.Join(b.TempDir(), "wal"), Fsync: wal.FsyncAlways,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s := DefaultSettings()
	s.Set("tokens", "app:bench-token-1")
	srv := New(s, pipeline.NewIngest(l, prometheus.NewRegistry()).Emit, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := srv.Ingest()
	const perReq = 100
	var body bytes.Buffer
	for i := range perReq {
		fmt.Fprintf(&body, `{"time":"2026-12-01T10:00:00.%03dZ","level":"info","host":"api-7","app":"orders","message":"GET /api/orders/%d 200 12ms","request_id":"r-%08x","user":{"id":%d,"plan":"pro"},"duration_ms":12.5}`+"\n", i, i, i*7919, i)
	}
	payload := body.Bytes()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.SetParallelism(2) // 2 × GOMAXPROCS
	cpu0 := cpuSeconds()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/v1/ingest", bytes.NewReader(payload))
			req.Header.Set("Authorization", "Bearer bench-token-1")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	events := float64(b.N * perReq)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric((cpuSeconds()-cpu0)/events*1e6, "cpu-s/1M-events")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
