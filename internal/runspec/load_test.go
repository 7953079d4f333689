package runspec

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
)

// fixture is a project on disk:
//
//	root/flows/web/flow.dag.yaml
//	root/data/data.jsonl
//	root/runs/env_file, root/runs/init.json, root/runs/<run.yml>
//	root/cwd/ (the working directory), root/cwd/local.jsonl
type fixture struct {
	root, runs, cwd string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	root := t.TempDir()
	// Resolve symlinks (macOS /tmp) so expected paths compare equal.
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	fx := &fixture{root: root, runs: filepath.Join(root, "runs"), cwd: filepath.Join(root, "cwd")}
	writeFile(t, filepath.Join(root, "flows", "web", "flow.dag.yaml"), "inputs:\n  url:\n    type: string\n")
	writeFile(t, filepath.Join(root, "data", "data.jsonl"), `{"url": "u", "answer": "a"}`+"\n")
	writeFile(t, filepath.Join(fx.runs, "env_file"), "FOO=BAR\n")
	writeFile(t, filepath.Join(fx.runs, "init.json"), `{"model": "gpt", "n": 2}`)
	writeFile(t, filepath.Join(fx.cwd, "local.jsonl"), `{"x": 1}`+"\n")
	writeFile(t, filepath.Join(fx.cwd, "cwd_init.json"), `{"from": "cwd"}`)
	return fx
}

func (fx *fixture) path(rel string) string { return filepath.Join(fx.root, filepath.FromSlash(rel)) }

// load writes yml (when not empty) as runs/run.yml and loads it with flags.
func (fx *fixture) load(t testing.TB, yml string, flags Flags) (*Spec, diag.List, error) {
	t.Helper()
	if yml != "" {
		writeFile(t, filepath.Join(fx.runs, "run.yml"), yml)
		if flags.File == "" {
			flags.File = filepath.Join(fx.runs, "run.yml")
		}
	}
	return Load(LoadOptions{Flags: flags, CWD: fx.cwd})
}

// wantDiag matches one diagnostic: severity, code, line (0: any) and a
// substring of the message.
type wantDiag struct {
	sev  diag.Severity
	code string
	line int
	has  string
}

func (w wantDiag) String() string {
	return fmt.Sprintf("%s %s line %d %q", w.sev, w.code, w.line, w.has)
}

func matchDiags(t *testing.T, got diag.List, want []wantDiag) {
	t.Helper()
	used := make([]bool, len(got))
outer:
	for _, w := range want {
		for i, d := range got {
			if used[i] || d.Severity != w.sev || d.Code != w.code || (w.line != 0 && d.Line != w.line) || !strings.Contains(d.Message, w.has) {
				continue
			}
			used[i] = true
			continue outer
		}
		t.Errorf("missing diagnostic %v", w)
	}
	for i, d := range got {
		if !used[i] {
			t.Errorf("unexpected diagnostic %s", d)
		}
	}
	for _, d := range got {
		if d.Severity == diag.Error && d.Hint == "" {
			t.Errorf("error without a hint: %s", d)
		}
	}
}

const minimal = "flow: ../flows/web\ndata: ../data/data.jsonl\n"

