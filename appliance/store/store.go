package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)

	"logpacker/protocol"
	"logpacker/wal/durable"
)

// Options configures a Store.
type Options struct {
	// Dir holds the day files (YYYY-MM-DD.db); created if missing.
	Dir string
	// Retention: whole days whose every event was received longer ago than
	// this are deleted. 0 keeps everything.
	Retention time.Duration
	// Logger gets retention and open problems. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
	// RetentionInterval is how often retention runs after Open. Default 1h.
	RetentionInterval time.Duration
	// Enabled is the enabled key of a type = store section, read by the
	// node, not by Open (which ignores it): "true", "false" or "auto" (on
	// for a root, which has no [relay] upstream; off for a relay, which
	// forwards and leaves storing to the roots).
	Enabled string
}

const (
	dayLayout  = "2006-01-02"
	fileSuffix = ".db"
)

// Store is the embedded searchable store: an appliance.Sink and a Search.
// Write is safe for concurrent use (writes are serialised); Search runs in
// parallel with writes and with other searches.
type Store struct {
	dir       string
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time

	wmu sync.Mutex // serialises Write (one writer per SQLite file anyway)

	mu     sync.Mutex
	days   map[string]*day // by "YYYY-MM-DD"
	closed bool

	stop chan struct{}
	done chan struct{}
}

// day is one day file. refs counts users (Write, Search); a day dropped by
// retention is closed and deleted when the last user releases it.
type day struct {
	name    string
	path    string
	db      *sql.DB
	refs    int
	dropped bool
	ins     map[int]*sql.Stmt // prepared multi-row INSERTs by row count (Write only, under s.wmu)
}

// Open opens (creating if needed) the store in opts.Dir, drops expired days
// and starts the hourly retention check.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("store: no directory")
	}
	if strings.ContainsAny(opts.Dir, "?#") {
		return nil, fmt.Errorf("store: directory %q: '?' and '#' are not allowed", opts.Dir)
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("store: negative retention %s", opts.Retention)
	}
	s := &Store{dir: opts.Dir, retention: opts.Retention, log: opts.Logger, now: opts.Now,
		days: map[string]*day{}, stop: make(chan struct{}), done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for _, e := range ents {
		name, ok := dayName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		s.days[name] = &day{name: name, path: filepath.Join(s.dir, e.Name())}
	}
	if _, err := s.DropExpired(s.now()); err != nil {
		s.log.Warn("store: retention failed", "err", err)
	}
	iv := opts.RetentionInterval
	if iv <= 0 {
		iv = time.Hour
	}
	go s.retentionLoop(iv)
	return s, nil
}

// dayName reports whether file is a day file, and its day.
func dayName(file string) (string, bool) {
	name, ok := strings.CutSuffix(file, fileSuffix)
	if !ok {
		return "", false
	}
	if _, err := time.Parse(dayLayout, name); err != nil {
		return "", false
	}
	return name, true
}

func (s *Store) retentionLoop(iv time.Duration) {
	defer close(s.done)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if _, err := s.DropExpired(s.now()); err != nil {
				s.log.Warn("store: retention failed", "err", err)
			}
		}
	}
}

// expired reports whether every event of day d (received that UTC day) is
// older than the retention at now.
func (s *Store) expired(d time.Time, now time.Time) bool {
	return s.retention > 0 && !d.AddDate(0, 0, 1).After(now.Add(-s.retention))
}

// DropExpired deletes the day files whose whole day lies before
// now - Retention and returns their days. Open and an hourly timer call it.
// A day still in use by a Search is deleted when that search ends.
func (s *Store) DropExpired(now time.Time) ([]string, error) {
	var dropped []string
	var errs []error
	s.mu.Lock()
	for name, d := range s.days {
		t, _ := time.Parse(dayLayout, name)
		if !s.expired(t, now) {
			continue
		}
		delete(s.days, name)
		d.dropped = true
		dropped = append(dropped, name)
		if d.refs == 0 {
			errs = append(errs, d.remove())
		}
	}
	s.mu.Unlock()
	sort.Strings(dropped)
	if len(dropped) > 0 {
		s.log.Info("store: retention dropped day files", "days", dropped, "retention", s.retention)
	}
	return dropped, errors.Join(errs...)
}

