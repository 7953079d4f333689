// Package uvtool installs uv (a pinned version, from PyPI with pip) into a
// cache folder for the tests that compare or use it, as the Azurite helper
// installs Azurite with npm. Test support only.
package uvtool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/pfz-cli/pfz/internal/local/uvsetup"
	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// Version is the uv the tests use: the one pfz installs for itself.
const Version = uvsetup.Version

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

var (
	wheelOnce sync.Once
	wheelName string
	wheelData []byte
	wheelMsg  string
)

// Wheel returns uv Version's wheel for this platform (file name and
// bytes), downloaded once with pip from PyPI into <user cache>/pfz-test/,
// for tests that serve it from a 127.0.0.1 index. When it cannot be had the
// test is skipped loudly, or fails with CI=true.
func Wheel(t testing.TB) (string, []byte) {
	t.Helper()
	name, data, err := WheelFile()
	if err != nil {
		need.Missing(t, "%v", err)
	}
	return name, data
}

// WheelFile is Wheel for callers without a testing.TB (a TestMain).
func WheelFile() (string, []byte, error) {
	wheelOnce.Do(func() { wheelName, wheelData, wheelMsg = download() })
	if wheelData == nil {
		return "", nil, fmt.Errorf("the uv %s wheel could not be downloaded: %s", Version, wheelMsg)
	}
	return wheelName, wheelData, nil
}

func download() (string, []byte, string) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pfz-test", "uv-wheel-"+Version)
	find := func() (string, []byte) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if filepath.Ext(e.Name()) == ".whl" {
				if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
					return e.Name(), data
				}
			}
		}
		return "", nil
	}
	if name, data := find(); data != nil {
		return name, data, ""
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", nil, "python3 is not on PATH"
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "uv-wheel-*.tmp")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", nil, err.Error()
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), "uv-wheel-*.tmp"); err != nil {
			return "", nil, err.Error()
		}
	}
	defer func() { _ = os.RemoveAll(tmp) }() // a temp folder beside the cache
	out, err := exec.Command(py, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
		"--only-binary=:all:", "-d", tmp, "uv=="+Version).CombinedOutput()
	if err != nil {
		return "", nil, fmt.Sprintf("pip download uv: %v: %s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if name, data := find(); data != nil { // another test process won
			return name, data, ""
		}
		return "", nil, err.Error()
	}
	if name, data := find(); data != nil {
		return name, data, ""
	}
	return "", nil, "pip download left no wheel in " + dir
}
