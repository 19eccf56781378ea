// Package mariadbtest starts throwaway MariaDB servers for tests: mariadbd
// (Debian package mariadb-server) in the foreground on 127.0.0.1, with its own
// data directory copied from one made by mariadb-install-db once per test
// binary, readiness checked with the Go driver (no sleeps). A test that needs
// it fails, naming the package, when it is not installed (under -short only,
// it skips with the reason printed). Call Cleanup from TestMain.
package mariadbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// Need returns the path of a program the integration tests run. Missing, it
// fails the test (or, under -short only, skips it with the reason printed).
func Need(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	if testing.Short() {
		t.Skipf("SKIP (-short): %s (package mariadb-server) is not installed; `make deps` installs it", name)
	}
	t.Fatalf("%s is not installed: the MySQL output's tests need package mariadb-server: run `make deps` (.ci/install-deps.sh)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// A freshly installed data directory, made once per test binary and copied
// for each server (mariadb-install-db takes over a second).
var template struct {
	once sync.Once
	dir  string
	err  error
}

func templateDataDir(t testing.TB) string {
	t.Helper()
	installDB := Need(t, "mariadb-install-db")
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "lpmysql-tmpl-")
		if err != nil {
			template.err = err
			return
		}
		cmd := exec.Command(installDB, "--no-defaults", "--user=root", "--datadir="+dir,
			"--auth-root-authentication-method=normal", "--skip-test-db")
		if out, err := cmd.CombinedOutput(); err != nil {
			template.err = fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
			return
		}
		template.dir = dir
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	return template.dir
}

// Cleanup stops the shared server and removes the template data directory;
// call it from TestMain after m.Run.
func Cleanup() {
	if shared.db != nil {
		shared.db.kill()
		os.RemoveAll(shared.db.dir)
	}
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
}

// mariaDB is a throwaway mariadbd on 127.0.0.1 with its own data directory,
// run in the foreground as a child of the test.
type mariaDB struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
}

// Start starts a server of the test's own and creates database "lp".
// dsn points at it; kill SIGKILLs the server and waits for it to die;
// restart starts it again on the same port and data directory and waits
// until it answers. The server is killed and its directory removed in
// t.Cleanup.
func Start(t testing.TB) (dsn string, kill func(), restart func()) {
	t.Helper()
	db := launch(t)
	t.Cleanup(func() {
		db.kill()
		os.RemoveAll(db.dir)
	})
	return db.dsn(), db.kill, db.start
}

// launch copies the template data directory, starts mariadbd on it and
// creates database "lp". The caller stops it.
func launch(t testing.TB) *mariaDB {
	t.Helper()
	bin := Need(t, "mariadbd")
	tmpl := templateDataDir(t)
	dir, err := os.MkdirTemp("", "lpmysql-") // short: the socket path must fit in 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", tmpl+"/.", dir).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("copy data dir: %v\n%s", err, out)
	}
	db := &mariaDB{t: t, bin: bin, dir: dir, port: FreePort(t)}
	db.start()
	conn, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/", db.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec("CREATE DATABASE lp CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	return db
}

func (db *mariaDB) dsn() string { return fmt.Sprintf("root@tcp(127.0.0.1:%d)/lp", db.port) }

// FreePort returns a free loopback TCP port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (db *mariaDB) start() {
	t := db.t
	t.Helper()
	db.mu.Lock()
	cmd := exec.Command(db.bin, "--no-defaults", "--user=root", "--datadir="+db.dir,
		"--socket="+db.dir+"/sock", fmt.Sprintf("--port=%d", db.port), "--bind-address=127.0.0.1",
		"--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--log-error="+db.dir+"/err.log",
		"--pid-file="+db.dir+"/pid")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		db.mu.Unlock()
		t.Fatalf("start mariadbd: %v", err)
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	db.cmd, db.exit = cmd, exit
	db.mu.Unlock()

	// Ready when the driver can connect (no sleeps: poll with Ping).
	conn, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?timeout=1s", db.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = conn.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exit:
			t.Fatalf("mariadbd exited before it was ready: %s", db.errLog())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mariadbd not ready after 60s: %v\n%s", err, db.errLog())
		}
	}
}

func (db *mariaDB) kill() {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.cmd == nil {
		return
	}
	_ = db.cmd.Process.Signal(syscall.SIGKILL)
	<-db.exit
	db.cmd = nil
}

func (db *mariaDB) errLog() string {
	b, _ := os.ReadFile(filepath.Join(db.dir, "err.log"))
	s := string(b)
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

// shared is one server for the tests that kill nothing; each call of Shared
// gets a database of its own on it. TestMain stops it (and Pdeathsig kills it
// if the test binary dies).
var shared struct {
	once sync.Once
	db   *mariaDB
	n    atomic.Int64 // databases made so far
}

// Shared returns the DSN of a new, empty database (lp1, lp2, …) on one
// server shared by the tests that kill nothing: tables a test makes do not
// meet another test's, nor the same test's again under -count=N.
func Shared(t testing.TB) string {
	t.Helper()
	Need(t, "mariadbd")
	shared.once.Do(func() { shared.db = launch(t) })
	if shared.db == nil {
		t.Fatal("the shared MariaDB did not start (see the first test that asked for it)")
	}
	name := fmt.Sprintf("lp%d", shared.n.Add(1))
	conn, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/", shared.db.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s", shared.db.port, name)
}
