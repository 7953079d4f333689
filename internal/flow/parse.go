package flow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/prompty"
)

// Known keys, by place in the file. Keys promptflow reads but its client
// schema does not list (message_format, name, id) are known here: warning
// about a key that works would only teach users to ignore warnings.
var (
	topKeys = []string{"$schema", "inputs", "outputs", "nodes", "node_variants", "environment",
		"environment_variables", "additional_includes", "type", "language", "description",
		"display_name", "tags", "message_format", "name", "id"}
	flexKeys = []string{"$schema", "entry", "inputs", "outputs", "init", "sample", "code", "environment",
		"environment_variables", "additional_includes", "language", "description", "display_name",
		"tags", "name", "id", "type"}
	inputKeys    = []string{"type", "default", "description", "is_chat_input", "is_chat_history", "enum"}
	outputKeys   = []string{"type", "reference", "description", "is_chat_output", "evaluation_only"}
	nodeKeys     = []string{"name", "type", "source", "inputs", "connection", "api", "provider", "module", "aggregation", "activate", "use_variants", "enable_cache", "comment"}
	sourceKeys   = []string{"type", "path", "tool"}
	activateKeys = []string{"when", "is"}
	envKeys      = []string{"image", "python_requirements_txt"}
	nvKeys       = []string{"default_variant_id", "variants"}
	variantKeys  = []string{"node", "description"}

	// valueTypes are the flow input/output types the executor accepts.
	valueTypes = []string{"int", "double", "bool", "string", "secret", "prompt_template", "list",
		"object", "file_path", "image", "assistant_definition"}
	// toolTypes are the node types the executor accepts.
	toolTypes   = []string{"llm", "python", "prompt", "csharp", "custom_llm"}
	sourceTypes = []string{"code", "package", "package_with_prompt"}
)

// Parse reads a flow file's bytes. file is the path as the caller gave it (it
// names the diagnostics; its folder is the flow folder). Parse reports what
// the file itself says wrong: YAML syntax, wrong types, unknown or duplicate
// keys, missing required fields of inputs and outputs. Checks that need the
// whole flow or the file system are in Validate. Parse never panics and always
// returns a non-nil Flow holding whatever could be read.
func Parse(file string, data []byte) (*Flow, diag.List) {
	f := &Flow{File: file, Kind: KindDAG, Raw: map[string]any{}}
	if abs, err := filepath.Abs(file); err == nil {
		f.Path = abs
		f.Dir = filepath.Dir(abs)
	}
	w := &walker{file: file}
	var promptyBody string
	var promptyLine int
	if strings.EqualFold(filepath.Ext(file), ".prompty") {
		f.Kind = KindPrompty
		front, body, line, ok := prompty.Split(data)
		if !ok {
			f.Incomplete = true
			return f, diag.List{prompty.NoFrontMatter(file)}
		}
		if d := prompty.InnerFence(file, front); d != nil {
			f.Incomplete = true
			return f, diag.List{*d}
		}
		data, promptyBody, promptyLine = front, body, line
	}
	root, ok := w.document(data)
	if !ok {
		f.Incomplete = true
		return f, w.diags
	}
	if root == nil && f.Kind == KindPrompty {
		f.Prompty, _ = prompty.FromNode(file, nil, promptyBody, promptyLine)
		return f, w.diags
	}
	if root == nil {
		f.Incomplete, f.empty = true, true
		if f.Kind == KindDAG {
			// An error, not a warning: nothing can run it, and `flow
			// validate` must not pass what `run create` refuses.
			w.errorf(CodeEmptyFlow, Pos{Line: 1, Column: 1}, "add inputs, nodes and outputs; see https://aka.ms/pf/flow-yaml", "the flow file is empty")
		}
		return f, w.diags
	}
	if root.Kind != yaml.MappingNode {
		f.Incomplete = true
		w.errorf(CodeNotMapping, posOf(root), "a flow file is a mapping with keys such as inputs, outputs and nodes",
			"the flow file must be a mapping of keys, got %s", kindName(root))
		return f, w.diags
	}
	if raw := w.raw(root); raw != nil {
		f.Raw = raw
	}
	ps, _ := w.pairs(root, "the flow file")
	if f.Kind == KindPrompty {
		w.prompty(f, root, promptyBody, promptyLine)
		f.Incomplete = w.overflow
		w.diags.Sort()
		return f, w.diags
	}
	for _, p := range ps {
		if p.Key == "entry" {
			f.Kind = KindFlex
		}
	}
	f.KeyPos = map[string]Pos{}
	known := topKeys
	if f.Kind == KindFlex {
		known = flexKeys
	}
	for _, p := range ps {
		f.KeyPos[p.Key] = posOf(deref(p.V))
		w.top(f, p)
	}
	w.unknownKeysTop(ps, known, f.Kind)
	f.Incomplete = w.overflow
	w.diags.Sort()
	return f, w.diags
}

