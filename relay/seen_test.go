package relay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"logpacker/protocol"
)

func ids(node string, seqs ...uint64) []protocol.ID {
	out := make([]protocol.ID, len(seqs))
	for i, s := range seqs {
		out[i] = protocol.ID{Node: node, Seq: s}
	}
	return out
}

func TestSeenRangesAndPersistence(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	// out of order, with gaps (a fail-over delivers later batches first)
	for _, b := range [][]uint64{{10, 11, 12}, {1, 2, 3}, {20}, {5, 6}, {4}, {13, 14, 15, 16, 17, 18, 19}} {
		if err := s.Mark(ids("leaf", b...)); err != nil {
			t.Fatal(err)
		}
	}
	s.Mark(ids("other", 7))
	check := func(s *Seen) {
		t.Helper()
		for seq := uint64(1); seq <= 22; seq++ {
			want := seq <= 6 || (seq >= 10 && seq <= 20)
			if got := s.Has(protocol.ID{Node: "leaf", Seq: seq}); got != want {
				t.Fatalf("leaf:%d seen=%v, want %v", seq, got, want)
			}
		}
		if !s.Has(protocol.ID{Node: "other", Seq: 7}) || s.Has(protocol.ID{Node: "other", Seq: 8}) || s.Has(protocol.ID{Node: "x", Seq: 1}) {
			t.Fatal("other origins wrong")
		}
	}
	check(s)
	if n := len(s.origins["leaf"].ranges); n != 2 {
		t.Fatalf("leaf has %d ranges, want 2 (1-6, 10-20): %v", n, s.origins["leaf"].ranges)
	}
	s.Close()
	// a torn last journal line (crash mid-append) is ignored, the rest kept
	j, _ := os.OpenFile(filepath.Join(dir, "journal"), os.O_APPEND|os.O_WRONLY, 0)
	j.WriteString("leaf 100 200 deadbe")
	j.Close()
	s, err = OpenSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	check(s)
	if s.Has(protocol.ID{Node: "leaf", Seq: 150}) {
		t.Fatal("a torn journal line was taken")
	}
	// Add (WAL rebuild) + Checkpoint persist too
	s.Add(protocol.ID{Node: "leaf", Seq: 7})
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = OpenSeen(dir)
	defer s.Close()
	if !s.Has(protocol.ID{Node: "leaf", Seq: 7}) || len(s.origins["leaf"].ranges) != 2 {
		t.Fatalf("after checkpoint: %v", s.origins["leaf"].ranges)
	}
}

