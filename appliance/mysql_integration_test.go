package appliance_test

import (
	"bufio"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/sink/mysql/mariadbtest"
)

// TestMySQLOutputIntegration: the real binary with three outputs, the file,
// the embedded store and a real MariaDB (type = mysql), 100,000 syslog
// messages over TCP.
//   - MariaDB is SIGKILLed early in the stream: the file and store outputs
//     keep up and get every message while the database is down (fan-out: a
//     dead output delays nobody else);
//   - MariaDB comes back: its output catches up from its cursor;
//   - logpacker is SIGKILLed while it catches up, and restarted;
//
// at the end the table holds every sequence number exactly once.
func TestMySQLOutputIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	const total = 100_000
	dsn, killDB, restartDB := mariadbtest.Start(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bin := buildBinary(t)
	dir := t.TempDir()
	port, httpPort := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "server.ini")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`[node]
id = mysql-test
data_dir = %s
[listen]
syslog_udp =
syslog_tcp = 127.0.0.1:%d
http = 127.0.0.1:%d
[wal]
fsync = always
[output.file]
path = events.jsonl
max_size = 0
[output.store]
type = store
[output.db]
type = mysql
dsn = %s
table = logs
batch_size = 1000
`, filepath.Join(dir, "data"), port, httpPort, dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	lp := runBinary(t, bin, cfg, dir, "logpacker")

	rows := func() (n, distinct int) {
		// the table may not exist yet, or the server may be down: 0
		db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT message) FROM logs").Scan(&n, &distinct)
		return n, distinct
	}
	deadline := time.Now().Add(3 * time.Minute)
	waitFor := func(what string, ok func() bool) { t.Helper(); lp.waitFor(deadline, what, ok) }

	c := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", port))
	sent := make(chan error, 1)
	go func() {
		defer c.Close()
		w := bufio.NewWriterSize(c, 256<<10)
		for i := 1; i <= total; i++ {
			fmt.Fprintf(w, "<134>1 2026-11-24T12:00:00Z web-1 dbtest - - - seq=%d\n", i)
		}
		sent <- w.Flush()
	}()

	waitFor("the first rows in MariaDB", func() bool { n, _ := rows(); return n >= total/10 })
	killDB()
	atKill, _ := rows() // 0: the server is gone
	out := filepath.Join(dir, "data", "events.jsonl")
	lines := &lineCounter{path: out}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	waitFor("the file output to get every message while MariaDB is down", func() bool { return lines.count() >= total })
	waitFor("the store output to get every message while MariaDB is down", func() bool {
		return delivered(httpPort, "store") >= total
	})
	t.Logf("MariaDB SIGKILLed; the file and store outputs got all %d messages meanwhile", total)
	if got := countLines(out); got != total {
		t.Fatalf("events.jsonl has %d lines, want %d", got, total)
	}

	restartDB()
	n0, _ := rows()
	if n0 >= total {
		t.Fatalf("MariaDB had all %d rows before it was killed (%d at the kill): the test did not exercise the outage", n0, atKill)
	}
	waitFor("the MySQL output to catch up part way", func() bool { n, _ := rows(); return n >= n0+(total-n0)/3 })
	lp.kill()
	nKill, _ := rows()
	t.Logf("MariaDB back with %d rows; logpacker SIGKILLed at %d rows and restarted", n0, nKill)
	lp.start()
	waitFor("every message in MariaDB", func() bool { n, _ := rows(); return n >= total })
	time.Sleep(500 * time.Millisecond) // anything more would be a duplicate: let it show
	n, distinct := rows()
	if n != total || distinct != total {
		t.Fatalf("MariaDB holds %d rows, %d distinct messages; want %d exactly once", n, distinct, total)
	}
	var lo, hi int
	if err := db.QueryRow("SELECT MIN(CAST(SUBSTRING(message, 5) AS UNSIGNED)), MAX(CAST(SUBSTRING(message, 5) AS UNSIGNED)) FROM logs").Scan(&lo, &hi); err != nil {
		t.Fatal(err)
	}
	if lo != 1 || hi != total {
		t.Fatalf("sequence numbers %d..%d, want 1..%d", lo, hi, total)
	}
	t.Logf("all %d messages in MariaDB exactly once, across a MariaDB SIGKILL and a logpacker SIGKILL", total)
}

// delivered reads logpacker_output_delivered_total{output=name} from a
// node's /metrics (0 when it cannot).
func delivered(httpPort int, name string) float64 {
	v, _ := scrapeMetric(fmt.Sprintf("127.0.0.1:%d", httpPort), `logpacker_output_delivered_total{output="`+name+`"}`)
	return v
}

// scrapeMetric reads one series (name{labels} as /metrics prints it) from
// the node whose HTTP listener is hostport; ok is false when the node or the
// series is not there.
func scrapeMetric(hostport, series string) (v float64, ok bool) {
	resp, err := http.Get("http://" + hostport + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if s, found := strings.CutPrefix(sc.Text(), series+" "); found {
			f, err := strconv.ParseFloat(s, 64)
			return f, err == nil
		}
	}
	return 0, false
}
