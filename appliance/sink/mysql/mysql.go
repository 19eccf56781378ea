package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"logpacker/protocol"
)

// Options configures the output.
type Options struct {
	// DSN is the driver's data source name, with a database:
	// "user:password@tcp(127.0.0.1:3306)/logs". Parameters of
	// github.com/go-sql-driver/mysql are allowed (tls=…, timeout=…). The sink
	// sets loc=UTC and interpolateParams (see Interpolate) itself.
	DSN string
	// Table is the table name, "name" or "db.name" (letters, digits, _ and
	// $). Default "logs".
	Table string
	// Logger gets the table check and connection problems found by New.
	// Default slog.Default().
	Logger *slog.Logger
	// MaxRows caps the rows of one INSERT statement. Default 250 (measured
	// fastest of 250 and 1000); at most 7281 (65535 placeholders / 9 columns).
	MaxRows int
	// MaxStatementBytes caps the (estimated) size of one INSERT statement.
	// Default 4 MiB; the server's max_allowed_packet lowers it.
	MaxStatementBytes int
	// Interpolate makes the driver put the values into the statement text
	// (interpolateParams) instead of using server-side prepared statements,
	// which are faster on MySQL and MariaDB; for MySQL-protocol servers
	// without them (Sphinx's SphinxQL).
	Interpolate bool
	// Timeout bounds one Write (its whole transaction) and the table check.
	// Default 30s. Connecting is bounded by the DSN's timeout, default 5s.
	Timeout time.Duration
}

const (
	defaultTable    = "logs"
	defaultMaxRows  = 250
	defaultMaxBytes = 4 << 20
	defaultTimeout  = 30 * time.Second
	defaultDial     = 5 * time.Second
	packetMargin    = 4 << 10 // below max_allowed_packet: the statement's fixed text and slack
)

var tableName = regexp.MustCompile(`^[A-Za-z0-9_$]{1,64}(\.[A-Za-z0-9_$]{1,64})?$`)

// Sink writes events to a MySQL or MariaDB table. Write is safe for
// concurrent use but the output loop calls it from one goroutine.
type Sink struct {
	db       *sql.DB
	log      *slog.Logger
	table    string // quoted
	maxRows  int
	maxBytes int
	timeout  time.Duration
	prepared bool // server-side prepared statements (else the driver interpolates)

	mu     sync.Mutex
	ready  bool // table checked and max_allowed_packet read
	budget int  // statement byte budget: min(maxBytes, max_allowed_packet-packetMargin)
	args   []any
	sizes  []int
	xbuf   []byte
	query  map[int]string
	stmts  map[int]*sql.Stmt
}

// New checks opts and opens the connection pool. It then creates the table
// if it is missing; when the server cannot be reached it logs that and
// leaves it to the first Write (whose error the output loop retries), so a
// node starts while its database is down.
func New(opts Options) (*Sink, error) {
	s, err := newSink(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.ensure(ctx); err != nil {
		s.log.Warn("sink/mysql: table check failed; retrying at the first write", "table", s.table, "err", err)
	}
	return s, nil
}

func newSink(opts Options) (*Sink, error) {
	cfg, err := driver.ParseDSN(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("sink/mysql: dsn: %w", err)
	}
	if cfg.DBName == "" {
		return nil, errors.New("sink/mysql: dsn: no database name (…/DBNAME)")
	}
	table := opts.Table
	if table == "" {
		table = defaultTable
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("sink/mysql: table %q: want name or db.name of letters, digits, _ and $ (at most 64 each)", table)
	}
	s := &Sink{
		log:      opts.Logger,
		table:    "`" + strings.ReplaceAll(table, ".", "`.`") + "`",
		maxRows:  opts.MaxRows,
		maxBytes: opts.MaxStatementBytes,
		timeout:  opts.Timeout,
		prepared: !opts.Interpolate,
		query:    map[int]string{},
		stmts:    map[int]*sql.Stmt{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxRows <= 0 {
		s.maxRows = defaultMaxRows
	}
	s.maxRows = min(s.maxRows, maxPlaceholders/numColumns)
	if s.maxBytes <= 0 {
		s.maxBytes = defaultMaxBytes
	}
	s.maxBytes = max(s.maxBytes, 64<<10)
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	cfg.Loc = time.UTC
	cfg.Logger = driverLog{s.log}
	cfg.InterpolateParams = opts.Interpolate
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultDial
	}
	conn, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("sink/mysql: dsn: %w", err)
	}
	s.db = sql.OpenDB(conn)
	s.db.SetMaxOpenConns(4)
	s.db.SetMaxIdleConns(2)
	s.db.SetConnMaxIdleTime(5 * time.Minute)
	s.db.SetConnMaxLifetime(time.Hour)
	return s, nil
}

// createTable is the table's schema; %s is the quoted table name.
const createTable = "CREATE TABLE IF NOT EXISTS %s (\n" +
	"  id       VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,\n" +
	"  time     DATETIME(6) NULL,\n" +
	"  received DATETIME(6) NULL,\n" +
	"  host     VARCHAR(255) NOT NULL DEFAULT '',\n" +
	"  app      VARCHAR(128) NOT NULL DEFAULT '',\n" +
	"  severity TINYINT UNSIGNED NOT NULL,\n" +
	"  facility TINYINT UNSIGNED NOT NULL,\n" +
	"  message  MEDIUMTEXT NOT NULL,\n" +
	"  extra    JSON NULL,\n" +
	"  PRIMARY KEY (id),\n" +
	"  KEY time_idx (time),\n" +
	"  KEY host_time (host, time),\n" +
	"  KEY app_time (app, time),\n" +
	"  KEY severity_time (severity, time)\n" +
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

// ensure creates the table if it is missing and reads max_allowed_packet.
// Called with mu held, or before the sink is shared.
func (s *Sink) ensure(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf(createTable, s.table)); err != nil {
		return fmt.Errorf("sink/mysql: create table %s: %w", s.table, err)
	}
	var packet int64
	if err := s.db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		return fmt.Errorf("sink/mysql: read max_allowed_packet: %w", err)
	}
	s.budget = max(min(s.maxBytes, int(packet)-packetMargin), 1024)
	s.ready = true
	return nil
}

