// Package filetail is the file source ([source.NAME] type = file): it
// follows files by glob and turns their lines into events, losing none
// and repeating none across rotations, restarts and kills.
//
// # Streams and files
//
// Every path a glob matches is a stream. A stream has the file at its
// path (cur), the files rotated away from it that are still read (old,
// in order: drained before cur, so lines keep their order) and the last
// files it finished (done, for recognising them again). A file is
// identified by device + inode, its creation time (statx btime, where the
// filesystem keeps it) and a fingerprint: an FNV-64a hash of its first
// 1 KiB, or of all of it while it is shorter (the fingerprint grows with
// the file; its length is part of the identity). The inode tells apart
// files that share their first KiB; the creation time and the fingerprint
// tell a reused inode from the file that had it (a new file with the same
// header on a reused inode is a new file); the fingerprint finds a file
// again when only its content is left (compressed, or copied by
// copytruncate). A new file at a path is always read from its start.
//
// One goroutine polls (PollInterval): globs, then per stream:
//
//   - the file at the path is the same inode, but shorter than what was
//     read or starting with other bytes: copytruncate. The lines written
//     after the last read are in the copy: a sibling (same directory,
//     name starting with the path's stem, plain or .gz) with the same
//     first bytes is read from the offset reached, then the file from 0;
//   - another inode, or none, at the path: rotated (rename, delete). The
//     old file stays open and is read to its end, and while it grows,
//     until idle for RotateWait (an open descriptor reads a file that gzip
//     has already deleted); a last line without '\n' is then an event.
//     Then siblings changed since the stream was last looked at that are
//     no file it knows (created and rotated away unseen) are read, oldest
//     first; then the new file from its start;
//   - the file is read from its offset to its end.
//
// Compressed names never become streams (a .gz is only read as the
// continuation of a file), and one inode is followed by one stream.
//
// # Checkpoints, and a kill between emit and checkpoint
//
// Lines become events in a batch with, per file, the offset after them.
// The batch is emitted (the WAL has it once emit returns); only then do
// the files' committed offsets move, and the checkpoint (StateFile, JSON:
// per stream its files with identity, offset and role) is written
// atomically (durable.WriteFileAtomic). A kill after the emit and before
// the checkpoint would repeat the batch: so every event carries its
// file_id and end offset (fields), and at start the node reads the WAL's
// newest records (Recovered) and moves each file's offset to the last end
// the WAL has. A file the WAL knows but the checkpoint does not (a kill
// after the very first emit) is found again through the path its events
// name. Nothing is emitted twice, and nothing is skipped: an offset only
// moves past lines the WAL has.
//
// After a restart each checkpointed file is looked for at its path (same
// inode, creation time and first bytes), renamed next to it (the same),
// compressed or copied (same first bytes, at least as much content as the
// offset: read from there, through gzip for a .gz). A .gz with those first
// bytes that gzip is still writing is waited for (up to RotateWait, the
// stream's newer files wait too, to keep the order); a file that is gone
// is reported lost (log, metric) and stays known, so that its copies are
// not read again. The WAL's recovered ends apply only to the files there
// were at the start: they are dropped once every checkpointed file is
// found or given up.
//
// # Lines and events
//
// A line is cut at MaxLineBytes once (the rest up to '\n' is skipped, not
// held) and tagged "truncated". With MultilineStart, a line that matches
// starts an event and the others are added to it (up to MaxLineBytes,
// truncated once), until the next start or MultilineTimeout without a
// line; an event is not cut by a rotation: it goes on in the next file
// of the stream and names the file(s) it began in (started_in), so that
// recovery marks those files read. Empty lines outside a multi-line event
// are skipped (their bytes still count as read).
//
// Events: Transport "file", Host, App, Tags (the source's, then App),
// user.notice unless Parse says otherwise (Parse: a format of package
// appliance/scan), Message the text, and Fields source, path, offset
// (the first byte), end, file_id (DEV:INO:FP:FPLEN:BIRTH), started_in.
//
// Known limits: two rotated files of one stream whose first KiB are equal
// cannot be told apart once they are only content (compressed or copied):
// the newest is taken for the one being read, and an unseen one is taken
// for known. A glob that matches rotated names (app.log.1) reads a
// copytruncate copy as a file of its own: exclude such names.
package filetail
