// Package vltest runs a real VictoriaLogs server for tests: the
// victoria-logs binary that .ci/install-deps.sh builds into .cache/bin
// (LOGPACKER_VICTORIALOGS or PATH may name another), on 127.0.0.1 with a
// free port and its own -storageDataPath under t.TempDir(), readiness
// checked on /health (no sleeps). A test that needs it fails when the
// binary is missing; under -short only, it skips with the reason printed.
package vltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of victoria-logs. Missing, it fails the test
// (under -short only, it skips it with the reason printed).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LOGPACKER_VICTORIALOGS"); p != "" {
		return p
	}
	_, self, _, _ := runtime.Caller(0)
	// appliance/sink/victorialogs/vltest → the repository root
	root := filepath.Join(filepath.Dir(self), "..", "..", "..", "..")
	if p := filepath.Join(root, ".cache", "bin", "victoria-logs"); isExec(p) {
		return p
	}
	if p, err := exec.LookPath("victoria-logs"); err == nil {
		return p
	}
	if testing.Short() {
		t.Skip("SKIP (-short): victoria-logs is not built; `make deps` builds it into .cache/bin")
	}
	t.Fatal("victoria-logs is missing: the VictoriaLogs output's tests run the real server; " +
		"run `make deps` (.ci/install-deps.sh builds it into .cache/bin) or set LOGPACKER_VICTORIALOGS")
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Server is one victoria-logs process; Kill and Start stop and start it
// again on the same port and data.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	Addr string // 127.0.0.1:port
	URL  string // http://127.0.0.1:port

	mu    sync.Mutex
	cmd   *exec.Cmd
	waitc chan error    // cmd.Wait's result
	out   *lockedBuffer // the current process's output
}

// Start starts a server with its own data directory; t's cleanup kills it.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	ln.Close()
	s.URL = "http://" + s.Addr
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// Restart starts the process (again) and waits until /health answers 200.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatal("vltest: Restart while running")
	}
	s.out = &lockedBuffer{}
	cmd := exec.Command(s.bin, "-httpListenAddr="+s.Addr, "-storageDataPath="+filepath.Join(s.dir, "data"),
		"-retentionPeriod=100y", "-inmemoryDataFlushInterval=1s", "-loggerLevel=WARN")
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("vltest: start %s: %v", s.bin, err)
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			s.cmd = nil
			s.t.Fatalf("vltest: victoria-logs exited at start: %v\n%s", err, s.out)
		default:
		}
		res, err := http.Get(s.URL + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("vltest: victoria-logs not healthy after 30s: %v\n%s", err, s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Reap it in the background; Kill waits for that.
	s.waitc = exited
}

// Kill sends SIGKILL and waits for the process to end (no-op when it is
// not running).
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.waitc
	s.cmd = nil
}

// Output is what the current (or last) process printed.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Flush makes everything ingested so far searchable and durable
// (/internal/force_flush).
func (s *Server) Flush() {
	s.t.Helper()
	res, err := http.Get(s.URL + "/internal/force_flush")
	if err != nil {
		s.t.Fatalf("vltest: force_flush: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		s.t.Fatalf("vltest: force_flush: HTTP %d", res.StatusCode)
	}
}

// Persist makes the server write what it acknowledged to its disk, and
// returns once it has: force_flush (rows into in-memory parts), then a
// snapshot of every partition (which writes the in-memory parts to files
// and syncs them; the snapshot itself, hard links, is deleted again).
// VictoriaLogs answers 200 before it writes the data and would lose the last
// seconds it acknowledged if killed; a test that kills it calls Persist
// first, so that it tests the client, not that window.
func (s *Server) Persist() {
	s.t.Helper()
	s.Flush()
	res, err := http.Get(s.URL + "/internal/partition/snapshot/create")
	if err != nil {
		s.t.Fatalf("vltest: snapshot: %v", err)
	}
	var paths []string
	err = json.NewDecoder(res.Body).Decode(&paths)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		s.t.Fatalf("vltest: snapshot: HTTP %d, %v", res.StatusCode, err)
	}
	for _, p := range paths {
		res, err := http.Get(s.URL + "/internal/partition/snapshot/delete?path=" + url.QueryEscape(p))
		if err != nil {
			s.t.Fatalf("vltest: snapshot delete: %v", err)
		}
		res.Body.Close()
	}
}

// Query runs a LogsQL query (/select/logsql/query) after Flush, over all
// time, with headers (tenant: AccountID, ProjectID) if given, and returns
// its rows: field name → value (VictoriaLogs returns every value as a
// string).
func (s *Server) Query(query string, headers ...string) []map[string]string {
	s.t.Helper()
	s.Flush()
	req, err := http.NewRequest("POST", s.URL+"/select/logsql/query",
		strings.NewReader(url.Values{"query": {query}}.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("vltest: query %q: %v", query, err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		s.t.Fatalf("vltest: query %q: HTTP %d: %s", query, res.StatusCode, b)
	}
	var rows []map[string]string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var row map[string]string
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			s.t.Fatalf("vltest: query %q: row %q: %v", query, sc.Bytes(), err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		s.t.Fatalf("vltest: query %q: %v", query, err)
	}
	return rows
}

// Count runs `<filter> | stats count() n` and returns n.
func (s *Server) Count(filter string, headers ...string) int {
	s.t.Helper()
	rows := s.Query(filter+" | stats count() n", headers...)
	if len(rows) != 1 {
		s.t.Fatalf("vltest: count %q: %d rows", filter, len(rows))
	}
	n, err := strconv.Atoi(rows[0]["n"])
	if err != nil {
		s.t.Fatalf("vltest: count %q: %v", filter, err)
	}
	return n
}

// String names the server in messages.
func (s *Server) String() string { return fmt.Sprintf("victoria-logs at %s", s.URL) }

// lockedBuffer is the process's output, written by exec's copying goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
