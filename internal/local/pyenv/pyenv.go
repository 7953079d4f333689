// Package pyenv drives Python for the local target: it finds the
// interpreter, creates virtual environments, runs pip install and reads
// what an environment has installed. It owns the command lines and their
// error messages, nothing about sessions.
package pyenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/pfz-cli/pfz/internal/fault"
)

// minMajor.minMinor is the oldest Python a session accepts (promptflow's floor).
const minMajor, minMinor = 3, 8

// Runner runs Python and pip. The zero value uses python3 from PATH and
// inherits pfz's environment.
type Runner struct {
	// Python is the base interpreter (PFZ_PYTHON); empty looks up python3,
	// then python, on PATH.
	Python string
	// Env is the environment of every Python process; nil inherits pfz's.
	Env []string
	// IndexURL, when set, is passed to pip as --index-url. An index line in
	// the requirements file still wins, as pip reads it after the flag.
	IndexURL string
	// NoCache passes --no-cache-dir to pip.
	NoCache bool
	// UV, when set, is the uv executable: it creates environments and
	// installs requirements (uv venv --seed, uv pip install), measured 10 to
	// 20 times faster than venv and pip (docs/benchmarks.md). pip is used
	// instead where uv would not install what pip does: a pip configuration
	// (PIP_* variables, pip.conf), secrets in the request's environment
	// (private feeds), or a failed uv start.
	UV string
	// ProvideUV, when UV is empty, finds (or installs) the uv at first need,
	// given the base interpreter; "" means venv and pip. It is called once.
	ProvideUV func(ctx context.Context, python string) string

	uvMu      sync.Mutex
	uvDone    bool
	uvVersion string
}

// Info describes a created environment.
type Info struct {
	Python  string `json:"python"`  // the environment's interpreter
	Version string `json:"version"` // e.g. "3.11.7"
	Base    string `json:"base"`    // the interpreter it was made from
}

// Dist is one installed distribution.
type Dist struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Interpreter resolves the base interpreter to an executable path.
func (r *Runner) Interpreter() (string, error) {
	if r.Python != "" {
		p, err := exec.LookPath(r.Python)
		if err != nil {
			return "", fault.Wrap(fault.Failed, err, "the Python interpreter %q (PFZ_PYTHON) cannot be run", r.Python).
				WithHint("set PFZ_PYTHON to the path of a Python %d.%d+ interpreter, e.g. PFZ_PYTHON=/usr/bin/python3", minMajor, minMinor)
		}
		return p, nil
	}
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fault.New(fault.Failed, "no Python interpreter found: local sessions need python3 on PATH").
		WithHint("install Python %d.%d or later, or set PFZ_PYTHON to the interpreter to use", minMajor, minMinor)
}

// VenvPython is the interpreter inside an environment folder.
func VenvPython(dir string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(dir, "Scripts", "python.exe")
	}
	return filepath.Join(dir, "bin", "python")
}

func (r *Runner) command(ctx context.Context, python string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, python, args...)
	env := r.Env
	if env == nil {
		env = os.Environ()
	}
	// Unbuffered, so a streamed log shows pip's progress as it happens.
	cmd.Env = append(append([]string(nil), env...), "PYTHONUNBUFFERED=1")
	cmd.WaitDelay = waitDelay
	inGroup(cmd)
	return cmd
}

// Create makes a virtual environment with pip in dir, which must not
// exist yet or be empty, and reports its interpreter and version. The
// output of venv goes to log.
func (r *Runner) Create(ctx context.Context, dir string, log io.Writer) (*Info, error) {
	base, err := r.Interpreter()
	if err != nil {
		return nil, err
	}
	version, err := r.Version(ctx, base)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(base, version); err != nil {
		return nil, err
	}
	if uv := r.uv(ctx, base); uv != "" {
		if info, ok := r.createUV(ctx, uv, base, version, dir, log); ok {
			return info, nil
		}
	}
	cmd := r.command(ctx, base, "-m", "venv", dir)
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctxFault(ctx, "creating the Python environment")
		}
		msg := tail.summary()
		hint := "check that the venv module and ensurepip are available (on Debian/Ubuntu: apt install python3-venv), or set PFZ_PYTHON to another interpreter"
		return nil, fault.Wrap(fault.Failed, errors.New(msg), "%s -m venv failed", base).WithHint("%s", hint)
	}
	py := VenvPython(dir)
	if _, err := os.Stat(py); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "%s -m venv made no interpreter at %s", base, py)
	}
	return &Info{Python: py, Version: version, Base: base}, nil
}

