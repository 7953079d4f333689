// Package azurite starts Azurite's blob service for tests of the azureml
// target. Azurite (the npm package `azurite`, pinned by the package-lock.json
// beside this file) is installed with `npm ci` into a cache folder the first
// time a test needs it, then started with node directly on a free 127.0.0.1
// port and a temporary data folder, so the test can stop it by pid. Each
// instance gets its own storage account with a random key, which the fake
// workspace hands out through listSecrets. Test support only.
//
// When node or npm is missing, or the install fails, Start skips the test with
// a loud message on a developer's machine and fails it when CI=true.
package azurite

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

//go:embed package.json
var packageJSON []byte

//go:embed package-lock.json
var packageLock []byte

// Account is the storage account every instance serves (Azurite's
// AZURITE_ACCOUNTS); its key is random per instance.
const Account = "pfzteststore"

// ErrUnavailable wraps every reason Azurite cannot run here (no node or npm,
// a failed install): tests skip on it locally and fail on it in CI.
var ErrUnavailable = errors.New("azurite is unavailable")

// Instance is one running Azurite blob service.
type Instance struct {
	Endpoint string // http://127.0.0.1:<port>, no trailing slash
	Account  string
	Key      string // base64 account key: a test value, generated per instance
	PID      int

	cmd      *exec.Cmd
	done     chan struct{}
	stopOnce sync.Once
	logPath  string
}

// AccountURL is the blob service URL of the account (path style).
func (i *Instance) AccountURL() string { return i.Endpoint + "/" + i.Account }

// BlobTemplate is the blob endpoint template pfz takes (PFZ_BLOB_ENDPOINT).
func (i *Instance) BlobTemplate() string { return i.Endpoint + "/{account}" }

// Start installs (when needed) and starts Azurite, and stops it when the test
// ends. Missing prerequisites skip the test, or fail it when CI=true.
func Start(t testing.TB) *Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	inst, err := Launch(ctx, t.TempDir())
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(inst.Stop)
	return inst
}

// Unavailable reports err the way the house wants for a missing part: a
// loud skip on a developer's machine, a failure in CI.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("azurite: %v", err)
	}
	need.Missing(t, "%v (install Node.js and npm to run the azureml tests against Azurite)", err)
}

// CacheDir is where Azurite is installed (shared.CacheDir).
func CacheDir() string { return shared.CacheDir() }

// Install makes sure Azurite is installed in the cache and returns the path of
// its blob service entry point. Concurrent test processes share one install.
func Install(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("%w: node not found on PATH", ErrUnavailable)
	}
	sum := sha256.Sum256(append(append([]byte{}, packageJSON...), packageLock...))
	dir := filepath.Join(CacheDir(), "azurite-"+hex.EncodeToString(sum[:6]))
	mainJS := filepath.Join(dir, "node_modules", "azurite", "dist", "src", "blob", "main.js")
	marker := filepath.Join(dir, ".installed")
	if fileExists(marker) && fileExists(mainJS) {
		return mainJS, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("%w: npm not found on PATH (needed once to install Azurite into %s)", ErrUnavailable, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	lk := flock.New(dir + ".lock")
	ok, err := lk.TryLockContext(ctx, 200*time.Millisecond)
	if err != nil || !ok {
		return "", fmt.Errorf("%w: waiting for another Azurite install in %s: %v", ErrUnavailable, dir, err) //nolint:errorlint // err may be nil here (not ok), which %w cannot print
	}
	defer func() { _ = lk.Unlock() }()
	if fileExists(marker) && fileExists(mainJS) {
		return mainJS, nil // another process installed it while we waited
	}
	for name, data := range map[string][]byte{"package.json": packageJSON, "package-lock.json": packageLock} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	// --ignore-scripts: Azurite needs no install hook, and none of its
	// dependencies should run code on the test machine.
	cmd := exec.CommandContext(ctx, npm, "ci", "--prefix", dir, "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: `npm ci --prefix %s` failed: %w\n%s", ErrUnavailable, dir, err, tail(out.String(), 2000))
	}
	if !fileExists(mainJS) {
		return "", fmt.Errorf("%w: npm ci finished but %s is missing", ErrUnavailable, mainJS)
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return mainJS, nil
}

// Launch installs and starts an instance with its data under dataDir. The
// caller stops it with Stop.
func Launch(ctx context.Context, dataDir string) (*Instance, error) {
	mainJS, err := Install(ctx)
	if err != nil {
		return nil, err
	}
	var keyBytes [32]byte
	if _, err := rand.Read(keyBytes[:]); err != nil {
		return nil, err
	}
	key := base64.StdEncoding.EncodeToString(keyBytes[:])
	var lastErr error
	// A free port found by listening can be taken before node binds it; a
	// few tries make that race harmless.
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		inst, err := launchOn(ctx, mainJS, dataDir, port, key, attempt)
		if err == nil {
			return inst, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launchOn(ctx context.Context, mainJS, dataDir string, port int, key string, attempt int) (*Instance, error) {
	loc := filepath.Join(dataDir, "azurite-"+strconv.Itoa(attempt))
	if err := os.MkdirAll(loc, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dataDir, "azurite-"+strconv.Itoa(attempt)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// --silent keeps the access log (one line per request) off: it slows the
	// upload benchmark and nobody reads it.
	cmd := exec.Command("node", mainJS, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent", "--location", loc)
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+Account+":"+key)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary die without running cleanups, the kernel ends
	// Azurite too (where the platform offers that).
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting node: %w", ErrUnavailable, err)
	}
	inst := &Instance{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), Account: Account, Key: key,
		PID: cmd.Process.Pid, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() { _ = cmd.Wait(); close(inst.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-inst.done:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("azurite exited before listening on port %d:\n%s", port, tail(string(log), 2000))
		case <-ctx.Done():
			inst.Stop()
			return nil, ctx.Err()
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			_ = c.Close() // a probe: it connected
			return inst, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	inst.Stop()
	return nil, fmt.Errorf("azurite did not listen on port %d within 60 s", port)
}

// Stop ends the instance: SIGTERM, then SIGKILL after 5 s. Safe to call twice.
func (i *Instance) Stop() {
	i.stopOnce.Do(func() {
		if i.cmd == nil || i.cmd.Process == nil {
			return
		}
		_ = i.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-i.done:
		case <-time.After(5 * time.Second):
			_ = i.cmd.Process.Kill()
			<-i.done
		}
	})
}

// Log returns what Azurite printed (for failure messages).
func (i *Instance) Log() string {
	b, _ := os.ReadFile(i.logPath)
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }() // frees the port for Azurite
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
