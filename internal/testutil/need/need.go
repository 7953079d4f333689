// Package need stops a test that cannot run here, the house way. Test
// support only.
//
// A missing real part (python3, make, a fifo, Azurite...) is a loud skip on
// a developer's machine and a failure when CI=true, because CI has every
// part: Missing. A condition CI lacks on purpose (running as root, another
// OS, -short) is a skip everywhere, marked so that scripts/testsummary lists
// it apart and lets it pass in CI: ByDesign. No test calls t.Skip itself
// (TestNoDirectSkip in this package checks the repository).
package need

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Prefixes of a skip's message; scripts/testsummary reads them.
const (
	MissingPrefix  = "SKIPPED LOUDLY: "
	ByDesignPrefix = "SKIPPED BY DESIGN: "
)

// InCI reports whether the tests run in CI (CI=true), where every real part
// must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// T is what Missing and ByDesign need of a test: testing.TB has it, and so
// has testscript.T (a script's test).
type T interface {
	Fatal(args ...any)
	Skip(args ...any)
}

// Missing stops the test for a missing part: a failure when CI=true, a loud
// skip elsewhere.
func Missing(t T, format string, args ...any) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper() // here: Helper marks the function that calls it
	}
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal(msg + " (CI=true: a missing part fails the test)")
		return
	}
	t.Skip(MissingPrefix + msg)
}

// ByDesign skips the test for a condition that CI lacks on purpose; the
// reason says which.
func ByDesign(t T, format string, args ...any) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper() // here: Helper marks the function that calls it
	}
	t.Skip(ByDesignPrefix + fmt.Sprintf(format, args...))
}

// Command returns the path of the program name on PATH, or stops the test
// with Missing; why says what the test needs it for.
func Command(t testing.TB, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not on PATH: %s", name, why)
	}
	return p
}
