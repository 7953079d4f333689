package flow

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/prompty"
)

func TestParseDiagnostics(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // "severity code line:col"
		msg, hint  string   // substrings of the first diagnostic
	}{
		{name: "syntax error", yaml: "inputs:\n  q: {type: string\nnodes: []\n",
			want: []string{"error yaml-syntax 2:6"}, hint: "never closed", msg: "invalid YAML: did not find expected ',' or '}'"},
		{name: "bad indentation", yaml: "inputs:\n  q:\n    type: string\n   bad: 1\n",
			want: []string{"error yaml-syntax 4:4"}},
		{name: "tab indentation", yaml: "inputs:\n\tq: 1\n", want: []string{"error yaml-syntax 2:1"}, hint: "spaces, not tabs"},
		{name: "root is a list", yaml: "- a\n- b\n", want: []string{"error not-a-mapping 1:1"}},
		{name: "root is a scalar", yaml: "hello\n", want: []string{"error not-a-mapping 1:1"}},
		{name: "empty file", yaml: "", want: []string{"error empty-flow 1:1"}},
		{name: "only a comment", yaml: "# nothing\n", want: []string{"error empty-flow 1:1"}},
		{name: "two documents", yaml: "inputs: {}\n---\nnodes: []\n", want: []string{"error multiple-docs 2:1"}},
		{name: "unknown top-level key names the nearest", yaml: "inputz: {}\n",
			want: []string{"warning unknown-key 1:1"}, hint: `did you mean "inputs"?`},
		{name: "flex-only key in a DAG", yaml: "sample: {}\n", want: []string{"warning unknown-key 1:1"}, msg: "only used by flex flows"},
		{name: "unknown input key", yaml: "inputs:\n  q:\n    type: string\n    defualt: 1\n",
			want: []string{"warning unknown-key 4:5"}, hint: `did you mean "default"?`},
		{name: "unknown node key", yaml: "nodes:\n- name: a\n  type: python\n  source: {type: code, path: a.py}\n  conection: c\n",
			want: []string{"warning unknown-key 5:3"}, hint: `did you mean "connection"?`},
		{name: "unknown source key", yaml: "nodes:\n- name: a\n  source: {type: code, pth: a.py}\n",
			want: []string{"warning unknown-key 3:24"}, hint: `did you mean "path"?`},
		{name: "far-off unknown key lists the known ones", yaml: "zzzzzzzz: 1\n",
			want: []string{"warning unknown-key 1:1"}, hint: "known keys"},
		{name: "environment typo", yaml: "environment:\n  python_requirement_txt: r.txt\n",
			want: []string{"warning unknown-key 2:3"}, hint: `did you mean "python_requirements_txt"?`},
		{name: "environment extra key is kept quietly", yaml: "environment:\n  conda: x\n"},
		{name: "duplicate key", yaml: "inputs:\n  q: {type: string}\n  q: {type: int}\n",
			want: []string{"error duplicate-key 3:3"}, hint: "line 2"},
		{name: "inputs is a list", yaml: "inputs:\n- q\n", want: []string{"error wrong-type 2:1"}, msg: "inputs must be a mapping"},
		{name: "nodes is a mapping", yaml: "nodes:\n  a: 1\n", want: []string{"error wrong-type 2:3"}, msg: "nodes must be a list"},
		{name: "node is a string", yaml: "nodes:\n- a\n", want: []string{"error wrong-type 2:3"}},
		{name: "input type is a number", yaml: "inputs:\n  q:\n    type: 1\n",
			want: []string{"error wrong-type 3:11"}},
		{name: "missing input type", yaml: "inputs:\n  q:\n    default: 1\n", want: []string{"error missing-input-type 2:3"}},
		{name: "input given as null", yaml: "inputs:\n  q:\n", want: []string{"error missing-input-type 2:3"}},
		{name: "unknown input type", yaml: "inputs:\n  q:\n    type: str\n",
			want: []string{"error unknown-value-type 3:11"}, hint: `did you mean "string"?`},
		{name: "missing output type", yaml: "outputs:\n  o:\n    reference: ${a.output}\n", want: []string{"error missing-output-type 2:3"}},
		{name: "yes is not a boolean", yaml: "inputs:\n  q:\n    type: string\n    is_chat_input: yes\n",
			want: []string{"error wrong-type 4:20"}, hint: "YAML 1.2"},
		{name: "aggregation as text", yaml: "nodes:\n- name: a\n  aggregation: 'true'\n", want: []string{"error wrong-type 3:16"}},
		{name: "legacy skip", yaml: "nodes:\n- name: a\n  skip: {when: x, is: y, return: z}\n", want: []string{"warning legacy-skip 3:3"}},
		{name: "includes not a list", yaml: "additional_includes: ../a\n", want: []string{"error wrong-type 1:22"}},
		{name: "include entry not a string", yaml: "additional_includes:\n- {type: artifact}\n", want: []string{"error wrong-type 2:3"}},
		{name: "bad flow type", yaml: "type: chatt\n", want: []string{"error invalid-flow-type 1:7"}, hint: `did you mean "chat"?`},
		{name: "bad language", yaml: "language: java\n", want: []string{"error invalid-language 1:11"}},
		{name: "bad message format", yaml: "message_format: openai_vision\n", want: []string{"error invalid-message-format 1:17"}},
		{name: "bad flex entry", yaml: "entry: my flow\n", want: []string{"error invalid-entry 1:8"}},
		{name: "good flex entry", yaml: "entry: flow:my_flow\ninputs:\n  q: {type: string}\n"},
		{name: "description must be text", yaml: "description: [a]\n", want: []string{"error wrong-type 1:14"}},
		{name: "merge keys work", yaml: "x-common: &c\n  type: string\ninputs:\n  q:\n    <<: *c\n",
			want: []string{"warning unknown-key 1:1"}},
		{name: "a mapping that merges itself", yaml: "&a {<<: *a}\n", want: []string{"error wrong-type 1:9"}, msg: "refers to a mapping that holds it"},
		{name: "a mapping that merges itself through a list", yaml: "inputs: &a\n  <<: [*a]\n", want: []string{"error wrong-type 2:7"}},
		{name: "a mapping that is its own key", yaml: "x: &a {<<,*a}\n", want: []string{"warning unknown-key 1:1"}},
		{name: "alias to a scalar", yaml: "inputs:\n  q:\n    type: &t string\n  r:\n    type: *t\n"},
		{name: "non-scalar key", yaml: "inputs:\n  ? [a, b]\n  : {type: string}\n", want: []string{"error wrong-type 2:5"}},
		{name: "duplicate key deep in a value", yaml: "nodes:\n- name: a\n  inputs:\n    x: {k: 1, k: 2}\n", want: []string{"error duplicate-key 4:15"}},
		{name: "alias bomb is reported at the alias that runs away", yaml: aliasBomb, want: []string{"error yaml-syntax 6:30"}, msg: "aliases"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ds := Parse("flow.dag.yaml", []byte(c.yaml))
			var got []string
			for _, d := range ds {
				got = append(got, string(d.Severity)+" "+d.Code+" "+strconv.Itoa(d.Line)+":"+strconv.Itoa(d.Column))
				if d.File != "flow.dag.yaml" || d.Message == "" || d.Hint == "" {
					t.Errorf("incomplete diagnostic: %+v", d)
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", diff, listString(ds))
			}
			if len(ds) > 0 && c.msg != "" && !strings.Contains(ds[0].Message, c.msg) {
				t.Errorf("message %q does not contain %q", ds[0].Message, c.msg)
			}
			if len(ds) > 0 && c.hint != "" && !strings.Contains(ds[0].Hint, c.hint) {
				t.Errorf("hint %q does not contain %q", ds[0].Hint, c.hint)
			}
		})
	}
}

