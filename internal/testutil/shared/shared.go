// Package shared finds the ../shared folder that sits beside the repository
// (docs, the promptflow fixture corpus, recordings, hash vectors). Tests read it
// in place; nothing from it is copied into the repository. Test support only.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// Dir returns the absolute path of ../shared beside the repository root.
// When it is missing the test is skipped with a loud message, or fails when
// CI=true, because CI always has it.
func Dir(t testing.TB) string {
	t.Helper()
	dir, ok := Find()
	if !ok {
		msg := "../shared is missing: this test reads promptflow's fixture corpus, recorded service traffic or hash vectors from " +
			dir + "/conformance (the folder beside the repository, or PFZ_SHARED)"
		need.Missing(t, "%s; put the shared folder beside the clone or set PFZ_SHARED", msg)
	}
	return dir
}

// Path joins elements under the shared folder (see Dir).
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

// RepoRoot returns the repository root (the folder holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <root>/internal/testutil/shared/shared.go
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// CacheDir is where tests keep what they install once and reuse (Azurite,
// promptflow's virtual environment): $PFZ_TEST_CACHE, else pfz-test under the
// user cache folder, else under the temp folder.
func CacheDir() string {
	if d := os.Getenv("PFZ_TEST_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pfz-test")
	}
	return filepath.Join(os.TempDir(), "pfz-test")
}

// Find reports where ../shared should be and whether it is there. PFZ_SHARED
// overrides the location.
func Find() (string, bool) {
	dir := os.Getenv("PFZ_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	dir, _ = filepath.Abs(dir)
	st, err := os.Stat(filepath.Join(dir, "conformance"))
	return dir, err == nil && st.IsDir()
}
