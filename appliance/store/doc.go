// Package store is the embedded searchable store: the output that makes a
// node searchable with nothing else installed (the embedded [output.store],
// on by default for a root; more as `[output.NAME] type = store`),
// and the Search the REST API answers from.
//
// # Engine
//
// SQLite through modernc.org/sqlite: pure Go (the binary is built with
// CGO_ENABLED=0), FTS5 compiled in, one file per database, readers that do
// not block the writer (WAL journal mode), and a format every operator can
// open with the sqlite3 shell.
//
// # Files: one per UTC day
//
// Dir/YYYY-MM-DD.db holds the events received (protocol.Event.Received, in
// UTC) that day; an event without a received time (ingest always sets one)
// goes by its own time. Partitioning by day makes retention cheap (a file is
// deleted, no DELETE and no VACUUM) and lets a search that is bounded in
// time, or paging back, skip whole files.
//
// # Schema (every day file)
//
//	CREATE TABLE events (
//	  rid      INTEGER PRIMARY KEY,          -- rowid, the FTS link
//	  id       TEXT NOT NULL UNIQUE,         -- "<node>:<seq>", the event ID
//	  time     INTEGER,                      -- unix ns, from the message; NULL when none
//	  received INTEGER NOT NULL,             -- unix ns
//	  host     TEXT NOT NULL COLLATE NOCASE,
//	  app      TEXT NOT NULL,
//	  severity INTEGER NOT NULL,             -- 0 emerg .. 7 debug
//	  facility INTEGER NOT NULL,             -- 0 kern .. 23 local7
//	  message  TEXT NOT NULL,
//	  json     TEXT NOT NULL                 -- the whole event, public JSON form
//	);
//	indexes: (received, id), (time), (host, received), (app, received), (severity, received)
//	CREATE TABLE blocks (lo INTEGER PRIMARY KEY, hi INTEGER NOT NULL,
//	  max_received INTEGER NOT NULL);      -- per write transaction: its rids, newest received
//	CREATE VIRTUAL TABLE events_fts USING fts5(message, content='events',
//	  content_rowid='rid', tokenize='unicode61 remove_diacritics 2');
//
// The id is UNIQUE rather than the primary key so that the FTS index can
// point at a stable INTEGER PRIMARY KEY (an implicit rowid may change on
// VACUUM). events_fts is an external-content table: it indexes the message
// and stores no copy of it.
//
// # Writes and idempotence
//
// Write is the appliance.Sink: per day the batch touches, one transaction
// of multi-row INSERT … VALUES (…),(…) … ON CONFLICT (id) DO NOTHING (64
// rows per statement, then 16, 4, 1 for the rest; each row count's statement
// is prepared once per day file; only a duplicate id is skipped, also inside
// one statement; INSERT OR IGNORE would also hide other constraint
// failures), then one
// INSERT INTO events_fts … SELECT of the rows the transaction added: new
// rows get rids above the largest before it, and a skipped duplicate adds no
// row, so it is never indexed twice. (An AFTER INSERT trigger does the same
// but FTS5 flushes its pending index at each statement's savepoint: with
// it, BenchmarkWrite was about 3 times slower.) temp_store = MEMORY keeps
// statement journals off the disk. A batch written again after a crash is stored once.
//
// # Durability: synchronous = FULL
//
// The output loop commits its WAL cursor after Write returns, and syncs the
// cursor file within 50 ms, independently of SQLite. With synchronous =
// NORMAL a commit in WAL mode reaches the disk only at the next checkpoint:
// after a power loss the cursor could be past events the store lost, and the
// node's WAL segments holding them may already be gone — lost for good. FULL
// fsyncs the SQLite WAL at every commit, so a Write that returned is on
// disk; it costs one fsync per batch and day (batches are 2048 events by
// default). A process crash loses nothing under either setting. A new day
// file's directory entry is fsynced when it is created.
//
// # Retention
//
// A day file is deleted when its whole day is older than Retention (day end
// <= now - Retention): at Open, then every hour (DropExpired, which tests
// call directly). A search using the file finishes first. Events that would
// land in a day already past retention (an old backlog relayed late) are
// skipped and logged, rather than creating a file that would go at once.
//
// # Search
//
// Search(ctx, Query) returns complete events (their JSON) newest first by
// (received, id), the day files newest first, stopping once Limit is filled
// (it then asks the next day files for one more match, so Result.Next is
// empty exactly when there is no further page). Conditions: Text (full text
// on the message, see ParseText: words, "phrases", prefix*; FTS5's own
// operators are never taken from the user, every term is quoted), From/To
// on the received time, Severity (this and worse), Host (any case), App,
// Tag (exact, not indexed: json_each over the stored tags).
//
// A text condition is evaluated one of two ways. SQLite's own plan takes
// every match of the text, then orders them by received time: cheap for a
// rare word, seconds for a word in most of a day's millions of events. So
// when the text alone has at least 10,000 matches in a day file, and the
// search has no host, app, tag or end time (which SQLite's indexes narrow
// better), the matches are walked newest rowid first (FTS5 streams them)
// and the walk stops once no row left can be newer than the oldest of the
// page: the blocks table holds, per write transaction, its rid range and
// newest received time, and the rows left all lie in the current block or
// earlier ones (or before From). Rows arrive roughly in received order, so
// this reads little more than a page of matches; a backlog relayed late
// only makes it read further. A day file whose blocks do not account for
// every row uses the plain plan. TestTextStreamingMatchesPlainQuery checks
// that both give the same pages, on out-of-order data.
//
// Result.Next is
// an opaque cursor, base64url of (version, received, id) of the last event;
// the next page is everything strictly before it, so paging returns every
// event once even while new events arrive (they are newer than the cursor).
// An event relayed late with a received time older than a page already
// read is not on later pages. Bad input (text syntax, cursor, limit) is a
// *QueryError, which the API answers with 400; ParseQuery reads a Query from
// URL parameters.
//
// # Configuration
//
// A type = store [output.NAME] section is read with Options.Set (enabled,
// dir, retention) and, when it is new, checked with Options.Validate (dir
// is required). Enabled (auto | true | false) is for the node, which
// decides from it whether to Open the store at all; Open ignores it.
// DefaultOptions is the embedded [output.store] but for enabled (true) and
// dir (none). The keys are documented in appliance/server.ini.default (and
// README.md); the node handles type, batch_size, flush_interval and the
// match keys, and resolves dir against data_dir.
package store
