//go:build !linux

package atomicfile

// exchange: no one-step swap of two folders here; ReplaceDir renames aside.
func exchange(a, b string) error { return errNoExchange }
