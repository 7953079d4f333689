package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/cmd/cmdtest"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "pfz"`},
		{[]string{"session", "bogus"}, `unknown command "bogus" for "pfz session"`},
		{[]string{"run", "show"}, "--name is required"},
		{[]string{"run", "list", "-r", "0"}, "--max-results must be a positive integer"},
		{[]string{"run", "list", "--archived-only", "--include-archived"}, "cannot be used together"},
		{[]string{"run", "show", "-n", "x", "--nope"}, "unknown flag: --nope"},
		{[]string{"run", "show", "-n", "x", "extra"}, "takes no arguments"},
		{[]string{"-o", "xml", "version"}, `output must be table, json or yaml, got "xml"`},
		{[]string{"run", "list", "--query", "[].name"}, "--query needs -o json or -o yaml"},
		{[]string{"run", "list", "-o", "json", "--query", "[["}, "invalid --query"},
		{[]string{"session", "start", "--compute-type", "compute-instance"}, "needs --compute NAME"},
		{[]string{"session", "start", "--compute-type", "compute-instance", "--compute", "ci", "--vm-size", "Standard_E4ds_v4"}, "VM size is the instance's"},
		{[]string{"session", "start", "--idle-time", "60"}, `has no unit`},
		{[]string{"session", "start", "--identity", "system"}, "--identity must be user, managed or managed:CLIENT_ID"},
		{[]string{"session", "edit"}, "nothing to change"},
		{[]string{"run", "update", "-n", "r"}, "nothing to update"},
		{[]string{"run", "update", "-n", "r", "--set", "status=x"}, `cannot --set "status"`},
		{[]string{"run", "stream", "-n", "r", "--timeout", "-3"}, "--timeout must be positive"},
		{[]string{"run", "download", "-n", "r", "-o", "out"}, "--output-dir out"},
		{[]string{"run", "create", "--flow", "a", "--resume-from", "b"}, "exclusive options"},
		{[]string{"run", "create", "--dry-run", "--stream", "-f", "x"}, "nothing to --stream"},
		{[]string{"config", "set", "subscripton", "x"}, `did you mean "subscription"`},
		{[]string{"config", "set", "target", "cloud"}, "target must be local or azureml"},
		{[]string{"connection", "delete", "-n", "c"}, "needs --yes"},
		{[]string{"completion", "tcsh"}, "unknown shell"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e := newEnv(t)
			r := e.run(tt.args...)
			r.expect(t, 2, []string{}, []string{"error: ", tt.stderr})
		})
	}
}

func TestVersion(t *testing.T) {
	e := newEnv(t)
	r := e.run("version", "-o", "json")
	r.expect(t, 0, []string{`"version": "`, `"go": "go1.`, `"platform": "`}, []string{})
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, r.stdout)
	}
	e.run("version").expect(t, 0, []string{"pfz version "}, []string{})
	e.run("--version").expect(t, 0, []string{"pfz version "}, []string{})
}

func TestCompletion(t *testing.T) {
	e := newEnv(t)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		r := e.run("completion", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "pfz") {
			t.Errorf("%s: exit %d, %d bytes", sh, r.code, len(r.stdout))
		}
	}
}

func TestNotYetAvailable(t *testing.T) {
	e := newEnv(t)
	e.setup = func(f *cmdutil.Factory) { delete(f.Backends, workspace.TargetLocal) }
	e.run("run", "show", "-n", "x").expect(t, 1, []string{}, []string{"error: the local target is not available in this build yet", "hint: "})
}

// An empty list says so on stderr and leaves stdout empty (a table) or
// prints [] (a document).
func TestEmptyLists(t *testing.T) {
	e := newEnv(t)
	for _, what := range []string{"run", "session", "connection"} {
		e.run(what, "list").expect(t, 0, []string{}, []string{"no " + what + "s found\n"})
		e.run(what, "list", "-o", "json").expect(t, 0, []string{"[]\n"}, []string{})
	}
}

func TestConnectionCommands(t *testing.T) {
	e := newEnv(t)
	e.run("connection", "list", "-o", "json").expect(t, 0, []string{"[]"}, []string{})
	e.run("connection", "create", "-n", "aoai", "--type", "azure_open_ai",
		"--set", "api_base=https://x.openai.azure.com", "api_version=2024-02-01",
		"--secret", "api_key=sk-very-secret-value").
		expect(t, 0, []string{"aoai", "https://x.openai.azure.com", "******"}, []string{})
	r := e.run("connection", "show", "-n", "aoai", "-o", "json")
	r.expect(t, 0, []string{`"api_key": "******"`, `"api_base": "https://x.openai.azure.com"`}, []string{})
	if strings.Contains(r.stdout+r.stderr, "sk-very-secret-value") {
		t.Fatalf("secret printed:\n%s%s", r.stdout, r.stderr)
	}
	e.run("connection", "create", "-n", "bad", "--type", "azure_open_ai", "--set", "nope=1").
		expect(t, 2, []string{}, []string{`"nope" is not a setting`, "hint: "})
	e.run("connection", "list").expect(t, 0, []string{"aoai", "azure_open_ai"}, []string{})
	e.run("connection", "delete", "-n", "aoai", "--yes").expect(t, 0, nil, nil)
	e.run("connection", "show", "-n", "aoai").expect(t, 1, []string{}, []string{"aoai"})
}

