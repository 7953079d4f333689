// Package uvsetup provides the uv that local sessions create environments
// and install requirements with: PFZ_UV, else uv on PATH, else a pinned uv
// that pfz installs for itself, once, into PFZ_HOME/tools/uv-<Version>. The
// install runs the base interpreter's pip (so pip's index, proxy and
// certificate settings apply), accepts only uv's published wheels (pip
// --require-hashes with their sha256), checks `uv --version`, and renames a
// finished staging folder into place under a lock: a second pfz waits for
// the first, and one killed mid-install leaves only a staging folder that
// is never used. When uv cannot be had, venv and pip are used and pfz says
// so once on stderr; a failed install is not retried for an hour.
package uvsetup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/local/store"
)

// Version is the uv pfz installs (and docs/benchmarks.md measured).
const Version = "0.9.30"

// wheelHashes are the sha256 of every wheel of uv Version on PyPI (one per
// platform); pip refuses any other file, so a mirror or a proxy cannot hand
// pfz another program. The sdist is not listed: pfz never builds uv.
var wheelHashes = []string{
	"a5467dddae1cd5f4e093f433c0f0d9a0df679b92696273485ec91bbb5a8620e6", // linux_armv6l
	"6ec38ae29aa83a37c6e50331707eac8ecc90cf2b356d60ea6382a94de14973be", // macosx_10_12_x86_64
	"777ecd117cf1d8d6bb07de8c9b7f6c5f3e802415b926cf059d3423699732eb8c", // macosx_11_0_arm64
	"93049ba3c41fa2cc38b467cb78ef61b2ddedca34b6be924a5481d7750c8111c6", // manylinux_2_17_aarch64 musllinux_1_1_aarch64
	"f295604fee71224ebe2685a0f1f4ff7a45c77211a60bd57133a4a02056d7c775", // manylinux_2_17_armv7l musllinux_1_1_armv7l
	"2faf84e1f3b6fc347a34c07f1291d11acf000b0dd537a61d541020f22b17ccd9", // manylinux_2_17_armv7l
	"0b3b3700ecf64a09a07fd04d10ec35f0973ec15595d38bbafaa0318252f7e31f", // manylinux_2_17_i686
	"b176fc2937937dd81820445cb7e7e2e3cd1009a003c512f55fa0ae10064c8a38", // manylinux_2_17_ppc64
	"180e8070b8c438b9a3fb3fde8a37b365f85c3c06e17090f555dc68fdebd73333", // manylinux_2_17_ppc64le
	"4125a9aa2a751e1589728f6365cfe204d1be41499148ead44b6180b7df576f27", // manylinux_2_17_s390x
	"4366dd740ac9ad3ec50a58868a955b032493bb7d7e6ed368289e6ced8bbc70f3", // manylinux_2_17_x86_64
	"33e50f208e01a0c20b3c5f87d453356a5cbcfd68f19e47a28b274cd45618881c", // manylinux_2_28_aarch64
	"5e7a6fa7a3549ce893cf91fe4b06629e3e594fc1dca0a6050aba2ea08722e964", // manylinux_2_31_riscv64
	"62d7e408d41e392b55ffa4cf9b07f7bbd8b04e0929258a42e19716c221ac0590", // musllinux_1_1_i686
	"6dc65c24f5b9cdc78300fa6631368d3106e260bbffa66fb1e831a318374da2df", // musllinux_1_1_x86_64
	"74e94c65d578657db94a753d41763d0364e5468ec0d368fb9ac8ddab0fb6e21f", // win32
	"88a2190810684830a1ba4bb1cf8fb06b0308988a1589559404259d295260891c", // win_amd64
	"7fde83a5b5ea027315223c33c30a1ab2f2186910b933d091a1b7652da879e230", // win_arm64
}

// toolsKind is the store folder of the tools pfz installs for itself.
const toolsKind store.Kind = "tools"

// name is the folder (and lock) of the installed uv under tools/.
const name = "uv-" + Version

// RetryAfter is how long pfz uses venv and pip after a failed install of uv
// before it tries again.
const RetryAfter = time.Hour

// heartbeat is how often a running install says it is still at work.
const heartbeat = 10 * time.Second