func TestLoadFields(t *testing.T) {
	fx := newFixture(t)
	type tc struct {
		name  string
		yml   string
		flags Flags
		diags []wantDiag
		check func(t *testing.T, s *Spec)
	}
	tests := []tc{
		{name: "minimal", yml: minimal, check: func(t *testing.T, s *Spec) {
			if s.Flow != fx.path("flows/web") || s.Data != fx.path("data/data.jsonl") || s.FlowRemote || s.DataRemote {
				t.Errorf("flow/data = %q %q", s.Flow, s.Data)
			}
			if s.File != filepath.Join(fx.runs, "run.yml") || s.BaseDir != fx.runs || s.CWD != fx.cwd {
				t.Errorf("file/base/cwd = %q %q %q", s.File, s.BaseDir, s.CWD)
			}
			if p := s.PosOf("data"); p.Line != 2 || p.Column != 7 || p.File != s.File {
				t.Errorf("PosOf(data) = %+v", p)
			}
		}},
		{name: "every field", yml: `$schema: https://azuremlschemas.azureedge.net/promptflow/latest/Run.schema.json
name: my_run
display_name: "${variant_id}-${timestamp}"
description: a run
tags: {team: ml, empty: null}
properties: {p: v}
flow: ../flows/web
data: ../data/data.jsonl
run: base_run
column_mapping:
  url: ${data.url}
  n: 3
  obj: {a: 1}
variant: ${summarize_text_content.variant_1}
connections:
  classify_with_llm:
    connection: aoai
    deployment_name: gpt-35-turbo
    temperature: 0.5
environment_variables:
  API_BASE: ${azure_open_ai_connection.api_base}
init:
  model_config: {deployment: d}
runtime: automatic
resources:
  instance_type: Standard_D4s_v3
  idle_time_before_shutdown_minutes: 90
identity:
  type: Managed
  client_id: 00000000-0000-0000-0000-000000000001
`, check: func(t *testing.T, s *Spec) {
			want := &Spec{
				File: s.File, BaseDir: s.BaseDir, CWD: s.CWD, Pos: s.Pos,
				Schema:      "https://azuremlschemas.azureedge.net/promptflow/latest/Run.schema.json",
				Name:        "my_run",
				DisplayName: "${variant_id}-${timestamp}",
				Description: "a run",
				Tags:        map[string]string{"team": "ml", "empty": ""},
				Properties:  map[string]string{"p": "v"},
				Flow:        fx.path("flows/web"),
				Data:        fx.path("data/data.jsonl"),
				Run:         "base_run",
				ColumnMapping: map[string]any{"url": "${data.url}", "n": int64(3),
					"obj": map[string]any{"a": int64(1)}},
				ColumnMappingOrder:   []string{"url", "n", "obj"},
				Variant:              "${summarize_text_content.variant_1}",
				Connections:          map[string]map[string]string{"classify_with_llm": {"connection": "aoai", "deployment_name": "gpt-35-turbo", "temperature": "0.5"}},
				EnvironmentVariables: map[string]string{"API_BASE": "${azure_open_ai_connection.api_base}"},
				Init:                 map[string]any{"model_config": map[string]any{"deployment": "d"}},
				Runtime:              "automatic",
				Resources:            Resources{InstanceType: "Standard_D4s_v3", IdleTime: 90 * time.Minute},
				Identity:             Identity{Type: IdentityManaged, ClientID: "00000000-0000-0000-0000-000000000001"},
			}
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if p := s.PosOf("column_mapping.url"); p.Line != 11 {
				t.Errorf("PosOf(column_mapping.url) = %+v", p)
			}
			if p := s.PosOf("resources.idle_time_before_shutdown_minutes"); p.Line != 27 {
				t.Errorf("PosOf(idle) = %+v", p)
			}
		}},
		{name: "unknown top-level key warns with the nearest key", yml: minimal + "colum_mapping: {a: b}\n",
			diags: []wantDiag{{diag.Warning, CodeUnknownField, 3, "Unknown fields found: {colum_mapping}"}},
			check: func(t *testing.T, s *Spec) {
				if s.ColumnMapping != nil {
					t.Error("an unknown key must not set column_mapping")
				}
			}},
		{name: "dump-only keys are dropped silently", yml: minimal + "status: Completed\ncommand: x\noutputs: {a: b}\n"},
		{name: "non-string top-level key warns", yml: minimal + "1: x\n",
			diags: []wantDiag{{diag.Warning, CodeUnknownField, 3, "{1}"}}},
		{name: "null field", yml: minimal + "description:\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "description: Field may not be null."}}},
		{name: "name must be a string", yml: minimal + "name: 20230629\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "name must be a string, not an integer"}}},
		{name: "tags value must be a string", yml: minimal + "tags: {a: 1}\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "tags.a must be a string"}}},
		{name: "tags must be a mapping", yml: minimal + "tags: [a]\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "tags must be a mapping, not a list"}}},
		{name: "flow required", yml: "data: ../data/data.jsonl\n",
			diags: []wantDiag{{diag.Error, CodeRequired, 0, "Invalid flow value: None"}}},
		{name: "data or run required", yml: "flow: ../flows/web\n",
			diags: []wantDiag{{diag.Error, CodeRequired, 0, "at least one of data or run must be provided"}}},
		{name: "run without data is enough", yml: "flow: ../flows/web\nrun: base\n",
			check: func(t *testing.T, s *Spec) {
				if s.Run != "base" || s.Data != "" {
					t.Errorf("run/data = %q %q", s.Run, s.Data)
				}
			}},
		{name: "flow relative to the YAML, not the CWD", yml: "flow: flows/web\ndata: ../data/data.jsonl\n",
			diags: []wantDiag{{diag.Error, CodePath, 1, "Can't find directory or file in resolved absolute path: " + filepath.ToSlash(filepath.Join(fx.runs, "flows", "web"))}}},
		{name: "workspace flow", yml: "flow: azureml:my_flow\ndata: ../data/data.jsonl\n",
			check: func(t *testing.T, s *Spec) {
				if !s.FlowRemote || s.Flow != "azureml:my_flow" {
					t.Errorf("flow = %q remote=%v", s.Flow, s.FlowRemote)
				}
			}},
		{name: "registry flow", yml: "flow: azureml://registries/promptflow-preview/models/simple_hello_world/versions/202311241\ndata: ../data/data.jsonl\n",
			check: func(t *testing.T, s *Spec) {
				if !s.FlowRemote {
					t.Error("want a remote flow")
				}
			}},
		{name: "bad registry flow", yml: "flow: azureml://registries/x/models/m\ndata: ../data/data.jsonl\n",
			diags: []wantDiag{{diag.Error, CodeRemote, 1, "Invalid remote flow pattern"}}},
		{name: "empty workspace flow name", yml: "flow: 'azureml:'\ndata: ../data/data.jsonl\n",
			diags: []wantDiag{{diag.Error, CodeRemote, 1, "Invalid remote flow pattern"}}},
		{name: "remote data", yml: "flow: ../flows/web\ndata: azureml:my_data:1\n",
			check: func(t *testing.T, s *Spec) {
				if !s.DataRemote || s.Data != "azureml:my_data:1" {
					t.Errorf("data = %q", s.Data)
				}
			}},
		{name: "https data", yml: "flow: ../flows/web\ndata: https://example.com/d.jsonl\n",
			check: func(t *testing.T, s *Spec) {
				if !s.DataRemote {
					t.Error("want remote data")
				}
			}},
		{name: "missing data", yml: "flow: ../flows/web\ndata: not_exist\n",
			diags: []wantDiag{{diag.Error, CodePath, 2, "Invalid remote path. Currently only azureml://xxx or public URL"}}},
		{name: "column_mapping must be a mapping", yml: minimal + "column_mapping: [a]\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "column_mapping should be a dictionary, got a list instead."}}},
		{name: "connections node must be a mapping", yml: minimal + "connections: {llm: aoai}\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "connections.llm must be a mapping"}}},
		{name: "connections value must be single", yml: minimal + "connections: {llm: {connection: [a]}}\n",
			diags: []wantDiag{{diag.Error, CodeConnections, 3, "connections.llm.connection must be a single value"}}},
		{name: "environment variables from a dotenv file", yml: minimal + "environment_variables: env_file\n",
			check: func(t *testing.T, s *Spec) {
				if cmp.Diff(map[string]string{"FOO": "BAR"}, s.EnvironmentVariables) != "" || s.EnvironmentFile != filepath.Join(fx.runs, "env_file") {
					t.Errorf("env = %v from %q", s.EnvironmentVariables, s.EnvironmentFile)
				}
				if p := s.PosOf("environment_variables.FOO"); p.File != filepath.Join(fx.runs, "env_file") || p.Line != 1 {
					t.Errorf("PosOf(FOO) = %+v", p)
				}
			}},
		{name: "environment variable values must be strings", yml: minimal + "environment_variables: {A: 1}\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "environment_variables.A must be a string, not an integer"}}},
		{name: "environment variable null", yml: minimal + "environment_variables: {A: }\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "environment_variables.A: Field may not be null."}}},
		{name: "environment dotenv missing", yml: minimal + "environment_variables: .env\n",
			diags: []wantDiag{{diag.Error, CodePath, 3, "environment_variables: Can't find directory or file"}}},
		{name: "environment dotenv is a folder", yml: minimal + "environment_variables: ../data\n",
			diags: []wantDiag{{diag.Error, CodeEnvironmentFile, 3, "is a folder, not a dotenv file"}}},
		{name: "environment variables wrong type", yml: minimal + "environment_variables: [a]\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "environment_variables must be a mapping or a dotenv file path"}}},
		{name: "init file next to the YAML", yml: minimal + "init: init.json\n",
			check: func(t *testing.T, s *Spec) {
				if diff := cmp.Diff(map[string]any{"model": "gpt", "n": int64(2)}, s.Init); diff != "" {
					t.Errorf("init (-want +got):\n%s", diff)
				}
			}},
		{name: "init file in the CWD only, as pfazure reads it", yml: minimal + "init: cwd_init.json\n",
			diags: []wantDiag{{diag.Warning, CodeInit, 3, "was found in the working directory"}},
			check: func(t *testing.T, s *Spec) {
				if s.Init["from"] != "cwd" {
					t.Errorf("init = %v", s.Init)
				}
			}},
		{name: "init file missing", yml: minimal + "init: nope.json\n",
			diags: []wantDiag{{diag.Error, CodeInit, 3, "Cannot find inputs file"}}},
		{name: "init not a mapping", yml: minimal + "init: 5\n",
			diags: []wantDiag{{diag.Error, CodeInit, 3, "Invalid init kwargs: 5. Expecting a dictionary."}}},
		{name: "variant format", yml: minimal + "variant: summarize.variant_0\n",
			diags: []wantDiag{{diag.Error, CodeVariant, 3, "Invalid variant format: summarize.variant_0"}}},
		{name: "quoted variant is unquoted", yml: minimal + "variant: \"'${a.b}'\"\n",
			check: func(t *testing.T, s *Spec) {
				if s.Variant != "${a.b}" {
					t.Errorf("variant = %q", s.Variant)
				}
			}},
		{name: "resources unknown key names the nearest", yml: minimal + "resources:\n  instance_typ: Standard_D2\n",
			diags: []wantDiag{{diag.Error, CodeUnknownKey, 4, "resources.instance_typ: Unknown field."}},
			check: func(t *testing.T, s *Spec) {}},
		{name: "instance type spelled as the catalog does", yml: minimal + "resources: {instance_type: d4s_V3}\n",
			check: func(t *testing.T, s *Spec) {
				if s.Resources.InstanceType != "Standard_D4s_v3" {
					t.Errorf("instance_type = %q", s.Resources.InstanceType)
				}
			}},
		{name: "a well-formed size the catalog lacks is passed on with a warning", yml: minimal + "resources: {instance_type: Standard_D2als_v6}\n",
			diags: []wantDiag{{diag.Warning, CodeInstanceType, 3, `resources.instance_type: unknown VM size "Standard_D2als_v6"`}},
			check: func(t *testing.T, s *Spec) {
				if s.Resources.InstanceType != "Standard_D2als_v6" {
					t.Errorf("instance_type = %q", s.Resources.InstanceType)
				}
			}},
		{name: "a malformed size is an error naming the nearest", yml: minimal + "resources: {instance_type: D4s v3}\n",
			diags: []wantDiag{{diag.Error, CodeInstanceType, 3, `resources.instance_type: unknown VM size "D4s v3"`}},
			check: func(t *testing.T, s *Spec) {}},
		{name: "resources must be a mapping", yml: minimal + "resources: Standard_D2\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "resources should be a dict, got a string"}}},
		{name: "idle time", yml: minimal + "resources: {idle_time_before_shutdown_minutes: 120}\n",
			check: func(t *testing.T, s *Spec) {
				if s.Resources.IdleTime != 2*time.Hour {
					t.Errorf("idle = %v", s.Resources.IdleTime)
				}
			}},
		{name: "idle time not a number", yml: minimal + "resources: {idle_time_before_shutdown_minutes: 1h}\n",
			diags: []wantDiag{{diag.Error, CodeResources, 3, "must be a whole number of minutes, not 1h"}}},
		{name: "idle time zero", yml: minimal + "resources: {idle_time_before_shutdown_minutes: 0}\n",
			diags: []wantDiag{{diag.Error, CodeResources, 3, "must be at least 1 minute"}}},
		{name: "compute with instance type and managed identity", yml: minimal + "resources: {compute: my_ci, instance_type: Standard_D2}\nidentity: {type: managed}\n",
			diags: []wantDiag{
				{diag.Error, CodeResources, 3, "resources.instance_type cannot be set for a compute-instance session: the VM size is the instance's"},
				{diag.Error, CodeIdentity, 4, "identity cannot be set for a compute-instance session: it uses the instance's identity"},
			}},
		{name: "user identity", yml: minimal + "identity: {type: USER_IDENTITY}\n",
			check: func(t *testing.T, s *Spec) {
				if s.Identity != (Identity{Type: IdentityUser}) {
					t.Errorf("identity = %+v", s.Identity)
				}
			}},
		{name: "user identity with client id", yml: minimal + "identity: {type: user_identity, client_id: x}\n",
			diags: []wantDiag{{diag.Error, CodeUnknownKey, 3, "identity.client_id: Unknown field."}}},
		{name: "identity type unknown", yml: minimal + "identity: {type: managed_identity}\n",
			diags: []wantDiag{{diag.Error, CodeIdentity, 3, "Value 'managed_identity' passed is not in set"}}},
		{name: "identity unknown key", yml: minimal + "identity:\n  type: managed\n  clientid: x\n",
			diags: []wantDiag{{diag.Error, CodeUnknownKey, 5, "identity.clientid: Unknown field."}}},
		{name: "identity type missing", yml: minimal + "identity: {client_id: x}\n",
			diags: []wantDiag{{diag.Error, CodeIdentity, 3, "identity.type: Missing data for required field."}}},
		{name: "identity not a mapping", yml: minimal + "identity: managed\n",
			diags: []wantDiag{{diag.Error, CodeType, 3, "Run's identity should be a dict, got a string"}}},
		{name: "duplicate key", yml: minimal + "name: a\nname: b\n",
			diags: []wantDiag{{diag.Error, CodeDuplicateKey, 4, "name is given twice in one mapping (first on line 3)"}}},
		{name: "invalid YAML", yml: "flow: ../flows/web\ndata: [unclosed\n",
			diags: []wantDiag{{diag.Error, CodeYAML, 2, "invalid YAML"}}},
		{name: "empty file", yml: "# only a comment\n",
			diags: []wantDiag{{diag.Error, CodeYAML, 1, "the run file is empty"}}},
		{name: "list root", yml: "- flow: x\n",
			diags: []wantDiag{{diag.Error, CodeType, 1, "must be a mapping, not a list"}}},
		{name: "two documents", yml: minimal + "---\nname: x\n",
			diags: []wantDiag{{diag.Error, CodeYAML, 0, "more than one YAML document"}}},
		{name: "anchors and merge keys", yml: "base: &b\n  flow: ../flows/web\n  data: ../data/data.jsonl\n<<: *b\nname: merged\n",
			diags: []wantDiag{{diag.Warning, CodeUnknownField, 1, "{base}"}},
			check: func(t *testing.T, s *Spec) {
				if s.Flow != fx.path("flows/web") || s.Name != "merged" {
					t.Errorf("flow/name = %q %q", s.Flow, s.Name)
				}
			}},
		{name: "runtime from the YAML wins over --runtime", yml: minimal + "runtime: yaml-rt\n", flags: Flags{Runtime: "flag-rt"},
			diags: []wantDiag{{diag.Warning, CodeRuntime, 3, `runtime "yaml-rt" from the run definition wins over --runtime "flag-rt"`}},
			check: func(t *testing.T, s *Spec) {
				if s.Runtime != "yaml-rt" {
					t.Errorf("runtime = %q", s.Runtime)
				}
			}},
		{name: "--runtime used when the YAML has none", yml: minimal, flags: Flags{Runtime: "None"},
			check: func(t *testing.T, s *Spec) {
				if s.Runtime != "None" || s.PosOf("runtime").File != "--runtime" {
					t.Errorf("runtime = %q at %+v", s.Runtime, s.PosOf("runtime"))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ds, err := fx.load(t, tc.yml, tc.flags)
			matchDiags(t, ds, tc.diags)
			if ds.HasErrors() {
				if !fault.Is(err, fault.Validation) {
					t.Errorf("error diagnostics must come with a Validation error, got %v", err)
				}
			} else if err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if s == nil {
				t.Fatal("the spec must be returned")
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestLoadErrorNamesTheFile(t *testing.T) {
	fx := newFixture(t)
	_, _, err := fx.load(t, "flow: nowhere\ndata: ../data/data.jsonl\n", Flags{})
	if err == nil || !strings.Contains(err.Error(), "run.yml has 1 error") || !strings.Contains(err.Error(), "run.yml:1:7") {
		t.Errorf("err = %v", err)
	}
	if fault.HintOf(err) == "" {
		t.Error("the error should carry the first diagnostic's hint")
	}
}

// TestPrecedence is pfazure's matrix (§1.4, §7.2): with -f, flag > --set >
// YAML; with --flow, --set > flag.
func TestPrecedence(t *testing.T) {
	fx := newFixture(t)
	yml := minimal + "name: from_yaml\ndisplay_name: yaml_display\n"
	tests := []struct {
		name     string
		yml      string
		flags    Flags
		wantName string
	}{
		{"yaml alone", yml, Flags{}, "from_yaml"},
		{"--set beats yaml", yml, Flags{Set: []string{"name=from_set"}}, "from_set"},
		{"flag beats yaml", yml, Flags{Name: "from_flag"}, "from_flag"},
		{"flag beats --set with -f", yml, Flags{Name: "from_flag", Set: []string{"name=from_set"}}, "from_flag"},
		{"--set beats flag with --flow", "", Flags{Flow: fx.path("flows/web"), Data: fx.path("data/data.jsonl"), Name: "from_flag", Set: []string{"name=from_set"}}, "from_set"},
		{"flag alone with --flow", "", Flags{Flow: fx.path("flows/web"), Data: fx.path("data/data.jsonl"), Name: "from_flag"}, "from_flag"},
		{"later --set wins", yml, Flags{Set: []string{"name=a", "name=b"}}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ds, err := fx.load(t, tc.yml, tc.flags)
			if err != nil || ds.HasErrors() {
				t.Fatalf("err=%v diags=%v", err, ds)
			}
			if s.Name != tc.wantName {
				t.Errorf("name = %q, want %q", s.Name, tc.wantName)
			}
			wantPos := "--name"
			switch tc.wantName {
			case "from_yaml":
				wantPos = s.File
			case "from_set", "a", "b":
				wantPos = "--set name=" + tc.wantName
			}
			if p := s.PosOf("name"); p.File != wantPos {
				t.Errorf("PosOf(name) = %+v, want %q", p, wantPos)
			}
		})
	}
}

func TestFlagsAndSet(t *testing.T) {
	fx := newFixture(t)
	yml := minimal + `column_mapping:
  url: ${data.url}
  keep: x
tags: {a: "1"}
environment_variables: env_file
resources: {instance_type: Standard_D2}
`
	type tc struct {
		name    string
		yml     string
		flags   Flags
		errKind *fault.Kind
		errHas  string
		diags   []wantDiag
		check   func(t *testing.T, s *Spec)
	}
	usage := fault.Usage
	tests := []tc{
		{name: "--column-mapping replaces the whole YAML mapping", yml: yml,
			flags: Flags{ColumnMapping: []string{"url='${data.answer}'"}},
			check: func(t *testing.T, s *Spec) {
				if diff := cmp.Diff(map[string]any{"url": "${data.answer}"}, s.ColumnMapping); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				if p := s.PosOf("column_mapping.url"); p.File != "--column-mapping url='${data.answer}'" {
					t.Errorf("PosOf = %+v", p)
				}
			}},
		{name: "--set changes one key", yml: yml, flags: Flags{Set: []string{"column_mapping.url=${data.answer}"}},
			check: func(t *testing.T, s *Spec) {
				if diff := cmp.Diff(map[string]any{"url": "${data.answer}", "keep": "x"}, s.ColumnMapping); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}},
		{name: "--set creates nested mappings", yml: minimal, flags: Flags{Set: []string{"resources.instance_type=Standard_D4", "identity.type=managed", "tags.k=v"}},
			check: func(t *testing.T, s *Spec) {
				if s.Resources.InstanceType != "Standard_D4" || s.Identity.Type != IdentityManaged || s.Tags["k"] != "v" {
					t.Errorf("spec = %+v", s)
				}
			}},
		{name: "--set idle time from a string", yml: minimal, flags: Flags{Set: []string{"resources.idle_time_before_shutdown_minutes=45"}},
			check: func(t *testing.T, s *Spec) {
				if s.Resources.IdleTime != 45*time.Minute {
					t.Errorf("idle = %v", s.Resources.IdleTime)
				}
			}},
		{name: "--set through a reference string", yml: yml, flags: Flags{Set: []string{"environment_variables.FOO=bar"}},
			errKind: &usage, errHas: "Cannot use '--set' on properties defined by reference strings: --set environment_variables.FOO"},
		{name: "--set with an empty segment", yml: yml, flags: Flags{Set: []string{"tags..a=b"}},
			errKind: &usage, errHas: "empty property name"},
		{name: "--set without =", yml: yml, flags: Flags{Set: []string{"name"}},
			errKind: &usage, errHas: "Usage error: --set KEY=VALUE [KEY=VALUE ...]"},
		{name: "--set unknown top-level key warns", yml: minimal, flags: Flags{Set: []string{"bogus=1"}},
			diags: []wantDiag{{diag.Warning, CodeUnknownField, 0, "{bogus}"}}},
		{name: "--set unknown resources key fails", yml: minimal, flags: Flags{Set: []string{"resources.idle_time=5"}},
			diags: []wantDiag{{diag.Error, CodeUnknownKey, 0, "resources.idle_time: Unknown field."}}},
		{name: "--tags replaces tags", yml: yml, flags: Flags{Tags: []string{"b=2"}},
			check: func(t *testing.T, s *Spec) {
				if cmp.Diff(map[string]string{"b": "2"}, s.Tags) != "" {
					t.Errorf("tags = %v", s.Tags)
				}
			}},
		{name: "--instance-type keeps the rest of resources", yml: minimal + "resources: {idle_time_before_shutdown_minutes: 30}\n", flags: Flags{InstanceType: "Standard_E4s_v3"},
			check: func(t *testing.T, s *Spec) {
				if s.Resources != (Resources{InstanceType: "Standard_E4s_v3", IdleTime: 30 * time.Minute}) {
					t.Errorf("resources = %+v", s.Resources)
				}
			}},
		{name: "--compute with --vm-size is refused as session start refuses it", yml: minimal, flags: Flags{InstanceType: "Standard_D2", Compute: "ci"},
			diags: []wantDiag{{diag.Error, CodeResources, 0, "--vm-size cannot be set for a compute-instance session"}}},
		{name: "an unknown size from --vm-size is named by the flag", yml: minimal, flags: Flags{InstanceType: "Standard_D2als_v6"},
			diags: []wantDiag{{diag.Warning, CodeInstanceType, 0, `--vm-size: unknown VM size "Standard_D2als_v6"`}}},
		{name: "--instance-type through a string resources", yml: minimal + "resources: x\n", flags: Flags{InstanceType: "Standard_D2"},
			errKind: &usage, errHas: "Cannot use '--set' on properties defined by reference strings"},
		{name: "--idle-time duration", yml: minimal, flags: Flags{IdleTime: "1h30m", Compute: "my_ci"},
			check: func(t *testing.T, s *Spec) {
				if s.Resources.IdleTime != 90*time.Minute || s.Resources.Compute != "my_ci" {
					t.Errorf("resources = %+v", s.Resources)
				}
			}},
		{name: "--idle-time minutes", yml: minimal, flags: Flags{IdleTime: "15"},
			check: func(t *testing.T, s *Spec) {
				if s.Resources.IdleTime != 15*time.Minute {
					t.Errorf("idle = %v", s.Resources.IdleTime)
				}
			}},
		{name: "--idle-time seconds", yml: minimal, flags: Flags{IdleTime: "90s"}, errKind: &usage, errHas: "whole number of minutes"},
		{name: "--idle-time zero", yml: minimal, flags: Flags{IdleTime: "0"}, errKind: &usage, errHas: "at least 1 minute"},
		{name: "--idle-time garbage", yml: minimal, flags: Flags{IdleTime: "soon"}, errKind: &usage, errHas: "neither minutes nor a duration"},
		{name: "--identity managed with client id", yml: minimal + "identity: {type: user_identity}\n", flags: Flags{Identity: "managed:abc"},
			check: func(t *testing.T, s *Spec) {
				if s.Identity != (Identity{Type: IdentityManaged, ClientID: "abc"}) {
					t.Errorf("identity = %+v", s.Identity)
				}
			}},
		{name: "--identity user", yml: minimal, flags: Flags{Identity: "user"},
			check: func(t *testing.T, s *Spec) {
				if s.Identity.Type != IdentityUser {
					t.Errorf("identity = %+v", s.Identity)
				}
			}},
		{name: "--identity bogus", yml: minimal, flags: Flags{Identity: "system"}, errKind: &usage, errHas: "is not an identity"},
		{name: "--identity user with id", yml: minimal, flags: Flags{Identity: "user:x"}, errKind: &usage, errHas: "client id goes only with managed"},
		{name: "--identity managed: empty", yml: minimal, flags: Flags{Identity: "managed:"}, errKind: &usage, errHas: "needs a client id"},
		{name: "--environment-variables pairs replace the dotenv file", yml: yml, flags: Flags{EnvironmentVariables: []string{"A=1"}, EnvironmentVariablesGiven: true},
			check: func(t *testing.T, s *Spec) {
				if cmp.Diff(map[string]string{"A": "1"}, s.EnvironmentVariables) != "" {
					t.Errorf("env = %v", s.EnvironmentVariables)
				}
			}},
		{name: "--environment-variables with no value and no .env", yml: yml, flags: Flags{EnvironmentVariablesGiven: true},
			diags: []wantDiag{{diag.Warning, CodeEnvironmentFile, 0, "found no .env file"}},
			check: func(t *testing.T, s *Spec) {
				if len(s.EnvironmentVariables) != 0 {
					t.Errorf("env = %v, want empty (the flag replaces the YAML's)", s.EnvironmentVariables)
				}
			}},
		{name: "--environment-variables bad token", yml: yml, flags: Flags{EnvironmentVariables: []string{"oops"}, EnvironmentVariablesGiven: true},
			errKind: &usage, errHas: "expects file path endswith .env"},
		{name: "--connections", yml: minimal, flags: Flags{Connections: []string{"llm.connection=aoai", "llm.deployment_name=gpt4", "other.model=m"}},
			check: func(t *testing.T, s *Spec) {
				want := map[string]map[string]string{"llm": {"connection": "aoai", "deployment_name": "gpt4"}, "other": {"model": "m"}}
				if diff := cmp.Diff(want, s.Connections); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}},
		{name: "--connections without a node", yml: minimal, flags: Flags{Connections: []string{"connection=aoai"}}, errKind: &usage, errHas: "NODE.KEY=VALUE"},
		{name: "--init pairs", yml: minimal, flags: Flags{Init: []string{"a=1", "b=two"}},
			check: func(t *testing.T, s *Spec) {
				if cmp.Diff(map[string]any{"a": "1", "b": "two"}, s.Init) != "" {
					t.Errorf("init = %v", s.Init)
				}
			}},
		{name: "--init file from the CWD", yml: minimal, flags: Flags{Init: []string{"cwd_init.json"}},
			check: func(t *testing.T, s *Spec) {
				if s.Init["from"] != "cwd" {
					t.Errorf("init = %v", s.Init)
				}
			}},
		{name: "--init missing file", yml: minimal, flags: Flags{Init: []string{"nope.json"}}, errKind: &usage, errHas: "Cannot find inputs file"},
		{name: "--data with -f resolves from the YAML folder", yml: minimal, flags: Flags{Data: "local.jsonl"},
			diags: []wantDiag{{diag.Error, CodePath, 0, filepath.ToSlash(filepath.Join(fx.runs, "local.jsonl"))}},
			check: func(t *testing.T, s *Spec) {
				if p := s.PosOf("data"); p.File != "--data" {
					t.Errorf("PosOf(data) = %+v", p)
				}
			}},
		{name: "--display-name and --description", yml: minimal, flags: Flags{DisplayName: "d", Description: "x"},
			check: func(t *testing.T, s *Spec) {
				if s.DisplayName != "d" || s.Description != "x" {
					t.Errorf("spec = %+v", s)
				}
			}},
		{name: "--variant", yml: minimal, flags: Flags{Variant: "${n.v}"},
			check: func(t *testing.T, s *Spec) {
				if s.Variant != "${n.v}" {
					t.Errorf("variant = %q", s.Variant)
				}
			}},
		{name: "--run", yml: "flow: ../flows/web\n", flags: Flags{Run: "base"},
			check: func(t *testing.T, s *Spec) {
				if s.Run != "base" {
					t.Errorf("run = %q", s.Run)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ds, err := fx.load(t, tc.yml, tc.flags)
			if tc.errKind != nil {
				if err == nil || !fault.Is(err, *tc.errKind) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want kind %v containing %q", err, *tc.errKind, tc.errHas)
				}
				if fault.HintOf(err) == "" {
					t.Error("usage errors need a hint")
				}
				return
			}
			matchDiags(t, ds, tc.diags)
			if (err != nil) != ds.HasErrors() {
				t.Errorf("err = %v with diags %v", err, ds)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestDataFlagHintNamesTheCWDFile(t *testing.T) {
	fx := newFixture(t)
	_, ds, _ := fx.load(t, minimal, Flags{Data: "local.jsonl"})
	if len(ds) != 1 || !strings.Contains(ds[0].Hint, "relative to the run file's folder") || !strings.Contains(ds[0].Hint, "exists in the working directory") {
		t.Errorf("diags = %v", ds)
	}
}

func TestFlowMode(t *testing.T) {
	fx := newFixture(t)
	t.Run("paths from the CWD", func(t *testing.T) {
		s, ds, err := fx.load(t, "", Flags{Flow: "../flows/web", Data: "local.jsonl", ColumnMapping: []string{"x=${data.x}"}})
		if err != nil || len(ds) != 0 {
			t.Fatalf("err=%v diags=%v", err, ds)
		}
		if s.File != "" || s.BaseDir != fx.cwd || s.Flow != fx.path("flows/web") || s.Data != filepath.Join(fx.cwd, "local.jsonl") {
			t.Errorf("spec = %+v", s)
		}
	})
	t.Run("python flex entry", func(t *testing.T) {
		s, ds, err := fx.load(t, "", Flags{Flow: "my_pkg.entry:run", Data: "local.jsonl"})
		if err != nil || len(ds) != 0 || s.FlowEntry != "my_pkg.entry:run" || s.Flow != "" {
			t.Errorf("spec=%+v diags=%v err=%v", s, ds, err)
		}
	})
	t.Run("azureml flow is remote, not an entry", func(t *testing.T) {
		s, _, err := fx.load(t, "", Flags{Flow: "azureml:myflow", Data: "local.jsonl"})
		if err != nil || !s.FlowRemote || s.FlowEntry != "" {
			t.Errorf("spec=%+v err=%v", s, err)
		}
	})
	t.Run("missing flow", func(t *testing.T) {
		_, ds, err := fx.load(t, "", Flags{Flow: "nope", Data: "local.jsonl"})
		if !fault.Is(err, fault.Validation) || len(ds) != 1 || ds[0].File != "--flow" || !strings.Contains(ds[0].Hint, "working directory") {
			t.Errorf("diags=%v err=%v", ds, err)
		}
	})
	t.Run("data or run", func(t *testing.T) {
		_, ds, _ := fx.load(t, "", Flags{Flow: "../flows/web"})
		matchDiags(t, ds, []wantDiag{{diag.Error, CodeRequired, 0, "at least one of data or run"}})
	})
}

func TestExclusiveOptions(t *testing.T) {
	fx := newFixture(t)
	for _, f := range []Flags{
		{File: "a.yml", Flow: "x"},
		{File: "a.yml", ResumeFrom: "r"},
		{Flow: "x", ResumeFrom: "r"},
	} {
		_, _, err := Load(LoadOptions{Flags: f, CWD: fx.cwd})
		if !fault.Is(err, fault.Usage) || err.Error() != "More than one is provided for exclusive options: [file, flow, resume-from]" {
			t.Errorf("%+v: err = %v", f, err)
		}
	}
	_, _, err := Load(LoadOptions{Flags: Flags{Name: "x"}, CWD: fx.cwd})
	if !fault.Is(err, fault.Usage) || !strings.Contains(err.Error(), "To create a run, one of [file, flow, resume-from] must be specified.") {
		t.Errorf("err = %v", err)
	}
	_, _, err = Load(LoadOptions{Flags: Flags{File: "missing.yml"}, CWD: fx.cwd})
	if !fault.Is(err, fault.Usage) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("err = %v", err)
	}
}

func TestResume(t *testing.T) {
	fx := newFixture(t)
	s, ds, err := fx.load(t, "", Flags{ResumeFrom: "old_run", Name: "new_run", Runtime: "rt",
		Set: []string{"display_name=A new run", "tags.Type=Test", "resources.instance_type=Standard_D2", "identity.type=managed"}})
	if err != nil || len(ds) != 0 {
		t.Fatalf("err=%v diags=%v", err, ds)
	}
	if s.ResumeFrom != "old_run" || s.Name != "new_run" || s.DisplayName != "A new run" || s.Tags["Type"] != "Test" ||
		s.Resources.InstanceType != "Standard_D2" || s.Identity.Type != IdentityManaged || s.Runtime != "rt" {
		t.Errorf("spec = %+v", s)
	}

	s, _, err = fx.load(t, "", Flags{ResumeFrom: "old", Set: []string{"resources.runtime=from_set"}})
	if err != nil || s.Runtime != "from_set" {
		t.Errorf("resources.runtime: spec=%+v err=%v", s, err)
	}

	_, _, err = fx.load(t, "", Flags{ResumeFrom: "old", Data: "local.jsonl", ColumnMapping: []string{"a=b"}})
	if !fault.Is(err, fault.Usage) || !strings.Contains(err.Error(), "not supported to be used with the following parameters: data, column_mapping") {
		t.Errorf("err = %v", err)
	}
	_, _, err = fx.load(t, "", Flags{ResumeFrom: "old", EnvironmentVariablesGiven: true})
	if !fault.Is(err, fault.Usage) || !strings.Contains(err.Error(), "environment_variables") {
		t.Errorf("err = %v", err)
	}

	s, ds, err = fx.load(t, "", Flags{ResumeFrom: "old", Set: []string{"bogus=1"}})
	if err != nil {
		t.Fatal(err)
	}
	matchDiags(t, ds, []wantDiag{{diag.Warning, CodeResume, 0, "Unrecognized parameters bogus are ignored."}})
	if s.ResumeFrom != "old" {
		t.Errorf("spec = %+v", s)
	}
}

func TestDotenvWarningsPointAtTheFile(t *testing.T) {
	fx := newFixture(t)
	env := writeFile(t, filepath.Join(fx.runs, "bad.env"), "OK=1\nnot a binding\n")
	_, ds, err := fx.load(t, minimal+"environment_variables: bad.env\n", Flags{})
	if err != nil {
		t.Fatal(err)
	}
	matchDiags(t, ds, []wantDiag{{diag.Warning, CodeDotenv, 2, "could not parse"}})
	if ds[0].File != env {
		t.Errorf("file = %q", ds[0].File)
	}
}

func TestLookupEnvExpandsDotenv(t *testing.T) {
	fx := newFixture(t)
	writeFile(t, filepath.Join(fx.runs, "x.env"), "URL=${BASE}/v1\n")
	writeFile(t, filepath.Join(fx.runs, "run.yml"), minimal+"environment_variables: x.env\n")
	s, _, err := Load(LoadOptions{Flags: Flags{File: filepath.Join(fx.runs, "run.yml")}, CWD: fx.cwd,
		LookupEnv: func(k string) (string, bool) { return "https://h", k == "BASE" }})
	if err != nil || s.EnvironmentVariables["URL"] != "https://h/v1" {
		t.Errorf("env = %v err=%v", s.EnvironmentVariables, err)
	}
}

func TestNearest(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"instance_typ", "did you mean instance_type?"},
		{"idle_time", "did you mean idle_time_before_shutdown_minutes?"},
		{"COMPUTE", "did you mean compute?"},
		{"zzzzzz", "known keys: instance_type, compute, idle_time_before_shutdown_minutes"},
	}
	for _, tc := range tests {
		if got := didYouMean(tc.in, resourceKeys); got != tc.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFromFlagPositions(t *testing.T) {
	fx := newFixture(t)
	_, ds, _ := fx.load(t, minimal, Flags{Set: []string{"resources.instance_typ=x"}})
	if len(ds) != 1 || ds[0].File != "--set resources.instance_typ=x" || ds[0].Line != 0 {
		t.Errorf("diags = %v", ds)
	}
	if got := ds[0].String(); !strings.HasPrefix(got, "--set resources.instance_typ=x: error [run.unknown-key]") {
		t.Errorf("rendered = %q", got)
	}
}

// TestLoadYAMLProblems: a run file that is not usable YAML gets one
// diagnostic at the mistake's line and column, with a hint.
func TestLoadYAMLProblems(t *testing.T) {
	fx := newFixture(t)
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"flow: ../flows/web\n"
	tests := []struct {
		name, yml string
		pos       string // line:column
		msg, hint string
	}{
		{"tab indentation", "flow: ../flows/web\ncolumn_mapping:\n\turl: x\n", "3:1", "invalid YAML", "not tabs"},
		{"unclosed bracket at the end", "flow: ../flows/web\ndata: [\n", "2:7", "invalid YAML", "never closed"},
		{"unclosed brace", "flow: ../flows/web\ntags: {a: b\nname: x\n", "2:7", "invalid YAML", "never closed"},
		{"unclosed quote", "flow: ../flows/web\ndata: \"../data/data.jsonl\n", "2:7", "invalid YAML", "never closed"},
		{"binary garbage", "flow: ../flows/web\ndata: \x80\xff\n", "2:7", "invalid YAML", "UTF-8"},
		{"control character", "flow: ../flows/web\nna\x01me: x\n", "2:3", "invalid YAML", "U+0001"},
		{"colon in a value", "flow: ../flows/web\ndescription: a: b\n", "2:15", "invalid YAML", "quotes"},
		{"text after the document", "\"\"0\n", "1:", "invalid YAML", "quote the whole value"},
		{"empty file", "", "1:1", "the run file is empty", "flow:"},
		{"alias bomb", bomb, "6:", "aliases", "anchors and aliases"},
		{"undefined alias", "flow: *nope\n", "1:7", "invalid YAML", "&nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(fx.runs, "bad.yml")
			writeFile(t, file, tc.yml)
			_, ds, err := Load(LoadOptions{Flags: Flags{File: file}, CWD: fx.cwd})
			if !fault.Is(err, fault.Validation) || len(ds) != 1 {
				t.Fatalf("want one diagnostic and a Validation error, got %v:\n%v", err, ds)
			}
			d := ds[0]
			if d.Code != CodeYAML || d.File != file || !strings.HasPrefix(fmt.Sprintf("%d:%d", d.Line, d.Column), tc.pos) {
				t.Errorf("got %v, want %s at %s", d, CodeYAML, tc.pos)
			}
			if !strings.Contains(d.Message, tc.msg) || d.Hint == "" || !strings.Contains(d.Hint, tc.hint) {
				t.Errorf("message %q / hint %q, want %q / %q", d.Message, d.Hint, tc.msg, tc.hint)
			}
			if strings.Contains(d.Message, "yaml:") {
				t.Errorf("message repeats yaml.v3's prefix: %q", d.Message)
			}
		})
	}
}

// TestLoadRunFileThatIsNoFile: -f naming a folder, a FIFO or a huge file is
// a usage error with a hint, and never blocks.
func TestLoadRunFileThatIsNoFile(t *testing.T) {
	fx := newFixture(t)
	writeFile(t, filepath.Join(fx.runs, "run.yml"), "flow: ../flows/web\ndata: ../data/data.jsonl\n")
	huge := filepath.Join(fx.root, "huge.yml")
	writeFile(t, huge, "description: "+strings.Repeat("x", maxRunFile)+"\n")
	tests := []struct {
		name, file, msg, hint string
	}{
		{"folder with a run.yml", fx.runs, "is a folder", "did you mean --file " + filepath.Join(fx.runs, "run.yml")},
		{"folder without one", fx.cwd, "is a folder", "--flow"},
		{"huge file", huge, "larger than", "data file"},
		{"missing file", filepath.Join(fx.root, "nope.yml"), "does not exist", "relative to the working directory"},
	}
	if fifo := mkfifo(t, filepath.Join(fx.root, "pipe.yml")); fifo != "" {
		tests = append(tests, struct{ name, file, msg, hint string }{"fifo", fifo, "not a regular file", "run.yml"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(LoadOptions{Flags: Flags{File: tc.file}, CWD: fx.cwd})
			if !fault.Is(err, fault.Usage) {
				t.Fatalf("want a usage error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(fault.HintOf(err), tc.hint) {
				t.Errorf("error %q / hint %q, want %q / %q", err, fault.HintOf(err), tc.msg, tc.hint)
			}
		})
	}
}

// TestRunNames: a name that neither target can use stops the run at its
// place in run.yml or on the command line; ordinary and Unicode names pass.
func TestRunNames(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		name, yml, flag string
		bad             string // substring of the message; "" for a good name
	}{
		{name: "generated-looking", yml: "name: web_variant_0_20240101_120000_000000\n"},
		{name: "unicode letters", yml: "name: évaluation-é\n"},
		{name: "newline", yml: "name: \"a\\nb\"\n", bad: "control character"},
		{name: "path traversal", yml: "name: ../../x\n", bad: "starts with a dot"},
		{name: "slash", yml: "name: a/b\n", bad: "holds one of"},
		{name: "blank", yml: "name: \"  \"\n", bad: "is blank"},
		{name: "too long", yml: "name: " + strings.Repeat("x", 256) + "\n", bad: "the limit is 255"},
		{name: "bad --name flag", flag: "a\tb", bad: "control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ds, err := fx.load(t, "flow: ../flows/web\ndata: ../data/data.jsonl\n"+tc.yml, Flags{Name: tc.flag})
			if tc.bad == "" {
				if err != nil || ds.HasErrors() {
					t.Fatalf("a good name was rejected: %v %v", err, ds)
				}
				return
			}
			var hit *diag.Diagnostic
			for i := range ds {
				if ds[i].Code == CodeRunName {
					hit = &ds[i]
				}
			}
			if hit == nil || !fault.Is(err, fault.Validation) || !strings.Contains(hit.Message, tc.bad) || hit.Hint == "" {
				t.Fatalf("want a %s error saying %q, got %v / %v", CodeRunName, tc.bad, err, ds)
			}
			if tc.yml != "" && (hit.Line != 3 || hit.Column != 7) {
				t.Errorf("position %d:%d, want 3:7", hit.Line, hit.Column)
			}
			if s.Name != "" {
				t.Errorf("the bad name was kept: %q", s.Name)
			}
		})
	}
}

// TestColumnMappingOrder checks that the mapping's key order (promptflow
// records a line's mapped inputs in it) is the run definition's: YAML order,
// --set keys in place or appended, --column-mapping pairs in flag order.
func TestColumnMappingOrder(t *testing.T) {
	fx := newFixture(t)
	yml := minimal + "column_mapping:\n  zeta: ${data.url}\n  url: ${data.url}\n  alpha: lit\n  mid: 3\n"
	flow, data := fx.path("flows/web"), fx.path("data/data.jsonl")
	tests := []struct {
		name  string
		yml   string
		flags Flags
		want  []string
	}{
		{"YAML order, not sorted", yml, Flags{}, []string{"zeta", "url", "alpha", "mid"}},
		{"--set keeps an existing key's place and appends a new one", yml,
			Flags{Set: []string{"column_mapping.new=${data.answer}", "column_mapping.url=${data.answer}", "column_mapping.beta=b"}},
			[]string{"zeta", "url", "alpha", "mid", "new", "beta"}},
		{"--column-mapping replaces the YAML mapping, in flag order", yml,
			Flags{ColumnMapping: []string{"zz=${data.url}", "url=${data.answer}", "aa=x"}},
			[]string{"zz", "url", "aa"}},
		{"flags alone, a repeated key keeps its first place", "",
			Flags{Flow: flow, Data: data, ColumnMapping: []string{"b=${data.url}", "a=1", "b=${data.answer}", "c=2"}},
			[]string{"b", "a", "c"}},
		{"flags then --set", "",
			Flags{Flow: flow, Data: data, ColumnMapping: []string{"b=${data.url}", "a=1"}, Set: []string{"column_mapping.b=2", "column_mapping.0=z"}},
			[]string{"b", "a", "0"}},
		{"no mapping", minimal, Flags{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ds, err := fx.load(t, tc.yml, tc.flags)
			if err != nil || ds.HasErrors() {
				t.Fatalf("err=%v diags=%v", err, ds)
			}
			if diff := cmp.Diff(tc.want, s.ColumnMappingOrder); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if len(s.ColumnMappingOrder) != len(s.ColumnMapping) {
				t.Errorf("order %v does not list the mapping %v", s.ColumnMappingOrder, s.ColumnMapping)
			}
			for _, k := range s.ColumnMappingOrder {
				if _, ok := s.ColumnMapping[k]; !ok {
					t.Errorf("order names %q, which the mapping lacks", k)
				}
			}
		})
	}
}
