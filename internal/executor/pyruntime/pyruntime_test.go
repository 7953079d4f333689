package pyruntime

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestInstall(t *testing.T) {
	cache := t.TempDir()
	var wg sync.WaitGroup
	rts := make([]*Runtime, 4)
	errs := make([]error, 4)
	for i := range rts {
		wg.Add(1)
		go func() { defer wg.Done(); rts[i], errs[i] = Install(cache) }()
	}
	wg.Wait()
	for i := range rts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if rts[i].Dir != rts[0].Dir {
			t.Fatalf("installs disagree: %s vs %s", rts[i].Dir, rts[0].Dir)
		}
	}
	for _, rel := range []string{"pfz_worker.py", "shim/promptflow/__init__.py", "shim/promptflow/core/__init__.py",
		"shim/promptflow/_core/metric_logger.py", "shim/promptflow/connections/__init__.py"} {
		if _, err := os.Stat(filepath.Join(rts[0].Dir, rel)); err != nil {
			t.Errorf("missing %s: %v", rel, err)
		}
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries, want only the runtime (temporary copies removed)", len(entries))
	}
	if len(Hash()) != 12 || Hash() != Hash() {
		t.Errorf("hash %q", Hash())
	}
	if _, err := Install(""); err == nil {
		t.Error("an empty cache folder was accepted")
	}
}
