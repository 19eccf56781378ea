package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"logpacker/protocol"

	"logpacker/appliance/sink/mysql/mariadbtest"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, nil))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func newTestSink(t testing.TB, dsn, table string, interpolate bool) *Sink {
	t.Helper()
	s, err := newSink(Options{DSN: dsn, Table: table, Logger: quietLogger(), Interpolate: interpolate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeRetrying is what the output loop does: Write the batch, and on an
// error that is not permanent write the same batch again after a short
// back-off, until it is delivered.
func writeRetrying(s *Sink, evs []protocol.Event, retries *atomic.Int64) error {
	backoff := 10 * time.Millisecond
	for {
		err := s.Write(context.Background(), evs)
		if err == nil {
			return nil
		}
		if permanent(err) {
			return err
		}
		retries.Add(1)
		time.Sleep(backoff)
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

func countIDs(t testing.TB, db *sql.DB, table string) (n, distinct int) {
	t.Helper()
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT id) FROM "+table).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	return n, distinct
}

func TestWriteRowsIntegration(t *testing.T) {
	dsn := sharedMariaDB(t)
	s, err := New(Options{DSN: dsn, Table: "rows", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recv := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	evs := []protocol.Event{
		{ID: protocol.ID{Node: "n", Seq: 1}, Received: recv, Time: recv.Add(-time.Second), Host: "h", App: "a", Severity: 3, Facility: 4, Message: "hello"},
		{ID: protocol.ID{Node: "n", Seq: 2}, Received: recv, Host: strings.Repeat("h", 300), App: strings.Repeat("𝄞", 200),
			Message: "bad \xff\xfe utf8 and 4-byte 𝄞 and nul \x00", ProcID: "p\xff", ParseErr: "no header",
			SD: []protocol.SDElement{{ID: "m@1", Params: []protocol.SDParam{{Name: "k", Value: "v"}}}}, Fields: map[string]string{"x": "y"}},
		{ID: protocol.ID{Node: "n", Seq: 3}, Received: recv, Time: time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), Message: strings.Repeat("x", 100000)},
		{ID: protocol.ID{Node: "N", Seq: 1}, Received: recv, Message: "ids are case-sensitive"},
	}
	if err := s.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, dsn)
	var mode string
	if err := db.QueryRow("SELECT @@GLOBAL.sql_mode").Scan(&mode); err != nil || !strings.Contains(mode, "STRICT_TRANS_TABLES") {
		t.Fatalf("want a strict server, sql_mode %q %v", mode, err)
	}
	rows, err := db.Query("SELECT id, time, received, host, app, severity, facility, message, extra, JSON_VALID(extra) FROM `rows` ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct {
		id         string
		tm, recv   sql.NullTime
		host, app  string
		sev, fac   int
		msg        string
		extra      sql.NullString
		valid      sql.NullInt64
		extraValue map[string]any
	}
	got := map[string]row{}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.tm, &r.recv, &r.host, &r.app, &r.sev, &r.fac, &r.msg, &r.extra, &r.valid); err != nil {
			t.Fatal(err)
		}
		if r.extra.Valid {
			if r.valid.Int64 != 1 {
				t.Errorf("%s: extra not valid JSON: %s", r.id, r.extra.String)
			}
			if err := json.Unmarshal([]byte(r.extra.String), &r.extraValue); err != nil {
				t.Fatal(err)
			}
		}
		got[r.id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d rows: %v", len(got), got)
	}
	r := got["n:1"]
	if !r.tm.Valid || !r.tm.Time.Equal(recv.Add(-time.Second)) || !r.recv.Time.Equal(recv) || r.host != "h" || r.app != "a" ||
		r.sev != 3 || r.fac != 4 || r.msg != "hello" || r.extra.Valid {
		t.Errorf("n:1 = %+v", r)
	}
	r = got["n:2"]
	if r.tm.Valid || r.host != strings.Repeat("h", 255) || r.app != strings.Repeat("𝄞", 128) ||
		r.msg != "bad \uFFFD\uFFFD utf8 and 4-byte 𝄞 and nul \x00" {
		t.Errorf("n:2 = %+v", r)
	}
	if x := r.extraValue; x["host"] != strings.Repeat("h", 300) || x["app"] != strings.Repeat("𝄞", 200) ||
		x["procid"] != "p\uFFFD" || x["parse_error"] != "no header" || x["fields"].(map[string]any)["x"] != "y" ||
		x["sd"].(map[string]any)["m@1"].(map[string]any)["k"] != "v" {
		t.Errorf("n:2 extra = %v", x)
	}
	r = got["n:3"]
	if r.tm.Valid || len(r.msg) != 100000 || r.extraValue["time"] != "20000-01-01T00:00:00Z" {
		t.Errorf("n:3 time %v, %d bytes, extra %v", r.tm, len(r.msg), r.extraValue)
	}
	if _, ok := got["N:1"]; !ok {
		t.Error("N:1 missing")
	}

	// The same batch again (a retry after a lost commit), and one that
	// overlaps it: stored once, the stored rows unchanged.
	evs[0].Message = "changed"
	if err := s.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	more := append(evs[2:4:4], protocol.Event{ID: protocol.ID{Node: "n", Seq: 4}, Received: recv, Message: "new"})
	if err := s.Write(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	if n, d := countIDs(t, db, "`rows`"); n != 5 || d != 5 {
		t.Fatalf("after rewrites: %d rows, %d distinct, want 5", n, d)
	}
	var msg string
	if err := db.QueryRow("SELECT message FROM `rows` WHERE id='n:1'").Scan(&msg); err != nil || msg != "hello" {
		t.Fatalf("n:1 message %q %v: a duplicate changed the stored row", msg, err)
	}
}

// A table made by someone else with narrower columns refuses rows for good:
// the error is permanent (the loop dead-letters the batch). A dropped table
// is transient and created again by the next Write.
func TestErrorsIntegration(t *testing.T) {
	dsn := sharedMariaDB(t)
	db := openDB(t, dsn)
	if _, err := db.Exec("CREATE TABLE narrow (id VARCHAR(255) PRIMARY KEY, time DATETIME(6), received DATETIME(6), " +
		"host VARCHAR(4), app VARCHAR(4), severity TINYINT, facility TINYINT, message TEXT, extra JSON)"); err != nil {
		t.Fatal(err)
	}
	s := newTestSink(t, dsn, "narrow", false)
	ev := []protocol.Event{{ID: protocol.ID{Node: "n", Seq: 1}, Received: time.Now(), Host: "longer than four"}}
	err := s.Write(context.Background(), ev)
	if err == nil || !permanent(err) || !strings.Contains(err.Error(), "1406") {
		t.Fatalf("narrow column: err %v, want permanent 1406", err)
	}

	s = newTestSink(t, dsn, "dropped", false)
	if err := s.Write(context.Background(), testEvents("d", 1, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DROP TABLE dropped"); err != nil {
		t.Fatal(err)
	}
	err = s.Write(context.Background(), testEvents("d", 11, 10))
	if err == nil || permanent(err) {
		t.Fatalf("dropped table: err %v, want transient", err)
	}
	if err := s.Write(context.Background(), testEvents("d", 11, 10)); err != nil {
		t.Fatalf("retry after the table was dropped: %v", err)
	}
	if n, _ := countIDs(t, db, "dropped"); n != 10 {
		t.Fatalf("%d rows", n)
	}

	// Server unreachable: transient, and New still succeeds.
	s2, err := New(Options{DSN: fmt.Sprintf("root@tcp(127.0.0.1:%d)/lp?timeout=500ms", mariadbtest.FreePort(t)), Logger: quietLogger(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Write(context.Background(), ev); err == nil || permanent(err) {
		t.Fatalf("no server: err %v, want transient", err)
	}
}

const (
	exactlyOnceEvents = 100_000
	loopBatch         = 1000 // events per Write, as the output loop's batch
)

func TestExactlyOnceIntegration(t *testing.T) {
	dsn := sharedMariaDB(t)
	for _, interpolate := range []bool{false, true} {
		t.Run(fmt.Sprintf("interpolate=%v", interpolate), func(t *testing.T) {
			exactlyOnce(t, dsn, fmt.Sprintf("once_%v", interpolate), interpolate)
		})
	}
}

func exactlyOnce(t *testing.T, dsn, table string, interpolate bool) {
	s := newTestSink(t, dsn, table, interpolate)
	var retries atomic.Int64
	start := time.Now()
	for from := 0; from < exactlyOnceEvents; from += loopBatch {
		if err := writeRetrying(s, testEvents("leaf-1", from, loopBatch), &retries); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	n, d := countIDs(t, openDB(t, dsn), table)
	t.Logf("%d events in %v (%.0f events/s), %d retries; stored %d rows, %d distinct ids",
		exactlyOnceEvents, elapsed.Round(time.Millisecond), exactlyOnceEvents/elapsed.Seconds(), retries.Load(), n, d)
	if n != exactlyOnceEvents || d != exactlyOnceEvents {
		t.Fatalf("stored %d rows, %d distinct, want %d", n, d, exactlyOnceEvents)
	}
}

// MariaDB is SIGKILLed mid-stream and restarted on the same port and data
// directory; the writer keeps retrying its batch. At the end every ID is
// stored exactly once.
func TestKillRestartIntegration(t *testing.T) {
	dsn, kill, restart := startMariaDB(t)
	s := newTestSink(t, dsn, "killed", false)
	var retries, delivered atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for from := 0; from < exactlyOnceEvents; from += loopBatch {
			if err := writeRetrying(s, testEvents("leaf-1", from, loopBatch), &retries); err != nil {
				t.Error(err)
				return
			}
			delivered.Store(int64(from + loopBatch))
		}
	}()
	// Kill twice: once early, once in the second half, each while a batch
	// is being written.
	kills := 0
	for _, at := range []int64{20_000, 60_000} {
		for delivered.Load() < at {
			select {
			case <-done:
				t.Fatalf("writer finished before the kill at %d", at)
			case <-time.After(time.Millisecond):
			}
		}
		kill()
		kills++
		t.Logf("SIGKILLed MariaDB after %d events delivered", delivered.Load())
		restart()
	}
	<-done
	db := openDB(t, dsn)
	n, d := countIDs(t, db, "killed")
	t.Logf("%d kills, %d retries; stored %d rows, %d distinct", kills, retries.Load(), n, d)
	if n != exactlyOnceEvents || d != exactlyOnceEvents {
		t.Fatalf("stored %d rows, %d distinct, want %d", n, d, exactlyOnceEvents)
	}
	// The set of IDs is exactly the one written.
	rows, err := db.Query("SELECT id FROM killed")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := make([]bool, exactlyOnceEvents)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		pid, err := protocol.ParseID(id)
		if err != nil || pid.Node != "leaf-1" || pid.Seq >= exactlyOnceEvents || seen[pid.Seq] {
			t.Fatalf("unexpected or repeated id %q (%v)", id, err)
		}
		seen[pid.Seq] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("id leaf-1:%d missing", i)
		}
	}
}

// BenchmarkInsertIntegration inserts batches of 1000 events into a real
// MariaDB, with the driver interpolating the statement (one round trip per
// statement) and with cached prepared statements.
func BenchmarkInsertIntegration(b *testing.B) {
	dsn := sharedMariaDB(b)
	for _, mode := range []struct {
		name        string
		interpolate bool
	}{{"interpolate", true}, {"prepared", false}} {
		for _, rows := range []int{250, 1000} {
			b.Run(fmt.Sprintf("%s/rows=%d", mode.name, rows), func(b *testing.B) {
				table := fmt.Sprintf("bench_%s_%d", mode.name, rows)
				s, err := newSink(Options{DSN: dsn, Table: table, Logger: quietLogger(), MaxRows: rows, Interpolate: mode.interpolate})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				seq := 0
				b.ResetTimer()
				for b.Loop() {
					if err := s.Write(context.Background(), testEvents("bench", seq, loopBatch)); err != nil {
						b.Fatal(err)
					}
					seq += loopBatch
				}
				b.ReportMetric(float64(b.N*loopBatch)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// Sink has appliance.Sink's methods (the package does not import appliance,
// as no output does).
var _ interface {
	Write(context.Context, []protocol.Event) error
	Close() error
} = (*Sink)(nil)
