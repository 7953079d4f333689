// Package pfzbin gives the end-to-end suites the pfz binary they run, and
// keeps go test's cache honest about it. Test support only.
//
// go test replays a passing result when the test binary, its flags and the
// files and environment variables the test looked at are unchanged. A suite
// that runs a pfz built with `go build` depends on pfz's sources, which the
// test binary does not contain: Track makes the test look at them, so a
// change to pfz runs the suite again instead of replaying a stale pass.
package pfzbin

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// EnvPrebuilt names a pfz binary built beforehand (CI builds once for
// several suites); Build links to it instead of building.
const EnvPrebuilt = "PFZ_E2E_BIN"

// Name is the binary's file name on this platform ("pfz" or "pfz.exe").
func Name() string {
	if runtime.GOOS == "windows" {
		return "pfz.exe"
	}
	return "pfz"
}

// Build puts a pfz binary at path: a symbolic link to $PFZ_E2E_BIN when it
// is set, else one built with `go build ./cmd/pfz` from root (the
// repository). It may run in TestMain; the tests that use the binary must
// call Track.
func Build(root, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if prebuilt := os.Getenv(EnvPrebuilt); prebuilt != "" {
		abs, err := filepath.Abs(prebuilt)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s: %w", EnvPrebuilt, err)
		}
		return os.Symlink(abs, path)
	}
	cmd := exec.Command("go", "build", "-o", path, "./cmd/pfz")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/pfz: %w\n%s", err, out)
	}
	return nil
}

var tracked struct {
	once sync.Once
	err  error
}

// Track looks at what the binary is made of, so that go test's cache key
// covers it: go.mod, go.sum, every file and folder under cmd/ and internal/
// of root, and $PFZ_E2E_BIN (the variable and the file). go test records
// only what a test looks at while tests run (not in TestMain before m.Run),
// so every test that runs the binary calls it; the walk is done once per
// test binary, which is all the record needs.
func Track(t testing.TB, root string) {
	t.Helper()
	tracked.once.Do(func() { tracked.err = track(root) })
	if tracked.err != nil {
		t.Fatalf("looking at pfz's sources: %v", tracked.err)
	}
}

func track(root string) error {
	if p := os.Getenv(EnvPrebuilt); p != "" {
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return err
		}
	}
	for _, dir := range []string{"cmd", "internal"} {
		// WalkDir opens each folder (a new or removed file changes the
		// record) and Stat looks at each file (an edit does).
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				_, err = os.Stat(p)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
