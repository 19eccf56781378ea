package appliance_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

// writerReport is what rotwriter prints when it is done.
type writerReport struct {
	Seconds     float64        `json:"seconds"`
	Rotations   int            `json:"rotations"`
	HeaderLines int            `json:"header_lines"`
	Seq         map[string]int `json:"seq"`
	Files       map[string]int `json:"files"`
}

// procCPU is the CPU time (user + system) a process used so far, from
// /proc/PID/stat (clock ticks of 1/100 s).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// TestFileTailTortureIntegration: a real writer process writes ~20k
// lines/s for 60 s to main.log, rotating it every second by rename+create,
// copytruncate, rename+gzip and copytruncate+gzip in turn; a stack trace
// every 20 ms to trace.log, split by its rotation every second; a small
// file (always shorter than a fingerprint, rotated); and two files that
// share their first 2 KiB (rotated every 3 s, with and without gzip).
// The real logpacker binary tails them and is SIGKILLed every 1.5-4 s
// and started again. Afterwards its file output must hold every line
// exactly once, in order per file, every trace whole.
func TestFileTailTortureIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP (-short): the file tailing torture test runs 60 s with a writer process and kills")
	}
	bin := buildBinary(t)
	tmp := t.TempDir()
	wbin := filepath.Join(tmp, "rotwriter")
	if b, err := exec.Command("go", "build", "-o", wbin, "logpacker/appliance/internal/rotwriter").CombinedOutput(); err != nil {
		t.Fatalf("go build rotwriter: %v\n%s", err, b)
	}
	logs := filepath.Join(tmp, "logs")
	os.MkdirAll(logs, 0o755)
	httpPort := freePort(t)
	cfg := filepath.Join(tmp, "server.ini")
	ini := fmt.Sprintf(`[node]
id = torture
data_dir = %s
[listen]
syslog_udp =
syslog_tcp =
http = 127.0.0.1:%d
[output.file]
path = events.jsonl
max_size = 8g
[output.store]
enabled = false
[source.main]
type = file
paths = %s/main.log
poll_interval = 50ms
[source.trace]
type = file
paths = %s/trace.log
multiline_start = ^\d{4}-
multiline_timeout = 3s
poll_interval = 50ms
[source.misc]
type = file
paths = %s/small.log, %s/shared-*.log
poll_interval = 50ms
`, filepath.Join(tmp, "data"), httpPort, logs, logs, logs, logs)
	if err := os.WriteFile(cfg, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}

	var wout bytes.Buffer
	writer := exec.Command(wbin, "-dir", logs, "-duration", "60s", "-rate", "20000", "-rotate", "1s")
	writer.Stdout, writer.Stderr = &wout, os.Stderr
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Process.Kill() })
	wdone := make(chan error, 1)
	go func() { wdone <- writer.Wait() }()

	node := runBinary(t, bin, cfg, tmp, "node")
	var cpu time.Duration
	kills := 0
	t0 := time.Now()
	var werr error
