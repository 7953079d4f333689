package executor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/pyjson"
)

// testPython returns the python3 on PATH, skipping loudly when there is none
// (failing when CI=true: CI always has it).
func testPython(t testing.TB) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		msg := "python3 not found on PATH: the executor's python worker tests need it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED LOUDLY: " + msg)
	}
	return py
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const faultTools = `from promptflow.core import tool
from promptflow import log_metric
import os, sys, time

@tool
def run(mode: str, n: int = 0):
    if mode == "ok":
        print("hello", n)
        print("to stderr", file=sys.stderr)
        return {"n": n, "pid": os.getpid()}
    if mode == "raise":
        print("about to fail")
        return 1 / 0
    if mode == "hang":
        print("hanging", flush=True)
        time.sleep(600)
    if mode == "huge":
        sys.stdout.write("x" * (3 << 20) + "\n")
        for i in range(2000):
            print("line", i, "y" * 4000)
        return "done"
    if mode == "kill":
        os.kill(os.getpid(), 9)
    if mode == "metric":
        log_metric("acc", 0.5)
        log_metric("count", 3)
        return None
    if mode == "exit":
        sys.exit(3)
    if mode == "memory":
        blob = bytearray(400 << 20)
        time.sleep(5)
        return len(blob)
    raise ValueError("unknown mode " + mode)
`

