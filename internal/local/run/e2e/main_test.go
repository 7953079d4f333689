package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/local"
	"github.com/pfz-cli/pfz/internal/runspec"
	part "github.com/pfz-cli/pfz/internal/testutil/need" // need is this package's helper below
	"github.com/pfz-cli/pfz/internal/testutil/shared"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// The tests share one PFZ_HOME and one real session (a Python venv takes
// seconds to make): the first run of examples/hello-python starts it on
// the spot, every other run uses the same session spec.
//
// The test binary doubles as a second pfz process with PFZ_E2E_HELPER set:
// "run" submits a run and waits for it (the killed-owner test kills it),
// "cancel" cancels a run from outside the process that runs it.
type env struct {
	home     string
	python   string
	skip     string // why the tests cannot run here
	sessions *local.Sessions
	ws       *local.Workspace
}

var (
	theEnv env

	helloOnce    sync.Once
	hello        *workspace.Run
	helloSub     *workspace.Submission
	helloErr     error
	helloEvents  *recorder
	sessionFirst error // what Sessions.Get said before the first run

	classifyOnce sync.Once
	classify     *workspace.Run
	classifyErr  error
)

func TestMain(m *testing.M) {
	switch os.Getenv("PFZ_E2E_HELPER") {
	case "":
	case "run", "cancel":
		os.Exit(helper(os.Getenv("PFZ_E2E_HELPER")))
	default:
		os.Exit(2)
	}
	home, err := os.MkdirTemp("", "pfz-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	theEnv = openEnv(home)
	code := m.Run()
	_ = os.RemoveAll(home) // a temp folder
	os.Exit(code)
}

func openEnv(home string) env {
	e := env{home: home}
	py, err := exec.LookPath("python3")
	if err != nil {
		e.skip = "python3 is not on PATH: the local run tests need it"
		return e
	}
	if out, err := exec.Command(py, "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
		e.skip = "python3 has no working venv/ensurepip: " + string(out)
		return e
	}
	e.python = py
	e.sessions, err = local.NewSessions(local.Options{
		Home: home, Python: py, Env: isolatedEnv(),
		// Nothing may reach the internet: the examples need no packages,
		// and pip would find a closed port.
		PipIndexURL: "http://127.0.0.1:9/simple", PipNoCache: true,
	})
	if err != nil {
		e.skip = err.Error()
		return e
	}
	e.ws, err = local.New(local.WorkspaceOptions{Sessions: e.sessions, Env: isolatedEnv(), Poll: 50 * time.Millisecond, CancelWait: 20 * time.Second})
	if err != nil {
		e.skip = err.Error()
	}
	return e
}

// isolatedEnv drops the machine's pip and Python settings.
func isolatedEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIP_") || strings.HasPrefix(k, "PYTHON") || k == "VIRTUAL_ENV" {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PIP_CONFIG_FILE="+os.DevNull, "PIP_NO_INPUT=1")
}

// need returns the shared environment, or skips loudly (fails when CI=true).
func need(t testing.TB) *env {
	t.Helper()
	if theEnv.skip != "" {
		part.Missing(t, "%s", theEnv.skip)
	}
	return &theEnv
}

func runs(e *env) *local.Runs { return e.ws.LocalRuns() }

func examples(elem ...string) string {
	return filepath.Join(append([]string{shared.RepoRoot(), "examples"}, elem...)...)
}

