package flow

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/diag"
)

// ValidateOptions tells Validate about the world outside the flow file. The
// zero value checks files on disk under the flow folder and skips the checks
// that need a workspace (connections, installed package tools).
type ValidateOptions struct {
	// Exists reports whether a file or folder exists; rel is a slash path
	// relative to the flow folder (the snapshot root), possibly starting with
	// ../ for additional_includes. nil: os.Stat under f.Dir. Files that
	// additional_includes bring in are found by Validate itself.
	Exists func(rel string) bool
	// ReadFile reads a file, rel as for Exists, to check prompt templates
	// and assistant definitions. nil: os.ReadFile under f.Dir. A file that
	// exists but cannot be read is not checked further.
	ReadFile func(rel string) ([]byte, error)
	// Batch says the flow is about to run as a batch run, where a flow
	// without inputs is rejected; otherwise that is only a warning.
	Batch bool
	// Connection looks up a workspace connection by name and returns its type
	// (AzureOpenAI, OpenAI, Custom, …; a "Connection" suffix is ignored).
	// nil: connections are not checked.
	Connection func(name string) (typ string, ok bool)
	// Tool reports whether a package tool id is installed. nil: not checked.
	Tool func(id string) bool
	// SnapshotChecked says the snapshot was built (snapshot.Check), which
	// reports additional_includes that are empty or missing and a
	// requirements file it does not hold; Validate then leaves those to it
	// rather than report them twice.
	SnapshotChecked bool
}

type validator struct {
	*walker
	f     *Flow
	opts  ValidateOptions
	nodes map[string]*Node // first node of each name
	agg   map[string]bool  // aggregation nodes (by effective body)
}

// Validate checks what the prompt flow executor would reject and what can be
// known offline (pfazure-surface.md §3.11): references, cycles, duplicate
// names, aggregation rules, activate, node types and sources, variants,
// files named by the flow. Each diagnostic points at the flow file.
func (f *Flow) Validate(opts ValidateOptions) diag.List {
	v := &validator{walker: &walker{file: f.File}, f: f, opts: opts}
	if f.Incomplete {
		// Parse has said why the file could not be read (an empty file is
		// an error there); everything below would only restate it.
		return v.diags
	}
	switch f.Kind {
	case KindPrompty:
		v.promptyConnection()
		return v.diags
	case KindFlex:
		v.includes()
		v.requirements()
		return v.diags
	}
	v.index()
	v.flowInputs()
	for i := range f.Nodes {
		v.node(&f.Nodes[i], i)
	}
	v.variants()
	v.cycles()
	v.outputs()
	v.includes()
	v.requirements()
	v.envConnections()
	if len(f.Nodes) == 0 {
		p := f.KeyPos["nodes"]
		if p.Line == 0 {
			p = Pos{Line: 1, Column: 1}
		}
		v.warnf(CodeEmptyFlow, p, "add at least one node under nodes:", "the flow has no nodes")
	}
	v.diags.Sort()
	return v.diags
}

func (v *validator) index() {
	v.nodes = map[string]*Node{}
	v.agg = map[string]bool{}
	for i := range v.f.Nodes {
		n := &v.f.Nodes[i]
		if n.Name == "" {
			continue
		}
		if first, dup := v.nodes[n.Name]; dup {
			v.errorf(CodeDuplicateNode, n.KeyPos["name"], fmt.Sprintf("rename or remove one of them; the first is at line %d", first.KeyPos["name"].Line),
				"node %q appears more than once in the flow, which is not allowed", n.Name)
			continue
		}
		v.nodes[n.Name] = n
	}
	for name, n := range v.nodes {
		for _, b := range v.bodies(n) {
			if b.Node.Aggregation {
				v.agg[name] = true
			}
		}
	}
}

// body is one way a node can run: itself, or itself with a variant applied.
type body struct {
	Node    Node
	Variant string // "" for the node itself
}