func newTestPool(t testing.TB, size int, mem int) (*Pool, string) {
	t.Helper()
	py := testPython(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"tools.py": faultTools})
	p, err := NewPool(context.Background(), PoolConfig{
		Python: py, Dir: dir, Env: os.Environ(), Size: size, MemLimitMB: mem,
		RuntimeDir: filepath.Join(t.TempDir(), "rt"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, dir
}

type logRec struct {
	mu    sync.Mutex
	lines []string
	bytes int
}

func (l *logRec) add(stream, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, stream+": "+text)
	l.bytes += len(text)
}

func call(t *testing.T, p *Pool, ctx context.Context, mode string, logs *logRec) (*CallResult, error) {
	t.Helper()
	req := CallRequest{Source: ToolSource{Path: "tools.py"}, Inputs: map[string]any{"mode": mode, "n": "7"}}
	if logs != nil {
		req.OnLog = logs.add
	}
	return p.Call(ctx, req)
}

func TestPoolCallAndInspect(t *testing.T) {
	p, _ := newTestPool(t, 1, 0)
	if p.Info().Promptflow == "" || p.Info().Python == "" {
		t.Errorf("info = %+v", p.Info())
	}
	info, terr, err := p.Inspect(context.Background(), ToolSource{Path: "tools.py"})
	if err != nil || terr != nil {
		t.Fatal(err, terr)
	}
	if info.Function != "run" || len(info.Params) != 2 || info.Params[1].Annotation != "int" {
		t.Errorf("inspect = %+v", info)
	}
	var logs logRec
	res, err := call(t, p, context.Background(), "ok", &logs)
	if err != nil || res.Error != nil {
		t.Fatal(err, res.Error)
	}
	out, _ := pyjson.AsMap(res.Output)
	if out["n"].(interface{ String() string }).String() != "7" { // "7" was coerced to int by the annotation
		t.Errorf("output = %v", out)
	}
	want := []string{"stdout: hello 7", "stderr: to stderr"}
	if strings.Join(logs.lines, "|") != strings.Join(want, "|") && strings.Join(logs.lines, "|") != want[1]+"|"+want[0] {
		t.Errorf("logs = %q, want %q", logs.lines, want)
	}

	res, err = call(t, p, context.Background(), "metric", nil)
	if err != nil || res.Error != nil {
		t.Fatal(err, res.Error)
	}
	if len(res.Metrics) != 2 || res.Metrics[0].Name != "acc" || res.Metrics[1].Name != "count" {
		t.Errorf("metrics = %+v", res.Metrics)
	}
}

func TestPoolFaults(t *testing.T) {
	p, _ := newTestPool(t, 1, 0)
	ctx := context.Background()
	pidOf := func() string {
		res, err := call(t, p, ctx, "ok", nil)
		if err != nil || res.Error != nil {
			t.Fatalf("healthy call failed: %v %v", err, res)
		}
		out, _ := pyjson.AsMap(res.Output)
		return out["pid"].(interface{ String() string }).String()
	}
	pid0 := pidOf()

	t.Run("raise", func(t *testing.T) {
		var logs logRec
		res, err := call(t, p, ctx, "raise", &logs)
		if err != nil {
			t.Fatal(err)
		}
		if res.Error == nil || res.Error.Type != "ZeroDivisionError" || !strings.Contains(res.Error.Traceback, "tools.py") {
			t.Fatalf("error = %+v", res.Error)
		}
		if strings.Contains(res.Error.Traceback, "pfz_worker.py") {
			t.Errorf("traceback shows worker frames:\n%s", res.Error.Traceback)
		}
		if len(logs.lines) != 1 || logs.lines[0] != "stdout: about to fail" {
			t.Errorf("logs = %q", logs.lines)
		}
		if pidOf() != pid0 {
			t.Error("a raising tool replaced the worker")
		}
	})
	t.Run("sys.exit is an error, not a dead worker", func(t *testing.T) {
		res, err := call(t, p, ctx, "exit", nil)
		if err != nil || res.Error == nil || res.Error.Type != "SystemExit" {
			t.Fatalf("err=%v res=%+v", err, res)
		}
	})
	t.Run("hang past the deadline", func(t *testing.T) {
		var logs logRec
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := call(t, p, cctx, "hang", &logs)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		logs.mu.Lock()
		got := strings.Join(logs.lines, "|")
		logs.mu.Unlock()
		if !strings.Contains(got, "hanging") {
			t.Errorf("logs before the hang were lost: %q", got)
		}
		if pid := pidOf(); pid == pid0 {
			t.Error("the hung worker was not replaced")
		}
	})
	t.Run("megabytes of output", func(t *testing.T) {
		var logs logRec
		res, err := call(t, p, ctx, "huge", &logs)
		if err != nil || res.Error != nil {
			t.Fatal(err, res)
		}
		if res.Output != "done" {
			t.Errorf("output = %v", res.Output)
		}
		if !strings.Contains(logs.lines[0], "bytes cut") || len(logs.lines[0]) > maxLogLine+100 {
			t.Errorf("first line not cut: %d bytes", len(logs.lines[0]))
		}
		last := logs.lines[len(logs.lines)-1]
		if !strings.Contains(last, "were dropped") || logs.bytes > maxCallLog+maxLogLine+200 {
			t.Errorf("output not capped: %d bytes, last %q", logs.bytes, last)
		}
	})
	t.Run("SIGKILL", func(t *testing.T) {
		_, err := call(t, p, ctx, "kill", nil)
		var we *WorkerError
		if !errors.As(err, &we) || !strings.Contains(we.Reason, "exited unexpectedly") {
			t.Fatalf("err = %v, want a WorkerError", err)
		}
		pidOf() // replaced and healthy
	})
	t.Run("worker killed from outside while idle", func(t *testing.T) {
		pid := pidOf()
		var n int
		for _, c := range pid {
			n = n*10 + int(c-'0')
		}
		if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		pidOf()
	})
}

func TestPoolMemoryLimit(t *testing.T) {
	p, _ := newTestPool(t, 1, 200)
	_, err := call(t, p, context.Background(), "memory", nil)
	var we *WorkerError
	if !errors.As(err, &we) || !strings.Contains(we.Reason, "memory") {
		t.Fatalf("err = %v, want the memory limit", err)
	}
}

func TestPoolStartFailure(t *testing.T) {
	_, err := NewPool(context.Background(), PoolConfig{
		Python: filepath.Join(t.TempDir(), "no-python"), Dir: t.TempDir(), RuntimeDir: t.TempDir(),
	})
	if err == nil || !strings.Contains(err.Error(), "no-python") {
		t.Fatalf("err = %v", err)
	}
}

func TestPoolUsesRealPromptflowFirst(t *testing.T) {
	py := testPython(t)
	dir := t.TempDir()
	site := filepath.Join(t.TempDir(), "site")
	// A fake "real" promptflow earlier on the path must win over the stand-in.
	writeFiles(t, site, map[string]string{
		"promptflow/__init__.py":      "__version__ = '9.9.9'\nfrom promptflow.core import tool\n",
		"promptflow/core/__init__.py": "def tool(f):\n    f.__dict__['__tool'] = None\n    f.real = True\n    return f\n",
	})
	writeFiles(t, dir, map[string]string{"t.py": "from promptflow import tool\n@tool\ndef f():\n    return getattr(f, 'real', False)\n"})
	p, err := NewPool(context.Background(), PoolConfig{
		Python: py, Dir: dir, Env: append(os.Environ(), "PYTHONPATH="+site), RuntimeDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Info().Promptflow != "real" || p.Info().PromptflowVersion != "9.9.9" {
		t.Errorf("info = %+v", p.Info())
	}
	res, err := p.Call(context.Background(), CallRequest{Source: ToolSource{Path: "t.py"}})
	if err != nil || res.Error != nil || res.Output != true {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

func TestPoolClassAndPackageTools(t *testing.T) {
	py := testPython(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"cls.py": `from promptflow import ToolProvider, tool


class Greeter(ToolProvider):
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.calls = 0

    @tool
    def greet(self, name: str) -> str:
        self.calls += 1
        return "%s %s #%d" % (self.prefix, name, self.calls)
`})
	p, err := NewPool(context.Background(), PoolConfig{Python: py, Dir: dir, Env: os.Environ(), RuntimeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	info, terr, err := p.Inspect(context.Background(), ToolSource{Path: "cls.py"})
	if err != nil || terr != nil {
		t.Fatal(err, terr)
	}
	if info.Class != "Greeter" || info.Function != "greet" || len(info.InitParams) != 1 || info.InitParams[0].Name != "prefix" {
		t.Errorf("inspect = %+v", info)
	}
	// The instance is made once per init arguments and kept.
	for i, want := range []string{"hi ada #1", "hi bob #2"} {
		res, err := p.Call(context.Background(), CallRequest{Source: ToolSource{Path: "cls.py"},
			Inputs: map[string]any{"prefix": "hi", "name": []string{"ada", "bob"}[i]}})
		if err != nil || res.Error != nil || res.Output != want {
			t.Fatalf("call %d: %+v %v", i, res, err)
		}
	}
	res, err := p.Call(context.Background(), CallRequest{Source: ToolSource{Tool: "json.dumps"}, Inputs: map[string]any{"obj": []any{1, "a"}}})
	if err != nil || res.Error != nil || res.Output != `[1, "a"]` {
		t.Fatalf("package tool: %+v %v", res, err)
	}
	// A tool id that names no module attribute is promptflow's
	// PackageToolNotFoundError, also when a prefix imports (before:
	// "module 'promptflow' has no attribute 'tools'").
	for _, id := range []string{"no_such_pkg_zz.tool", "promptflow.tools.no_such_zz.analyze", "json.no_such_zz"} {
		res, err = p.Call(context.Background(), CallRequest{Source: ToolSource{Tool: id}})
		if err != nil || res.Error == nil || res.Error.Type != "PackageToolNotFoundError" ||
			res.Error.Message != "Package tool '"+id+"' is not found in the current environment." {
			t.Fatalf("missing package tool %s: %+v %v", id, res.Error, err)
		}
	}
}
