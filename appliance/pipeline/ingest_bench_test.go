package pipeline

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/protocol"
	"logpacker/wal"
)

// BenchmarkEmit measures the ingest hot path: stamp, encode, WAL append
// (group commit), per fsync policy, with 4 concurrent emitters of 256-event
// batches like 4 busy TCP connections.
func BenchmarkEmit(b *testing.B) {
	for _, fsync := range []string{"always", "never"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			f, err := wal.ParseFsync(fsync)
			if err != nil {
				b.Fatal(err)
			}
			l, err := wal.Open(wal.Options{Dir: filepath.Join(b.TempDir(), "wal"), Fsync: f,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			emit := NewIngest(l, prometheus.NewRegistry()).Emit
			batch := make([]protocol.Event, 256)
			for i := range batch {
				batch[i] = protocol.Event{Time: time.Now(), Facility: protocol.FacAuth, Severity: protocol.SevInfo,
					Host: "web-1", App: "sshd", ProcID: "1234", Transport: "tcp", Peer: "127.0.0.1:50000",
					Message: "Accepted publickey for root from 10.0.0.1 port 52314 ssh2: RSA SHA256:abcdefghijklmnopqrstuvwxyz"}
			}
			b.ReportAllocs()
			b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 emitters
			b.RunParallel(func(pb *testing.PB) {
				local := append([]protocol.Event(nil), batch...)
				for pb.Next() {
					if err := emit(context.Background(), local); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/event")
		})
	}
}