loop:
	for {
		select {
		case werr = <-wdone:
			break loop
		case <-time.After(time.Duration(1500+rand.IntN(2500)) * time.Millisecond):
			cpu += procCPU(node.cmd.Process.Pid)
			node.kill()
			kills++
			node.start()
		}
	}
	if werr != nil {
		t.Fatalf("rotwriter: %v\n%s", werr, wout.String())
	}
	var rep writerReport
	if err := json.Unmarshal(wout.Bytes(), &rep); err != nil {
		t.Fatalf("rotwriter report %q: %v", wout.String(), err)
	}
	want := 0
	for _, n := range rep.Seq {
		want += n
	}
	headers := (rep.Files["shared-a"] + rep.Files["shared-b"]) * rep.HeaderLines
	want += headers
	t.Logf("writer: %.1f s, %d main lines (%.0f lines/s), %d traces, %d small, %d+%d shared, %d header lines, %d rotations of main.log; node killed %d times",
		rep.Seconds, rep.Seq["main"], float64(rep.Seq["main"])/rep.Seconds, rep.Seq["trace"], rep.Seq["small"], rep.Seq["shared-a"], rep.Seq["shared-b"],
		headers, rep.Rotations, kills)

	out := filepath.Join(tmp, "data", "events.jsonl")
	got := 0
	node.waitFor(time.Now().Add(5*time.Minute), fmt.Sprintf("%d events in the output (have %d)", want, got), func() bool {
		got = countLines(out)
		if got < want {
			time.Sleep(500 * time.Millisecond)
		}
		return got >= want
	})
	caughtUp := time.Since(t0)
	time.Sleep(time.Second) // a duplicate would land now
	cpu += procCPU(node.cmd.Process.Pid)

	// every line once, in order per file
	type streamCheck struct{ last, dup, order int }
	var curLine []byte // the output line being checked
	seen := map[string]map[int]int{}
	checks := map[string]*streamCheck{}
	headerSeen := 0
	seqRe := regexp.MustCompile(`^(main|small|shared-a|shared-b) seq=(\d+)`)
	traceRe := regexp.MustCompile(`^2026-12-02T00:00:00 ERROR trace seq=(\d+) boom\n\tat frame (\d+)\.1\n\tat frame (\d+)\.2\n\tat frame (\d+)\.3\n\tat frame (\d+)\.4$`)
	note := func(stream string, n int) {
		if seen[stream] == nil {
			seen[stream], checks[stream] = map[int]int{}, &streamCheck{}
		}
		c := checks[stream]
		seen[stream][n]++
		if seen[stream][n] > 1 {
			if c.dup < 5 {
				t.Logf("%s seq=%d again: %s", stream, n, curLine)
			}
			c.dup++
		} else if n < c.last {
			c.order++
		}
		c.last = max(c.last, n)
	}
	bad, checked := 0, 0
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		// a light read of the line (1.2M events: protocol's full decoding
		// takes minutes under -race); the first ones are decoded fully
		line := sc.Bytes()
		curLine = line
		ev, err := lightEvent(line)
		if err != nil {
			t.Fatalf("output: %v: %s", err, line)
		}
		if checked < 1000 {
			checked++
			var full protocol.Event
			if err := full.UnmarshalJSON(line); err != nil || full.Message != ev.Message || full.Fields["path"] == "" || full.Fields["file_id"] == "" {
				t.Fatalf("output: %v: %s", err, line)
			}
		}
		if ev.Transport != "file" {
			bad++
			continue
		}
		if m := seqRe.FindStringSubmatch(ev.Message); m != nil {
			n, _ := strconv.Atoi(m[2])
			note(m[1], n)
			continue
		}
		if m := traceRe.FindStringSubmatch(ev.Message); m != nil && m[1] == m[2] && m[1] == m[3] && m[1] == m[4] && m[1] == m[5] {
			n, _ := strconv.Atoi(m[1])
			note("trace", n)
			continue
		}
		if strings.HasPrefix(ev.Message, "# shared header line ") {
			headerSeen++
			continue
		}
		if bad < 10 {
			t.Errorf("unexpected event %q (fields %v)", ev.Message, ev.Fields)
		}
		bad++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for stream, n := range rep.Seq {
		c := checks[stream]
		if c == nil {
			c = &streamCheck{}
		}
		missing := 0
		for i := 1; i <= n; i++ {
			if seen[stream][i] == 0 {
				if missing < 5 {
					t.Errorf("%s: seq=%d missing", stream, i)
				}
				missing++
			}
		}
		total += len(seen[stream])
		t.Logf("%s: %d written, %d received once, %d missing, %d duplicates, %d out of order", stream, n, len(seen[stream]), missing, c.dup, c.order)
		if missing+c.dup+c.order > 0 {
			t.Errorf("%s: %d missing, %d duplicates, %d out of order", stream, missing, c.dup, c.order)
		}
	}
	if headerSeen != headers {
		t.Errorf("shared header lines: %d, want %d (one per line of each file)", headerSeen, headers)
	}
	if bad > 0 {
		t.Errorf("%d unexpected events", bad)
	}
	if t.Failed() {
		// what the sources said, run by run
		for i := 1; i <= node.starts; i++ {
			b, _ := os.ReadFile(filepath.Join(tmp, fmt.Sprintf("node.%d.log", i)))
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "source/file") || strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
					t.Logf("run %d: %s", i, l)
				}
			}
		}
		cp, _ := os.ReadFile(filepath.Join(tmp, "data", "sources", "main.json"))
		t.Logf("main.json: %s", cp)
		ls, _ := exec.Command("ls", "-l", "--time-style=full-iso", logs).CombinedOutput()
		t.Logf("logs:\n%s", ls)
	}
	lines := rep.Seq["main"] + 5*rep.Seq["trace"] + rep.Seq["small"] + rep.Seq["shared-a"] + rep.Seq["shared-b"] + headers
	t.Logf("torture: %d events (%d lines) exactly once across %d SIGKILLs; all delivered %.1f s after the start; node CPU %.1f s (%.2f s per 1M lines, WAL fsync and file output included)",
		total+headerSeen, lines, kills, caughtUp.Seconds(), cpu.Seconds(), cpu.Seconds()/float64(lines)*1e6)
}

// lightEvent takes the message and transport out of an output line.
func lightEvent(line []byte) (protocol.Event, error) {
	var ev protocol.Event
	str := func(key string) (string, error) {
		i := bytes.Index(line, []byte(`"`+key+`":"`))
		if i < 0 {
			return "", fmt.Errorf("no %s", key)
		}
		rest := line[i+len(key)+4:]
		j := 0
		for j < len(rest) && rest[j] != '"' {
			if rest[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(rest) {
			return "", fmt.Errorf("%s: no end", key)
		}
		return strconv.Unquote(`"` + string(rest[:j]) + `"`)
	}
	var err error
	if ev.Message, err = str("message"); err != nil {
		return ev, err
	}
	ev.Transport, err = str("transport")
	return ev, err
}