// remove closes and deletes the day's files (the database, its -wal and -shm).
func (d *day) remove() error {
	var errs []error
	if d.db != nil {
		errs = append(errs, d.close())
	}
	for _, suf := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(d.path + suf); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: drop %s: %w", d.name, err)
	}
	return nil
}

// schema is run on every day file when it is opened. See doc.go.
const schema = `
CREATE TABLE IF NOT EXISTS events (
  rid      INTEGER PRIMARY KEY,
  id       TEXT NOT NULL UNIQUE,
  time     INTEGER,
  received INTEGER NOT NULL,
  host     TEXT NOT NULL COLLATE NOCASE,
  app      TEXT NOT NULL,
  severity INTEGER NOT NULL,
  facility INTEGER NOT NULL,
  message  TEXT NOT NULL,
  json     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_received ON events(received, id);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_host ON events(host, received);
CREATE INDEX IF NOT EXISTS events_app ON events(app, received);
CREATE INDEX IF NOT EXISTS events_severity ON events(severity, received);
CREATE TABLE IF NOT EXISTS blocks (
  lo           INTEGER PRIMARY KEY,
  hi           INTEGER NOT NULL,
  max_received INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
  message, content='events', content_rowid='rid', tokenize='unicode61 remove_diacritics 2'
);
`

// acquire returns day name's handle with a reference taken, opening the
// file first; create says whether a missing file may be created. It returns
// nil (and no error) for a day without a file when create is false.
func (s *Store) acquire(name string, create bool) (*day, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("store: closed")
	}
	d := s.days[name]
	if d == nil {
		if !create {
			return nil, nil
		}
		d = &day{name: name, path: filepath.Join(s.dir, name+fileSuffix)}
	}
	if d.db == nil {
		_, statErr := os.Stat(d.path)
		db, err := openDB(d.path)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", d.path, err)
		}
		if errors.Is(statErr, os.ErrNotExist) {
			// a new file: make its directory entry durable before anything in it counts
			if err := durable.SyncDir(s.dir); err != nil {
				db.Close()
				return nil, fmt.Errorf("store: sync %s: %w", s.dir, err)
			}
		}
		d.db = db
		s.days[name] = d
	}
	d.refs++
	return d, nil
}

func (s *Store) release(d *day) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.refs--
	if d.refs == 0 && (d.dropped || s.closed) {
		if d.dropped {
			if err := d.remove(); err != nil {
				s.log.Warn("store: retention failed", "err", err)
			}
		} else if d.db != nil {
			d.close()
		}
	}
}

// close closes the day's prepared statements and database.
func (d *day) close() error {
	for _, st := range d.ins {
		st.Close()
	}
	d.ins = nil
	err := d.db.Close()
	d.db = nil
	return err
}

func openDB(path string) (*sql.DB, error) {
	// Pragmas are per connection; the driver runs these on each one it opens.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=temp_store(MEMORY)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close stops retention and closes every day file (searches still running
// finish first).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.wmu.Lock() // a Write in progress finishes
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, d := range s.days {
		if d.refs == 0 && d.db != nil {
			errs = append(errs, d.close())
		}
	}
	return errors.Join(errs...)
}

// dayOf is the UTC day an event is stored under: its received time (the
// event's time when it has none, which ingest never leaves so).
func dayOf(ev *protocol.Event) time.Time {
	t := ev.Received
	if t.IsZero() {
		t = ev.Time
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// insertChunks are the row counts of the multi-row INSERTs Write uses, largest
// first: a day's rows go in as many statements of insertChunks[0] rows as
// fit, the rest with the smaller ones. 64 rows are 576 parameters, far below
// SQLite's limit of 32766.
var insertChunks = [...]int{64, 16, 4, 1}

const insertCols = 9

// insertSQL is the INSERT of n rows: INSERT … VALUES (…),(…) ON CONFLICT (id) DO NOTHING.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO events (id, time, received, host, app, severity, facility, message, json) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(" ON CONFLICT (id) DO NOTHING")
	return b.String()
}

// insertStmt returns the day's prepared INSERT of n rows (prepared once per
// day file, then per connection by database/sql as needed). Called with s.wmu held.
func (d *day) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if st := d.ins[n]; st != nil {
		return st, nil
	}
	st, err := d.db.PrepareContext(ctx, insertSQL(n))
	if err != nil {
		return nil, err
	}
	if d.ins == nil {
		d.ins = map[int]*sql.Stmt{}
	}
	d.ins[n] = st
	return st, nil
}

