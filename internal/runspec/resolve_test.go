package runspec

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flexmeta"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
	"github.com/pfz-cli/pfz/internal/workspace"
)

const echoFlow = `inputs:
  url:
    type: string
  lang:
    type: string
    default: en
outputs:
  out:
    type: string
    reference: ${echo.output}
nodes:
- name: echo
  use_variants: true
node_variants:
  echo:
    default_variant_id: variant_0
    variants:
      variant_0:
        node:
          type: python
          source: {type: code, path: echo.py}
          inputs: {text: "${inputs.url}"}
      variant_1:
        node:
          type: python
          source: {type: code, path: echo.py}
          inputs: {text: "${inputs.lang}"}
`

const echoPy = "from promptflow import tool\n\n@tool\ndef echo(text: str) -> str:\n    return text\n"

// resolveFixture is a flow "web" with a python node in variants, a
// requirements.txt, and data with a url column.
func resolveFixture(t *testing.T, flowYAML string) *fixture {
	t.Helper()
	fx := newFixture(t)
	writeFile(t, fx.path("flows/web/flow.dag.yaml"), flowYAML)
	writeFile(t, fx.path("flows/web/echo.py"), echoPy)
	writeFile(t, fx.path("flows/web/requirements.txt"), "requests==2.31.0\n# a comment\n")
	writeFile(t, fx.path("data/folder/a.jsonl"), `{"url": "u1"}`+"\n")
	return fx
}

var fixedNow = time.Date(2024, 1, 2, 3, 4, 5, 6000, time.Local)

func nodeID() uint64 { return 0x0242ac110002 }

func resolveOpts() ResolveOptions {
	return ResolveOptions{UserAlias: "alice", Now: fixedNow, NodeID: nodeID}
}

func loadAndResolve(t *testing.T, fx *fixture, yml string, flags Flags) (*workspace.Submission, diag.List, error) {
	t.Helper()
	s, ds, err := fx.load(t, yml, flags)
	if err != nil {
		t.Fatalf("load: %v (%v)", err, ds)
	}
	sub, _, rds, err := s.Resolve(context.Background(), resolveOpts())
	return sub, append(ds, rds...), err
}

var hex48 = regexp.MustCompile(`^[0-9a-f]{48}$`)

