package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DumpReport is Dump that also says what it skipped: fn gets every intact
// record in index order, and the Report's Segments (as Verify's; no cursors or
// leftovers) carry the damage. The directory is not changed.
func DumpReport(dir string, fn func(index uint64, data []byte) error) (Report, error) {
	rep := Report{Dir: dir}
	segs, err := listSegments(dir)
	if err != nil {
		return rep, fmt.Errorf("wal: dump: %w", err)
	}
	err = scanAll(segs, func(sr SegmentReport) {
		rep.Segments = append(rep.Segments, sr)
		rep.Records += sr.Records
		rep.Tombstones += sr.Tombstones
		rep.Lost += lostCount(sr.Damages)
	}, fn)
	if len(rep.Segments) > 0 {
		rep.FirstIndex = rep.Segments[0].FirstIndex
		rep.LastIndex = rep.Segments[len(rep.Segments)-1].LastIndex
	}
	if err != nil {
		return rep, fmt.Errorf("wal: dump: %w", err)
	}
	return rep, nil
}

// SegmentRepair is what Repair found and did in one segment file.
type SegmentRepair struct {
	Name                  string
	SizeBefore, SizeAfter int64
	FirstIndex, LastIndex uint64 // LastIndex: of the last record kept
	Records, Tombstones   int    // kept (Tombstones: written for lost indices, and earlier ones)
	Damages               []Damage
	Truncated             bool   // torn or zero-filled tail cut off
	Rewritten             bool   // damage followed by valid entries: rewritten with tombstones
	Quarantine            string // copy of the original (Rewritten)
}

// RepairReport is the result of Repair.
type RepairReport struct {
	Dir                   string
	Removed               []string // leftovers of an interrupted truncate or rewrite, spare segments
	Segments              []SegmentRepair
	FirstIndex, LastIndex uint64
	Records               int    // records kept
	Lost                  uint64 // indices lost in damaged ranges (now tombstones)
	CutBytes              int64  // bytes cut from torn or zero-filled tails
	Cursors               []string
}

// Changed reports whether Repair changed anything.
func (r RepairReport) Changed() bool {
	if len(r.Removed) > 0 || len(r.Cursors) > 0 {
		return true
	}
	for _, s := range r.Segments {
		if s.Truncated || s.Rewritten {
			return true
		}
	}
	return false
}

// String renders the report for humans.
func (r RepairReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wal %s: %d segments, index %d..%d, %d records kept, %d lost, %d bytes cut\n",
		r.Dir, len(r.Segments), r.FirstIndex, r.LastIndex, r.Records, r.Lost, r.CutBytes)
	for _, n := range r.Removed {
		fmt.Fprintf(&b, "  removed %s\n", n)
	}
	for _, s := range r.Segments {
		status := "ok"
		switch {
		case s.Truncated:
			status = fmt.Sprintf("TRUNCATED %d -> %d B (torn or zero-filled tail cut)", s.SizeBefore, s.SizeAfter)
		case s.Rewritten:
			status = fmt.Sprintf("REWRITTEN, %d lost (tombstones); original in quarantine/%s", lostCount(s.Damages),
				filepath.Base(s.Quarantine))
		}
		fmt.Fprintf(&b, "  %s  %10d B  index %d..%d  records %d  tombstones %d  %s\n",
			s.Name, s.SizeAfter, s.FirstIndex, s.LastIndex, s.Records, s.Tombstones, status)
		for _, d := range s.Damages {
			fmt.Fprintf(&b, "    - %s\n", d)
		}
	}
	for _, c := range r.Cursors {
		fmt.Fprintf(&b, "  cursor %s\n", c)
	}
	if r.Changed() {
		b.WriteString("REPAIRED\n")
	} else {
		b.WriteString("OK (nothing to repair)\n")
	}
	return b.String()
}

