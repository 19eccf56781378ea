// Package mysql is the MySQL / MariaDB output: each batch of events goes into
// one table in one transaction, keyed on the event ID, so the at-least-once
// delivery of the output loop stores every event exactly once.
//
// # Table
//
// New creates the table if it is missing (CREATE TABLE IF NOT EXISTS; an
// existing table is used as it is):
//
//	CREATE TABLE logs (
//	  id       VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- "<node>:<seq>"
//	  time     DATETIME(6) NULL,      -- from the message, UTC; NULL when it had none
//	  received DATETIME(6) NULL,      -- when the first node read it, UTC
//	  host     VARCHAR(255) NOT NULL DEFAULT '',
//	  app      VARCHAR(128) NOT NULL DEFAULT '',
//	  severity TINYINT UNSIGNED NOT NULL, -- 0 emerg .. 7 debug
//	  facility TINYINT UNSIGNED NOT NULL, -- 0 kern .. 23 local7
//	  message  MEDIUMTEXT NOT NULL,
//	  extra    JSON NULL,             -- the rest of the event; NULL when there is none
//	  PRIMARY KEY (id),
//	  KEY time_idx (time), KEY host_time (host, time),
//	  KEY app_time (app, time), KEY severity_time (severity, time)
//	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
//
// extra is a JSON object with the public JSON form's names for what has no
// column: procid, msgid, sd ({"sd-id":{"param":"value"}}), tags, fields,
// transport, peer, hops, count (when > 1), parse_error; and, when a value
// did not fit its column, the original: host, app (cut to the column), time,
// received (outside DATETIME's years 1000–9999, stored as NULL) and
// message_bytes (the original length of a message that was cut). On MariaDB
// JSON is LONGTEXT with a JSON_VALID check, on MySQL the native type.
//
// # Rows never fail
//
// Rows are built so that a strict-mode server cannot refuse them: every
// string is made valid UTF-8 (invalid bytes become U+FFFD; utf8mb4 takes
// every valid character), host and app are cut to their column on a
// character boundary, a message is cut to fit MEDIUMTEXT and the statement
// budget below, extra is built by the sink and always valid JSON. An ID
// longer than the column (never seen in practice) becomes a prefix plus its
// SHA-256, the same on every retry.
//
// # Writes
//
// Write sends one transaction: BEGIN, multi-row INSERTs, COMMIT. Each INSERT
// has at most MaxRows rows (default 250; ≤ 7281: 9 placeholders a row, 65535 per
// statement) and about MaxStatementBytes bytes, lowered to the server's
// max_allowed_packet (read when the table is checked); strings are counted
// twice, the worst case of escaping. The INSERTs are server-side prepared
// statements, cached per row count (database/sql prepares them again on each
// connection it uses): against MariaDB 10.11 on 2 cores, batches of 1000
// events went in at about 120,000 events/s with 250-row statements, against
// about 90,000 with the driver interpolating the values into the text
// (Options.Interpolate, for servers without prepared statements such as
// SphinxQL); 1000-row statements were slower in both modes
// (BenchmarkInsertIntegration).
//
// A row whose id is stored already is left untouched: INSERT … ON DUPLICATE
// KEY UPDATE id=id. (INSERT IGNORE would do the same for duplicates but also
// turn other errors, a CHECK failure or a too-long value, into warnings and
// silently drop or mangle the row.) So a batch written again after a crash,
// a lost COMMIT reply or a server restart is stored once, and the output's
// cursor, which commits after Write returns, can replay freely.
//
// # Errors
//
// Connection errors, timeouts (Options.Timeout bounds a whole Write),
// deadlocks, lock wait timeouts, a server that is down or restarting, and
// schema problems an operator can fix (missing table, unknown column,
// access denied) are returned plainly: the output loop retries the same
// batch with back-off, and database/sql reconnects. After 1146 (no such
// table) or 1054 (unknown column) the next Write runs CREATE TABLE IF NOT
// EXISTS again. Errors that the same rows will get on every retry — data
// too long (1406), incorrect string (1366) or datetime (1292) value, out of
// range (1264), truncated (1265), NULL in a NOT NULL column (1048), invalid
// JSON (3140, 4025), packet too large (1153, 1301) — report Permanent(), so
// the loop dead-letters the batch. With the sink's own table they do not
// happen; they come from a table created elsewhere with narrower columns.
//
// New does not fail when the server is unreachable: it logs, and the first
// Write creates the table (a node starts while its database is down).
//
// # Configuration
//
// A type = mysql [output.NAME] section is read with Options.Set (dsn,
// table) and checked with Options.Validate (dsn is required); New checks
// the DSN's syntax and the table name. DefaultOptions is the zero Options.
// The keys are documented in appliance/server.ini.default (and README.md);
// the node handles type, batch_size, flush_interval and the match keys.
package mysql