func TestResolveLocalFlow(t *testing.T) {
	fx := resolveFixture(t, "environment:\n  image: mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest\n"+echoFlow)
	sub, ds, err := loadAndResolve(t, fx, minimal+"column_mapping: {url: '${data.url}'}\nresources: {idle_time_before_shutdown_minutes: 90}\n", Flags{})
	if err != nil {
		t.Fatalf("%v\n%v", err, ds)
	}
	if len(ds) != 0 {
		t.Errorf("diagnostics: %v", ds)
	}
	flowDir := fx.path("flows/web")
	if sub.Name != "web_variant_0_20240102_030405_000006" || sub.DisplayName != sub.Name || sub.ExperimentName != "web" {
		t.Errorf("names = %q %q %q", sub.Name, sub.DisplayName, sub.ExperimentName)
	}
	if sub.Flow != filepath.Join(flowDir, "flow.dag.yaml") || sub.FlowRemote || sub.Runtime != RuntimeAutomatic {
		t.Errorf("flow = %q remote=%v runtime=%q", sub.Flow, sub.FlowRemote, sub.Runtime)
	}
	if sub.Snapshot == nil || sub.Snapshot.FlowFile != "flow.dag.yaml" || !strings.HasPrefix(sub.Snapshot.BlobPath, "LocalUpload/"+sub.Snapshot.Hash+"/web/") {
		t.Fatalf("snapshot = %+v", sub.Snapshot)
	}
	wantHash, err := snapshot.HashFile(context.Background(), fx.path("data/data.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Data == nil || sub.Data.Hash != wantHash || sub.Data.IsDir || sub.Data.BlobPath != "LocalUpload/"+wantHash+"/data.jsonl" || len(sub.Data.Files) != 1 {
		t.Errorf("data = %+v", sub.Data)
	}
	if sub.Resources.MaxIdleTimeSeconds != 5400 || sub.Session.IdleTime != 90*time.Minute {
		t.Errorf("idle = %d %v", sub.Resources.MaxIdleTimeSeconds, sub.Session.IdleTime)
	}
	if sub.Identity.Type != IdentityUser || sub.Session.ComputeType != workspace.ComputeServerless {
		t.Errorf("identity/compute = %+v %q", sub.Identity, sub.Session.ComputeType)
	}

	// The session id is pfazure's: the auto-added requirements.txt is part of the environment.
	lineage, err := session.LineageID(flowDir, nodeID)
	if err != nil {
		t.Fatal(err)
	}
	envHash, err := session.EnvironmentHash(map[string]any{
		"image":                   "mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest",
		"python_requirements_txt": []any{"requests==2.31.0", "# a comment"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := workspace.SessionSpec{
		ID: session.ID("alice", lineage, envHash), FlowDir: flowDir, LineageID: lineage, EnvHash: envHash,
		UserAlias: "alice", ComputeType: workspace.ComputeServerless, IdleTime: 90 * time.Minute,
		Identity:     workspace.Identity{Type: IdentityUser},
		Image:        "mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest",
		Requirements: []string{"requests==2.31.0", "# a comment"}, RequirementsFile: filepath.Join(flowDir, "requirements.txt"),
	}
	if diff := cmp.Diff(want, sub.Session); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	if !hex48.MatchString(sub.Session.ID) {
		t.Errorf("session id %q is not 48 hex digits", sub.Session.ID)
	}
}

func TestResolveSessionIDFollowsTheEnvironment(t *testing.T) {
	ids := map[string]string{}
	for name, flowYAML := range map[string]string{
		"no environment":  echoFlow,
		"image":           "environment: {image: python:3.11}\n" + echoFlow,
		"other image":     "environment: {image: python:3.12}\n" + echoFlow,
		"named reqs file": "environment: {python_requirements_txt: requirements.txt}\n" + echoFlow,
	} {
		fx := resolveFixture(t, flowYAML)
		sub, ds, err := loadAndResolve(t, fx, minimal, Flags{})
		if err != nil {
			t.Fatalf("%s: %v %v", name, err, ds)
		}
		// Each fixture is its own folder, so lineages differ; compare the environment hashes.
		ids[name] = sub.Session.EnvHash
		if name == "no environment" && len(sub.Session.Requirements) != 2 {
			t.Errorf("requirements.txt must be added to an environment that names none: %+v", sub.Session)
		}
	}
	if ids["image"] == ids["other image"] || ids["no environment"] == ids["image"] {
		t.Errorf("a different image must give a different environment hash: %v", ids)
	}
	// Without an image, an auto-added requirements.txt and a named one hash the same.
	if ids["no environment"] != ids["named reqs file"] {
		t.Errorf("auto-added and named requirements differ: %v", ids)
	}
}

func TestResolveChecks(t *testing.T) {
	type tc struct {
		name     string
		flowYAML string
		extra    func(fx *fixture)
		yml      string
		flags    Flags
		diags    []wantDiag
		check    func(t *testing.T, sub *workspace.Submission)
	}
	tests := []tc{
		{name: "variant picks the name", yml: minimal + "variant: ${echo.variant_1}\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Name != "web_variant_1_20240102_030405_000006" || sub.Variant != "${echo.variant_1}" {
					t.Errorf("name = %q variant = %q", sub.Name, sub.Variant)
				}
			}},
		{name: "unknown variant", yml: minimal + "variant: ${echo.variant_9}\n",
			diags: []wantDiag{{diag.Error, CodeVariant, 3, `variant "variant_9" not found for node "echo"`}}},
		{name: "variant of an unknown node", yml: minimal + "variant: ${ech.variant_0}\n",
			diags: []wantDiag{{diag.Error, CodeVariant, 3, `node "ech" not found`}}},
		{name: "data lacks a mapped column", yml: minimal + "column_mapping: {url: '${data.link}'}\n",
			diags: []wantDiag{{diag.Error, CodeColumnMapping, 3, `no column "link"`}}},
		{name: "required input unmapped and not in the data", yml: "flow: ../flows/web\ndata: ../cwd/local.jsonl\n",
			diags: []wantDiag{{diag.Error, CodeRequiredInput, 0, "flow input url has no default"}}},
		{name: "run outputs without run", yml: minimal + "column_mapping: {url: '${run.outputs.x}'}\n",
			diags: []wantDiag{{diag.Error, CodeNeedsRun, 3, "requires run"}}},
		{name: "empty data", extra: func(fx *fixture) { writeFile(t, fx.path("data/empty.jsonl"), "") },
			yml:   "flow: ../flows/web\ndata: ../data/empty.jsonl\n",
			diags: []wantDiag{{diag.Error, CodeData, 2, "the data has no lines"}}},
		{name: "data folder", yml: "flow: ../flows/web\ndata: ../data/folder\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Data == nil || !sub.Data.IsDir || len(sub.Data.Files) != 1 || sub.Data.Files[0].Rel != "a.jsonl" || sub.Data.BlobPath != "LocalUpload/"+sub.Data.Hash+"/folder" {
					t.Errorf("data = %+v", sub.Data)
				}
			}},
		{name: "remote data", yml: "flow: ../flows/web\ndata: azureml:d:1\ncolumn_mapping: {url: '${data.whatever}'}\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Data == nil || sub.Data.Remote != "azureml:d:1" || sub.Data.Local != "" {
					t.Errorf("data = %+v", sub.Data)
				}
			}},
		{name: "evaluation run without data", yml: "flow: ../flows/web\nrun: base\ncolumn_mapping: {url: '${run.outputs.url}'}\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Data != nil || sub.Run != "base" {
					t.Errorf("data = %+v run = %q", sub.Data, sub.Run)
				}
			}},
		{name: "a file the ignore rules leave out is missing", extra: func(fx *fixture) { writeFile(t, fx.path("flows/web/.amlignore"), "echo.py\n") },
			yml:   minimal,
			diags: []wantDiag{{diag.Error, "", 0, "echo.py"}}},
		{name: "connections to an unknown node", yml: minimal + "connections: {eco: {connection: c}}\n",
			diags: []wantDiag{{diag.Warning, CodeConnections, 3, "the flow has no node named eco"}}},
		{name: "init on a DAG flow", yml: minimal + "init: {a: 1}\n",
			diags: []wantDiag{{diag.Warning, CodeInit, 3, "init is used only by flex flows"}}},
		{name: "runtime None", yml: minimal + "runtime: None\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Runtime != "" {
					t.Errorf("runtime = %q", sub.Runtime)
				}
			}},
		{name: "named runtime", yml: minimal + "runtime: my-ci-runtime\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Runtime != "my-ci-runtime" {
					t.Errorf("runtime = %q", sub.Runtime)
				}
			}},
		{name: "compute instance", yml: minimal + "resources: {compute: my_ci}\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Session.ComputeType != workspace.ComputeComputeInstance || sub.Session.ComputeName != "my_ci" ||
					sub.Resources.Compute != "my_ci" || sub.Identity != (workspace.Identity{Type: IdentityUser}) {
					t.Errorf("sub = %+v", sub)
				}
			}},
		{name: "an unreadable flow is reported once, not as missing inputs, nodes and variants",
			flowYAML: "inputs:\n\turl: {type: string}\n",
			yml:      minimal + "column_mapping: {url: '${data.url}'}\nvariant: ${echo.variant_1}\nconnections: {echo: {connection: c}}\n",
			diags:    []wantDiag{{diag.Error, "", 0, "invalid YAML"}}},
		{name: "an empty flow cannot run", flowYAML: "# nothing yet\n", yml: minimal + "column_mapping: {url: '${data.url}'}\n",
			diags: []wantDiag{{diag.Error, "", 0, "the flow file is empty"}}},
		{name: "names given", yml: minimal + "name: mine\ndisplay_name: shown\n",
			check: func(t *testing.T, sub *workspace.Submission) {
				if sub.Name != "mine" || sub.DisplayName != "shown" {
					t.Errorf("names = %q %q", sub.Name, sub.DisplayName)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flowYAML := tc.flowYAML
			if flowYAML == "" {
				flowYAML = echoFlow
			}
			fx := resolveFixture(t, flowYAML)
			if tc.extra != nil {
				tc.extra(fx)
			}
			sub, ds, err := loadAndResolve(t, fx, tc.yml, tc.flags)
			// The empty code means "any code" here: a flow or snapshot diagnostic.
			var own diag.List
			var other []diag.Diagnostic
			for _, d := range ds {
				if strings.HasPrefix(d.Code, "run.") {
					own = append(own, d)
				} else {
					other = append(other, d)
				}
			}
			var wantOwn []wantDiag
			for _, w := range tc.diags {
				if w.code == "" {
					found := false
					for _, d := range other {
						if d.Severity == w.sev && strings.Contains(d.Message, w.has) {
							found = true
						}
					}
					if !found {
						t.Errorf("missing flow diagnostic %v in %v", w, other)
					}
					continue
				}
				wantOwn = append(wantOwn, w)
			}
			matchDiags(t, own, wantOwn)
			if ds.HasErrors() {
				if !fault.Is(err, fault.Validation) || sub != nil {
					t.Errorf("errors must give a Validation error and no submission: err=%v sub=%v", err, sub)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v (%v)", err, ds)
			}
			if tc.check != nil {
				tc.check(t, sub)
			}
		})
	}
}

