package flow

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkAssistant checks an assistant definition file given to a node input
// named assistant_definition (the name the assistant tools use). The
// executor loads it when it resolves the node and rejects function tools
// whose source is neither code nor package, code files that do not exist and
// package tools that are not installed.
func (v *validator) checkAssistant(n *Node, who string) {
	for _, in := range n.Inputs {
		if in.Name != "assistant_definition" {
			continue
		}
		raw := in.Value.Raw
		if in.Value.Kind == RefFlowInput {
			if fi := v.f.Input(in.Value.Name); fi != nil && fi.HasDefault {
				raw = fi.Default
			}
		}
		s, ok := raw.(string)
		if !ok || !(strings.HasSuffix(strings.ToLower(s), ".yaml") || strings.HasSuffix(strings.ToLower(s), ".yml")) {
			continue
		}
		p := in.Value.Pos
		if !v.checkFile(s, p, who+": assistant definition", CodeAssistantMissing,
			"create the assistant definition (model, instructions, tools) or fix the path (relative to the flow folder)") {
			continue
		}
		rel, _ := v.inside(s)
		if data := v.read(rel); data != nil {
			v.assistantFile(rel, data, who)
		}
	}
}

func (v *validator) assistantFile(rel string, data []byte, who string) {
	// Findings inside the assistant definition point into that file.
	w := &walker{file: filepath.Join(filepath.Dir(v.f.File), filepath.FromSlash(rel))}
	defer func() { v.diags = append(v.diags, w.diags...) }()
	root, ok := w.document(data)
	if !ok || root == nil {
		return
	}
	if root.Kind != yaml.MappingNode {
		w.errorf(CodeAssistantInvalid, posOf(root), "an assistant definition is a mapping with model, instructions and tools",
			"the assistant definition of %s must be a mapping, got %s", who, kindName(root))
		return
	}
	w.raw(root)
	ps, _ := w.pairs(root, "the assistant definition")
	for _, p := range ps {
		if p.Key != "tools" {
			continue
		}
		tools := deref(p.V)
		if isNull(tools) {
			continue
		}
		if tools.Kind != yaml.SequenceNode {
			w.errorf(CodeAssistantInvalid, posOf(tools), "write tools as a list", "tools must be a list, got %s", kindName(tools))
			continue
		}
		for i, t := range tools.Content {
			v.assistantTool(w, deref(t), fmt.Sprintf("tools[%d]", i))
		}
	}
}

func (v *validator) assistantTool(w *walker, t *yaml.Node, where string) {
	ps, ok := w.pairs(t, where)
	if !ok {
		return
	}
	var typ string
	var src *yaml.Node
	for _, p := range ps {
		switch p.Key {
		case "type":
			typ, _ = w.str(p.V, where+".type")
		case "source":
			src = p.V
		}
	}
	if typ != "function" || src == nil {
		return
	}
	sps, ok := w.pairs(src, where+".source")
	if !ok {
		return
	}
	var st, sp, stool string
	for _, p := range sps {
		switch p.Key {
		case "type":
			st, _ = w.str(p.V, where+".source.type")
		case "path":
			sp, _ = w.str(p.V, where+".source.path")
		case "tool":
			stool, _ = w.str(p.V, where+".source.tool")
		}
	}
	pos := posOf(deref(src))
	switch st {
	case "code":
		if sp == "" {
			w.errorf(CodeAssistantToolFile, pos, "add path: <file>.py", "%s: a code tool needs a path", where)
			return
		}
		rel, inside := v.inside(sp)
		if !inside {
			w.errorf(CodePathOutsideFlow, pos, "put the tool file inside the flow folder",
				"%s: tool file %q is outside the flow folder", where, sp)
			return
		}
		if !v.exists(rel) {
			w.errorf(CodeAssistantToolFile, pos, "create the file or fix the path (relative to the flow folder)",
				"%s: tool file %q can not be found", where, sp)
		}
	case "package":
		if stool == "" {
			w.errorf(CodeAssistantToolFile, pos, "add tool: <package tool id>", "%s: a package tool needs a tool id", where)
		} else if v.opts.Tool != nil && !v.opts.Tool(stool) {
			w.errorf(CodeUnknownTool, pos, "install the package that provides it (add it to requirements.txt), or fix the tool id",
				"%s: package tool %q is not installed in the session environment", where, stool)
		}
	default:
		w.errorf(CodeAssistantSourceType, pos, suggestHint(st, []string{"code", "package"}),
			"%s: tool source type %q is not supported in an assistant node", where, st)
	}
}
