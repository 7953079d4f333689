package runspec

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

// corpusWant is what Load must say about one run YAML of promptflow's
// test_configs/runs (pfazure-surface.md §6.1).
type corpusWant struct {
	diags []wantDiag
	// needsFlow names a flow folder (under test_configs) the fixture uses;
	// some are kept back from the corpus for independent checks, and without
	// them the only expected diagnostic is the missing flow.
	needsFlow string
	// optional fixtures may be absent from the corpus (kept back).
	optional bool
	check    func(t *testing.T, s *Spec)
}

var corpusRuns = map[string]corpusWant{
	// X-cli in pfazure: the flow is resolved from the YAML's folder, not the CWD.
	"bulk_run_invalid_flow_path.yaml": {diags: []wantDiag{
		{diag.Error, CodePath, 4, "runs/tests/test_configs/flows/web_classification"}}},
	// X-cli: neither a path nor azureml:.
	"bulk_run_invalid_remote_flow_str.yaml": {diags: []wantDiag{
		{diag.Error, CodePath, 4, "Invalid remote flow path. Currently only azureml:<flow-name> is supported"}}},
	// V with a warning.
	"extra_field.yaml": {diags: []wantDiag{
		{diag.Warning, CodeUnknownField, 8, "Run schema validation warnings. Unknown fields found: {extra_key}"}},
		check: func(t *testing.T, s *Spec) {
			if s.EnvironmentVariables["FOO"] != "BAR" {
				t.Errorf("env = %v", s.EnvironmentVariables)
			}
		}},
	"run_with_connections.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Connections["classify_with_llm"]["connection"] != "new_ai_connection" {
			t.Errorf("connections = %v", s.Connections)
		}
	}},
	"run_with_connections_model.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Connections["classify_with_llm"]["model"] != "test_model" {
			t.Errorf("connections = %v", s.Connections)
		}
	}},
	"run_with_env.yaml": {needsFlow: "flows/print_env_var", check: func(t *testing.T, s *Spec) {
		if s.EnvironmentVariables["API_BASE"] != "${azure_open_ai_connection.api_base}" || s.ColumnMapping != nil {
			t.Errorf("env = %v, mapping = %v", s.EnvironmentVariables, s.ColumnMapping)
		}
	}},
	"sample_bulk_run.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Name != "flow_run_20230629_101205" || s.Description != "sample bulk run" ||
			s.Variant != "${summarize_text_content.variant_0}" || s.ColumnMapping["url"] != "${data.url}" ||
			s.EnvironmentVariables["FOO"] != "BAR" || !strings.HasSuffix(s.Flow, filepath.FromSlash("flows/web_classification")) ||
			!strings.HasSuffix(s.Data, "webClassification1.jsonl") {
			t.Errorf("spec = %+v", s)
		}
	}},
	"sample_bulk_run_cloud.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Description != "" || s.Name != "flow_run_20230629_101205" {
			t.Errorf("spec = %+v", s)
		}
	}},
	"sample_bulk_run_with_compute_instance.yaml": {needsFlow: "flows/print_env_var", check: func(t *testing.T, s *Spec) {
		if s.Resources.Compute != "my_ci" {
			t.Errorf("resources = %+v", s.Resources)
		}
	}},
	// X-cli in pfazure ("Unknown field."); pfz supports the idle time on purpose.
	"sample_bulk_run_with_idle_time.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Resources != (Resources{InstanceType: "Standard_D2", IdleTime: time.Hour}) {
			t.Errorf("resources = %+v", s.Resources)
		}
	}},
	"sample_bulk_run_with_managed_identity.yaml": {optional: true, check: func(t *testing.T, s *Spec) {
		if s.Identity != (Identity{Type: IdentityManaged, ClientID: "fake_client_id"}) {
			t.Errorf("identity = %+v", s.Identity)
		}
	}},
	"sample_bulk_run_with_resources.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Resources != (Resources{InstanceType: "Standard_D2"}) {
			t.Errorf("resources = %+v", s.Resources)
		}
	}},
	"sample_bulk_run_with_user_identity.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Identity != (Identity{Type: IdentityUser}) {
			t.Errorf("identity = %+v", s.Identity)
		}
	}},
	"sample_eval_run.yaml": {check: func(t *testing.T, s *Spec) {
		if s.Run != "flow_run_20230629_101205" || s.ColumnMapping["prediction"] != "${run.outputs.category}" {
			t.Errorf("spec = %+v", s)
		}
	}},
	// X-cli as committed: from illegal/, ../flows does not exist, and .env is missing.
	"illegal/missing_data.yaml": {diags: []wantDiag{
		{diag.Error, CodePath, 1, "runs/flows/classification_accuracy_evaluation"},
		{diag.Error, CodePath, 9, "runs/illegal/.env"}}},
	"illegal/non_exist_data.yaml": {diags: []wantDiag{
		{diag.Error, CodePath, 1, "runs/flows/classification_accuracy_evaluation"},
		{diag.Error, CodePath, 3, "Invalid remote path. Currently only azureml://xxx or public URL(e.g. https://xxx) are supported."},
		{diag.Error, CodePath, 10, "runs/illegal/.env"}}},
}

func corpusRunFiles(t *testing.T) (string, []string) {
	dir := shared.Path(t, "conformance", "promptflow", "test_configs", "runs")
	var rels []string
	for _, pat := range []string{"*.yaml", "illegal/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pat)))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(dir, p)
			rels = append(rels, filepath.ToSlash(rel))
		}
	}
	sort.Strings(rels)
	return dir, rels
}

