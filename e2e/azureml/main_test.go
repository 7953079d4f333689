// Package azureml_test drives the built pfz binary against a fake Azure ML
// workspace (internal/testutil/fakews, served in this test process on
// 127.0.0.1) with Azurite as the blob store.
//
// How the binary authenticates: pfz runs with auth.mode=managed-identity and
// the App Service managed identity variables IDENTITY_ENDPOINT and
// IDENTITY_HEADER pointing at the fake's token endpoint. That is azidentity's
// real managed identity code path (MSAL's App Service source, which speaks
// plain HTTP to a local endpoint as App Service does); the fake issues
// unsigned JWTs with the right audiences and refuses tokens it did not issue,
// expired ones and wrong audiences. No other credential mode can reach a
// loopback server: the service principal and workload identity modes use the
// public cloud's authority host, which pfz does not let the environment
// override.
//
// Azurite is started once for the package (TestMain); each test gets its own
// fake workspace with its own container, so tests do not see each other's
// uploads.
package azureml_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/testutil/azurite"
	"github.com/pfz-cli/pfz/internal/testutil/fakews"
	"github.com/pfz-cli/pfz/internal/testutil/pfzbin"
)

var (
	pfzBin     string
	buildErr   error
	az         *azurite.Instance
	azErr      error
	sharedTemp string
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "pfz-e2e-azureml-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = os.RemoveAll(dir) }() // a temp folder
		sharedTemp = dir
		pfzBin = filepath.Join(dir, pfzbin.Name())
		buildErr = pfzbin.Build(repoRoot(), pfzBin)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		az, azErr = azurite.Launch(ctx, filepath.Join(dir, "azurite"))
		if az != nil {
			defer az.Stop()
		}
		return m.Run()
	}()
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// harness is one fake workspace and a pfz configuration pointed at it.
type harness struct {
	tb   testing.TB
	fake *fakews.Server
	home string // PFZ_HOME: the workspace cache and session records live here
	cfg  string // PFZ_CONFIG_DIR
	work string // working directory of every command
	env  map[string]string
}

func newHarness(t *testing.T, opts fakews.Options) *harness {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	pfzbin.Track(t, repoRoot())
	if azErr != nil {
		azurite.Unavailable(t, azErr)
	}
	// A container of its own per test and per run (-count=N reuses names),
	// so no test finds another's uploads.
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), ""))
	if len(name) > 40 {
		name = name[:40]
	}
	opts.Storage = fakews.Storage{Endpoint: az.Endpoint, Account: az.Account, Key: az.Key,
		Container: "t" + name + "-" + hex.EncodeToString(randBytes(4))}
	fake := fakews.New(opts)
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	h := &harness{tb: t, fake: fake, home: t.TempDir(), cfg: t.TempDir(), work: t.TempDir(), env: fake.ClientEnv()}
	// The fake answers at once: poll it quickly (poll_interval).
	h.env["PFZ_POLL_INTERVAL"] = "50ms"
	return h
}

// result is what one pfz command did.
type result struct {
	args           []string
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("pfz %s → exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// environ is the child's whole environment: only what pfz needs, so the
// developer's own Azure settings never leak in.
func (h *harness) environ() []string {
	env := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": h.home, "TMPDIR": os.TempDir(), "NO_COLOR": "1",
		"PFZ_HOME": h.home, "PFZ_CONFIG_DIR": h.cfg,
	}
	for k, v := range h.env {
		env[k] = v
	}
	var out []string
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// run runs pfz with a time limit and returns what it did.
func (h *harness) run(args ...string) result {
	h.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pfzBin, args...)
	cmd.Dir = h.work
	cmd.Env = h.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	r := result{args: args, stdout: out.String(), stderr: errb.String(), took: time.Since(began)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		h.tb.Fatalf("pfz %v: %v", args, err)
	}
	if ctx.Err() != nil {
		h.tb.Fatalf("pfz %v did not finish in 2 minutes:\n%s", args, r)
	}
	return r
}

// ok runs pfz and fails the test unless it exits 0.
func (h *harness) ok(args ...string) result {
	h.tb.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.tb.Fatalf("%s", r)
	}
	return r
}

// writeFlow writes the hello flow (with a requirements file) and its data
// and run.yml under the working directory.
func (h *harness) writeFlow(names ...string) string {
	h.tb.Helper()
	dir := filepath.Join(h.work, "hello")
	files := map[string]string{
		"flow.dag.yaml": `environment:
  python_requirements_txt: requirements.txt
inputs:
  name:
    type: string
outputs:
  greeting:
    type: string
    reference: ${greet.output}
nodes:
- name: greet
  type: python
  source:
    type: code
    path: greet.py
  inputs:
    name: ${inputs.name}
`,
		"greet.py":         "from promptflow.core import tool\n\n\n@tool\ndef greet(name: str) -> str:\n    return \"Hello, \" + name\n",
		"requirements.txt": "# the flow's packages\nrequests==2.31.0\n",
		"run.yml":          "flow: .\ndata: data.jsonl\ncolumn_mapping:\n  name: ${data.name}\ndisplay_name: hello\n",
	}
	var data strings.Builder
	for _, n := range names {
		data.WriteString(`{"name": "` + n + `"}` + "\n")
	}
	files["data.jsonl"] = data.String()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			h.tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			h.tb.Fatal(err)
		}
	}
	return dir
}