// document decodes the single YAML document; root is nil for an empty one.
func (w *walker) document(data []byte) (root *yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		// The position says where; yaml.v3's own "line N" often names the
		// start of the enclosing block instead, so it is left out.
		d := YAMLError(w.file, data, err)
		w.add(d.Severity, d.Code, orStart(Pos{Line: d.Line, Column: d.Column}), d.Hint, "%s", d.Message)
		return nil, false
	}
	var next yaml.Node
	switch err := safeDecode(dec, &next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		// Text after the document that is not a document of its own.
		d := YAMLError(w.file, data, err)
		w.add(d.Severity, d.Code, orStart(Pos{Line: d.Line, Column: d.Column}), d.Hint, "%s", d.Message)
	default:
		w.errorf(CodeMultipleDocs, orStart(posOf(&next)), "keep one document; remove the --- separator and what follows",
			"the flow file holds more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, true
	}
	root = deref(doc.Content[0])
	if isNull(root) {
		return nil, true
	}
	w.setBudget(root)
	return root, true
}

// orStart is p, or the start of the file when the position is unknown: every
// diagnostic names a line and column.
func orStart(p Pos) Pos {
	if p.Line < 1 {
		return Pos{Line: 1, Column: 1}
	}
	if p.Column < 1 {
		p.Column = 1
	}
	return p
}

// safeDecode guards against a panic inside yaml.v3 on hostile input: a flow
// file is user input and Parse promises not to panic.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed on this input: %v", r)
		}
	}()
	return dec.Decode(n)
}

// prompty reads a .prompty file's front matter with package prompty and
// gives the flow the prompty's inputs and outputs, so run.yml checks
// (column mapping) treat it as any flow.
func (w *walker) prompty(f *Flow, root *yaml.Node, body string, bodyLine int) {
	spec, ds := prompty.FromNode(w.file, root, body, bodyLine)
	f.Prompty = spec
	f.Name, f.Description = spec.Name, spec.Description
	w.diags = append(w.diags, ds...)
	for _, in := range spec.Inputs {
		fi := Input{Name: in.Name, Type: ValueType(in.Type), Default: in.Default, HasDefault: in.HasDefault,
			IsChatInput: in.IsChatInput, IsChatHistory: in.IsChatHistory, Pos: Pos{Line: in.Line, Column: 3}}
		f.Inputs = append(f.Inputs, fi)
	}
	for _, o := range spec.Outputs {
		f.Outputs = append(f.Outputs, Output{Name: o.Name, Type: ValueType(o.Type), Pos: Pos{Line: o.Line, Column: 3}})
	}
}

