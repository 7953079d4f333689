package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/pyindex"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// realPython finds python3 with a working venv module; missing, the test
// is skipped loudly (CI=true: it fails, because CI has Python).
func realPython(t *testing.T) string {
	t.Helper()
	fail := func(msg string) { need.Missing(t, "%s", msg) }
	py, err := exec.LookPath("python3")
	if err != nil {
		fail("python3 is not on PATH: the real session tests need it")
	}
	if out, err := exec.Command(py, "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
		fail("python3 has no working venv/ensurepip: " + string(out))
	}
	return py
}

// isolatedEnv is the environment of the test's Python processes: the
// machine's pip settings (find-links, config files, indexes) could reach
// other sources, so they are dropped.
func isolatedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIP_") || strings.HasPrefix(k, "PYTHON") || k == "VIRTUAL_ENV" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PIP_CONFIG_FILE="+os.DevNull, "PIP_NO_INPUT=1")
}

// TestRealSession builds one real environment and takes it through start,
// packages, install (public and token-protected index), a failing install
// and stop. It is the only test that creates a virtual environment, as each
// takes seconds.
func TestRealSession(t *testing.T) {
	py := realPython(t)
	const token = "pfz-test-feed-token-7f3a"
	pub := pyindex.Start(t, pyindex.Options{},
		pyindex.Dist{Name: "pfz-a", Version: "1.0", Requires: []string{"pfz-dep>=0.3"}},
		pyindex.Dist{Name: "pfz-dep", Version: "0.3"},
		pyindex.Dist{Name: "pfz-b", Version: "1.0"},
		pyindex.Dist{Name: "pfz-b", Version: "2.0"})
	priv := pyindex.Start(t, pyindex.Options{Token: token}, pyindex.Dist{Name: "pfz-secret", Version: "1.0"})

	home := t.TempDir()
	var debug bytes.Buffer
	s, err := NewSessions(Options{
		Home: home, Python: py, PipIndexURL: pub.URL(), PipNoCache: true, Env: isolatedEnv(), Debug: &debug,
		PrivateToken: func(ctx context.Context, id workspace.Identity) (string, error) { return token, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	flow := t.TempDir()
	reqFile := filepath.Join(flow, "requirements.txt")
	if err := os.WriteFile(reqFile, []byte("pfz-a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	spec := workspace.SessionSpec{ID: testID, FlowDir: flow, UserAlias: "alice", RequirementsFile: reqFile, Requirements: []string{"pfz-a"}}
	t0 := time.Now()
	got, err := s.Start(ctx, spec, workspace.StartOptions{})
	if err != nil {
		t.Fatalf("start: %v\nhint: %s\n%s", err, fault.HintOf(err), debug.String())
	}
	t.Logf("start took %s", time.Since(t0))
	if got.Status != workspace.SessionRunning || !regexp.MustCompile(`^3\.\d+\.\d+$`).MatchString(got.PythonVersion) {
		t.Fatalf("session %+v", got)
	}

	python, _, _, err := s.Python(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", "import pfz_a, pfz_dep; print(pfz_a.__version__)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1.0" {
		t.Fatalf("the session's python cannot import its requirements: %v %s", err, out)
	}

	// A second flow with the same requirements gets a copy of the cached
	// environment: its python imports the requirements and its console
	// scripts run from its own folder.
	flow2 := t.TempDir()
	spec2 := workspace.SessionSpec{ID: testID2, FlowDir: flow2, UserAlias: "alice", Requirements: []string{"pfz-a"}}
	t0 = time.Now()
	if _, err := s.Start(ctx, spec2, workspace.StartOptions{}); err != nil {
		t.Fatalf("second start: %v\n%s", err, debug.String())
	}
	t.Logf("second session start (a copy of the cached environment) took %s", time.Since(t0))
	python2, _, _, err := s.Python(ctx, testID2)
	if err != nil || !strings.HasPrefix(python2, s.st.SessionDir(testID2)) {
		t.Fatalf("second session python %s: %v", python2, err)
	}
	if out, err := exec.Command(python2, "-c", "import pfz_a, pfz_dep, sys; print(sys.prefix)").CombinedOutput(); err != nil ||
		!strings.HasPrefix(strings.TrimSpace(string(out)), s.st.SessionDir(testID2)) {
		t.Fatalf("the copied environment: %v %s", err, out)
	}
	if out, err := exec.Command(filepath.Join(filepath.Dir(python2), "pip"), "--version").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), s.st.SessionDir(testID2)) {
		t.Fatalf("the copied environment's pip script: %v %s", err, out)
	}
	if err := s.Stop(ctx, testID2); err != nil {
		t.Fatal(err)
	}

	list, err := s.Packages(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	origins := map[string]string{}
	for _, p := range list.Packages {
		origins[p.Name] = p.Origin + " " + p.Version
	}
	if origins["pip"] == "" || !strings.HasPrefix(origins["pip"], "base ") ||
		origins["pfz-a"] != "requirements 1.0" || origins["pfz-dep"] != "dependency 0.3" {
		t.Errorf("packages %v", origins)
	}
	if list.PythonVersion != got.PythonVersion {
		t.Errorf("python version %s vs %s", list.PythonVersion, got.PythonVersion)
	}

	// Install more, one of them from the token-protected feed. The new
	// requirements give the flow a new session id: the session, environment
	// and all, moves there.
	lines := []string{"pfz-a", "pfz-b==1.0", "--extra-index-url " + priv.URLWithUserinfo("{private}"), "pfz-secret"}
	next := spec
	next.ID, next.Requirements = testID2, lines
	t0 = time.Now()
	if _, err := s.Install(ctx, testID, next, workspace.StartOptions{}); err != nil {
		t.Fatalf("install: %v\nhint: %s\n%s", err, fault.HintOf(err), debug.String())
	}
	t.Logf("install took %s", time.Since(t0))
	if _, err := s.Get(ctx, testID); !fault.Is(err, fault.NotFound) {
		t.Errorf("the old id still answers: %v", err)
	}
	python, _, _, err = s.Python(ctx, testID2)
	if err != nil || !strings.HasPrefix(python, filepath.Join(home, "sessions", testID2)) {
		t.Fatalf("python of the moved session: %s %v", python, err)
	}
	// The moved environment works, console scripts included.
	out, err = exec.Command(python, "-c", "import pfz_a, pfz_b, pfz_secret, sys; print(sys.prefix)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != filepath.Dir(filepath.Dir(python)) {
		t.Fatalf("the moved environment: %v %s", err, out)
	}
	if out, err := exec.Command(filepath.Join(filepath.Dir(python), "pip"), "--version").CombinedOutput(); err != nil {
		t.Errorf("the moved environment's pip script: %v %s", err, out)
	}
	list, _ = s.Packages(ctx, testID2)
	origins = map[string]string{}
	for _, p := range list.Packages {
		origins[p.Name] = p.Origin + " " + p.Version
	}
	if origins["pfz-b"] != "requirements 1.0" || origins["pfz-secret"] != "requirements 1.0" {
		t.Errorf("after install: %v", origins)
	}
	reqs := priv.Requests()
	if len(reqs) == 0 {
		t.Fatal("the private feed was never asked")
	}
	for _, r := range reqs {
		if !r.Authorized {
			t.Errorf("private feed request %s without the token", r.Path)
		}
	}
	if strings.Contains(debug.String(), token) {
		t.Error("the token reached the debug output")
	}
	if !strings.Contains(debug.String(), "Successfully installed") {
		t.Errorf("pip's output did not reach the debug writer:\n%s", debug.String())
	}
	t0 = time.Now()
	assertNoSecretUnder(t, home, token)
	t.Logf("secret scan took %s", time.Since(t0))

	// A requirement nobody has: pip's reason on the error, the log in the hint.
	next.Requirements = []string{"pfz-nothere"}
	_, err = s.Install(ctx, testID2, next, workspace.StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "No matching distribution found for pfz-nothere") {
		t.Fatalf("failing install: %v", err)
	}
	if h := fault.HintOf(err); !strings.Contains(h, filepath.Join(home, "sessions", testID2, "logs")) {
		t.Errorf("hint %q does not name the log", h)
	}

	if err := s.Stop(ctx, testID2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "sessions", testID2)); !errors.Is(err, os.ErrNotExist) {
		t.Error("stop left the environment on disk")
	}
}

func TestMissingPython(t *testing.T) {
	for _, py := range []string{filepath.Join(t.TempDir(), "no-python"), "/bin/false"} {
		s, err := NewSessions(Options{Home: t.TempDir(), Python: py})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Start(context.Background(), testSpec(""), workspace.StartOptions{})
		if err == nil || !strings.Contains(fault.HintOf(err), "PFZ_PYTHON") {
			t.Errorf("%s: got %v (hint %q), want a hint naming PFZ_PYTHON", py, err, fault.HintOf(err))
		}
		if _, err := s.Get(context.Background(), testID); !fault.Is(err, fault.NotFound) && py != "/bin/false" {
			t.Errorf("%s: a start without Python left a session: %v", py, err)
		}
	}
}
