package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"logpacker/protocol"
	"logpacker/wal"
)

// walDataDir makes a data_dir whose WAL holds n events of about size bytes
// in segments of 4 KiB: every third one relayed (its ID from another node),
// the others accepted here (no ID in the WAL, as ingest writes them).
func walDataDir(t *testing.T, n, size int) (dataDir string, segs []string) {
	t.Helper()
	dataDir = t.TempDir()
	l, err := wal.Open(wal.Options{Dir: filepath.Join(dataDir, "wal"), SegmentSize: 4 << 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.OpenCursor("hold"); err != nil { // keeps GC away
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		ev := protocol.Event{Host: "h", App: "app", Message: fmt.Sprintf("message %d %s", i, strings.Repeat("x", size))}
		if i%3 == 0 {
			ev.ID = protocol.ID{Node: "leaf-1", Seq: uint64(1000 + i)}
		}
		b, _ := ev.MarshalBinary()
		if _, err := l.Append(context.Background(), [][]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ = filepath.Glob(filepath.Join(dataDir, "wal", "0*"))
	if len(segs) < 2 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	return dataDir, segs
}

// dumpIDs runs wal dump and returns the IDs it printed.
func dumpIDs(t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	var out bytes.Buffer
	err := cmdWAL(append([]string{"dump"}, args...), &out)
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var ev struct{ ID string }
		if jerr := json.Unmarshal([]byte(line), &ev); jerr != nil {
			t.Fatalf("dump printed %q: %v", line, jerr)
		}
		ids = append(ids, ev.ID)
	}
	return ids, err
}

// originOf is the origin a node's consumers give its own events: its ID
// and the epoch of its WAL in dir.
func originOf(t *testing.T, dir, node string) string {
	t.Helper()
	epoch, _, err := wal.ReadEpoch(dir)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.Origin(node, epoch)
}

func checkIDs(t *testing.T, ids []string, node string, n int) {
	t.Helper()
	if len(ids) != n {
		t.Fatalf("%d events, want %d", len(ids), n)
	}
	for i, id := range ids {
		want := fmt.Sprintf("%s:%d", node, i+1)
		if (i+1)%3 == 0 {
			want = fmt.Sprintf("leaf-1:%d", 1000+i+1)
		}
		if id != want {
			t.Fatalf("event %d: id %q, want %q", i+1, id, want)
		}
	}
}

// TestWALDumpIDs: events this node accepted first get its node ID (from
// data_dir/node_id, or -node) and their WAL index, as its consumers give
// them; relayed events keep theirs. Without a node ID, dump refuses.
func TestWALDumpIDs(t *testing.T) {
	const n = 60
	dataDir, _ := walDataDir(t, n, 100)
	if _, err := dumpIDs(t, dataDir); err == nil || !strings.Contains(err.Error(), "node_id") ||
		!strings.Contains(err.Error(), "-node") {
		t.Fatalf("dump without a node ID: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "node_id"), []byte("root-7\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{dataDir, filepath.Join(dataDir, "wal")} {
		ids, err := dumpIDs(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		checkIDs(t, ids, originOf(t, filepath.Join(dataDir, "wal"), "root-7"), n)
	}
	ids, err := dumpIDs(t, "-node", "other", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, ids, originOf(t, filepath.Join(dataDir, "wal"), "other"), n)
}

// TestWALDumpDamagedAndRepair: dump of a damaged WAL prints the intact
// records and fails naming the segment and byte range; repair cuts what Open
// would cut, reports it, and leaves a WAL that dumps and verifies clean.
func TestWALDumpDamagedAndRepair(t *testing.T) {
	const n, size = 60, 100
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
		keep   int
		reason string
	}{
		{"segment cut mid-record", func(b []byte) []byte { return b[:len(b)-size/2] }, n - 1, "runs past end of segment"},
		{"zero-filled tail", func(b []byte) []byte { return append(b, make([]byte, 8192)...) }, n, "shorter than header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir, segs := walDataDir(t, n, size)
			tail := segs[len(segs)-1]
			b, err := os.ReadFile(tail)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tail, tc.damage(b), 0o640); err != nil {
				t.Fatal(err)
			}
			ids, err := dumpIDs(t, "-node", "root-7", dataDir)
			var ex exitError
			if err == nil || errors.As(err, &ex) || !strings.Contains(err.Error(), "is damaged") ||
				!strings.Contains(err.Error(), "segment "+filepath.Base(tail)+": bytes [") ||
				!strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("dump of a damaged WAL: %v", err)
			}
			checkIDs(t, ids, originOf(t, filepath.Join(dataDir, "wal"), "root-7"), tc.keep)
			if err := cmdWAL([]string{"verify", dataDir}, io.Discard); err == nil {
				t.Fatal("verify of a damaged WAL: no error")
			}

			var out bytes.Buffer
			if err := cmdWAL([]string{"repair", dataDir}, &out); err != nil {
				t.Fatal(err)
			}
			rep := out.String()
			for _, want := range []string{
				filepath.Base(tail), "TRUNCATED", tc.reason, "REPAIRED",
				fmt.Sprintf("index 1..%d, %d records kept", tc.keep, tc.keep),
			} {
				if !strings.Contains(rep, want) {
					t.Fatalf("repair report lacks %q:\n%s", want, rep)
				}
			}
			ids, err = dumpIDs(t, "-node", "root-7", dataDir)
			if err != nil {
				t.Fatalf("dump after repair: %v", err)
			}
			checkIDs(t, ids, originOf(t, filepath.Join(dataDir, "wal"), "root-7"), tc.keep)
			out.Reset()
			if err := cmdWAL([]string{"verify", dataDir}, &out); err != nil {
				t.Fatalf("verify after repair: %v\n%s", err, out.String())
			}
			out.Reset()
			if err := cmdWAL([]string{"repair", dataDir}, &out); err != nil || !strings.Contains(out.String(), "nothing to repair") {
				t.Fatalf("second repair: %v\n%s", err, out.String())
			}
		})
	}
}

// TestWALDumpUndecodable: a record whose CRC is fine but that is no event is
// printed with its error, and dump fails saying so.
func TestWALDumpUndecodable(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(wal.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ev := protocol.Event{Message: "ok"}
	good, _ := ev.MarshalBinary()
	if _, err := l.Append(context.Background(), [][]byte{good, []byte("not an event"), good}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	var out bytes.Buffer
	err = cmdWAL([]string{"dump", "-node", "n1", dir}, &out)
	if err == nil || !strings.Contains(err.Error(), "1 records (the first at WAL index 2) do not decode") {
		t.Fatalf("dump: %v", err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 3 ||
		!strings.HasPrefix(lines[1], `{"wal_index":2,"error":`) || !strings.Contains(lines[2], `"id":"`+originOf(t, dir, "n1")+`:3"`) {
		t.Fatalf("dump printed:\n%s", out.String())
	}
}

// TestWALCommandsShowEpoch: `wal verify` prints the WAL's epoch and `wal
// dump` shows the events accepted by the node with their ID without the
// the node ID and the epoch (NODE.EPOCH:INDEX; NODE:INDEX for a WAL from before epochs), relayed ones
// with theirs.
func TestWALCommandsShowEpoch(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(wal.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	local := protocol.Event{Host: "h", App: "a", Message: "local", Count: 1}
	relayed := protocol.Event{ID: protocol.ID{Node: "leaf1.0badcafe", Seq: 9}, Hops: 1, Host: "h", App: "a", Message: "relayed", Count: 1}
	if _, err := l.Append(context.Background(), [][]byte{local.AppendBinary(nil), relayed.AppendBinary(nil)}); err != nil {
		t.Fatal(err)
	}
	epoch := l.Epoch()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) string {
		t.Helper()
		var out bytes.Buffer
		args := []string{cmd, dir}
		if cmd == "dump" {
			args = []string{cmd, "-node", "n1", dir}
		}
		if err := cmdWAL(args, &out); err != nil {
			t.Fatalf("wal %s: %v\n%s", cmd, err, out.String())
		}
		return out.String()
	}
	if out := run("verify"); !strings.Contains(out, "epoch "+epoch+":") {
		t.Errorf("wal verify does not show the epoch %s:\n%s", epoch, out)
	}
	if out := run("dump"); !strings.Contains(out, `{"id":"n1.`+epoch+`:1",`) || !strings.Contains(out, `{"id":"leaf1.0badcafe:9",`) {
		t.Errorf("wal dump, epoch %s:\n%s", epoch, out)
	}
	// a WAL from before epochs keeps its IDs
	if err := os.WriteFile(filepath.Join(dir, wal.EpochFile), []byte("\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if out := run("verify"); !strings.Contains(out, "epoch none") {
		t.Errorf("wal verify, no epoch:\n%s", out)
	}
	if out := run("dump"); !strings.Contains(out, `{"id":"n1:1",`) {
		t.Errorf("wal dump, no epoch:\n%s", out)
	}
}
