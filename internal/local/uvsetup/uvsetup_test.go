package uvsetup_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/local/pyenv"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/local/uvsetup"
	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/pyindex"
	"github.com/pfz-cli/pfz/internal/testutil/silent"
	"github.com/pfz-cli/pfz/internal/testutil/uvtool"
)

// pipEnv keeps pip to the test's index: no user or machine configuration,
// no cache.
func pipEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PIP_CONFIG_FILE=" + os.DevNull,
		"PIP_NO_CACHE_DIR=1", "PIP_ROOT_USER_ACTION=ignore"}
}

// syncBuffer is a bytes.Buffer safe for the heartbeat goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func fileRequests(idx *pyindex.Server) int {
	n := 0
	for _, r := range idx.Requests() {
		if strings.HasPrefix(r.Path, "/files/") {
			n++
		}
	}
	return n
}

// The real wheel installs (pip checks its hash, pfz its version) and is
// used from then on; a wheel that is not uv's published one, an index
// without uv (no wheel for the platform), no network, or a Python without
// pip leave no uv, say why, and are not retried for an hour.
func TestInstall(t *testing.T) {
	py := need.Command(t, "python3", "the test runs pip and uv")
	wheel, data := uvtool.Wheel(t)
	noPip := filepath.Join(t.TempDir(), "nopip")
	if out, err := exec.Command(py, "-m", "venv", "--without-pip", noPip).CombinedOutput(); err != nil {
		t.Fatalf("venv --without-pip: %v\n%s", err, out)
	}
	for name, tc := range map[string]struct {
		index  func() *pyindex.Server // nil: a closed port
		python string
		ok     bool
		why    string
	}{
		"uv's wheel": {index: func() *pyindex.Server {
			return pyindex.Start(t, pyindex.Options{Files: map[string][]byte{wheel: data}})
		}, ok: true},
		"another wheel named uv 0.9.30": {index: func() *pyindex.Server {
			return pyindex.Start(t, pyindex.Options{}, pyindex.Dist{Name: "uv", Version: uvsetup.Version})
		}, why: "hash"},
		"no uv for this platform": {index: func() *pyindex.Server {
			return pyindex.Start(t, pyindex.Options{}, pyindex.Dist{Name: "other", Version: "1.0"})
		}, why: "Could not find a version that satisfies"},
		"no network":           {why: "uv==" + uvsetup.Version},
		"a Python without pip": {python: pyenv.VenvPython(noPip), why: "No module named pip"},
	} {
		t.Run(name, func(t *testing.T) {
			url := "http://127.0.0.1:9/simple/"
			var idx *pyindex.Server
			if tc.index != nil {
				idx = tc.index()
				url = idx.URL()
			}
			python := py
			if tc.python != "" {
				python = tc.python
			}
			var stderr syncBuffer
			c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			in := &uvsetup.Installer{Home: t.TempDir(), Env: pipEnv(t), IndexURL: url, Stderr: &stderr, Now: c.Now}
			ctx := context.Background()
			bin, err := in.Ensure(ctx, python)
			if !strings.Contains(stderr.String(), "pfz: installing uv "+uvsetup.Version+" (one time") {
				t.Errorf("the install was not announced:\n%s", stderr.String())
			}
			leftovers, _ := filepath.Glob(filepath.Join(in.Home, "tools", ".uv-*"))
			if len(leftovers) > 0 {
				t.Errorf("staging folders left: %v", leftovers)
			}
			if tc.ok {
				if err != nil || bin != in.Bin() {
					t.Fatalf("Ensure = %q, %v\n%s", bin, err, stderr.String())
				}
				out, err := exec.Command(bin, "--version").Output()
				if err != nil || !strings.HasPrefix(string(out), "uv "+uvsetup.Version) {
					t.Errorf("%s --version: %q %v", bin, out, err)
				}
				if !strings.Contains(stderr.String(), "installed in") {
					t.Errorf("the end of the install was not said:\n%s", stderr.String())
				}
				n := fileRequests(idx)
				stderr2 := &syncBuffer{}
				in2 := *in
				in2.Stderr = stderr2
				if again, err := in2.Ensure(ctx, python); err != nil || again != bin || fileRequests(idx) != n || stderr2.String() != "" {
					t.Errorf("second Ensure: %q %v, %d downloads (was %d), said %q", again, err, fileRequests(idx), n, stderr2.String())
				}
				return
			}
			var ue *uvsetup.Error
			if !errors.As(err, &ue) || ue.Earlier || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("Ensure: %q %v; want a failure saying %q\n%s", bin, err, tc.why, stderr.String())
			}
			if _, err := os.Stat(in.Dir()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed install left %s: %v", in.Dir(), err)
			}
			// Within the hour pfz does not try again (and does not ask the index).
			before := 0
			if idx != nil {
				before = len(idx.Requests())
			}
			c.Add(uvsetup.RetryAfter - time.Minute)
			_, err = in.Ensure(ctx, python)
			if !errors.As(err, &ue) || !ue.Earlier || !strings.Contains(err.Error(), "tries again after") {
				t.Errorf("within the hour: %v", err)
			}
			if idx != nil && len(idx.Requests()) != before {
				t.Errorf("within the hour the index was asked again")
			}
			c.Add(2 * time.Minute)
			if _, err = in.Ensure(ctx, python); !errors.As(err, &ue) || ue.Earlier {
				t.Errorf("after the hour: %v (want a new attempt)", err)
			}
		})
	}
}

