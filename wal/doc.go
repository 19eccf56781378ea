// Package wal is logpacker's write-ahead log: every accepted event is stored here,
// durably, before anything else happens to it. It stores opaque []byte records
// and knows nothing of events.
//
// It wraps github.com/tidwall/wal (Binary format, NoSync=true) and adds what that
// library lacks: a CRC per record, repair of torn and zero-filled tails, salvage
// of damaged segments, directory fsyncs, group commit, named durable cursors,
// segment GC and a size cap.
//
// # On-disk layout
//
//	DIR/00000000000000000001     segment files, named after their first index (tidwall)
//	DIR/00000000000000004711     the last one is the tail, the only one written to
//	DIR/cursors/NAME             one file per cursor: committed index (8 B BE) | crc32c (4 B)
//	DIR/quarantine/SEG.NANOS.corrupt  original copy of every segment we rewrote
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
// # Durability
//
// One writer goroutine takes every queued Append, writes them as one tidwall
// WriteBatch (one write(2)) and then, per Options.Fsync:
//   - always: fsyncs the tail segment and acknowledges the whole group (group
//     commit: appends that queue up during an fsync share the next one);
//   - interval: fsyncs every FsyncInterval and acknowledges what it covered;
//   - never: acknowledges after write(2).
//
// Readers (cursors) only see records covered by the policy: fsynced for always and
// interval, written for never. When tidwall starts a new segment (we mirror its
// cycle rule to know when) it fsyncs the old one; we fsync the directory before
// acknowledging anything in the new file. Renames and deletions are followed by a
// directory fsync too. Cursor commits are temp file + fsync + rename + dir fsync.
//
// # Crash behaviour
//
// On Open, before tidwall sees the directory, the tail segment is scanned:
//   - torn last entry (tidwall.Open would fail with ErrCorrupt) or zero-filled
//     tail (tidwall would return phantom empty entries): the file is truncated
//     to the end of the last valid entry and fsynced; logged at WARN,
//     Stats.Repairs. Those records were never acknowledged under always/interval.
//   - damage followed by valid entries (a flipped byte, a bad length): the
//     original is copied to quarantine/, the segment is rewritten with every
//     intact record at its index and a tombstone for every lost index (tidwall
//     needs contiguous indices), fsynced, renamed over, dir fsynced; logged at
//     ERROR with the lost index ranges; Stats.CorruptRecords.
//
// Older segments are checked lazily, when a cursor reads them: any CRC, magic,
// index or framing error (tidwall's ErrCorrupt) in a non-tail segment makes us
// close tidwall, quarantine and rewrite that one segment the same way, and reopen.
// A segment is salvaged at most once per process; whatever still fails to read is
// skipped and counted. Nothing panics, nothing loops, and at most a segment or two
// is ever in memory (tidwall keeps the tail and a 2-segment read cache).
//
// Cursor files are CRC'd; an unreadable one restarts that consumer at the first
// retained record (re-delivery, never loss). A cursor past the last record (its
// records were cut by a tail repair) is moved back to the last record.
//
// A failed write or fsync (disk full, I/O error) fails the appends of that group,
// then the writer closes tidwall, repairs the tail and reopens, so later appends
// work again once the cause is gone.
//
// # GC and the size cap
//
// Whole segments are deleted once every cursor's committed index is past their
// last index; with no cursors at all, everything durable counts as delivered.
// tidwall's TruncateFront(i) copies the rest of the segment holding i, so GC only
// ever truncates at a segment's first index. It runs in the writer goroutine.
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
// (memory: one entry plus a 64 KiB window for resynchronisation).
package wal