// Installer installs uv Version under PFZ_HOME. The zero value is not
// usable: Home is required.
type Installer struct {
	// Home is PFZ_HOME.
	Home string
	// Env is the environment of pip; nil inherits pfz's.
	Env []string
	// IndexURL, when set, is pip's --index-url (tests: a 127.0.0.1 index).
	IndexURL string
	// Stderr receives what the install is doing; nil discards it.
	Stderr io.Writer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// VerifyTimeout bounds `uv --version`; 0 is 30 s.
	VerifyTimeout time.Duration
	// LockWait bounds the wait for another pfz that is installing uv;
	// 0 is DefaultLockWait. After it, this pfz uses venv and pip.
	LockWait time.Duration
}

// DefaultLockWait is how long pfz waits for another pfz's install of uv.
const DefaultLockWait = 5 * time.Minute

// Dir is the folder the installed uv lives in.
func (in *Installer) Dir() string { return filepath.Join(in.Home, string(toolsKind), name) }

// Bin is the installed uv executable.
func (in *Installer) Bin() string { return binIn(in.Dir()) }

func binIn(dir string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(dir, "bin", "uv.exe")
	}
	return filepath.Join(dir, "bin", "uv")
}

func (in *Installer) failedRecord() string {
	return filepath.Join(in.Home, string(toolsKind), name+".failed.json")
}

// failure is tools/uv-<Version>.failed.json: when and why the last install
// failed.
type failure struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Error is a failed (or recently failed) install.
type Error struct {
	Reason string
	// At is when the install failed; Retry when pfz tries again.
	At, Retry time.Time
	// Earlier is true when this process did not try: an install failed
	// less than RetryAfter ago.
	Earlier bool
}

func (e *Error) Error() string {
	if e.Earlier {
		return fmt.Sprintf("uv %s could not be installed at %s (%s); pfz tries again after %s",
			Version, e.At.Format("15:04 MST"), e.Reason, e.Retry.Format("15:04 MST"))
	}
	return fmt.Sprintf("uv %s could not be installed: %s", Version, e.Reason)
}

func (in *Installer) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

func (in *Installer) say(format string, args ...any) {
	if in.Stderr != nil {
		fmt.Fprintf(in.Stderr, "pfz: "+format+"\n", args...)
	}
}

// Ensure returns the installed uv, installing it first with python's pip
// when there is none. It fails without trying when an install failed less
// than RetryAfter ago (an *Error with Earlier set).
//
// An installed uv is replaced only when it is shown to be damaged (missing,
// another version, failing): a check that was interrupted or that uv did
// not answer in time (a loaded machine) leaves it in place and returns the
// error, so this command uses venv and pip and the next one uses uv again.
func (in *Installer) Ensure(ctx context.Context, python string) (string, error) {
	if err := in.verify(ctx, in.Bin()); err == nil {
		return in.Bin(), nil
	} else if inconclusive(ctx, err) {
		return "", err
	}
	if err := in.recentFailure(); err != nil {
		return "", err
	}
	st, err := store.New(in.Home)
	if err != nil {
		return "", err
	}
	lk, err := in.lock(ctx, st)
	if err != nil {
		return "", err
	}
	defer lk.Unlock()
	// The other process may have finished (or failed) meanwhile.
	if err := in.verify(ctx, in.Bin()); err == nil {
		return in.Bin(), nil
	} else if inconclusive(ctx, err) {
		return "", err
	}
	if err := in.recentFailure(); err != nil {
		return "", err
	}
	return in.install(ctx, st, python)
}

// lock takes the install lock, waiting at most LockWait for another pfz
// that holds it and saying every heartbeat that it still waits.
func (in *Installer) lock(ctx context.Context, st *store.Store) (*store.Lock, error) {
	lk, ok, err := st.TryLock(toolsKind, name)
	if err != nil || ok {
		return lk, err
	}
	wait := in.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	in.say("waiting for another pfz process that is installing uv %s into %s", Version, in.Dir())
	start := time.Now()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	said := start
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another pfz's install of uv %s was interrupted: %w", Version, ctx.Err())
		case now := <-poll.C:
			if lk, ok, err = st.TryLock(toolsKind, name); err != nil || ok {
				return lk, err
			}
			waited := now.Sub(start)
			if waited >= wait {
				return nil, fmt.Errorf("another pfz process has been installing uv %s for %s, longer than pfz waits (%s)", Version, waited.Round(time.Second), wait)
			}
			if now.Sub(said) >= heartbeat {
				in.say("still waiting for another pfz process to install uv %s (%s)", Version, waited.Round(time.Second))
				said = now
			}
		}
	}
}

