// Package appliance is the logpacker node: it reads server.ini, opens the
// WAL, binds the listeners, runs the outputs and serves /metrics,
// /healthz and /readyz. Only this package wires components together;
// sources (source/…) and sinks (sink/…) import protocol, never appliance.
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
// ID = (node ID, index) when it reads them back, so IDs are given exactly
// once, at the first append, with no extra write.
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
// # Start and stop
//
// New does everything that can fail (config, WAL, binding, opening
// outputs) before anything runs. Start starts outputs first, then inputs,
// then HTTP. Shutdown stops in reverse: HTTP, inputs (they emit what they
// had read), a short wait for outputs to catch up, outputs, WAL.
//
// # Configuration
//
// config.go: INI via gopkg.in/ini.v1, checked against a schema; the
// embedded server.ini.default is the single source of defaults (README
// shows it verbatim, a test keeps them equal). Errors are *ConfigError and
// name file, line and key.
//
// # Discovery, cluster, status (cluster.go)
//
// [relay] upstream becomes a discovery.Upstreams (DNS SRV or a static list)
// given to the relay client, with [relay]'s relay.Balance. With [cluster]
// bind the node joins the roots' memberlist cluster (discovery/cluster)
// once its relay listener is bound (its address is what members publish),
// and its relay server sends children the members (ServerOptions.Members).
// Reload (SIGHUP, or the config file's size or time changing; main polls it
// every 2 s) joins the members added to [cluster] nodes; other changes wait
// for a restart. GET /api/v1/status (what `logpacker status` prints) and
// GET /api/v1/cluster report parents, members, WAL size and cursor lag.
package appliance
