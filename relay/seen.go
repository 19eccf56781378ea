package relay

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"logpacker/protocol"
	"logpacker/wal/durable"
)

// Seen is the set of event IDs a node stored from other nodes: per origin
// node, sorted disjoint ranges of sequence numbers (exact, never a
// high-watermark: after a fail-over a batch can arrive after later ones that
// went another way, and a watermark would drop it as a duplicate). The relay input drops events already
// in it, so a batch resent after a lost ACK is acknowledged again without a
// second append.
//
// On disk (dir): "snapshot" (every range) and "journal" (ranges added since),
// lines "origin lo hi crc32c-hex". Mark appends to the journal and fdatasyncs
// before the batch is acknowledged. Open reads both (a torn or damaged line
// is ignored: it was never acknowledged), writes a new snapshot and starts
// an empty journal. Between a WAL append and its journal line a crash can
// lose the line; the node opens the set with RecoverSeen, which re-adds the
// IDs of its newest WAL records (Add) and calls Checkpoint.
type Seen struct {
	dir string

	mu      sync.Mutex // origins map, journal writes
	origins map[string]*origin
	journal *os.File
	jsize   int64
	written uint64 // journal bytes written, ever (across checkpoints)
	buf     []byte

	// syncMu orders journal syncs and checkpoints (then mu): concurrent Marks
	// share one fdatasync, and no other link's check waits for it.
	syncMu sync.Mutex
	synced uint64 // written is durable up to here
}

type origin struct {
	mu     sync.Mutex // held from the check to the mark of one batch
	ranges []span     // sorted, disjoint, non-adjacent; guarded by Seen.mu
}

type span struct{ lo, hi uint64 }

var journalMax int64 = 8 << 20 // compact past this (a variable for tests)

// OpenSeen loads (creating) the set kept in dir.
func OpenSeen(dir string) (*Seen, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("relay: seen: %w", err)
	}
	s := &Seen{dir: dir, origins: map[string]*origin{}}
	for _, name := range []string{"snapshot", "journal"} {
		if err := s.load(filepath.Join(dir, name)); err != nil {
			return nil, err
		}
	}
	if err := s.Checkpoint(); err != nil {
		return nil, err
	}
	return s, nil
}

// RecoverSeen opens the set kept in dir (OpenSeen) and adds the IDs of the
// events in this node's newest WAL records, which recent passes to its fn
// (each record's WAL index and binary form, oldest first), then checkpoints:
// a crash between a WAL append and the set's journal line loses only the
// line, never the records (they are in the newest WAL segments, which GC
// never deletes first). Records that do not decode or carry no ID are
// skipped. It returns the set and how many IDs it added.
func RecoverSeen(dir string, recent func(fn func(index uint64, data []byte) error) error) (*Seen, int, error) {
	s, err := OpenSeen(dir)
	if err != nil {
		return nil, 0, err
	}
	added := 0
	err = recent(func(_ uint64, data []byte) error {
		var ev protocol.Event
		if ev.UnmarshalBinary(data) == nil && ev.ID.Node != "" {
			s.Add(ev.ID)
			added++
		}
		return nil
	})
	if err == nil {
		err = s.Checkpoint()
	}
	if err != nil {
		s.Close()
		return nil, 0, fmt.Errorf("relay: seen IDs: %w", err)
	}
	return s, added, nil
}

func (s *Seen) load(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay: seen: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		node, lo, hi, ok := parseSeenLine(sc.Text())
		if ok {
			s.addLocked(node, lo, hi)
		}
	}
	return nil
}

func seenLine(dst []byte, node string, lo, hi uint64) []byte {
	start := len(dst)
	dst = append(dst, node...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, lo, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, hi, 10)
	c := crc32.Checksum(dst[start:], castagnoli)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(c), 16)
	return append(dst, '\n')
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func parseSeenLine(l string) (node string, lo, hi uint64, ok bool) {
	i := strings.LastIndexByte(l, ' ')
	if i < 0 {
		return "", 0, 0, false
	}
	c, err := strconv.ParseUint(l[i+1:], 16, 32)
	if err != nil || uint32(c) != crc32.Checksum([]byte(l[:i]), castagnoli) {
		return "", 0, 0, false
	}
	f := strings.Fields(l[:i])
	if len(f) != 3 {
		return "", 0, 0, false
	}
	lo, err1 := strconv.ParseUint(f[1], 10, 64)
	hi, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || lo > hi || lo == 0 {
		return "", 0, 0, false
	}
	return f[0], lo, hi, true
}

func (s *Seen) originLocked(node string) *origin {
	o := s.origins[node]
	if o == nil {
		o = &origin{}
		s.origins[node] = o
	}
	return o
}

