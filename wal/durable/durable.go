package durable

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
)

// FsyncPath opens p, a file or a directory, read-only and fsyncs it. The
// error is the *os.PathError of the open or the fsync.
func FsyncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// SyncDir fsyncs the directory dir, so that the creations, renames and
// removals of files in it survive a crash.
func SyncDir(dir string) error { return FsyncPath(dir) }

// WriteFileAtomic replaces the file at path with data: it writes path.tmp
// (created with perm, before the umask; an old path.tmp, left by a crash,
// is removed first), fsyncs it, renames it to path and fsyncs the
// directory. After a crash path holds either its old contents or data.
// On error path.tmp is removed and path is untouched (or, when only the
// directory fsync failed, replaced but perhaps not durably). Writers of
// one path must not run concurrently: they share path.tmp.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// repairChunk is how much RepairLastLine reads at a time, backwards.
const repairChunk = 64 << 10

// RepairLastLine cuts a last line without its '\n' from f, a file of
// lines whose first size bytes are its contents (f must be open for
// writing), and fsyncs f if it cut anything. It returns the new size: size
// when the file is empty or ends in '\n', just past the last '\n'
// otherwise, 0 when there is none. The file offset is not changed.
func RepairLastLine(f *os.File, size int64) (int64, error) {
	if size <= 0 {
		return 0, nil
	}
	var b []byte
	for end := size; end > 0; {
		start := max(0, end-repairChunk)
		if cap(b) < int(end-start) {
			b = make([]byte, end-start)
		}
		b = b[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if end == size && b[len(b)-1] == '\n' {
			return size, nil
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return truncate(f, start+int64(i)+1)
		}
		end = start
	}
	return truncate(f, 0)
}

func truncate(f *os.File, size int64) (int64, error) {
	if err := f.Truncate(size); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return size, nil
}
