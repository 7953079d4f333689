package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/pyenv"
)

// fakeEnv stands in for Python in the state-machine tests: an environment
// is a folder with bin/python (empty) and state.json listing what pip would
// have installed. Real environments are built in real_test.go.
type fakeEnv struct {
	mu       sync.Mutex
	creates  int
	installs []fakeInstall
	// fail makes installing this project fail as pip would.
	fail map[string]bool
	// deps: installing the key also installs the value.
	deps map[string]string
	// hang makes Create wait until its context ends.
	hang bool
	// offline makes EnsureJinja fail as it does with no index and no wheels.
	offline bool
	// builder is what Builder reports ("" is "venv, pip").
	builder string
}

type fakeInstall struct {
	Python string
	File   string // the text pip would read
	Env    []string
	Dir    string
}

type fakeState struct {
	Dists []pyenv.Dist `json:"dists"`
}

func newFake() *fakeEnv {
	return &fakeEnv{fail: map[string]bool{}, deps: map[string]string{}}
}

func (f *fakeEnv) Interpreter() (string, error) { return "/usr/bin/python3", nil }

func (f *fakeEnv) Builder(ctx context.Context, private bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.builder == "" {
		return "venv, pip"
	}
	return f.builder
}

func (f *fakeEnv) Create(ctx context.Context, dir string, log io.Writer) (*pyenv.Info, error) {
	if f.hang {
		fmt.Fprintln(log, "hanging")
		<-ctx.Done()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fault.Wrap(fault.Timeout, ctx.Err(), "creating the Python environment did not finish in time")
		}
		return nil, fault.Wrap(fault.Interrupted, ctx.Err(), "creating the Python environment was interrupted")
	}
	f.mu.Lock()
	f.creates++
	f.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o700); err != nil {
		return nil, err
	}
	py := filepath.Join(dir, "bin", "python")
	if err := os.WriteFile(py, nil, 0o700); err != nil {
		return nil, err
	}
	st := fakeState{Dists: []pyenv.Dist{{Name: "pip", Version: "24.0"}, {Name: "setuptools", Version: "65.5.0"}}}
	if err := writeState(dir, st); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "created venv in %s\n", dir)
	return &pyenv.Info{Python: py, Version: "3.11.7", Base: "/usr/bin/python3"}, nil
}

func writeState(dir string, st fakeState) error {
	b, _ := json.Marshal(st)
	return os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600)
}

func envDirOf(python string) string { return filepath.Dir(filepath.Dir(python)) }

func (f *fakeEnv) Install(ctx context.Context, python string, req pyenv.InstallRequest, log io.Writer) error {
	text, err := os.ReadFile(req.File)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.installs = append(f.installs, fakeInstall{Python: python, File: string(text), Env: req.Env, Dir: req.Dir})
	f.mu.Unlock()
	dir := envDirOf(python)
	var st fakeState
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return err
	}
	_ = json.Unmarshal(b, &st)
	sc := bufio.NewScanner(strings.NewReader(string(text)))
	for sc.Scan() {
		line := sc.Text()
		// Echo index lines the way pip would after expanding ${VAR}: the
		// redaction must catch the token.
		if strings.HasPrefix(line, "-i") || strings.HasPrefix(line, "--extra-index-url") {
			expanded := line
			for _, kv := range req.Env {
				k, v, _ := strings.Cut(kv, "=")
				expanded = strings.ReplaceAll(expanded, "${"+k+"}", v)
			}
			fmt.Fprintf(log, "Looking in indexes: %s\n", expanded)
			continue
		}
		name := requirementName(line)
		if name == "" {
			continue
		}
		if f.fail[name] {
			fmt.Fprintf(log, "Collecting %s\nERROR: Could not find a version that satisfies the requirement %s\nERROR: No matching distribution found for %s\n", name, name, name)
			return &fault.Error{Kind: fault.Failed, Msg: "pip install failed", Err: &pyenv.PipError{Tool: "pip",
				Summary: "ERROR: Could not find a version that satisfies the requirement " + name + "\nERROR: No matching distribution found for " + name, ExitCode: 1}}
		}
		fmt.Fprintf(log, "Collecting %s\n", name)
		for _, n := range []string{name, f.deps[name]} {
			if n != "" && !hasDist(st, n) {
				st.Dists = append(st.Dists, pyenv.Dist{Name: n, Version: "1.0"})
			}
		}
	}
	return writeState(dir, st)
}

func hasDist(st fakeState, name string) bool {
	for _, d := range st.Dists {
		if normalizeName(d.Name) == normalizeName(name) {
			return true
		}
	}
	return false
}

func (f *fakeEnv) List(ctx context.Context, python string) ([]pyenv.Dist, error) {
	b, err := os.ReadFile(filepath.Join(envDirOf(python), "state.json"))
	if err != nil {
		return nil, err
	}
	var st fakeState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return st.Dists, nil
}

func (f *fakeEnv) EnsureJinja(ctx context.Context, python, wheelDir string, log io.Writer) (pyenv.JinjaSource, error) {
	f.mu.Lock()
	offline := f.offline
	f.mu.Unlock()
	if offline {
		return pyenv.JinjaNotLoaded, errors.New("from the package index: ERROR: No matching distribution found for Jinja2==" + pyenv.JinjaVersion)
	}
	dir := envDirOf(python)
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return "", err
	}
	var st fakeState
	_ = json.Unmarshal(b, &st)
	st.Dists = append(st.Dists, pyenv.Dist{Name: "Jinja2", Version: pyenv.JinjaVersion}, pyenv.Dist{Name: "MarkupSafe", Version: "3.0.3"})
	return pyenv.JinjaWheels, writeState(dir, st)
}

func (f *fakeEnv) counts() (creates, installs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates, len(f.installs)
}

func (f *fakeEnv) lastInstall() fakeInstall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.installs) == 0 {
		return fakeInstall{}
	}
	return f.installs[len(f.installs)-1]
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)} }

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