// Write stores evs: one transaction per day file the batch touches, each
// committed (and fsynced) before Write returns. An event whose ID is stored
// already is skipped, so a batch written again is stored once. Events of
// days that retention has already dropped are skipped and logged.
func (s *Store) Write(ctx context.Context, evs []protocol.Event) error {
	if len(evs) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	now := s.now()
	// Group by day, keeping WAL order within each.
	var order []time.Time
	byDay := map[time.Time][]int{}
	expired := 0
	for i := range evs {
		d := dayOf(&evs[i])
		if s.expired(d, now) {
			expired++
			continue
		}
		if _, ok := byDay[d]; !ok {
			order = append(order, d)
		}
		byDay[d] = append(byDay[d], i)
	}
	if expired > 0 {
		s.log.Info("store: skipped events older than the retention", "events", expired, "retention", s.retention)
	}
	var w writeBuf
	for _, d := range order {
		dd, err := s.acquire(d.Format(dayLayout), true)
		if err != nil {
			return err
		}
		err = s.writeDay(ctx, dd, evs, byDay[d], &w)
		s.release(dd)
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) writeDay(ctx context.Context, d *day, evs []protocol.Event, idx []int, w *writeBuf) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: begin: %w", d.name, err)
	}
	defer tx.Rollback()
	// Rows this transaction adds get rids above the largest before it
	// (INTEGER PRIMARY KEY: max+1); they are indexed for FTS with one
	// statement at the end. A duplicate id adds no row, so nothing to index.
	var maxRid int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) FROM events").Scan(&maxRid); err != nil {
		return fmt.Errorf("store: %s: %w", d.name, err)
	}
	for len(idx) > 0 {
		n := insertChunks[len(insertChunks)-1]
		for _, c := range insertChunks {
			if c <= len(idx) {
				n = c
				break
			}
		}
		st, err := d.insertStmt(ctx, n)
		if err != nil {
			return fmt.Errorf("store: %s: prepare: %w", d.name, err)
		}
		args := w.rows(evs, idx[:n])
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: %s: insert: %w", d.name, err)
		}
		idx = idx[n:]
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO events_fts(rowid, message) SELECT rid, message FROM events WHERE rid > ?", maxRid); err != nil {
		return fmt.Errorf("store: %s: index: %w", d.name, err)
	}
	// The rids this transaction added and their newest received time: what
	// lets a text search stop early (see searchDayText).
	if _, err := tx.ExecContext(ctx, "INSERT INTO blocks (lo, hi, max_received) "+
		"SELECT min(rid), max(rid), max(received) FROM events WHERE rid > ? HAVING count(*) > 0", maxRid); err != nil {
		return fmt.Errorf("store: %s: blocks: %w", d.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: commit: %w", d.name, err)
	}
	return nil
}

// writeBuf is Write's scratch space, reused across chunks: the arguments of
// one multi-row INSERT, and one byte buffer holding the rows' ids and JSON
// (converted to strings once per chunk, not per row).
type writeBuf struct {
	args []any
	b    []byte
	offs []int
}

// rows returns the INSERT arguments of evs[idx...], insertCols per row.
func (w *writeBuf) rows(evs []protocol.Event, idx []int) []any {
	w.b, w.offs = w.b[:0], append(w.offs[:0], 0)
	for _, i := range idx {
		w.b = evs[i].ID.AppendText(w.b)
		w.offs = append(w.offs, len(w.b))
		w.b = evs[i].AppendJSON(w.b)
		w.offs = append(w.offs, len(w.b))
	}
	all := string(w.b) // one allocation for the chunk's ids and JSON
	w.args = w.args[:0]
	for k, i := range idx {
		ev := &evs[i]
		var tm any
		if !ev.Time.IsZero() {
			tm = ev.Time.UnixNano()
		}
		w.args = append(w.args, all[w.offs[2*k]:w.offs[2*k+1]], tm, ev.Received.UnixNano(), ev.Host, ev.App,
			int64(ev.Severity), int64(ev.Facility), ev.Message, all[w.offs[2*k+1]:w.offs[2*k+2]])
	}
	return w.args
}

// dayFiles returns the known days, newest first.
func (s *Store) dayFiles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.days))
	for n := range s.days {
		names = append(names, n)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	return names
}
