package mysql

import (
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"logpacker/appliance/sink/mysql/mariadbtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mariadbtest.Cleanup()
	os.Exit(code)
}

func startMariaDB(t testing.TB) (dsn string, kill func(), restart func()) {
	return mariadbtest.Start(t)
}

func sharedMariaDB(t testing.TB) string { return mariadbtest.Shared(t) }

// openDB opens a plain connection for checking what the sink stored.
func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	c, err := driver.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
