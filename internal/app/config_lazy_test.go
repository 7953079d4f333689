package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/config"
)

const (
	badCloud  = `invalid PFZ_CLOUD: cloud must be AzureCloud, AzureChinaCloud or AzureUSGovernment, got "x"`
	cloudHint = "hint: fix or unset the environment variable PFZ_CLOUD"
	amlWhere  = ".azureml/config.json:3:3: invalid character 'b' looking for beginning of object key string"
	amlHint   = "hint: it must be a JSON object"
)

// brokenAzureMLParent writes a malformed .azureml/config.json in the working
// folder and moves pfz into a flow folder below it.
func brokenAzureMLParent(e *env) string {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Join(e.workDir, ".azureml"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.workDir, ".azureml", "config.json"), []byte("{\n  \"subscription_id\": \"s\",\n  bad\n}\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.chdir()
	dir := e.copyFlow("hello")
	e.cd(dir)
	return dir
}

// TestConfigProblemsDoNotBlockCommandsThatDoNotNeedThem: a bad PFZ_CLOUD or
// a broken .azureml/config.json in a parent folder lets every command that
// does not read the value run, and says after it that the value was ignored.
func TestConfigProblemsDoNotBlockCommandsThatDoNotNeedThem(t *testing.T) {
	tests := []struct {
		args   []string
		stdout string
	}{
		{[]string{"version"}, "pfz version "},
		{[]string{"version", "-o", "json"}, `"version": "`},
		{[]string{"flow", "validate"}, ""},
		{[]string{"flow", "validate", "-o", "json"}, `"valid": true`},
		{[]string{"run", "create", "-f", "run.yml", "--dry-run"}, "flow.dag.yaml"},
		{[]string{"run", "create", "-f", "run.yml", "--dry-run", "--target", "local", "-o", "json"}, `"user_alias": "`},
	}
	for _, tt := range tests {
		name := strings.Join(tt.args, " ")
		t.Run("PFZ_CLOUD=x "+name, func(t *testing.T) {
			e := newEnv(t)
			e.chdir()
			e.cd(e.copyFlow("hello"))
			e.realAlias = true
			e.vars["PFZ_CLOUD"] = "x"
			r := e.run(tt.args...)
			r.expect(t, 0, []string{tt.stdout}, []string{"warning: " + badCloud + " (ignored: this command does not use cloud, arm_endpoint, blob_endpoint, file_endpoint)", cloudHint})
			if strings.Contains(r.stderr, "error:") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
		})
		t.Run("broken .azureml/config.json "+name, func(t *testing.T) {
			e := newEnv(t)
			brokenAzureMLParent(e)
			e.realAlias = true
			r := e.run(tt.args...)
			want := []string{"warning: cannot parse ", amlWhere + " (ignored: this command does not use subscription, resource_group, workspace_name, target)", amlHint}
			switch {
			case strings.Contains(name, "--target local"):
				// The target is chosen, so it does not follow the file.
				want[1] = amlWhere + " (ignored: this command does not use subscription, resource_group, workspace_name)"
			case strings.Contains(name, "--dry-run"):
				// The target, and so the user alias, cannot be told: the dry
				// run says so once, as for any alias it cannot get, and
				// carries on.
				want = []string{"warning: cannot tell your user alias (cannot choose the target, which follows the workspace settings: cannot parse ", amlWhere, `uses "unknown_user"`}
				if strings.Contains(r.stderr, "(ignored") {
					t.Errorf("told twice:\n%s", r.stderr)
				}
			}
			r.expect(t, 0, []string{tt.stdout}, want)
			if strings.Contains(r.stderr, "error:") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
		})
	}
}

// TestConfigProblemsNeverTouchHelp: help, help topics and completion do not
// read the configuration at all.
func TestConfigProblemsNeverTouchHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "environment"}, {"help", "exit-codes"}, {"run", "create", "--help"},
		{"completion", "bash"}, {"--version"}, {"config", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e := newEnv(t)
			brokenAzureMLParent(e)
			e.vars["PFZ_CLOUD"] = "x"
			e.vars["PFZ_TARGET"] = "nowhere"
			r := e.run(args...)
			r.expect(t, 0, nil, []string{})
			if r.stdout == "" {
				t.Error("no output")
			}
		})
	}
}

