// Package wal is logpacker's write-ahead log: every accepted event is stored here,
// durably, before anything else happens to it. It stores opaque []byte records
// and knows nothing of events.
//
// It started as a wrapper of github.com/tidwall/wal and keeps that library's
// on-disk format (Binary entries in segment files named after their first index;
// TestTidwallReadsOurSegments proves tidwall still reads our directories), but
// writes and reads the segments itself. tidwall keeps the whole tail segment in
// one growing []byte and copies every entry into it and again out of it: under
// load that reallocation and copying, and the garbage it made, were 60% of the
// ingest path's CPU. On top of the format it adds a CRC per record, repair of torn
// and zero-filled tails, salvage of damaged segments, directory fsyncs, group
// commit, named durable cursors, segment GC and a size cap, which tidwall/wal
// lacks: its entries carry no checksum, a torn tail makes its Open fail
// (ErrCorrupt), new segment files get no directory fsync, each Write or
// WriteBatch call takes its own fsync, and it has no cursors (deleting old
// segments, TruncateFront, is left to the caller).
//
// # On-disk layout
//
//	DIR/00000000000000000001     segment files, named after their first index (20 digits)
//	DIR/00000000000000004711     the last one is the tail, the only one written to
//	DIR/epoch                    the WAL's epoch: 8 lowercase hex digits and '\n' ('\n' alone: none)
//	DIR/cursors/NAME             one file per cursor: two slots of committed index (8 B BE) | crc32c (4 B)
//	DIR/quarantine/SEG.NANOS.corrupt  original copy of every segment we rewrote
//	DIR/spare.N, DIR/SEG.recycled      segment recycling (see GC below)
//
// A segment is a sequence of tidwall Binary entries, uvarint(len) | data, with
// consecutive indices starting at the file's name. Our entry data is
//
//	magic(4) | index(8, BE) | crc32c(4, BE, Castagnoli, over index+payload) | payload
//
// magic is D9 4C 50 01 for a record and D9 4C 50 02 for a tombstone (a lost
// index, no payload). The index inside each entry lets a scanner resynchronise
// after damage (search for the magic, try the 1–10 length bytes before it, check
// the CRC and that the index is plausible) and say exactly which indices were lost.
//
// # Epoch
//
// Indices start at 1 in every new directory, so an index alone does not name
// a record for good: a WAL deleted or lost and created again hands out the
// same indices once more. Its epoch tells the incarnations apart (Epoch):
// Open draws one, 8 hex digits from crypto/rand (two incarnations of one
// node share one with odds of 1 in 2^32), when it creates a WAL, and
// writes it to DIR/epoch (temp file, fsync, rename, directory fsync) before
// the first segment, so a crash in between leaves a directory without
// segments, which counts as new. A WAL that has segments but no epoch file
// was created before epochs existed: the indices it gave have been used
// without an epoch (the node's event IDs were NODE:INDEX), and giving it one
// now would change the ID of every record it still holds, so Open writes an
// empty epoch file for it and its epoch stays "" for good. An epoch file
// that cannot be read or holds anything but up to 32 lowercase hex digits
// makes Open fail: guessing would change or reuse IDs. Verify reports the
// epoch; ReadEpoch reads it without opening the log. The epoch is opaque to
// the WAL; the node makes it part of its event IDs (package protocol,
// Identity).
//
// # Durability
//
// One writer goroutine takes every queued Append, frames them into one buffer,
// writes it to the tail with one write(2) and then, per Options.Fsync:
//   - always: fsyncs the tail segment and acknowledges the whole group (group
//     commit: appends that queue up during an fsync share the next one);
//   - interval: fsyncs every FsyncInterval and acknowledges what it covered;
//   - never: acknowledges after write(2).
//
// Readers (cursors) only see records covered by the policy: fsynced for always and
// interval, written for never. Syncs are fdatasync(2). A record that would start
// in a tail already SegmentSize long starts a new segment instead: the old one is
// fdatasynced, the new file created, and the directory fsynced before anything in
// it is acknowledged. Renames and deletions are followed by a directory fsync too.
//
// A cursor commit is pwrite(2) of one 12-byte slot, so it survives the process
// being killed; it is fdatasynced by the first commit CursorSyncInterval (50 ms)
// after the last sync, and on Close. A power loss can thus replay up to 50 ms of
// delivered records (consumers key on event IDs, the file output matches the IDs
// at its end); GC deletes only segments a synced commit has passed, so nothing
// undelivered is ever lost. The two slots of a cursor file alternate, so a torn
// commit only damages the slot being written; the cursor is the larger valid
// slot. Creating a cursor file is temp file + fsync + rename + dir fsync.
//
// Each cursor reads through its own file handle and remembers the byte offset of
// its next index, so reading on is one pread(2) of about a batch; only a cursor
// that jumps (Rewind, restart) walks the framing of one segment to find its
// place. Readers never see bytes past the durable index. Nothing of the log is
// cached in memory: the page cache holds what was just written.
//
// # Crash behaviour
//
// On Open, the tail segment is scanned before anything else:
//   - torn last entry or zero-filled tail (tidwall would fail to open the first
//     and read the second as phantom empty entries): the file is truncated
//     to the end of the last valid entry and fsynced; logged at WARN,
//     Stats.Repairs. Those records were never acknowledged under always/interval.
//   - damage followed by valid entries (a flipped byte, a bad length): the
//     original is copied to quarantine/, the segment is rewritten with every
//     intact record at its index and a tombstone for every lost index (indices
//     stay contiguous), fsynced, renamed over, dir fsynced; logged at
//     ERROR with the lost index ranges; Stats.CorruptRecords.
//
// Older segments are checked lazily, when a cursor reads them: any CRC, magic,
// index or framing error in a non-tail segment makes us quarantine and rewrite
// that one segment the same way; readers reopen it. A segment is salvaged at most
// once per process; whatever still fails to read is skipped and counted (in the
// tail, a framing error skips what was written so far and reading goes on at the
// end of the file). Nothing panics, nothing loops, and memory holds at most the
// batch each cursor reads.
//
// Cursor files are CRC'd; an unreadable one restarts that consumer at the first
// retained record (re-delivery, never loss). A cursor past the last record (its
// records were cut by a tail repair) is moved back to the last record.
//
// A failed write or fsync (disk full, I/O error) fails the appends of that group,
// then the writer closes the tail, repairs it and reopens, so later appends work
// again once the cause is gone. A failed write first takes the group's bytes back
// out (the tail is cut to where the group began, segments it rolled into are
// deleted): write(2) that runs out of space stops mid-buffer, and the whole
// records before that point would otherwise stay in the log while their senders,
// told the append failed, send them again (TestDiskFullWriteIsUndone).
//
// # Disk space
//
// The WAL shares its filesystem with other writers — the file output, the
// embedded store — and when the disk fills, neither side could free space: the
// outputs cannot write, so their cursors do not move, so GC deletes nothing.
// Options.MinFree is a reserve for them: before each group the writer reads the
// free space (statfs(2), the space unprivileged writers may use) and writes only
// if the group leaves MinFree free. Otherwise appends wait, as for MaxSize with
// Block (whatever WhenFull says: dropping our own undelivered records to make room
// on a disk something else filled is not what drop_oldest promises), while
// consumers go on reading and committing, so GC frees segments and the log drains
// by itself once the consumers have written what they read into the reserve. Spare
// segments are deleted first, and when every cursor has delivered everything the
// writer starts an empty tail so GC can delete the old one (it never deletes the
// tail: without this a log of one segment would hold it forever,
// TestMinFreeDrainsByItself). Freed space is not signalled, so a waiting writer
// looks again every 250 ms. MinFreeAuto is 1 % of the filesystem's size (read at
// Open), at least 4 MiB (but at most a quarter of the filesystem) and at most 64
// MiB: 1 % of a small disk is less than one batch of the file output, which could
// then not write into the reserve. SegmentSize is capped at a quarter of the
// reserve (64 KiB at least): GC frees whole segments, and outputs catching up on
// the same disk must reach a segment's end, and so free it, within the reserve.
// 0 disables the reserve (a full disk then fails writes, as above).
//
// AppendState (and Stats.Blocked, BlockedReason) says whether appends go
// through and, if not, why: BlockedMinFree (waiting for space; also reported while
// no append waits if free space is below MinFree), BlockedMaxSize (waiting for
// consumers, when_full = block), BlockedIOError (the last write or fsync failed;
// cleared by the next write that works, or 3 s after the last failure when nothing
// is appended). Each change is logged (WARN or ERROR into a state, INFO out of it)
// and counted in Stats.Blocks; repeated identical write errors are logged at DEBUG.
//
// # GC and the size cap
//
// Whole segments are deleted once every cursor's synced commit is past their
// last index; with no cursors at all, everything durable counts as delivered.
// GC deletes whole files, never the tail, and runs in the writer goroutine.
// Up to two of them are kept as spare files (DIR/spare.N, not counted in
// Stats.Bytes or MaxSize) and renamed into place by the next rolls, which
// overwrite them from the start: the page cache and disk blocks of a recycled
// segment are reused, where a new file needs fresh ones (costly on a VM whose
// freed memory goes back to the host, and for ext4 block allocation). Stale
// bytes after the written end are cut when the segment is sealed or the log
// closed. While a recycled file is the tail, a marker file (SEGMENT.recycled)
// says so, and the tail repair after a crash stops at the first damage instead
// of searching past it: stale bytes are an old segment's records, whose
// payloads (what senders sent) could hold something that looks like a valid
// entry (TestRecycledSegments, TestForgedEntryInStaleBytes). Acknowledged
// records are an unbroken, fdatasynced prefix of the tail, so this only costs
// in a double fault (media damage inside that prefix and a crash before the
// segment was sealed). Spares are deleted on open.
//
// MaxSize counts segment bytes and is enforced at segment granularity
// (SegmentSize is capped at MaxSize/4, one Append at MaxSize/4). When an append
// would pass it: Block waits for consumers to commit and GC to free space (or for
// ctx, which returns ctx.Err() with nothing written); DropOldest deletes the oldest
// segments even if cursors have not read them, counts the records in
// Stats.DroppedRecords and logs the index range at WARN; a cursor behind them
// continues at the first retained record.
//
// # Tools
//
// Verify and Dump read a directory without changing it, one entry at a time
// (memory: one entry plus a 64 KiB window for resynchronisation); DumpReport
// is Dump that also reports the damage it skipped. Repair does to a closed
// log what Open and the readers would (leftovers, tail, damaged segments,
// cursors past the end) and reports it: what was cut, what was kept.
package wal
