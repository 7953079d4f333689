//go:build unix

package pyenv

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// pgrep lists the pids whose command line contains s.
func pgrep(s string) []string {
	out, _ := exec.Command("pgrep", "-f", s).Output()
	return strings.Fields(string(out))
}

// Ctrl-C while `python -m venv` runs ensurepip leaves no orphan: the whole
// process group is killed (issue 9, item 11).
func TestCancelledCreateLeavesNoOrphan(t *testing.T) {
	py := need.Command(t, "python3", "the test creates an environment")
	need.Command(t, "pgrep", "the test finds ensurepip's process with it")
	dir := filepath.Join(t.TempDir(), "venv-under-test")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := (&Runner{Python: py}).Create(ctx, dir, io.Discard)
		done <- err
	}()
	// Wait until ensurepip runs for this environment, then cancel.
	seen := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(pgrep(dir+".*ensurepip")) > 0 || len(pgrep("ensurepip.*"+dir)) > 0 {
			seen = true
			break
		}
		select {
		case err := <-done:
			need.Missing(t, "the environment was made before ensurepip was seen (%v)", err)
		default:
		}
	}
	if !seen {
		t.Fatal("ensurepip never ran")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled Create succeeded")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left := pgrep("venv-under-test")
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of the cancelled environment still run: %v", left)
		}
	}
}