// addLocked merges [lo, hi] (lo ≥ 1) into node's ranges.
func (s *Seen) addLocked(node string, lo, hi uint64) {
	o := s.originLocked(node)
	r := o.ranges
	// first span that overlaps or touches [lo, hi] from the left
	i := sort.Search(len(r), func(k int) bool { return r[k].hi >= lo-1 })
	j := i
	for j < len(r) && r[j].lo-1 <= hi {
		lo, hi = min(lo, r[j].lo), max(hi, r[j].hi)
		j++
	}
	o.ranges = slices.Replace(r, i, j, span{lo, hi})
}

// Has reports whether id was seen.
func (s *Seen) Has(id protocol.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hasLocked(id)
}

// Fresh appends to dst the positions in ids of those not seen yet (one lock
// for the batch).
func (s *Seen) Fresh(dst []int, ids []protocol.ID) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range ids {
		if !s.hasLocked(id) {
			dst = append(dst, i)
		}
	}
	return dst
}

func (s *Seen) hasLocked(id protocol.ID) bool {
	o := s.origins[id.Node]
	if o == nil {
		return false
	}
	_, found := slices.BinarySearchFunc(o.ranges, id.Seq, func(x span, seq uint64) int {
		switch {
		case x.hi < seq:
			return -1
		case x.lo > seq:
			return 1
		}
		return 0
	})
	return found
}

// Lock serialises batches of the given origins (check, store, mark) and
// returns the unlock.
func (s *Seen) Lock(nodes []string) func() {
	nodes = slices.Clone(nodes)
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	s.mu.Lock()
	locked := make([]*origin, len(nodes))
	for i, n := range nodes {
		locked[i] = s.originLocked(n)
	}
	s.mu.Unlock()
	for _, o := range locked {
		o.mu.Lock()
	}
	return func() {
		for _, o := range locked {
			o.mu.Unlock()
		}
	}
}

// Add records id in memory only (rebuilding from the WAL); Checkpoint makes
// it durable.
func (s *Seen) Add(id protocol.ID) {
	if id.Node == "" || id.Seq == 0 {
		return
	}
	s.mu.Lock()
	s.addLocked(id.Node, id.Seq, id.Seq)
	s.mu.Unlock()
}

// Mark records ids durably (journal + fdatasync). Call it after their events
// are stored and before they are acknowledged. Marks of several links that
// arrive together share one fdatasync (group commit).
func (s *Seen) Mark(ids []protocol.ID) error {
	s.mu.Lock()
	s.buf = s.buf[:0]
	for i := 0; i < len(ids); {
		// runs of consecutive sequence numbers of one origin become one line
		j := i + 1
		for j < len(ids) && ids[j].Node == ids[i].Node && ids[j].Seq == ids[j-1].Seq+1 {
			j++
		}
		node, lo, hi := ids[i].Node, ids[i].Seq, ids[j-1].Seq
		if node != "" && lo != 0 && !strings.ContainsAny(node, " \n") {
			s.addLocked(node, lo, hi)
			s.buf = seenLine(s.buf, node, lo, hi)
		}
		i = j
	}
	if len(s.buf) == 0 {
		s.mu.Unlock()
		return nil
	}
	if _, err := s.journal.Write(s.buf); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("relay: seen journal: %w", err)
	}
	s.jsize += int64(len(s.buf))
	s.written += uint64(len(s.buf))
	target := s.written
	s.mu.Unlock()

	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced < target { // no sync since our write has covered it
		s.mu.Lock()
		j, upTo := s.journal, s.written
		s.mu.Unlock()
		if err := j.Sync(); err != nil {
			return fmt.Errorf("relay: seen journal: %w", err)
		}
		s.synced = upTo
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jsize > journalMax {
		return s.checkpointLocked()
	}
	return nil
}

// Checkpoint writes every range to a new snapshot and starts an empty journal.
func (s *Seen) Checkpoint() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpointLocked()
}

func (s *Seen) checkpointLocked() error {
	var b []byte
	nodes := make([]string, 0, len(s.origins))
	for n := range s.origins {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		for _, r := range s.origins[n].ranges {
			b = seenLine(b, n, r.lo, r.hi)
		}
	}
	if err := durable.WriteFileAtomic(filepath.Join(s.dir, "snapshot"), b, 0o640); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	// the snapshot holds everything: only now may the journal restart
	j, err := os.OpenFile(filepath.Join(s.dir, "journal"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("relay: seen journal: %w", err)
	}
	if err := j.Sync(); err != nil {
		j.Close()
		return fmt.Errorf("relay: seen journal: %w", err)
	}
	if s.journal != nil {
		s.journal.Close()
	}
	s.journal, s.jsize = j, 0
	s.synced = s.written // the snapshot holds it all (caller holds syncMu)
	return nil
}

// Close closes the journal.
func (s *Seen) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	err := s.journal.Close()
	s.journal = nil
	return err
}
