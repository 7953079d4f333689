//go:build !linux

package tmpfs

import "errors"

func mount(string, int64) error { return ErrUnavailable }

func unmount(string) error { return nil }

func available(string) (int64, error) { return 0, errors.ErrUnsupported }
