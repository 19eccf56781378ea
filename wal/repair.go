package wal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// segFile is one segment file, named after its first index (20 digits).
type segFile struct {
	first    uint64
	path     string
	size     int64
	recycled bool // a marker says it was a spare overwritten from the start (segment.go)
}

func segmentName(index uint64) string { return fmt.Sprintf("%020d", index) }

// parseSegmentName returns the first index of a plain segment file name.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != 20 {
		return 0, false
	}
	i, err := strconv.ParseUint(name, 10, 64)
	if err != nil || i == 0 {
		return 0, false
	}
	return i, true
}

// listSegments returns the plain segment files of dir, oldest first.
func listSegments(dir string) ([]segFile, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segFile
	markers := map[string]bool{}
	for _, de := range des {
		if n, ok := strings.CutSuffix(de.Name(), recycledSuffix); ok {
			markers[n] = true
		}
	}
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		first, ok := parseSegmentName(de.Name())
		if !ok {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			return nil, err
		}
		segs = append(segs, segFile{first: first, path: filepath.Join(dir, de.Name()), size: fi.Size(),
			recycled: markers[de.Name()]})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

// syncDir fsyncs a directory so that file creations, renames and deletions in it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// cleanupTemp removes temporary files that a crash may have left behind: our
// rewrite files, and the *.TEMP/*.START/*.END copies tidwall/wal (which older
// versions used) makes while truncating; the segment they copy from still exists;
// and spare segments (segment.go), which are only reused within one process.
func cleanupTemp(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, de := range des {
		names[de.Name()] = true
	}
	for _, de := range des {
		n := de.Name()
		if seg, ok := strings.CutSuffix(n, recycledSuffix); ok && !names[seg] {
			os.Remove(filepath.Join(dir, n)) // its segment is gone
			continue
		}
		if de.Type().IsRegular() && (strings.HasSuffix(n, ".rewrite") || strings.HasSuffix(n, ".TEMP") ||
			strings.HasPrefix(n, sparePrefix) ||
			strings.HasSuffix(n, ".START") || strings.HasSuffix(n, ".END")) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// repairOutcome says what repairSegment found and did.
type repairOutcome struct {
	res        scanResult
	truncated  bool   // torn/zero-filled tail cut off
	rewritten  bool   // segment rewritten with tombstones
	quarantine string // copy of the original segment
}

// repairSegment scans one segment (maxIdx = its last index, 0 for the tail) and
// fixes it on disk:
//   - damage only at the end of the tail (torn write, zero fill): truncate to the
//     end of the last valid entry and fsync;
//   - anything else: copy the original into dir/quarantine/, rewrite the segment
//     keeping every intact record at its index and writing a tombstone for every
//     lost index, fsync, rename over the original, fsync the directory.
func repairSegment(dir string, sf segFile, maxIdx uint64) (repairOutcome, error) {
	var out repairOutcome
	f, err := os.OpenFile(sf.path, os.O_RDWR, 0)
	if err != nil {
		return out, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return out, err
	}
	res, err := scanSegmentOpts(f, fi.Size(), sf.first, maxIdx, sf.recycled, nil)
	out.res = res
	if err != nil {
		return out, err
	}
	if len(res.Damages) == 0 {
		return out, nil
	}
	if maxIdx == 0 && len(res.Damages) == 1 && res.TornTail {
		if err := f.Truncate(res.ValidEnd); err != nil {
			return out, err
		}
		if err := f.Sync(); err != nil {
			return out, err
		}
		out.truncated = true
		return out, nil
	}
	// Mid-segment damage: quarantine the original, then rewrite.
	qdir := filepath.Join(dir, "quarantine")
	if err := os.MkdirAll(qdir, 0o750); err != nil {
		return out, err
	}
	qpath := filepath.Join(qdir, fmt.Sprintf("%s.%d.corrupt", filepath.Base(sf.path), time.Now().UnixNano()))
	if err := copyFileSync(f, qpath); err != nil {
		return out, fmt.Errorf("quarantine %s: %w", sf.path, err)
	}
	if err := syncDir(qdir); err != nil {
		return out, err
	}
	out.quarantine = qpath
	upper := maxIdx
	if upper == 0 {
		upper = res.LastIndex
	}
	tmp := sf.path + ".rewrite"
	tf, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return out, err
	}
	defer os.Remove(tmp) // no-op after the rename
	w := bufio.NewWriterSize(tf, 256<<10)
	next := sf.first
	var ebuf []byte
	put := func(index uint64, payload []byte, tomb bool) error {
		ebuf = appendFramed(ebuf[:0], index, payload, tomb)
		_, err := w.Write(ebuf)
		return err
	}
	_, err = scanSegmentOpts(f, fi.Size(), sf.first, maxIdx, sf.recycled, func(e scanned) error {
		if e.Index > upper {
			return nil
		}
		for ; next < e.Index; next++ {
			if err := put(next, nil, true); err != nil {
				return err
			}
		}
		next = e.Index + 1
		return put(e.Index, e.Payload, e.Tomb)
	})
	for ; err == nil && next <= upper; next++ {
		err = put(next, nil, true)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tf.Sync()
	}
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return out, err
	}
	if err := os.Rename(tmp, sf.path); err != nil {
		return out, err
	}
	if err := syncDir(dir); err != nil {
		return out, err
	}
	out.rewritten = true
	return out, nil
}

// appendFramed appends a whole framed entry: uvarint(len) | entry data.
func appendFramed(dst []byte, index uint64, payload []byte, tomb bool) []byte {
	dst = binary.AppendUvarint(dst, uint64(headerLen+len(payload)))
	return appendEntry(dst, index, payload, tomb)
}

func copyFileSync(src *os.File, dst string) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, io.NewSectionReader(src, 0, 1<<62))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// lostRanges formats the lost index ranges of damages for logs.
func lostRanges(ds []Damage) string {
	var b strings.Builder
	for _, d := range ds {
		if d.LostFirst > d.LostLast {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(",")
		}
		if d.LostFirst == d.LostLast {
			fmt.Fprintf(&b, "%d", d.LostFirst)
		} else {
			fmt.Fprintf(&b, "%d-%d", d.LostFirst, d.LostLast)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}
