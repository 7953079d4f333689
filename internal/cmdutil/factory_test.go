package cmdutil

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// newTestFactory returns a Factory over env with a fake backend per target
// that counts how often it is opened.
func newTestFactory(t *testing.T, env map[string]string) (*Factory, map[string]int) {
	t.Helper()
	vars := map[string]string{config.EnvConfigDir: t.TempDir(), "HOME": t.TempDir()}
	for k, v := range env {
		vars[k] = v
	}
	ios, _, _, _ := iostreams.Test()
	opened := map[string]int{}
	backend := func(target string) Backend {
		return func(context.Context, *config.Config) (workspace.Workspace, error) {
			opened[target]++
			return nil, nil
		}
	}
	f := New(FactoryOptions{
		IO: ios, Getenv: func(k string) string { return vars[k] }, WorkDir: t.TempDir(),
		Backends: map[string]Backend{workspace.TargetLocal: backend(workspace.TargetLocal), workspace.TargetAzureML: backend(workspace.TargetAzureML)},
	})
	return f, opened
}

func TestConfigIsLazyPerKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		env      map[string]string
		flags    map[string]string // global flag name → value
		config   string            // "" or the error Config must return
		ws       string            // "" or the error Workspace must return
		cred     string            // "" or the error Credential must return
		opened   string            // the backend Workspace opens
		problems int               // IgnoredConfigProblems after Config and Workspace
	}{
		{name: "bad cloud, local target", env: map[string]string{"PFZ_CLOUD": "x"},
			cred: "invalid PFZ_CLOUD", opened: workspace.TargetLocal, problems: 1},
		{name: "bad cloud, azureml target", env: map[string]string{"PFZ_CLOUD": "x", "PFZ_WORKSPACE_NAME": "w", "PFZ_SUBSCRIPTION": "s", "PFZ_RESOURCE_GROUP": "g"},
			ws: "invalid PFZ_CLOUD", cred: "invalid PFZ_CLOUD"},
		{name: "bad python, local target", env: map[string]string{"PFZ_PYTHON": " "},
			ws: "invalid PFZ_PYTHON"},
		{name: "bad python, azureml target", env: map[string]string{"PFZ_PYTHON": " ", "PFZ_TARGET": "azureml", "PFZ_SUBSCRIPTION": "s"},
			opened: workspace.TargetAzureML, problems: 1},
		{name: "bad output", env: map[string]string{"PFZ_OUTPUT": "xml"},
			config: "invalid PFZ_OUTPUT", ws: "invalid PFZ_OUTPUT", cred: "invalid PFZ_OUTPUT"},
		{name: "bad flag", env: map[string]string{"PFZ_CLOUD": "x"}, flags: map[string]string{"target": "cloud"},
			config: "invalid --target", ws: "invalid --target", cred: "invalid --target", problems: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, opened := newTestFactory(t, tt.env)
			f.Global.Changed = func(name string) bool { _, ok := tt.flags[name]; return ok }
			f.Global.Target = tt.flags["target"]
			check := func(what string, err error, want string) {
				t.Helper()
				if want == "" && err != nil {
					t.Errorf("%s: %v", what, err)
				}
				if want != "" && (err == nil || !strings.Contains(err.Error(), want) || fault.HintOf(err) == "") {
					t.Errorf("%s = %v, want %q with a hint", what, err, want)
				}
			}
			if got := f.IgnoredConfigProblems(nil); got != nil {
				t.Errorf("problems before anything loaded: %v", got)
			}
			_, err := f.Config()
			check("Config", err, tt.config)
			_, err = f.Workspace(ctx)
			check("Workspace", err, tt.ws)
			if tt.opened != "" && opened[tt.opened] != 1 || tt.opened == "" && len(opened) != 0 {
				t.Errorf("opened %v, want %q", opened, tt.opened)
			}
			if got := len(f.IgnoredConfigProblems(nil)); got != tt.problems {
				t.Errorf("%d ignored problems, want %d", got, tt.problems)
			}
			_, _, err = f.Credential()
			check("Credential", err, tt.cred)
			if tt.cred != "" && len(f.IgnoredConfigProblems(nil)) != 0 && tt.flags == nil {
				t.Errorf("a problem handed to Credential's caller is still reported as ignored: %v", f.IgnoredConfigProblems(nil))
			}
		})
	}
}

func TestIgnoredConfigProblemsLeavesOutTheCommandsError(t *testing.T) {
	f, _ := newTestFactory(t, map[string]string{"PFZ_CLOUD": "x", "PFZ_TARGET": "nowhere"})
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if got := f.IgnoredConfigProblems(nil); len(got) != 2 {
		t.Fatalf("ignored %v, want both problems", got)
	}
	// The command checked the cloud itself and failed with it (wrapped).
	cmdErr := fault.Wrap(fault.Failed, cfg.Check(config.KeyCloud), "cannot sign in")
	got := f.IgnoredConfigProblems(cmdErr)
	if len(got) != 1 || got[0].Keys[0] != config.KeyTarget {
		t.Errorf("ignored %v, want only the target's problem", got)
	}
	if errors.Is(cmdErr, got[0].Err) {
		t.Error("the problem left is the command's own")
	}
	if _, err := f.ConfigFor(config.KeyTarget); err == nil {
		t.Error("ConfigFor(target) accepted PFZ_TARGET=nowhere")
	}
	if got := f.IgnoredConfigProblems(cmdErr); len(got) != 0 {
		t.Errorf("ignored %v after both were reported", got)
	}
}
