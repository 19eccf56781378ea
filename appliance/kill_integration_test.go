package appliance_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/protocol"
	"logpacker/wal"
)

// The child side of the kill tests: a real process that runs a node with
// the file output and appends through the node's ingest path (the same
// Emit every listener uses), printing each acknowledged batch.
//
//	LP_CHILD_DIR   data dir       LP_CHILD_RUN   run number (payloads are "r<run>-<i>")
//	LP_CHILD_MODE  "append" (until killed) or "drain" (deliver everything, exit 0)
func TestMain(m *testing.M) {
	if dir := os.Getenv("LP_CHILD_DIR"); dir != "" {
		killChild(dir)
		os.Exit(0)
	}
	if cfg := os.Getenv("LP_NODE_CONFIG"); cfg != "" {
		os.Exit(nodeChild(cfg))
	}
	os.Exit(m.Run())
}

func killChild(dir string) {
	cfg, err := appliance.ParseConfig("kill.ini", []byte(fmt.Sprintf(`
[node]
id = origin
data_dir = %s
[listen]
syslog_udp =
syslog_tcp =
http =
[wal]
fsync = %s
segment_size = 64k
max_size = 0
[output.file]
batch_size = 97
max_size = 256k
max_files = 1000
[output.store]
enabled = false
`, dir, os.Getenv("LP_CHILD_FSYNC"))))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := appliance.New(cfg, log)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	n.Start()
	if os.Getenv("LP_CHILD_MODE") == "drain" {
		for {
			s := n.WAL().Stats()
			if s.Cursors["output.file"] >= s.LastIndex {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("DRAINED")
		os.Exit(0)
	}
	run := os.Getenv("LP_CHILD_RUN")
	emit := n.Emit()
	for i := 0; ; {
		size := 1 + rand.IntN(64)
		evs := make([]protocol.Event, size)
		for j := range evs {
			evs[j] = protocol.Event{App: "killtest", Host: "h", Severity: protocol.SevInfo, Facility: protocol.FacUser,
				Message: fmt.Sprintf("r%s-%d %s", run, i+j, strings.Repeat("x", rand.IntN(300))), Transport: "test"}
		}
		if err := emit(context.Background(), evs); err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		// one write(2) per line: the parent sees only whole lines
		os.Stdout.WriteString(fmt.Sprintf("ACK r%s %d %d\n", run, i, i+size-1))
		i += size
	}
}

type ackRange struct {
	run      string
	from, to int
}

// TestKillDurabilityIntegration SIGKILLs a process appending through the
// ingest path at random moments, many times, sometimes tearing the WAL's
// tail as a crash mid-write would, and checks that every acknowledged event
// reaches the output exactly once, in order, with consecutive IDs.
func TestKillDurabilityIntegration(t *testing.T) {
	for _, fsync := range []string{"always", "interval"} {
		t.Run(fsync, func(t *testing.T) { killDurability(t, fsync) })
	}
}

func killDurability(t *testing.T, fsync string) {
	dir := t.TempDir()
	iterations := 25
	if testing.Short() {
		iterations = 5
	}
	var acked []ackRange
	tornTails := 0
	for run := 0; run < iterations; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "LP_CHILD_DIR="+dir, "LP_CHILD_RUN="+strconv.Itoa(run), "LP_CHILD_MODE=append", "LP_CHILD_FSYNC="+fsync)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = testWriter{t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		time.Sleep(time.Duration(20+rand.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines {
			f := strings.Fields(l)
			if f[0] == "ERR" {
				t.Fatalf("child: %s", l)
			}
			if len(f) != 4 || f[0] != "ACK" {
				continue // a torn line cannot happen (one write per line), but be strict about what counts
			}
			from, _ := strconv.Atoi(f[2])
			to, _ := strconv.Atoi(f[3])
			acked = append(acked, ackRange{f[1], from, to})
		}
		cmd.Wait()
		// Every third crash, simulate a torn write: a partial record at the end
		// of the newest WAL segment, as a crash inside write(2) leaves behind.
		if run%3 == 2 {
			if seg := newestSegment(t, filepath.Join(dir, "wal")); seg != "" {
				f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				garbage := make([]byte, 1+rand.IntN(200))
				for i := range garbage {
					garbage[i] = byte(rand.IntN(256))
				}
				garbage[0] = 0x90 // a length prefix that promises more than follows
				f.Write(garbage)
				f.Close()
				tornTails++
			}
		}
	}
	// Final run: deliver everything and stop cleanly.
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LP_CHILD_DIR="+dir, "LP_CHILD_MODE=drain", "LP_CHILD_FSYNC="+fsync)
	cmd.Stderr = testWriter{t}
	outb, err := cmd.Output()
	if err != nil || !strings.Contains(string(outb), "DRAINED") {
		t.Fatalf("drain run: %v: %s", err, outb)
	}

	// Read every output file, oldest rotation first.
	evs := readRotated(t, filepath.Join(dir, "events.jsonl"))

	seen := map[string]int{}
	var lastSeq uint64
	for i, ev := range evs {
		key := strings.Fields(ev.Message)[0]
		seen[key]++
		if seen[key] > 1 {
			t.Fatalf("event %q delivered twice (line %d, id %v)", key, i+1, ev.ID)
		}
		if !fromNode(ev.ID, "origin") || ev.ID.Seq <= lastSeq {
			t.Fatalf("ids out of order at line %d: %v after seq %d", i+1, ev.ID, lastSeq)
		}
		lastSeq = ev.ID.Seq
	}
	total := 0
	for _, r := range acked {
		for i := r.from; i <= r.to; i++ {
			total++
			if seen[fmt.Sprintf("%s-%d", r.run, i)] != 1 {
				t.Fatalf("acknowledged event %s-%d is missing from the output", r.run, i)
			}
		}
	}
	// In order: within a run, payload numbers increase along the file.
	last := map[string]int{}
	for _, ev := range evs {
		key := strings.Fields(ev.Message)[0]
		dash := strings.LastIndexByte(key, '-')
		run, num := key[:dash], key[dash+1:]
		i, _ := strconv.Atoi(num)
		if p, ok := last[run]; ok && i <= p {
			t.Fatalf("event %s after %s-%d: out of order", key, run, p)
		}
		last[run] = i
	}
	rep, err := wal.Verify(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 {
		t.Fatal("no batch was acknowledged: the test proved nothing")
	}
	t.Logf("fsync=%s: %d kills (%d with a torn tail), %d acknowledged events all delivered exactly once in order; %d events in output; wal verify: %s",
		fsync, iterations, tornTails, total, len(evs), strings.TrimSpace(rep.String()))
}

// readRotated reads path.N … path.1 (oldest first, gaps allowed) and path.
func readRotated(t *testing.T, path string) []protocol.Event {
	files, _ := filepath.Glob(path + ".*")
	var ks []int
	for _, f := range files {
		if k, err := strconv.Atoi(f[len(path)+1:]); err == nil {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	var evs []protocol.Event
	for i := len(ks) - 1; i >= 0; i-- {
		evs = append(evs, readEvents(t, path+"."+strconv.Itoa(ks[i]))...)
	}
	return append(evs, readEvents(t, path)...)
}

func newestSegment(t *testing.T, dir string) string {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return "" // killed before the node opened its WAL (a slow start under -race)
	}
	if err != nil {
		t.Fatal(err)
	}
	newest := ""
	for _, e := range entries {
		if e.Type().IsRegular() && len(e.Name()) == 20 && strings.Trim(e.Name(), "0123456789") == "" {
			if e.Name() > filepath.Base(newest) {
				newest = filepath.Join(dir, e.Name())
			}
		}
	}
	return newest
}

var _ = io.EOF
