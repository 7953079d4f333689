//go:build !windows && !linux

package executor

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
