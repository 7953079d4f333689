package pfzbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// probeTest is a test in the throwaway module that calls Track over the
// module's own root.
const probeTest = `package probe

import (
	"testing"

	"example.com/probe/pfzbin"
)

func TestProbe(t *testing.T) { pfzbin.Track(t, "..") }
`

// TestTrackChangesTheCacheKey runs go test on a throwaway module holding
// this package's source, a test that calls Track, and a fake cmd/ and
// internal/ (go test only rechecks files inside the module): an unchanged
// second run is replayed from the cache; after an edit under internal/ or a
// new file under cmd/ the test runs again.
func TestTrackChangesTheCacheKey(t *testing.T) {
	_, self, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(filepath.Join(filepath.Dir(self), "pfzbin.go"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// go test does not cache a run that saw files changed in the last
	// seconds; each write gets its own time, well in the past.
	stamp := time.Now().Add(-time.Hour)
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		stamp = stamp.Add(time.Minute)
		for d := p; d != root; d = filepath.Dir(d) {
			if err := os.Chtimes(d, stamp, stamp); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("go.mod", "module example.com/probe\n\ngo 1.21\n")
	write("go.sum", "")
	write("pfzbin/pfzbin.go", string(src))
	write("probe/probe_test.go", probeTest)
	write("cmd/pfz/main.go", "v1")
	write("internal/a/a.go", "v1")
	cached := func() bool {
		t.Helper()
		cmd := exec.Command("go", "test", "./probe")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "PFZ_E2E_BIN=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go test ./probe: %v\n%s", err, out)
		}
		return strings.Contains(string(out), "(cached)")
	}
	cached()
	if !cached() {
		t.Fatal("an unchanged second run was not replayed from the cache: the probe proves nothing")
	}
	write("internal/a/a.go", "v2")
	if cached() {
		t.Error("an edited source file replayed the cached pass")
	}
	write("cmd/pfz/new.go", "v1")
	if cached() {
		t.Error("a new source file replayed the cached pass")
	}
	if !cached() {
		t.Error("an unchanged run after the edits was not replayed from the cache")
	}
}
