package appliance_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/protocol"
)

// BenchmarkEmit measures the ingest hot path: stamp, encode, WAL append
// (group commit), per fsync policy, with 4 concurrent emitters of 256-event
// batches like 4 busy TCP connections.
func BenchmarkEmit(b *testing.B) {
	for _, fsync := range []string{"always", "never"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			dir := b.TempDir()
			cfg, err := appliance.ParseConfig("b.ini", []byte(fmt.Sprintf(
				"[node]\nid = b\ndata_dir = %s\n[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\n[wal]\nfsync = %s\nmax_size = 0\n[output.file]\npath =\n[output.store]\nenabled = false\n", dir, fsync)))
			if err != nil {
				b.Fatal(err)
			}
			n, err := appliance.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			defer n.Shutdown(context.Background())
			emit := n.Emit()
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
