package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"

	"logpacker/protocol"
)

// Options configures a Store.
type Options struct {
	// Dir holds the engine's files (partitions/YYYYMMDD, one per UTC day of
	// received time); created if missing.
	Dir string
	// Retention: days whose every event was received longer ago than this
	// are deleted. 0 keeps everything.
	Retention time.Duration
	// MaxDisk caps the bytes the store may use: the oldest days are deleted
	// to stay under it. 0: no cap.
	MaxDisk int64
	// MinFree is the free space the store's filesystem must keep: below it
	// the store takes no events (Send and Write fail, the output retries,
	// its WAL cursor stays) until space is freed. 0 (auto): 1 MiB; the node
	// makes auto a quarter of its WAL's min_free, so that the store goes on
	// writing into the WAL's reserve, and the node drains by itself, when
	// they share a disk.
	MinFree int64
	// Origin is the node's event origin (protocol.Origin of its ID and WAL
	// epoch): with each event's WAL index it lets the store find, after a
	// crash, which events of the replayed window it already has. Empty:
	// replays are not checked (Write's callers that do not replay).
	Origin string
	// Logger gets retention and open problems. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
	// FlushInterval is how often events taken by Send are made durable and
	// confirmed. Default 1s.
	FlushInterval time.Duration
	// Enabled is the enabled key of a type = store section, read by the
	// node, not by Open (which ignores it): "true", "false" or "auto" (on
	// for a root, which has no [relay] upstream; off for a relay, which
	// forwards and leaves storing to the roots).
	Enabled string
}

// Store is the embedded searchable store: a pipeline sink (Write, Send,
// SendIndexed) and Search, Hits and Facets. Safe for concurrent use.
type Store struct {
	vl      *logstorage.Storage
	dir     string
	origin  string
	log     *slog.Logger
	now     func() time.Time
	retain  time.Duration
	flushIv time.Duration
	minFree int64

	mu      sync.Mutex
	pending []func(error)  // done of batches taken since the last checkpoint
	touched map[int64]bool // days (unix days) written since the last checkpoint
	replay  *replayWindow  // the first batches after Open: what is already stored
	closed  bool
	ckMu    sync.Mutex // one checkpoint at a time
	stop    chan struct{}
	stopped chan struct{}
}

var quietOnce sync.Once

// quietEngine prepares the engine's process-wide settings, which it keeps
// in the standard flag set: its INFO lines (a snapshot per checkpoint) stay
// out of the node's log (its warnings and errors still go to stderr), and
// the flag set counts as parsed, which its memory limits insist on (the
// logpacker command parses its own flag sets, never the standard one).
func quietEngine() {
	quietOnce.Do(func() {
		if f := flag.Lookup("loggerLevel"); f != nil {
			_ = f.Value.Set("WARN")
		}
		if !flag.Parsed() {
			_ = flag.CommandLine.Parse(nil)
		}
	})
}

