// Package file is the JSON-lines file output: one event per line in the
// public JSON form (protocol.Event.AppendJSON), appended and fsynced before
// Write returns, so the output's WAL cursor commits only what is on disk.
//
// Rotation is by size, between batches (a batch never straddles two
// files): Path → Path.1 → … → Path.MaxFiles, the directory fsynced after
// the renames. Reopen (SIGHUP) reopens Path for external rotation tools.
//
// # Crash behaviour: no duplicate lines
//
// The cursor commits after Write returns, so a crash between the fsync and
// the commit makes the WAL replay a batch that is already (wholly or partly)
// in the file, and a crash inside write(2) can leave a torn last line. On
// open, New cuts a torn last line (wal/durable.RepairLastLine; its batch was
// never committed and will be written again whole) and reads the IDs of the
// last TailScan bytes (and of Path.1 when the live file is shorter). Replay is in WAL order, so the
// already-written events are a prefix of the replay: Write skips events
// whose ID is in that set until the first one that is not, then stops
// checking. Events are matched by their full ID, not a watermark, so
// relayed events from several origins de-duplicate exactly.
//
// # Configuration
//
// A type = file [output.NAME] section is read with Options.Set (path,
// max_size, max_files, page_cache) and, when it is new, checked with
// Options.Validate (path is required); DefaultOptions is the embedded
// [output.file] without its path. The keys are documented in
// appliance/server.ini.default (and README.md); the node handles type,
// batch_size and the match keys.
package file