// inconclusive reports whether a failed verify says nothing about the
// installed uv: the command was interrupted, or uv did not answer in time.
func inconclusive(ctx context.Context, err error) bool {
	var slow *slowError
	return ctx.Err() != nil || errors.As(err, &slow)
}

// slowError is a uv that did not answer --version in time.
type slowError struct {
	bin     string
	timeout time.Duration
}

func (e *slowError) Error() string {
	return fmt.Sprintf("%s did not answer --version within %s (a busy machine?); venv and pip are used this time", e.bin, e.timeout)
}

func (in *Installer) recentFailure() error {
	var f failure
	if err := store.ReadJSON(in.failedRecord(), &f); err != nil {
		return nil //nolint:nilerr // no readable record of a failure: none to wait out
	}
	retry := f.At.Add(RetryAfter)
	if in.now().Before(retry) {
		return &Error{Reason: f.Reason, At: f.At, Retry: retry, Earlier: true}
	}
	return nil
}

// install runs pip into a staging folder, checks the uv there and renames
// the folder into place. The caller holds the lock.
func (in *Installer) install(ctx context.Context, st *store.Store, python string) (string, error) {
	tools := filepath.Join(in.Home, string(toolsKind))
	if err := store.EnsureDir(tools); err != nil {
		return "", err
	}
	// Under the lock nobody else installs: staging folders are what killed
	// installs left, and a final folder that failed verify is damaged.
	if ents, err := os.ReadDir(tools); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "."+name+".staging-") {
				_ = st.Discard(filepath.Join(tools, e.Name()))
			}
		}
	}
	if err := st.Discard(in.Dir()); err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp(tools, "."+name+".staging-")
	if err != nil {
		return "", fmt.Errorf("cannot create a staging folder in %s: %w", tools, err)
	}
	defer func() { _ = st.Discard(stage) }()

	from := "pip's configured index"
	if in.IndexURL != "" {
		from = in.IndexURL
	}
	in.say("installing uv %s (one time, a download of about 22 MB from %s) into %s: it creates session environments in seconds instead of venv+pip's tens of seconds; PFZ_UV=off skips it", Version, from, in.Dir())
	start := in.now()
	err = in.pip(ctx, python, stage)
	if err == nil {
		err = in.verify(ctx, binIn(stage))
	}
	if err == nil {
		err = os.Rename(stage, in.Dir())
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("installing uv %s was interrupted: %w", Version, ctx.Err())
		}
		if inconclusive(ctx, err) { // a slow machine is not a failed install
			return "", err
		}
		f := failure{At: in.now(), Reason: err.Error()}
		if werr := store.WriteJSON(in.failedRecord(), f, 0o600); werr != nil {
			in.say("cannot record the failed install (%v); the next pfz tries again", werr)
		}
		return "", &Error{Reason: f.Reason, At: f.At, Retry: f.At.Add(RetryAfter)}
	}
	_ = os.Remove(in.failedRecord())
	in.say("uv %s installed in %.1fs; new session environments use it", Version, in.now().Sub(start).Seconds())
	return in.Bin(), nil
}

// pip installs uv's wheel for this platform into dir: --target puts the
// executable in dir/bin; --require-hashes accepts only uv's own wheels.
func (in *Installer) pip(ctx context.Context, python, dir string) error {
	req := filepath.Join(dir, "requirements.txt")
	line := "uv==" + Version
	for _, h := range wheelHashes {
		line += " --hash=sha256:" + h
	}
	if err := os.WriteFile(req, []byte(line+"\n"), 0o600); err != nil {
		return err
	}
	args := []string{"-m", "pip", "install", "--target", dir, "--only-binary=:all:", "--no-deps", "--require-hashes",
		"--no-input", "--disable-pip-version-check", "--progress-bar", "off", "--retries", "1", "--timeout", "20"}
	if in.IndexURL != "" {
		args = append(args, "--index-url", in.IndexURL)
	}
	args = append(args, "-r", req)
	cmd := exec.CommandContext(ctx, python, args...)
	if in.Env != nil {
		cmd.Env = in.Env
	}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				in.say("still installing uv %s (%ds)", Version, int(time.Since(start).Seconds()))
			}
		}
	}()
	err := cmd.Run()
	close(done)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("%s -m pip install uv==%s: %w: %s", python, Version, err, pipReason(out.String()))
	}
	return os.Remove(req)
}

