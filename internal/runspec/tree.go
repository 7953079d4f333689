package runspec

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The run definition is merged on a small tree of its own rather than on
// yaml.Node: --set and flags add values that have no file position, and every
// value must still say where it came from. Aliases and merge keys are expanded
// while the YAML is converted, so the rest of the package sees plain trees.

type nodeKind int

const (
	kindScalar nodeKind = iota + 1
	kindMap
	kindSeq
)

// Scalar tags, as yaml.v3 resolves them.
const (
	tagStr       = "!!str"
	tagInt       = "!!int"
	tagFloat     = "!!float"
	tagBool      = "!!bool"
	tagNull      = "!!null"
	tagTimestamp = "!!timestamp"
	tagBinary    = "!!binary"
)

type entry struct {
	key    string
	keyTag string
	keyPos Pos
	val    *node
}

type node struct {
	kind    nodeKind
	tag     string // scalars only
	value   string // scalars only
	entries []entry
	items   []*node
	pos     Pos
}

func scalarNode(value string, pos Pos) *node {
	return &node{kind: kindScalar, tag: tagStr, value: value, pos: pos}
}

func mapNode(pos Pos) *node { return &node{kind: kindMap, pos: pos} }

func (n *node) isNull() bool { return n == nil || (n.kind == kindScalar && n.tag == tagNull) }

// get returns the value of key in a mapping, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for i := range n.entries {
		if n.entries[i].key == key {
			return n.entries[i].val
		}
	}
	return nil
}

// put sets key in a mapping, replacing the value in place (the key keeps its
// position) or appending a new entry.
func (n *node) put(key string, keyPos Pos, val *node) {
	for i := range n.entries {
		if n.entries[i].key == key {
			n.entries[i].val = val
			return
		}
	}
	n.entries = append(n.entries, entry{key: key, keyTag: tagStr, keyPos: keyPos, val: val})
}

func (n *node) del(key string) {
	for i := range n.entries {
		if n.entries[i].key == key {
			n.entries = append(n.entries[:i], n.entries[i+1:]...)
			return
		}
	}
}

// describe names a node's type the way the messages say it.
func (n *node) describe() string {
	if n == nil {
		return "nothing"
	}
	switch n.kind {
	case kindMap:
		return "a mapping"
	case kindSeq:
		return "a list"
	}
	switch n.tag {
	case tagStr:
		return "a string"
	case tagInt:
		return "an integer"
	case tagFloat:
		return "a number"
	case tagBool:
		return "a boolean"
	case tagNull:
		return "null"
	case tagTimestamp:
		return "a timestamp"
	}
	return "a " + strings.TrimPrefix(n.tag, "!!")
}

// maxTreeNodes bounds alias expansion so a YAML "billion laughs" cannot
// exhaust memory.
const maxTreeNodes = 200000

type converter struct {
	file  string
	count int
	dups  []dupKey
	alias Pos // the outermost alias being expanded, if any
}

type dupKey struct {
	key         string
	first, next Pos
}

// convError is a document that cannot be used although it parses: it says
// where and what to do.
type convError struct {
	pos       Pos
	msg, hint string
}

func (e *convError) Error() string { return e.msg }

func (c *converter) pos(n *yaml.Node) Pos {
	return Pos{File: c.file, Line: n.Line, Column: n.Column}
}