// Repair does to dir what Open and the readers of a running log do, at once and
// with a report; nothing else may have the log open. It removes leftovers of an
// interrupted truncate or rewrite and spare segments; cuts a torn or
// zero-filled tail off the last segment; rewrites every segment with damage
// followed by valid entries (the original copied to quarantine/, a tombstone
// for every lost index); moves a cursor committed past the last record back to
// it, and one whose file is unreadable to before the first record
// (re-delivery). The error is for I/O problems and a missing directory.
func Repair(dir string) (RepairReport, error) {
	rep := RepairReport{Dir: dir}
	if _, err := os.Stat(dir); err != nil {
		return rep, fmt.Errorf("wal: repair: %w", err)
	}
	before, err := os.ReadDir(dir)
	if err != nil {
		return rep, fmt.Errorf("wal: repair: %w", err)
	}
	if err := cleanupTemp(dir); err != nil {
		return rep, fmt.Errorf("wal: repair: cleanup: %w", err)
	}
	for _, de := range before {
		if _, err := os.Lstat(filepath.Join(dir, de.Name())); os.IsNotExist(err) {
			rep.Removed = append(rep.Removed, de.Name())
		}
	}
	segs, err := listSegments(dir)
	if err != nil {
		return rep, fmt.Errorf("wal: repair: %w", err)
	}
	for i, sf := range segs {
		var maxIdx uint64 // 0: the tail
		if i+1 < len(segs) {
			maxIdx = segs[i+1].first - 1
		}
		out, err := repairSegment(dir, sf, maxIdx)
		if err != nil {
			return rep, fmt.Errorf("wal: repair %s: %w", filepath.Base(sf.path), err)
		}
		if sf.recycled {
			unmarkRecycled(sf.path) // no stale bytes after the repair (as Open)
		}
		sr := SegmentRepair{Name: filepath.Base(sf.path), SizeBefore: sf.size, SizeAfter: sf.size,
			FirstIndex: sf.first, LastIndex: out.res.LastIndex, Records: out.res.Records,
			Tombstones: out.res.Tombstones, Damages: out.res.Damages, Truncated: out.truncated,
			Rewritten: out.rewritten, Quarantine: out.quarantine}
		if out.truncated || out.rewritten {
			// What is kept now: scan the repaired file.
			res, err := scanFile(sf.path, sf.first, maxIdx)
			if err != nil {
				return rep, fmt.Errorf("wal: repair: %w", err)
			}
			sr.SizeAfter, sr.LastIndex, sr.Records, sr.Tombstones = res.Size, res.LastIndex, res.Records, res.Tombstones
		}
		if out.truncated {
			rep.CutBytes += sf.size - sr.SizeAfter
		}
		if out.rewritten {
			rep.Lost += lostCount(out.res.Damages)
		}
		rep.Records += sr.Records
		rep.Segments = append(rep.Segments, sr)
	}
	if len(rep.Segments) == 0 {
		return rep, nil
	}
	rep.FirstIndex = rep.Segments[0].FirstIndex
	rep.LastIndex = rep.Segments[len(rep.Segments)-1].LastIndex
	cdir := filepath.Join(dir, "cursors")
	names, err := listCursorNames(cdir)
	if err != nil {
		return rep, fmt.Errorf("wal: repair: %w", err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(cdir, n))
		if err != nil {
			return rep, fmt.Errorf("wal: repair: %w", err)
		}
		idx, derr := decodeCursor(b)
		var note string
		switch {
		case derr != nil:
			idx = rep.FirstIndex - 1
			note = fmt.Sprintf("%s unreadable (%v): reset to %d, its consumer re-reads from %d", n, derr, idx, idx+1)
		case idx > rep.LastIndex:
			note = fmt.Sprintf("%s committed %d, past the last record: moved back to %d", n, idx, rep.LastIndex)
			idx = rep.LastIndex
		default:
			continue
		}
		if err := writeCursorFile(cdir, n, idx); err != nil {
			return rep, fmt.Errorf("wal: repair: cursor %s: %w", n, err)
		}
		rep.Cursors = append(rep.Cursors, note)
	}
	return rep, nil
}

func scanFile(path string, first, maxIdx uint64) (scanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return scanResult{}, err
	}
	res, err := scanSegmentOpts(f, fi.Size(), first, maxIdx, false, nil)
	res.Size = fi.Size()
	return res, err
}