// Write stores evs in one transaction of multi-row INSERTs that skip rows
// whose id is already there, so a batch written again after a crash or a
// lost commit is stored once. Errors that will never succeed report
// Permanent(); everything else (connection lost, timeouts, deadlocks, a
// missing or altered table) is returned plainly for the loop to retry.
func (s *Sink) Write(ctx context.Context, evs []protocol.Event) error {
	if len(evs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if !s.ready {
		if err := s.ensure(ctx); err != nil {
			return err
		}
	}
	s.build(evs)
	defer func() { clear(s.args) }() // keep nothing of evs
	err := s.insert(ctx)
	if err == nil {
		return nil
	}
	var me *driver.MySQLError
	if errors.As(err, &me) && (me.Number == 1146 || me.Number == 1054) {
		s.ready = false // table dropped or altered: check it again before the retry
	}
	err = fmt.Errorf("sink/mysql: insert %d events into %s: %w", len(evs), s.table, err)
	if isPermanent(err) {
		return &permanentError{err}
	}
	return err
}

// build fills s.args and s.sizes with the rows of evs.
func (s *Sink) build(evs []protocol.Event) {
	s.args, s.sizes = s.args[:0], s.sizes[:0]
	msgMax := s.budget/2 - 2*packetMargin
	var size int
	for i := range evs {
		s.args, s.xbuf, size = appendRow(s.args, s.xbuf, &evs[i], msgMax)
		s.sizes = append(s.sizes, size)
	}
}

// chunks calls f for each run of rows [i, j) that makes one statement: at
// most maxRows rows and, unless one row alone is larger, budget bytes.
func chunks(sizes []int, maxRows, budget int, f func(i, j int) error) error {
	for i := 0; i < len(sizes); {
		j, n := i, 0
		for j < len(sizes) && j-i < maxRows && (j == i || n+sizes[j] <= budget) {
			n += sizes[j]
			j++
		}
		if err := f(i, j); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func (s *Sink) insert(ctx context.Context) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	err = chunks(s.sizes, s.maxRows, s.budget, func(i, j int) error {
		args := s.args[i*numColumns : j*numColumns]
		if !s.prepared {
			_, err := tx.ExecContext(ctx, s.insertSQL(j-i), args...)
			return err
		}
		stmt, err := s.stmt(ctx, j-i)
		if err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return err
	}
	return tx.Commit()
}

// insertSQL is the statement for n rows; a row whose id is already stored is
// left as it is (ON DUPLICATE KEY UPDATE id=id: unlike INSERT IGNORE, this
// turns no other error into a warning, so nothing is silently dropped or
// mangled).
func (s *Sink) insertSQL(n int) string {
	if q, ok := s.query[n]; ok {
		return q
	}
	var b strings.Builder
	b.Grow(128 + n*20)
	b.WriteString("INSERT INTO ")
	b.WriteString(s.table)
	b.WriteString(" (id,time,received,host,app,severity,facility,message,extra) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(" ON DUPLICATE KEY UPDATE id=id")
	q := b.String()
	if len(s.query) >= 16 {
		clear(s.query)
	}
	s.query[n] = q
	return q
}

// stmt is a prepared statement for n rows (database/sql prepares it again on
// each pooled connection it runs on).
func (s *Sink) stmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if st, ok := s.stmts[n]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.insertSQL(n))
	if err != nil {
		return nil, err
	}
	if len(s.stmts) >= 8 {
		for k, old := range s.stmts {
			_ = old.Close()
			delete(s.stmts, k)
		}
	}
	s.stmts[n] = st
	return st, nil
}

// Close closes the connection pool.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.stmts {
		_ = st.Close()
	}
	return s.db.Close()
}

// permanentCodes are server errors that the same rows will get again
// however often they are retried. The sink's own row building keeps them
// from happening with its schema; they are seen when the table was created
// by someone else with narrower columns, or under an unexpected sql_mode.
var permanentCodes = map[uint16]bool{
	1048: true, // column cannot be null
	1153: true, // packet bigger than max_allowed_packet
	1264: true, // out of range value
	1265: true, // data truncated
	1292: true, // incorrect datetime value
	1301: true, // result larger than max_allowed_packet
	1366: true, // incorrect string value
	1367: true, // illegal value
	1406: true, // data too long for column
	3140: true, // MySQL: invalid JSON text
	4025: true, // MariaDB: CHECK constraint failed (JSON_VALID)
}

func isPermanent(err error) bool {
	var me *driver.MySQLError
	return errors.As(err, &me) && permanentCodes[me.Number]
}

// permanentError marks an error the output loop must not retry: it
// dead-letters the batch.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() + " (permanent)" }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// driverLog sends the driver's own messages (a connection found broken, for
// one) to the sink's logger at debug level: the error that matters is the
// one Write returns.
type driverLog struct{ log *slog.Logger }

func (l driverLog) Print(v ...any) {
	l.log.Debug("sink/mysql: driver: " + strings.TrimSuffix(fmt.Sprint(v...), "\n"))
}
