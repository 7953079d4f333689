package app

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/cmd/cmdtest"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/workspace"
)

var update = flag.Bool("update", false, "rewrite golden files")

// env is a test environment: a config folder, a home and a working folder
// of its own, and a fake workspace registered for both targets.
type env struct {
	t       *testing.T
	vars    map[string]string
	workDir string
	ws      *cmdtest.Workspace
	tty     bool
	ctx     context.Context
	setup   func(*cmdutil.Factory)
	fixture string // absolute testdata/flows
	// realAlias keeps the Factory's own UserAlias (the OS user on local)
	// instead of the fixed "tester".
	realAlias bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	home := t.TempDir()
	work := t.TempDir()
	fixture, err := filepath.Abs(filepath.Join("testdata", "flows"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		fixture: fixture,
		t:       t,
		vars:    map[string]string{"HOME": home, config.EnvConfigDir: filepath.Join(home, "cfg")},
		workDir: work,
		ws:      cmdtest.New(workspace.TargetLocal),
		ctx:     context.Background(),
	}
}

// chdir makes the working folder the process's (commands resolve relative
// paths from it) and returns it.
func (e *env) chdir() string {
	e.t.Chdir(e.workDir)
	return e.workDir
}

// cd moves both the process and pfz's working folder to dir.
func (e *env) cd(dir string) {
	e.workDir = dir
	e.t.Chdir(dir)
}

// copyFlow copies testdata/flows/<name> into the working folder.
func (e *env) copyFlow(name string) string {
	e.t.Helper()
	src := filepath.Join(e.fixture, name)
	dst := filepath.Join(e.workDir, name)
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return dst
}

type result struct {
	code           int
	stdout, stderr string
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	ios, _, out, errOut := iostreams.Test()
	ios.SetStdoutTTY(e.tty)
	vars := e.vars
	ws := e.ws
	code := Run(e.ctx, Options{
		Args:    args,
		IO:      ios,
		Getenv:  func(k string) string { return vars[k] },
		WorkDir: e.workDir,
		Setup: func(f *cmdutil.Factory) {
			f.PollInterval = 1
			open := func(context.Context, *config.Config) (workspace.Workspace, error) { return ws, nil }
			f.Backends[workspace.TargetLocal] = open
			f.Backends[workspace.TargetAzureML] = open
			if !e.realAlias {
				f.UserAlias = func(context.Context) (string, error) { return "tester", nil }
			}
			if e.setup != nil {
				e.setup(f)
			}
		},
	})
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// expect checks the exit code and that stdout and stderr contain each of the
// given fragments; an empty want means the stream must be empty.
func (r result) expect(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	check := func(name, got string, want []string) {
		if want == nil {
			return
		}
		if len(want) == 0 && withoutTargetNote(got) != "" {
			t.Errorf("%s should be empty (but for the target note), got:\n%s", name, got)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s does not contain %q:\n%s", name, w, got)
			}
		}
	}
	check("stdout", r.stdout, stdout)
	check("stderr", r.stderr, stderr)
}

// withoutTargetNote removes the one line every command that opens a
// workspace prints on stderr (cmdutil.TargetNote; TestTargetNote checks it).
func withoutTargetNote(s string) string {
	first, rest, _ := strings.Cut(s, "\n")
	if strings.HasPrefix(first, "target local: ") || strings.HasPrefix(first, "target azureml: ") {
		return rest
	}
	return s
}

// golden compares got with the file under the repository's testdata/golden,
// rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the tests with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got; -update rewrites it):\n%s", name, diff)
	}
}
