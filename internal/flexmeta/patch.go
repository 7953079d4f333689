package flexmeta

import (
	"bytes"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/fault"
)

// Apply returns the flow.flex.yaml src with the entry's signature written
// in as pfazure uploads it: each of inputs, outputs and init the entry has is
// added after the file's own keys when the file does not declare it. A
// section the file declares wins, but must name the same ports as the entry
// (pfazure refuses the run otherwise). The file's own text, comments and
// order are kept; src is not modified.
func Apply(src []byte, sig *Signature) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fault.Wrap(fault.Validation, err, "cannot add the entry's signature to the flow file: it does not parse")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fault.New(fault.Validation, "cannot add the entry's signature to the flow file: its top level is not a mapping")
	}
	root := doc.Content[0]
	add := &yaml.Node{Kind: yaml.MappingNode}
	for _, s := range []struct {
		key   string
		ports []Port
	}{{"inputs", sig.Inputs}, {"outputs", sig.Outputs}, {"init", sig.Init}} {
		declared := valueOf(root, s.key)
		if declared == nil {
			if len(s.ports) > 0 {
				add.Content = append(add.Content, scalar(s.key), portsNode(s.ports))
			}
			continue
		}
		if err := sameNames(s.key, declared, s.ports); err != nil {
			return nil, err
		}
	}
	if len(add.Content) == 0 {
		return append([]byte(nil), src...), nil
	}
	var tail bytes.Buffer
	enc := yaml.NewEncoder(&tail)
	enc.SetIndent(2)
	if err := enc.Encode(add); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write the entry's signature")
	}
	if err := enc.Close(); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write the entry's signature")
	}
	if root.Style&yaml.FlowStyle == 0 {
		out := append([]byte(nil), src...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, tail.Bytes()...)
		if decodesWith(out, root, add) {
			return out, nil
		}
	}
	// A flow-style or unusual file: write the document again from its nodes.
	root.Style &^= yaml.FlowStyle
	root.Content = append(root.Content, add.Content...)
	var whole bytes.Buffer
	enc = yaml.NewEncoder(&whole)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write the flow file with the entry's signature")
	}
	if err := enc.Close(); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write the flow file with the entry's signature")
	}
	return whole.Bytes(), nil
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func portsNode(ports []Port) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range ports {
		pm := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("type"), scalar(p.Type)}}
		if p.Default != nil {
			pm.Content = append(pm.Content, scalar("default"), scalar(*p.Default))
		}
		m.Content = append(m.Content, scalar(p.Name), pm)
	}
	return m
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// sameNames checks that a section the file declares names the entry's
// ports, with pfazure's wording when it does not.
func sameNames(key string, declared *yaml.Node, ports []Port) error {
	var file, entry []string
	if declared.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(declared.Content); i += 2 {
			file = append(file, declared.Content[i].Value)
		}
	}
	for _, p := range ports {
		entry = append(entry, p.Name)
	}
	if key == "outputs" && len(entry) == 0 {
		// A primitive return is promptflow's single output named output.
		entry = []string{"output"}
	}
	a, b := slices.Clone(file), slices.Clone(entry)
	sort.Strings(a)
	sort.Strings(b)
	if slices.Equal(a, b) {
		return nil
	}
	return fault.New(fault.Validation, "Provided signature of %s does not match the entry.\nPorts from signature: %s\nPorts from entry: %s",
		key, strings.Join(file, ", "), strings.Join(entry, ", ")).
		WithHint("make %s in flow.flex.yaml name the entry's parameters, or leave it out and pfz writes it from the entry", key)
}

// decodesWith reports whether out decodes to the original mapping plus the
// added sections, and nothing else.
func decodesWith(out []byte, root, add *yaml.Node) bool {
	var got, want map[string]any
	if yaml.Unmarshal(out, &got) != nil {
		return false
	}
	var orig, extra map[string]any
	if root.Decode(&orig) != nil || add.Decode(&extra) != nil {
		return false
	}
	want = map[string]any{}
	for k, v := range orig {
		want[k] = v
	}
	for k, v := range extra {
		want[k] = v
	}
	return reflect.DeepEqual(got, want)
}
