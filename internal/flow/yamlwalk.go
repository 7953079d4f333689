package flow

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/suggest"
)

// walker reads yaml.v3 nodes and records diagnostics with positions. It is the
// only place that knows YAML node kinds and tags.
type walker struct {
	file  string
	diags diag.List
	// expanded counts values converted so far in this file, across all
	// conversions, so that aliases cannot multiply the work (see maxExpanded).
	expanded int
	budget   int // 0: maxExpanded
	overflow bool
	// merging holds the mappings whose merge keys (<<) are being expanded:
	// a mapping that merges itself (&a {<<: *a}) would recurse until the
	// stack overflows, which no recover can catch.
	merging map[*yaml.Node]bool
}

func posOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{Line: n.Line, Column: n.Column}
}

func (w *walker) add(sev diag.Severity, code string, p Pos, hint, format string, args ...any) {
	w.diags = append(w.diags, diag.Diagnostic{
		Severity: sev, Code: code, File: w.file, Line: p.Line, Column: p.Column,
		Message: fmt.Sprintf(format, args...), Hint: hint,
	})
}

func (w *walker) errorf(code string, p Pos, hint, format string, args ...any) {
	w.add(diag.Error, code, p, hint, format, args...)
}

func (w *walker) warnf(code string, p Pos, hint, format string, args ...any) {
	w.add(diag.Warning, code, p, hint, format, args...)
}

// deref follows aliases. yaml.v3 rejects an anchor that contains itself, so
// the chain is finite; the bound is a second guard.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// kindName names a node's YAML type the way a user thinks of it.
func kindName(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the text %q", clip(n.Value))
		case "!!null":
			return "null"
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		default:
			return "the value " + clip(n.Value)
		}
	}
	return "an unexpected YAML value"
}

func clip(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// pair is one key and value of a mapping.
type pair struct {
	Key  string
	K, V *yaml.Node
}

// pairs returns the entries of a mapping in file order. Null gives none. Merge
// keys (<<) are expanded the way YAML 1.1 merge works in ruamel: explicit keys
// win. Duplicate keys are an error, as ruamel reports them.
func (w *walker) pairs(n *yaml.Node, where string) ([]pair, bool) {
	n = deref(n)
	if w.merging == nil {
		w.merging = map[*yaml.Node]bool{}
	}
	if n != nil && !w.merging[n] {
		// A mapping is "being merged" while its own keys are read too, so a
		// merge key inside it that points back at it is caught.
		w.merging[n] = true
		defer delete(w.merging, n)
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(CodeWrongType, posOf(n), "write it as `key: value` lines indented under "+lastSeg(where),
			"%s must be a mapping, got %s", where, kindName(n))
		return nil, false
	}
	var out []pair
	seen := map[string]Pos{}
	var merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, w.mergeSource(v, where)...)
			continue
		}
		if k == nil || k.Kind != yaml.ScalarNode {
			w.errorf(CodeWrongType, posOf(k), "use a plain name as the key", "%s has a key that is %s, not a name", where, kindName(k))
			continue
		}
		if _, dup := seen[k.Value]; dup {
			continue // reported once for the whole document by raw
		}
		seen[k.Value] = posOf(k)
		out = append(out, pair{Key: k.Value, K: k, V: v})
	}
	for _, m := range merged {
		if _, ok := seen[m.Key]; ok {
			continue
		}
		seen[m.Key] = posOf(m.K)
		out = append(out, m)
	}
	return out, true
}

func (w *walker) mergeSource(v *yaml.Node, where string) []pair {
	at := posOf(v) // the alias as written, not the anchor it names
	v = deref(v)
	var srcs []*yaml.Node
	switch {
	case v != nil && v.Kind == yaml.MappingNode:
		srcs = []*yaml.Node{v}
	case v != nil && v.Kind == yaml.SequenceNode:
		srcs = v.Content
	default:
		w.errorf(CodeWrongType, posOf(v), "merge (<<) takes an alias of a mapping, such as <<: *defaults", "%s: merge key value must be a mapping, got %s", where, kindName(v))
		return nil
	}
	var out []pair
	for _, s := range srcs {
		s = deref(s)
		if w.merging[s] {
			w.errorf(CodeWrongType, at, "merge a different mapping, such as <<: *defaults", "%s: the merge key (<<) refers to a mapping that holds it", where)
			continue
		}
		ps, _ := w.pairs(s, where)
		out = append(out, ps...)
	}
	return out
}

