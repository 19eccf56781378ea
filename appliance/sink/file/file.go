package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"logpacker/protocol"
	"logpacker/wal/durable"
)

// Options configure a Writer.
type Options struct {
	Path     string // the live file; rotated files are Path.1 (newest) … Path.MaxFiles
	MaxSize  int64  // rotate before a batch that would take the file past this; 0 never rotates
	MaxFiles int    // rotated files to keep; 0 keeps none (the live file is truncated by rotation)
	// TailScan bounds how much of the end of the file(s) is read on open to
	// find lines already written by a batch whose cursor commit was lost in a
	// crash. It must cover one output batch plus what the WAL's cursor may
	// not have synced yet (wal.CursorSyncInterval, 50 ms: 15 MB at 600,000
	// events/s); default 32 MiB.
	TailScan int64
	// KeepCache leaves written lines in the page cache. By default they are
	// dropped (posix_fadvise DONTNEED) once fsynced: the file is written once
	// and read rarely, and its pages would otherwise push the host's useful
	// cache out (and, on a VM, make the host back ever more fresh memory).
	KeepCache bool
	Logger    *slog.Logger
}

// Writer is the JSON-lines file output: one event per line in the public
// JSON form, fsynced before Write returns (so the cursor commits only what
// is on disk), size-based rotation, and no duplicate lines after a crash.
type Writer struct {
	o    Options
	pmu  sync.Mutex // Prepare's state: seen, skipped, enc
	enc  protocol.JSONEncoder
	mu   sync.Mutex // the file
	f    *os.File
	size int64
	kept int64  // bytes [kept, size) are still in the page cache
	buf  []byte // Write's encode buffer (guarded by pmu)
	// seen holds the IDs found at the end of the file on open. After a crash
	// the WAL replays the last uncommitted batch; the prefix of it that had
	// already reached the file is skipped. The first event not in seen ends
	// the overlap (replay is in WAL order), after which seen is dropped.
	seen    map[protocol.ID]struct{}
	skipped uint64
	log     *slog.Logger
}

