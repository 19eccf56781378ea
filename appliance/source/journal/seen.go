package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"logpacker/wal/durable"
)

// Seen is the set of journal entries a node stored, exactly: per source
// and journal sequence (the s= of __CURSOR: one journal file set), the
// ranges of sequence numbers (i=). An entry in it is a duplicate: journal-
// upload sends the entry at its saved cursor again when it resumes, and all
// of an interrupted upload again. Ranges, not a high-watermark: an entry is
// skipped only when that very entry was stored. Persisted in one file
// (rewritten atomically after each batch is durable); entries stored in the
// moment between the WAL's fsync and that write are stored again if sent
// again (at least once, never lost).
type Seen struct {
	path string
	mu   sync.Mutex
	m    map[string][][2]uint64 // "source/seqnum-id" → sorted, disjoint [lo, hi]
}

// OpenSeen reads path ("" or missing: empty; not persisted when "").
func OpenSeen(path string) (*Seen, error) {
	s := &Seen{path: path, m: map[string][][2]uint64{}}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := json.Unmarshal(b, &s.m); err != nil {
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	return s, nil
}

// seqnum is the entry's journal sequence: its __CURSOR's s= and i= (or
// __SEQNUM_ID and __SEQNUM); ok is false when it has neither.
func seqnum(fields []Field) (id string, n uint64, ok bool) {
	for _, f := range fields {
		if f.Name != "__CURSOR" {
			continue
		}
		var i string
		for _, kv := range strings.Split(string(f.Value), ";") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "s":
				id = v
			case "i":
				i = v
			}
		}
		if x, err := strconv.ParseUint(i, 16, 64); err == nil && id != "" {
			return id, x, true
		}
	}
	var num string
	for _, f := range fields {
		switch f.Name {
		case "__SEQNUM_ID":
			id = string(f.Value)
		case "__SEQNUM":
			num = string(f.Value)
		}
	}
	if x, err := strconv.ParseUint(num, 10, 64); err == nil && id != "" {
		return id, x, true
	}
	return "", 0, false
}

// Has reports whether the entry key/n was stored.
func (s *Seen) Has(key string, n uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[key]
	i := sort.Search(len(r), func(i int) bool { return r[i][1] >= n })
	return i < len(r) && r[i][0] <= n
}

// Add records the entries (key → sequence numbers) and persists the set.
func (s *Seen) Add(add map[string][]uint64) error {
	if len(add) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ns := range add {
		r := s.m[k]
		for _, n := range ns {
			r = addRange(r, n)
		}
		s.m[k] = r
	}
	if s.path == "" {
		return nil
	}
	b, err := json.Marshal(s.m)
	if err != nil {
		return err
	}
	return durable.WriteFileAtomic(s.path, b, 0o640)
}

// addRange adds n to the sorted disjoint ranges r, merging neighbours.
func addRange(r [][2]uint64, n uint64) [][2]uint64 {
	i := sort.Search(len(r), func(i int) bool { return r[i][1] >= n })
	if i < len(r) && r[i][0] <= n {
		return r // there
	}
	joinPrev := i > 0 && r[i-1][1] == n-1
	joinNext := i < len(r) && r[i][0] == n+1
	switch {
	case joinPrev && joinNext:
		r[i-1][1] = r[i][1]
		return append(r[:i], r[i+1:]...)
	case joinPrev:
		r[i-1][1] = n
	case joinNext:
		r[i][0] = n
	default:
		r = append(r, [2]uint64{})
		copy(r[i+1:], r[i:])
		r[i] = [2]uint64{n, n}
	}
	return r
}
