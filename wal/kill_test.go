package wal

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "LOGPACKER_WAL_HELPER"

// killPayload encodes the run and the sequence number within the run.
func killPayload(run, seq int) []byte {
	return fmt.Appendf(nil, "run=%d seq=%d %s", run, seq, strings.Repeat("p", seq%200))
}

// TestMain runs the child process of TestKill when the helper variable is
// set (the test binary re-executes itself), and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperAppender()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperAppender is the child process of TestKill: it appends batches and
// prints every acknowledged range; a consumer reads and commits.
func helperAppender() {
	dir := os.Getenv(helperEnv)
	pol, _ := ParseFsync(os.Getenv(helperEnv + "_FSYNC"))
	run, _ := strconv.Atoi(os.Getenv(helperEnv + "_RUN"))
	l, err := Open(Options{Dir: dir, Fsync: pol, FsyncInterval: 3 * time.Millisecond, SegmentSize: 16 << 10, Logger: quietLogger()})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	out := os.Stdout // unbuffered: one write(2) per line, once Append returned
	c, err := l.OpenCursor("consumer")
	if err != nil {
		os.Exit(3)
	}
	go func() {
		for {
			recs, err := c.Next(context.Background(), 37, 1<<20)
			if err != nil {
				return
			}
			last := recs[len(recs)-1].Index
			if err := c.Commit(last); err != nil {
				return
			}
			fmt.Fprintf(os.Stdout, "COMMIT %d\n", last)
		}
	}()
	r := rand.New(rand.NewPCG(uint64(run), 1))
	seq := 0
	for {
		n := 1 + r.IntN(40)
		recs := make([][]byte, n)
		for i := range recs {
			recs[i] = killPayload(run, seq+i)
		}
		first, err := l.Append(context.Background(), recs)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ACK %d %d %d %d\n", first, first+uint64(n)-1, run, seq)
		seq += n
	}
}

type ackRange struct {
	first, last uint64
	run, seq    int
}

func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped with -short: it re-executes the test binary 60 times")
	}
	for _, pol := range []Fsync{FsyncAlways, FsyncInterval} {
		t.Run(pol.String(), func(t *testing.T) { killLoop(t, pol, 30) })
	}
}

func killLoop(t *testing.T, pol Fsync, iterations int) {
	dir := t.TempDir()
	var acks []ackRange
	var lastCommit uint64
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for it := 1; it <= iterations; it++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir, helperEnv+"_FSYNC="+pol.String(), helperEnv+"_RUN="+strconv.Itoa(it))
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+rnd.IntN(146)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for _, line := range strings.SplitAfter(stdout.String(), "\n") {
			if !strings.HasSuffix(line, "\n") {
				continue // cut by the kill
			}
			f := strings.Fields(line)
			switch {
			case len(f) == 5 && f[0] == "ACK":
				a := ackRange{}
				a.first, _ = strconv.ParseUint(f[1], 10, 64)
				a.last, _ = strconv.ParseUint(f[2], 10, 64)
				a.run, _ = strconv.Atoi(f[3])
				a.seq, _ = strconv.Atoi(f[4])
				acks = append(acks, a)
			case len(f) == 2 && f[0] == "COMMIT":
				c, _ := strconv.ParseUint(f[1], 10, 64)
				if c > lastCommit {
					lastCommit = c
				}
			case len(f) > 0 && f[0] == "ERR":
				t.Fatalf("iteration %d: child failed: %s", it, line)
			}
		}
		checkAfterKill(t, dir, acks, lastCommit, it)
	}
	t.Logf("%s: %d acknowledged batches over %d kills, last commit %d", pol, len(acks), iterations, lastCommit)
	if len(acks) == 0 {
		t.Fatal("the child never acknowledged anything")
	}
}

func checkAfterKill(t *testing.T, dir string, acks []ackRange, lastCommit uint64, it int) {
	t.Helper()
	l := openT(t, Options{Dir: dir})
	st := l.Stats()
	c, err := l.OpenCursor("consumer")
	if err != nil {
		t.Fatal(err)
	}
	committed := c.Committed()
	if committed < lastCommit {
		t.Fatalf("iteration %d: cursor committed %d after reopen, child had committed %d", it, committed, lastCommit)
	}
	// The cursor resumes right after its committed index: no gap, no repeat.
	if st.DurableIndex > committed {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		recs, err := c.Next(ctx, 1, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].Index != committed+1 {
			t.Fatalf("iteration %d: cursor resumed at %d, committed %d", it, recs[0].Index, committed)
		}
	}
	if st.CorruptRecords != 0 {
		t.Fatalf("iteration %d: corrupt records after a kill: %+v", it, st)
	}
	// Close first: our own GC must not delete files while Dump reads them.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v", err)
	}
	firstIdx := segs[0].first
	// Every acknowledged record that was not yet delivered must be there, once,
	// in order, with its payload.
	byIndex := map[uint64][]byte{}
	if err := Dump(dir, func(i uint64, d []byte) error {
		byIndex[i] = append([]byte(nil), d...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]uint64{}
	for i, d := range byIndex {
		if j, dup := seen[string(d)]; dup {
			t.Fatalf("iteration %d: payload %q at %d and %d", it, d[:20], i, j)
		}
		seen[string(d)] = i
	}
	for _, a := range acks {
		for i := a.first; i <= a.last; i++ {
			if i <= committed && i < firstIdx {
				continue // delivered and collected
			}
			want := killPayload(a.run, a.seq+int(i-a.first))
			got, ok := byIndex[i]
			if !ok {
				t.Fatalf("iteration %d: acknowledged record %d (run %d) missing; first %d last %d committed %d",
					it, i, a.run, st.FirstIndex, st.LastIndex, committed)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("iteration %d: record %d = %q, want %q", it, i, got, want)
			}
		}
	}
}