// TestServerStoresResentBatchOnce: the same events sent again, on the same
// link or a new one (the ACK was lost), are acknowledged and not stored again.
func TestServerStoresResentBatchOnce(t *testing.T) {
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen, err := OpenSeen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer seen.Close()
	var st store
	srv, err := Listen(ServerOptions{Addr: "127.0.0.1:0", TLS: p.serverTLS(t, "root-a"), NodeID: "root-a", Seen: seen, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Run(ctx, st.emit)
	ctc := p.clientTLS(t, "leaf-1", p)
	newClient := func() *Client {
		c, err := NewClient(ClientOptions{Upstreams: []string{srv.Addr().String()}, TLS: ctc,
			NodeID: "leaf-1", Compress: true, Logger: quiet(), AckTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1 := newClient()
	defer c1.Close()
	if err := c1.Write(ctx, batchOf("leaf-1", 1, 100)); err != nil {
		t.Fatal(err)
	}
	if err := c1.Write(ctx, batchOf("leaf-1", 51, 100)); err != nil { // overlaps 51..100
		t.Fatal(err)
	}
	c2 := newClient() // a new link resends what the first one had sent
	defer c2.Close()
	if err := c2.Write(ctx, batchOf("leaf-1", 1, 150)); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	got := map[uint64]int{}
	for _, ev := range st.evs {
		got[ev.ID.Seq]++
	}
	if len(st.evs) != 150 || len(got) != 150 {
		t.Fatalf("stored %d events, %d distinct; want 150 once each", len(st.evs), len(got))
	}
	if d := srv.Stats.Duplicates.Load(); d != 200 {
		t.Fatalf("duplicates %d, want 200", d)
	}
}

// FuzzParseSeenLine: journal and snapshot lines never panic the parser, and
// whatever it accepts is what seenLine writes.
func FuzzParseSeenLine(f *testing.F) {
	f.Add(string(seenLine(nil, "leaf-1", 1, 100)))
	f.Add("leaf 100 200 deadbe")
	f.Add("x 5 4 0")
	f.Fuzz(func(t *testing.T, l string) {
		node, lo, hi, ok := parseSeenLine(strings.TrimSuffix(l, "\n"))
		if !ok {
			return
		}
		if lo == 0 || lo > hi || node == "" {
			t.Fatalf("accepted %q: %q %d %d", l, node, lo, hi)
		}
		again := string(seenLine(nil, node, lo, hi))
		if n2, lo2, hi2, ok2 := parseSeenLine(strings.TrimSuffix(again, "\n")); !ok2 || n2 != node || lo2 != lo || hi2 != hi {
			t.Fatalf("round trip of %q failed", again)
		}
	})
}

// TestSeenConcurrentMarks: links marking at once share fdatasyncs and
// checkpoints happen under them; everything marked is there after a reopen.
func TestSeenConcurrentMarks(t *testing.T) {
	defer func(old int64) { journalMax = old }(journalMax)
	journalMax = 4 << 10 // checkpoint often
	dir := t.TempDir()
	s, err := OpenSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	const links, marks = 6, 300
	var wg sync.WaitGroup
	for l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := fmt.Sprintf("leaf-%d", l)
			for m := range marks {
				// every other seq: each Mark is its own range line
				id := []protocol.ID{{Node: node, Seq: uint64(2*m + 1)}}
				unlock := s.Lock([]string{node})
				if len(s.Fresh(nil, id)) != 1 {
					t.Errorf("%s not fresh", id[0])
				}
				if err := s.Mark(id); err != nil {
					t.Error(err)
				}
				unlock()
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for l := range links {
		for m := range marks {
			id := protocol.ID{Node: fmt.Sprintf("leaf-%d", l), Seq: uint64(2*m + 1)}
			if !s.Has(id) || s.Has(protocol.ID{Node: id.Node, Seq: id.Seq + 1}) {
				t.Fatalf("after reopen: %s has=%v, %d has=%v", id, s.Has(id), id.Seq+1, s.Has(protocol.ID{Node: id.Node, Seq: id.Seq + 1}))
			}
		}
	}
}

// TestRecoverSeen: the IDs of the newest WAL records (as recent gives them)
// are added to the set and checkpointed; records without an ID (this node's
// own events) and records that do not decode are skipped; an error of recent
// is returned and leaves the set closed.
func TestRecoverSeen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Mark(ids("leaf", 1, 2)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	relayed := func(node string, seq uint64) []byte {
		ev := protocol.Event{ID: protocol.ID{Node: node, Seq: seq}, Hops: 1, Host: "h", Message: "m", Count: 1}
		return ev.AppendBinary(nil)
	}
	local := protocol.Event{Host: "h", Message: "local", Count: 1}
	recs := [][]byte{relayed("leaf", 3), local.AppendBinary(nil), {1, 2}, relayed("leaf", 4), relayed("other", 9)}
	recent := func(fn func(uint64, []byte) error) error {
		for i, r := range recs {
			if err := fn(uint64(100+i), r); err != nil {
				return err
			}
		}
		return nil
	}
	s, added, err := RecoverSeen(dir, recent)
	if err != nil {
		t.Fatal(err)
	}
	if added != 3 {
		t.Fatalf("added %d IDs, want 3", added)
	}
	s.Close()
	s, err = OpenSeen(dir) // checkpointed: no WAL needed any more
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range append(ids("leaf", 1, 2, 3, 4), protocol.ID{Node: "other", Seq: 9}) {
		if !s.Has(id) {
			t.Fatalf("%v not in the recovered set", id)
		}
	}
	if s.Has(protocol.ID{Node: "leaf", Seq: 5}) || s.Has(protocol.ID{Node: "", Seq: 101}) {
		t.Fatal("an ID that no record had is in the set")
	}

	boom := errors.New("disk on fire")
	if _, _, err := RecoverSeen(t.TempDir(), func(func(uint64, []byte) error) error { return boom }); !errors.Is(err, boom) ||
		!strings.HasPrefix(err.Error(), "relay: seen IDs: ") {
		t.Fatalf("recent failed: %v", err)
	}
}