func (w *walker) unknownKeysTop(ps []pair, known []string, kind Kind) {
	for _, p := range ps {
		if contains(known, p.Key) {
			continue
		}
		switch {
		case kind == KindDAG && contains(flexKeys, p.Key):
			w.warnf(CodeUnknownKey, posOf(p.K), "remove it, or add `entry` to make this a flex flow",
				"key %q is only used by flex flows; this flow has nodes", p.Key)
		case p.Key == "skip":
			w.warnf(CodeLegacySkip, posOf(p.K), "remove it", "key %q is not read by prompt flow", p.Key)
		default:
			hint := "remove it, or check the spelling; prompt flow ignores unknown keys"
			if s := nearest(p.Key, known); s != "" {
				hint = fmt.Sprintf("did you mean %q? prompt flow ignores unknown keys", s)
			}
			w.warnf(CodeUnknownKey, posOf(p.K), hint, "unknown top-level key %q", p.Key)
		}
	}
}

func (w *walker) top(f *Flow, p pair) {
	switch p.Key {
	case "$schema":
		w.str(p.V, "$schema")
	case "inputs":
		ps, _ := w.pairs(p.V, "inputs")
		for _, ip := range ps {
			f.Inputs = append(f.Inputs, w.input(ip))
		}
	case "outputs":
		ps, _ := w.pairs(p.V, "outputs")
		for _, op := range ps {
			f.Outputs = append(f.Outputs, w.output(op))
		}
	case "nodes":
		if f.Kind == KindFlex {
			return
		}
		n := deref(p.V)
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			w.errorf(CodeWrongType, posOf(n), "write nodes as a list: each node starts with `- name: …`",
				"nodes must be a list, got %s", kindName(n))
			return
		}
		for i, item := range n.Content {
			f.Nodes = append(f.Nodes, w.node(item, fmt.Sprintf("nodes[%d]", i), false))
		}
	case "node_variants":
		w.nodeVariants(f, p.V)
	case "environment":
		w.environment(f, p.V)
	case "environment_variables":
		ps, _ := w.pairs(p.V, "environment_variables")
		if len(ps) > 0 {
			f.EnvironmentVariables = map[string]string{}
		}
		for _, e := range ps {
			f.EnvironmentVariables[e.Key] = pyStr(w.value(e.V, "environment_variables."+e.Key))
		}
	case "additional_includes":
		w.includes(f, p.V)
	case "type":
		if s, ok := w.str(p.V, "type"); ok {
			f.Type = s
			if !contains([]string{"standard", "evaluation", "chat"}, s) {
				w.errorf(CodeBadFlowType, posOf(deref(p.V)), suggestHint(s, []string{"standard", "evaluation", "chat"}),
					"flow type %q is not one of standard, evaluation, chat", s)
			}
		}
	case "language":
		if s, ok := w.str(p.V, "language"); ok {
			f.Language = s
			if s != "python" && s != "csharp" {
				w.errorf(CodeBadLanguage, posOf(deref(p.V)), suggestHint(s, []string{"python", "csharp"}),
					"language %q is not python or csharp", s)
			}
		}
	case "description":
		f.Description, _ = w.str(p.V, "description")
	case "display_name":
		f.DisplayName, _ = w.str(p.V, "display_name")
	case "tags":
		ps, _ := w.pairs(p.V, "tags")
		if len(ps) > 0 {
			f.Tags = map[string]string{}
		}
		for _, t := range ps {
			if s, ok := w.name(t.V, "tags."+t.Key); ok {
				f.Tags[t.Key] = s
			}
		}
	case "message_format":
		if s, ok := w.str(p.V, "message_format"); ok {
			f.MessageFormat = s
			if s != "basic" && s != "openai-vision" {
				w.errorf(CodeBadMsgFormat, posOf(deref(p.V)), suggestHint(s, []string{"basic", "openai-vision"}),
					"message_format %q is not basic or openai-vision", s)
			}
		}
	case "name":
		f.Name, _ = w.name(p.V, "name")
	case "entry":
		if s, ok := w.str(p.V, "entry"); ok {
			f.Entry = s
			mod, fn, cut := strings.Cut(s, ":")
			if !cut || !isDottedIdent(mod) || !isIdent(fn) {
				w.errorf(CodeBadEntry, posOf(deref(p.V)), "write entry as module:function, for example entry: flow:my_flow (flow.py, def my_flow)",
					"entry %q is not of the form module:function", s)
			}
		}
	}
}

