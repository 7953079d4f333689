package flow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
)

func mustParse(t *testing.T, src string) *Flow {
	t.Helper()
	f, ds := Parse("flow.dag.yaml", []byte(strings.TrimLeft(src, "\n")))
	if ds.HasErrors() {
		t.Fatalf("parse:\n%s", listString(ds))
	}
	return f
}

const mergeFlow = `
inputs:
  text: {type: string}
outputs:
  out: {type: string, reference: "${summarize.output}"}
nodes:
- name: summarize
  type: llm
  source: {type: code, path: base.jinja2}
  connection: base_conn
  api: completion
  inputs: {text: "${inputs.text}", max_tokens: 10}
  use_variants: true
- name: after
  type: python
  source: {type: code, path: after.py}
  inputs: {x: "${summarize.output}"}
node_variants:
  summarize:
    default_variant_id: variant_1
    variants:
      variant_0:
        node:
          api: chat
          source: {type: code, path: v0.jinja2}
          inputs: {text: "${inputs.text}"}
      variant_1:
        description: keeps the base body, only a new connection
        node:
          connection: other_conn
`

func TestWithVariant(t *testing.T) {
	f := mustParse(t, mergeFlow)

	def, err := f.WithVariant("")
	if err != nil {
		t.Fatal(err)
	}
	s := def.Node("summarize")
	if s.VariantID != "variant_1" || s.UseVariants || s.Connection != "other_conn" || s.API != "completion" ||
		s.Source.Path != "base.jinja2" || len(s.Inputs) != 2 || s.Name != "summarize" {
		t.Errorf("default variant keeps the base keys it does not set: %+v", s)
	}
	if def.Variants != nil {
		t.Error("the copy still has node_variants")
	}

	v0, err := f.WithVariant("${summarize.variant_0}")
	if err != nil {
		t.Fatal(err)
	}
	s = v0.Node("summarize")
	if s.VariantID != "variant_0" || s.API != "chat" || s.Source.Path != "v0.jinja2" || s.Connection != "base_conn" || len(s.Inputs) != 1 {
		t.Errorf("variant_0 replaces the keys it sets (inputs as a whole): %+v", s)
	}
	if got := f.Node("summarize"); !got.UseVariants || got.API != "completion" || len(got.Inputs) != 2 {
		t.Errorf("the original flow changed: %+v", got)
	}
	v0.Node("after").Inputs[0].Name = "changed"
	if f.Node("after").Inputs[0].Name != "x" {
		t.Error("the copy shares node inputs with the original")
	}

	for variant, msg := range map[string]string{
		"${nope.variant_0}":      `node "nope" not found`,
		"${after.variant_0}":     `no variant for the node "after"`,
		"${summarize.variant_9}": `variant "variant_9" not found for node "summarize"`,
		"summarize.variant_0":    "invalid variant format",
	} {
		_, err := f.WithVariant(variant)
		if !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), msg) || fault.HintOf(err) == "" {
			t.Errorf("WithVariant(%q) = %v; want a validation error containing %q with a hint", variant, err, msg)
		}
	}

	bad := mustParse(t, strings.Replace(mergeFlow, "default_variant_id: variant_1", "default_variant_id: variant_7", 1))
	if _, err := bad.WithVariant(""); err == nil || !strings.Contains(err.Error(), `cannot find the variant "variant_7" for "summarize"`) {
		t.Errorf("unknown default: %v", err)
	}
	if _, err := bad.WithVariant("${summarize.variant_0}"); err != nil {
		t.Errorf("choosing a variant explicitly does not need the default: %v", err)
	}
	noDefault := mustParse(t, strings.Replace(mergeFlow, "    default_variant_id: variant_1\n", "", 1))
	if _, err := noDefault.WithVariant(""); err == nil || !strings.Contains(err.Error(), "default variant id is not specified") {
		t.Errorf("missing default: %v", err)
	}
	none := mustParse(t, strings.SplitAfter(mergeFlow, "    default_variant_id: variant_1\n")[0])
	if _, err := none.WithVariant(""); err == nil || !strings.Contains(err.Error(), `no variant for the node "summarize"`) {
		t.Errorf("no variants: %v", err)
	}
}

