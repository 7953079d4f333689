// Package schemas holds the JSON Schemas of the files users write for pfz:
// flow.dag.yaml (flow.dag.schema.json) and run.yml (run.schema.json). Editors
// use them through yaml-language-server; tests check examples and fixtures
// against them. It owns only the schema files and their loading.
package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FS holds every schema file of this folder.
//
//go:embed *.json
var FS embed.FS

// Compile compiles the named schema file (for example "flow.dag.schema.json")
// with every other schema of FS available to $ref, by file name or $id.
func Compile(name string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := FS.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("schema %s is not valid JSON: %w", e.Name(), err)
		}
		if err := c.AddResource(e.Name(), doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
	}
	return c.Compile(name)
}