// aliasBomb is a "billion laughs" document: small text, 9^9 values.
const aliasBomb = `environment:
 a: &a ["x","x","x","x","x","x","x","x","x"]
 b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
 c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
 d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
 e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
 f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
 g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
 h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
 i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func TestParseModel(t *testing.T) {
	src := `$schema: https://azuremlschemas.azureedge.net/promptflow/latest/Flow.schema.json
type: chat
description: a flow
display_name: My flow
tags: {team: ml, n: 3}
inputs:
  chat_history:
    type: list
    is_chat_history: true
    default: []
  question:
    type: string
    is_chat_input: true
  mode:
    type: string
    default: null
    enum: [a, b]
outputs:
  answer:
    type: string
    reference: ${chat.output}
    is_chat_output: true
nodes:
- name: chat
  type: llm
  source:
    type: code
    path: chat.jinja2
  inputs:
    deployment_name: gpt-35-turbo
    max_tokens: 256
    question: ${inputs.question}
    ctx: ${lookup.output.docs.0}
  connection: aoai
  api: chat
  provider: AzureOpenAI
  module: promptflow.tools.aoai
  activate:
    when: ${inputs.mode}
    is: a
  enable_cache: true
  comment: hello
- name: lookup
  type: python
  source: {type: package, tool: my.pkg.lookup}
  aggregation: false
