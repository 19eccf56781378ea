package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SegmentReport is what Verify found in one segment file.
type SegmentReport struct {
	Name                  string
	Size                  int64
	FirstIndex, LastIndex uint64 // from the file name / the last valid entry
	Records, Tombstones   int
	Damages               []Damage
	TornTail              bool // damage at the end of the last segment (repaired on open)
}

// Report is the result of Verify.
type Report struct {
	Dir                   string
	Epoch                 string // the epoch file's (EpochFile); "" with EpochFound: a WAL from before epochs
	EpochFound            bool   // false: no epoch file (the next Open writes one, see doc.go)
	Segments              []SegmentReport
	FirstIndex, LastIndex uint64
	Records, Tombstones   int
	Lost                  uint64            // indices lost in damaged ranges
	Cursors               map[string]uint64 // committed index per readable cursor file
	Problems              []string          // anything else: leftovers, unreadable cursors, gaps between segments
	Quarantined           []string          // copies of damaged segments in quarantine/ (already repaired)
	epochErr              error             // the epoch file could not be read (also in Problems)
}

// OK reports whether the directory has no damage at all.
func (r Report) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, s := range r.Segments {
		if len(s.Damages) > 0 {
			return false
		}
	}
	return true
}

// String renders the report for humans.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wal %s: %d segments, index %d..%d, %d records, %d tombstones, %d lost\n",
		r.Dir, len(r.Segments), r.FirstIndex, r.LastIndex, r.Records, r.Tombstones, r.Lost)
	switch {
	case r.epochErr != nil:
		b.WriteString("  epoch unreadable (see problems): Open refuses this WAL\n")
	case r.Epoch != "":
		fmt.Fprintf(&b, "  epoch %s: its events get IDs NODE.%s:INDEX\n", r.Epoch, r.Epoch)
	case r.EpochFound:
		b.WriteString("  epoch none (a WAL from before epochs): its events get IDs NODE:INDEX\n")
	default:
		b.WriteString("  no epoch file: the next open writes one (none if it has segments: IDs NODE:INDEX)\n")
	}
	for _, s := range r.Segments {
		status := "ok"
		if len(s.Damages) > 0 {
			status = "DAMAGED"
			if s.TornTail && len(s.Damages) == 1 {
				status = "TORN TAIL (truncated on next open)"
			}
		}
		fmt.Fprintf(&b, "  %s  %10d B  index %d..%d  records %d  tombstones %d  %s\n",
			s.Name, s.Size, s.FirstIndex, s.LastIndex, s.Records, s.Tombstones, status)
		for _, d := range s.Damages {
			fmt.Fprintf(&b, "    - %s\n", d)
		}
	}
	for _, n := range sortedKeys(r.Cursors) {
		fmt.Fprintf(&b, "  cursor %s committed %d\n", n, r.Cursors[n])
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  problem: %s\n", p)
	}
	for _, q := range r.Quarantined {
		fmt.Fprintf(&b, "  quarantined (already repaired; remove once investigated): quarantine/%s\n", q)
	}
	if r.OK() {
		b.WriteString("OK\n")
	} else {
		b.WriteString("DAMAGED\n")
	}
	return b.String()
}

