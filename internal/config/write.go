package config

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/fault"
)

// Set validates value for key and writes it to config.yaml in dir, keeping
// the file's other keys and comments. The file is replaced atomically and is
// readable by its owner only. It returns the canonical value written.
//
// The edit is made on yaml.v3 nodes and written by writeAtomic rather than
// through viper.WriteConfig: viper writes its merged settings map, which
// drops comments and reorders keys, and it truncates the file in place, so a
// crash mid-write leaves half a file. Before writing, the new text is read
// back the way Load reads it (diagnostics, then viper) and must give key the
// value set.
func Set(dir, key, value string) (string, error) {
	k, ok := Lookup(key)
	if !ok {
		return "", unknownKey(key)
	}
	canon, err := k.normalize(value)
	if err != nil {
		return "", fault.Wrap(fault.Usage, err, "invalid value for %s", key).WithHint("%s takes: %s", key, k.Description)
	}
	return canon, edit(dir, key, func(doc *yaml.Node) { setKey(doc, key, canon) }, func(got string, set bool) bool {
		return set && got == canon
	})
}

// Unset removes key from config.yaml in dir; removing an absent key is fine.
func Unset(dir, key string) error {
	if _, ok := Lookup(key); !ok {
		return unknownKey(key)
	}
	return edit(dir, key, func(doc *yaml.Node) { deleteKey(doc, key) }, func(_ string, set bool) bool { return !set })
}

func edit(dir, key string, change func(*yaml.Node), ok func(got string, set bool) bool) error {
	path := filepath.Join(dir, "config.yaml")
	doc := &yaml.Node{Kind: yaml.MappingNode}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fault.Wrap(fault.Failed, err, "cannot read %s", path)
	default:
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return fault.Wrap(fault.Validation, err, "cannot parse %s", path).
				WithHint("fix the YAML or delete the file")
		}
		if len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
			doc = root.Content[0]
			// Keep the document's head comment.
			if root.HeadComment != "" && doc.HeadComment == "" {
				doc.HeadComment = root.HeadComment
			}
		} else if len(root.Content) > 0 && !(root.Content[0].Kind == yaml.ScalarNode && root.Content[0].Tag == "!!null") {
			return fault.New(fault.Validation, "%s is not a mapping of keys to values", path).
				WithHint("fix the YAML or delete the file")
		}
	}
	change(doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if len(doc.Content) > 0 {
		if err := enc.Encode(doc); err != nil {
			return fault.Wrap(fault.Failed, err, "cannot encode the configuration")
		}
	}
	_ = enc.Close()
	if err := readBack(path, buf.Bytes(), key, ok); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// readBack reads data as Load would and checks key with ok, so that `config
// set` never writes a file that `config get` would read differently or
// refuse (a key already given twice, say).
func readBack(path string, data []byte, key string, ok func(got string, set bool) bool) error {
	file, _ := fileLayer(path, data)
	if file.broken != nil {
		return file.broken.Err
	}
	if e, found := file.entries[key]; found && e.bad != nil {
		return fault.Wrap(e.bad.Err.Kind, e.bad.Err, "%s was not changed", path).WithHint("%s", fault.HintOf(e.bad.Err))
	}
	none := func(s Source) *layer { return &layer{source: s, entries: map[string]entry{}} }
	v, err := newViper(none(SourceFlag), none(SourceEnv), file, nil, data)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "%s was not changed: the new text cannot be read back", path)
	}
	if !ok(v.GetString(key), v.IsSet(key)) {
		return fault.New(fault.Failed, "%s was not changed: the new text does not read back as intended for %s", path, key).
			WithHint("this is a bug in pfz; edit the file by hand meanwhile")
	}
	return nil
}

// setKey sets key in mapping m: where it is already written, as a dotted
// key (auth.mode: x) or nested (auth: {mode: x}) and in any case, else as a
// new entry at the end.
func setKey(m *yaml.Node, key, value string) {
	if i := findKey(m, key); i >= 0 {
		m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Value: value, Tag: "!!str", LineComment: m.Content[i+1].LineComment}
		return
	}
	setPath(m, strings.Split(key, "."), value)
}

func setPath(m *yaml.Node, path []string, value string) {
	if i := findKey(m, path[0]); i >= 0 {
		if len(path) == 1 {
			m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Value: value, Tag: "!!str",
				LineComment: m.Content[i+1].LineComment}
			return
		}
		if m.Content[i+1].Kind != yaml.MappingNode {
			m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode}
		}
		setPath(m.Content[i+1], path[1:], value)
		return
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	if len(path) == 1 {
		m.Content = append(m.Content, key, &yaml.Node{Kind: yaml.ScalarNode, Value: value, Tag: "!!str"})
		return
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, key, child)
	setPath(child, path[1:], value)
}

// deleteKey removes every occurrence of key from m, written dotted or
// nested and in any case.
func deleteKey(m *yaml.Node, key string) {
	for i := findKey(m, key); i >= 0; i = findKey(m, key) {
		m.Content = append(m.Content[:i], m.Content[i+2:]...)
	}
	deletePath(m, strings.Split(key, "."))
}

func deletePath(m *yaml.Node, path []string) {
	for i := 0; i+1 < len(m.Content); {
		if !strings.EqualFold(m.Content[i].Value, path[0]) {
			i += 2
			continue
		}
		switch {
		case len(path) == 1:
		case m.Content[i+1].Kind == yaml.MappingNode:
			deletePath(m.Content[i+1], path[1:])
			if len(m.Content[i+1].Content) > 0 {
				i += 2
				continue
			}
		default:
			i += 2
			continue
		}
		m.Content = append(m.Content[:i], m.Content[i+2:]...)
	}
}

// findKey returns the index of name among m's keys, compared without regard
// to case as Load compares them, or -1.
func findKey(m *yaml.Node, name string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if strings.EqualFold(m.Content[i].Value, name) {
			return i
		}
	}
	return -1
}

// writeAtomic writes data to path atomically with mode 0600.
func writeAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, atomicfile.Options{Perm: 0o600})
}
