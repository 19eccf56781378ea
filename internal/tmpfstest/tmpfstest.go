// Package tmpfstest gives tests a small filesystem of their own to fill:
// a tmpfs mounted for the test (root only) and a filler file that leaves a
// chosen number of bytes free. The disk-full tests of the WAL, the store and
// the node use it.
//
// A test that needs it is not skipped when it cannot mount (not root): the
// disk-full behaviour must be proven wherever `make test` runs (CI runs it as
// root, as `make deps` needs); only -short leaves such a test out.
package tmpfstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size (mount's syntax: 2m, 20m) at a temporary
// directory, unmounted when the test ends, and returns the directory.
func Mount(t testing.TB, size string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP (-short): mounts a tmpfs")
	}
	if os.Geteuid() != 0 {
		t.Fatal("mounting a tmpfs needs root: run the tests as root, or with -short to leave this test out")
	}
	dir := t.TempDir()
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, b)
	}
	t.Cleanup(func() {
		if b, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, b)
		}
	})
	return dir
}

// Free is the bytes available to an unprivileged writer on dir's filesystem.
func Free(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// Fill writes a filler file into dir that leaves about keep bytes free, and
// returns the function that removes it again.
func Fill(t testing.TB, dir string, keep int64) func() {
	t.Helper()
	p := filepath.Join(dir, "filler")
	if err := os.WriteFile(p, make([]byte, max(0, Free(t, dir)-keep)), 0o600); err != nil {
		t.Fatal(err)
	}
	return func() { os.Remove(p) }
}
