// Package tmpfs mounts a small real tmpfs for tests that need a full disk:
// writes fail with ENOSPC exactly as they would on a user's full drive, with
// no mock of the syscall. Test support only.
//
// Mounting needs root (CI runs the tests as root). Where it is refused the
// test is skipped with a loud message on a developer's machine and fails
// when CI=true, like every other real part.
package tmpfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// ErrUnavailable is returned by mount where this platform or user cannot
// mount a file system.
var ErrUnavailable = errors.New("cannot mount a tmpfs (needs Linux and root)")

// Mount mounts a tmpfs of size bytes on a fresh folder and unmounts it when
// the test ends. size is rounded up to whole pages by the kernel.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	// Cleanups run last-in first-out: the unmount comes before TempDir's removal.
	dir := t.TempDir()
	MountAt(t, dir, size)
	return dir
}

// MountAt mounts a tmpfs of size bytes over the existing folder dir (hiding
// what it holds) until the test ends.
func MountAt(t testing.TB, dir string, size int64) {
	t.Helper()
	if err := mount(dir, size); err != nil {
		msg := "a real full disk is needed: " + err.Error()
		need.Missing(t, "%s", msg)
	}
	t.Cleanup(func() {
		if err := unmount(dir); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// Fill writes a filler file in dir so that about free bytes stay free.
func Fill(t testing.TB, dir string, free int64) {
	t.Helper()
	avail, err := available(dir)
	if err != nil {
		t.Fatal(err)
	}
	if avail <= free {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, ".filler"), make([]byte, avail-free), 0o600); err != nil {
		t.Fatalf("filling %s: %v", dir, err)
	}
}

// Free removes the filler file, giving the space back.
func Free(t testing.TB, dir string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, ".filler")); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
