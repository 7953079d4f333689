package flow

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/diag"
)

// base is a valid one-node flow; cases append to or replace parts of it.
const base = `
inputs:
  question:
    type: string
outputs:
  answer:
    type: string
    reference: ${echo.output}
nodes:
- name: echo
  type: python
  source:
    type: code
    path: echo.py
  inputs:
    text: ${inputs.question}
`

type ruleCase struct {
	name  string
	yaml  string
	files []string // files that exist, relative to the flow folder
	opts  ValidateOptions
	// want is "severity code line:col" for each diagnostic expected, in
	// order after sorting; "" means no diagnostic at all.
	want []string
	// msg, if set, must appear in the first wanted diagnostic's message.
	msg string
}

func runCase(t *testing.T, c ruleCase) diag.List {
	t.Helper()
	f, ds := Parse("flow.dag.yaml", []byte(strings.TrimLeft(c.yaml, "\n")))
	files := map[string]bool{}
	for _, p := range c.files {
		files[p] = true
	}
	opts := c.opts
	if opts.Exists == nil {
		opts.Exists = func(rel string) bool { return files[rel] }
	}
	if opts.ReadFile == nil {
		opts.ReadFile = func(rel string) ([]byte, error) { return nil, fmt.Errorf("no content for %s", rel) }
	}
	ds = append(ds, f.Validate(opts)...)
	ds.Sort()
	var got []string
	for _, d := range ds {
		got = append(got, fmt.Sprintf("%s %s %d:%d", d.Severity, d.Code, d.Line, d.Column))
		if d.File != "flow.dag.yaml" && !strings.HasSuffix(d.File, ".yaml") {
			t.Errorf("diagnostic names file %q, want the flow file", d.File)
		}
		if d.Message == "" || d.Hint == "" {
			t.Errorf("diagnostic without message or hint: %+v", d)
		}
		if d.Line == 0 || d.Column == 0 {
			t.Errorf("diagnostic without position: %s", d)
		}
	}
	if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
		t.Errorf("diagnostics:\n got  %s\n want %s\nfull:\n%s", strings.Join(got, "\n      "), strings.Join(c.want, "\n      "), listString(ds))
	}
	if c.msg != "" && len(ds) > 0 {
		found := false
		for _, d := range ds {
			if strings.Contains(d.Message, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no message contains %q:\n%s", c.msg, listString(ds))
		}
	}
	return ds
}

func listString(ds diag.List) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