func TestTopoOrder(t *testing.T) {
	node := func(name, deps string, activate string) string {
		s := "- name: " + name + "\n  type: python\n  source: {type: code, path: t.py}\n  inputs:\n"
		for i, d := range strings.Fields(deps) {
			s += "    in" + string(rune('a'+i)) + ": ${" + d + ".output}\n"
		}
		if deps == "" {
			s += "    x: ${inputs.q}\n"
		}
		if activate != "" {
			s += "  activate: {when: '${" + activate + ".output}', is: 1}\n"
		}
		return s
	}
	head := "inputs:\n  q: {type: string}\nnodes:\n"
	cases := []struct {
		name, nodes string
		want        []string
		cycle       string
	}{
		{name: "file order kept", nodes: node("a", "", "") + node("b", "a", "") + node("c", "b", ""), want: []string{"a", "b", "c"}},
		{name: "unordered", nodes: node("third", "second", "") + node("first", "", "") + node("second", "first", ""), want: []string{"first", "second", "third"}},
		{name: "activate is a dependency", nodes: node("b", "", "a") + node("a", "", ""), want: []string{"a", "b"}},
		{name: "independent nodes keep file order", nodes: node("z", "", "") + node("y", "", "") + node("x", "z", ""), want: []string{"z", "y", "x"}},
		{name: "unknown references ignored", nodes: node("a", "ghost", "") + node("b", "a", ""), want: []string{"a", "b"}},
		{name: "cycle", nodes: node("a", "c", "") + node("b", "a", "") + node("c", "b", ""), cycle: "a → b → c → a"},
		{name: "self cycle", nodes: node("a", "a", ""), cycle: "a → a"},
		{name: "cycle through activate", nodes: node("a", "", "b") + node("b", "a", ""), cycle: "a → b → a"},
		{name: "two cycles", nodes: node("a", "b", "") + node("b", "a", "") + node("c", "d", "") + node("d", "c", ""), cycle: "a → b → a; c → d → c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, head+c.nodes)
			got, err := f.TopoOrder()
			if c.cycle != "" {
				if !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), c.cycle) {
					t.Fatalf("TopoOrder error = %v; want a cycle %q", err, c.cycle)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopoOrderUsesEveryVariant(t *testing.T) {
	f := mustParse(t, `
inputs: {q: {type: string}}
nodes:
- name: s
  use_variants: true
- name: pre
  type: python
  source: {type: code, path: p.py}
  inputs: {x: "${inputs.q}"}
node_variants:
  s:
    default_variant_id: v0
    variants:
      v0: {node: {type: python, source: {type: code, path: a.py}, inputs: {x: "${inputs.q}"}}}
      v1: {node: {type: python, source: {type: code, path: a.py}, inputs: {x: "${pre.output}"}}}
`)
	got, err := f.TopoOrder()
	if err != nil || strings.Join(got, ",") != "pre,s" {
		t.Errorf("TopoOrder = %v, %v; want pre before s because variant v1 reads it", got, err)
	}
}

func TestTypesValid(t *testing.T) {
	if !ValueType("assistant_definition").Valid() || ValueType("str").Valid() || !ToolLLM.Valid() || ToolType("_action").Valid() {
		t.Error("Valid")
	}
}

func TestPyStr(t *testing.T) {
	cases := map[string]any{
		"None": nil, "True": true, "False": false, "3": 3, "1.0": 1.0, "0.1": 0.1, "1e+16": 1e16,
		"1234567.5": 1234567.5, "1.5e-07": 1.5e-7, "0.0001": 0.0001, "-2.5": -2.5,
		`{"a": [1, "x"], "b": null}`: map[string]any{"b": nil, "a": []any{1, "x"}},
		`["\u00e9", true]`:           []any{"é", true},
	}
	for want, in := range cases {
		if got := pyStr(in); got != want {
			t.Errorf("pyStr(%#v) = %q, want %q", in, got, want)
		}
	}
}

func TestNearest(t *testing.T) {
	known := []string{"inputs", "outputs", "nodes", "environment", "id"}
	for in, want := range map[string]string{"inputz": "inputs", "Nodes": "nodes", "env": "environment", "a": "", "x": "", "zzzzzz": "", "my_nodes_2": "nodes", "d": "", "ID": "id"} {
		if got := nearest(in, known); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
}

// A flow built in code (no positions) merges variants by the fields set.
func TestWithVariantBuiltInCode(t *testing.T) {
	f := &Flow{
		Nodes: []Node{{Name: "n", Type: ToolLLM, API: "chat", Connection: "c", UseVariants: true}},
		Variants: map[string]*NodeVariants{"n": {
			DefaultVariantID: "v",
			Order:            []string{"v"},
			Variants:         map[string]*Variant{"v": {ID: "v", Node: Node{Source: Source{Type: "code", Path: "p.jinja2"}, API: "completion"}}},
		}},
	}
	out, err := f.WithVariant("")
	if err != nil {
		t.Fatal(err)
	}
	n := out.Nodes[0]
	if n.API != "completion" || n.Connection != "c" || n.Type != ToolLLM || n.Source.Path != "p.jinja2" || n.VariantID != "v" {
		t.Errorf("merged node: %+v", n)
	}
	if got := (Value{Kind: RefFlowInput, Name: "q"}).String() + (Value{Kind: RefNode, Name: "n", Section: "output"}).String() + (Value{Raw: 3}).String(); got != "${inputs.q}${n.output}3" {
		t.Errorf("Value.String: %s", got)
	}
}
