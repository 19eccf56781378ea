// Package store is the embedded searchable store: the output that makes a
// node searchable with nothing else installed (the embedded [output.store],
// on by default for a root; more as `[output.NAME] type = store`), and the
// Search, Hits and Facets the REST API answers from.
//
// # Engine: VictoriaLogs' logstorage, as a library
//
// github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage, in process (pure
// Go with CGO_ENABLED=0: its zstd is klauspost/compress then). It was chosen
// over the SQLite/FTS5 store it replaces by measurement on the same 10 M
// events (BenchmarkStore10M; the table is in README.md): 6.5× less CPU per
// inserted event, 22× fewer bytes on disk, the newest page of a common word
// in 5 ms instead of 194 ms, top-10 facets over 24 h in 0.16 s instead of
// 13 s. Data lives in Dir/partitions/YYYYMMDD (one partition per UTC day of
// received time), each a set of immutable parts of columnar blocks (zstd,
// per-block bloom filters of the words of every column) that the engine
// merges in the background; Dir/indexdb holds its stream index.
//
// # Rows
//
// One row per event, every value a string (empty values are not stored):
// _time is the received time (unix ns; the order of pages and the axis of
// the histogram), _msg the message, host, app, severity and facility (0-7
// and 0-23, as numbers), node and seq (the event ID), time and tz (the
// message's own time as received minus it in ns, and its zone offset in
// seconds when not UTC: numbers, which the engine stores compactly; as an
// RFC 3339 string it was tokenised for the bloom filters, and inserts cost
// 1.5× the CPU), procid, msgid, sd (JSON), tags (JSON
// array), transport, peer, hops, count, parse_error, and fields.KEY for each
// of the event's fields. An event a node relayed on gets lp_at (the origin of
// this node's WAL) and lp_wal (its index there). eventOf rebuilds the event:
// Search returns exactly the JSON of the event as it went in.
//
// No stream fields: every row is in the one stream, so the engine's blocks
// hold thousands of rows of all hosts. With host and app as stream fields
// (1,600 streams in the benchmark) the blocks held a row or two each and
// inserts cost 2.4× the CPU; host and app conditions are column filters
// answered through the bloom filters instead.
//
// # Durability and exactly once: checkpoints and the replay check
//
// The output loop gives batches to SendIndexed (a pipeline.IndexedSink,
// with each event's WAL index); the store adds them to the engine at once
// and confirms them (done) only at its next checkpoint, every
// FlushInterval (1 s): DebugFlush turns the engine's row buffers into
// in-memory parts, and a snapshot of each partition written to since the
// last one makes the engine write those parts to files and sync them (the
// snapshot, hard links, is deleted at once). Only then does the output's
// WAL cursor move, so a crash loses nothing the cursor passed.
//
// The engine has no unique keys, and it also flushes on its own: after a
// crash, part of what followed the last checkpoint may be on disk, never in
// WAL order. So the first batch after Open asks the engine which WAL indexes
// from its first one on it already holds (node = the node's origin and seq
// ≥ it, or lp_at = the origin and lp_wal ≥ it), and those events are
// skipped until the replay passes the newest of them (replayWindow). The
// node's origin includes its WAL epoch, so a new WAL never matches an old
// one's rows. TestReplaySkipsStored checks the logic, and
// TestStoreKillIntegration (appliance) the whole: 300,000 messages, three
// SIGKILLs while the store writes, every one stored exactly once.
// Write (for callers outside the output loop) adds and checkpoints at once.
//
// # Retention, disk cap, disk full
//
// Retention (default 14 d) drops whole days whose end is older than it (the
// engine checks at Open and hourly) and events received before it are not
// stored. MaxDisk (max_disk) drops the oldest days while the store is
// larger (at Open, then every 10 s; the newest two days are always kept:
// TestMaxDisk). Below MinFree free bytes on its filesystem (a statfs per batch)
// SendIndexed and Write return ErrReadOnly: the output retries with backoff,
// its cursor stays and the WAL keeps the events; what is stored stays
// searchable, and writing resumes once space is freed (TestDiskFull). The
// node's auto min_free is a quarter of [wal] min_free, so on a shared disk
// the store writes on into the WAL's reserve and the node drains by itself.
//
// # Search
//
// Search(ctx, Query) returns complete events newest first by (received,
// node, seq). It reads back from the newest received time (To, or the end
// of the newest partition) in windows of 10 s growing eightfold, each a
// LogsQL query `FILTER | sort by (_time desc) limit K` over the window, until
// the page (plus one: is there a next?) is full or From (or the oldest
// partition) is passed: the newest page of a common word reads seconds of
// events, not the store. Rows at the page's oldest received time are all
// fetched and ordered by ID here, so pages are exact when many events share
// a received time. Result.Next is base64url of (version, received, seq,
// node) of the last event; the next page is everything strictly older, so
// paging returns every event once even while new ones arrive.
//
// Conditions (Query, from the API's parameters): text (ParseText: words,
// "phrases", prefix*), From/To on the received time, Severity (this and
// worse), Host (exact, in its common cases), App (exact), Tag. The user's
// text never reaches LogsQL as syntax: every term is quoted. A word or
// phrase matches in its common cases (contains_common_case of the term with
// its words capitalised: as typed, lower case, UPPER CASE, Capitalised),
// which the bloom filters answer quickly; a prefix, or a term with more than
// six capitals, matches in any case (i(…), a scan of the range). Bad input
// is a *QueryError, which the API answers with 400.
//
// Hits(ctx, Query, step) counts per step of received time (`| stats by
// (_time:STEP) count()`), every bucket of [From, To) listed; Facets(ctx,
// Query, limit) gives the top values of host, app, severity and tags (`| top
// N by (FIELD)`, tags unrolled from their JSON arrays), the four at once.
//
// # Configuration
//
// A type = store [output.NAME] section is read with Options.Set (enabled,
// dir, retention, max_disk, min_free) and, when it is new, checked with
// Options.Validate (dir is required). Enabled (auto | true | false) is for
// the node, which decides from it whether to Open the store at all; Open
// ignores it. DefaultOptions is the embedded [output.store] but for enabled
// (true) and dir (none). The keys are documented in
// appliance/server.ini.default (and README.md); the node handles type,
// batch_size, flush_interval and the match keys, resolves dir against
// data_dir, and gives Origin and the auto min_free. The engine keeps its
// process-wide settings in the standard flag set (quietEngine: WARN level,
// parsed). Day files of the SQLite store that came before are moved to
// Dir/sqlite-old at Open, not converted.
package store
