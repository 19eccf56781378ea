package wal

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func BenchmarkAppend(b *testing.B) {
	for _, pol := range []Fsync{FsyncAlways, FsyncInterval, FsyncNever} {
		for _, n := range []int{1, 64, 512} {
			b.Run(pol.String()+"/batch="+strconv.Itoa(n), func(b *testing.B) {
				l := openT(b, Options{Dir: b.TempDir(), Fsync: pol, FsyncInterval: 10 * time.Millisecond})
				defer l.Close()
				recs := make([][]byte, n)
				for i := range recs {
					recs[i] = payload(uint64(i), 256)
				}
				b.SetBytes(int64(256 * n))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := l.Append(context.Background(), recs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAppendParallel shows group commit: many goroutines, one record each,
// fsync=always. fsyncs/op well below 1 means appends share fsyncs.
func BenchmarkAppendParallel(b *testing.B) {
	var fsyncs atomic.Int64
	l := openT(b, Options{Dir: b.TempDir(), Fsync: FsyncAlways, OnFsync: func(time.Duration) { fsyncs.Add(1) }})
	defer l.Close()
	rec := [][]byte{payload(1, 256)}
	b.SetParallelism(16)
	b.SetBytes(256)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(context.Background(), rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(fsyncs.Load())/float64(b.N), "fsyncs/op")
}

func BenchmarkCursorNext(b *testing.B) {
	l := openT(b, Options{Dir: b.TempDir(), Fsync: FsyncNever})
	defer l.Close()
	c, _ := l.OpenCursor("bench")
	recs := make([][]byte, 512)
	for i := range recs {
		recs[i] = payload(uint64(i), 256)
	}
	for i := 0; i < 40; i++ { // 20480 records, ~5.6 MB
		if _, err := l.Append(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	last := l.Stats().LastIndex
	b.SetBytes(256 * 256)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := c.Next(context.Background(), 256, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if got[len(got)-1].Index >= last {
			c.Rewind()
		}
	}
}
