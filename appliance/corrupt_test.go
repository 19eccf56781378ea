package appliance_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logpacker/appliance"
	"logpacker/protocol"
)

// TestCorruptSegmentNode flips one byte inside a record in the middle of a
// WAL segment that the output has not read yet, as a bad disk would. The
// node must start, deliver every other event, report the damaged one in
// /metrics, keep accepting, and never crash.
func TestCorruptSegmentNode(t *testing.T) {
	dir := t.TempDir()
	ini := fmt.Sprintf("[node]\nid = n1\ndata_dir = %s\n[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp = 127.0.0.1:0\n[wal]\nsegment_size = 64k\n[output.store]\nenabled = false\n", dir)
	cfg, err := appliance.ParseConfig("c.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	// Phase 1: ingest 300 events without running the outputs.
	n, err := appliance.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	const total = 300
	for i := 0; i < total; i += 10 {
		var evs []protocol.Event
		for j := i; j < i+10; j++ {
			evs = append(evs, protocol.Event{App: "c", Message: fmt.Sprintf("event-%03d %s", j, strings.Repeat("p", 200))})
		}
		if err := n.Emit()(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the payload of "event-100" (in the first 64k segment).
	seg := oldestSegment(t, filepath.Join(dir, "wal"))
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "event-100")
	if i < 0 {
		t.Fatalf("event-100 not in %s", seg)
	}
	b[i+3] ^= 0x20
	if err := os.WriteFile(seg, b, 0o640); err != nil {
		t.Fatal(err)
	}
	// Phase 2: restart, run the output, add more events.
	n, err = appliance.New(cfg, log)
	if err != nil {
		t.Fatalf("node does not start on a damaged WAL: %v", err)
	}
	n.Start()
	defer n.Shutdown(context.Background())
	if err := n.Emit()(context.Background(), []protocol.Event{{App: "c", Message: "event-after"}}); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, filepath.Join(dir, "events.jsonl"), total, 20*time.Second, nil)
	got := map[string]bool{}
	for _, ev := range evs {
		got[strings.Fields(ev.Message)[0]] = true
	}
	for j := 0; j < total; j++ {
		k := fmt.Sprintf("event-%03d", j)
		if j == 100 {
			if got[k] {
				t.Errorf("the damaged record was delivered")
			}
			continue
		}
		if !got[k] {
			t.Errorf("%s lost, but only event-100 was damaged", k)
		}
	}
	if !got["event-after"] {
		t.Error("node stopped accepting after the damage")
	}
	if v := metric(t, n.Addr("http"), "logpacker_wal_corrupt_records_total"); v != 1 {
		t.Errorf("logpacker_wal_corrupt_records_total = %v, want 1", v)
	}
}

func oldestSegment(t *testing.T, dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries { // ReadDir sorts by name: segment names are zero-padded indexes
		if e.Type().IsRegular() && len(e.Name()) == 20 && strings.Trim(e.Name(), "0123456789") == "" {
			return filepath.Join(dir, e.Name())
		}
	}
	t.Fatalf("no segment in %s", dir)
	return ""
}
