package snapshot

import (
	"bytes"
	"reflect"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/fault"
)

const (
	keyIncludes     = "additional_includes"
	keyEnvironment  = "environment"
	keyRequirements = "python_requirements_txt"
)

// PatchFlowYAML returns the flow YAML as pfazure uploads it: with
// environment.python_requirements_txt set to addRequirements (when not empty)
// and without additional_includes (when dropIncludes). src is not modified.
//
// The edit is made on the text, line by line, so comments, key order, quoting
// and blank lines all survive; the result is checked by parsing it again and
// comparing with the same edit made on the parsed document. When the text edit
// cannot be made safely (flow-style mappings, unusual layouts), the document
// is re-encoded from yaml.v3 nodes instead, which keeps comments and order but
// not the exact layout.
func PatchFlowYAML(src []byte, addRequirements string, dropIncludes bool) ([]byte, error) {
	if addRequirements == "" && !dropIncludes {
		return append([]byte(nil), src...), nil
	}
	if strings.IndexFunc(addRequirements, unicode.IsControl) >= 0 {
		return nil, fault.New(fault.Validation, "cannot write requirements file name %q into the flow YAML: it holds control characters", addRequirements).
			WithHint("rename the requirements file")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fault.Wrap(fault.Validation, err, "cannot patch the flow YAML: it does not parse").
			WithHint("fix the YAML syntax first (pfz flow validate shows where)")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fault.New(fault.Validation, "cannot patch the flow YAML: its top level is not a mapping of keys").
			WithHint("a flow file is a YAML mapping with inputs, outputs and nodes")
	}
	root := doc.Content[0]
	var plain any
	if err := yaml.Unmarshal(src, &plain); err != nil {
		// Node decoding accepts duplicate keys; value decoding does not.
		return nil, fault.Wrap(fault.Validation, err, "cannot patch the flow YAML").
			WithHint("fix the YAML first (pfz flow validate shows where)")
	}

	var want yaml.Node
	if err := yaml.Unmarshal(src, &want); err != nil {
		return nil, fault.Wrap(fault.Validation, err, "cannot patch the flow YAML")
	}
	if err := editNodes(want.Content[0], addRequirements, dropIncludes); err != nil {
		return nil, err
	}
	spellNulls(&want)
	var enc bytes.Buffer
	e := yaml.NewEncoder(&enc)
	e.SetIndent(2)
	if err := e.Encode(&want); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write the patched flow YAML")
	}
	if err := e.Close(); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write the patched flow YAML")
	}
	fallback := enc.Bytes()

	// Whichever way the edit is made, the result must decode to the original
	// values with exactly the two edits applied.
	expect := editValues(plain, addRequirements, dropIncludes)
	if out, ok := editText(src, root, addRequirements, dropIncludes); ok && decodesTo(out, expect) {
		return out, nil
	}
	if decodesTo(fallback, expect) {
		return fallback, nil
	}
	return nil, fault.New(fault.Failed, "cannot patch the flow YAML without changing other values").
		WithHint("simplify the YAML around environment and additional_includes (block style, no anchors), or set environment.python_requirements_txt yourself")
}

// editValues applies the edit to a decoded document.
func editValues(doc any, addRequirements string, dropIncludes bool) any {
	m := asMap(doc)
	if m == nil {
		return nil
	}
	if dropIncludes {
		delete(m, keyIncludes)
	}
	if addRequirements != "" {
		env := asMap(m[keyEnvironment])
		if env == nil {
			env = map[any]any{}
		}
		env[keyRequirements] = addRequirements
		m[keyEnvironment] = env
	}
	return m
}

// asMap copies a decoded mapping into one map type, so documents decoded with
// string keys and with other keys compare alike.
func asMap(v any) map[any]any {
	out := map[any]any{}
	switch m := v.(type) {
	case map[string]any:
		for k, x := range m {
			out[k] = x
		}
	case map[any]any:
		for k, x := range m {
			out[k] = x
		}
	default:
		return nil
	}
	return out
}

