package config

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/tmpfs"
)

// `config set` on a real full disk fails loudly and keeps the old file.
func TestSetFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 64<<10)
	if _, err := Set(dir, KeyOutput, "json"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	tmpfs.Fill(t, dir, 0)
	_, err := Set(dir, KeyResourceGroup, "rg-full")
	if !errors.Is(err, syscall.ENOSPC) || fault.KindOf(err) != fault.Failed {
		t.Fatalf("err = %v, want a Failed error for ENOSPC", err)
	}
	if fault.HintOf(err) == "" {
		t.Errorf("no hint in %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if string(after) != string(before) {
		t.Fatalf("config.yaml changed on a failed write: %q -> %q", before, after)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 { // config.yaml and the filler
		t.Fatalf("left behind: %v", ents)
	}
}
