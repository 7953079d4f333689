package flowcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/testutil/need"
)

const okFlow = `inputs:
  name: {type: string}
outputs:
  out: {type: string, reference: '${greet.output}'}
nodes:
- name: greet
  type: python
  source: {type: code, path: greet.py}
  inputs: {name: '${inputs.name}'}
`

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// validate runs `flow validate -o json ARGS` in dir and returns the report.
func validate(t *testing.T, dir string, args ...string) (Report, error) {
	t.Helper()
	ios, _, out, _ := iostreams.Test()
	cfgDir := t.TempDir()
	f := cmdutil.New(cmdutil.FactoryOptions{IO: ios, WorkDir: dir, Getenv: func(k string) string {
		switch k {
		case "PFZ_CONFIG_DIR":
			return cfgDir
		case "PFZ_OUTPUT":
			return "json"
		}
		return ""
	}})
	cmd := NewCmdValidate(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	var rep Report
	if out.Len() > 0 {
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", jerr, out)
		}
	}
	return rep, err
}

// TestValidateChecksWhatTheRunShips: flow validate builds the snapshot as
// run create does, so a symlink that leaves the flow or an include that is
// missing is found offline, and each problem is reported once.
func TestValidateChecksWhatTheRunShips(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		codes map[string]int // code → how many times
	}{
		{name: "clean flow", setup: func(*testing.T, string) {}, codes: map[string]int{}},
		{name: "symlink out of the flow folder", setup: func(t *testing.T, dir string) {
			if runtime.GOOS == "windows" {
				need.ByDesign(t, "symlinks need privileges on Windows")
			}
			outside := filepath.Join(t.TempDir(), "secret.txt")
			write(t, outside, "secret")
			if err := os.Symlink(outside, filepath.Join(dir, "leak.txt")); err != nil {
				t.Fatal(err)
			}
		}, codes: map[string]int{"symlink-outside": 1}},
		{name: "missing and empty includes are reported once each", setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "flow.dag.yaml"), okFlow+"additional_includes:\n- ../nowhere\n- ''\n")
		}, codes: map[string]int{"include-not-found": 1, "include-empty": 1}},
		{name: "missing requirements file is reported once", setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "flow.dag.yaml"), okFlow+"environment:\n  python_requirements_txt: req.txt\n")
		}, codes: map[string]int{"requirements-missing": 1}},
		{name: "a file the ignore rules leave out is missing", setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, ".amlignore"), "greet.py\n")
		}, codes: map[string]int{"source-not-found": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my_flow")
			write(t, filepath.Join(dir, "flow.dag.yaml"), okFlow)
			write(t, filepath.Join(dir, "greet.py"), "def greet(name): return name\n")
			tt.setup(t, dir)
			rep, err := validate(t, dir, dir)
			got := map[string]int{}
			for _, d := range rep.Diagnostics {
				got[d.Code]++
				if d.Hint == "" {
					t.Errorf("diagnostic without a hint: %+v", d)
				}
			}
			for code, n := range tt.codes {
				if got[code] != n {
					t.Errorf("%s reported %d times, want %d: %+v", code, got[code], n, rep.Diagnostics)
				}
			}
			if len(tt.codes) == 0 && len(rep.Diagnostics) > 0 {
				t.Errorf("unexpected diagnostics %+v", rep.Diagnostics)
			}
			if (rep.Errors > 0) != (err != nil && cmdutil.ExitCode(err) == 2) {
				t.Errorf("errors=%d but err=%v", rep.Errors, err)
			}
		})
	}
}