func suggestHint(s string, known []string) string {
	if n := nearest(s, known); n != "" {
		return fmt.Sprintf("did you mean %q? allowed: %s", n, strings.Join(known, ", "))
	}
	return "allowed: " + strings.Join(known, ", ")
}

func (w *walker) input(p pair) Input {
	in := Input{Name: p.Key, Pos: posOf(p.K), KeyPos: map[string]Pos{}}
	where := "inputs." + p.Key
	ps, ok := w.pairs(p.V, where)
	if !ok {
		return in
	}
	hasType := false
	for _, kv := range ps {
		in.KeyPos[kv.Key] = posOf(deref(kv.V))
		switch kv.Key {
		case "type":
			s, ok := w.str(kv.V, where+".type")
			hasType = !isNull(kv.V) // a wrong type is reported as such, not as missing
			in.Type = ValueType(s)
			if ok && !contains(valueTypes, s) {
				w.errorf(CodeUnknownValueType, posOf(deref(kv.V)), suggestHint(s, valueTypes),
					"input %q has type %q, which prompt flow does not know", p.Key, s)
			}
		case "default":
			in.Default = w.value(kv.V, where+".default")
			in.HasDefault = !isNull(kv.V)
		case "description":
			in.Description, _ = w.str(kv.V, where+".description")
		case "is_chat_input":
			in.IsChatInput, _ = w.boolean(kv.V, where+".is_chat_input")
		case "is_chat_history":
			if b, ok := w.boolean(kv.V, where+".is_chat_history"); ok {
				in.IsChatHistory = &b
			}
		case "enum":
			if l, ok := w.value(kv.V, where+".enum").([]any); ok {
				in.Enum = l
			} else if !isNull(kv.V) {
				w.errorf(CodeWrongType, posOf(deref(kv.V)), "write the allowed values as a list", "%s.enum must be a list, got %s", where, kindName(kv.V))
			}
		}
	}
	w.unknownKeys(ps, where, inputKeys)
	if !hasType && ok {
		w.errorf(CodeMissingInputType, posOf(p.K), "add `type:` (string, int, double, bool, list, object, image, …) under the input",
			"input %q has no type", p.Key)
	}
	return in
}

func (w *walker) output(p pair) Output {
	out := Output{Name: p.Key, Pos: posOf(p.K), ReferencePos: posOf(p.K), KeyPos: map[string]Pos{}}
	where := "outputs." + p.Key
	ps, ok := w.pairs(p.V, where)
	if !ok {
		return out
	}
	hasType := false
	for _, kv := range ps {
		out.KeyPos[kv.Key] = posOf(deref(kv.V))
		switch kv.Key {
		case "type":
			s, ok := w.str(kv.V, where+".type")
			hasType = !isNull(kv.V) // a wrong type is reported as such, not as missing
			out.Type = ValueType(s)
			if ok && !contains(valueTypes, s) {
				w.errorf(CodeUnknownValueType, posOf(deref(kv.V)), suggestHint(s, valueTypes),
					"output %q has type %q, which prompt flow does not know", p.Key, s)
			}
		case "reference":
			out.ReferencePos = posOf(deref(kv.V))
			if isNull(kv.V) {
				continue
			}
			out.HasReference = true
			out.Reference, _ = w.str(kv.V, where+".reference")
		case "description":
			out.Description, _ = w.str(kv.V, where+".description")
		case "is_chat_output":
			out.IsChatOutput, _ = w.boolean(kv.V, where+".is_chat_output")
		case "evaluation_only":
			out.EvaluationOnly, _ = w.boolean(kv.V, where+".evaluation_only")
		}
	}
	w.unknownKeys(ps, where, outputKeys)
	if !hasType {
		w.errorf(CodeMissingOutputType, posOf(p.K), "add `type:` (usually string) under the output",
			"output %q has no type", p.Key)
	}
	return out
}

