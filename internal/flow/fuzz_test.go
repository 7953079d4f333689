package flow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pfz-cli/pfz/internal/diag"
)

// fuzzSeeds are small documents that reach the parser's branches: valid
// flows, every section with a wrong type, YAML oddities.
var fuzzSeeds = []string{
	base,
	variantsFlow,
	mergeFlow,
	aliasBomb,
	"",
	"~",
	"[]",
	"inputs:\n  q: {type: string\n",
	"a: 1\n---\nb: 2\n",
	"inputs: &x {q: {type: string}}\noutputs: *x\n",
	"x: &a {<<: *a}\n",
	"nodes:\n- name: a\n  inputs: {x: '${a.output}'}\n  activate: {when: '${a}', is: null}\n",
	"nodes: {a: 1}\ninputs: []\noutputs: 3\nnode_variants: [1]\nenvironment: x\nenvironment_variables: [1]\nadditional_includes: {a: 1}\ntags: 1\n",
	"nodes:\n- name: [1]\n  type: {a: 1}\n  source: [1]\n  inputs: [1]\n  activate: 1\n  aggregation: 2\n",
	"node_variants:\n  n:\n    default_variant_id: [1]\n    variants:\n      v: {node: 1}\n",
	"entry: 'a:b'\nnodes: [1]\n",
	"environment_variables: {A: .inf, B: -.nan, C: 0x1F, D: 1_000, E: 2001-12-14, F: !!binary aGVsbG8=}\n",
	"? [a]\n: 1\n? {b: 1}\n: 2\n",
	"\t- bad\n",
	"nodes:\n- name: a\n  type: llm\n  source: {type: code, path: t.jinja2}\n  inputs: {assistant_definition: a.yaml}\n",
	"inputs:\n  q:\n\t type: string\n",
	"description: 'it''s\n",
	"description: see: here\n",
	"inputs:\n  q: \xff\xfe\n",
	"inputs:\n  na\x00me: 1\n",
	"inputs:\n  q: *nope\n",
	"inputs:\n  \"\\u00e9\": {type: string}\noutputs:\n  o: {type: string, reference: '${inputs.\u00e9}'}\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add("flow.dag.yaml", []byte(s))
	}
	f.Add("chat.prompty", []byte("---\nname: x\n---\n{{q}}"))
	f.Add("flow.flex.yaml", []byte("entry: m:f\n"))
	if files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "flows", "*", "*.y*ml")); err == nil {
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(filepath.Base(p), data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if name == "" || strings.ContainsAny(name, "\x00/\\") {
			name = "flow.dag.yaml"
		}
		fl, ds := Parse(name, data)
		if fl == nil {
			t.Fatal("Parse returned a nil flow")
		}
		// YAML breaks lines at \n, \r\n and a lone \r.
		maxLine := strings.Count(string(data), "\n") + strings.Count(string(data), "\r") - strings.Count(string(data), "\r\n") + 1
		check := func(stage string, d diag.List) {
			for _, x := range d {
				if x.Message == "" || x.Code == "" || x.Hint == "" || x.Line < 1 || x.Column < 1 || x.Line > maxLine {
					t.Fatalf("%s: incomplete diagnostic %+v", stage, x)
				}
			}
		}
		check("parse", ds)
		if _, err := json.Marshal(fl.Raw); err != nil {
			t.Fatalf("Raw does not marshal to JSON: %v", err)
		}
		if _, err := json.Marshal(fl); err != nil && utf8.Valid(data) {
			t.Fatalf("Flow does not marshal to JSON: %v", err)
		}
		vd := fl.Validate(ValidateOptions{
			Exists:     func(rel string) bool { return len(rel)%2 == 0 },
			ReadFile:   func(string) ([]byte, error) { return data, nil },
			Connection: func(n string) (string, bool) { return "Custom", len(n)%2 == 0 },
			Tool:       func(id string) bool { return len(id)%2 == 0 },
		})
		check("validate", vd)
		_, _ = fl.TopoOrder()
		if wv, err := fl.WithVariant(""); err == nil {
			_, _ = wv.TopoOrder()
		}
		for name, nv := range fl.Variants {
			for _, id := range nv.Order {
				_, _ = fl.WithVariant("${" + name + "." + id + "}")
			}
		}
	})
}

// TestFixturesOfOurOwn checks testdata/flows: every valid/ flow is clean (no
// diagnostic at all, every file taken as present) and every invalid/ flow
// has errors.
func TestFixturesOfOurOwn(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "flows", "*", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, p := range files {
		f, ds, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, f.Validate(ValidateOptions{Exists: func(string) bool { return true }, Batch: true})...)
		switch filepath.Base(filepath.Dir(p)) {
		case "valid":
			if len(ds) != 0 {
				t.Errorf("%s: want no diagnostics:\n%s", p, listString(ds))
			}
		case "invalid":
			if !ds.HasErrors() {
				t.Errorf("%s: want errors", p)
			}
		}
	}
}
