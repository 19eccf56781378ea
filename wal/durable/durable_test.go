package durable

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepairLastLine(t *testing.T) {
	long := strings.Repeat("x", 3*repairChunk+17) // torn line over several read steps
	for _, tt := range []struct {
		name, in, want string
	}{
		{"empty file", "", ""},
		{"exact newline end", "a\nbb\n", "a\nbb\n"},
		{"one newline", "\n", "\n"},
		{"torn last line", "a\nbb\nccc", "a\nbb\n"},
		{"torn one byte", "a\n{", "a\n"},
		{"no newline at all", "{\"id\":\"n:1\"", ""},
		{"torn line longer than a step", "a\n" + long, "a\n"},
		{"no newline, longer than a step", long, ""},
		{"newline at a step boundary", strings.Repeat("y", repairChunk-1) + "\n" + long, strings.Repeat("y", repairChunk-1) + "\n"},
		{"long complete line", long + "\n", long + "\n"},
		{"empty lines kept", "\n\n\nx", "\n\n\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.jsonl")
			if err := os.WriteFile(p, []byte(tt.in), 0o640); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n, err := RepairLastLine(f, int64(len(tt.in)))
			if err != nil || n != int64(len(tt.want)) {
				t.Fatalf("RepairLastLine = %d, %v; want %d", n, err, len(tt.want))
			}
			if got, _ := os.ReadFile(p); string(got) != tt.want {
				t.Errorf("file after repair: %d bytes %.40q…, want %d bytes", len(got), got, len(tt.want))
			}
			if off, _ := f.Seek(0, 1); off != 0 {
				t.Errorf("file offset moved to %d", off)
			}
		})
	}
}

func TestRepairLastLineErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("a\nb"), 0o640); err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := RepairLastLine(ro, 3); err == nil {
		t.Error("repair of a read-only file: no error")
	}
	if _, err := RepairLastLine(ro, 10); err == nil {
		t.Error("size past the end: no error")
	}
	if b, _ := os.ReadFile(p); string(b) != "a\nb" {
		t.Errorf("file changed: %q", b)
	}
}

func FuzzRepairLastLine(f *testing.F) {
	for _, s := range []string{"", "\n", "a\nb", "a\nb\n", "{\"id\":1", strings.Repeat("z", repairChunk+1)} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, in, 0o640); err != nil {
			t.Fatal(err)
		}
		fl, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer fl.Close()
		n, err := RepairLastLine(fl, int64(len(in)))
		if err != nil {
			t.Fatal(err)
		}
		want := in[:bytes.LastIndexByte(in, '\n')+1]
		got, _ := os.ReadFile(p)
		if n != int64(len(want)) || !bytes.Equal(got, want) {
			t.Fatalf("repair of %q: %d, %q; want %q", in, n, got, want)
		}
	})
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "node_id")
	if err := WriteFileAtomic(p, []byte("one\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	// a stale tmp file left by a crash, with other permissions, is replaced
	if err := os.WriteFile(p+".tmp", []byte("stale and longer"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "two\n" {
		t.Errorf("contents %q, %v", b, err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm()&^0o600 != 0 {
		t.Errorf("mode %v, %v: want at most 0600", st.Mode(), err)
	}
	if _, err := os.Stat(p + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tmp file left: %v", err)
	}
	// an empty file is a file too
	if err := WriteFileAtomic(p, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || len(b) != 0 {
		t.Errorf("contents %q, %v", b, err)
	}

	// failures leave path as it was, and no tmp file
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o640); err == nil {
		t.Error("missing directory: no error")
	}
	target := filepath.Join(dir, "adir")
	if err := os.Mkdir(target, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(target, []byte("x"), 0o640); err == nil {
		t.Error("rename over a non-empty directory: no error")
	}
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		t.Errorf("target changed: %v", err)
	}
	if _, err := os.Stat(target + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tmp file left after a failed rename: %v", err)
	}
}

func TestSyncDirAndFsyncPath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(dir); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
	if err := FsyncPath(p); err != nil {
		t.Errorf("FsyncPath(file): %v", err)
	}
	if err := FsyncPath(dir); err != nil {
		t.Errorf("FsyncPath(dir): %v", err)
	}
	var pe *os.PathError
	if err := SyncDir(filepath.Join(dir, "missing")); !errors.As(err, &pe) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SyncDir(missing) = %v, want a *os.PathError for a missing file", err)
	}
}