func sortedKeys(m map[string]uint64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// Verify scans every segment of dir read-only, one entry at a time (memory is one
// entry plus a 64 KiB resync window), checking framing, CRC and index continuity.
// The error is only for I/O problems; damage is in the Report.
func Verify(dir string) (Report, error) {
	rep := Report{Dir: dir, Cursors: map[string]uint64{}}
	if _, err := os.Stat(dir); err != nil {
		return rep, fmt.Errorf("wal: verify: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return rep, fmt.Errorf("wal: verify: %w", err)
	}
	for _, de := range des {
		n := de.Name()
		if strings.HasSuffix(n, ".START") || strings.HasSuffix(n, ".END") || strings.HasSuffix(n, ".TEMP") || strings.HasSuffix(n, ".rewrite") {
			rep.Problems = append(rep.Problems, fmt.Sprintf("leftover %s from an interrupted truncate or repair (cleaned up on next open)", n))
		}
	}
	if rep.Epoch, rep.EpochFound, rep.epochErr = ReadEpoch(dir); rep.epochErr != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("epoch: %v", rep.epochErr))
	}
	segs, err := listSegments(dir)
	if err != nil {
		return rep, fmt.Errorf("wal: verify: %w", err)
	}
	err = scanAll(segs, func(sr SegmentReport) {
		rep.Segments = append(rep.Segments, sr)
		rep.Records += sr.Records
		rep.Tombstones += sr.Tombstones
		rep.Lost += lostCount(sr.Damages)
	}, nil)
	if err != nil {
		return rep, fmt.Errorf("wal: verify: %w", err)
	}
	if len(rep.Segments) > 0 {
		rep.FirstIndex = rep.Segments[0].FirstIndex
		rep.LastIndex = rep.Segments[len(rep.Segments)-1].LastIndex
	}
	cdir := filepath.Join(dir, "cursors")
	names, err := listCursorNames(cdir)
	if err != nil {
		return rep, fmt.Errorf("wal: verify: %w", err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(cdir, n))
		if err != nil {
			return rep, fmt.Errorf("wal: verify: %w", err)
		}
		idx, derr := decodeCursor(b)
		if derr != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("cursor %s: %v", n, derr))
			continue
		}
		rep.Cursors[n] = idx
		if idx > rep.LastIndex && len(rep.Segments) > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("cursor %s committed %d is past the last record %d", n, idx, rep.LastIndex))
		}
	}
	if qs, err := os.ReadDir(filepath.Join(dir, "quarantine")); err == nil && len(qs) > 0 {
		// Not damage of the live data (already repaired), but worth telling.
		for _, q := range qs {
			rep.Quarantined = append(rep.Quarantined, q.Name())
		}
	}
	return rep, nil
}

// scanAll scans every segment in order, reporting each, and passes every intact,
// non-tombstone record to fn (data valid only during the call).
func scanAll(segs []segFile, report func(SegmentReport), fn func(index uint64, data []byte) error) error {
	for i, sf := range segs {
		var maxIdx uint64
		if i+1 < len(segs) {
			maxIdx = segs[i+1].first - 1
			if segs[i+1].first <= sf.first {
				return fmt.Errorf("segments %s and %s out of order", segmentName(sf.first), segmentName(segs[i+1].first))
			}
		}
		f, err := os.Open(sf.path)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		var cb func(scanned) error
		if fn != nil {
			cb = func(e scanned) error {
				if e.Tomb {
					return nil
				}
				return fn(e.Index, e.Payload)
			}
		}
		res, err := scanSegmentOpts(f, fi.Size(), sf.first, maxIdx, sf.recycled, cb)
		f.Close()
		if err != nil {
			return err
		}
		if report != nil {
			report(SegmentReport{
				Name: filepath.Base(sf.path), Size: fi.Size(), FirstIndex: sf.first, LastIndex: res.LastIndex,
				Records: res.Records, Tombstones: res.Tombstones, Damages: res.Damages, TornTail: res.TornTail,
			})
		}
	}
	return nil
}

// Dump calls fn for every intact record of dir in index order, read-only and
// streaming. data is only valid during the call. Damaged records are skipped
// (Verify reports them). An error from fn stops the dump and is returned.
func Dump(dir string, fn func(index uint64, data []byte) error) error {
	segs, err := listSegments(dir)
	if err != nil {
		return fmt.Errorf("wal: dump: %w", err)
	}
	err = scanAll(segs, nil, fn)
	var ie ioError
	if errors.As(err, &ie) {
		return fmt.Errorf("wal: dump: %w", err)
	}
	return err
}

// ScanRecent calls fn for every record of the last n segments (the newest
// records), oldest first. Call it before the first Append: it reads the files
// without the writer's lock. Damaged entries are skipped.
func (l *Log) ScanRecent(n int, fn func(index uint64, data []byte) error) error {
	l.mu.Lock()
	segs := append([]segFile(nil), l.segs[max(0, len(l.segs)-n):]...)
	l.mu.Unlock()
	return scanAll(segs, nil, fn)
}