// resolve builds a submission as `pfz run create` does, from flags.
func resolve(t testing.TB, flags runspec.Flags, cwd string) *workspace.Submission {
	t.Helper()
	sub, err := resolveSub(flags, cwd)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func resolveSub(flags runspec.Flags, cwd string) (*workspace.Submission, error) {
	spec, ds, err := runspec.Load(runspec.LoadOptions{Flags: flags, CWD: cwd})
	if err != nil {
		return nil, fmt.Errorf("load: %w (%v)", err, ds)
	}
	sub, _, ds, err := spec.Resolve(context.Background(), runspec.ResolveOptions{UserAlias: "tester", Now: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("resolve: %w (%v)", err, ds)
	}
	return sub, nil
}

// shared session: every run but the first hello one uses hello's session
// spec, so the package builds one environment.
func onSharedSession(t testing.TB, sub *workspace.Submission) *workspace.Submission {
	t.Helper()
	helloRun(t)
	sub.Session = helloSub.Session
	return sub
}

// helloRun runs examples/hello-python once for the package: the first run,
// which starts the session.
func helloRun(t testing.TB) *workspace.Run {
	t.Helper()
	e := need(t)
	helloOnce.Do(func() {
		helloSub, helloErr = resolveSub(runspec.Flags{File: examples("hello-python", "run.yml"), Name: "hello_first"}, examples())
		if helloErr != nil {
			return
		}
		_, sessionFirst = e.sessions.Get(context.Background(), helloSub.Session.ID)
		helloEvents = &recorder{}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		hello, helloErr = e.ws.Runs().Submit(ctx, helloSub, helloEvents)
	})
	if helloErr != nil {
		t.Fatalf("hello-python run: %v", helloErr)
	}
	return hello
}

// classifyRun runs examples/classify-reviews (variant detailed) once.
func classifyRun(t *testing.T) *workspace.Run {
	t.Helper()
	e := need(t)
	helloRun(t)
	classifyOnce.Do(func() {
		sub, err := resolveSub(runspec.Flags{File: examples("classify-reviews", "run.yml"), Name: "classify_detailed"}, examples())
		if err != nil {
			classifyErr = err
			return
		}
		sub.Session = helloSub.Session
		classify, classifyErr = e.ws.Runs().Submit(context.Background(), sub, nil)
	})
	if classifyErr != nil {
		t.Fatalf("classify-reviews run: %v", classifyErr)
	}
	return classify
}

// recorder keeps the progress events of a run.
type recorder struct {
	mu     sync.Mutex
	events []workspace.Event
}

func (r *recorder) Report(e workspace.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) statuses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Kind == workspace.EventRunStatus {
			_, s, _ := strings.Cut(e.Message, ": ")
			if len(out) == 0 || out[len(out)-1] != s {
				out = append(out, s)
			}
		}
	}
	return out
}

func (r *recorder) last(kind workspace.EventKind) (workspace.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if r.events[i].Kind == kind {
			return r.events[i], true
		}
	}
	return workspace.Event{}, false
}

// writeFlow writes a small flow folder for fault tests.
func writeFlow(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sleepFlow is a flow whose one python node sleeps secs seconds per line,
// over n lines.
func sleepFlow(t testing.TB, n int, secs float64) string {
	var data strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&data, "{\"i\": %d}\n", i)
	}
	return writeFlow(t, map[string]string{
		"flow.dag.yaml": `inputs:
  i:
    type: int
outputs:
  out:
    type: int
    reference: ${nap.output}
nodes:
- name: nap
  type: python
  source:
    type: code
    path: nap.py
  inputs:
    i: ${inputs.i}
`,
		"nap.py": fmt.Sprintf(`import time
from promptflow.core import tool

@tool
def nap(i: int) -> int:
    time.sleep(%g)
    return i
`, secs),
		"data.jsonl": data.String(),
	})
}

// helper is the second process of the cancel and killed-owner tests.
func helper(mode string) int {
	e := openEnv(os.Getenv("PFZ_E2E_HOME"))
	if e.skip != "" {
		fmt.Fprintln(os.Stderr, e.skip)
		return 3
	}
	ctx := context.Background()
	switch mode {
	case "cancel":
		if err := e.ws.Runs().Cancel(ctx, os.Getenv("PFZ_E2E_RUN")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "run":
		dir := os.Getenv("PFZ_E2E_FLOW")
		sub, err := resolveSub(runspec.Flags{Flow: dir, Data: filepath.Join(dir, "data.jsonl"), Name: os.Getenv("PFZ_E2E_RUN")}, dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// The session the parent test started: same spec.
		sub.Session.ID = os.Getenv("PFZ_E2E_SESSION")
		sub.Session.FlowDir = os.Getenv("PFZ_E2E_SESSION_DIR")
		sub.Session.LineageID = os.Getenv("PFZ_E2E_SESSION_LINEAGE")
		sub.Session.EnvHash = os.Getenv("PFZ_E2E_SESSION_ENV")
		sub.Session.Requirements = nil
		sub.Session.RequirementsFile = ""
		_, err = e.ws.Runs().Submit(ctx, sub, nil)
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	return 2
}

// startHelper starts this test binary as another pfz process.
func startHelper(t *testing.T, mode string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PFZ_E2E_HELPER="+mode, "PFZ_E2E_HOME="+theEnv.home)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// waitFor polls cond until it holds or the time runs out.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