// Version runs python and returns its version, e.g. "3.11.7".
func (r *Runner) Version(ctx context.Context, python string) (string, error) {
	cmd := r.command(ctx, python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctxFault(ctx, "running Python")
		}
		return "", fault.Wrap(fault.Failed, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String())), "cannot run the Python interpreter %s", python).
			WithHint("set PFZ_PYTHON to a working Python %d.%d+ interpreter", minMajor, minMinor)
	}
	return strings.TrimSpace(string(out)), nil
}

func checkVersion(python, version string) error {
	parts := strings.Split(version, ".")
	if len(parts) >= 2 {
		major, err1 := strconv.Atoi(parts[0])
		minor, err2 := strconv.Atoi(parts[1])
		if err1 == nil && err2 == nil && (major > minMajor || major == minMajor && minor >= minMinor) {
			return nil
		}
	}
	return fault.New(fault.Failed, "%s is Python %s; local sessions need Python %d.%d or later", python, version, minMajor, minMinor).
		WithHint("set PFZ_PYTHON to a newer interpreter")
}

// InstallRequest is one pip install -r.
type InstallRequest struct {
	// File is the requirements file pip reads.
	File string
	// Dir is pip's working folder: relative paths in the file resolve here.
	Dir string
	// Env is added to the process environment; secrets go here (pip expands
	// ${NAME} in requirements files), never on the command line.
	Env []string
}

// PipError is a failed pip install: the few lines that say why, and the
// exit code.
type PipError struct {
	Tool     string // the installer that failed: "pip" or "uv"
	Summary  string
	ExitCode int
}

func (e *PipError) Error() string { return e.Summary }

// Install runs pip install -r in the environment of python, streaming pip's
// output to log. A failure is a *PipError inside a fault.Error.
func (r *Runner) Install(ctx context.Context, python string, req InstallRequest, log io.Writer) error {
	if uv := r.installer(ctx, req, log); uv != "" {
		return r.installUV(ctx, uv, python, req, log)
	}
	args := []string{"-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-color", "--progress-bar", "off"}
	if r.NoCache {
		args = append(args, "--no-cache-dir")
	}
	if r.IndexURL != "" {
		args = append(args, "--index-url", r.IndexURL)
	}
	args = append(args, "-r", req.File)
	cmd := r.command(ctx, python, args...)
	cmd.Env = append(cmd.Env, req.Env...)
	return runInstall(ctx, cmd, req.Dir, "pip install", log)
}

// runInstall runs an installer (pip or uv) in dir, streaming its output to
// log; a failure is a *PipError with the output's tail and the exit code.
func runInstall(ctx context.Context, cmd *exec.Cmd, dir, what string, log io.Writer) error {
	cmd.Dir = dir
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctxFault(ctx, what)
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	tool, _, _ := strings.Cut(what, " ")
	return &fault.Error{Kind: fault.Failed, Msg: what + " failed", Err: &PipError{Tool: tool, Summary: tail.summary(), ExitCode: code}}
}

// List returns the distributions installed in python's environment, as pip
// itself reports them.
func (r *Runner) List(ctx context.Context, python string) ([]Dist, error) {
	cmd := r.command(ctx, python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check", "--no-color", "--no-index")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxFault(ctx, "pip list")
		}
		return nil, fault.Wrap(fault.Failed, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 3)), "cannot list the packages of %s", python).
			WithHint("the environment may be damaged; `pfz session reset` rebuilds it")
	}
	var dists []Dist
	if err := json.Unmarshal(out, &dists); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "pip list printed something that is not JSON")
	}
	return dists, nil
}

func ctxFault(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fault.Wrap(fault.Timeout, ctx.Err(), "%s did not finish in time", what)
	}
	return fault.Wrap(fault.Interrupted, ctx.Err(), "%s was interrupted", what)
}

// tailBuffer keeps the last lines of a process's output, enough to say
// why it failed without the whole log.
type tailBuffer struct {
	lines   []string
	partial []byte
}

const tailMax = 40

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	return len(p), nil
}

func (t *tailBuffer) add(line string) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > tailMax {
		t.lines = t.lines[len(t.lines)-tailMax:]
	}
}

// summary is pip's ERROR lines when it printed any, else the last lines.
func (t *tailBuffer) summary() string {
	if len(t.partial) > 0 {
		t.add(string(t.partial))
		t.partial = nil
	}
	var errs []string
	for _, l := range t.lines {
		if strings.HasPrefix(l, "ERROR:") || strings.HasPrefix(l, "Error:") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		n := min(3, len(t.lines))
		errs = t.lines[len(t.lines)-n:]
	}
	if len(errs) > 5 {
		errs = errs[:5]
	}
	if len(errs) == 0 {
		return "no output"
	}
	return strings.Join(errs, "\n")
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
