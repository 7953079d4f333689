package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
)

// readFile reads config.yaml into the file layer and returns the bytes for
// viper. A missing file is an empty layer; unknown keys are warnings (with
// the nearest key); a value that is a list or a mapping and a key given
// twice make that key unusable, at their line and column; invalid YAML and a
// file that is not a mapping make the whole layer unusable. Keys are matched
// without regard to case, and nested mappings name dotted keys (auth:
// {mode: x} is auth.mode).
func readFile(path string) (*layer, []byte, []string) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &layer{source: SourceFile, entries: map[string]entry{}}, nil, nil
	}
	if err != nil {
		return &layer{source: SourceFile, entries: map[string]entry{}, broken: &Problem{Source: SourceFile,
			Err: fault.Wrap(fault.Failed, err, "cannot read the config file").WithHint("check the permissions of %s", path)}}, nil, nil
	}
	l, warnings := fileLayer(path, data)
	if l.broken != nil {
		return l, nil, warnings
	}
	return l, data, warnings
}

// fileLayer reads the config.yaml text data, written at path.
func fileLayer(path string, data []byte) (*layer, []string) {
	l := &layer{source: SourceFile, entries: map[string]entry{}}
	root, err := parseRoot(data)
	if err != nil {
		d := flow.YAMLError(path, data, err)
		l.broken = &Problem{Source: SourceFile, Err: fault.New(fault.Validation, "cannot parse %s: %s", d.Position(), d.Message).
			WithHint("%s; or delete the file and use `pfz config set`", d.Hint)}
		return l, nil
	}
	if root == nil {
		return l, nil
	}
	if root.Kind != yaml.MappingNode {
		l.broken = &Problem{Source: SourceFile, Err: fault.New(fault.Validation, "%s:%d:%d: the config file must be a mapping of keys to values", path, root.Line, root.Column).
			WithHint("write one `key: value` per line, e.g. workspace_name: my-ws; or delete the file and use `pfz config set`")}
		return l, nil
	}
	var warnings []string
	// seen is by full key, so auth.mode written flat and nested is a key
	// given twice too.
	seen := map[string]int{}
	var walk func(m *yaml.Node, prefix string)
	walk = func(m *yaml.Node, prefix string) {
		forEachSetting(m, prefix, func(key, _ string, k, v *yaml.Node) {
			at := fmt.Sprintf("%s:%d:%d", path, k.Line, k.Column)
			if first, dup := seen[key]; dup {
				e := l.entries[key]
				e.origin, e.at = path, at
				e.bad = &Problem{Source: SourceFile, Err: fault.New(fault.Validation, "%s: %s is given twice (first on line %d)", at, key, first).
					WithHint("remove one of them")}
				l.entries[key] = e
				return
			}
			seen[key] = k.Line
			if _, known := Lookup(key); known {
				vat := fmt.Sprintf("%s:%d:%d", path, v.Line, v.Column)
				switch {
				case v.Kind != yaml.ScalarNode:
					l.entries[key] = entry{origin: path, at: vat, bad: &Problem{Source: SourceFile,
						Err: fault.New(fault.Validation, "%s: %s must be a single value, not a %s", vat, key, yamlKind(v)).
							WithHint("write it as %s: <value>, or run `pfz config set %s <value>`", k.Value, key)}}
				case v.ShortTag() != "!!null":
					l.entries[key] = entry{raw: v.Value, origin: path, at: vat}
				}
				return
			}
			if v.Kind == yaml.MappingNode && hasKeyPrefix(key+".") {
				walk(v, key+".")
				return
			}
			w := fmt.Sprintf("%s: unknown key %q is ignored", at, key)
			if near := Nearest(key); near != "" {
				w += fmt.Sprintf(" (did you mean %q?)", near)
			}
			warnings = append(warnings, w)
		})
	}
	walk(root, "")
	sort.Strings(warnings)
	return l, warnings
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
// the azure-ai-ml SDK) into its layer: subscription_id, resource_group and
// workspace_name, each a string when present. A file that is not a JSON
// object breaks the layer; a value that is not a string is a problem of its
// key alone. Both are reported at their line and column.
func azureMLConfig(path string, data []byte) *layer {
	l := &layer{source: SourceAzureML, entries: map[string]entry{},
		sets: map[string]bool{KeySubscription: true, KeyResourceGroup: true, KeyWorkspaceName: true}}
	hint := "it must be a JSON object such as {\"subscription_id\": \"…\", \"resource_group\": \"…\", \"workspace_name\": \"…\"}; download it again from the workspace's page in the Azure portal"
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		at := path
		var se *json.SyntaxError
		if errors.As(err, &se) {
			at = offsetPos(path, data, int(se.Offset))
		}
		l.broken = &Problem{Source: SourceAzureML, Err: fault.New(fault.Validation, "cannot parse %s: %s", at, jsonMessage(err)).WithHint("%s", hint)}
		return l
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		l.broken = &Problem{Source: SourceAzureML, Err: fault.New(fault.Validation, "%s: the file must be a JSON object, not %s", offsetPos(path, data, firstNonSpace(data)), jsonKind(raw)).
			WithHint("%s", hint)}
		return l
	}
	for _, f := range []struct{ json, key string }{
		{"subscription_id", KeySubscription}, {"resource_group", KeyResourceGroup}, {"workspace_name", KeyWorkspaceName},
	} {
		v, present := obj[f.json]
		if !present || v == nil {
			continue
		}
		at := keyPos(path, data, f.json)
		s, ok := v.(string)
		switch {
		case !ok:
			l.entries[f.key] = entry{origin: path, at: at, bad: &Problem{Source: SourceAzureML,
				Err: fault.New(fault.Validation, "%s: %s must be a string, not %s", at, f.json, jsonKind(v)).
					WithHint("write it in quotes, e.g. \"%s\": \"…\"", f.json)}}
		case s != "":
			l.entries[f.key] = entry{raw: s, origin: path, at: at}
		}
	}
	return l
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
