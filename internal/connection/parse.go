package connection

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/diag"
)

// Parse reads a connection YAML file. The connection is returned whenever
// the file is a mapping, even with errors, so a caller can show what it
// understood; diagnostics carry file, line and column.
func Parse(file string, data []byte) (*Connection, diag.List) {
	p := &parser{file: file, pos: map[string]*yaml.Node{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(diag.Error, CodeNotMapping, nil, "the file is empty", "a connection file needs at least name and type")
			return nil, p.ds
		}
		p.syntax(err)
		return nil, p.ds
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add(diag.Error, CodeYAMLSyntax, &extra, "the file holds more than one YAML document", "keep one connection per file")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		p.add(diag.Error, CodeNotMapping, root, "the file is not a mapping of keys", "a connection file needs at least name and type")
		return nil, p.ds
	}
	c := &Connection{}
	// The type decides which keys are known, so read it first.
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "type" && root.Content[i+1].Kind == yaml.ScalarNode {
			c.Type = strings.ToLower(strings.TrimSpace(root.Content[i+1].Value))
		}
	}
	known := append(append([]string(nil), commonKeys...), types[c.Type].keys...)
	if _, ok := types[c.Type]; !ok {
		// Unknown type: accept every key some type has, and say only that
		// the type is wrong.
		for _, t := range types {
			known = append(known, t.keys...)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if seen[key] {
			p.add(diag.Error, CodeDuplicateKey, k, fmt.Sprintf("%s appears twice", key), "keep one")
			continue
		}
		seen[key] = true
		p.pos[key] = k
		if !slices.Contains(known, key) {
			hint := ""
			if n := nearest(key, known); n != "" {
				hint = "did you mean " + n + "?"
			}
			what := "a " + c.Type + " connection"
			if c.Type == "" || types[c.Type].class == "" {
				what = "a connection"
			}
			p.add(diag.Warning, CodeUnknownKey, k, fmt.Sprintf("%s has no key %s; it is ignored", what, key), hint)
			continue
		}
		switch key {
		case "configs":
			c.Configs = p.stringMap(key, v)
		case "secrets":
			c.Secrets = p.stringMap(key, v)
		case "tags", "description", "created_date", "last_modified_date", "expiry_time":
			// Accepted for files written by `pf connection show`; pfz keeps
			// its own dates.
		default:
			s, ok := p.scalar(key, v)
			if f := c.field(key); ok && f != nil {
				*f = s
			}
		}
	}
	c.Type = strings.ToLower(strings.TrimSpace(c.Type))
	if c.Type == TypeAzureOpenAI && c.APIType == "" {
		c.APIType = "azure"
	}
	if c.Module == "" {
		c.Module = "promptflow.connections"
	}
	for _, k := range c.validate() {
		d := k.d
		node := p.pos[k.key]
		if node == nil {
			if head, sub, ok := strings.Cut(k.key, "."); ok {
				node = p.pos[head+"."+sub]
				if node == nil {
					node = p.pos[head]
				}
			}
		}
		d.File = file
		if node != nil {
			d.Line, d.Column = node.Line, node.Column
		}
		p.ds = append(p.ds, d)
	}
	p.ds.Sort()
	return c, p.ds
}

type parser struct {
	file string
	ds   diag.List
	pos  map[string]*yaml.Node // key (or "secrets.x") → its key node
}

func (p *parser) add(sev diag.Severity, code string, n *yaml.Node, msg, hint string) {
	d := diag.Diagnostic{Severity: sev, Code: code, File: p.file, Message: msg, Hint: hint}
	if n != nil {
		d.Line, d.Column = n.Line, n.Column
	}
	p.ds = append(p.ds, d)
}

var lineRe = regexp.MustCompile(`line (\d+)`)

func (p *parser) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	d := diag.Diagnostic{Severity: diag.Error, Code: CodeYAMLSyntax, File: p.file, Message: "not valid YAML: " + msg}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
	}
	p.ds = append(p.ds, d)
}

// scalar reads a value that must be a scalar; null is "".
func (p *parser) scalar(key string, v *yaml.Node) (string, bool) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind != yaml.ScalarNode {
		p.add(diag.Error, CodeWrongType, v, fmt.Sprintf("%s must be a single value, not a %s", key, kindName(v)), "")
		return "", false
	}
	if v.Tag == "!!null" {
		return "", true
	}
	return v.Value, true
}

// stringMap reads configs or secrets: a mapping of scalar values.
func (p *parser) stringMap(key string, v *yaml.Node) map[string]string {
	if v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.add(diag.Error, CodeWrongType, v, fmt.Sprintf("%s must be a mapping of keys to values, not a %s", key, kindName(v)), "")
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if _, dup := out[k.Value]; dup {
			p.add(diag.Error, CodeDuplicateKey, k, fmt.Sprintf("%s.%s appears twice", key, k.Value), "keep one")
			continue
		}
		p.pos[key+"."+k.Value] = k
		s, ok := p.scalar(key+"."+k.Value, val)
		if ok {
			out[k.Value] = s
		}
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}