func TestConfigCommands(t *testing.T) {
	e := newEnv(t)
	proj := filepath.Join(e.workDir, "proj")
	if err := os.MkdirAll(filepath.Join(proj, ".azureml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, ".azureml", "config.json"),
		[]byte(`{"subscription_id":"sub-aml","resource_group":"rg-aml","workspace_name":"ws-aml"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.workDir = proj

	e.run("config", "set", "resource_group", "rg-file").expect(t, 0, []string{}, []string{"set resource_group"})
	e.run("config", "set", "cloud", "azurecloud", "-o", "json").expect(t, 0, []string{`"key": "cloud"`, `"value": "AzureCloud"`}, nil)
	e.vars["PFZ_WORKSPACE_NAME"] = "ws-env"
	r := e.run("config", "list", "--sources", "-o", "json", "--subscription", "sub-flag")
	r.expect(t, 0, nil, []string{})
	var vals []config.Value
	if err := json.Unmarshal([]byte(r.stdout), &vals); err != nil {
		t.Fatal(err)
	}
	got := map[string]config.Value{}
	for _, v := range vals {
		got[v.Key] = v
	}
	want := map[string][2]string{
		"subscription":   {"sub-flag", "flag"},
		"resource_group": {"rg-file", "config-file"},
		"workspace_name": {"ws-env", "env"},
		"target":         {"azureml", "default"},
		"cloud":          {"AzureCloud", "config-file"},
	}
	for k, w := range want {
		if got[k].Value != w[0] || string(got[k].Source) != w[1] {
			t.Errorf("%s = %+v, want %v", k, got[k], w)
		}
	}
	delete(e.vars, "PFZ_WORKSPACE_NAME")
	e.run("config", "get", "workspace_name").expect(t, 0, []string{"ws-aml\n"}, []string{})
	e.run("config", "get", "workspace_name", "-o", "json").expect(t, 0, []string{`"source": "azureml-config"`}, []string{})
	e.run("config", "unset", "resource_group").expect(t, 0, []string{}, nil)
	e.run("config", "get", "resource_group").expect(t, 0, []string{"rg-aml\n"}, []string{})
	e.run("config", "get", "nope").expect(t, 2, []string{}, []string{"unknown configuration key"})

	// The target follows the workspace, and an explicit --target wins.
	e.run("config", "get", "target", "--target", "local").expect(t, 0, []string{"local\n"}, []string{})
	e.workDir = t.TempDir()
	e.run("config", "get", "target").expect(t, 0, []string{"local\n"}, []string{})

	// A broken config file names itself and says what to do.
	if err := os.WriteFile(filepath.Join(e.vars[config.EnvConfigDir], "config.yaml"), []byte("a: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.run("config", "list").expect(t, 2, []string{}, []string{"config.yaml", "hint:"})
}

func newRun(name, status string) *workspace.Run {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return &workspace.Run{Name: name, Status: status, Target: "local", CreatedOn: &created, DisplayName: name + " display"}
}

func TestRunReadCommands(t *testing.T) {
	e := newEnv(t)
	e.ws.RunByName["r1"] = newRun("r1", workspace.RunCompleted)
	e.ws.RunByName["r2"] = newRun("r2", workspace.RunFailed)
	e.ws.RunByName["old"] = newRun("old", workspace.RunCompleted)
	e.ws.RunByName["old"].IsArchived = true
	e.ws.MetricsByRun["r1"] = pyjson.ObjectOf(map[string]any{"accuracy": 0.75, "count": 4})
	e.ws.DetailsByRun["r1"] = []workspace.LineDetail{
		{LineNumber: 0, Status: "Completed", Inputs: pyjson.ObjectOf(map[string]any{"q": "a"}), Outputs: pyjson.ObjectOf(map[string]any{"answer": "x"})},
		{LineNumber: 1, Status: "Failed", Inputs: pyjson.ObjectOf(map[string]any{"q": "b"}), Error: &workspace.RunError{Message: "boom"}},
	}

	e.run("run", "list").expect(t, 0, []string{"r1\tCompleted\t2025-01-02T03:04:05Z\tr1 display\n", "r2\tFailed"}, []string{})
	r := e.run("run", "list", "-o", "json", "--query", "[].name")
	r.expect(t, 0, nil, []string{})
	if strings.TrimSpace(r.stdout) != "[\n  \"r1\",\n  \"r2\"\n]" {
		t.Errorf("query output %q", r.stdout)
	}
	e.run("run", "list", "--include-archived", "-o", "yaml", "--query", "[].name").expect(t, 0, []string{"- old\n"}, []string{})
	e.run("run", "list", "--archived-only", "-r", "5").expect(t, 0, []string{"old\t"}, []string{})
	if last := e.ws.Calls[len(e.ws.Calls)-1]; last != "run.list max=5 archived-only=true include-archived=false" {
		t.Errorf("last call %q", last)
	}

	e.tty = true
	e.run("run", "show", "-n", "r1").expect(t, 0, []string{"name          r1\n", "status        Completed\n"}, []string{})
	e.tty = false
	e.run("run", "show", "--name", "r1", "-o", "json", "--query", "status").expect(t, 0, []string{"\"Completed\"\n"}, []string{})
	e.run("run", "show", "-n", "nope").expect(t, 1, []string{}, []string{"error: run nope not found"})

	e.run("run", "show-metrics", "-n", "r1").expect(t, 0, []string{"accuracy\t0.75\n", "count\t4\n"}, []string{})
	e.run("run", "show-metrics", "-n", "r1", "-o", "json").expect(t, 0, []string{`"accuracy": 0.75`}, []string{})

	e.run("run", "show-details", "-n", "r1").expect(t, 0, []string{"0\tCompleted\ta\tx\t\n", "1\tFailed\tb\t(Failed)\tboom\n"}, []string{})
	r = e.run("run", "show-details", "-n", "r1", "-o", "json")
	r.expect(t, 0, []string{`"inputs.q": "a"`, `"outputs.answer": "x"`, `"error": "boom"`}, []string{})
	e.run("run", "show-details", "-n", "r1", "--all-results").expect(t, 0, nil, nil)
	if last := e.ws.Calls[len(e.ws.Calls)-1]; last != "run.details r1 max=0" {
		t.Errorf("--all-results asked for %q", last)
	}
	e.run("run", "show-details", "-n", "r1", "-r", "1")
	if last := e.ws.Calls[len(e.ws.Calls)-1]; last != "run.details r1 max=1" {
		t.Errorf("-r 1 asked for %q", last)
	}

	e.run("run", "cancel", "-n", "r2", "-o", "json", "--query", "status").expect(t, 0, []string{"\"CancelRequested\"\n"}, []string{})
	e.run("run", "archive", "-n", "r1", "-o", "json", "--query", "is_archived").expect(t, 0, []string{"true\n"}, []string{})
	e.run("run", "restore", "-n", "r1", "-o", "json", "--query", "is_archived").expect(t, 0, []string{"false\n"}, []string{})
	e.run("run", "update", "-n", "r1", "--set", "display_name=new name", "tags.stage=eval", "description='d e'", "-o", "json").
		expect(t, 0, []string{`"display_name": "new name"`, `"stage": "eval"`, `"description": "d e"`}, []string{})

	out := filepath.Join(e.workDir, "out")
	e.run("run", "download", "-n", "r1", "--output-dir", out, "--overwrite").expect(t, 0, []string{filepath.Join(out, "r1") + "\n"}, []string{})
	e.run("run", "visualize", "-n", "r1,r2", "--names", "old").expect(t, 0, []string{"file:///tmp/visualize.html\n"}, []string{})
	if last := e.ws.Calls[len(e.ws.Calls)-1]; last != "run.visualize [r1 r2 old]" {
		t.Errorf("visualize call %q", last)
	}
	// pfazure's argparse prefix matching: --name for --names.
	e.run("run", "visualize", "--name", "r1").expect(t, 0, nil, []string{})
}

func TestRunStream(t *testing.T) {
	t.Run("completed", func(t *testing.T) {
		e := newEnv(t)
		e.ws.RunByName["r"] = newRun("r", workspace.RunQueued)
		e.ws.StatusesByRun["r"] = []string{workspace.RunQueued, workspace.RunRunning, workspace.RunCompleted}
		e.ws.LogsByRun["r"] = []string{"line 1\n", "line 1\nline 2\n", "line 1\nline 2\nline 3\n"}
		r := e.run("run", "stream", "-n", "r")
		// One stream: the states the log does not say are printed in it.
		r.expect(t, 0, []string{"run r: Queued\nline 1\n", "line 3\nrun r: Completed\n", "status\tCompleted"}, nil)
		if strings.Contains(r.stderr, "run r: ") {
			t.Errorf("states on stderr too:\n%s", r.stderr)
		}
		if strings.Count(r.stdout, "line 1") != 1 {
			t.Errorf("logs repeated:\n%s", r.stdout)
		}
	})
	t.Run("json keeps stdout one document", func(t *testing.T) {
		e := newEnv(t)
		e.ws.RunByName["r"] = newRun("r", workspace.RunRunning)
		e.ws.StatusesByRun["r"] = []string{workspace.RunRunning, workspace.RunCompleted}
		e.ws.LogsByRun["r"] = []string{"hello\n"}
		r := e.run("run", "stream", "-n", "r", "-o", "json")
		r.expect(t, 0, nil, []string{"hello\n"})
		var v map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
		}
	})
	t.Run("failed", func(t *testing.T) {
		e := newEnv(t)
		run := newRun("r", workspace.RunFailed)
		run.Error = &workspace.RunError{Message: "line 3 raised"}
		e.ws.RunByName["r"] = run
		e.run("run", "stream", "-n", "r").expect(t, 1, []string{"status\tFailed"}, []string{"error: run r failed: line 3 raised", "show-details"})
	})
	t.Run("canceled", func(t *testing.T) {
		e := newEnv(t)
		e.ws.RunByName["r"] = newRun("r", workspace.RunCanceled)
		e.run("run", "stream", "-n", "r").expect(t, 1, nil, []string{"was canceled"})
	})
	t.Run("timeout", func(t *testing.T) {
		e := newEnv(t)
		e.ws.RunByName["r"] = newRun("r", workspace.RunRunning)
		e.run("run", "stream", "-n", "r", "--timeout", "1ms").expect(t, 8, []string{"run r: Running\n"}, []string{"still Running", "pfz run stream -n r"})
	})
	t.Run("interrupted", func(t *testing.T) {
		e := newEnv(t)
		e.ws.RunByName["r"] = newRun("r", workspace.RunRunning)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		e.ctx = ctx
		e.run("run", "stream", "-n", "r").expect(t, 130, []string{"run r: Running\n"}, []string{"still running on local", "pfz run cancel -n r"})
	})
}

var hex48 = regexp.MustCompile(`^[0-9a-f]{48}$`)

func TestSessionCommands(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	flowDir := e.copyFlow("hello")

	r := e.run("session", "start", "--flow", flowDir, "--vm-size", "Standard_E4ds_v4", "--idle-time", "90m",
		"--identity", "managed:cid", "-o", "json")
	r.expect(t, 0, []string{`"status": "Running"`, `"vm_size": "Standard_E4ds_v4"`, `"idle_time_seconds": 5400`, `"client_id": "cid"`}, nil)
	if len(e.ws.Started) != 1 {
		t.Fatalf("started %d sessions", len(e.ws.Started))
	}
	spec := e.ws.Started[0]
	if !hex48.MatchString(spec.ID) || spec.UserAlias != "tester" || len(spec.LineageID) != 64 || len(spec.EnvHash) != 64 {
		t.Errorf("spec ids: %+v", spec)
	}
	if spec.ComputeType != workspace.ComputeServerless || spec.IdleTime != 90*time.Minute || spec.Identity.Type != "managed" {
		t.Errorf("spec settings: %+v", spec)
	}
	if e.ws.StartOpts[0].Reporter == nil || e.ws.StartOpts[0].NoWait {
		t.Errorf("start options %+v", e.ws.StartOpts[0])
	}

	// The id is stable for the same flow and environment, from any folder.
	e.cd(flowDir)
	e.run("session", "show", "-o", "json", "--query", "id").expect(t, 0, []string{`"` + spec.ID + `"`}, []string{})

	// Changing the requirements changes the session the flow binds to.
	if err := os.WriteFile(filepath.Join(flowDir, "requirements.txt"), []byte("tiktoken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Until a session for the new environment exists, the commands use the
	// flow's older session and say how to bring it up to date.
	e.run("session", "show", "-o", "json", "--query", "id").
		expect(t, 0, []string{`"` + spec.ID + `"`}, []string{"environment changed since session " + spec.ID, "pfz session reset"})
	e.run("session", "start", "--no-wait").expect(t, 0, []string{"status", "Starting"}, nil)
	spec2 := e.ws.Started[1]
	if spec2.ID == spec.ID || spec2.EnvHash == spec.EnvHash || spec2.LineageID != spec.LineageID {
		t.Errorf("requirements did not change the session: %s vs %s", spec.ID, spec2.ID)
	}
	if spec2.IdleTime != time.Hour || spec2.Identity.Type != "user_identity" {
		t.Errorf("defaults: %+v", spec2)
	}
	if len(spec2.Requirements) != 1 || spec2.Requirements[0] != "tiktoken" {
		t.Errorf("requirements %q", spec2.Requirements)
	}

	e.run("session", "edit", "--idle-time", "2h", "--vm-size", "Standard_E8ds_v4").expect(t, 0, nil, nil)
	if ed := e.ws.Edits[0]; ed.IdleTime == nil || *ed.IdleTime != 2*time.Hour || ed.VMSize == nil || ed.Identity != nil {
		t.Errorf("edit %+v", ed)
	}
	e.run("session", "list", "-o", "json", "--query", "length(@)").expect(t, 0, []string{"2\n"}, []string{})
	e.run("session", "list", "--flow", ".", "-o", "json", "--query", "length(@)").expect(t, 0, []string{"2\n"}, []string{})
	e.run("session", "reset").expect(t, 0, nil, nil)
	e.run("session", "stop", "-o", "json").expect(t, 0, []string{`"status": "Stopped"`}, []string{})
	// The flow's older session is what is left; then nothing.
	e.run("session", "stop").expect(t, 0, nil, []string{"environment changed since session " + spec.ID, "stopped session " + spec.ID})
	e.run("session", "stop").expect(t, 1, []string{}, []string{"no session for flow"})

	// An unknown VM size is an error on local, which sizes the session from
	// pfz's catalog, said once with the nearest sizes...
	r = e.run("session", "start", "--vm-size", "Standard_Nope")
	r.expect(t, 2, []string{}, []string{`unknown VM size "Standard_Nope"`, "did you mean"})
	if strings.Count(r.stderr, "unknown VM size") != 1 {
		t.Errorf("said more than once:\n%s", r.stderr)
	}
	// ...and a warning on azureml, where the workspace has the final word.
	e.ws = cmdtest.New(workspace.TargetAzureML)
	e.run("session", "start", "--vm-size", "Standard_Nope").expect(t, 0, nil, []string{"warning [session.vm-size]"})
}

func TestSessionNeedsAFlow(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	e.run("session", "start").expect(t, 2, []string{}, []string{"found neither flow.dag.yaml nor flow.flex.yaml"})
	e.run("session", "show", "--flow", e.copyFlow("unparsable")).expect(t, 2, []string{}, []string{"error: ", "flow.dag.yaml"})
}

func TestPackages(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	flowDir := e.copyFlow("hello")
	e.cd(flowDir)

	// Save only: the file is created; the session is not touched.
	r := e.run("packages", "install", "tiktoken==0.7.0", "promptflow==1.0", "--save-only", "-o", "json")
	r.expect(t, 0, []string{`"installed": false`, `"changed": true`}, []string{"saved ", "warning", "promptflow"})
	data, err := os.ReadFile(filepath.Join(flowDir, "requirements.txt"))
	if err != nil || string(data) != "tiktoken==0.7.0\npromptflow==1.0\n" {
		t.Fatalf("requirements.txt = %q, %v", data, err)
	}
	// The flow did not name it: now it does, comments and all kept.
	dag, err := os.ReadFile(filepath.Join(flowDir, "flow.dag.yaml"))
	if err != nil || !strings.Contains(string(dag), "environment:\n  python_requirements_txt: requirements.txt\n") {
		t.Fatalf("flow.dag.yaml does not name requirements.txt:\n%s", dag)
	}
	for _, c := range e.ws.Calls {
		if strings.HasPrefix(c, "session.install") {
			t.Errorf("save-only installed: %v", e.ws.Calls)
		}
	}

	// A local wheel is an error that names a custom image, and nothing changes.
	e.run("packages", "install", "./dist/my.whl").expect(t, 2, []string{}, []string{"error: ", "hint: "})
	if again, _ := os.ReadFile(filepath.Join(flowDir, "requirements.txt")); string(again) != string(data) {
		t.Errorf("file changed after a rejected install: %q", again)
	}

	// Without a session the file is saved and the command says so (the
	// next start installs it); with one, the whole file is installed.
	e.run("packages", "install", "requests").expect(t, 0, []string{"requests"}, []string{"no running session", "pfz session start"})
	e.run("session", "start").expect(t, 0, nil, nil)
	id := e.ws.Started[0].ID
	e.ws.PackagesByID[id] = &workspace.PackageList{SessionID: id, PythonVersion: "3.11", Packages: []workspace.Package{
		{Name: "promptflow", Version: "1.18.0", Origin: workspace.OriginBase},
		{Name: "tiktoken", Version: "0.7.0", Origin: workspace.OriginRequirements},
	}}
	e.run("packages", "list", "--flow", flowDir).expect(t, 0, []string{"promptflow\t1.18.0\tbase\n", "tiktoken\t0.7.0\trequirements\n"}, nil)

	r = e.run("packages", "install", "requests>=2")
	r.expect(t, 0, []string{"requests>=2"}, nil)
	if strings.Count(r.stderr, "requirements-pinned-promptflow") != 1 {
		t.Errorf("the pinned-promptflow warning should show once:\n%s", r.stderr)
	}
	got := e.ws.InstalledByID[id]
	if strings.Join(got, "|") != "tiktoken==0.7.0|promptflow==1.0|requests>=2" {
		t.Errorf("installed %q", got)
	}
}

func TestFlowValidate(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	good := e.copyFlow("hello")
	bad := e.copyFlow("broken")

	e.run("flow", "validate", good).expect(t, 0, []string{}, []string{"0 errors, 0 warnings"})
	e.cd(good)
	e.run("flow", "validate").expect(t, 0, []string{}, []string{"0 errors"})
	e.run("flow", "validate", "-f", "run.yml").expect(t, 0, []string{}, []string{"0 errors"})

	r := e.run("flow", "validate", bad)
	r.expect(t, 2, []string{"flow.dag.yaml:12:5\terror\tsource-not-found\t", "flow.dag.yaml:15:11\terror\tunknown-input-ref\t"}, []string{"2 errors"})

	r = e.run("flow", "validate", bad, "-o", "json")
	r.expect(t, 2, nil, []string{})
	var rep struct {
		Valid       bool
		Errors      int
		Diagnostics []map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Valid || rep.Errors != 2 || len(rep.Diagnostics) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for _, k := range []string{"severity", "code", "file", "line", "column", "message", "hint"} {
		if _, ok := rep.Diagnostics[0][k]; !ok {
			t.Errorf("diagnostic lacks %q: %v", k, rep.Diagnostics[0])
		}
	}

	// A run.yml with a bad column mapping is reported against run.yml.
	if err := os.WriteFile(filepath.Join(good, "bad-run.yml"), []byte("flow: .\ndata: data.jsonl\ncolumn_mapping:\n  name: ${data.nmae}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.run("flow", "validate", "-f", "bad-run.yml").expect(t, 2, []string{"bad-run.yml:4"}, []string{"1 error"})
}

func TestPanicIsReportedShortly(t *testing.T) {
	e := newEnv(t)
	e.setup = func(f *cmdutil.Factory) {
		f.Backends[workspace.TargetLocal] = func(context.Context, *config.Config) (workspace.Workspace, error) {
			panic("boom")
		}
	}
	r := e.run("run", "show", "-n", "x")
	r.expect(t, 1, []string{}, []string{"error: pfz crashed: boom", "hint: this is a bug"})
	if strings.Contains(r.stderr, "goroutine") {
		t.Errorf("stack trace without --debug:\n%s", r.stderr)
	}
	r = e.run("run", "show", "-n", "x", "--debug")
	if !strings.Contains(r.stderr, "goroutine") {
		t.Errorf("no stack trace with --debug:\n%s", r.stderr)
	}
}

func TestRunCreateDryRun(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	flowDir := e.copyFlow("hello")
	e.cd(flowDir)
	// A dry run opens no workspace: it works with no backend at all.
	e.setup = func(f *cmdutil.Factory) {
		delete(f.Backends, workspace.TargetLocal)
		delete(f.Backends, workspace.TargetAzureML)
	}

	r := e.run("run", "create", "-f", "run.yml", "--dry-run", "-o", "json",
		"--column-mapping", "name=${data.name}", "greeting=hi",
		"--env", "A=1", "OPENAI_API_KEY=sk-secret",
		"--set", "description=from set", "tags.k=v",
		"--vm-size", "Standard_E4ds_v4", "--identity", "managed:cid")
	r.expect(t, 0, nil, nil)
	if strings.Contains(r.stdout+r.stderr, "sk-secret") {
		t.Errorf("a secret reached the output:\n%s\n%s", r.stdout, r.stderr)
	}
	var sub struct {
		Name        string
		Description string
		Tags        map[string]string
		Snapshot    struct {
			Hash     string
			BlobPath string `json:"blob_path"`
			Files    []struct{ Path string }
		}
		Data          struct{ Local, Hash string }
		InputsMapping map[string]any    `json:"inputs_mapping"`
		Env           map[string]string `json:"environment_variables"`
		Runtime       string            `json:"runtime_name"`
		Resources     struct {
			VMSize string `json:"vm_size"`
		}
		Identity workspace.Identity
		Session  struct {
			ID        string `json:"session_id"`
			Lineage   string `json:"flow_lineage_id"`
			EnvHash   string `json:"environment_hash"`
			UserAlias string `json:"user_alias"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &sub); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	if !strings.HasPrefix(sub.Name, "hello_variant_0_") || sub.Description != "from set" || sub.Tags["k"] != "v" {
		t.Errorf("names: %+v", sub)
	}
	if len(sub.Snapshot.Hash) != 32 || !strings.HasPrefix(sub.Snapshot.BlobPath, "LocalUpload/"+sub.Snapshot.Hash+"/hello/") || len(sub.Snapshot.Files) != 4 {
		t.Errorf("snapshot: %+v", sub.Snapshot)
	}
	if sub.Data.Hash == "" || !strings.HasSuffix(sub.Data.Local, "data.jsonl") {
		t.Errorf("data: %+v", sub.Data)
	}
	if sub.InputsMapping["name"] != "${data.name}" || sub.InputsMapping["greeting"] != "hi" {
		t.Errorf("column mapping (nargs) = %v", sub.InputsMapping)
	}
	if sub.Env["A"] != "1" || sub.Env["OPENAI_API_KEY"] != "***" {
		t.Errorf("environment = %v", sub.Env)
	}
	if sub.Runtime != "automatic" || sub.Resources.VMSize != "Standard_E4ds_v4" || sub.Identity.ClientID != "cid" {
		t.Errorf("runtime/resources/identity: %+v", sub)
	}
	if !hex48.MatchString(sub.Session.ID) || sub.Session.UserAlias != "tester" || len(sub.Session.Lineage) != 64 || len(sub.Session.EnvHash) != 64 {
		t.Errorf("session: %+v", sub.Session)
	}

	// The run binds to the session `session start` starts for the same flow.
	e.setup = nil
	e.run("session", "start").expect(t, 0, nil, nil)
	if got := e.ws.Started[0].ID; got != sub.Session.ID {
		t.Errorf("session start id %s, dry-run session id %s", got, sub.Session.ID)
	}

	// Table view, and the same run from flags instead of run.yml.
	e.run("run", "create", "--flow", ".", "--data", "data.jsonl", "--column-mapping", "name=${data.name}", "--dry-run").
		expect(t, 0, []string{"snapshot\t4 files", "session\t" + sub.Session.ID, "file\tgreet.py"}, nil)
}

func TestRunCreateRejectsBeforeSubmitting(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	e.cd(e.copyFlow("hello"))
	r := e.run("run", "create", "-f", "run.yml", "--column-mapping", "name=${data.nmae}")
	r.expect(t, 2, []string{}, []string{"error [", "nmae", "error: "})
	if len(e.ws.Submitted) != 0 {
		t.Errorf("submitted despite errors")
	}
	e.run("run", "create", "-f", "run.yml", "--column-mapping", "novalue").expect(t, 2, []string{}, []string{"KEY=VALUE"})
}

func TestRunCreateSubmitAndStream(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	e.cd(e.copyFlow("hello"))
	e.run("run", "create", "-f", "run.yml", "-n", "r1").expect(t, 0, []string{"name\tr1\n", "status\tNotStarted\n"}, []string{"submitted run r1"})
	if len(e.ws.Submitted) != 1 || e.ws.Submitted[0].Name != "r1" || e.ws.Submitted[0].Snapshot == nil {
		t.Fatalf("submitted %+v", e.ws.Submitted)
	}

	e.ws.StatusesByRun["r2"] = []string{workspace.RunRunning, workspace.RunCompleted}
	e.ws.LogsByRun["r2"] = []string{"executing line 0\n"}
	e.ws.RunByName["r2"] = newRun("r2", workspace.RunNotStarted)
	e.run("run", "create", "-f", "run.yml", "-n", "r2", "-s", "--line-timeout", "30").
		expect(t, 0, []string{"executing line 0\n", "status\tCompleted"}, nil)
	if lt := e.ws.Submitted[1].LineTimeout; lt != 30*time.Second {
		t.Errorf("line timeout %v", lt)
	}

	run := newRun("r3", workspace.RunFailed)
	run.Error = &workspace.RunError{Message: "bad line"}
	e.ws.RunByName["r3"] = run
	e.run("run", "create", "-f", "run.yml", "-n", "r3", "--stream").expect(t, 1, nil, []string{"run r3 failed: bad line"})
}

func TestVerbose(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	e.cd(e.copyFlow("hello"))
	e.run("session", "start", "--verbose").expect(t, 0, nil, []string{"target local: no workspace configured", "session " + e.ws.Started[0].ID + " for flow"})
	r := e.run("session", "show")
	if strings.Contains(r.stderr, " for flow ") {
		t.Errorf("verbose lines without --verbose:\n%s", r.stderr)
	}
}

// TestTargetNote: every command that acts on a target says which one and
// why, on stderr, whatever chose it (issue: a target chosen by a parent
// folder's .azureml/config.json or pfazure's variables is no surprise).
func TestTargetNote(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"default local", nil, nil, "target local: no workspace configured (set one with `pfz config set`, AZUREML_ARM_* or .azureml/config.json, or pass --target azureml)\n"},
		{"flag", []string{"--target", "local"}, nil, "target local: set by --target\n"},
		{"PFZ_TARGET", nil, map[string]string{"PFZ_TARGET": "local"}, "target local: set by PFZ_TARGET\n"},
		{"pfazure variables", nil, map[string]string{"AZUREML_ARM_SUBSCRIPTION": "sub", "AZUREML_ARM_RESOURCEGROUP": "rg", "AZUREML_ARM_WORKSPACE_NAME": "ws"},
			"target azureml: workspace sub/rg/ws from AZUREML_ARM_SUBSCRIPTION, AZUREML_ARM_RESOURCEGROUP, AZUREML_ARM_WORKSPACE_NAME — pass --target local to run on this machine\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for k, v := range tt.vars {
				e.vars[k] = v
			}
			e.chdir()
			r := e.run(append([]string{"run", "list"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if first, _, _ := strings.Cut(r.stderr, "\n"); first+"\n" != tt.want {
				t.Errorf("stderr = %q\nwant   %q", r.stderr, tt.want)
			}
		})
	}
}

// TestAzureMLWithoutWorkspaceSaysSoFirst: with --target azureml and no
// workspace, the first error names the missing workspace, not a credential.
func TestAzureMLWithoutWorkspaceSaysSoFirst(t *testing.T) {
	e := newEnv(t)
	e.realAlias = true
	e.chdir()
	e.cd(e.copyFlow("hello"))
	for _, args := range [][]string{{"session", "start"}, {"packages", "list"}, {"run", "create", "--flow", ".", "--data", "data.jsonl"}} {
		r := e.run(append(args, "--target", "azureml")...)
		if r.code != 2 || !strings.Contains(r.stderr, "the azureml target needs a workspace") || strings.Contains(r.stderr, "token") {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

// flow validate of an evaluation run.yml: ${run.…} is a warning without
// --run; with --run its outputs are checked against the run the target has.
func TestValidateEvaluationRun(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "examples", "eval-accuracy"))
	if err != nil {
		t.Fatal(err)
	}
	runYML := filepath.Join(root, "run.yml")
	e := newEnv(t)
	e.run("flow", "validate", root, "-f", runYML).
		expect(t, 0, []string{"warning\trun.needs-run", "pfz flow validate --run NAME"}, []string{"0 errors, 1 warning"})

	e.ws.RunByName["base"] = newRun("base", workspace.RunCompleted)
	e.ws.DetailsByRun["base"] = []workspace.LineDetail{{LineNumber: 0, Status: "Completed", Outputs: pyjson.ObjectOf(map[string]any{"sentiment": "positive", "explanation": "x"})}}
	e.run("flow", "validate", root, "-f", runYML, "--run", "base").expect(t, 0, []string{}, []string{"0 errors, 0 warnings"})

	e.ws.DetailsByRun["base"] = []workspace.LineDetail{{LineNumber: 0, Status: "Completed", Outputs: pyjson.ObjectOf(map[string]any{"label": "positive"})}}
	e.run("flow", "validate", root, "-f", runYML, "--run", "base").
		expect(t, 2, []string{`column_mapping.prediction: run base has no output "sentiment"`, "its outputs are: label"}, nil)

	e.run("flow", "validate", root, "-f", runYML, "--run", "nope").
		expect(t, 0, []string{"run nope was not found on the target"}, nil)
	e.run("flow", "validate", root, "--run", "base").expect(t, 2, []string{}, []string{"no -f run.yml is given"})
}

// run create without --run names the fix once: one finding for all the
// ${run.…} bindings, and the final error does not repeat its hint.
func TestRunCreateWithoutRunHintsOnce(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "examples", "eval-accuracy"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	r := e.run("run", "create", "-f", filepath.Join(root, "run.yml"), "--dry-run")
	r.expect(t, 2, nil, []string{"require run, and none is given"})
	if n := strings.Count(r.stderr, "add run: <name of the run to evaluate>"); n != 1 {
		t.Errorf("the hint is printed %d times:\n%s", n, r.stderr)
	}
}

// Shell completion offers values, not only command names: run names for -n
// and --run, connection names, -o, --target, the VM size catalog, identity
// forms and flow folders.
func TestCompletionOfValues(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	e.copyFlow("hello")
	if err := os.MkdirAll(filepath.Join(e.workDir, "notaflow"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.ws.RunByName["r1"] = newRun("r1", workspace.RunCompleted)
	e.ws.RunByName["r2"] = newRun("r2", workspace.RunFailed)
	e.run("connection", "create", "-n", "aoai", "--type", "azure_open_ai",
		"--set", "api_base=https://x.openai.azure.com", "--secret", "api_key=k").expect(t, 0, nil, nil)
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"run", "show", "-n", ""}, []string{"r1\tCompleted\n", "r2\tFailed\n"}, nil},
		{[]string{"run", "show-details", "--name", "r2"}, []string{"r2\tFailed\n"}, []string{"r1"}},
		{[]string{"run", "create", "--run", ""}, []string{"r1\t"}, nil},
		{[]string{"run", "create", "-n", ""}, nil, []string{"r1"}},
		{[]string{"connection", "show", "-n", ""}, []string{"aoai\tazure_open_ai\n"}, nil},
		{[]string{"run", "list", "-o", ""}, []string{"table\n", "json\n", "yaml\n"}, nil},
		{[]string{"run", "list", "--target", ""}, []string{"local\n", "azureml\n"}, nil},
		{[]string{"session", "start", "--vm-size", "Standard_E4ds"}, []string{"Standard_E4ds_v4\t"}, nil},
		{[]string{"run", "create", "--vm-size", "Standard_D2"}, []string{"Standard_D2s_v3\t"}, nil},
		{[]string{"session", "start", "--identity", ""}, []string{"user\t", "managed\t", "managed:\t"}, nil},
		{[]string{"session", "start", "--compute-type", ""}, []string{"serverless\n", "compute-instance\n"}, nil},
		{[]string{"session", "start", "--flow", ""}, []string{"hello\n", "notaflow/\n"}, nil},
		{[]string{"flow", "test", "--flow", ""}, []string{"hello\n"}, nil},
		{[]string{"flow", "validate", "--source", ""}, []string{"hello\n"}, nil},
	} {
		r := e.run(append([]string{"__complete"}, tc.args...)...)
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("pfz %s: no %q in\n%s", strings.Join(tc.args, " "), w, r.stdout)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(r.stdout, w) {
				t.Errorf("pfz %s: %q offered:\n%s", strings.Join(tc.args, " "), w, r.stdout)
			}
		}
		if strings.Contains(r.stderr, "target local") {
			t.Errorf("pfz %s: the target note reached the terminal: %s", strings.Join(tc.args, " "), r.stderr)
		}
	}
}
