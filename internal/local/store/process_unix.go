//go:build unix

package store

import (
	"errors"
	"syscall"
)

// Alive reports whether a process with this pid exists. A pid can be
// reused, so callers pair it with a lock or an age check.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
