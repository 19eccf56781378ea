package appliance

import (
	"context"
	"errors"

	"logpacker/protocol"
)

// Source is an input. Run reads until ctx ends. emit returns nil only once
// the events are durable in the WAL; a source acknowledges (where its
// protocol can) or reads on only after that.
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
