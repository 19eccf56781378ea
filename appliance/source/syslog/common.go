package syslog

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/protocol"
	psyslog "logpacker/protocol/syslog"
)

// EmitFunc hands a batch to the node's ingest path; nil means durable. It
// must not keep evs after it returns: the source reuses the slice.
// (Same shape as appliance.EmitFunc; sources never import appliance.)
type EmitFunc = func(context.Context, []protocol.Event) error

// TruncatedTag marks an event whose message was longer than the listener's
// max_message_size and was cut once.
const TruncatedTag = "truncated"

// Common are the settings every syslog listener shares.
type Common struct {
	Name      string          // listener name, used in metrics and logs ("syslog_tcp")
	Parse     psyslog.Options // max size, default zone
	BatchSize int             // events per emit at most; default 512
	Metrics   *Metrics
	Logger    *slog.Logger
}

func (c *Common) defaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 512
	}
	if c.Metrics == nil {
		c.Metrics = NewMetricVecs(prometheus.NewRegistry()).Listener(c.Name)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Parse.MaxSize <= 0 {
		c.Parse.MaxSize = psyslog.DefaultMaxSize
	}
}

// decoder turns one message into one event and counts it. Counts are kept
// locally and added to the shared counters by flush, once per batch: atomic
// adds per message on counters shared by every connection cost more than the
// parsing around them.
type decoder struct {
	p         *psyslog.Parser
	m         *Metrics
	transport string

	received, parsed, parseErrors, truncated int
}

// flush adds the counts since the last flush to the listener's metrics.
func (d *decoder) flush() {
	if d.received > 0 {
		d.m.Received.Add(float64(d.received))
		d.m.Parsed.Add(float64(d.parsed))
		d.m.ParseErrors.Add(float64(d.parseErrors))
		d.m.Truncated.Add(float64(d.truncated))
		d.received, d.parsed, d.parseErrors, d.truncated = 0, 0, 0, 0
	}
}

func newDecoder(c *Common, transport string) *decoder {
	return &decoder{p: psyslog.NewParser(c.Parse), m: c.Metrics, transport: transport}
}

// decode appends the event for msg to batch. framedTruncated reports that
// the framer already cut the message (it is then counted once, here).
func (d *decoder) decode(batch []protocol.Event, msg []byte, peer string, framedTruncated bool) []protocol.Event {
	batch = append(batch, protocol.Event{Peer: peer, Transport: d.transport})
	ev := &batch[len(batch)-1]
	truncated := d.p.Parse(msg, ev) || framedTruncated
	d.received++
	if ev.ParseErr != "" {
		d.parseErrors++
	} else {
		d.parsed++
	}
	if truncated {
		d.truncated++
		ev.Tags = append(ev.Tags, TruncatedTag)
	}
	return batch
}

// pipeline overlaps reading+parsing with the WAL append of the previous
// batch: the reader hands a batch to the emitter whenever it is free, and
// blocks (back-pressure) when one batch is in flight and the next is full.
// The emitter stores each batch (storer: retried while the WAL fails it);
// once the WAL refused one for good (closed), it calls onErr once, and that
// batch and every later one handed over are counted as dropped.
type pipeline struct {
	ch   chan []protocol.Event
	free chan []protocol.Event // emitted batches, for reuse (emit keeps nothing)
	done chan error
}

func startPipeline(ctx context.Context, c *Common, st *storer, onErr func(error)) *pipeline {
	p := &pipeline{ch: make(chan []protocol.Event), free: make(chan []protocol.Event, 2), done: make(chan error, 1)}
	go func() {
		var err error
		dropped := 0
		for batch := range p.ch {
			if err == nil {
				if err = st.store(ctx, batch); err != nil {
					onErr(err)
				}
			}
			if err != nil {
				dropped += len(batch)
				c.Metrics.Dropped.Add(float64(len(batch)))
			}
			select {
			case p.free <- batch[:0]:
			default:
			}
		}
		if dropped > 0 {
			c.Logger.Error("messages read but not stored: the WAL refused them for good (counted in logpacker_listener_dropped_total)",
				"listener", c.Name, "dropped", dropped, "err", err)
		}
		p.done <- err
	}()
	return p
}

// get returns an empty batch: an emitted one when there is one.
func (p *pipeline) get(size int) []protocol.Event {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]protocol.Event, 0, size)
	}
}

// offer hands batch to the emitter if it is idle; it returns true if taken.
func (p *pipeline) offer(batch []protocol.Event) bool {
	select {
	case p.ch <- batch:
		return true
	default:
		return false
	}
}

// send hands batch to the emitter, waiting for it.
func (p *pipeline) send(batch []protocol.Event) { p.ch <- batch }

// close flushes and waits until every handed batch was emitted.
func (p *pipeline) close() error {
	close(p.ch)
	return <-p.done
}

var idleFlush = 2 * time.Millisecond
