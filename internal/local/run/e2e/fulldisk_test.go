package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/run"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/testutil/tmpfs"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// A run whose folder fills up stops and fails loudly: the command returns
// the write error, the run is Failed, and its counts are the lines
// lines.jsonl keeps, never the lines computed (issue 9, item 1). The runs
// folder is a real 512 KB tmpfs; 400 lines of 3 KB records overflow it.
func TestFullDiskFailsTheRunAndCountsOnlyKeptLines(t *testing.T) {
	e := need(t)
	helloRun(t)
	runsDir := filepath.Dir(runs(e).Dir("x"))
	tmpfs.MountAt(t, runsDir, 512<<10)

	data := filepath.Join(t.TempDir(), "big.jsonl")
	var sb strings.Builder
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&sb, "{\"name\": \"%04d-%s\", \"greeting\": \"Hello\"}\n", i, strings.Repeat("n", 1500))
	}
	if err := os.WriteFile(data, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := onSharedSession(t, resolve(t, runspec.Flags{
		Flow: examples("hello-python"), Data: data, Name: "full_disk",
		ColumnMapping: []string{"name=${data.name}", "greeting=${data.greeting}"},
	}, examples()))
	_, err := e.ws.Runs().Submit(context.Background(), sub, nil)
	if err == nil {
		t.Fatal("a run on a full disk succeeded")
	}
	if !errors.Is(err, syscall.ENOSPC) || fault.KindOf(err) != fault.Failed || !strings.Contains(err.Error(), "could not be recorded") {
		t.Fatalf("err = %v (kind %v), want a Failed error naming the full disk", err, fault.KindOf(err))
	}
	got, gerr := e.ws.Runs().Get(context.Background(), "full_disk")
	if gerr != nil {
		t.Fatal(gerr)
	}
	dir := runs(e).Dir("full_disk")
	completed, failed, cerr := run.CountKept(dir)
	if cerr != nil {
		t.Fatal(cerr)
	}
	if got.Status != workspace.RunFailed || got.LinesCompleted != completed || got.LinesFailed != failed {
		t.Fatalf("run = %s, %d completed, %d failed; lines.jsonl keeps %d completed, %d failed", got.Status, got.LinesCompleted, got.LinesFailed, completed, failed)
	}
	if completed+failed >= 400 {
		t.Fatalf("all 400 lines fit in 512 KB: the test did not fill the disk")
	}
	if b, err := os.ReadFile(filepath.Join(dir, run.LinesFile)); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		t.Error("lines.jsonl ends with a torn line")
	}
}
