package wal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEpoch: a new WAL draws a random epoch and keeps it across reopens; a
// WAL from before epochs (segments, no epoch file) keeps an empty epoch,
// persisted; two new WALs get different epochs.
func TestEpoch(t *testing.T) {
	open := func(t *testing.T, dir string) string {
		t.Helper()
		l := openT(t, Options{Dir: dir})
		defer l.Close()
		return l.Epoch()
	}
	fileEpoch := func(t *testing.T, dir string) string {
		t.Helper()
		e, found, err := ReadEpoch(dir)
		if err != nil || !found {
			t.Fatalf("ReadEpoch: %q, found %v, %v", e, found, err)
		}
		return e
	}

	t.Run("new WAL", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "wal")
		// a crash while creating the epoch file of a new WAL left its temp file
		os.MkdirAll(dir, 0o750)
		os.WriteFile(filepath.Join(dir, ".epoch.tmp"), []byte("dead"), 0o640)
		e := open(t, dir)
		if len(e) != 8 || !validEpoch(e) {
			t.Fatalf("new WAL's epoch %q: want 8 hex digits", e)
		}
		if fileExists(filepath.Join(dir, ".epoch.tmp")) {
			t.Error("temp file left")
		}
		l := openT(t, Options{Dir: dir})
		appendN(t, l, 1, 10, 50)
		if l.Epoch() != e {
			t.Errorf("reopened: epoch %q, want %q", l.Epoch(), e)
		}
		l.Close()
		if got := open(t, dir); got != e || fileEpoch(t, dir) != e {
			t.Errorf("reopened with records: epoch %q (file %q), want %q", got, fileEpoch(t, dir), e)
		}
	})

	t.Run("WAL from before epochs", func(t *testing.T) {
		dir := t.TempDir()
		l := openT(t, Options{Dir: dir})
		appendN(t, l, 1, 10, 50)
		l.Close()
		if err := os.Remove(filepath.Join(dir, EpochFile)); err != nil {
			t.Fatal(err)
		}
		if rep, err := Verify(dir); err != nil || rep.EpochFound || !rep.OK() || !strings.Contains(rep.String(), "no epoch file") {
			t.Errorf("verify without an epoch file: %v\n%s", err, rep)
		}
		for i := 0; i < 2; i++ {
			if e := open(t, dir); e != "" {
				t.Fatalf("open %d: epoch %q, want none (the IDs it gave stay)", i, e)
			}
			if e := fileEpoch(t, dir); e != "" {
				t.Fatalf("open %d: epoch file holds %q, want none", i, e)
			}
		}
		l = openT(t, Options{Dir: dir})
		appendN(t, l, 11, 1, 50) // numbering goes on
		l.Close()
		if rep, err := Verify(dir); err != nil || !rep.EpochFound || rep.Epoch != "" || !strings.Contains(rep.String(), "epoch none") {
			t.Errorf("verify: %v\n%s", err, rep)
		}
	})

	t.Run("two new WALs", func(t *testing.T) {
		a, b := open(t, t.TempDir()), open(t, t.TempDir())
		if a == b {
			t.Fatalf("two new WALs have the same epoch %q", a)
		}
	})

	t.Run("verify shows it", func(t *testing.T) {
		dir := t.TempDir()
		e := open(t, dir)
		rep, err := Verify(dir)
		if err != nil || rep.Epoch != e || !rep.OK() || !strings.Contains(rep.String(), "epoch "+e) {
			t.Fatalf("verify: %v, epoch %q, want %q\n%s", err, rep.Epoch, e, rep)
		}
	})

	t.Run("damaged epoch file", func(t *testing.T) {
		dir := t.TempDir()
		open(t, dir)
		os.WriteFile(filepath.Join(dir, EpochFile), []byte("not:an/epoch\n"), 0o640)
		if l, err := Open(Options{Dir: dir, Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), EpochFile) {
			if l != nil {
				l.Close()
			}
			t.Fatalf("open with a damaged epoch file: %v; want an error naming the file", err)
		}
		rep, err := Verify(dir)
		if err != nil || rep.OK() || !strings.Contains(rep.String(), "epoch unreadable") {
			t.Fatalf("verify: %v\n%s", err, rep)
		}
	})
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
