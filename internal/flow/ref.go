package flow

import (
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// flowInputPrefixes are the prefixes that make a reference a flow input;
// promptflow keeps "flow." for backward compatibility.
var flowInputPrefixes = []string{"flow.", "inputs."}

// ParseRef classifies a node input, an activate `when` or an output reference
// with promptflow's rules (pfazure-surface.md §3.3): only a whole string of
// the form ${…} is a reference; everything else, including "${a} > 0" and
// non-strings, is a literal. ${inputs.x} and ${flow.x} name flow input x (the
// whole rest, dots included); ${n}, ${n.section} and ${n.section.a.b} name
// node n, split at the first two dots, with section "output" by default.
func ParseRef(raw any) Value {
	v := Value{Raw: raw, Kind: RefLiteral}
	s, ok := raw.(string)
	if !ok || len(s) <= 2 || s[0] != '$' || s[1] != '{' || s[len(s)-1] != '}' {
		return v
	}
	inner := s[2 : len(s)-1]
	for _, p := range flowInputPrefixes {
		if strings.HasPrefix(inner, p) {
			v.Kind, v.Name = RefFlowInput, inner[len(p):]
			return v
		}
	}
	v.Kind = RefNode
	name, rest, ok := strings.Cut(inner, ".")
	v.Name = name
	if !ok {
		v.Section = "output"
		return v
	}
	v.Section, v.Path, _ = strings.Cut(rest, ".")
	return v
}

// String renders a reference back in ${…} form, or the literal as written.
func (v Value) String() string {
	switch v.Kind {
	case RefFlowInput:
		return "${inputs." + v.Name + "}"
	case RefNode:
		s := "${" + v.Name + "." + v.Section
		if v.Path != "" {
			s += "." + v.Path
		}
		return s + "}"
	}
	if s, ok := v.Raw.(string); ok {
		return s
	}
	return pyStr(v.Raw)
}

// ParseVariant splits a variant selector ${node.variant} (run.yml `variant`,
// --variant). Surrounding quotes and blanks are ignored, as promptflow strips
// them.
func ParseVariant(s string) (node, variant string, err error) {
	t := strings.TrimSpace(s)
	for len(t) >= 2 && (t[0] == '"' || t[0] == '\'') && t[len(t)-1] == t[0] {
		t = strings.TrimSpace(t[1 : len(t)-1])
	}
	bad := func() (string, string, error) {
		return "", "", fault.New(fault.Validation, "invalid variant format: %q, a variant is written ${NODE.VARIANT_ID}", s).
			WithHint("for example --variant '${summarize_text_content.variant_1}' (quote it so the shell keeps the ${…})")
	}
	if !strings.HasPrefix(t, "${") || !strings.HasSuffix(t, "}") {
		return bad()
	}
	node, variant, ok := strings.Cut(t[2:len(t)-1], ".")
	if !ok || node == "" || variant == "" || strings.ContainsAny(node+variant, "{}") {
		return bad()
	}
	return node, variant, nil
}
