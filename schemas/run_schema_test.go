package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func compileRunSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile("run.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("run.schema.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("run.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("run.schema.json")
	if err != nil {
		t.Fatalf("run.schema.json does not compile: %v", err)
	}
	return sch
}

// yamlInstance turns a YAML document into the JSON value the schema sees.
func yamlInstance(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonable(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = jsonable(x)
		}
		return t
	}
	return v
}

// TestRunSchemaCorpus: every run YAML of promptflow's corpus is valid against
// the schema (their faults are missing paths, which no schema can see).
func TestRunSchemaCorpus(t *testing.T) {
	sch := compileRunSchema(t)
	dir := shared.Path(t, "conformance", "promptflow", "test_configs", "runs")
	var files []string
	for _, pat := range []string{"*.yaml", "illegal/*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pat)))
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d run YAMLs in %s", len(files), dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlInstance(t, data)); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

func TestRunSchemaExamples(t *testing.T) {
	sch := compileRunSchema(t)
	n := 0
	err := filepath.WalkDir(filepath.Join("..", "examples"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || !(strings.HasPrefix(name, "run") && (strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml"))) {
			return nil
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := sch.Validate(yamlInstance(t, data)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The repository ships five example run files; finding fewer means
	// the walk looked in the wrong place, not that all is well.
	if n < 5 {
		t.Fatalf("checked only %d example run files under examples/, want at least 5", n)
	}
	t.Logf("checked %d example run files", n)
}

func TestRunSchemaCases(t *testing.T) {
	sch := compileRunSchema(t)
	valid := []string{
		"flow: ./f\ndata: d.jsonl\n",
		"flow: azureml:my-flow\nrun: base\n",
		`$schema: https://azuremlschemas.azureedge.net/promptflow/latest/Run.schema.json
name: n
display_name: "${variant_id}"
description: d
tags: {a: b, c: null}
properties: {p: v}
flow: f
data: azureml:d:1
run: r
column_mapping: {url: "${data.url}", n: 3, o: {a: [1]}}
variant: ${node.variant_0}
connections: {llm: {connection: c, deployment_name: d, temperature: 0.2}}
environment_variables: {A: "1"}
init: {k: {nested: true}}
runtime: automatic
resources: {instance_type: Standard_D2, idle_time_before_shutdown_minutes: 60}
identity: {type: Managed, client_id: abc}
extra_key: unknown keys only warn
`,
		"flow: f\ndata: d\nenvironment_variables: .env\ninit: init.jsonl\nresources: {compute: my_ci}\nidentity: {type: user_identity}\n",
	}
	for i, src := range valid {
		if err := sch.Validate(yamlInstance(t, []byte(src))); err != nil {
			t.Errorf("valid case %d: %v", i, err)
		}
	}
	invalid := map[string]string{
		"unknown resources key":       "flow: f\nresources: {instance_type: x, idle_time: 5}\n",
		"idle time as text":           "flow: f\nresources: {idle_time_before_shutdown_minutes: 1h}\n",
		"idle time zero":              "flow: f\nresources: {idle_time_before_shutdown_minutes: 0}\n",
		"resources not a mapping":     "flow: f\nresources: Standard_D2\n",
		"user identity with client":   "flow: f\nidentity: {type: user_identity, client_id: x}\n",
		"unknown identity type":       "flow: f\nidentity: {type: system}\n",
		"identity without type":       "flow: f\nidentity: {client_id: x}\n",
		"unknown identity key":        "flow: f\nidentity: {type: managed, clientid: x}\n",
		"variant format":              "flow: f\nvariant: node.v\n",
		"tag value not a string":      "flow: f\ntags: {a: 1}\n",
		"env value not a string":      "flow: f\nenvironment_variables: {A: 1}\n",
		"init not a mapping or file":  "flow: f\ninit: 5\n",
		"init file of the wrong kind": "flow: f\ninit: init.yaml\n",
		"name not a string":           "flow: f\nname: 1\n",
		"column_mapping a list":       "flow: f\ncolumn_mapping: [a]\n",
		"connection not a mapping":    "flow: f\nconnections: {llm: c}\n",
		"empty flow":                  "flow: ''\n",
		"not a mapping":               "- flow: f\n",
	}
	for name, src := range invalid {
		if err := sch.Validate(yamlInstance(t, []byte(src))); err == nil {
			t.Errorf("%s: the schema accepts %q", name, src)
		}
	}
}
