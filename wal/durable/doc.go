// Package durable is the one home of logpacker's helpers for files that must
// survive a crash or a power loss: fsync of a file or a directory, a whole
// file replaced atomically, and the repair of a JSON-lines file whose last
// line was torn by a crash inside write(2).
//
// Package wal keeps its own copy of syncDir, so that it stays
// self-contained; everything else (the outputs, the relay's seen-set, the
// node's node_id) uses this package.
//
// # What each helper guarantees
//
// A file's contents survive once the file is fsynced (FsyncPath); its name
// (creation, rename, removal) survives once its directory is fsynced
// (SyncDir). WriteFileAtomic does both, in the order that leaves either the
// old contents or the new ones at path after a crash, never a mix or an
// empty file.
//
// RepairLastLine is for append-only files of lines, each ending in '\n'
// (the file output, the Elasticsearch dead-letter file): a crash or a full
// disk inside write(2) leaves a last line without its newline. Its writer
// never confirmed it (the fsync that confirms comes after the write), so it
// is cut (the file then ends just after its last '\n') and the writer
// writes it again whole. Only the end of the file is read, backwards, in
// 64 KiB steps, as far as the last '\n'.
package durable