// Open opens (creating if needed) the store in opts.Dir.
func Open(opts Options) (s *Store, err error) {
	if opts.Dir == "" {
		return nil, errors.New("store: no directory")
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("store: negative retention %s", opts.Retention)
	}
	if opts.MaxDisk < 0 || opts.MinFree < 0 {
		return nil, errors.New("store: negative disk limit")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MinFree == 0 {
		opts.MinFree = 1 << 20
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := migrateSQLite(opts.Dir, opts.Logger); err != nil {
		return nil, err
	}
	quietEngine()
	retention := opts.Retention
	if retention == 0 {
		retention = 100 * 365 * 24 * time.Hour
	}
	cfg := &logstorage.StorageConfig{
		Retention:              retention,
		MaxBackfillAge:         retention,
		FutureRetention:        2 * 24 * time.Hour,
		MaxDiskSpaceUsageBytes: opts.MaxDisk,
		MinFreeDiskSpaceBytes:  opts.MinFree,
		FlushInterval:          opts.FlushInterval,
	}
	defer func() {
		if r := recover(); r != nil { // the engine panics on what it cannot open
			s, err = nil, fmt.Errorf("store: open %s: %v", opts.Dir, r)
		}
	}()
	s = &Store{vl: logstorage.MustOpenStorage(opts.Dir, cfg), dir: opts.Dir, origin: opts.Origin,
		log: opts.Logger, now: opts.Now, retain: opts.Retention, flushIv: opts.FlushInterval, minFree: opts.MinFree,
		touched: map[int64]bool{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	if s.origin != "" {
		s.replay = &replayWindow{}
	}
	go s.flushLoop()
	return s, nil
}

// migrateSQLite moves the day files of the SQLite store that came before
// (YYYY-MM-DD.db) out of the way, into Dir/sqlite-old, so the engine does
// not trip over them; they are not converted.
func migrateSQLite(dir string, log *slog.Logger) error {
	old, _ := filepath.Glob(filepath.Join(dir, "????-??-??.db*"))
	if len(old) == 0 {
		return nil
	}
	dst := filepath.Join(dir, "sqlite-old")
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, f := range old {
		if err := os.Rename(f, filepath.Join(dst, filepath.Base(f))); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	log.Warn("store: the SQLite day files of an older version were moved aside (not converted)", "dir", dst, "files", len(old))
	return nil
}

// Close confirms what was taken (a last checkpoint) and closes the engine.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.stopped
	s.checkpoint()
	s.vl.MustClose()
	return nil
}

// ErrReadOnly is Send's and Write's error while the store's filesystem has
// less than MinFree bytes free: the output retries, the WAL keeps the events.
var ErrReadOnly = errors.New("store: the disk is nearly full (less than min_free left): not taking events")

// ErrClosed is the error of a write to a closed store.
var ErrClosed = errors.New("store: closed")

// Write stores evs and returns once they are durable: a checkpoint per
// call. The output loop uses SendIndexed, which shares checkpoints between
// batches; Write is for callers that write now and then.
func (s *Store) Write(ctx context.Context, evs []protocol.Event) error {
	done := make(chan error, 1)
	if err := s.add(evs, nil, func(err error) { done <- err }); err != nil {
		return err
	}
	s.checkpoint()
	return <-done
}

// Send is SendIndexed without WAL indexes (no replay check).
func (s *Store) Send(ctx context.Context, evs []protocol.Event, done func(error)) error {
	return s.add(evs, nil, done)
}

// SendIndexed takes evs (idx[i] is evs[i]'s WAL index) into the engine and
// calls done once a checkpoint has them on disk (within FlushInterval). It
// copies what it needs before it returns. The first batches after Open may
// be a replay of events taken before a crash: those the engine already has
// are skipped (see replayWindow).
func (s *Store) SendIndexed(ctx context.Context, evs []protocol.Event, idx []uint64, done func(error)) error {
	return s.add(evs, idx, done)
}

// Window is how many batches the output loop keeps in flight: enough for a
// second of the fastest ingest at the default batch size.
func (s *Store) Window() int { return 1024 }

func (s *Store) add(evs []protocol.Event, idx []uint64, done func(error)) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if s.diskFull() {
		return ErrReadOnly
	}
	if idx != nil && s.replay != nil {
		var err error
		if evs, idx, err = s.skipReplayed(evs, idx); err != nil {
			return err
		}
	}
	lr := logstorage.GetLogRows(nil, nil, nil, nil, "")
	defer logstorage.PutLogRows(lr)
	var rb rowBuilder
	days := map[int64]bool{}
	for i := range evs {
		var wi uint64
		if idx != nil {
			wi = idx[i]
		}
		ts := rb.build(&evs[i], s.origin, wi)
		lr.MustAdd(logstorage.TenantID{}, ts, rb.fields, 0)
		days[ts/int64(24*time.Hour)] = true
	}
	s.vl.MustAddRows(lr)
	s.mu.Lock()
	s.pending = append(s.pending, done)
	for d := range days {
		s.touched[d] = true
	}
	s.mu.Unlock()
	return nil
}

// diskFull reports whether the store's filesystem has less than MinFree
// bytes free: a statfs per batch (the engine's own check caches it for 2 s).
func (s *Store) diskFull() bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return false // the engine's writes will tell
	}
	return int64(st.Bavail)*st.Bsize < s.minFree
}

func (s *Store) flushLoop() {
	defer close(s.stopped)
	t := time.NewTicker(s.flushIv)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.checkpoint()
		}
	}
}

// checkpoint makes every event taken so far durable, then confirms their
// batches: the engine's row buffers become in-memory parts (DebugFlush), and
// a snapshot of each day written to writes those parts to files and syncs
// them (the snapshot itself, hard links, is deleted at once).
func (s *Store) checkpoint() {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	s.mu.Lock()
	pend, touched := s.pending, s.touched
	s.pending, s.touched = nil, map[int64]bool{}
	s.mu.Unlock()
	if len(pend) == 0 {
		return
	}
	s.vl.DebugFlush()
	days := make([]int64, 0, len(touched))
	for d := range touched {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, d := range days {
		name := time.Unix(d*86400, 0).UTC().Format("20060102")
		for _, p := range s.vl.PartitionSnapshotMustCreate(name) {
			if err := s.vl.PartitionSnapshotDelete(p); err != nil {
				s.log.Warn("store: delete checkpoint snapshot", "path", p, "err", err)
			}
		}
	}
	for _, done := range pend {
		done(nil)
	}
}

// Partitions lists the stored days (YYYYMMDD), oldest first.
func (s *Store) Partitions() []string {
	ps := s.vl.PartitionList()
	slices.Sort(ps)
	return ps
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// dayStart parses a partition name.
func dayStart(name string) (time.Time, bool) {
	t, err := time.Parse("20060102", strings.TrimSpace(name))
	return t, err == nil
}