environment:
  image: mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest
  python_requirements_txt: requirements.txt
environment_variables:
  A: text
  B: 3
  C: 1.0
  D: true
  E: {x: [1, "é"]}
  F: null
  G: ${conn.key}
additional_includes:
- ../shared/utils.py
message_format: openai-vision
name: n
`
	f, ds := Parse(filepath.Join("some", "dir", "flow.dag.yaml"), []byte(src))
	if len(ds) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", listString(ds))
	}
	if f.Kind != KindDAG || f.Type != "chat" || f.Description != "a flow" || f.DisplayName != "My flow" || f.Name != "n" || f.MessageFormat != "openai-vision" {
		t.Errorf("top-level fields: %+v", f)
	}
	if f.File != filepath.Join("some", "dir", "flow.dag.yaml") || !filepath.IsAbs(f.Path) || filepath.Base(f.Dir) != "dir" {
		t.Errorf("paths: file %q path %q dir %q", f.File, f.Path, f.Dir)
	}
	if diff := cmp.Diff(map[string]string{"team": "ml", "n": "3"}, f.Tags); diff != "" {
		t.Errorf("tags: %s", diff)
	}
	if len(f.Inputs) != 3 || f.Inputs[0].Name != "chat_history" || f.Inputs[1].Name != "question" {
		t.Fatalf("inputs in file order: %+v", f.Inputs)
	}
	if h := f.Inputs[0]; h.Type != "list" || h.IsChatHistory == nil || !*h.IsChatHistory || !h.HasDefault {
		t.Errorf("chat_history: %+v", h)
	}
	if q := f.Inputs[1]; !q.IsChatInput || q.HasDefault || q.Pos != (Pos{Line: 11, Column: 3}) {
		t.Errorf("question: %+v", q)
	}
	if m := f.Inputs[2]; m.HasDefault || len(m.Enum) != 2 {
		t.Errorf("mode (null default counts as none): %+v", m)
	}
	var req []string
	for _, in := range f.RequiredInputs() {
		req = append(req, in.Name)
	}
	if diff := cmp.Diff([]string{"question", "mode"}, req); diff != "" {
		t.Errorf("RequiredInputs: %s", diff)
	}
	o := f.Outputs[0]
	if o.Reference != "${chat.output}" || !o.IsChatOutput || o.ReferencePos != (Pos{Line: 21, Column: 16}) {
		t.Errorf("output: %+v", o)
	}
	chat := f.Node("chat")
	if chat == nil || chat.Type != ToolLLM || chat.Source.Path != "chat.jinja2" || chat.Connection != "aoai" || chat.API != "chat" ||
		chat.Provider != "AzureOpenAI" || chat.Module != "promptflow.tools.aoai" || !chat.EnableCache || chat.Comment != "hello" {
		t.Fatalf("chat node: %+v", chat)
	}
	wantInputs := []NodeInput{
		{Name: "deployment_name", Value: Value{Raw: "gpt-35-turbo", Kind: RefLiteral, Pos: Pos{30, 22}}, Pos: Pos{30, 5}},
		{Name: "max_tokens", Value: Value{Raw: 256, Kind: RefLiteral, Pos: Pos{31, 17}}, Pos: Pos{31, 5}},
		{Name: "question", Value: Value{Raw: "${inputs.question}", Kind: RefFlowInput, Name: "question", Pos: Pos{32, 15}}, Pos: Pos{32, 5}},
		{Name: "ctx", Value: Value{Raw: "${lookup.output.docs.0}", Kind: RefNode, Name: "lookup", Section: "output", Path: "docs.0", Pos: Pos{33, 10}}, Pos: Pos{33, 5}},
	}
	if diff := cmp.Diff(wantInputs, chat.Inputs); diff != "" {
		t.Errorf("node inputs (-want +got):\n%s", diff)
	}
	if a := chat.Activate; a == nil || !a.HasWhen || !a.HasIs || a.Is != "a" || a.When.Kind != RefFlowInput || a.When.Name != "mode" {
		t.Errorf("activate: %+v", chat.Activate)
	}
	if l := f.Node("lookup"); l.Source.Type != "package" || l.Source.Tool != "my.pkg.lookup" || l.Aggregation {
		t.Errorf("lookup: %+v", l)
	}
	if f.Environment.Image == "" || f.Environment.PythonRequirementsTxt != "requirements.txt" {
		t.Errorf("environment: %+v", f.Environment)
	}
	wantEnv := map[string]string{"A": "text", "B": "3", "C": "1.0", "D": "True", "E": `{"x": [1, "\u00e9"]}`, "F": "None", "G": "${conn.key}"}
	if diff := cmp.Diff(wantEnv, f.EnvironmentVariables); diff != "" {
		t.Errorf("environment_variables stringified as promptflow does (-want +got):\n%s", diff)
	}
	if len(f.AdditionalIncludes) != 1 || f.AdditionalIncludes[0].Path != "../shared/utils.py" || f.AdditionalIncludes[0].Pos.Line != 59 {
		t.Errorf("includes: %+v", f.AdditionalIncludes)
	}
	if env, ok := f.Raw["environment"].(map[string]any); !ok || env["image"] == nil {
		t.Errorf("Raw keeps the document: %v", f.Raw)
	}
	if f.Node("nope") != nil || f.Input("nope") != nil || f.Input("mode") == nil {
		t.Error("Node/Input lookups")
	}
}

func TestParseKinds(t *testing.T) {
	f, ds := Parse("flow.flex.yaml", []byte("entry: my_flow:run\ninputs:\n  q: {type: string}\nsample: {q: hi}\n"))
	if f.Kind != KindFlex || f.Entry != "my_flow:run" || len(ds) != 0 || len(f.Inputs) != 1 {
		t.Errorf("flex: kind %s entry %q inputs %v diags %v", f.Kind, f.Entry, f.Inputs, ds)
	}
	if got := f.Validate(ValidateOptions{Exists: func(string) bool { return false }}); len(got) != 0 {
		t.Errorf("flex validation: %v", got)
	}
	p, ds := Parse("chat.prompty", []byte("---\nname: Basic\ndescription: d\nmodel:\n  api: chat\n  configuration: {type: openai, model: m}\n  parameters: {}\n---\nsystem:\nhello {{name}}\n"))
	if p.Kind != KindPrompty || p.Name != "Basic" || p.Description != "d" || len(ds) != 0 {
		t.Errorf("prompty: %+v %v", p, ds)
	}
	_, ds = Parse("bad.prompty", []byte("no front matter"))
	if len(ds) != 1 || ds[0].Code != prompty.CodeNoFrontMatter {
		t.Errorf("prompty without front matter: %v", ds)
	}
	_, ds = Parse("x.prompty", []byte("---\nname: [\n---\nbody"))
	if len(ds) != 1 || ds[0].Code != CodeYAMLSyntax || ds[0].Line < 2 {
		t.Errorf("prompty front matter positions are the file's: %v", ds)
	}
}

func TestParseRef(t *testing.T) {
	cases := []struct {
		raw  any
		want Value
	}{
		{"${inputs.q}", Value{Kind: RefFlowInput, Name: "q"}},
		{"${flow.q}", Value{Kind: RefFlowInput, Name: "q"}},
		{"${inputs.a.b}", Value{Kind: RefFlowInput, Name: "a.b"}},
		{"${node}", Value{Kind: RefNode, Name: "node", Section: "output"}},
		{"${node.output}", Value{Kind: RefNode, Name: "node", Section: "output"}},
		{"${node.output.a.b}", Value{Kind: RefNode, Name: "node", Section: "output", Path: "a.b"}},
		{"${}", Value{Kind: RefNode, Name: "", Section: "output"}},
		{"${inputs}", Value{Kind: RefNode, Name: "inputs", Section: "output"}},
		{"${inputs.num} > 0", Value{Kind: RefLiteral}},
		{"$x", Value{Kind: RefLiteral}},
		{"${a", Value{Kind: RefLiteral}},
		{"{a}", Value{Kind: RefLiteral}},
		{"$}", Value{Kind: RefLiteral}},
		{42, Value{Kind: RefLiteral}},
		{nil, Value{Kind: RefLiteral}},
		{[]any{"${a}"}, Value{Kind: RefLiteral}},
	}
	for _, c := range cases {
		got := ParseRef(c.raw)
		c.want.Raw = c.raw
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ParseRef(%#v) (-want +got):\n%s", c.raw, diff)
		}
	}
	if s := ParseRef("${n.output.a}").String(); s != "${n.output.a}" {
		t.Errorf("String: %s", s)
	}
}

func TestParseVariant(t *testing.T) {
	good := map[string][2]string{
		"${summarize.variant_1}":     {"summarize", "variant_1"},
		"  '${a.b}' ":                {"a", "b"},
		`"${node.v.with.dots}"`:      {"node", "v.with.dots"},
		"${summarize_text.variant0}": {"summarize_text", "variant0"},
	}
	for in, want := range good {
		n, v, err := ParseVariant(in)
		if err != nil || n != want[0] || v != want[1] {
			t.Errorf("ParseVariant(%q) = %q, %q, %v; want %v", in, n, v, err, want)
		}
	}
	for _, in := range []string{"", "variant_1", "${a}", "${.b}", "${a.}", "{a.b}", "${a.b", "${a.{b}}"} {
		if _, _, err := ParseVariant(in); !fault.Is(err, fault.Validation) || fault.HintOf(err) == "" {
			t.Errorf("ParseVariant(%q) = %v, want a validation error with a hint", in, err)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dag := write("dag/flow.dag.yaml", "inputs: {}\n")
	yml := write("yml/flow.dag.yml", "")
	flex := write("flex/flow.flex.yaml", "entry: a:b\n")
	write("both/flow.dag.yaml", "")
	write("both/flow.flex.yaml", "")
	write("none/readme.md", "")
	txt := write("flow.txt", "")
	prompty := write("p/x.PROMPTY", "---\n---\n")
	if err := os.MkdirAll(filepath.Join(dir, "dirflow", "flow.dag.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}

	for in, want := range map[string]string{
		filepath.Join(dir, "dag"): dag, filepath.Join(dir, "yml"): yml, filepath.Join(dir, "flex"): flex, dag: dag, prompty: prompty,
	} {
		got, err := Resolve(in)
		if err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		filepath.Join(dir, "both"):    "multiple flow files flow.dag.yaml, flow.flex.yaml",
		filepath.Join(dir, "none"):    "found neither flow.dag.yaml nor flow.flex.yaml",
		filepath.Join(dir, "dirflow"): "found neither",
		filepath.Join(dir, "missing"): "does not exist",
		txt:                           `suffix must be yaml, yml or prompty; cannot be ".txt"`,
		"":                            "no flow path",
	} {
		_, err := Resolve(in)
		if !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), msg) || fault.HintOf(err) == "" {
			t.Errorf("Resolve(%q) = %v; want a validation error containing %q with a hint", in, err, msg)
		}
		if strings.Contains(err.Error(), "stat ") {
			t.Errorf("Resolve(%q) repeats the system error: %v", in, err)
		}
	}
}

func TestLoadAndCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flow.dag.yaml"), []byte(strings.TrimLeft(base, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	f, ds, err := Load(dir)
	if err != nil || len(ds) != 0 || f.Node("echo") == nil || f.Dir != dir {
		t.Fatalf("Load: %v %v %+v", err, ds, f)
	}
	_, ds, err = Check(dir, ValidateOptions{})
	if err != nil || len(ds.Errors()) != 1 || ds[0].Code != CodeSourceNotFound {
		t.Fatalf("Check without echo.py: %v %v", err, ds)
	}
	if !strings.HasSuffix(ds[0].File, "flow.dag.yaml") {
		t.Errorf("diagnostic file %q", ds[0].File)
	}
	if err := os.WriteFile(filepath.Join(dir, "echo.py"), []byte("def f(): pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ds, err = Check(dir, ValidateOptions{}); err != nil || len(ds) != 0 {
		t.Fatalf("Check with echo.py: %v %v", err, ds)
	}
	if _, _, err := Load(filepath.Join(dir, "nope")); !fault.Is(err, fault.Validation) {
		t.Errorf("Load of a missing path: %v", err)
	}
	var le *diag.ListError
	if errors.As(diag.List{{Severity: diag.Error}}.Err(), &le) == false {
		t.Error("diag list error")
	}
}

func TestLoadRejectsHugeAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", maxFlowFile+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(big); !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
	if _, _, err := Load("/dev/null.yaml"); err == nil {
		t.Error("missing file should fail")
	}
}

// TestYAMLErrorsPointAtTheMistake: each kind of YAML mistake gets the line
// and column of the offending character and a hint that names the cause.
func TestYAMLErrorsPointAtTheMistake(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       string // line:col
		hint       string // substring
	}{
		{"tab in indentation", "inputs:\n  q:\n\t type: string\n", "3:1", "not tabs"},
		{"unclosed double quote", "inputs:\n  q:\n    type: \"string\nnodes: []\n", "3:11", "never closed"},
		{"unclosed single quote", "description: 'it''s\n", "1:14", "never closed"},
		{"colon in a plain value", "description: see: here\n", "1:17", "quotes"},
		{"binary garbage", "inputs:\n  q: \xff\xfe\n", "2:6", "UTF-8"},
		{"NUL byte", "inputs:\n  na\x00me: 1\n", "2:5", "U+0000"},
		{"undefined alias", "inputs:\n  q: *nope\n", "2:6", "&nope"},
		{"reserved indicator", "description: @x\n", "1:1", "quotes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, ds := Parse("flow.dag.yaml", []byte(c.yaml))
			if len(ds) != 1 || ds[0].Code != CodeYAMLSyntax {
				t.Fatalf("want one yaml-syntax diagnostic, got:\n%s", listString(ds))
			}
			d := ds[0]
			if got := strconv.Itoa(d.Line) + ":" + strconv.Itoa(d.Column); got != c.want {
				t.Errorf("position %s, want %s: %v", got, c.want, d)
			}
			if !strings.Contains(d.Hint, c.hint) {
				t.Errorf("hint %q does not contain %q", d.Hint, c.hint)
			}
			if strings.Contains(d.Message, "yaml:") || strings.Contains(d.Message, "line ") {
				t.Errorf("message repeats yaml.v3's prefix or line: %q", d.Message)
			}
			if !f.Incomplete {
				t.Error("a flow that is not valid YAML must be Incomplete")
			}
			if vs := f.Validate(ValidateOptions{Batch: true}); len(vs) != 0 {
				t.Errorf("Validate of an unreadable flow restates the problem:\n%s", listString(vs))
			}
		})
	}
}

// TestIncompleteFlowValidatesQuietly: after a file-level problem Validate
// adds nothing: Parse's error (an empty file is one, for validate and run
// create alike) says it all.
func TestIncompleteFlowValidatesQuietly(t *testing.T) {
	cases := []struct {
		name, yaml string
		batch      bool
		want       []string
	}{
		{"list root", "- a\n", true, nil},
		{"alias bomb", aliasBomb, true, nil},
		{"empty, interactive", "", false, nil},
		{"empty, batch", "# only a comment\n", true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, _ := Parse("flow.dag.yaml", []byte(c.yaml))
			if !f.Incomplete {
				t.Fatal("want Incomplete")
			}
			var got []string
			for _, d := range f.Validate(ValidateOptions{Batch: c.batch}) {
				got = append(got, string(d.Severity)+" "+d.Code+" "+strconv.Itoa(d.Line)+":"+strconv.Itoa(d.Column))
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
	if f, _ := Parse("flow.dag.yaml", []byte("inputs: {}\nnodes: []\n")); f.Incomplete {
		t.Error("a readable flow with no nodes is not Incomplete")
	}
}

// TestNestedComplexKeysStaySmall: keys that are mappings of mappings are
// escaped once per level; without a bound the text doubles per level.
func TestNestedComplexKeysStaySmall(t *testing.T) {
	k := "a: 1"
	for i := 0; i < 60; i++ {
		k = "{" + k + "}: 1"
	}
	f, _ := Parse("flow.dag.yaml", []byte("x: {"+k+"}\n"))
	if n := len(pyStr(f.Raw)); n > 1<<16 {
		t.Errorf("raw value renders to %d bytes", n)
	}
}