func lastSeg(where string) string {
	if i := strings.LastIndexAny(where, ".]"); i >= 0 && i+1 < len(where) {
		return where[i+1:]
	}
	return where
}

// unknownKeys warns about keys not in known and names the nearest known key.
func (w *walker) unknownKeys(ps []pair, where string, known []string) {
	for _, p := range ps {
		if contains(known, p.Key) {
			continue
		}
		hint := "remove it, or check the spelling; known keys: " + strings.Join(known, ", ")
		if s := nearest(p.Key, known); s != "" {
			hint = fmt.Sprintf("did you mean %q? prompt flow ignores unknown keys", s)
		}
		w.warnf(CodeUnknownKey, posOf(p.K), hint, "unknown key %q in %s", p.Key, where)
	}
}

// str reads a string scalar. Null gives "", false without a diagnostic; any
// other type is an error.
func (w *walker) str(n *yaml.Node, where string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return n.Value, true
	}
	hint := "write a text value"
	if n.Kind == yaml.ScalarNode {
		hint = fmt.Sprintf("quote it: %s: %q", lastSeg(where), n.Value)
	}
	w.errorf(CodeWrongType, posOf(n), hint, "%s must be a string, got %s", where, kindName(n))
	return "", false
}

// name reads a scalar used as a name (node, connection, id): numbers and
// booleans are accepted as their text, as Python would keep them and compare
// them as strings later on.
func (w *walker) name(n *yaml.Node, where string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", false
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value, true
	}
	w.errorf(CodeWrongType, posOf(n), "write a plain name", "%s must be a name, got %s", where, kindName(n))
	return "", false
}

var yaml11Bools = map[string]bool{"yes": true, "no": true, "on": true, "off": true, "y": true, "n": true}

// boolean reads a YAML 1.2 boolean (true/false only).
func (w *walker) boolean(n *yaml.Node, where string) (bool, bool) {
	n = deref(n)
	if isNull(n) {
		return false, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		return b, err == nil
	}
	hint := "write true or false"
	if n.Kind == yaml.ScalarNode && yaml11Bools[strings.ToLower(n.Value)] {
		hint = fmt.Sprintf("prompt flow reads YAML 1.2, where %q is text (and any text counts as true); write true or false", n.Value)
	}
	w.errorf(CodeWrongType, posOf(n), hint, "%s must be true or false, got %s", where, kindName(n))
	return false, false
}

// value converts a node into plain Go values (string, int, float64, bool,
// nil, []any, map[string]any) with YAML 1.2 scalars. Problems inside the
// value (duplicate keys) are reported by the whole-document pass (raw).
func (w *walker) value(n *yaml.Node, where string) any {
	c := &converter{w: w}
	v := c.convert(n, 0)
	if w.overflow {
		return nil
	}
	return v
}

// raw converts the whole document and reports every duplicate key once.
func (w *walker) raw(root *yaml.Node) map[string]any {
	c := &converter{w: w, report: true}
	v := c.convert(root, 0)
	if w.overflow {
		return map[string]any{}
	}
	m, _ := v.(map[string]any)
	return m
}

// A "billion laughs" file stays small on disk but not in memory: the values
// converted from one file are bounded by a few times the nodes it holds,
// plus aliasAllowance, or maxExpanded when the size is unknown.
const (
	maxExpanded    = 1 << 20
	aliasAllowance = 1 << 16
	maxDepth       = 1000
)

// setBudget bounds conversions for a document with root: every value may be
// converted a few times (whole document, then the parts the walker reads).
func (w *walker) setBudget(root *yaml.Node) {
	n := 0
	var count func(*yaml.Node, int)
	count = func(x *yaml.Node, depth int) {
		if x == nil || depth > maxDepth {
			return
		}
		n++
		for _, c := range x.Content {
			count(c, depth+1)
		}
	}
	count(root, 0)
	w.budget = 3*n + aliasAllowance
}

type converter struct {
	w      *walker
	report bool // report duplicate keys
	alias  Pos  // the outermost alias being expanded, if any
	// open are the mappings being converted; one that merges itself is
	// reported by pairs, and its merge is skipped here.
	open map[*yaml.Node]bool
}