// Two pfz processes needing uv at once: one installs, the other waits and
// uses the same uv; the wheel is downloaded once.
func TestConcurrentInstall(t *testing.T) {
	py := need.Command(t, "python3", "the test runs pip and uv")
	wheel, data := uvtool.Wheel(t)
	idx := pyindex.Start(t, pyindex.Options{Files: map[string][]byte{wheel: data}})
	home := t.TempDir()
	env := pipEnv(t)
	var wg sync.WaitGroup
	bins := make([]string, 2)
	errs := make([]error, 2)
	outs := make([]*syncBuffer, 2)
	for i := range 2 {
		outs[i] = &syncBuffer{}
		in := &uvsetup.Installer{Home: home, Env: env, IndexURL: idx.URL(), Stderr: outs[i]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			bins[i], errs[i] = in.Ensure(context.Background(), py)
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || bins[i] == "" || bins[i] != bins[0] {
			t.Fatalf("Ensure %d: %q %v\n%s", i, bins[i], errs[i], outs[i].String())
		}
	}
	if n := fileRequests(idx); n != 1 {
		t.Errorf("the wheel was downloaded %d times, want 1", n)
	}
}

// hangingIndex accepts connections and never answers: pip waits on it.
func hangingIndex(t *testing.T) string {
	return "http://" + silent.Listen(t) + "/simple/"
}

// An install interrupted while pip runs leaves no uv and no failure record
// (the next pfz tries at once); what a killed install leaves (a staging
// folder, even one holding a uv) and a damaged uv in place are never used:
// the next install replaces them.
func TestInterruptedAndKilledInstalls(t *testing.T) {
	py := need.Command(t, "python3", "the test runs pip and uv")
	home := t.TempDir()
	env := pipEnv(t)
	in := &uvsetup.Installer{Home: home, Env: env, IndexURL: hangingIndex(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := in.Ensure(ctx, py)
		done <- err
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(home, "tools", ".uv-*", "requirements.txt")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pip never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // pip is waiting on the index
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted install: %v", err)
	}
	if _, err := os.Stat(in.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted install left %s", in.Dir())
	}
	if _, err := os.Stat(filepath.Join(home, "tools", "uv-"+uvsetup.Version+".failed.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interruption was recorded as a failure: %v", err)
	}

	// A killed install's staging folder (with a uv in it) and a damaged uv
	// in place: neither is used, the real one replaces them.
	fakeUV := "#!/bin/sh\necho 'uv 0.0.1'\n"
	for _, dir := range []string{filepath.Join(home, "tools", ".uv-"+uvsetup.Version+".staging-123"), in.Dir()} {
		if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bin", "uv"), []byte(fakeUV), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wheel, data := uvtool.Wheel(t)
	idx := pyindex.Start(t, pyindex.Options{Files: map[string][]byte{wheel: data}})
	in.IndexURL = idx.URL()
	bin, err := in.Ensure(context.Background(), py)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "uv "+uvsetup.Version) {
		t.Errorf("%s --version: %q %v", bin, out, err)
	}
	if m, _ := filepath.Glob(filepath.Join(home, "tools", ".uv-*")); len(m) > 0 {
		t.Errorf("staging folders left: %v", m)
	}
}

// The resolver's choice: PFZ_UV=off is venv and pip, silently; PFZ_UV=path
// and uv on PATH are used as they are; otherwise pfz's own uv, and when it
// cannot be installed venv and pip, said once.
func TestResolver(t *testing.T) {
	py := need.Command(t, "python3", "the test runs pip and uv")
	noUV := func(string) (string, error) { return "", exec.ErrNotFound }
	onPath := func(string) (string, error) { return "/opt/bin/uv", nil }
	for name, tc := range map[string]struct {
		pfzUV  string
		look   func(string) (string, error)
		want   string
		stderr string
	}{
		"off":                         {pfzUV: "off", look: onPath},
		"OFF, spaced":                 {pfzUV: " OFF ", look: onPath},
		"a path":                      {pfzUV: "/my/uv", look: onPath, want: "/my/uv"},
		"uv on PATH":                  {look: onPath, want: "/opt/bin/uv"},
		"auto, uv on PATH":            {pfzUV: "auto", look: onPath, want: "/opt/bin/uv"},
		"none, and no network for it": {look: noUV, stderr: "pfz: creating environments with venv and pip (slower): uv " + uvsetup.Version + " could not be installed"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr syncBuffer
			r := &uvsetup.Resolver{
				Getenv:    func(k string) string { return map[string]string{"PFZ_UV": tc.pfzUV}[k] },
				LookPath:  tc.look,
				Installer: &uvsetup.Installer{Home: t.TempDir(), Env: pipEnv(t), IndexURL: "http://127.0.0.1:9/simple/", Stderr: &stderr},
				Stderr:    &stderr,
			}
			for range 2 {
				if got := r.UV(context.Background(), py); got != tc.want {
					t.Errorf("UV = %q, want %q", got, tc.want)
				}
			}
			got := stderr.String()
			if tc.stderr == "" && got != "" || tc.stderr != "" && (!strings.Contains(got, tc.stderr) || strings.Count(got, "venv and pip") != 1) {
				t.Errorf("stderr %q, want once %q", got, tc.stderr)
			}
		})
	}
}

// End to end: a Runner that finds no uv installs pfz's own and creates the
// environment with it; with PFZ_UV=off it uses venv, and says nothing.
func TestRunnerUsesTheInstalledUV(t *testing.T) {
	py := need.Command(t, "python3", "the test runs pip and uv")
	wheel, data := uvtool.Wheel(t)
	idx := pyindex.Start(t, pyindex.Options{Files: map[string][]byte{wheel: data}})
	var stderr syncBuffer
	in := &uvsetup.Installer{Home: t.TempDir(), Env: pipEnv(t), IndexURL: idx.URL(), Stderr: &stderr}
	r := &uvsetup.Resolver{Getenv: func(string) string { return "" },
		LookPath: func(string) (string, error) { return "", exec.ErrNotFound }, Installer: in, Stderr: &stderr}
	env := append(pipEnv(t), "UV_CACHE_DIR="+t.TempDir())
	run := &pyenv.Runner{Python: py, Env: env, ProvideUV: r.UV}
	var log bytes.Buffer
	info, err := run.Create(context.Background(), filepath.Join(t.TempDir(), "env"), &log)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, log.String(), stderr.String())
	}
	if !strings.Contains(log.String(), "creating the environment with "+in.Bin()) {
		t.Errorf("the installed uv did not create the environment:\n%s", log.String())
	}
	if !strings.Contains(stderr.String(), "installing uv") {
		t.Errorf("stderr %q", stderr.String())
	}
	if b := run.Builder(context.Background(), false); !strings.HasPrefix(b, "uv "+uvsetup.Version) {
		t.Errorf("Builder = %q", b)
	}
	if _, err := os.Stat(info.Python); err != nil {
		t.Error(err)
	}
}

