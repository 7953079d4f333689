// Package pfref gives tests promptflow 1.18.5, the reference implementation
// pfz is compared with: a Python virtual environment with exactly the packages
// of requirements.lock (promptflow, promptflow-tools, keyrings.alt and what
// they pulled in), created with pip the first time a test needs it in a cache
// folder named by the lock's and the Python's hash, and reused after. Several
// test processes may ask at once: one installs, the others wait on a lock.
//
// Env returns the environment promptflow runs in: its own HOME (so
// ~/.promptflow and the keyring of keyrings.alt are the test's), telemetry
// and tracing off (pf.yaml: telemetry.enabled=false, trace.destination=none;
// PF_DISABLE_TRACING, PROMPTFLOW_DISABLE_TELEMETRY and Application
// Insights' control plane and statsbeat off), and every HTTP proxy pointed
// at a closed port on 127.0.0.1 so that nothing promptflow tries leaves the
// machine (127.0.0.1 itself is exempt, for fake servers). Test support only.
//
// When python3, venv or pip is missing, or the install fails, Install returns
// an error wrapping ErrUnavailable: tests skip loudly on a developer's
// machine and fail when CI=true (see Unavailable).
package pfref

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

//go:embed requirements.lock
var lock []byte

// Version is the promptflow release the environment holds.
const Version = "1.18.5"

// ErrUnavailable wraps every reason promptflow cannot be installed here.
var ErrUnavailable = errors.New("promptflow (reference) is unavailable")

// Ref is an installed promptflow.
type Ref struct {
	Dir    string // the virtual environment
	Python string // its python
	PF     string // its pf command
}

// Unavailable reports err the house way: a loud skip on a developer's
// machine, a failure in CI or for any error that is not about a missing part.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("promptflow %s: %v", Version, err)
	}
	need.Missing(t, "%v (install Python 3.9+ with venv and pip to run the differential suite)", err)
}

// Install makes sure the environment exists and returns it. The first call
// on a machine runs pip (minutes); later calls only check a marker file.
func Install(ctx context.Context) (*Ref, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("%w: python3 not found on PATH", ErrUnavailable)
	}
	ver, err := exec.CommandContext(ctx, py, "-c", "import sys, venv, ensurepip; print(sys.version)").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%w: python3 has no working venv/ensurepip: %s", ErrUnavailable, strings.TrimSpace(string(ver)))
	}
	sum := sha256.Sum256(append(append([]byte{}, lock...), ver...))
	dir := filepath.Join(shared.CacheDir(), "promptflow-"+Version+"-"+hex.EncodeToString(sum[:6]))
	ref := refAt(dir)
	marker := filepath.Join(dir, ".installed")
	if fileExists(marker) && fileExists(ref.PF) {
		return ref, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	lk := flock.New(dir + ".lock")
	ok, err := lk.TryLockContext(ctx, 200*time.Millisecond)
	if err == nil && !ok {
		err = errors.New("the lock was not acquired")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: waiting for another promptflow install in %s: %w", ErrUnavailable, dir, err)
	}
	defer func() { _ = lk.Unlock() }()
	if fileExists(marker) && fileExists(ref.PF) {
		return ref, nil // another process installed it while we waited
	}
	// A half-made environment (a killed install) is started again.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if out, err := exec.CommandContext(ctx, py, "-m", "venv", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: python3 -m venv %s: %w\n%s", ErrUnavailable, dir, err, tail(string(out)))
	}
	lockFile := filepath.Join(dir, "requirements.lock")
	if err := os.WriteFile(lockFile, lock, 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	pip := exec.CommandContext(ctx, ref.Python, "-m", "pip", "install", "--disable-pip-version-check",
		"--no-input", "--quiet", "-r", lockFile)
	// The machine's pip settings (a private index, a user config) must not
	// change what the reference is.
	pip.Env = append(cleanEnv(true), "PIP_CONFIG_FILE="+os.DevNull)
	var out bytes.Buffer
	pip.Stdout, pip.Stderr = &out, &out
	if err := pip.Run(); err != nil {
		return nil, fmt.Errorf("%w: pip install -r %s: %w\n%s", ErrUnavailable, lockFile, err, tail(out.String()))
	}
	if !fileExists(ref.PF) {
		return nil, fmt.Errorf("%w: pip finished but %s is missing", ErrUnavailable, ref.PF)
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return ref, nil
}

func refAt(dir string) *Ref {
	bin, exe := "bin", ""
	if runtime.GOOS == "windows" {
		bin, exe = "Scripts", ".exe"
	}
	return &Ref{Dir: dir, Python: filepath.Join(dir, bin, "python"+exe), PF: filepath.Join(dir, bin, "pf"+exe)}
}

// pfConfig is ~/.promptflow/pf.yaml: no telemetry, no trace collector
// (which would otherwise start a local trace service that outlives the run).
const pfConfig = "telemetry:\n  enabled: false\ntrace:\n  destination: none\n"

// Env prepares home as promptflow's HOME and returns the environment to run
// pf in: this process's environment without Python, pip or proxy settings,
// plus extra (KEY=VALUE) last.
func (r *Ref) Env(home string, extra ...string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(home, ".promptflow"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, ".promptflow", "pf.yaml"), []byte(pfConfig), 0o600); err != nil {
		return nil, err
	}
	// A closed port: any connection promptflow attempts beyond 127.0.0.1
	// fails at once instead of leaving the machine.
	const deadProxy = "http://127.0.0.1:9"
	env := append(cleanEnv(false),
		"HOME="+home,
		"USERPROFILE="+home,
		"PF_DISABLE_TRACING=true",
		"PROMPTFLOW_DISABLE_TELEMETRY=true",
		"APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED=true",
		"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL=true",
		"HTTP_PROXY="+deadProxy, "HTTPS_PROXY="+deadProxy, "http_proxy="+deadProxy, "https_proxy="+deadProxy,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"PYTHONIOENCODING=utf-8",
	)
	return append(env, extra...), nil
}

// cleanEnv is this process's environment without the machine's Python, pip,
// promptflow and Azure settings, and without its proxies unless keepProxy (pip
// may need them to reach the package index).
func cleanEnv(keepProxy bool) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		u := strings.ToUpper(k)
		if strings.HasPrefix(u, "PIP_") || strings.HasPrefix(u, "PYTHON") || strings.HasPrefix(u, "PF_") ||
			strings.HasPrefix(u, "PROMPTFLOW") || strings.HasPrefix(u, "AZURE_") || strings.HasPrefix(u, "OPENAI") ||
			(!keepProxy && strings.HasSuffix(u, "_PROXY")) || u == "VIRTUAL_ENV" || u == "HOME" || u == "USERPROFILE" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func tail(s string) string {
	const n = 3000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