// TestConfigProblemsStopCommandsThatNeedThem: a command that reads the bad
// value fails with where it is and what to do, once, and no "ignored".
func TestConfigProblemsStopCommandsThatNeedThem(t *testing.T) {
	tests := []struct {
		name   string
		vars   map[string]string
		aml    bool
		args   []string
		code   int
		stderr []string
	}{
		{"auth needs the cloud", map[string]string{"PFZ_CLOUD": "x"}, false, []string{"auth", "status"}, 2,
			[]string{"error: " + badCloud, cloudHint}},
		{"azureml needs the cloud", map[string]string{"PFZ_CLOUD": "x"}, false,
			[]string{"run", "list", "--target", "azureml", "--subscription", "s", "-g", "g", "-w", "w"}, 2, []string{"error: " + badCloud, cloudHint}},
		{"the target follows the broken workspace file", nil, true, []string{"run", "list"}, 2,
			[]string{"error: cannot choose the target, which follows the workspace settings: cannot parse ", amlWhere, amlHint, "or choose the target with --target local"}},
		{"the workspace is in the broken file", nil, true, []string{"run", "list", "--target", "azureml"}, 2,
			[]string{"error: cannot parse ", amlWhere, amlHint}},
		{"a real run needs the target", nil, true, []string{"run", "create", "-f", "run.yml"}, 2,
			[]string{"error: cannot choose the target", amlWhere}},
		{"a bad target in the environment", map[string]string{"PFZ_TARGET": "cloud"}, false, []string{"session", "list"}, 2,
			[]string{`error: invalid PFZ_TARGET: target must be local or azureml, got "cloud"`, "hint: fix or unset the environment variable PFZ_TARGET"}},
		{"a bad output format stops every command that prints", map[string]string{"PFZ_OUTPUT": "xml"}, false, []string{"version"}, 2,
			[]string{`error: invalid PFZ_OUTPUT: output must be table, json or yaml, got "xml"`}},
		{"a bad flag is a usage error wherever it is", nil, false, []string{"flow", "validate", "--target", "cloud"}, 2,
			[]string{`error: invalid --target: target must be local or azureml, got "cloud"`, "hint: --target takes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.aml {
				brokenAzureMLParent(e)
			} else {
				e.chdir()
				e.cd(e.copyFlow("hello"))
			}
			for k, v := range tt.vars {
				e.vars[k] = v
			}
			r := e.run(tt.args...)
			r.expect(t, tt.code, []string{}, tt.stderr)
			if strings.Contains(r.stderr, "warning:") || strings.Count(r.stderr, "error:") != 1 {
				t.Errorf("want one error and no warning:\n%s", r.stderr)
			}
		})
	}

	// The local target reads neither the cloud nor the workspace file.
	e := newEnv(t)
	brokenAzureMLParent(e)
	e.vars["PFZ_CLOUD"] = "x"
	r := e.run("run", "list", "--target", "local")
	r.expect(t, 0, nil, []string{"warning: " + badCloud, "warning: cannot parse ", amlWhere})
}

// TestConfigListShowsProblems: `config list --sources` and `config get` show
// a bad value where it came from and why it cannot be used.
func TestConfigListShowsProblems(t *testing.T) {
	e := newEnv(t)
	brokenAzureMLParent(e)
	e.vars["PFZ_CLOUD"] = "x"
	r := e.run("config", "list", "--sources")
	r.expect(t, 0, []string{"cloud\tx\tenv\tPFZ_CLOUD\n", "target\tlocal\tdefault\tno workspace is configured\n"},
		[]string{"warning: " + badCloud + "; commands that use cloud, arm_endpoint, blob_endpoint, file_endpoint fail until it is fixed", cloudHint,
			amlWhere + "; commands that use subscription, resource_group, workspace_name, target fail until it is fixed"})
	if strings.Contains(r.stderr, "ignored") {
		t.Errorf("config list says it ignored what it shows:\n%s", r.stderr)
	}

	r = e.run("config", "list", "--sources", "-o", "json")
	r.expect(t, 0, nil, nil)
	var vals []config.Value
	if err := json.Unmarshal([]byte(r.stdout), &vals); err != nil {
		t.Fatal(err)
	}
	problems := map[string]string{}
	for _, v := range vals {
		problems[v.Key] = v.Problem
	}
	for key, want := range map[string]string{
		"cloud": badCloud, "arm_endpoint": badCloud, "blob_endpoint": badCloud,
		"subscription": amlWhere, "resource_group": amlWhere, "workspace_name": amlWhere,
		"target": "cannot choose the target", "output": "", "home": "", "service_endpoint": "",
	} {
		if got := problems[key]; (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s problem %q, want %q", key, got, want)
		}
	}

	e.run("config", "get", "cloud", "-o", "json").expect(t, 0, []string{`"value": "x"`, `"source": "env"`, `"problem": "invalid PFZ_CLOUD`}, []string{cloudHint})
	// config set writes the file; the bad variable does not stop it.
	e.run("config", "set", "cloud", "AzureChinaCloud").expect(t, 0, []string{}, []string{"set cloud"})
}
