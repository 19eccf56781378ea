// Package journal is the journald input: systemd-journal-upload (Debian's
// systemd-journal-remote package) pointed straight at a node, as it would
// be at systemd-journal-remote:
//
//	systemd-journal-upload --url=http://journal:TOKEN@logs.example.com:8080 --save-state
//
// (URL user and password are sent as Basic authentication: the password is
// an [ingest] tokens token; journal-upload cannot send other headers.)
//
// # Journal Export Format, streamed
//
// journal-upload POSTs to URL/upload with Content-Type
// application/vnd.fdo.journal and a chunked body in Journal Export Format
// (systemd.io/JOURNAL_EXPORT_FORMATS): entries separated by an empty line,
// each field either "NAME=value\n" or, for a value with a newline or other
// binary bytes, "NAME\n" + its size as a little-endian uint64 + the bytes +
// "\n". Decoder reads it entry by entry from the body: an upload of any
// length (a backlog of 1 GiB) is held at most one batch at a time (1024
// entries or 4 MiB, plus one entry of at most [ingest] max_event_size), and
// each batch is in the WAL, durable, before the next is read. Bodies may be
// gzip or zstd (Content-Encoding), as newer journal-upload sends them.
//
// # Mapping
//
// MESSAGE → message, PRIORITY → severity, SYSLOG_FACILITY → facility,
// SYSLOG_IDENTIFIER (else _COMM) → app, _HOSTNAME → host, _PID (else
// SYSLOG_PID) → procid, __REALTIME_TIMESTAMP (µs since the epoch) → time.
// Every other field (__CURSOR, _BOOT_ID, _SYSTEMD_UNIT, CODE_FILE, …) is in
// fields under its own name. Binary fields stay exact: a value that is
// valid UTF-8 (a multi-line message) is kept as text; any other value is
// kept base64-encoded under NAME.base64 (JSON, Elasticsearch and MySQL
// outputs could not carry the raw bytes); a non-UTF-8 MESSAGE is also the
// message with invalid bytes replaced. A field repeated within an entry
// (journald allows it) keeps every value: NAME, NAME.2, NAME.3, ….
// Transport is "journal"; the source's name is a tag.
//
// # Cursors: a restart of either side loses nothing
//
// journal-upload sends the entries after its saved cursor in one POST,
// and saves the cursor of the last entry it sent (--save-state) only
// when that POST is answered with 2xx. The node answers 200 "OK." only
// after the last entry of the body is durable in the WAL; so:
//
//   - the node dies mid-upload: journal-upload sees the connection fail,
//     keeps its old cursor, exits with an error (systemd restarts it) and
//     sends everything after that cursor again.
//   - on every resume journal-upload (252) also sends the entry at its
//     saved cursor again, though it had been acknowledged.
//
// So the node remembers which entries it stored (Seen: per source and
// journal sequence, the s= of __CURSOR, the ranges of sequence numbers i=,
// in data_dir/journal-seen.json, rewritten after each batch is durable)
// and skips an entry it stored before (logpacker_journal_duplicates_total).
// It is exact: an entry is skipped only when that entry was stored, never
// because a later one was (no high-watermark: a --merge upload interleaves
// several sequences). Only entries stored in the moment between the WAL's
// fsync and that file's rewrite are stored twice if sent again: at least
// once, never lost. Entries without a cursor are always stored.
//
//   - journal-upload dies mid-upload: the node stores the complete entries
//     it read (the request's body ends early; the partial entry is not
//     stored) and answers nobody; the next run resends from the saved
//     cursor.
//   - a bad frame: the entries before it are stored, the cut entry is
//     not; 400 with the entry and byte offset ("journal export format:
//     entry 12 (byte 3456): …"); an entry above [ingest] max_event_size:
//     413. journal-upload keeps its cursor and logs the answer.
//
// Other answers follow systemd-journal-remote's: 415 without the content
// type, 405 for other methods, 503 when the WAL cannot store (retry).
package journal
