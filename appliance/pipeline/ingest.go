package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"

	"context"
	"errors"
	"sync"
	"time"

	"logpacker/protocol"
	"logpacker/wal"
)

// Ingest is the one path from every source into the WAL: stamp, encode,
// append (group-committed by the WAL's writer), return once durable.
type Ingest struct {
	wal  *wal.Log
	now  func() time.Time
	bufs sync.Pool // *encodeBuf
	m    *ingestMetrics
}

// NewIngest is the ingest path into w; its logpacker_ingest_* metrics go to reg.
func NewIngest(w *wal.Log, reg prometheus.Registerer) *Ingest {
	return &Ingest{wal: w, now: func() time.Time { return time.Now().UTC() }, m: newIngestMetrics(reg)}
}

type encodeBuf struct {
	data []byte
	recs [][]byte
}

// EmitRecords appends events already in their binary form (a relay parent's
// batches: checked, IDs and received time set by the first node) and returns
// once they are durable. recs are not kept.
func (in *Ingest) EmitRecords(ctx context.Context, recs [][]byte) error {
	if len(recs) == 0 {
		return nil
	}
	t0 := time.Now()
	_, err := in.wal.Append(ctx, recs)
	in.m.ingestLatency.Observe(time.Since(t0).Seconds())
	if err != nil {
		in.m.ingestErrors.Inc()
		return &AppendError{err}
	}
	in.m.ingested.Add(float64(len(recs)))
	return nil
}

// Emit is the EmitFunc every source gets. Events keep an ID they already
// carry (relayed); locally accepted ones get theirs from the WAL index, which
// the reader fills in (see protocol/doc.go).
func (in *Ingest) Emit(ctx context.Context, evs []protocol.Event) error {
	if len(evs) == 0 {
		return nil
	}
	b, _ := in.bufs.Get().(*encodeBuf)
	if b == nil {
		b = &encodeBuf{}
	}
	now := in.now()
	b.data = b.data[:0]
	ends := make([]int, 0, len(evs))
	for i := range evs {
		if evs[i].Received.IsZero() {
			evs[i].Received = now
		}
		b.data = evs[i].AppendBinary(b.data)
		ends = append(ends, len(b.data))
	}
	b.recs = b.recs[:0]
	start := 0
	for _, end := range ends {
		b.recs = append(b.recs, b.data[start:end:end])
		start = end
	}
	t0 := time.Now()
	_, err := in.wal.Append(ctx, b.recs)
	in.m.ingestLatency.Observe(time.Since(t0).Seconds())
	if cap(b.data) <= 8<<20 { // do not keep giant buffers around
		in.bufs.Put(b)
	}
	if err != nil {
		in.m.ingestErrors.Inc()
		return &AppendError{err}
	}
	in.m.ingested.Add(float64(len(evs)))
	return nil
}

// AppendError is what Emit and EmitRecords return when the WAL did not store
// a batch. It reports Permanent() when retrying cannot help: the WAL is
// closed (shutting down), the batch is larger than it takes, or the caller's
// ctx ended. Otherwise (a failed write: disk full, I/O error; the WAL takes
// a failed write back out) the source should retry the batch with backoff.
// An append that waits for space (max_size, min_free) does not fail: it waits.
type AppendError struct{ Err error }

func (e *AppendError) Error() string { return "ingest: wal append: " + e.Err.Error() }
func (e *AppendError) Unwrap() error { return e.Err }

// Permanent reports whether retrying the batch cannot help.
func (e *AppendError) Permanent() bool {
	return errors.Is(e.Err, wal.ErrClosed) || errors.Is(e.Err, wal.ErrTooLarge) ||
		errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded)
}
