// Package pipeline is the node's data path between the inputs and the
// outputs: the Source and Sink contracts (pipeline.go), the ingest path into
// the WAL (ingest.go), the consumer loop that moves one output's cursor
// (consumer.go), dead letters (deadletter.go) and their metrics
// (metrics.go). It knows nothing of configuration or of particular inputs
// and outputs: package appliance wires those to it, and sources and sinks
// implement its interfaces without importing it (the contracts are small
// and structural).
//
// # Data path
//
//	listener ──parse──▶ batch ──Emit──▶ WAL (group commit, fsync) ──▶ ack / read on
//	relay input ──(checked records)──EmitRecords──┘ │
//	                                     ├─ cursor "output.file"  ──▶ decode, fill ID, match ──▶ Prepare/WritePrepared ──▶ Commit
//	                                     ├─ cursor "output.NAME"  ──▶ decode, fill ID, match ──▶ Sink.Write ──▶ Commit
//	                                     └─ cursor "output.relay" ──▶ records as they are ──▶ Send (window of batches) ──▶ Commit on ACK
//
// Emit (ingest.go) stamps Received, encodes each event with the binary
// codec and appends the batch; it returns only when the WAL says the batch
// is durable under the fsync policy. Locally accepted events are stored
// without an ID: the WAL index is their sequence, and the consumer fills
// ID = (origin, index) when it reads them back, so IDs are given exactly
// once, at the first append, with no extra write. The origin
// (ConsumerOptions.NodeID) is the node ID and the WAL's epoch
// (protocol.Origin): a WAL created anew numbers from 1 again under a new
// epoch, so its IDs are new too.
//
// Each output is a consumer (consumer.go) with its own named WAL cursor, so a
// slow or dead output delays no other (its lag is the cursor-lag metric; the
// WAL keeps segments for it up to [wal] max_size and when_full). It reads a
// batch, passes over the events its match keys (appliance/match) do not
// select, delivers the rest with retries (capped exponential backoff with
// jitter), and commits the cursor only after the sink confirmed; a
// WindowSink (the relay client) keeps several batches in flight and commits
// to the highest one acknowledged with all before it; a
// Permanent() error sends the batch to data_dir/deadletter-<output>.jsonl
// and moves on. A crash anywhere replays from the last commit; sinks are
// idempotent on the event ID (the file sink skips what it already wrote).
//
// A reload changes a running consumer in two ways only: SetMatch swaps its
// matcher (an atomic pointer, read once per batch: a batch is selected with
// one matcher, the next batch read uses the new one), and Stop ends it
// gracefully (it reads no more, delivers and commits what it already read,
// and Run returns), so that the node can close its sink and open another on
// the same cursor, or drop the cursor.
//
// # Sink kinds
//
// A plain Sink gets decoded events; a PreparedSink (the file output) has
// its next batch encoded while the last one is written; a WindowSink keeps
// several batches in flight; a RecordSink (the relay client) gets the WAL
// records undecoded. Alerting and aggregation are consumers too: each is a
// Sink with its own cursor.
package pipeline
