package flow

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// mergeVariant applies a variant to a use_variants node the way promptflow
// does (the node's keys updated by the variant node's keys, the name kept):
// every key the variant sets replaces the node's, the rest stays.
func mergeVariant(base Node, va *Variant) Node {
	out := cloneNode(base)
	vn := cloneNode(va.Node)
	set := func(key string) bool {
		if vn.KeyPos == nil {
			return true // built in code: every field counts as set
		}
		_, ok := vn.KeyPos[key]
		return ok
	}
	if set("type") && (vn.KeyPos != nil || vn.Type != "") {
		out.Type = vn.Type
	}
	if set("source") && (vn.KeyPos != nil || vn.Source != (Source{})) {
		out.Source = vn.Source
	}
	if set("inputs") && (vn.KeyPos != nil || vn.Inputs != nil) {
		out.Inputs = vn.Inputs
	}
	if set("connection") && (vn.KeyPos != nil || vn.Connection != "") {
		out.Connection = vn.Connection
	}
	if set("api") && (vn.KeyPos != nil || vn.API != "") {
		out.API = vn.API
	}
	if set("provider") && (vn.KeyPos != nil || vn.Provider != "") {
		out.Provider = vn.Provider
	}
	if set("module") && (vn.KeyPos != nil || vn.Module != "") {
		out.Module = vn.Module
	}
	if set("comment") && (vn.KeyPos != nil || vn.Comment != "") {
		out.Comment = vn.Comment
	}
	if (set("aggregation") || set("reduce")) && (vn.KeyPos != nil || vn.Aggregation) {
		out.Aggregation = vn.Aggregation
	}
	if set("enable_cache") && (vn.KeyPos != nil || vn.EnableCache) {
		out.EnableCache = vn.EnableCache
	}
	if set("activate") && (vn.KeyPos != nil || vn.Activate != nil) {
		out.Activate = vn.Activate
	}
	if out.KeyPos == nil {
		out.KeyPos = map[string]Pos{}
	}
	for k, p := range vn.KeyPos {
		if k != "name" && k != "use_variants" {
			out.KeyPos[k] = p
		}
	}
	out.UseVariants = false
	out.VariantID = va.ID
	out.Name = base.Name
	return out
}

func cloneNode(n Node) Node {
	n.Inputs = slices.Clone(n.Inputs)
	n.KeyPos = maps.Clone(n.KeyPos)
	if n.Activate != nil {
		a := *n.Activate
		if a.When != nil {
			w := *a.When
			a.When = &w
		}
		n.Activate = &a
	}
	return n
}

// WithVariant returns a copy of the flow in which every use_variants node is
// replaced by a variant body: the one chosen by variant (${node.variant_id},
// as in run.yml or --variant) for its node, the default variant for the
// others. An empty variant picks every default. The copy has no
// node_variants; errors are *fault.Error of kind Validation (§3.5).
func (f *Flow) WithVariant(variant string) (*Flow, error) {
	var tuneNode, tuneID string
	if variant != "" {
		var err error
		tuneNode, tuneID, err = ParseVariant(variant)
		if err != nil {
			return nil, err
		}
		n := f.Node(tuneNode)
		if n == nil {
			return nil, fault.New(fault.Validation, "node %q not found in flow (variant %s)", tuneNode, variant).
				WithHint("%s", variantHint(f))
		}
		nv := f.Variants[tuneNode]
		if !n.UseVariants || nv == nil || len(nv.Variants) == 0 {
			return nil, fault.New(fault.Validation, "no variant for the node %q", tuneNode).
				WithHint("%s", variantHint(f))
		}
		if nv.Variants[tuneID] == nil {
			return nil, fault.New(fault.Validation, "variant %q not found for node %q", tuneID, tuneNode).
				WithHint("variants of %s: %s", tuneNode, strings.Join(nv.Order, ", "))
		}
	}
	out := *f
	out.Nodes = make([]Node, len(f.Nodes))
	for i, n := range f.Nodes {
		if !n.UseVariants {
			out.Nodes[i] = cloneNode(n)
			continue
		}
		nv := f.Variants[n.Name]
		if nv == nil || len(nv.Variants) == 0 {
			return nil, fault.New(fault.Validation, "no variant for the node %q", n.Name).
				WithHint("add node_variants.%s with at least one variant, or remove use_variants from the node", n.Name)
		}
		id := nv.DefaultVariantID
		if n.Name == tuneNode {
			id = tuneID
		}
		if id == "" {
			return nil, fault.New(fault.Validation, "default variant id is not specified for %q", n.Name).
				WithHint("add node_variants.%s.default_variant_id: %s", n.Name, nv.Order[0])
		}
		va := nv.Variants[id]
		if va == nil {
			return nil, fault.New(fault.Validation, "cannot find the variant %q for %q", id, n.Name).
				WithHint("variants of %s: %s", n.Name, strings.Join(nv.Order, ", "))
		}
		out.Nodes[i] = mergeVariant(n, va)
	}
	out.Variants = nil
	out.Inputs = slices.Clone(f.Inputs)
	out.Outputs = slices.Clone(f.Outputs)
	return &out, nil
}

func variantHint(f *Flow) string {
	var names []string
	for name, nv := range f.Variants {
		for _, id := range nv.Order {
			names = append(names, fmt.Sprintf("${%s.%s}", name, id))
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "this flow has no variants; leave the variant out"
	}
	return "available variants: " + strings.Join(names, ", ")
}

// TopoOrder returns the node names in an order where every node comes after
// the nodes it reads (inputs and activate.when, in any variant), keeping file
// order where the dependencies allow, as the executor does. References to
// unknown nodes are ignored (Validate reports them). A cycle is an error of
// kind Validation that names the nodes.
func (f *Flow) TopoOrder() ([]string, error) {
	if groups := f.cycleGroups(); len(groups) > 0 {
		var parts []string
		for _, g := range groups {
			parts = append(parts, strings.Join(g.Path, " → "))
		}
		return nil, fault.New(fault.Validation, "node circular dependency: %s", strings.Join(parts, "; ")).
			WithHint("break the circle: one of these nodes must not take its input (or activate.when) from the others")
	}
	order, deps := f.deps()
	picked := map[string]bool{}
	out := make([]string, 0, len(order))
	for len(out) < len(order) {
		progressed := false
		for _, n := range order {
			if picked[n] {
				continue
			}
			ready := true
			for _, d := range deps[n] {
				if !picked[d] {
					ready = false
					break
				}
			}
			if ready {
				picked[n] = true
				out = append(out, n)
				progressed = true
				break
			}
		}
		if !progressed { // unreachable: cycles were ruled out above
			return nil, fault.New(fault.Validation, "cannot order the nodes").WithHint("check the node references")
		}
	}
	return out, nil
}
