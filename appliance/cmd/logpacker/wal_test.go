package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"logpacker/protocol"
	"logpacker/wal"
)

// TestWALCommandsShowEpoch: `wal verify` prints the WAL's epoch and `wal
// dump` shows the events accepted by the node with their ID without the
// node ID (.EPOCH:INDEX; :INDEX for a WAL from before epochs), relayed ones
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
		if err := cmdWAL([]string{cmd, dir}, &out); err != nil {
			t.Fatalf("wal %s: %v\n%s", cmd, err, out.String())
		}
		return out.String()
	}
	if out := run("verify"); !strings.Contains(out, "epoch "+epoch+":") {
		t.Errorf("wal verify does not show the epoch %s:\n%s", epoch, out)
	}
	if out := run("dump"); !strings.Contains(out, `{"id":".`+epoch+`:1",`) || !strings.Contains(out, `{"id":"leaf1.0badcafe:9",`) {
		t.Errorf("wal dump, epoch %s:\n%s", epoch, out)
	}
	// a WAL from before epochs keeps its IDs
	if err := os.WriteFile(filepath.Join(dir, wal.EpochFile), []byte("\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if out := run("verify"); !strings.Contains(out, "epoch none") {
		t.Errorf("wal verify, no epoch:\n%s", out)
	}
	if out := run("dump"); !strings.Contains(out, `{"id":":1",`) {
		t.Errorf("wal dump, no epoch:\n%s", out)
	}
}