// putUV writes a script standing for the installed uv.
func putUV(t *testing.T, in *uvsetup.Installer, script string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(in.Bin()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.Bin(), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// A check of the installed uv that was interrupted, or that uv did not
// answer in time, says nothing against it: the uv stays, no failure is
// recorded, and this one command goes without it.
func TestInconclusiveCheckKeepsTheInstalledUV(t *testing.T) {
	py := need.Command(t, "python3", "the test runs pip")
	for name, tc := range map[string]struct {
		script string
		ctx    func() context.Context
		want   string
	}{
		"interrupted": {script: "#!/bin/sh\necho 'uv " + uvsetup.Version + "'\n", ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, want: "interrupted"},
		"too slow to answer": {script: "#!/bin/sh\nsleep 5\necho 'uv " + uvsetup.Version + "'\n", ctx: context.Background, want: "did not answer --version"},
	} {
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			// An index that is never reached: an install attempt would fail.
			in := &uvsetup.Installer{Home: home, Env: pipEnv(t), IndexURL: "http://127.0.0.1:9/simple", VerifyTimeout: 300 * time.Millisecond}
			putUV(t, in, tc.script)
			_, err := in.Ensure(tc.ctx(), py)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Ensure: %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(in.Bin()); err != nil {
				t.Errorf("the installed uv was removed: %v", err)
			}
			if _, err := os.Stat(filepath.Join(home, "tools", "uv-"+uvsetup.Version+".failed.json")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("an inconclusive check was recorded as a failed install: %v", err)
			}
		})
	}
}

// A pfz waiting for another pfz's install of uv says so, keeps saying so,
// and gives up after LockWait instead of waiting without end.
func TestWaitForAnotherInstallIsBounded(t *testing.T) {
	py := need.Command(t, "python3", "the test runs pip")
	home := t.TempDir()
	st, err := store.New(home)
	if err != nil {
		t.Fatal(err)
	}
	lk, ok, err := st.TryLock(store.Kind("tools"), "uv-"+uvsetup.Version)
	if err != nil || !ok {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	defer lk.Unlock()
	var stderr syncBuffer
	in := &uvsetup.Installer{Home: home, Env: pipEnv(t), IndexURL: "http://127.0.0.1:9/simple", Stderr: &stderr, LockWait: 500 * time.Millisecond}
	_, err = in.Ensure(context.Background(), py)
	if err == nil || !strings.Contains(err.Error(), "longer than pfz waits") {
		t.Fatalf("Ensure: %v, want the bounded wait's error", err)
	}
	if !strings.Contains(stderr.String(), "waiting for another pfz process") {
		t.Errorf("the wait was silent: %q", stderr.String())
	}
}