func TestResolveRemoteFlow(t *testing.T) {
	fx := newFixture(t)
	for flowRef, name := range map[string]string{
		"azureml:my_flow": "my_flow",
		"azureml://registries/promptflow-preview/models/simple_hello_world/versions/202311241": "simple_hello_world",
	} {
		sub, ds, err := loadAndResolve(t, fx, "flow: "+flowRef+"\ndata: ../data/data.jsonl\ncolumn_mapping: {x: '${data.url}'}\n", Flags{})
		if err != nil || len(ds) != 0 {
			t.Fatalf("%s: %v %v", flowRef, err, ds)
		}
		if !sub.FlowRemote || sub.Flow != flowRef || sub.Snapshot != nil || sub.ExperimentName != "" ||
			sub.Session.ID != "" || sub.Session.LineageID != name || sub.Name != name+"_variant_0_20240102_030405_000006" {
			t.Errorf("%s: sub = %+v", flowRef, sub)
		}
	}
}

func TestResolveResume(t *testing.T) {
	fx := newFixture(t)
	s, _, err := fx.load(t, "", Flags{ResumeFrom: "old", Name: "new", InstanceType: "Standard_D2", Identity: "managed"})
	if err != nil {
		t.Fatal(err)
	}
	sub, f, ds, err := s.Resolve(context.Background(), resolveOpts())
	if err != nil || f != nil || len(ds) != 0 {
		t.Fatalf("err=%v flow=%v diags=%v", err, f, ds)
	}
	if sub.ResumeFrom != "old" || sub.Name != "new" || sub.Runtime != "" || sub.Resources.InstanceType != "Standard_D2" ||
		sub.Identity.Type != IdentityManaged || sub.Snapshot != nil || sub.Flow != "" {
		t.Errorf("sub = %+v", sub)
	}
}