// decodesTo reports whether doc decodes to the expected values.
func decodesTo(doc []byte, expect any) bool {
	var got any
	if expect == nil || yaml.Unmarshal(doc, &got) != nil {
		return false
	}
	return reflect.DeepEqual(normalize(got), normalize(expect))
}

// normalize turns every mapping into map[any]any for comparison.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any, map[any]any:
		m := asMap(x)
		for k, e := range m {
			m[k] = normalize(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// editNodes makes the edit on a parsed document.
func editNodes(root *yaml.Node, addRequirements string, dropIncludes bool) error {
	if dropIncludes {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == keyIncludes {
				root.Content = append(root.Content[:i], root.Content[i+2:]...)
				break
			}
		}
	}
	if addRequirements == "" {
		return nil
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: addRequirements}
	_, env := mapGet(root, keyEnvironment)
	switch {
	case env == nil:
		root.Content = append(root.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: keyEnvironment},
			&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: keyRequirements}, val}})
	case env.Kind == yaml.ScalarNode && env.Tag == "!!null":
		*env = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: keyRequirements}, val}}
	case env.Kind == yaml.MappingNode:
		if _, old := mapGet(env, keyRequirements); old != nil {
			*old = *val
		} else {
			env.Content = append(env.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: keyRequirements}, val)
		}
	default:
		return fault.New(fault.Validation, "cannot add environment.python_requirements_txt: environment is not a mapping").
			WithHint("write environment as a mapping, e.g. environment: {python_requirements_txt: requirements.txt}")
	}
	return nil
}

// spellNulls writes implicit nulls ("a:" or "{a}") as "null": yaml.v3 would
// encode an empty null scalar as ”, which reads back as an empty string.
func spellNulls(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" {
		n.Value = "null"
	}
	for _, c := range n.Content {
		spellNulls(c)
	}
}

// mapGet returns the key and value nodes of key in a mapping node.
func mapGet(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// textLines is a YAML file split into lines that keep their line endings.
type textLines struct {
	lines []string
	eol   string
}

func splitText(src []byte) textLines {
	s := string(src)
	t := textLines{eol: "\n"}
	if i := strings.IndexByte(s, '\n'); i > 0 && s[i-1] == '\r' {
		t.eol = "\r\n"
	}
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			t.lines = append(t.lines, s)
			break
		}
		t.lines = append(t.lines, s[:i+1])
		s = s[i+1:]
	}
	return t
}

// isContent reports whether a line holds YAML content (not blank, not only a
// comment).
func isContent(line string) bool {
	s := strings.TrimSpace(line)
	return s != "" && !strings.HasPrefix(s, "#")
}

