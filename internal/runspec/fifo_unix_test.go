//go:build unix

package runspec

import (
	"syscall"
	"testing"
)

// mkfifo makes a named pipe and returns its path, or "" where it cannot.
func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Logf("no FIFO: %v", err)
		return ""
	}
	return path
}
