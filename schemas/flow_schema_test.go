package schemas

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func flowSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	sch, err := Compile("flow.dag.schema.json")
	if err != nil {
		t.Fatalf("flow.dag.schema.json does not compile: %v", err)
	}
	return sch
}

// instance reads a flow file the way pfz does (YAML 1.2, merge keys) and
// returns the document as JSON values.
func instance(t *testing.T, name string, data []byte) any {
	t.Helper()
	f, ds := flow.Parse(name, data)
	for _, d := range ds {
		if d.Code == flow.CodeYAMLSyntax || d.Code == flow.CodeNotMapping {
			t.Fatalf("%s: %s", name, d)
		}
	}
	return f.Raw
}

func validateFile(t *testing.T, sch *jsonschema.Schema, path string) error {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(instance(t, path, data))
}

// TestFlowSchemaOwnFixtures: testdata/flows/valid DAGs pass, invalid fail.
func TestFlowSchemaOwnFixtures(t *testing.T) {
	sch := flowSchema(t)
	root := filepath.Join("..", "testdata", "flows")
	valid, _ := filepath.Glob(filepath.Join(root, "valid", "*.dag.yaml"))
	invalid, _ := filepath.Glob(filepath.Join(root, "invalid", "*.dag.yaml"))
	if len(valid) == 0 || len(invalid) == 0 {
		t.Fatalf("fixtures missing under %s", root)
	}
	for _, p := range valid {
		if err := validateFile(t, sch, p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range invalid {
		if err := validateFile(t, sch, p); err == nil {
			t.Errorf("%s: the schema accepts it", p)
		}
	}
}

// TestFlowSchemaExamples: every flow under examples/ passes.
func TestFlowSchemaExamples(t *testing.T) {
	sch := flowSchema(t)
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "examples"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (d.Name() == "flow.dag.yaml" || d.Name() == "flow.dag.yml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found only %d flows under examples/, want at least 3", len(files))
	}
	for _, p := range files {
		if err := validateFile(t, sch, p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	t.Logf("%d example flows valid", len(files))
}

// TestFlowSchemaCorpus: every promptflow fixture the MANIFEST expects to be a
// valid definition (V, V-rt, V-env, V (…), N/A+V) passes the schema; the
// fixtures rejected for their definition itself fail it.
func TestFlowSchemaCorpus(t *testing.T) {
	sch := flowSchema(t)
	root := shared.Path(t, "conformance", "promptflow")
	fh, err := os.Open(filepath.Join(root, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	checked := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 || !(strings.HasPrefix(cols[0], "flows/") || strings.HasPrefix(cols[0], "wrong_flows/")) {
			continue
		}
		if !strings.HasPrefix(cols[1], "V") && cols[1] != "N/A+V" {
			continue
		}
		file := filepath.Join(root, "test_configs", filepath.FromSlash(cols[0]), "flow.dag.yaml")
		if _, err := os.Stat(file); err != nil {
			continue
		}
		checked++
		if err := validateFile(t, sch, file); err != nil {
			t.Errorf("%s (%s): %v", cols[0], cols[1], err)
		}
	}
	if checked < 100 {
		t.Errorf("only %d valid corpus flows found; the corpus layout changed?", checked)
	}
	t.Logf("%d valid corpus flows pass the schema", checked)

	// Definitions the schema itself can reject.
	for _, fixture := range []string{
		"flows/web_classification_invalid",          // inputs.url.type, outputs.category.type missing
		"wrong_flows/node_missing_type_or_source",   // no type
		"wrong_flows/tool_type_missing",             // no type
		"wrong_flows/flow_output_reference_invalid", // reference: ""
		"wrong_flows/wrong_module",                  // module promptflow.tools.aoai.11
	} {
		if err := validateFile(t, sch, filepath.Join(root, "test_configs", fixture, "flow.dag.yaml")); err == nil {
			t.Errorf("%s: the schema accepts it", fixture)
		}
	}
}

func TestFlowSchemaRules(t *testing.T) {
	sch := flowSchema(t)
	const ok = `
inputs: {q: {type: string, default: hi}}
outputs: {o: {type: string, reference: "${n.output}"}}
nodes:
- name: n
  type: python
  source: {type: code, path: n.py}
  inputs: {x: "${inputs.q}"}
`
	cases := []struct {
		name, yaml string
		valid      bool
	}{
		{"valid", ok, true},
		{"unknown top-level key", ok + "inputz: {}\n", false},
		{"legacy version key", ok + "version: 2\n", true},
		{"input without type", strings.Replace(ok, "type: string, default: hi", "default: hi", 1), false},
		{"unknown value type", strings.Replace(ok, "{type: string, default", "{type: str, default", 1), false},
		{"unknown node type", strings.Replace(ok, "type: python", "type: pyhton", 1), false},
		{"node without source", strings.Replace(ok, "  source: {type: code, path: n.py}\n", "", 1), false},
		{"code source without path", strings.Replace(ok, "{type: code, path: n.py}", "{type: code}", 1), false},
		{"package source without tool", strings.Replace(ok, "{type: code, path: n.py}", "{type: package}", 1), false},
		{"package source", strings.Replace(ok, "{type: code, path: n.py}", "{type: package, tool: a.b}", 1), true},
		{"activate without is", ok + "  activate: {when: '${inputs.q}'}\n", false},
		{"activate", ok + "  activate: {when: '${inputs.q}', is: hi}\n", true},
		{"use_variants node needs no type", ok + "- name: v\n  use_variants: true\nnode_variants:\n  v:\n    default_variant_id: a\n    variants:\n      a: {node: {type: python, source: {path: v.py}}}\n", true},
		{"variants without default", ok + "- name: v\n  use_variants: true\nnode_variants:\n  v:\n    variants:\n      a: {node: {type: python, source: {path: v.py}}}\n", false},
		{"aggregation must be boolean", ok + "  aggregation: 'yes'\n", false},
		{"include entries are strings", ok + "additional_includes: [{type: artifact}]\n", false},
		{"bad message format", ok + "message_format: vision\n", false},
		{"environment keeps other keys", ok + "environment: {image: x, python_requirements_txt: r.txt, extra: 1}\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := sch.Validate(instance(t, "flow.dag.yaml", []byte(strings.TrimLeft(c.yaml, "\n"))))
			if c.valid && err != nil {
				t.Errorf("want valid: %v", err)
			}
			if !c.valid && err == nil {
				t.Error("want invalid")
			}
		})
	}
}

func TestFSHoldsTheFlowSchema(t *testing.T) {
	if _, err := FS.ReadFile("flow.dag.schema.json"); err != nil {
		t.Fatal(err)
	}
}
