package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
)

// fileValue is one setting read from a file, with where it is written so
// that a bad value is shown at its line and column.
type fileValue struct {
	value        string
	line, column int
}

// at names the place of v in file as file:line:column.
func (v fileValue) at(file string) string {
	if v.line == 0 {
		return file
	}
	return fmt.Sprintf("%s:%d:%d", file, v.line, v.column)
}

// readFile reads config.yaml into key → value. A missing file is an empty
// configuration; unknown keys are warnings (with the nearest key); invalid
// YAML, a value that is a list or a mapping, and a key given twice are
// errors at their line and column. Keys are matched without regard to case,
// and nested mappings name dotted keys (auth: {mode: x} is auth.mode).
func readFile(path string) (map[string]fileValue, []string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]fileValue{}, nil, nil
	}
	if err != nil {
		return nil, nil, fault.Wrap(fault.Failed, err, "cannot read the config file").
			WithHint("check the permissions of %s", path)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := flow.SafeDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]fileValue{}, nil, nil
		}
		d := flow.YAMLError(path, data, err)
		return nil, nil, fault.New(fault.Validation, "cannot parse %s: %s", d.Position(), d.Message).
			WithHint("%s; or delete the file and use `pfz config set`", d.Hint)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" || root.Kind == yaml.DocumentNode {
		return map[string]fileValue{}, nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, fault.New(fault.Validation, "%s:%d:%d: the config file must be a mapping of keys to values", path, root.Line, root.Column).
			WithHint("write one `key: value` per line, e.g. workspace_name: my-ws; or delete the file and use `pfz config set`")
	}
	out := map[string]fileValue{}
	var warnings []string
	var walk func(m *yaml.Node, prefix string) error
	walk = func(m *yaml.Node, prefix string) error {
		seen := map[string]int{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			key := prefix + strings.ToLower(k.Value)
			at := fmt.Sprintf("%s:%d:%d", path, k.Line, k.Column)
			if first, dup := seen[key]; dup {
				return fault.New(fault.Validation, "%s: %s is given twice (first on line %d)", at, key, first).
					WithHint("remove one of them")
			}
			seen[key] = k.Line
			if _, known := Lookup(key); known {
				if v.Kind != yaml.ScalarNode {
					return fault.New(fault.Validation, "%s:%d:%d: %s must be a single value, not a %s", path, v.Line, v.Column, key, yamlKind(v)).
						WithHint("write it as %s: <value>, or run `pfz config set %s <value>`", k.Value, key)
				}
				if v.ShortTag() != "!!null" {
					out[key] = fileValue{value: v.Value, line: v.Line, column: v.Column}
				}
				continue
			}
			if v.Kind == yaml.MappingNode && hasKeyPrefix(key+".") {
				if err := walk(v, key+"."); err != nil {
					return err
				}
				continue
			}
			w := fmt.Sprintf("%s: unknown key %q is ignored", at, key)
			if near := Nearest(key); near != "" {
				w += fmt.Sprintf(" (did you mean %q?)", near)
			}
			warnings = append(warnings, w)
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return nil, nil, err
	}
	sort.Strings(warnings)
	return out, warnings, nil
}

func hasKeyPrefix(prefix string) bool {
	for _, k := range Keys() {
		if strings.HasPrefix(k.Name, prefix) {
			return true
		}
	}
	return false
}

func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// azureMLConfig reads .azureml/config.json (written by the Azure portal and
// the azure-ai-ml SDK): subscription_id, resource_group and workspace_name,
// each a string when present. Problems are errors at their line and column.
func azureMLConfig(path string, data []byte) (map[string]fileValue, error) {
	hint := "it must be a JSON object such as {\"subscription_id\": \"…\", \"resource_group\": \"…\", \"workspace_name\": \"…\"}; download it again from the workspace's page in the Azure portal"
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		at := path
		var se *json.SyntaxError
		if errors.As(err, &se) {
			at = offsetPos(path, data, int(se.Offset))
		}
		return nil, fault.New(fault.Validation, "cannot parse %s: %s", at, jsonMessage(err)).WithHint("%s", hint)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fault.New(fault.Validation, "%s: the file must be a JSON object, not %s", offsetPos(path, data, firstNonSpace(data)), jsonKind(raw)).
			WithHint("%s", hint)
	}
	keys := map[string]string{"subscription_id": KeySubscription, "resource_group": KeyResourceGroup, "workspace_name": KeyWorkspaceName}
	out := map[string]fileValue{}
	for jsonKey, key := range keys {
		v, present := obj[jsonKey]
		if !present || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fault.New(fault.Validation, "%s: %s must be a string, not %s", keyPos(path, data, jsonKey), jsonKey, jsonKind(v)).
				WithHint("write it in quotes, e.g. \"%s\": \"…\"", jsonKey)
		}
		out[key] = fileValue{value: s}
	}
	return out, nil
}

func jsonMessage(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error()
	}
	return "the file is not valid JSON"
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "null"
}

func firstNonSpace(data []byte) int {
	return len(data) - len(bytes.TrimLeft(data, " \t\r\n\ufeff")) + 1
}

// keyPos names where "key" is written in data, or the file alone.
func keyPos(path string, data []byte, key string) string {
	if i := bytes.Index(data, []byte(`"`+key+`"`)); i >= 0 {
		return offsetPos(path, data, i+1)
	}
	return path
}

// offsetPos turns a 1-based byte offset into file:line:column.
func offsetPos(path string, data []byte, off int) string {
	if off < 1 {
		off = 1
	}
	if off > len(data) {
		off = len(data)
	}
	before := data[:max(off-1, 0)]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len([]rune(string(before[bytes.LastIndexByte(before, '\n')+1:]))) + 1
	return fmt.Sprintf("%s:%d:%d", path, line, col)
}
