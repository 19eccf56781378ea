package appliance

import (
	"context"

	"logpacker/appliance/pipeline"
	"logpacker/relay"
	"logpacker/wal"
)

// relayOutput is the relay client as the node's relay output: a RecordSink
// whose SendRecords hands the WAL records to relay.Client.SendRecords as
// relay.Records (package relay does not know package wal). The consumer
// calls SendRecords from one goroutine, and the client keeps nothing of the
// records once it returns, so one buffer serves every batch.
type relayOutput struct {
	*relay.Client
	recs []relay.Record
}

var _ pipeline.RecordSink = (*relayOutput)(nil)

// SendRecords is relay.Client.SendRecords for WAL records.
func (o *relayOutput) SendRecords(ctx context.Context, recs []wal.Record, done func(error)) error {
	buf := o.recs[:0]
	for _, r := range recs {
		buf = append(buf, relay.Record{Index: r.Index, Data: r.Data})
	}
	err := o.Client.SendRecords(ctx, buf, done)
	clear(buf) // pin no read buffer until the next batch
	o.recs = buf
	return err
}
