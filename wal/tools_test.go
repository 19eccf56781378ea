package wal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepair: Repair on a healthy log changes nothing; on a cut segment, a
// zero-filled tail and a flipped byte in an older segment it does what Open
// and the readers would, says so, and leaves a log that verifies and opens
// without any repair left to do.
func TestRepair(t *testing.T) {
	const n, size = 100, 100
	for _, tc := range []struct {
		name      string
		damage    func(t *testing.T, dir string, segs []segFile)
		keep      int    // records kept
		last      uint64 // last index after the repair
		lost      uint64
		cut       bool // bytes cut from the tail
		rewritten bool
		cursor    string // a report line about cursor "ahead" contains this
	}{
		{name: "healthy", damage: func(*testing.T, string, []segFile) {}, keep: n, last: n},
		{name: "tail cut mid-record", damage: func(t *testing.T, _ string, segs []segFile) {
			mutate(t, segs[len(segs)-1].path, func(b []byte) []byte { return b[:len(b)-size/2] })
		}, keep: n - 1, last: n - 1, cut: true, cursor: "ahead committed 100, past the last record: moved back to 99"},
		{name: "zero-filled tail", damage: func(t *testing.T, _ string, segs []segFile) {
			mutate(t, segs[len(segs)-1].path, func(b []byte) []byte { return append(b, make([]byte, 4096)...) })
		}, keep: n, last: n, cut: true},
		{name: "flipped byte in the first segment", damage: func(t *testing.T, _ string, segs []segFile) {
			mutate(t, segs[0].path, func(b []byte) []byte { b[40] ^= 1; return b })
		}, keep: n - 1, last: n, lost: 1, rewritten: true},
		{name: "leftover and unreadable cursor", damage: func(t *testing.T, dir string, segs []segFile) {
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(segs[0].path)+".TEMP"), []byte("x"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "cursors", "ahead"), []byte("garbage"), 0o640); err != nil {
				t.Fatal(err)
			}
		}, keep: n, last: n, cursor: "ahead unreadable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir, SegmentSize: 4 << 10}
			segs := buildLog(t, o, n, size)
			if err := writeCursorFile(filepath.Join(dir, "cursors"), "ahead", n); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir, segs)
			rep, err := Repair(dir)
			if err != nil {
				t.Fatal(err)
			}
			s := rep.String()
			if rep.Records != tc.keep || rep.LastIndex != tc.last || rep.FirstIndex != 1 || rep.Lost != tc.lost ||
				(rep.CutBytes > 0) != tc.cut || len(rep.Segments) != len(segs) {
				t.Fatalf("report:\n%s", s)
			}
			tail := rep.Segments[len(rep.Segments)-1]
			if tail.Truncated != tc.cut || rep.Segments[0].Rewritten != tc.rewritten {
				t.Fatalf("report:\n%s", s)
			}
			if tc.rewritten && (quarantined(t, dir) != 1 || !strings.Contains(s, "lost index 1..1")) {
				t.Fatalf("no quarantine copy, or the lost index is not named:\n%s", s)
			}
			if changed := tc.cut || tc.rewritten || tc.cursor != ""; rep.Changed() != changed ||
				strings.HasSuffix(s, "REPAIRED\n") != changed {
				t.Fatalf("Changed() = %v, want %v:\n%s", rep.Changed(), changed, s)
			}
			if tc.cursor != "" && !strings.Contains(s, tc.cursor) {
				t.Fatalf("report does not say %q:\n%s", tc.cursor, s)
			}
			if tc.name == "leftover and unreadable cursor" && !strings.Contains(s, "removed 00000000000000000001.TEMP") {
				t.Fatalf("leftover not reported:\n%s", s)
			}

			// Nothing left to do: Verify is clean, a second Repair changes
			// nothing, Open repairs nothing and appends go on after the last.
			if v, err := Verify(dir); err != nil || !v.OK() || v.Records != tc.keep {
				t.Fatalf("verify after repair: %v\n%s", err, v)
			}
			if again, err := Repair(dir); err != nil || again.Changed() {
				t.Fatalf("second repair: %v\n%s", err, again)
			}
			l := openT(t, o)
			defer l.Close()
			if st := l.Stats(); st.Repairs != 0 || st.LastIndex != tc.last {
				t.Fatalf("open after repair: %+v", st)
			}
		})
	}
	if _, err := Repair(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("repair of a missing directory: no error")
	}
}

// TestDumpReport: records and damage in one pass.
func TestDumpReport(t *testing.T) {
	dir := t.TempDir()
	segs := buildLog(t, Options{Dir: dir, SegmentSize: 4 << 10}, 100, 100)
	mutate(t, segs[0].path, func(b []byte) []byte { b[40] ^= 1; return b })
	mutate(t, segs[len(segs)-1].path, func(b []byte) []byte { return b[:len(b)-3] })
	var got int
	rep, err := DumpReport(dir, func(uint64, []byte) error { got++; return nil })
	if err != nil || got != 98 || rep.OK() || rep.Lost != 1 || rep.Records != 98 ||
		len(rep.Segments[0].Damages) != 1 || !rep.Segments[len(rep.Segments)-1].TornTail {
		t.Fatalf("DumpReport: %v, %d records\n%s", err, got, rep)
	}
}