// bodies returns the node's effective bodies: one per variant for a
// use_variants node with variants, else the node itself.
func (v *validator) bodies(n *Node) []body {
	if n.UseVariants && v.f.Variants != nil {
		if nv := v.f.Variants[n.Name]; nv != nil && len(nv.Variants) > 0 {
			out := make([]body, 0, len(nv.Order))
			for _, id := range nv.Order {
				if va := nv.Variants[id]; va != nil {
					out = append(out, body{Node: mergeVariant(*n, va), Variant: id})
				}
			}
			return out
		}
	}
	return []body{{Node: *n}}
}

func (v *validator) flowInputs() {
	f := v.f
	if len(f.Inputs) == 0 {
		p := f.KeyPos["inputs"]
		if p.Line == 0 {
			p = Pos{Line: 1, Column: 1}
		}
		msg := "the flow has no inputs; a batch run needs at least one"
		hint := "declare the inputs the flow reads, for example inputs: {question: {type: string}}"
		if v.opts.Batch {
			v.errorf(CodeNoInputs, p, hint, "%s (prompt flow: \"The input for flow cannot be empty in batch mode\")", msg)
		} else {
			v.warnf(CodeNoInputs, p, hint, "%s", msg)
		}
	}
	var chatIn, chatOut []string
	for _, in := range f.Inputs {
		if in.IsChatInput {
			chatIn = append(chatIn, in.Name)
		}
	}
	for _, out := range f.Outputs {
		if out.IsChatOutput {
			chatOut = append(chatOut, out.Name)
		}
	}
	if len(chatIn) > 1 {
		v.warnf(CodeMultiChatInputs, f.KeyPos["inputs"], "keep is_chat_input: true on one input only",
			"inputs %s are all marked is_chat_input; chat and serving reject a flow with more than one chat input", quoteList(chatIn))
	}
	if len(chatOut) > 1 {
		v.warnf(CodeMultiChatOutputs, f.KeyPos["outputs"], "keep is_chat_output: true on one output only",
			"outputs %s are all marked is_chat_output; chat and serving reject a flow with more than one chat output", quoteList(chatOut))
	}
	if len(chatIn) > 0 && len(chatOut) == 0 && len(f.Outputs) > 0 {
		v.warnf(CodeNoChatOutput, f.KeyPos["outputs"], "mark the answer output with is_chat_output: true",
			"the flow has a chat input but no output marked is_chat_output; chat and serving reject it")
	}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("'%s'", n)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (v *validator) node(n *Node, idx int) {
	if n.Name == "" {
		p := n.KeyPos["name"]
		if p.Line == 0 {
			p = n.Pos
		}
		v.errorf(CodeMissingNodeName, p, "add `name:` to the node; other nodes and outputs refer to it by this name",
			"node %d has no name", idx+1)
	}
	if n.UseVariants {
		nv := v.f.Variants[n.Name]
		if nv == nil {
			v.errorf(CodeMissingVariants, n.KeyPos["use_variants"], fmt.Sprintf("add node_variants: {%s: {default_variant_id: …, variants: {…}}} or remove use_variants", n.Name),
				"node %q sets use_variants but node_variants has no entry for it", n.Name)
		}
		if nv == nil || len(nv.Variants) == 0 {
			// Without variants there is no body to check beyond what the
			// node references; the missing variants are the error.
			v.checkActivate(n, label(n, ""))
			v.checkRefs(n, label(n, ""))
			return
		}
		for _, b := range v.bodies(n) {
			b := b
			v.checkBody(&b.Node, b.Variant)
		}
		return
	}
	v.checkBody(n, "")
}

// label names a node (and variant) in messages.
func label(n *Node, variant string) string {
	if variant != "" {
		return fmt.Sprintf("node %q (variant %q)", n.Name, variant)
	}
	if n.Name == "" {
		return "a node without a name"
	}
	return fmt.Sprintf("node %q", n.Name)
}

func (v *validator) at(n *Node, keys ...string) Pos {
	for _, k := range keys {
		if p, ok := n.KeyPos[k]; ok && p.Line > 0 {
			return p
		}
	}
	return n.Pos
}

var (
	llmAPIs      = []string{"chat", "completion"}
	llmProviders = []string{"AzureOpenAI", "OpenAI", "Serverless"}
)

func (v *validator) checkBody(n *Node, variant string) {
	who := label(n, variant)
	v.checkType(n, variant, who)
	v.checkSource(n, who)
	if n.Module != "" && !isDottedIdent(n.Module) {
		v.errorf(CodeInvalidModule, v.at(n, "module"), "write a Python module path such as promptflow.tools.aoai, or remove module",
			"%s: module %q is not a Python module name; prompt flow fails to import it", who, n.Module)
	}
	if n.Type == ToolLLM {
		switch {
		case n.API == "":
			v.errorf(CodeMissingLLMAPI, v.at(n, "type"), "add api: chat (or api: completion) to the node",
				"%s is an llm node without api", who)
		case !contains(llmAPIs, n.API):
			v.errorf(CodeUnknownLLMAPI, v.at(n, "api"), suggestHint(n.API, llmAPIs),
				"%s: api %q is not chat or completion; prompt flow finds no such LLM API", who, n.API)
		}
		if n.Provider != "" && !contains(llmProviders, n.Provider) {
			v.warnf(CodeUnknownProvider, v.at(n, "provider"), suggestHint(n.Provider, llmProviders)+"; the connection's type decides the provider at run time",
				"%s: provider %q is not a known LLM provider", who, n.Provider)
		}
	}
	v.checkConnection(n, who)
	v.checkTemplate(n, who)
	v.checkActivate(n, who)
	v.checkRefs(n, who)
	v.checkAssistant(n, who)
}

func (v *validator) checkType(n *Node, variant, who string) {
	if n.Type == "" {
		guess := "python (a .py tool), llm (a .jinja2 prompt sent to a model) or prompt (a .jinja2 template rendered to text)"
		switch strings.ToLower(path.Ext(n.Source.Path)) {
		case ".py":
			guess = "python"
		case ".jinja2", ".jinja":
			guess = "prompt, or llm when the template is sent to a model"
			if n.Connection != "" || n.API != "" {
				guess = "llm"
			}
		}
		v.errorf(CodeMissingNodeType, v.at(n, "type", "name"), "add type: "+guess,
			"%s has no type; prompt flow fails with \"Tool type None is not supported yet\"", who)
		return
	}
	if !contains(toolTypes, string(n.Type)) {
		v.errorf(CodeUnknownNodeType, v.at(n, "type"), suggestHint(string(n.Type), toolTypes),
			"%s has type %q, which prompt flow does not know", who, n.Type)
	}
}

func (v *validator) checkSource(n *Node, who string) {
	if _, ok := n.KeyPos["source"]; !ok && n.Source.Path == "" && n.Source.Tool == "" {
		hint := "add source: {type: code, path: <file>.py} (or .jinja2), or source: {type: package, tool: <tool id>}"
		v.errorf(CodeMissingSource, v.at(n, "type", "name"), hint,
			"%s has no source; prompt flow cannot load its tool", who)
		return
	}
	src := n.Source
	p := src.Pos
	if p.Line == 0 {
		p = v.at(n, "source")
	}
	switch src.Type {
	case "code", "":
		if src.Path == "" {
			v.errorf(CodeMissingSourcePath, p, "add path: <file> under source, relative to the flow folder",
				"%s: a code source needs a path", who)
			return
		}
		v.checkFile(src.Path, p, who+": source path", CodeSourceNotFound,
			"create the file, fix the path (relative to the flow folder), or bring it in with additional_includes")
	case "package", "package_with_prompt":
		if src.Tool == "" {
			v.errorf(CodeMissingSourceTool, p, "add tool: <package tool id> under source, for example promptflow.tools.serpapi.SerpAPI.search",
				"%s: a %s source needs a tool", who, src.Type)
		} else if v.opts.Tool != nil && !v.opts.Tool(src.Tool) {
			v.errorf(CodeUnknownTool, p, "install the package that provides it (add it to requirements.txt), or fix the tool id",
				"%s: package tool %q is not installed in the session environment", who, src.Tool)
		}
		if src.Type == "package_with_prompt" && src.Path != "" {
			v.checkFile(src.Path, p, who+": prompt path", CodeSourceNotFound,
				"create the file or fix the path (relative to the flow folder)")
		}
	default:
		v.errorf(CodeUnknownSourceType, p, suggestHint(src.Type, sourceTypes),
			"%s: source type %q is not supported", who, src.Type)
	}
	if n.Type == ToolCustomLLM && src.Type != "package_with_prompt" {
		v.errorf(CodeCustomLLMSource, p, "use source: {type: package_with_prompt, tool: <tool id>, path: <prompt>.jinja2}",
			"%s: a custom_llm node needs a package_with_prompt source, not %q", who, src.Type)
	}
}

// checkFile reports a path that leaves the flow folder or does not exist.
func (v *validator) checkFile(rel string, p Pos, what, code, hint string) bool {
	if clean, ok := v.inside(rel); !ok {
		v.errorf(CodePathOutsideFlow, p, "put the file inside the flow folder, or list its folder under additional_includes and refer to it by its own name",
			"%s %q is outside the flow folder; the run's snapshot holds only the flow folder and its additional_includes", what, rel)
		return false
	} else if !v.exists(clean) {
		v.errorf(code, p, hint, "%s %q does not exist", what, rel)
		return false
	}
	return true
}

// inside cleans a path from the flow file and says whether it stays inside
// the flow folder.
func (v *validator) inside(rel string) (string, bool) {
	s := strings.ReplaceAll(rel, `\`, "/")
	// A drive letter (C:/…) is absolute on Windows, where flows are written too.
	drive := len(s) > 2 && s[1] == ':' && s[2] == '/' && ('A' <= s[0] && s[0] <= 'Z' || 'a' <= s[0] && s[0] <= 'z')
	if s == "" || strings.HasPrefix(s, "/") || filepath.IsAbs(rel) || drive {
		return "", false
	}
	c := path.Clean(s)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

// exists says whether rel (clean, inside the flow folder) exists in the
// snapshot: in the flow folder, or brought in by an additional include,
// which lands at the snapshot root under its last path component.
func (v *validator) exists(rel string) bool {
	if v.rawExists(rel) {
		return true
	}
	for _, inc := range v.f.AdditionalIncludes {
		ip := path.Clean(strings.ReplaceAll(inc.Path, `\`, "/"))
		base := path.Base(ip)
		if base == "." || base == ".." || base == "/" {
			continue
		}
		if rel == base || strings.HasPrefix(rel, base+"/") {
			if v.rawExists(path.Join(path.Dir(ip), rel)) {
				return true
			}
		}
	}
	return false
}

func (v *validator) rawExists(rel string) bool {
	if v.opts.Exists != nil {
		return v.opts.Exists(rel)
	}
	_, err := os.Stat(v.abs(rel))
	return err == nil
}

func (v *validator) abs(rel string) string {
	if path.IsAbs(rel) || filepath.IsAbs(rel) {
		return filepath.FromSlash(rel)
	}
	return filepath.Join(v.f.Dir, filepath.FromSlash(rel))
}

// read reads rel (clean) from the flow folder or an include; nil if it
// cannot be read.
func (v *validator) read(rel string) []byte {
	try := func(r string) []byte {
		if v.opts.ReadFile != nil {
			b, err := v.opts.ReadFile(r)
			if err != nil {
				return nil
			}
			return b
		}
		b, err := os.ReadFile(v.abs(r))
		if err != nil {
			return nil
		}
		return b
	}
	if b := try(rel); b != nil {
		return b
	}
	for _, inc := range v.f.AdditionalIncludes {
		ip := path.Clean(strings.ReplaceAll(inc.Path, `\`, "/"))
		base := path.Base(ip)
		if rel == base || strings.HasPrefix(rel, base+"/") {
			if b := try(path.Join(path.Dir(ip), rel)); b != nil {
				return b
			}
		}
	}
	return nil
}

func normConnType(t string) string {
	return strings.TrimSuffix(strings.TrimSpace(t), "Connection")
}

func (v *validator) checkConnection(n *Node, who string) {
	if v.opts.Connection == nil || n.Connection == "" {
		return
	}
	typ, ok := v.opts.Connection(n.Connection)
	if !ok {
		v.errorf(CodeConnectionMissing, v.at(n, "connection"), "create the connection in the workspace, fix the name, or override it in run.yml under connections:",
			"%s: connection %q does not exist", who, n.Connection)
		return
	}
	if n.Type == ToolLLM && !contains(llmProviders, normConnType(typ)) {
		v.errorf(CodeConnectionType, v.at(n, "connection"), "use an AzureOpenAI, OpenAI or Serverless connection for llm nodes",
			"%s: connection %q has type %s, which is not supported for LLM", who, n.Connection, normConnType(typ))
	}
}

// promptyConnection checks the connection a prompty's model.configuration
// names, as an llm node's.
func (v *validator) promptyConnection() {
	p := v.f.Prompty
	if v.opts.Connection == nil || p == nil || p.Connection == "" {
		return
	}
	at := Pos{Line: p.ConnectionLine, Column: p.ConnectionColumn}
	typ, ok := v.opts.Connection(p.Connection)
	if !ok {
		v.errorf(CodeConnectionMissing, at, "create it with `pfz connection create`, fix the name, or override it in run.yml under connections:",
			"model.configuration: connection %q does not exist", p.Connection)
		return
	}
	if t := normConnType(typ); !strings.EqualFold(t, "AzureOpenAI") && !strings.EqualFold(t, "OpenAI") {
		v.errorf(CodeConnectionType, at, "use an AzureOpenAI or OpenAI connection for a prompty",
			"model.configuration: connection %q has type %s; a prompty calls AzureOpenAI or OpenAI", p.Connection, t)
	}
}

func (v *validator) checkActivate(n *Node, who string) {
	a := n.Activate
	if a == nil {
		return
	}
	if !a.HasWhen || !a.HasIs {
		missing := "is"
		if !a.HasWhen {
			missing = "when"
		}
		v.errorf(CodeInvalidActivate, v.at(n, "activate"), "activate needs both keys, for example activate: {when: ${classify.output}, is: true}",
			"%s: activate has no %q; the definition of activate config is incorrect", who, missing)
		return
	}
	if (a.When == nil || a.When.Raw == nil) && a.Is == nil {
		v.warnf(CodeEmptyActivate, v.at(n, "activate"), "set when: and is:, or remove activate",
			"%s: activate has empty 'when' and 'is'", who)
	}
}

// refs lists a body's references with where they are: its inputs, then
// activate.when.
type ref struct {
	Value    Value
	Activate bool
	Input    string
}

func refsOf(n *Node) []ref {
	var out []ref
	for _, in := range n.Inputs {
		out = append(out, ref{Value: in.Value, Input: in.Name})
	}
	if n.Activate != nil && n.Activate.When != nil {
		out = append(out, ref{Value: *n.Activate.When, Activate: true})
	}
	return out
}

func (v *validator) inputNames() []string {
	names := make([]string, 0, len(v.f.Inputs))
	for _, in := range v.f.Inputs {
		names = append(names, in.Name)
	}
	return names
}

func (v *validator) nodeNames() []string {
	names := make([]string, 0, len(v.f.Nodes))
	for _, n := range v.f.Nodes {
		if n.Name != "" {
			names = append(names, n.Name)
		}
	}
	return names
}

func (v *validator) refHint(kind RefKind, name string) string {
	if kind == RefFlowInput {
		if s := nearest(name, v.inputNames()); s != "" {
			return fmt.Sprintf("did you mean ${inputs.%s}? otherwise declare %q under inputs:", s, name)
		}
		return fmt.Sprintf("declare %q under inputs:, or fix the reference; flow inputs: %s", name, orNone(v.inputNames()))
	}
	if s := nearest(name, v.nodeNames()); s != "" {
		return fmt.Sprintf("did you mean ${%s.output}? otherwise add a node named %q", s, name)
	}
	return fmt.Sprintf("fix the node name; nodes: %s", orNone(v.nodeNames()))
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ", ")
}

func (v *validator) checkRefs(n *Node, who string) {
	var badAgg []string
	for _, r := range refsOf(n) {
		p := r.Value.Pos
		if p.Line == 0 {
			p = v.at(n, "inputs", "activate")
		}
		where := fmt.Sprintf("input %q", r.Input)
		if r.Activate {
			where = "activate.when"
		}
		switch r.Value.Kind {
		case RefFlowInput:
			if v.f.Input(r.Value.Name) == nil {
				v.errorf(CodeUnknownInputRef, p, v.refHint(RefFlowInput, r.Value.Name),
					"%s %s references flow input %q, which is not defined in the flow", who, where, r.Value.Name)
			}
		case RefNode:
			target, ok := v.nodes[r.Value.Name]
			if !ok {
				v.errorf(CodeUnknownNodeRef, p, v.refHint(RefNode, r.Value.Name),
					"%s %s references node %q, which does not exist in the flow", who, where, r.Value.Name)
				continue
			}
			_ = target
			if n.Aggregation && r.Activate && !v.agg[r.Value.Name] {
				v.errorf(CodeAggActivateRef, p, "an aggregation node runs once after all lines; its activate.when may only reference other aggregation nodes (or flow inputs)",
					"non-aggregation node %q cannot be referenced in the activate config of the aggregation node %q", r.Value.Name, n.Name)
			}
			if !n.Aggregation && v.agg[r.Value.Name] && !contains(badAgg, r.Value.Name) {
				badAgg = append(badAgg, r.Value.Name)
				v.errorf(CodeAggregationRef, p, fmt.Sprintf("make %q an aggregation node too (aggregation: true), or take the value from a line node", n.Name),
					"non-aggregation %s cannot reference aggregation node %q; aggregation nodes run once after all lines", who, r.Value.Name)
			}
		}
	}
}

func (v *validator) variants() {
	f := v.f
	names := make([]string, 0, len(f.Variants))
	for name := range f.Variants {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		nv := f.Variants[name]
		n := v.nodes[name]
		switch {
		case n == nil:
			v.warnf(CodeUnusedVariants, nv.Pos, v.refHint(RefNode, name),
				"node_variants has an entry for %q, but the flow has no node of that name", name)
		case !n.UseVariants:
			v.warnf(CodeUnusedVariants, nv.Pos, fmt.Sprintf("add use_variants: true to node %q, or remove its node_variants entry", name),
				"node_variants has an entry for %q, but that node does not set use_variants, so the variants are ignored", name)
		}
		if len(nv.Variants) == 0 {
			v.errorf(CodeNoVariants, nv.Pos, "add at least one variant under variants:",
				"node_variants.%s has no variants", name)
			continue
		}
		if nv.DefaultVariantID == "" {
			v.errorf(CodeMissingDefaultVar, nv.Pos, fmt.Sprintf("add default_variant_id: %s", nv.Order[0]),
				"node_variants.%s has no default_variant_id", name)
		} else if nv.Variants[nv.DefaultVariantID] == nil {
			p := nv.KeyPos["default_variant_id"]
			v.errorf(CodeUnknownVariant, p, suggestHint(nv.DefaultVariantID, nv.Order),
				"default variant %q of node %q is not one of its variants", nv.DefaultVariantID, name)
		}
	}
}

// deps returns, for each node name (first occurrence), the node names it
// depends on through inputs and activate.when, in every variant.
func (f *Flow) deps() (order []string, deps map[string][]string) {
	seen := map[string]bool{}
	deps = map[string][]string{}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if n.Name == "" || seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		order = append(order, n.Name)
	}
	for i := range f.Nodes {
		n := &f.Nodes[i]
		if n.Name == "" || len(deps[n.Name]) > 0 {
			continue
		}
		var ds []string
		for _, b := range f.effectiveBodies(n) {
			for _, r := range refsOf(&b) {
				if r.Value.Kind == RefNode && seen[r.Value.Name] && !contains(ds, r.Value.Name) {
					ds = append(ds, r.Value.Name)
				}
			}
		}
		deps[n.Name] = ds
	}
	return order, deps
}

func (f *Flow) effectiveBodies(n *Node) []Node {
	if n.UseVariants {
		if nv := f.Variants[n.Name]; nv != nil && len(nv.Variants) > 0 {
			var out []Node
			for _, id := range nv.Order {
				if va := nv.Variants[id]; va != nil {
					out = append(out, mergeVariant(*n, va))
				}
			}
			return out
		}
	}
	return []Node{*n}
}

func (v *validator) cycles() {
	for _, scc := range v.f.cycleGroups() {
		first := v.nodes[scc.Path[0]]
		sorted := append([]string(nil), scc.Members...)
		sort.Strings(sorted)
		v.errorf(CodeNodeCycle, v.at(first, "name"), "break the circle: one of these nodes must not take its input (or activate.when) from the others",
			"node circular dependency among the nodes %s: %s (→ feeds into)", quoteList(sorted), strings.Join(scc.Path, " → "))
	}
}

type cycleGroup struct {
	Members []string // the strongly connected nodes
	Path    []string // one circle through them, first node repeated at the end
}

// cycleGroups finds the groups of nodes that depend on each other (Tarjan's
// strongly connected components, plus self-references), each with one
// concrete circle to show the user.
func (f *Flow) cycleGroups() []cycleGroup {
	order, deps := f.deps()
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var groups []cycleGroup
	next := 0
	var strong func(string)
	strong = func(n string) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		for _, d := range deps[n] {
			if _, ok := index[d]; !ok {
				strong(d)
				low[n] = min(low[n], low[d])
			} else if onStack[d] {
				low[n] = min(low[n], index[d])
			}
		}
		if low[n] != index[n] {
			return
		}
		var members []string
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			members = append(members, top)
			if top == n {
				break
			}
		}
		if len(members) > 1 || contains(deps[n], n) {
			groups = append(groups, cycleGroup{Members: members, Path: circleThrough(members, deps, order)})
		}
	}
	for _, n := range order {
		if _, ok := index[n]; !ok {
			strong(n)
		}
	}
	sort.Slice(groups, func(i, j int) bool {
		return indexOf(order, groups[i].Path[0]) < indexOf(order, groups[j].Path[0])
	})
	return groups
}

// circleThrough walks from the member that comes first in the file along
// dependencies inside the group until it comes back.
func circleThrough(members []string, deps map[string][]string, order []string) []string {
	in := map[string]bool{}
	for _, m := range members {
		in[m] = true
	}
	start := ""
	for _, n := range order {
		if in[n] {
			start = n
			break
		}
	}
	// Breadth-first search for the shortest way back to start.
	prev := map[string]string{}
	queue := []string{start}
	visited := map[string]bool{}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, d := range deps[cur] {
			if !in[d] {
				continue
			}
			if d == start {
				// Dependencies point from a node to what it reads; show the
				// circle the way data flows: start feeds cur, cur's
				// predecessor on the search path feeds…, back to start.
				out := []string{start}
				for x := cur; x != start; x = prev[x] {
					out = append(out, x)
				}
				return append(out, start)
			}
			if !visited[d] {
				visited[d] = true
				prev[d] = cur
				queue = append(queue, d)
			}
		}
	}
	return []string{start, start}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return len(list)
}

func (v *validator) outputs() {
	for _, o := range v.f.Outputs {
		p := o.ReferencePos
		if o.Reference == "" {
			v.errorf(CodeEmptyOutputRef, p, "set reference: ${<node>.output} (or ${inputs.<name>}) for the output",
				"the reference is not specified for the output %q", o.Name)
			continue
		}
		r := ParseRef(o.Reference)
		switch r.Kind {
		case RefLiteral:
			v.warnf(CodeLiteralOutputRef, p, "write the reference as ${<node>.output}",
				"output %q has reference %q, which is not a ${…} reference; the output will be that text", o.Name, clip(o.Reference))
		case RefFlowInput:
			if v.f.Input(r.Name) == nil {
				v.errorf(CodeUnknownInputRef, p, v.refHint(RefFlowInput, r.Name),
					"output %q references flow input %q, which is not defined in the flow", o.Name, r.Name)
			}
		case RefNode:
			if _, ok := v.nodes[r.Name]; !ok {
				v.errorf(CodeUnknownNodeRef, p, v.refHint(RefNode, r.Name),
					"output %q references node %q, which does not exist in the flow", o.Name, r.Name)
			} else if v.agg[r.Name] {
				v.warnf(CodeOutputAggregation, p, "aggregation results are reported as metrics (log_metric); remove the output or reference a line node",
					"output %q references aggregation node %q and will not take effect", o.Name, r.Name)
			}
		}
	}
}

func (v *validator) includes() {
	seen := map[string]Pos{}
	for _, inc := range v.f.AdditionalIncludes {
		key := path.Clean(strings.ReplaceAll(inc.Path, `\`, "/"))
		if first, dup := seen[key]; dup {
			v.warnf(CodeDuplicateInclude, inc.Pos, fmt.Sprintf("remove the repeated entry; the first is at line %d", first.Line),
				"additional include %q is listed more than once", inc.Path)
			continue
		}
		seen[key] = inc.Pos
		if v.opts.SnapshotChecked {
			continue
		}
		if inc.Path == "" {
			v.errorf(CodeIncludeNotFound, inc.Pos, "remove the empty entry", "additional include is empty")
			continue
		}
		if v.rawExists(key) {
			continue
		}
		// A missing x.zip is made by zipping the sibling folder x.
		if strings.HasSuffix(strings.ToLower(key), ".zip") && v.rawExists(key[:len(key)-4]) {
			continue
		}
		v.errorf(CodeIncludeNotFound, inc.Pos, "fix the path (relative to the flow folder) or remove the entry",
			"unable to find additional include %q", inc.Path)
	}
}

func (v *validator) requirements() {
	req := v.f.Environment.PythonRequirementsTxt
	if req == "" {
		return
	}
	p := v.f.KeyPos["environment.python_requirements_txt"]
	if p.Line == 0 {
		p = v.f.Environment.Pos
	}
	// pfazure only warns ("Failed to resolve environment") and the run goes
	// ahead without the packages, and promptflow's own fixtures rely on that;
	// a missing file is most likely a mistake, so say it loudly, but do not
	// stop a flow that pfazure would run.
	rel, ok := v.inside(req)
	if !ok {
		v.errorf(CodePathOutsideFlow, p, "put the requirements file inside the flow folder, or list it under additional_includes and refer to it by its own name",
			"environment.python_requirements_txt %q is outside the flow folder; the run's snapshot holds only the flow folder and its additional_includes", req)
		return
	}
	if !v.opts.SnapshotChecked && !v.exists(rel) {
		v.warnf(CodeRequirementsNotFound, p, "create the file, or point python_requirements_txt at it (relative to the flow folder); without it the session installs none of the flow's packages",
			"environment.python_requirements_txt %q does not exist", req)
	}
}

var connRefRE = regexp.MustCompile(`^\$\{([^.]+)\.([^.]+)\}$`)

func (v *validator) envConnections() {
	if v.opts.Connection == nil {
		return
	}
	keys := make([]string, 0, len(v.f.EnvironmentVariables))
	for k := range v.f.EnvironmentVariables {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m := connRefRE.FindStringSubmatch(v.f.EnvironmentVariables[k])
		if m == nil {
			continue
		}
		if _, ok := v.opts.Connection(m[1]); !ok {
			v.warnf(CodeEnvConnection, v.f.KeyPos["environment_variables"], "create the connection, or override the variable in run.yml environment_variables",
				"environment variable %s refers to connection %q, which does not exist", k, m[1])
		}
	}
}

// Node returns the first node with that name, or nil.
func (f *Flow) Node(name string) *Node {
	for i := range f.Nodes {
		if f.Nodes[i].Name == name {
			return &f.Nodes[i]
		}
	}
	return nil
}

// Input returns the flow input with that name, or nil.
func (f *Flow) Input(name string) *Input {
	for i := range f.Inputs {
		if f.Inputs[i].Name == name {
			return &f.Inputs[i]
		}
	}
	return nil
}

// RequiredInputs returns the inputs without a default (a null default counts
// as none, as the executor applies only non-null defaults), in file order.
func (f *Flow) RequiredInputs() []Input {
	var out []Input
	for _, in := range f.Inputs {
		if !in.HasDefault {
			out = append(out, in)
		}
	}
	return out
}