func (c *converter) convert(n *yaml.Node, depth int) any {
	at := posOf(n)
	if n != nil && n.Kind == yaml.AliasNode && c.alias.Line == 0 {
		// An expansion that runs away is reported at the alias that
		// started it, not at some value deep inside the anchor.
		c.alias = at
		defer func() { c.alias = Pos{} }()
	}
	n = deref(n)
	w := c.w
	if n == nil || w.overflow {
		return nil
	}
	w.expanded++
	budget := w.budget
	if budget == 0 {
		budget = maxExpanded
	}
	if w.expanded > budget || depth > maxDepth {
		w.overflow = true
		hint := "simplify the file: anchors and aliases may not expand without bound"
		msg := fmt.Sprintf("the file expands to more than %d values through aliases", budget)
		if depth > maxDepth {
			hint = "simplify the file: values may not nest without end"
			msg = fmt.Sprintf("the file nests values deeper than %d levels", maxDepth)
		} else if c.alias.Line != 0 {
			at = c.alias
		}
		w.errorf(CodeYAMLSyntax, at, hint, "%s", msg)
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			out = append(out, c.convert(item, depth+1))
		}
		return out
	case yaml.MappingNode:
		if c.open == nil {
			c.open = map[*yaml.Node]bool{}
		}
		c.open[n] = true
		defer delete(c.open, n)
		out := map[string]any{}
		seen := map[string]*yaml.Node{}
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				merges = append(merges, n.Content[i+1])
				continue
			}
			key := ""
			switch {
			case k != nil && k.Kind == yaml.ScalarNode:
				key = k.Value
			case c.open[k]:
				continue // a key that is the mapping itself (x: &a {*a}) has no text
			default:
				// Each level of non-scalar keys escapes the one inside it, so
				// the text would double per level without a bound.
				key = clip(pyStr(c.convert(k, depth+1)))
			}
			if first, dup := seen[key]; dup {
				if c.report {
					w.errorf(CodeDuplicateKey, posOf(k), fmt.Sprintf("remove one of them; the first is at line %d", first.Line),
						"key %q appears more than once in the same mapping", key)
				}
				continue
			}
			seen[key] = k
			out[key] = c.convert(n.Content[i+1], depth+1)
		}
		for _, m := range merges {
			m = deref(m)
			srcs := []*yaml.Node{m}
			if m != nil && m.Kind == yaml.SequenceNode {
				srcs = m.Content
			}
			for _, src := range srcs {
				if c.open[deref(src)] {
					continue
				}
				if mm, ok := c.convert(src, depth+1).(map[string]any); ok {
					for k, v := range mm {
						if _, set := out[k]; !set {
							out[k] = v
						}
					}
				}
			}
		}
		return out
	}
	return nil
}

// scalarValue resolves a scalar as YAML 1.2 core schema does (yaml.v3's
// resolution: true/false only are booleans); a timestamp stays text, as
// ruamel's round-trip loader keeps it printable.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!str", "!!timestamp", "!!binary":
		return n.Value
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				return pyStr(f)
			}
			return v
		}
	}
	return n.Value
}

var yamlLineRE = regexp.MustCompile(`line (\d+):? ?`)

// syntaxPos finds where a YAML error is. yaml.v3 names the line where the
// enclosing construct starts, which can be far above the mistake, and no
// column; so find the shortest prefix of the file (in whole lines) that
// fails the same way, which ends at the offending line, and point at its
// first non-blank column.
func syntaxPos(msg string, data []byte) Pos {
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	core := yamlLineRE.ReplaceAllString(msg, "")
	lines := strings.SplitAfter(string(data), "\n")
	fails := func(n int) bool {
		var doc yaml.Node
		err := safeDecode(yaml.NewDecoder(strings.NewReader(strings.Join(lines[:n], ""))), &doc)
		return err != nil && yamlLineRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "") == core
	}
	if len(lines) > 0 && fails(len(lines)) {
		lo, hi := 1, len(lines) // smallest n in [lo, hi] with fails(n)
		for lo < hi {
			mid := (lo + hi) / 2
			if fails(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		if lo > line {
			line = lo
		}
	}
	if line < 1 {
		return Pos{}
	}
	col := 1
	if line <= len(lines) {
		l := strings.TrimRight(lines[line-1], "\r\n")
		col = len(l) - len(strings.TrimLeft(l, " \t")) + 1
	}
	return Pos{Line: line, Column: col}
}

// pyStr renders a value as promptflow stringifies environment_variables
// values: str() of a scalar, json.dumps of a dict or list.
func pyStr(v any) string { return pyjson.Setting(v) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nearest returns the known word s is likely a typo of, or "" (the rule is
// suggest.Closest's).
func nearest(s string, candidates []string) string {
	c, _ := suggest.Closest(s, candidates)
	return c
}