// New opens (creating) the file, repairs a torn last line, and reads the
// IDs at its end for crash de-duplication.
func New(o Options) (*Writer, error) {
	if o.Path == "" {
		return nil, errors.New("sink/file: path is empty")
	}
	if o.TailScan <= 0 {
		o.TailScan = 32 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
		return nil, fmt.Errorf("sink/file: %w", err)
	}
	w := &Writer{o: o, log: o.Logger.With("output", "file", "path", o.Path)}
	if err := w.open(); err != nil {
		return nil, err
	}
	seen, err := w.scanTail()
	if err != nil {
		w.f.Close()
		return nil, err
	}
	if len(seen) > 0 {
		w.seen = seen
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.o.Path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("sink/file: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("sink/file: stat: %w", err)
	}
	size, err := durable.RepairLastLine(f, st.Size())
	if err != nil {
		f.Close()
		return fmt.Errorf("sink/file: repair %s: %w", w.o.Path, err)
	}
	if size != st.Size() {
		w.log.Warn("removed a torn last line left by a crash", "bytes", st.Size()-size)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("sink/file: seek: %w", err)
	}
	w.f, w.size, w.kept = f, size, size
	if err := durable.SyncDir(filepath.Dir(w.o.Path)); err != nil {
		return fmt.Errorf("sink/file: fsync dir: %w", err)
	}
	return nil
}

// scanTail collects the IDs of the lines in the last TailScan bytes of the
// live file, continuing into Path.1 when the live file is shorter (a crash
// right after rotation).
func (w *Writer) scanTail() (map[protocol.ID]struct{}, error) {
	seen := map[protocol.ID]struct{}{}
	budget := w.o.TailScan
	// the newest rotated file is the lowest-numbered one that exists
	// (a crash mid-rotation can leave Path.1 missing)
	prev := ""
	for k := 1; k <= max(w.o.MaxFiles, 1)+1; k++ {
		if _, err := os.Stat(w.rotated(k)); err == nil {
			prev = w.rotated(k)
			break
		}
	}
	for i, p := range []string{w.o.Path, prev} {
		if p == "" {
			break
		}
		if budget <= 0 {
			break
		}
		n, err := tailIDs(p, budget, seen)
		if err != nil {
			if i > 0 && errors.Is(err, os.ErrNotExist) {
				break
			}
			return nil, fmt.Errorf("sink/file: scan %s: %w", p, err)
		}
		budget -= n
	}
	return seen, nil
}

func tailIDs(path string, budget int64, seen map[protocol.ID]struct{}) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	start := max(0, st.Size()-budget)
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return 0, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	if start > 0 {
		r.ReadSlice('\n') // skip the partial first line
	}
	for {
		line, err := r.ReadSlice('\n')
		if id, ok := lineID(line); ok {
			seen[id] = struct{}{}
		}
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
		}
		if err == io.EOF {
			return st.Size() - start, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// lineID extracts the id from a line written by AppendJSON, which always
// starts with {"id":" and whose node part never holds a quote.
func lineID(line []byte) (protocol.ID, bool) {
	const prefix = `{"id":"`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return protocol.ID{}, false
	}
	rest := line[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return protocol.ID{}, false
	}
	id, err := protocol.ParseID(string(rest[:end]))
	return id, err == nil
}

// Write appends evs as JSON lines, then fsyncs. It returns nil only when
// every line is on disk. It is Prepare followed by WritePrepared.
func (w *Writer) Write(ctx context.Context, evs []protocol.Event) error {
	w.pmu.Lock()
	buf := w.buf
	w.buf = nil
	w.pmu.Unlock()
	buf = w.Prepare(buf[:0], evs)
	err := w.WritePrepared(ctx, buf)
	if cap(buf) <= 16<<20 {
		w.pmu.Lock()
		w.buf = buf
		w.pmu.Unlock()
	}
	return err
}

// Prepare appends evs as JSON lines to dst and returns it, leaving out events
// already in the file before a crash (see seen). Events must be prepared in
// WAL order; Prepare may run while an earlier batch is written.
func (w *Writer) Prepare(dst []byte, evs []protocol.Event) []byte {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	for i := range evs {
		if w.seen != nil {
			if _, dup := w.seen[evs[i].ID]; dup {
				w.skipped++
				continue
			}
			if w.skipped > 0 {
				w.log.Info("skipped events already in the file before the restart", "events", w.skipped)
			}
			w.seen = nil
		}
		dst = w.enc.Append(dst, &evs[i])
		dst = append(dst, '\n')
	}
	return dst
}

// WritePrepared appends what Prepare returned (whole lines), rotating first
// if the file would pass MaxSize, then fsyncs. A failed write is cut back, so
// calling it again with the same data writes every line once.
func (w *Writer) WritePrepared(ctx context.Context, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errors.New("sink/file: closed")
	}
	if len(data) == 0 {
		return nil
	}
	if w.o.MaxSize > 0 && w.size > 0 && w.size+int64(len(data)) > w.o.MaxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(data)
	w.size += int64(n)
	if err != nil {
		// a short write leaves a partial line: cut it so the retry starts clean
		if terr := w.f.Truncate(w.size - int64(n)); terr == nil {
			w.size -= int64(n)
			w.f.Seek(w.size, io.SeekStart)
		}
		return fmt.Errorf("sink/file: write %s: %w", w.o.Path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sink/file: fsync %s: %w", w.o.Path, err)
	}
	if !w.o.KeepCache {
		// Clean now, so DONTNEED frees the pages (whole pages only; the
		// partial last page stays for the next batch). Advice: errors ignored.
		from := w.kept &^ 4095
		unix.Fadvise(int(w.f.Fd()), from, w.size-from, unix.FADV_DONTNEED)
		w.kept = w.size
	}
	return nil
}

// rotate renames Path.k to Path.k+1, Path to Path.1, starts a new Path and
// removes rotated files beyond MaxFiles. The directory is fsynced so the
// renames survive. A crash in the middle can leave a gap in the numbering
// (Path.2 without Path.1): only the run of files from Path.1 up to the first
// gap is shifted, so the next rotation closes the gap and overwrites nothing.
func (w *Writer) rotate() error {
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sink/file: fsync before rotate: %w", err)
	}
	w.f.Close()
	w.f = nil
	if w.o.MaxFiles <= 0 {
		os.Remove(w.o.Path)
	} else {
		n := 0
		for n < w.o.MaxFiles {
			if _, err := os.Stat(w.rotated(n + 1)); err != nil {
				break
			}
			n++
		}
		for k := n; k >= 1; k-- {
			if err := os.Rename(w.rotated(k), w.rotated(k+1)); err != nil {
				return fmt.Errorf("sink/file: rotate: %w", err)
			}
		}
		if err := os.Rename(w.o.Path, w.rotated(1)); err != nil {
			return fmt.Errorf("sink/file: rotate: %w", err)
		}
		old, _ := filepath.Glob(w.o.Path + ".*")
		for _, p := range old {
			if k, err := strconv.Atoi(p[len(w.o.Path)+1:]); err == nil && k > w.o.MaxFiles {
				os.Remove(p)
			}
		}
	}
	w.log.Info("rotated")
	return w.open()
}

func (w *Writer) rotated(k int) string { return w.o.Path + "." + strconv.Itoa(k) }

// Reopen closes and reopens Path (SIGHUP), for external rotation tools.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	return w.open()
}

// Close syncs and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := errors.Join(w.f.Sync(), w.f.Close())
	w.f = nil
	return err
}
