//go:build windows

package store

import "os"

// Alive reports whether a process with this pid exists. A pid can be
// reused, so callers pair it with a lock or an age check.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