func TestValidateRules(t *testing.T) {
	cases := []ruleCase{
		{name: "valid flow", yaml: base, files: []string{"echo.py"}},
		{name: "missing source file", yaml: base,
			want: []string{"error source-not-found 12:5"}, msg: `source path "echo.py" does not exist`},
		{name: "unknown flow input", yaml: strings.Replace(base, "${inputs.question}", "${inputs.questoin}", 1), files: []string{"echo.py"},
			want: []string{"error unknown-input-ref 15:11"}, msg: `references flow input "questoin"`},
		{name: "flow. prefix is a flow input", yaml: strings.Replace(base, "${inputs.question}", "${flow.question}", 1), files: []string{"echo.py"}},
		{name: "unknown node in input", yaml: base + "- name: second\n  type: python\n  source: {type: code, path: echo.py}\n  inputs:\n    x: ${ech.output}\n", files: []string{"echo.py"},
			want: []string{"error unknown-node-ref 20:8"}, msg: `references node "ech"`},
		{name: "literal with ${} inside is not a reference", yaml: strings.Replace(base, "${inputs.question}", "'${inputs.nope} > 0'", 1), files: []string{"echo.py"}},
		{name: "duplicate node", yaml: base + "- name: echo\n  type: python\n  source: {type: code, path: echo.py}\n", files: []string{"echo.py"},
			want: []string{"error duplicate-node 16:9"}, msg: `node "echo" appears more than once`},
		{name: "cycle", yaml: `
inputs:
  q: {type: string}
outputs:
  o: {type: string, reference: "${a.output}"}
nodes:
- name: a
  type: python
  source: {type: code, path: t.py}
  inputs: {x: "${b.output}"}
- name: b
  type: python
  source: {type: code, path: t.py}
  inputs: {x: "${a.output}"}
`, files: []string{"t.py"}, want: []string{"error node-cycle 6:9"}, msg: "['a', 'b']: a → b → a"},
		{name: "self reference is a cycle", yaml: strings.Replace(base, "${inputs.question}", "${echo.output}", 1), files: []string{"echo.py"},
			want: []string{"error node-cycle 9:9"}},
		{name: "cycle through activate", yaml: `
inputs:
  q: {type: string}
outputs:
  o: {type: string, reference: "${a.output}"}
nodes:
- name: a
  type: python
  source: {type: code, path: t.py}
  inputs: {x: "${inputs.q}"}
  activate: {when: "${b.output}", is: true}
- name: b
  type: python
  source: {type: code, path: t.py}
  inputs: {x: "${a.output}"}
`, files: []string{"t.py"}, want: []string{"error node-cycle 6:9"}},
		{name: "output references missing node", yaml: strings.Replace(base, "${echo.output}", "${missing.output}", 1), files: []string{"echo.py"},
			want: []string{"error unknown-node-ref 7:16"}, msg: `output "answer" references node "missing"`},
		{name: "output references missing input", yaml: strings.Replace(base, "${echo.output}", "${inputs.nope}", 1), files: []string{"echo.py"},
			want: []string{"error unknown-input-ref 7:16"}},
		{name: "output references an input", yaml: strings.Replace(base, "${echo.output}", "${inputs.question}", 1), files: []string{"echo.py"}},
		{name: "empty output reference", yaml: strings.Replace(base, "${echo.output}", `""`, 1), files: []string{"echo.py"},
			want: []string{"error empty-output-reference 7:16"}, msg: `not specified for the output "answer"`},
		{name: "missing output reference", yaml: strings.Replace(base, "    reference: ${echo.output}\n", "", 1), files: []string{"echo.py"},
			want: []string{"error empty-output-reference 5:3"}},
		{name: "literal output reference", yaml: strings.Replace(base, "${echo.output}", "hello", 1), files: []string{"echo.py"},
			want: []string{"warning literal-output-reference 7:16"}},
		{name: "activate with when but no is", yaml: base + "  activate:\n    when: ${inputs.question}\n", files: []string{"echo.py"},
			want: []string{"error invalid-activate 17:5"}, msg: `activate has no "is"`},
		{name: "activate with is but no when", yaml: base + "  activate:\n    is: true\n", files: []string{"echo.py"},
			want: []string{"error invalid-activate 17:5"}, msg: `activate has no "when"`},
		{name: "activate both null", yaml: base + "  activate:\n    when:\n    is:\n", files: []string{"echo.py"},
			want: []string{"warning empty-activate 17:5"}},
		{name: "activate on unknown input", yaml: base + "  activate: {when: '${inputs.nope}', is: 1}\n", files: []string{"echo.py"},
			want: []string{"error unknown-input-ref 16:20"}},
		{name: "aggregation referenced by line node", yaml: base + `- name: agg
  type: python
  source: {type: code, path: echo.py}
  inputs: {x: "${echo.output}"}
  aggregation: true
- name: after
  type: python
  source: {type: code, path: echo.py}
  inputs: {x: "${agg.output}"}
`, files: []string{"echo.py"}, want: []string{"error aggregation-ref 24:15"}, msg: `cannot reference aggregation node "agg"`},
		{name: "aggregation activate references line node", yaml: base + `- name: agg
  type: python
  source: {type: code, path: echo.py}
  inputs: {x: "${echo.output}"}
  aggregation: true
  activate: {when: "${echo.output}", is: 1}
`, files: []string{"echo.py"}, want: []string{"error aggregation-activate-ref 21:20"}},
		{name: "legacy reduce is aggregation", yaml: base + `- name: agg
  type: python
  source: {type: code, path: echo.py}
  inputs: {x: "${echo.output}"}
  reduce: true
- name: after
  type: python
  source: {type: code, path: echo.py}
  inputs: {x: "${agg.output}"}
`, files: []string{"echo.py"}, want: []string{"error aggregation-ref 24:15"}},
		{name: "output references aggregation node", yaml: strings.Replace(base, "${echo.output}", "${agg.output}", 1) + `- name: agg
  type: python
  source: {type: code, path: echo.py}
  inputs: {x: "${echo.output}"}
  aggregation: true
`, files: []string{"echo.py"}, want: []string{"warning output-aggregation-ref 7:16"}},
		{name: "missing node type", yaml: strings.Replace(base, "  type: python\n", "", 1), files: []string{"echo.py"},
			want: []string{"error missing-node-type 9:9"}, msg: "Tool type None is not supported yet"},
		{name: "unknown node type", yaml: strings.Replace(base, "type: python", "type: pyhton", 1), files: []string{"echo.py"},
			want: []string{"error unknown-node-type 10:9"}},
		{name: "missing source", yaml: strings.Replace(base, "  source:\n    type: code\n    path: echo.py\n", "", 1),
			want: []string{"error missing-node-source 10:9"}},
		{name: "missing source path", yaml: strings.Replace(base, "    path: echo.py\n", "", 1),
			want: []string{"error missing-source-path 12:5"}},
		{name: "unknown source type", yaml: strings.Replace(base, "type: code", "type: cod", 1), files: []string{"echo.py"},
			want: []string{"error unknown-source-type 12:5"}, msg: `source type "cod"`},
		{name: "package source without tool", yaml: strings.Replace(base, "type: code\n    path: echo.py", "type: package", 1),
			want: []string{"error missing-source-tool 12:5"}},
		{name: "package tool known", yaml: strings.Replace(base, "type: code\n    path: echo.py", "type: package\n    tool: my.tool", 1),
			opts: ValidateOptions{Tool: func(id string) bool { return id == "my.tool" }}},
		{name: "package tool not installed", yaml: strings.Replace(base, "type: code\n    path: echo.py", "type: package\n    tool: my.tool", 1),
			opts: ValidateOptions{Tool: func(string) bool { return false }}, want: []string{"error unknown-package-tool 12:5"}},
		{name: "custom_llm needs package_with_prompt", yaml: strings.Replace(base, "type: python", "type: custom_llm", 1), files: []string{"echo.py"},
			want: []string{"error custom-llm-source 12:5"}},
		{name: "source outside the flow", yaml: strings.Replace(base, "path: echo.py", "path: ../../etc/passwd", 1),
			want: []string{"error path-outside-flow 12:5"}},
		{name: "absolute source path", yaml: strings.Replace(base, "path: echo.py", "path: /etc/passwd", 1),
			want: []string{"error path-outside-flow 12:5"}},
		{name: "source from additional include", yaml: base + "additional_includes:\n- ../shared/echo.py\n", files: []string{"../shared/echo.py"}},
		{name: "source in included folder", yaml: strings.Replace(base, "path: echo.py", "path: lib/echo.py", 1) + "additional_includes:\n- ../common/lib\n",
			files: []string{"../common/lib", "../common/lib/echo.py"}},
		{name: "missing include", yaml: base + "additional_includes:\n- ../nowhere/x.py\n", files: []string{"echo.py"},
			want: []string{"error include-not-found 17:3"}, msg: `unable to find additional include "../nowhere/x.py"`},
		{name: "zip include made from sibling folder", yaml: base + "additional_includes:\n- ../pkg.zip\n", files: []string{"echo.py", "../pkg"}},
		{name: "duplicate include", yaml: base + "additional_includes:\n- ../a.py\n- ../a.py\n", files: []string{"echo.py", "../a.py"},
			want: []string{"warning duplicate-include 18:3"}},
		{name: "llm without api", yaml: strings.Replace(base, "type: python", "type: llm", 1), files: []string{"echo.py"},
			want: []string{"error missing-llm-api 10:9"}},
		{name: "llm unknown api", yaml: strings.Replace(base, "type: python", "type: llm\n  api: completion_1", 1), files: []string{"echo.py"},
			want: []string{"error unknown-llm-api 11:8"}, msg: `api "completion_1"`},
		{name: "llm unknown provider warns", yaml: strings.Replace(base, "type: python", "type: llm\n  api: chat\n  provider: AzureOpenAI_11", 1), files: []string{"echo.py"},
			want: []string{"warning unknown-llm-provider 12:13"}},
		{name: "invalid module", yaml: strings.Replace(base, "type: python", "type: python\n  module: promptflow.tools.aoai.11", 1), files: []string{"echo.py"},
			want: []string{"error invalid-module 11:11"}},
		{name: "connection not found", yaml: strings.Replace(base, "type: python", "type: llm\n  api: chat\n  connection: nope", 1), files: []string{"echo.py"},
			opts: ValidateOptions{Connection: func(string) (string, bool) { return "", false }}, want: []string{"error connection-not-found 12:15"}},
		{name: "llm connection of wrong type", yaml: strings.Replace(base, "type: python", "type: llm\n  api: chat\n  connection: custom", 1), files: []string{"echo.py"},
			opts: ValidateOptions{Connection: func(string) (string, bool) { return "CustomConnection", true }}, want: []string{"error connection-type 12:15"}, msg: "type Custom, which is not supported for LLM"},
		{name: "llm connection of right type", yaml: strings.Replace(base, "type: python", "type: llm\n  api: chat\n  connection: aoai", 1), files: []string{"echo.py"},
			opts: ValidateOptions{Connection: func(string) (string, bool) { return "AzureOpenAI", true }}},
		{name: "no inputs warns", yaml: strings.Replace(strings.Replace(base, "inputs:\n  question:\n    type: string\n", "", 1), "${inputs.question}", "hi", 1), files: []string{"echo.py"},
			want: []string{"warning no-inputs 1:1"}},
		{name: "no inputs is an error for batch runs", yaml: strings.Replace(strings.Replace(base, "inputs:\n  question:\n    type: string\n", "", 1), "${inputs.question}", "hi", 1), files: []string{"echo.py"},
			opts: ValidateOptions{Batch: true}, want: []string{"error no-inputs 1:1"}},
		{name: "requirements missing", yaml: base + "environment:\n  python_requirements_txt: requirements.txt\n", files: []string{"echo.py"},
			want: []string{"warning requirements-not-found 17:28"}},
		{name: "requirements present", yaml: base + "environment:\n  python_requirements_txt: requirements.txt\n", files: []string{"echo.py", "requirements.txt"}},
		{name: "requirements from include", yaml: base + "environment:\n  python_requirements_txt: requirements\nadditional_includes: [../env/requirements]\n",
			files: []string{"echo.py", "../env/requirements"}},
		{name: "requirements outside flow", yaml: base + "environment:\n  python_requirements_txt: ../requirements.txt\n", files: []string{"echo.py", "../requirements.txt"},
			want: []string{"error path-outside-flow 17:28"}},
		{name: "empty flow warns", yaml: "inputs:\n  q: {type: string}\n", want: []string{"warning empty-flow 1:1"}},
		{name: "multiple chat inputs", yaml: strings.Replace(base, "    type: string\noutputs", "    type: string\n    is_chat_input: true\n  other:\n    type: string\n    is_chat_input: true\noutputs", 1) + "", files: []string{"echo.py"},
			want: []string{"warning multiple-chat-inputs 2:3", "warning missing-chat-output 9:3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

const variantsFlow = `
inputs:
  text: {type: string}
outputs:
  out: {type: string, reference: "${summarize.output}"}
nodes:
- name: summarize
  use_variants: true
node_variants:
  summarize:
    default_variant_id: variant_1
    variants:
      variant_0:
        node:
          type: llm
          api: chat
          source: {type: code, path: a.jinja2}
          inputs: {text: "${inputs.text}"}
      variant_1:
        node:
          type: llm
          api: completion
          source: {type: code, path: b.jinja2}
          inputs: {text: "${inputs.text}"}
`

func TestValidateVariants(t *testing.T) {
	cases := []ruleCase{
		{name: "valid variants", yaml: variantsFlow, files: []string{"a.jinja2", "b.jinja2"}},
		{name: "variant body checked", yaml: variantsFlow, files: []string{"a.jinja2"},
			want: []string{"error source-not-found 22:19"}, msg: `node "summarize" (variant "variant_1"): source path "b.jinja2" does not exist`},
		{name: "variant references unknown input", yaml: strings.Replace(variantsFlow, `inputs: {text: "${inputs.text}"}
      variant_1`, `inputs: {text: "${inputs.txt}"}
      variant_1`, 1), files: []string{"a.jinja2", "b.jinja2"},
			want: []string{"error unknown-input-ref 17:26"}},
		{name: "unknown default variant", yaml: strings.Replace(variantsFlow, "default_variant_id: variant_1", "default_variant_id: variant_2", 1), files: []string{"a.jinja2", "b.jinja2"},
			want: []string{"error unknown-variant 10:25"}, msg: `default variant "variant_2"`},
		{name: "missing default variant", yaml: strings.Replace(variantsFlow, "    default_variant_id: variant_1\n", "", 1), files: []string{"a.jinja2", "b.jinja2"},
			want: []string{"error missing-default-variant 9:3"}},
		{name: "use_variants without node_variants", yaml: strings.Replace(variantsFlow, "node_variants:\n  summarize:", "node_variants:\n  other:", 1), files: []string{"a.jinja2", "b.jinja2"},
			want: []string{"error missing-node-variants 7:17", "warning unused-node-variants 9:3"}},
		{name: "node_variants for a node without use_variants", yaml: strings.Replace(variantsFlow, "  use_variants: true\n", "  type: python\n  source: {type: code, path: s.py}\n", 1),
			files: []string{"a.jinja2", "b.jinja2", "s.py"}, want: []string{"warning unused-node-variants 10:3"}},
		{name: "empty variants", yaml: strings.SplitAfter(variantsFlow, "default_variant_id: variant_1\n")[0] + "    variants: {}\n",
			want: []string{"error no-variants 9:3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestValidateTemplateConflicts(t *testing.T) {
	flowYAML := func(typ, extra string) string {
		return strings.Replace(strings.Replace(base, "type: python", "type: "+typ+extra, 1), "echo.py", "t.jinja2", 1)
	}
	read := func(content string) func(string) ([]byte, error) {
		return func(string) ([]byte, error) { return []byte(content), nil }
	}
	cases := []ruleCase{
		{name: "prompt template uses template", yaml: flowYAML("prompt", ""), files: []string{"t.jinja2"},
			opts: ValidateOptions{ReadFile: read("{{template}}")}, want: []string{"error template-input-conflict 12:5"}},
		{name: "prompt template fine", yaml: flowYAML("prompt", ""), files: []string{"t.jinja2"},
			opts: ValidateOptions{ReadFile: read("{% for m in history %}{{ m.template }}{% endfor %}{{ text | upper }}")}},
		{name: "llm template uses prompt", yaml: flowYAML("llm", "\n  api: completion"), files: []string{"t.jinja2"},
			opts: ValidateOptions{ReadFile: read("{{prompt}}")}, want: []string{"error template-input-conflict 13:5"}, msg: `['prompt']`},
		{name: "llm chat template uses max_tokens", yaml: flowYAML("llm", "\n  api: chat"), files: []string{"t.jinja2"},
			opts: ValidateOptions{ReadFile: read("system:\n{{ max_tokens }} {{ text }}")}, want: []string{"error template-input-conflict 13:5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestTemplateVars(t *testing.T) {
	cases := []struct{ src, want string }{
		{"Hello {{ name }}!", "name"},
		{"{{ a.b.c }} {{ d['x'] }} {{ e|default('f') }}", "a,d,e"},
		{"{% for item in chat_history %}{{ item.inputs.question }}{% endfor %}", "chat_history"},
		{"{% set x = y %}{{ x }}", "y"},
		{"{# {{ hidden }} #}{% raw %}{{ raw }}{% endraw %}{{ shown }}", "shown"},
		{"{{ f(key=value) }} {% if x is defined and not z %}{% endif %}", "f,value,x,z"},
		{"{{ 'text' ~ 42 }} {{ loop }} {{ true }}", ""},
		{"{{ unclosed", ""},
	}
	for _, c := range cases {
		if got := strings.Join(templateVars(c.src), ","); got != c.want {
			t.Errorf("templateVars(%q) = %q, want %q", c.src, got, c.want)
		}
	}
}

func TestAssistantDefinition(t *testing.T) {
	flowYAML := strings.Replace(base, "text: ${inputs.question}", "text: ${inputs.question}\n    assistant_definition: assistant.yaml", 1)
	def := func(src string) func(string) ([]byte, error) {
		return func(rel string) ([]byte, error) {
			if rel == "assistant.yaml" {
				return []byte(src), nil
			}
			return nil, fmt.Errorf("none")
		}
	}
	tools := "model: gpt-4\ntools:\n  - type: code_interpreter\n  - type: function\n    source:\n      type: %s\n      %s\n"
	cases := []ruleCase{
		{name: "missing definition", yaml: flowYAML, files: []string{"echo.py"}, want: []string{"error assistant-definition-not-found 16:27"}},
		{name: "valid code tool", yaml: flowYAML, files: []string{"echo.py", "assistant.yaml", "hello.py"},
			opts: ValidateOptions{ReadFile: def(fmt.Sprintf(tools, "code", "path: ./hello.py"))}},
		{name: "code tool missing", yaml: flowYAML, files: []string{"echo.py", "assistant.yaml"},
			opts: ValidateOptions{ReadFile: def(fmt.Sprintf(tools, "code", "path: ./hello.py"))}, want: []string{"error assistant-tool-not-found 6:7"}},
		{name: "wrong source type", yaml: flowYAML, files: []string{"echo.py", "assistant.yaml"},
			opts: ValidateOptions{ReadFile: def(fmt.Sprintf(tools, "package1", "tool: hello.world"))}, want: []string{"error assistant-tool-source-type 6:7"}},
		{name: "package tool not installed", yaml: flowYAML, files: []string{"echo.py", "assistant.yaml"},
			opts: ValidateOptions{ReadFile: def(fmt.Sprintf(tools, "package", "tool: hello.world")), Tool: func(string) bool { return false }},
			want: []string{"error unknown-package-tool 6:7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := runCase(t, c)
			for _, d := range ds {
				if strings.Contains(d.Code, "assistant-tool") && d.File != "assistant.yaml" {
					t.Errorf("finding inside the assistant definition names %q, want assistant.yaml", d.File)
				}
			}
		})
	}
}

func TestValidatePromptyConnection(t *testing.T) {
	text := "---\nmodel:\n  configuration:\n    connection: aoai\n    azure_deployment: d\n  parameters: {}\n---\nuser:\nhi\n"
	f, ds := Parse("p.prompty", []byte(text))
	if len(ds) != 0 {
		t.Fatal(ds)
	}
	conns := map[string]string{"aoai": "AzureOpenAI", "custom": "Custom"}
	lookup := func(name string) (string, bool) { typ, ok := conns[name]; return typ, ok }
	if got := f.Validate(ValidateOptions{Connection: lookup}); len(got) != 0 {
		t.Errorf("existing AzureOpenAI connection: %v", got)
	}
	conns["aoai"] = "Custom"
	got := f.Validate(ValidateOptions{Connection: lookup})
	if len(got) != 1 || got[0].Code != CodeConnectionType || got[0].Line != 4 || got[0].Column != 17 {
		t.Errorf("custom connection: %v", got)
	}
	delete(conns, "aoai")
	got = f.Validate(ValidateOptions{Connection: lookup})
	if len(got) != 1 || got[0].Code != CodeConnectionMissing || got[0].Line != 4 {
		t.Errorf("missing connection: %v", got)
	}
}