// node reads a node, or a variant's node body (inVariant: no name expected).
func (w *walker) node(item *yaml.Node, where string, inVariant bool) Node {
	item = deref(item)
	n := Node{Pos: posOf(item), KeyPos: map[string]Pos{}}
	ps, ok := w.pairs(item, where)
	if !ok {
		return n
	}
	// Name first, so later messages can use it.
	for _, kv := range ps {
		if kv.Key == "name" {
			n.Name, _ = w.name(kv.V, where+".name")
		}
	}
	if n.Name != "" && !inVariant {
		where = fmt.Sprintf("node %q", n.Name)
	}
	for _, kv := range ps {
		n.KeyPos[kv.Key] = posOf(deref(kv.V))
		sub := where + "." + kv.Key
		switch kv.Key {
		case "type":
			s, _ := w.str(kv.V, sub)
			n.Type = ToolType(s)
		case "source":
			w.source(&n, kv.V, sub)
		case "inputs":
			ips, _ := w.pairs(kv.V, sub)
			for _, ip := range ips {
				v := ParseRef(w.value(ip.V, sub+"."+ip.Key))
				v.Pos = posOf(deref(ip.V))
				n.Inputs = append(n.Inputs, NodeInput{Name: ip.Key, Value: v, Pos: posOf(ip.K)})
			}
		case "connection":
			n.Connection, _ = w.name(kv.V, sub)
		case "api":
			n.API, _ = w.str(kv.V, sub)
		case "provider":
			n.Provider, _ = w.str(kv.V, sub)
		case "module":
			n.Module, _ = w.str(kv.V, sub)
		case "comment":
			n.Comment, _ = w.str(kv.V, sub)
		case "aggregation", "reduce":
			if b, _ := w.boolean(kv.V, sub); b {
				n.Aggregation = true
			}
		case "use_variants":
			n.UseVariants, _ = w.boolean(kv.V, sub)
		case "enable_cache":
			n.EnableCache, _ = w.boolean(kv.V, sub)
		case "activate":
			w.activate(&n, kv.V, sub)
		case "skip":
			w.warnf(CodeLegacySkip, posOf(kv.K), "express the condition with activate: {when: …, is: …}",
				"%s: `skip` is no longer read by prompt flow and has no effect", where)
		case "tool":
			w.warnf(CodeUnknownKey, posOf(kv.K), "use source: {type: code, path: …} or source: {type: package, tool: …}",
				"%s: the legacy `tool` key is not used to find the tool", where)
		}
	}
	var unknown []pair
	for _, kv := range ps {
		if kv.Key != "skip" && kv.Key != "tool" && kv.Key != "reduce" {
			unknown = append(unknown, kv)
		}
	}
	w.unknownKeys(unknown, where, nodeKeys)
	return n
}

func (w *walker) source(n *Node, v *yaml.Node, where string) {
	v = deref(v)
	n.Source.Pos = posOf(v)
	ps, ok := w.pairs(v, where)
	if !ok {
		return
	}
	for _, kv := range ps {
		switch kv.Key {
		case "type":
			n.Source.Type, _ = w.str(kv.V, where+".type")
		case "path":
			n.Source.Path, _ = w.str(kv.V, where+".path")
		case "tool":
			n.Source.Tool, _ = w.str(kv.V, where+".tool")
		}
	}
	w.unknownKeys(ps, where, sourceKeys)
	if n.Source.Type == "" {
		n.Source.Type = "code"
	}
}

func (w *walker) activate(n *Node, v *yaml.Node, where string) {
	v = deref(v)
	a := &Activate{Pos: posOf(v)}
	n.Activate = a
	ps, ok := w.pairs(v, where)
	if !ok {
		return
	}
	for _, kv := range ps {
		switch kv.Key {
		case "when":
			a.HasWhen = true
			val := ParseRef(w.value(kv.V, where+".when"))
			val.Pos = posOf(deref(kv.V))
			a.When = &val
		case "is":
			a.HasIs = true
			a.Is = w.value(kv.V, where+".is")
		}
	}
	w.unknownKeys(ps, where, activateKeys)
}