func (c *converter) convert(n *yaml.Node, depth int) (*node, error) {
	c.count++
	if c.count > maxTreeNodes {
		at := c.alias
		if at.Line == 0 {
			at = c.pos(n)
		}
		return nil, &convError{pos: at, msg: fmt.Sprintf("the document expands to more than %d values through aliases", maxTreeNodes),
			hint: "simplify the file: anchors and aliases may not expand without bound"}
	}
	if depth > 200 {
		return nil, &convError{pos: c.pos(n), msg: "the document nests deeper than 200 levels",
			hint: "simplify the file: values may not nest without end"}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &node{kind: kindScalar, tag: tagNull, pos: c.pos(n)}, nil
		}
		return c.convert(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &convError{pos: c.pos(n), msg: "unknown alias *" + n.Value, hint: "define the anchor &" + n.Value + " before this alias uses it"}
		}
		if c.alias.Line == 0 {
			// A runaway expansion is reported at the alias that started it.
			c.alias = c.pos(n)
			defer func() { c.alias = Pos{} }()
		}
		out, err := c.convert(n.Alias, depth+1)
		if err != nil {
			return nil, err
		}
		return out, nil
	case yaml.ScalarNode:
		tag := n.ShortTag()
		return &node{kind: kindScalar, tag: tag, value: n.Value, pos: c.pos(n)}, nil
	case yaml.SequenceNode:
		out := &node{kind: kindSeq, pos: c.pos(n)}
		for _, item := range n.Content {
			v, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := &node{kind: kindMap, pos: c.pos(n)}
		seen := map[string]Pos{}
		var merges []*node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				m, err := c.convert(v, depth+1)
				if err != nil {
					return nil, err
				}
				merges = append(merges, m)
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, &convError{pos: c.pos(k), msg: fmt.Sprintf("a mapping key must be a plain value, not a %s", kindName(k.Kind)),
					hint: "write keys as plain names"}
			}
			val, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			kp := c.pos(k)
			if first, ok := seen[k.Value]; ok {
				c.dups = append(c.dups, dupKey{key: k.Value, first: first, next: kp})
			}
			seen[k.Value] = kp
			out.del(k.Value)
			out.entries = append(out.entries, entry{key: k.Value, keyTag: k.ShortTag(), keyPos: kp, val: val})
		}
		// Merge keys (<<) supply values the mapping does not set itself.
		for _, m := range merges {
			var srcs []*node
			if m.kind == kindSeq {
				srcs = m.items
			} else {
				srcs = []*node{m}
			}
			for _, s := range srcs {
				if s.kind != kindMap {
					return nil, &convError{pos: s.pos, msg: "a merge key (<<) needs a mapping", hint: "merge an alias of a mapping, such as <<: *defaults"}
				}
				for _, e := range s.entries {
					if !hasKey(out, e.key) {
						out.entries = append(out.entries, e)
					}
				}
			}
		}
		return out, nil
	}
	return nil, &convError{pos: c.pos(n), msg: "unsupported YAML node", hint: "write plain mappings, lists and values"}
}

func hasKey(n *node, key string) bool {
	for _, e := range n.entries {
		if e.key == key {
			return true
		}
	}
	return false
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// toValue turns a node into the Go value a JSON encoder sends: map[string]any,
// []any, string, int64, float64, bool or nil.
func toValue(n *node) any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindMap:
		m := make(map[string]any, len(n.entries))
		for _, e := range n.entries {
			m[e.key] = toValue(e.val)
		}
		return m
	case kindSeq:
		s := make([]any, 0, len(n.items))
		for _, it := range n.items {
			s = append(s, toValue(it))
		}
		return s
	}
	switch n.tag {
	case tagNull:
		return nil
	case tagBool:
		b, err := strconv.ParseBool(strings.ToLower(n.value))
		if err != nil {
			return n.value
		}
		return b
	case tagInt:
		if i, ok := parseYAMLInt(n.value); ok {
			return i
		}
		if f, err := strconv.ParseFloat(n.value, 64); err == nil {
			return f
		}
		return n.value
	case tagFloat:
		if f, ok := parseYAMLFloat(n.value); ok {
			return f
		}
		return n.value
	}
	return n.value
}

func parseYAMLInt(s string) (int64, bool) {
	t := strings.ReplaceAll(s, "_", "")
	neg := false
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg = t[0] == '-'
		t = t[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "0o"), strings.HasPrefix(t, "0O"):
		base, t = 8, t[2:]
	case strings.HasPrefix(t, "0b"), strings.HasPrefix(t, "0B"):
		base, t = 2, t[2:]
	}
	u, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

var yamlInfNaN = regexp.MustCompile(`^([-+]?)\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$`)

func parseYAMLFloat(s string) (float64, bool) {
	if m := yamlInfNaN.FindStringSubmatch(s); m != nil {
		if m[3] != "" {
			return math.NaN(), true
		}
		if m[1] == "-" {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return f, err == nil
}

// fromValue builds a tree from a decoded JSON value (an init file) with every
// node at pos.
func fromValue(v any, pos Pos) *node {
	switch t := v.(type) {
	case map[string]any:
		n := mapNode(pos)
		for _, k := range sortedKeys(t) {
			n.put(k, pos, fromValue(t[k], pos))
		}
		return n
	case []any:
		n := &node{kind: kindSeq, pos: pos}
		for _, it := range t {
			n.items = append(n.items, fromValue(it, pos))
		}
		return n
	case nil:
		return &node{kind: kindScalar, tag: tagNull, value: "null", pos: pos}
	case bool:
		return &node{kind: kindScalar, tag: tagBool, value: strconv.FormatBool(t), pos: pos}
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return &node{kind: kindScalar, tag: tagInt, value: strconv.FormatInt(int64(t), 10), pos: pos}
		}
		return &node{kind: kindScalar, tag: tagFloat, value: strconv.FormatFloat(t, 'g', -1, 64), pos: pos}
	case json.Number:
		if _, ok := parseYAMLInt(t.String()); ok {
			return &node{kind: kindScalar, tag: tagInt, value: t.String(), pos: pos}
		}
		return &node{kind: kindScalar, tag: tagFloat, value: t.String(), pos: pos}
	case string:
		return scalarNode(t, pos)
	}
	return scalarNode(fmt.Sprint(v), pos)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
