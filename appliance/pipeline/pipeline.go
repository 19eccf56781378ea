package pipeline

import (
	"context"
	"errors"

	"logpacker/protocol"
	"logpacker/wal"
)

// Source is an input. Run reads until ctx ends. emit returns nil only once
// the events are durable in the WAL; a source acknowledges (where its
// protocol can) or reads on only after that. An error that reports
// Permanent() (AppendError: the WAL is closed) will not go away; after any
// other the batch may be emitted again (a failed write is taken back out of
// the WAL).
type Source interface {
	Run(ctx context.Context, emit EmitFunc) error
}

// EmitFunc hands a batch of events to the node's ingest path. It returns nil
// only once they are durable, and keeps nothing of evs: sources reuse the slice.
type EmitFunc = func(context.Context, []protocol.Event) error

// Sink is an output. Write delivers evs; nil means delivered (durably, as far
// as the destination allows). An error whose Permanent() reports true is not
// retried: the events go to the dead-letter file and the cursor moves on.
type Sink interface {
	Write(ctx context.Context, evs []protocol.Event) error
	Close() error
}

// PreparedSink is implemented by sinks whose Write is encoding (CPU) then I/O.
// The output loop then encodes the next batch while the last one is written.
// Prepare appends the encoding of evs to dst; it is called in WAL order, a few
// events at a time, to build one batch, and keeps nothing of evs (their
// strings point into a read buffer that is reused). WritePrepared delivers the
// batch (and is retried with it) with Write's contract.
type PreparedSink interface {
	Sink
	Prepare(dst []byte, evs []protocol.Event) []byte
	WritePrepared(ctx context.Context, data []byte) error
}

// WindowSink is implemented by sinks that keep several batches in flight (the
// relay client: BATCH frames awaiting their ACKs). Send hands evs over and
// returns without waiting for delivery. Neither Send nor Write keeps anything
// of evs (their strings point into a read buffer that is reused). Unless Send
// returns an error, done is called exactly once, from another goroutine and
// without blocking, with the batch's outcome (Write's contract: nil is
// delivered). The output loop keeps at most Window batches in flight, commits
// its cursor to the highest batch delivered with all before it, and when one
// fails sends it (and every later one that was not delivered) again, in
// order, through Write.
type WindowSink interface {
	Sink
	Send(ctx context.Context, evs []protocol.Event, done func(error)) error
	Window() int
}

// RecordSink is a WindowSink that takes the WAL records themselves (each an
// event's binary form, see protocol) instead of decoded events: the relay
// client forwards them without decoding and encoding every event again. A
// record whose event carries no ID gets this node's ID and the record's WAL
// index (protocol.AppendRecordWithID). SendRecords has Send's contract.
type RecordSink interface {
	WindowSink
	SendRecords(ctx context.Context, recs []wal.Record, done func(error)) error
}

// IndexedSink is a WindowSink that is given each event's WAL index (idx[i]
// is evs[i]'s record) and copies all it needs of evs and idx before
// SendIndexed returns: the embedded store, which keeps hundreds of batches in
// flight until its engine has them on disk, and removes a replayed window's
// duplicates by index. Since it copies, the batch's buffers are reused as
// soon as SendIndexed returns. It reports a failure only by SendIndexed's
// error (the batch is then retried with its events): done is called with nil
// once the events are durable; an error given to done ends the consumer
// (the batch's events are gone from memory; a restart replays them).
type IndexedSink interface {
	WindowSink
	SendIndexed(ctx context.Context, evs []protocol.Event, idx []uint64, done func(error)) error
}

// Reopener is implemented by sinks that hold files an operator may rotate
// away (SIGHUP reopens them).
type Reopener interface {
	Reopen() error
}

// IsPermanent reports whether err (or anything it wraps) says Permanent().
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