func (w *walker) nodeVariants(f *Flow, v *yaml.Node) {
	ps, _ := w.pairs(v, "node_variants")
	if len(ps) > 0 {
		f.Variants = map[string]*NodeVariants{}
	}
	for _, p := range ps {
		where := "node_variants." + p.Key
		nv := &NodeVariants{Pos: posOf(p.K), KeyPos: map[string]Pos{}, Variants: map[string]*Variant{}}
		f.Variants[p.Key] = nv
		kvs, ok := w.pairs(p.V, where)
		if !ok {
			continue
		}
		for _, kv := range kvs {
			nv.KeyPos[kv.Key] = posOf(deref(kv.V))
			switch kv.Key {
			case "default_variant_id":
				nv.DefaultVariantID, _ = w.name(kv.V, where+".default_variant_id")
			case "variants":
				vps, _ := w.pairs(kv.V, where+".variants")
				for _, vp := range vps {
					nv.Variants[vp.Key] = w.variant(p.Key, vp, where+".variants."+vp.Key)
					nv.Order = append(nv.Order, vp.Key)
				}
			}
		}
		w.unknownKeys(kvs, where, nvKeys)
	}
}

func (w *walker) variant(nodeName string, p pair, where string) *Variant {
	va := &Variant{ID: p.Key, Pos: posOf(p.K)}
	ps, ok := w.pairs(p.V, where)
	if !ok {
		return va
	}
	for _, kv := range ps {
		switch kv.Key {
		case "node":
			va.Node = w.node(kv.V, where+".node", true)
		case "description":
			va.Description, _ = w.str(kv.V, where+".description")
		}
	}
	va.Node.Name = nodeName
	w.unknownKeys(ps, where, variantKeys)
	return va
}

func (w *walker) environment(f *Flow, v *yaml.Node) {
	v = deref(v)
	f.Environment.Pos = posOf(v)
	ps, _ := w.pairs(v, "environment")
	for _, kv := range ps {
		switch kv.Key {
		case "image":
			f.Environment.Image, _ = w.str(kv.V, "environment.image")
		case "python_requirements_txt":
			f.Environment.PythonRequirementsTxt, _ = w.str(kv.V, "environment.python_requirements_txt")
			if f.KeyPos == nil {
				f.KeyPos = map[string]Pos{}
			}
			f.KeyPos["environment.python_requirements_txt"] = posOf(deref(kv.V))
		}
	}
	// environment is a free dict for promptflow (it is hashed whole into the
	// session id), so other keys are kept; a near miss of a known key is
	// still worth a warning.
	for _, kv := range ps {
		if contains(envKeys, kv.Key) {
			continue
		}
		if s := nearest(kv.Key, envKeys); s != "" {
			w.warnf(CodeUnknownKey, posOf(kv.K), fmt.Sprintf("did you mean %q?", s),
				"environment key %q is not used by prompt flow", kv.Key)
		}
	}
}

func (w *walker) includes(f *Flow, v *yaml.Node) {
	v = deref(v)
	if isNull(v) {
		return
	}
	if v.Kind != yaml.SequenceNode {
		w.errorf(CodeWrongType, posOf(v), "write additional_includes as a list of paths: - ../common/utils.py",
			"additional_includes must be a list, got %s", kindName(v))
		return
	}
	for i, item := range v.Content {
		s, ok := w.str(item, fmt.Sprintf("additional_includes[%d]", i))
		if ok {
			f.AdditionalIncludes = append(f.AdditionalIncludes, Include{Path: s, Pos: posOf(deref(item))})
		}
	}
}

var identRE = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_]*$`)

func isIdent(s string) bool { return identRE.MatchString(s) }

func isDottedIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if !isIdent(part) {
			return false
		}
	}
	return true
}
