// Package uvtool installs uv (a pinned version, from PyPI with pip) into a
// cache folder for the tests that compare or use it, as the Azurite helper
// installs Azurite with npm. Test support only.
package uvtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// Version is the uv the tests use (and docs/benchmarks.md measured).
const Version = "0.9.30"

var (
	once sync.Once
	path string
	msg  string
)

// Path returns the uv executable, installing it on first use into
// <user cache>/pfz-test/uv-<Version>. When it cannot be installed the test
// is skipped loudly, or fails with CI=true.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(func() { path, msg = install() })
	if path == "" {
		need.Missing(t, "uv %s could not be installed: %s", Version, msg)
	}
	return path
}

func install() (string, string) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pfz-test", "uv-"+Version)
	bin := filepath.Join(dir, "bin", "uv")
	if runtime.GOOS == "windows" {
		bin = filepath.Join(dir, "Scripts", "uv.exe")
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, ""
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", "python3 is not on PATH"
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if out, err := exec.Command(py, "-m", "venv", tmp).CombinedOutput(); err != nil {
		return "", "python3 -m venv: " + string(out)
	}
	pip := filepath.Join(tmp, "bin", "pip")
	if runtime.GOOS == "windows" {
		pip = filepath.Join(tmp, "Scripts", "pip.exe")
	}
	if out, err := exec.Command(pip, "install", "--disable-pip-version-check", "-q", "uv=="+Version).CombinedOutput(); err != nil {
		return "", "pip install uv: " + string(out)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err.Error()
	}
	return bin, ""
}