func TestCorpusRuns(t *testing.T) {
	dir, rels := corpusRunFiles(t)
	testConfigs := filepath.Dir(dir)
	seen := map[string]bool{}
	for _, rel := range rels {
		seen[rel] = true
		want, ok := corpusRuns[rel]
		if !ok {
			t.Errorf("corpus fixture runs/%s has no expected outcome in corpusRuns", rel)
			continue
		}
		t.Run(rel, func(t *testing.T) {
			diags := want.diags
			check := want.check
			if want.needsFlow != "" {
				if _, err := os.Stat(filepath.Join(testConfigs, filepath.FromSlash(want.needsFlow))); err != nil {
					t.Logf("%s is kept back from the corpus: expecting only the missing-flow error", want.needsFlow)
					diags = []wantDiag{{diag.Error, CodePath, 0, want.needsFlow}}
					check = nil
				}
			}
			s, ds, err := Load(LoadOptions{Flags: Flags{File: filepath.Join(dir, filepath.FromSlash(rel))}, CWD: t.TempDir()})
			if s == nil {
				t.Fatalf("no spec, err = %v", err)
			}
			matchDiags(t, ds, diags)
			if ds.HasErrors() != (err != nil) || (err != nil && !fault.Is(err, fault.Validation)) {
				t.Errorf("err = %v with diags %v", err, ds)
			}
			if check != nil && err == nil {
				check(t, s)
			}
		})
	}
	for rel, want := range corpusRuns {
		if !seen[rel] && !want.optional {
			t.Errorf("expected corpus fixture runs/%s is missing", rel)
		}
	}
}

// fuzzProject lays out what fuzzed run files may refer to.
func fuzzProject(t testing.TB, root string) string {
	writeFile(t, filepath.Join(root, "flows", "web", "flow.dag.yaml"), "inputs: {}\n")
	writeFile(t, filepath.Join(root, "data", "data.jsonl"), "{\"url\": 1}\n")
	writeFile(t, filepath.Join(root, "runs", "env_file"), "FOO=BAR\n")
	writeFile(t, filepath.Join(root, "runs", "init.json"), "{\"a\": 1}\n")
	return filepath.Join(root, "runs", "run.yml")
}

var fuzzSeeds = []struct{ yml, set string }{
	{minimal, ""},
	{minimal + "name: x\ntags: {a: b}\nresources: {instance_type: Standard_D2, idle_time_before_shutdown_minutes: 60}\n", "resources.compute=ci"},
	{minimal + "environment_variables: env_file\n", "environment_variables.FOO=bar"},
	{minimal + "init: init.json\nidentity: {type: managed, client_id: c}\n", "identity.type=user_identity"},
	{minimal + "column_mapping: {url: '${data.url}', obj: {a: [1, 2]}}\nvariant: ${a.b}\n", "column_mapping.url=${data.answer}"},
	{"a: &a {flow: ../flows/web}\n<<: *a\ndata: azureml:d:1\n", "tags.x.y=z"},
	{"flow: azureml://registries/r/models/m/versions/1\nrun: base\nconnections: {n: {connection: c}}\n", "connections.n.model=m"},
	{"- a\n- b\n", "a=b"},
	{"flow: [\n", ""},
	{"flow: !!binary aGVsbG8=\ndata: 1\nname: ~\n", "name"},
	{"{flow: ../flows/web, data: ../data/data.jsonl, resources: {x: 1}, identity: {type: x}}", "..=x"},
	{"x: &x [*x]\n", ""},
	{"flow: [.]\ndata: {a: 1}\ntags: {c: [1], d: {x: 1}}\nenvironment_variables: {D: {x: 1}, E: [1]}\nname: [a]\n", ""},
	{"flow: ../flows/web\ndata: ../data/data.jsonl\nresources: {instance_type: [1], compute: {a: 1}}\nidentity: {type: [1], client_id: {a: 1}}\ncolumn_mapping: {url: [1]}\n", ""},
	{"a: &a [1, 2]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n", ""},
}

func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.yml, s.set)
	}
	if dir, ok := shared.Find(); ok {
		paths, _ := filepath.Glob(filepath.Join(dir, "conformance", "promptflow", "test_configs", "runs", "*.yaml"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(string(b), "")
			}
		}
	}
	runFile := fuzzProject(f, f.TempDir())
	cwd := filepath.Dir(filepath.Dir(runFile))
	f.Fuzz(func(t *testing.T, yml, set string) {
		if err := os.WriteFile(runFile, []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
		var sets []string
		if set != "" {
			sets = strings.Split(set, "\n")
		}
		s, ds, err := Load(LoadOptions{Flags: Flags{File: runFile, Set: sets}, CWD: cwd})
		switch {
		case err == nil:
			if s == nil || ds.HasErrors() {
				t.Fatalf("no error, yet spec=%v diags=%v", s, ds)
			}
		case fault.Is(err, fault.Validation):
			if s == nil || !ds.HasErrors() {
				t.Fatalf("validation error without error diagnostics: %v", err)
			}
		case fault.Is(err, fault.Usage):
			if len(sets) == 0 {
				t.Fatalf("usage error without flags: %v", err)
			}
		default:
			t.Fatalf("unexpected error kind: %v", err)
		}
		for _, d := range ds {
			if d.Code == "" || d.Message == "" || d.Line < 0 || d.Column < 0 {
				t.Fatalf("malformed diagnostic %#v", d)
			}
			// What the run file says wrong is shown where it is, with what to do.
			if d.File == runFile && (d.Line < 1 || d.Column < 1 || d.Hint == "") {
				t.Fatalf("diagnostic in the run file without a position or a hint: %v", d)
			}
		}
	})
}
