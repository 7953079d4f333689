//go:build unix

package dataset

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// A named pipe is refused before it is opened (opening it would block).
func TestRefusesAFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "data.jsonl")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		need.Missing(t, "mkfifo: %v", err)
	}
	_, err := Open(context.Background(), p)
	if fault.KindOf(err) != fault.Validation || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("err = %v", err)
	}
}
