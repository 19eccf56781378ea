// Package elastic is the Elasticsearch output: each batch of events goes to
// the cluster in _bulk requests, keyed on the event ID, so the at-least-once
// delivery of the output loop stores every event exactly once. It uses the
// official client, github.com/elastic/go-elasticsearch/v8 (authentication,
// TLS through Options.Transport, node pool, product check).
//
// # Requests
//
// Write sends one _bulk request (Content-Type application/x-ndjson) for the
// batch: per event an action line and the event's public JSON form (see
// protocol.Event.AppendJSON), each ending in "\n":
//
//	{"create":{"_index":"logpacker-2026.05.01","_id":"web-17-x9a:4711"}}
//	{"id":"web-17-x9a:4711","received":"2026-05-01T12:00:00.000000000Z",…}
//
// The action is create, not index: a document whose _id is there already is
// left as it is and answers 409 (version_conflict_engine_exception), which
// the sink counts as a duplicate — the event was stored by an earlier
// attempt whose answer was lost. An ID longer than Elasticsearch's 512-byte
// _id limit (never seen in practice) becomes a prefix plus its SHA-256.
//
// # Index names
//
// Options.Index is a pattern, default "logpacker-%Y.%m.%d": %Y (4-digit
// year), %m (month 01-12), %d (day 01-31), %H (hour 00-23) and %% (a literal
// %) are taken from the event's received time in UTC (its own time when it
// has none, 1970-01-01 when it has neither), so a retried event always goes
// to the same index. The rest is literal and must make a valid index name
// (lowercase; none of \ / * ? " < > | space , # :; not starting with - _ +;
// at most 255 bytes); New checks it. Indexes are created by Elasticsearch's
// automatic index creation, with the mappings of the index template below.
//
// # Index template
//
// Before its first _bulk request the sink puts a composable index template,
// PUT /_index_template/<Options.TemplateName> (default "logpacker-" and the
// output's name in lowercase). Its index_patterns come from Index: the
// literal text up to the first %-directive followed by * ("logpacker-*"),
// or the name itself when there is no directive (an Index that starts with
// a directive would give "*", every index of the cluster: New refuses it
// unless Template is none). It has priority 200 (above Elasticsearch's
// built-in logs/metrics templates, 100), "version" 1, _meta.managed_by
// "logpacker", and mappings for the event's public JSON form: id, facility,
// severity, transport keyword; host, app, procid, msgid, peer, tags,
// parse_error keyword with ignore_above 1024 (longer values stay in _source,
// unindexed, instead of rejecting the event for Lucene's term limit);
// received and time date_nanos (time with ignore_malformed: a sender's
// clock outside 1970-2262 must not reject the event); message text; sd and
// fields flattened (ignore_above 4096); hops integer; count long (a
// uint32). Fields not listed are mapped dynamically.
//
// Options.Template says how: create (the default) sends ?create=true, so an
// existing template of that name — the operator's own — is left as it is
// (the 400 "already exists" answer, illegal_argument_exception in
// Elasticsearch 8 or resource_already_exists_exception, counts as done);
// overwrite replaces it on every start (after an upgrade changed the
// mappings); none sends nothing. The template is put lazily, so a node
// starts while Elasticsearch is down, and until it is dealt with every
// Write tries it first: connection errors, 429 and 5xx (after the client's
// 3 retries) make Write return a transient error before any event is sent.
// 401/403 (the user lacks the manage_index_templates cluster privilege) or
// any other 4xx (a template of the same priority whose patterns overlap:
// 400) is logged once as a warning, counted (Stats.TemplateErrors), and the
// output goes on without the template: events are never held back for it.
// Indexes created before the template existed keep their mappings.
//
// # Answers
//
// The answer has one result per action, in request order; the sink checks
// that (count, "create", the _id of each) and treats an answer it cannot
// read as a transient error. Per item:
//
//   - 2xx: stored. 409: stored already (a duplicate; not stored twice).
//   - 429 (es_rejected_execution_exception), 5xx, and what an operator
//     fixes on the cluster — 401/403 (privileges on that index), 404
//     index_not_found_exception (automatic creation off),
//     cluster_block_exception (read-only or closed index) — are sent again,
//     alone, with capped exponential backoff and jitter, up to 8 requests
//     per Write and within Options.Timeout. Items still failing then make
//     Write return a plain error: the output loop retries the whole batch
//     later, and its items stored meanwhile answer 409.
//   - Any other 4xx (mapper_parsing_exception / document_parsing_exception:
//     a field whose value does not fit the index's mapping,
//     illegal_argument_exception, …) is permanent for that event: it is
//     appended to the dead-letter file (Options.DeadLetter, fsynced) as
//     {"output","index","_id","status","error":{"type","reason"},"event":{…}}
//     and counted, and the rest of the batch proceeds. The events
//     dead-lettered since the last successful Write are neither sent nor
//     written again when the loop retries the batch. If the dead-letter
//     file cannot be written, Write fails (transient): a rejected event is
//     never silently dropped. A failed append is cut back, so no partial
//     line runs into the next.
//
// # Dead letters across a restart
//
// The output loop commits its cursor after Write returns, so a crash
// replays the batch being written, and its events dead-lettered before the
// crash would be written a second time. New therefore reads the _ids of the
// complete lines in the last 64 MiB of the dead-letter file (the replayed
// batch was read with at most 8 MiB of WAL records, so its dead letters are
// there unless its events are mostly control characters, which JSON escapes
// sixfold); Write skips those events — neither sent nor written again — and
// logs how many. Every rejected event is in the file exactly once. A torn
// last line (a crash or full disk inside write(2): its Write failed, so its
// event comes again) is cut by New, however long it is (wal/durable's
// RepairLastLine, which the file output uses too), and the event is written
// again whole.
//
// A request refused as a whole — connection errors, 429 and 502-504 (first
// retried by the client, 3 times with backoff), other 5xx, 401/403 (wrong
// credentials), 413 (body over http.max_content_length: lower batch_size),
// any other status — makes Write return a plain error with the status and
// Elasticsearch's reason. Nothing is dropped and nothing is dead-lettered
// for it: the loop retries with backoff until the cause is fixed. Write
// never returns a permanent error, so the loop never dead-letters a whole
// batch.
//
// Stats counts indexed, duplicate (409), retried and dead-lettered items,
// and index templates refused for good (see Metrics below).
//
// # Tests
//
// No Elasticsearch runs in the tests (none is installable here): they run
// against a fake server on 127.0.0.1 (package elastictest, which the
// node-level test with the real binary uses too) that enforces the _bulk
// contract (content type, final newline, alternating create actions with
// _index and _id and JSON sources), stores documents by (_index, _id),
// answers like Elasticsearch 8 (per-item status and error, "errors": true,
// 409 on existing _ids) and injects whole-request 429s, per-item 429/503s,
// mapping errors and replies lost after storing. It implements PUT
// /_index_template/NAME too (create=true semantics, the body checked:
// known keys, index_patterns, mapping types and their parameters; same-
// priority overlaps refused), creates each index with the matching
// template's mappings and rejects documents that do not fit them, as
// Elasticsearch does; it injects 401/403/429/5xx answers to the template.
//
// # Configuration
//
// A type = elasticsearch [output.NAME] section is read with Options.Set
// (urls, username, password, api_key, index, template, template_name; each
// value checked as it is set) and checked with Options.Validate once all
// its keys are read (urls required; api_key and username/password
// exclusive; the template suits the index pattern), which returns an
// *option.KeyError naming the key a problem is about. DefaultOptions is the
// zero Options. The keys are documented in appliance/server.ini.default
// (and README.md); the node handles type, batch_size, flush_interval and
// the match keys.
//
// # Metrics
//
// *Sink is a prometheus.Collector for the node to register: Collect
// exports the Stats counters, read at each scrape, as
// logpacker_elasticsearch_<counter>_total (indexed, duplicates,
// retried_items, dead_lettered, template_errors) with the constant label
// output=Options.Name, so several outputs share a registry.
package elastic
