//go:build !linux

package azurite

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