// pipReason is the line of pip's output that says why it failed.
func pipReason(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "ERROR:") || strings.Contains(l, "No module named pip") {
			return strings.TrimSpace(l)
		}
	}
	if len(lines) > 0 && lines[len(lines)-1] != "" {
		return strings.TrimSpace(lines[len(lines)-1])
	}
	return "no output"
}

// verify checks that bin runs and is uv Version.
// defaultVerifyTimeout bounds uv --version.
const defaultVerifyTimeout = 30 * time.Second

func (in *Installer) verify(ctx context.Context, bin string) error {
	timeout := in.VerifyTimeout
	if timeout <= 0 {
		timeout = defaultVerifyTimeout
	}
	return verify(ctx, bin, timeout)
}

func verify(ctx context.Context, bin string, timeout time.Duration) error {
	if _, err := os.Stat(bin); err != nil {
		return err
	}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(vctx, bin, "--version")
	cmd.WaitDelay = time.Second // a child holding the pipe must not extend the bound
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("checking %s was interrupted: %w", bin, ctx.Err())
		}
		if vctx.Err() != nil {
			return &slowError{bin: bin, timeout: timeout}
		}
		return fmt.Errorf("%s --version: %w", bin, err)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "uv "+Version) {
		return fmt.Errorf("%s is %q, not uv %s", bin, got, Version)
	}
	return nil
}

// Resolver picks the uv for one pfz process (the choice is made once) and
// says on stderr, once, when venv and pip are used instead and the user did
// not ask for that.
type Resolver struct {
	// Getenv reads PFZ_UV; LookPath finds uv on PATH (exec.LookPath when nil).
	Getenv   func(string) string
	LookPath func(string) (string, error)
	// Installer installs uv when neither PFZ_UV nor PATH has one; nil
	// means venv and pip.
	Installer *Installer
	// Stderr receives the fallback note.
	Stderr io.Writer

	mu     sync.Mutex
	done   bool
	path   string
	reason string
}

// Off reports whether v, a PFZ_UV value, turns uv off.
func Off(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "off", "0", "false", "no":
		return true
	}
	return false
}

// UV returns the uv executable to use, or "" for venv and pip. python is
// the base interpreter, whose pip installs uv when needed.
func (r *Resolver) UV(ctx context.Context, python string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return r.path
	}
	path, reason := r.resolve(ctx, python)
	if ctx.Err() != nil && path == "" {
		return "" // interrupted: the next call tries again
	}
	r.done, r.path, r.reason = true, path, reason
	if reason != "" && r.Stderr != nil {
		fmt.Fprintf(r.Stderr, "pfz: creating environments with venv and pip (slower): %s; PFZ_UV=/path/to/uv uses another uv, PFZ_UV=off silences this\n", reason)
	}
	return path
}

// resolve returns the uv and, when there is none though uv was not turned
// off, why.
func (r *Resolver) resolve(ctx context.Context, python string) (path, reason string) {
	v := ""
	if r.Getenv != nil {
		v = strings.TrimSpace(r.Getenv("PFZ_UV"))
	}
	switch {
	case Off(v):
		return "", ""
	case v != "" && v != "auto":
		return v, ""
	}
	look := r.LookPath
	if look == nil {
		look = exec.LookPath
	}
	if p, err := look("uv"); err == nil {
		return p, ""
	}
	if r.Installer == nil {
		return "", ""
	}
	p, err := r.Installer.Ensure(ctx, python)
	if err != nil {
		var ue *Error
		if errors.As(err, &ue) {
			return "", ue.Error()
		}
		return "", err.Error()
	}
	return p, ""
}
