// Package victorialogs is the VictoriaLogs output, for installations that
// outgrow one root's embedded store: each batch of events goes to a
// single-node VictoriaLogs or to a cluster's vlinsert through the JSON-lines
// ingestion API, POST /insert/jsonline.
//
// # Delivery: at least once, exact with uniq by (id)
//
// VictoriaLogs has no unique keys: a line sent twice is stored twice. The
// output loop retries a batch whose request failed or whose answer was lost
// (and replays the last one after a crash), so an event may be stored more
// than once: delivery into VictoriaLogs is at least once. Every line carries
// the event's ID in the field id ("<origin>:<seq>", the same in every
// copy), so a query that pipes through
//
//	… | uniq by (id)
//
// (or counts with count_uniq(id)) sees each event exactly once. Nothing
// acknowledged by VictoriaLogs is taken back, and nothing is lost on
// logpacker's side: the cursor moves only after a 2xx.
//
// VictoriaLogs itself answers 200 before the data is on its disk: a
// VictoriaLogs process that is killed (or a machine that loses power) loses
// what it took in the last -inmemoryDataFlushInterval (default 5s). No
// client can see that; TestKillIntegration kills the server mid-request and
// leaves that window out by waiting for the flush first.
//
// # Requests
//
// Prepare encodes one JSON object per event and line (PreparedSink: the
// output loop encodes the next batch while the last is sent); WritePrepared
// compresses the batch (Options.Compression: gzip, the default, zstd or
// none; Content-Encoding) and POSTs it, Content-Type application/stream+json,
// to <url>/insert/jsonline?_msg_field=_msg&_time_field=_time&_stream_fields=
// host,app (Options.StreamFields; the query args of the configured URL, such
// as extra_fields, are kept). Authorization is basic (username, password) or
// Bearer (bearer_token); the tenant goes in the AccountID and ProjectID
// headers when set. A request that fails for now is tried on the next URL
// of Options.URLs the next time.
//
// # Fields
//
//	_msg          message
//	_time         the event's time (RFC 3339 with nanoseconds and its zone);
//	              the received time when it has none
//	id            "<origin>:<seq>", the key for uniq by (id)
//	received      when the first node read it
//	host app procid msgid transport peer parse_error   as in the event
//	facility severity   names (local0, err)
//	tags          the JSON array, which VictoriaLogs stores as its text: ["a","b"]
//	fields.<key>  each of the event's fields (JSON input, journald)
//	sd.<SD-ID>.<name>   each RFC 5424 structured-data parameter
//	hops count    when above 0 and 1
//	time          the event's own time, only when VictoriaLogs cannot store it
//	              as _time (a year outside 1678-2261); _time is then the received time
//	truncated     "true" when the event was shortened (below)
//
// Empty values are left out (VictoriaLogs stores no empty field; an empty
// message is shown as its -defaultMsgValue). The stream fields (default
// host, app; stream_fields may name host, app, procid, msgid, facility,
// severity, transport and fields.<key>) make _stream.
//
// # Lines VictoriaLogs would drop
//
// VictoriaLogs drops a line it cannot take — logging a warning but answering
// 200 when the request's other lines are good, so the sender never learns —
// when it is not valid JSON, its _time does not parse (years outside
// 1677-2262), it is longer than -insert.maxLineSizeBytes (256 KiB), it has
// more than -insert.maxFieldsPerLine (1000) fields or a field name longer
// than 128 bytes. The encoder never makes such a line: JSON is escaped as
// the event's JSON form escapes it (invalid UTF-8 becomes U+FFFD); _time
// falls back as above; a field name over 128 bytes becomes its first 119
// bytes, '~' and 8 hex digits of its FNV-1a hash; fields.* and sd.* stop at
// 976 fields; and a line longer than Options.MaxLineSize (max_line_size,
// default 256 KiB: set it to the server's flag) has its message cut to fit,
// or, when even an empty message does not fit, leaves out tags, fields.*
// and sd.* and cuts the other strings to 256 bytes. Such events carry
// truncated=true and are counted (logpacker_victorialogs_truncated_total;
// logged at most once a minute). FuzzPrepare checks these rules.
//
// VictoriaLogs also drops, silently for the client, events whose _time is
// outside its retention (-retentionPeriod, default 7d, and -futureRetention,
// 2d): an output that catches up after a longer outage, or a sender whose
// clock is wrong, needs a retention that covers them.
//
// # Answers
//
//   - 2xx: taken.
//   - 413 (the request is too large for the server or a proxy): sent again
//     as two halves, each split again as needed; one line answered 413 is
//     refused for good.
//   - 400 (bad query args or headers — an extra_fields without "=" — or a
//     body none of whose lines VictoriaLogs could read), 411, 414, 415, 422:
//     refused for good, a permanent error (Permanent() true): the output loop
//     writes the batch to the dead-letter file and moves on.
//   - Anything else — connection errors, timeouts (Options.Timeout, default
//     30s, bounds one WritePrepared), 5xx, 429, 401/403 (credentials), 404
//     (a wrong URL path), a proxy's other 4xx: a plain error; the loop
//     retries the batch with backoff until it is taken.
//
// # Configuration
//
// A type = victorialogs [output.NAME] section is read with Options.Set (urls,
// stream_fields, username, password, bearer_token, account_id, project_id,
// compression, tls_ca, timeout, max_line_size) and checked with
// Options.Validate (urls required; bearer_token and username/password
// exclusive). DefaultOptions has the defaults. The keys are documented in
// appliance/server.ini.default and README.md; the node handles type,
// batch_size and the match keys (no flush_interval: a PreparedSink gets what
// the WAL has, up to batch_size).
//
// # Metrics
//
// *Sink is a prometheus.Collector: logpacker_victorialogs_<counter>_total
// {output=NAME} for events, requests, bytes (compressed bodies taken),
// failed_requests, rejected (events refused for good), split_requests and
// truncated.
//
// # Tests
//
// The tests run the real server (package vltest: victoria-logs, built by
// .ci/install-deps.sh from its Go module, on 127.0.0.1 with its own port and
// data directory): every field of what was written comes back from
// /select/logsql/query, in three tenants and with each compression; a batch
// sent three times is stored three times and uniq by (id) gives each event
// once; an unreadable body and a bad extra_fields are permanent errors; the
// server SIGKILLed in the middle of three requests and restarted loses
// nothing. A fake server checks the headers, the 413 split and the failover
// to the next URL.
package victorialogs