func TestResolveFlowEntryAndErrors(t *testing.T) {
	fx := newFixture(t)
	// --flow module:function: a flex flow in the working folder whose
	// flow.flex.yaml exists only in the snapshot, as promptflow's SDK makes it.
	writeFile(t, filepath.Join(fx.cwd, "mod.py"), "def func(x: str):\n    return x\n")
	s, _, err := fx.load(t, "", Flags{Flow: "mod:func", Data: "local.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	sub, f, ds, err := s.Resolve(context.Background(), resolveOpts())
	if err != nil || f.Kind != flow.KindFlex || f.Entry != "mod:func" || ds.HasErrors() {
		t.Fatalf("flex entry: err = %v, flow = %+v, diags = %v", err, f, ds)
	}
	if want := filepath.Join(fx.cwd, "flow.flex.yaml"); sub.Flow != want || sub.Snapshot.FlowFile != "flow.flex.yaml" {
		t.Errorf("flow = %s (snapshot flow file %s), want %s", sub.Flow, sub.Snapshot.FlowFile, want)
	}
	var content string
	for _, fr := range sub.Snapshot.Files {
		if fr.Rel == "flow.flex.yaml" {
			content = string(fr.Content)
		}
	}
	if content != "entry: mod:func\n" {
		t.Errorf("snapshot flow.flex.yaml = %q", content)
	}
	if _, err := os.Stat(filepath.Join(fx.cwd, "flow.flex.yaml")); !os.IsNotExist(err) {
		t.Errorf("the working folder got a flow.flex.yaml: %v", err)
	}
	// One already there is refused rather than silently overruled.
	writeFile(t, filepath.Join(fx.cwd, "flow.flex.yaml"), "entry: other:f\n")
	if _, _, _, err := s.Resolve(context.Background(), resolveOpts()); !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("existing flow.flex.yaml: err = %v", err)
	}
	if err := os.Remove(filepath.Join(fx.cwd, "flow.flex.yaml")); err != nil {
		t.Fatal(err)
	}

	// A folder without a flow file: the error names the flow key's position.
	writeFile(t, fx.path("flows/empty/readme.md"), "x")
	s, _, err = fx.load(t, "flow: ../flows/empty\ndata: ../data/data.jsonl\n", Flags{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, ds, err = s.Resolve(context.Background(), resolveOpts())
	if !fault.Is(err, fault.Validation) || len(ds) != 1 || ds[0].Code != CodeFlow || ds[0].Line != 1 || ds[0].Hint == "" {
		t.Errorf("err = %v diags = %v", err, ds)
	}

	fx2 := resolveFixture(t, echoFlow)
	s, _, err = fx2.load(t, minimal, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := s.Resolve(ctx, resolveOpts()); err == nil {
		t.Error("a canceled context must stop Resolve")
	}
}

// TestResolveExamples resolves the repository's example runs end to end.
func TestResolveExamples(t *testing.T) {
	root := filepath.Join(shared.RepoRoot(), "examples")
	runs, _ := filepath.Glob(filepath.Join(root, "*", "run.yml"))
	if len(runs) < 3 {
		t.Fatalf("found only %d examples/*/run.yml, want at least 3", len(runs))
	}
	for _, p := range runs {
		flags := Flags{File: p}
		if strings.Contains(p, "eval") {
			flags.Run = "a_classify_run"
		}
		s, ds, err := Load(LoadOptions{Flags: flags, CWD: t.TempDir()})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		sub, _, rds, err := s.Resolve(context.Background(), resolveOpts())
		if err != nil {
			t.Errorf("%s: %v\n%v", p, err, append(ds, rds...))
			continue
		}
		if sub.Snapshot == nil || sub.Data == nil || !hex48.MatchString(sub.Session.ID) {
			t.Errorf("%s: sub = %+v", p, sub)
		}
		for _, d := range append(ds, rds...) {
			t.Logf("%s: %s", filepath.Base(filepath.Dir(p)), d)
		}
	}
}

func TestResolveFlexFlow(t *testing.T) {
	fx := newFixture(t)
	writeFile(t, fx.path("flows/flex/flow.flex.yaml"), "entry: my_module:my_func\n")
	writeFile(t, fx.path("flows/flex/my_module.py"), "def my_func(url: str) -> str:\n    return url\n")
	sub, ds, err := loadAndResolve(t, fx, "flow: ../flows/flex\ndata: ../data/data.jsonl\ninit: {a: 1}\ncolumn_mapping: {url: '${data.url}'}\n", Flags{})
	if err != nil {
		t.Fatalf("%v %v", err, ds)
	}
	if sub.Name != "flex_20240102_030405_000006" || sub.Snapshot.FlowFile != "flow.flex.yaml" || sub.Init["a"] != int64(1) {
		t.Errorf("sub = %+v", sub)
	}
	_, ds, err = loadAndResolve(t, fx, "flow: ../flows/flex\ndata: ../data/data.jsonl\nvariant: ${a.b}\n", Flags{})
	if !fault.Is(err, fault.Validation) {
		t.Fatalf("variant on a flex flow: err = %v", err)
	}
	matchDiags(t, ds.Errors(), []wantDiag{{diag.Error, CodeVariant, 3, "a flex flow has no variants"}})
}

// TestResolveFlexSignatureAndInit: with a signature reader (the azureml
// target), the snapshot's flow.flex.yaml carries the entry's signature and
// init kwargs are checked as pfazure checks them (recording
// test_exception_in_model_config).
func TestResolveFlexSignatureAndInit(t *testing.T) {
	fx := newFixture(t)
	writeFile(t, fx.path("flows/flex/flow.flex.yaml"), "entry: my_module:MyFlow\n")
	writeFile(t, fx.path("flows/flex/my_module.py"), "class MyFlow:\n    pass\n")
	str := func(s string) *string { return &s }
	read := func(ctx context.Context, dir, entry string) (*flexmeta.Signature, error) {
		if entry != "my_module:MyFlow" || filepath.Base(dir) != "flex" {
			t.Errorf("read(%s, %s)", dir, entry)
		}
		return &flexmeta.Signature{Inputs: []flexmeta.Port{{Name: "url", Type: "string"}},
			Init: []flexmeta.Port{{Name: "open_ai_model_config", Type: "OpenAIModelConfiguration"}, {Name: "n", Type: "int", Default: str("1")}}}, nil
	}
	resolve := func(yml string) (*workspace.Submission, diag.List, error) {
		s, ds, err := fx.load(t, yml, Flags{})
		if err != nil {
			t.Fatalf("load: %v (%v)", err, ds)
		}
		ro := resolveOpts()
		ro.FlexSignature = read
		sub, _, rds, err := s.Resolve(context.Background(), ro)
		return sub, append(ds, rds...), err
	}
	const base = "flow: ../flows/flex\ndata: ../data/data.jsonl\n"
	sub, ds, err := resolve(base + "init:\n  open_ai_model_config: {connection: my_openai, model: gpt-4o}\n  n: 2\n")
	if err != nil {
		t.Fatalf("%v %v", err, ds)
	}
	var flowYAML string
	for _, f := range sub.Snapshot.Files {
		if f.Rel == "flow.flex.yaml" {
			flowYAML = string(f.Content)
		}
	}
	if want := "entry: my_module:MyFlow\ninputs:\n  url:\n    type: string\ninit:\n  open_ai_model_config:\n    type: OpenAIModelConfiguration\n  n:\n    type: int\n    default: \"1\"\n"; flowYAML != want {
		t.Fatalf("snapshot flow.flex.yaml:\n%s\nwant\n%s", flowYAML, want)
	}

	_, ds, err = resolve(base + "init:\n  open_ai_model_config: {model: gpt-4o}\n")
	if !fault.Is(err, fault.Validation) || !strings.Contains(ds.Err().Error(),
		"Init kwargs open_ai_model_config with type OpenAIModelConfiguration is missing connection. Only connection model configs with connection is supported in cloud.") {
		t.Fatalf("model config without a connection: %v\n%v", err, ds)
	}
	_, ds, err = resolve(base + "init:\n  temperature: 0.5\n")
	if !fault.Is(err, fault.Validation) || !strings.Contains(ds.Err().Error(), "Init kwargs temperature is not in the flow signature.") {
		t.Fatalf("unknown init kwarg: %v\n%v", err, ds)
	}
}