// editText makes the edit on the text. It gives up (ok false) on layouts it
// does not handle; the caller then re-encodes the nodes.
func editText(src []byte, root *yaml.Node, addRequirements string, dropIncludes bool) ([]byte, bool) {
	if root.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	t := splitText(src)
	n := len(t.lines)
	// keyLine[i] is the 1-based line of the i-th top-level key.
	keys := make([]*yaml.Node, 0, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Line < 1 || k.Line > n {
			return nil, false
		}
		if strings.TrimSpace(t.lines[k.Line-1][:min(k.Column-1, len(t.lines[k.Line-1]))]) != "" {
			return nil, false // something else shares the key's line
		}
		keys = append(keys, k)
	}
	// endOf returns the last content line of the i-th key's entry.
	endOf := func(i int) int {
		stop := n
		if i+1 < len(keys) {
			stop = keys[i+1].Line - 1
		}
		for stop > keys[i].Line && !isContent(t.lines[stop-1]) {
			stop--
		}
		return stop
	}
	indexOf := func(name string) int {
		for i, k := range keys {
			if k.Value == name {
				return i
			}
		}
		return -1
	}
	type edit struct {
		from, to int // 1-based lines to replace, inclusive; to = from-1 inserts before from
		text     []string
	}
	var edits []edit

	if dropIncludes {
		if i := indexOf(keyIncludes); i >= 0 {
			edits = append(edits, edit{from: keys[i].Line, to: endOf(i)})
		}
	}
	if addRequirements != "" {
		scalar, ok := plainScalar(addRequirements)
		if !ok {
			return nil, false
		}
		indent := strings.Repeat(" ", keys[0].Column-1)
		step := childIndent(root, t)
		i := indexOf(keyEnvironment)
		switch {
		case i < 0:
			line := indent + keyEnvironment + ":" + t.eol + indent + step + keyRequirements + ": " + scalar + t.eol
			edits = append(edits, edit{from: n + 1, to: n, text: []string{line}})
		default:
			env := root.Content[2*i+1]
			switch {
			case env.Kind == yaml.ScalarNode && env.Tag == "!!null":
				if endOf(i) != keys[i].Line {
					return nil, false
				}
				line := strings.TrimRight(t.lines[keys[i].Line-1], "\r\n")
				if c := strings.TrimSpace(line); c != keyEnvironment+":" && c != keyEnvironment+": null" && c != keyEnvironment+": ~" {
					return nil, false
				}
				edits = append(edits, edit{from: keys[i].Line, to: keys[i].Line, text: []string{
					indent + keyEnvironment + ":" + t.eol + indent + step + keyRequirements + ": " + scalar + t.eol}})
			case env.Kind == yaml.MappingNode && env.Style&yaml.FlowStyle == 0 && len(env.Content) > 0 && env.Content[0].Line > keys[i].Line:
				childCol := env.Content[0].Column
				k, v := mapGet(env, keyRequirements)
				if k == nil {
					edits = append(edits, edit{from: keys[i].Line + 1, to: keys[i].Line, text: []string{
						strings.Repeat(" ", childCol-1) + keyRequirements + ": " + scalar + t.eol}})
					break
				}
				// Replace an existing empty value, but only when the key and
				// its value sit alone on one line.
				if v.Line != k.Line || v.Kind != yaml.ScalarNode || k.Column != childCol {
					return nil, false
				}
				next := endOf(i) + 1
				for j := 0; j+1 < len(env.Content); j += 2 {
					if env.Content[j].Line > k.Line && env.Content[j].Line < next {
						next = env.Content[j].Line
					}
				}
				for l := k.Line + 1; l < next; l++ {
					if isContent(t.lines[l-1]) {
						return nil, false
					}
				}
				edits = append(edits, edit{from: k.Line, to: k.Line, text: []string{
					strings.Repeat(" ", childCol-1) + keyRequirements + ": " + scalar + t.eol}})
			default:
				return nil, false
			}
		}
	}
	// Apply from the bottom up so earlier line numbers stay valid.
	for a := 0; a < len(edits); a++ {
		for b := a + 1; b < len(edits); b++ {
			if edits[b].from > edits[a].from {
				edits[a], edits[b] = edits[b], edits[a]
			}
		}
	}
	lines := t.lines
	if len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
		lines[len(lines)-1] += t.eol
	}
	for _, e := range edits {
		if e.from < 1 || e.to > len(lines) || e.to < e.from-1 {
			return nil, false
		}
		tail := append([]string(nil), lines[e.to:]...)
		lines = append(append(lines[:e.from-1], e.text...), tail...)
	}
	return []byte(strings.Join(lines, "")), true
}

// childIndent is the indentation step the file uses for nested mappings (two
// spaces when it has none).
func childIndent(root *yaml.Node, t textLines) string {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Content[0].Line > k.Line {
			if d := v.Content[0].Column - k.Column; d > 0 {
				return strings.Repeat(" ", d)
			}
		}
	}
	return "  "
}

// plainScalar renders s as YAML scalar text for one line.
func plainScalar(s string) (string, bool) {
	out, err := yaml.Marshal(s)
	if err != nil {
		return "", false
	}
	text := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(text, "\n") {
		return "", false
	}
	return text, true
}
