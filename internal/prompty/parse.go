package prompty

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/suggest"
)

// Diagnostic codes of the front matter checks.
const (
	CodeNoFrontMatter  = "prompty-no-front-matter"   // error: the file has no --- fenced YAML front matter
	CodeYAML           = "yaml-syntax"               // error: the front matter is not valid YAML
	CodeNotMapping     = "prompty-not-a-mapping"     // error: the front matter (or a section of it) is not a mapping
	CodeWrongType      = "wrong-type"                // error: a value has the wrong YAML type
	CodeBadAPI         = "prompty-invalid-api"       // error: model.api is not chat or completion
	CodeBadResponse    = "prompty-invalid-response"  // error: model.response is not first or all
	CodeBadConfigType  = "prompty-invalid-config"    // error: configuration.type is not azure_openai or openai, or connection and keys together
	CodeMissingType    = "missing-input-type"        // error: an input without a type (promptflow's batch executor fails on it)
	CodeBadValueType   = "unknown-value-type"        // error: an input type that is not a prompt flow value type
	CodeUnknownKey     = "unknown-key"               // warning: a key promptflow does not read
	CodeUnknownParam   = "prompty-unknown-parameter" // warning: a model parameter the OpenAI client does not take
	CodeBadRespFormat  = "prompty-invalid-response-format"
	CodeInnerFence     = "prompty-inner-fence" // error: a --- line inside the front matter (promptflow ends it at the file's last --- line)
	CodeMissingOutputs = "prompty-outputs-need-json"
	CodeEncoding       = "prompty-encoding"      // error: the file is not UTF-8
	CodeMissingModel   = "prompty-missing-model" // error: no model, model.configuration or model.parameters
)

// Spec is a parsed .prompty file. Values are the front matter as written;
// references (${env:…}, ${file:…}) are resolved by Load.
type Spec struct {
	File     string         // the path as given; diagnostics name it
	Front    map[string]any // the whole front matter, decoded
	Template string         // the body after the front matter
	// BodyLine is the file line the template starts on.
	BodyLine int

	Name        string
	Description string
	Inputs      []Input  // in file order
	Outputs     []Output // in file order
	// Connection is model.configuration.connection (empty: none), at
	// ConnectionLine:ConnectionColumn.
	Connection       string
	ConnectionLine   int
	ConnectionColumn int
}

// Input is one declared input.
type Input struct {
	Name          string
	Type          string
	Default       any
	HasDefault    bool
	IsChatInput   bool
	IsChatHistory *bool
	Line          int
}

// Output is one declared output.
type Output struct {
	Name string
	Type string
	Line int
}

// frontRE is promptflow's split: the first run of three or more dashes and a
// newline, then everything up to the last such run (the match is greedy),
// then the body.
var frontRE = regexp.MustCompile(`(?s)-{3,}\n(.*)-{3,}\n(.*)`)

// Split divides a .prompty file as promptflow does (after reading it with
// universal newlines). front is padded with blank lines so YAML positions are
// file lines; bodyLine is the line the body starts on.
func Split(data []byte) (front []byte, body string, bodyLine int, ok bool) {
	text := normalizeNewlines(data)
	m := frontRE.FindSubmatchIndex(text)
	if m == nil {
		return nil, "", 0, false
	}
	pad := bytes.Count(text[:m[2]], []byte("\n"))
	front = append(bytes.Repeat([]byte("\n"), pad), text[m[2]:m[3]]...)
	bodyLine = bytes.Count(text[:m[4]], []byte("\n")) + 1
	return front, string(text[m[4]:m[5]]), bodyLine, true
}

func normalizeNewlines(data []byte) []byte {
	if !bytes.ContainsRune(data, '\r') {
		return data
	}
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
}

// Parse reads a .prompty file. It never panics; the Spec holds what could be
// read. YAML syntax errors get a plain diagnostic here; flow.Parse decodes
// the front matter itself (for its hints) and calls FromNode.
func Parse(file string, data []byte) (*Spec, diag.List) {
	var diags diag.List
	if !utf8.Valid(data) {
		diags = append(diags, diag.Diagnostic{Severity: diag.Error, Code: CodeEncoding, File: file, Line: 1, Column: 1,
			Message: "the file is not UTF-8 text", Hint: "save the .prompty file as UTF-8"})
		return &Spec{File: file}, diags
	}
	front, body, bodyLine, ok := Split(data)
	if !ok {
		return &Spec{File: file}, diag.List{NoFrontMatter(file)}
	}
	if d := InnerFence(file, front); d != nil {
		return &Spec{File: file, Template: body, BodyLine: bodyLine}, diag.List{*d}
	}
	root, err := decode(front)
	if err != nil {
		line := 1
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &line)
		}
		return &Spec{File: file, Template: body, BodyLine: bodyLine}, diag.List{{Severity: diag.Error, Code: CodeYAML, File: file, Line: line, Column: 1,
			Message: "invalid YAML in the front matter: " + strings.TrimPrefix(err.Error(), "yaml: "),
			Hint:    "fix the YAML between the --- lines: check indentation, a missing colon or an unclosed quote"}}
	}
	return FromNode(file, root, body, bodyLine)
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// NoFrontMatter is the diagnostic of a file without front matter.
func NoFrontMatter(file string) diag.Diagnostic {
	return diag.Diagnostic{Severity: diag.Error, Code: CodeNoFrontMatter, File: file, Line: 1, Column: 1,
		Message: "the file has no front matter: a .prompty file is YAML between two --- lines, then the prompt template",
		Hint:    "start the file with a line ---, the YAML (model, inputs, …), a line ---, then the template"}
}

func decode(front []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed on this input: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(front)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// innerFence is the line of a --- line inside the front matter (0: none).
// promptflow's split ends the front matter at the last --- line of the
// file, so a template that holds one (a markdown rule, say) pulls the text
// above it into the YAML.
func innerFence(front []byte) int {
	for i, line := range strings.Split(string(front), "\n") {
		if len(line) >= 3 && strings.Trim(line, "-") == "" {
			return i + 1
		}
	}
	return 0
}

// InnerFence is the diagnostic for a --- line inside the front matter, as
// split by promptflow; nil when there is none.
func InnerFence(file string, front []byte) *diag.Diagnostic {
	line := innerFence(front)
	if line == 0 {
		return nil
	}
	return &diag.Diagnostic{Severity: diag.Error, Code: CodeInnerFence, File: file, Line: line, Column: 1,
		Message: "the front matter ends at the last --- line of the file, so this --- line and the template text above the last one are read as YAML (promptflow splits .prompty files this way)",
		Hint:    "keep --- lines out of the template: write a markdown rule as *** or ___"}
}

// known top-level keys: what promptflow's prompty schema and executor read.
var topKeys = []string{"$schema", "name", "description", "version", "authors", "tags", "metadata", "model",
	"inputs", "outputs", "sample", "template", "additional_includes", "environment", "environment_variables",
	"type", "language", "display_name", "id"}

var (
	modelKeys   = []string{"api", "configuration", "parameters", "response"}
	azureKeys   = []string{"type", "connection", "azure_deployment", "azure_endpoint", "api_version", "api_key"}
	openaiKeys  = []string{"type", "connection", "model", "base_url", "api_key", "organization"}
	inputKeys   = []string{"type", "default", "description", "is_chat_input", "is_chat_history", "enum"}
	outputKeys  = []string{"type", "description", "is_chat_output"}
	valueTypes  = []string{"int", "double", "bool", "string", "list", "object", "image", "file_path", "prompt_template", "secret", "assistant_definition"}
	chatParams  = []string{"frequency_penalty", "function_call", "functions", "logit_bias", "logprobs", "max_tokens", "max_completion_tokens", "n", "parallel_tool_calls", "presence_penalty", "response_format", "seed", "stop", "stream", "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user", "store", "metadata", "reasoning_effort", "modalities", "audio", "prediction", "service_tier", "extra_headers", "extra_query", "extra_body", "timeout"}
	complParams = []string{"best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n", "presence_penalty", "seed", "stop", "stream", "stream_options", "suffix", "temperature", "top_p", "user", "extra_headers", "extra_query", "extra_body", "timeout"}
)

type walker struct {
	file  string
	diags diag.List
}

func (w *walker) add(sev diag.Severity, code string, n *yaml.Node, hint, format string, args ...any) {
	d := diag.Diagnostic{Severity: sev, Code: code, File: w.file, Line: 1, Column: 1, Message: fmt.Sprintf(format, args...), Hint: hint}
	if n != nil && n.Line > 0 {
		d.Line, d.Column = n.Line, max(n.Column, 1)
	}
	w.diags = append(w.diags, d)
}

func (w *walker) errorf(code string, n *yaml.Node, hint, format string, args ...any) {
	w.add(diag.Error, code, n, hint, format, args...)
}

func (w *walker) warnf(code string, n *yaml.Node, hint, format string, args ...any) {
	w.add(diag.Warning, code, n, hint, format, args...)
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") }

type pair struct {
	key  string
	k, v *yaml.Node
}

// mapping lists a mapping's pairs (duplicate keys reported), or reports that
// the node is not a mapping.
func (w *walker) mapping(n *yaml.Node, what string) ([]pair, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(CodeWrongType, n, "write "+what+" as a mapping of keys (key: value on their own lines)", "%s must be a mapping, got %s", what, kindName(n))
		return nil, false
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		key := k.Value
		if seen[key] {
			w.errorf("duplicate-key", k, "remove one of them", "key %q appears more than once in %s", key, what)
			continue
		}
		seen[key] = true
		out = append(out, pair{key, k, n.Content[i+1]})
	}
	return out, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return fmt.Sprintf("the text %q", n.Value)
		case "!!null":
			return "nothing"
		}
		return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return "something else"
}

func (w *walker) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		w.errorf(CodeWrongType, n, "write "+what+" as text", "%s must be text, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (w *walker) unknown(ps []pair, known []string, where string) {
	for _, p := range ps {
		if contains(known, p.key) {
			continue
		}
		hint := "promptflow ignores it; check the spelling"
		if near, ok := suggest.Closest(p.key, known); ok {
			hint = fmt.Sprintf("did you mean %q? promptflow ignores %q", near, p.key)
		}
		w.warnf(CodeUnknownKey, p.k, hint, "unknown key %q in %s", p.key, where)
	}
}

// FromNode reads the decoded front matter (root may be nil for empty front
// matter) and checks it.
func FromNode(file string, root *yaml.Node, body string, bodyLine int) (*Spec, diag.List) {
	s := &Spec{File: file, Template: body, BodyLine: bodyLine, Front: map[string]any{}}
	w := &walker{file: file}
	root = deref(root)
	if root == nil || isNull(root) {
		return s, nil
	}
	if root.Kind != yaml.MappingNode {
		w.errorf(CodeNotMapping, root, "the front matter is a mapping with keys such as model, inputs and outputs",
			"the front matter must be a mapping of keys, got %s", kindName(root))
		return s, w.diags
	}
	var raw any
	if err := safeNodeDecode(root, &raw); err == nil {
		if m, ok := plainYAML(raw).(map[string]any); ok {
			s.Front = m
		}
	}
	ps, _ := w.mapping(root, "the front matter")
	var outputsNode *yaml.Node
	var jsonFormat bool
	for _, p := range ps {
		switch p.key {
		case "name":
			s.Name, _ = w.str(p.v, "name")
		case "description":
			s.Description, _ = w.str(p.v, "description")
		case "model":
			jsonFormat = w.model(s, p.v)
		case "inputs":
			s.Inputs = w.inputs(p.v)
		case "outputs":
			outputsNode = p.v
			s.Outputs = w.outputs(p.v)
		case "sample":
			v := deref(p.v)
			if !isNull(v) && v.Kind != yaml.MappingNode && !(v.Kind == yaml.ScalarNode && v.Tag == "!!str") {
				w.errorf(CodeWrongType, v, "give sample as a mapping of input values, or ${file:sample.json}",
					"sample must be a mapping or a file reference, got %s", kindName(v))
			}
		case "tags":
			if tp, ok := w.mapping(p.v, "tags"); ok {
				for _, t := range tp {
					if v := deref(t.v); v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
						w.errorf(CodeWrongType, v, "give each tag a text value", "tag %q must be text, got %s", t.key, kindName(v))
					}
				}
			}
		}
	}
	w.unknown(ps, topKeys, "the front matter")
	if !hasKey(ps, "model") {
		w.errorf(CodeMissingModel, root, "add model: with configuration (type: azure_openai or openai, or connection: NAME) and parameters",
			"the front matter has no model; promptflow cannot call a prompty without model.configuration and model.parameters")
	}
	if len(s.Outputs) > 0 && !jsonFormat {
		w.add(diag.Info, CodeMissingOutputs, outputsNode, "set model.parameters.response_format to {type: json_object} to get the outputs as fields of the model's JSON answer",
			"outputs are used only with response_format json_object; with a text answer the output is the text itself")
	}
	sort.SliceStable(w.diags, func(i, j int) bool { return w.diags[i].Line < w.diags[j].Line })
	return s, w.diags
}

func safeNodeDecode(n *yaml.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return n.Decode(v)
}

// plainYAML turns map[any]any (never produced by yaml.v3 for string keys,
// but possible for others) into map[string]any throughout.
func plainYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plainYAML(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = plainYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = plainYAML(e)
		}
	case time.Time:
		// promptflow's YAML reader gives a date (or datetime) object, which
		// prints as 2024-02-01 (or 2024-02-01T10:00:00+00:00).
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 && x.Location() == time.UTC {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02T15:04:05-07:00")
	}
	return v
}

func (w *walker) model(s *Spec, n *yaml.Node) (jsonFormat bool) {
	ps, ok := w.mapping(n, "model")
	if !ok {
		return false
	}
	for _, p := range ps {
		switch p.key {
		case "api":
			if v, ok := w.str(p.v, "model.api"); ok && v != "chat" && v != "completion" {
				w.errorf(CodeBadAPI, deref(p.v), "use api: chat (messages) or api: completion (one prompt)", "model.api must be chat or completion, got %q", v)
			}
		case "response":
			if v, ok := w.str(p.v, "model.response"); ok && v != "first" && v != "all" {
				w.errorf(CodeBadResponse, deref(p.v), "use response: first (the first choice's content) or response: all (the whole response)", "model.response must be first or all, got %q", v)
			}
		case "configuration":
			w.configuration(s, p.v)
		case "parameters":
			jsonFormat = w.parameters(p.v, apiOf(ps))
		}
	}
	w.unknown(ps, modelKeys, "model")
	for _, k := range []string{"configuration", "parameters"} {
		if !hasKey(ps, k) {
			hint := "add configuration: with type: azure_openai (azure_deployment, azure_endpoint, api_key) or type: openai (model, api_key), or connection: NAME"
			if k == "parameters" {
				hint = "add parameters: (max_tokens, temperature, …); write parameters: {} for none"
			}
			w.errorf(CodeMissingModel, deref(n), hint, "model has no %s; promptflow refuses the prompty (PromptyModelConfiguration needs it)", k)
		}
	}
	return jsonFormat
}

func apiOf(ps []pair) string {
	for _, p := range ps {
		if p.key == "api" {
			if v := deref(p.v); v != nil && v.Kind == yaml.ScalarNode {
				return v.Value
			}
		}
	}
	return "chat"
}

func (w *walker) configuration(s *Spec, n *yaml.Node) {
	ps, ok := w.mapping(n, "model.configuration")
	if !ok {
		return
	}
	var typ, conn string
	var typeNode *yaml.Node
	for _, p := range ps {
		switch p.key {
		case "type":
			typ, _ = w.str(p.v, "configuration.type")
			typeNode = deref(p.v)
		case "connection":
			conn, _ = w.str(p.v, "configuration.connection")
			if v := deref(p.v); conn != "" {
				s.Connection, s.ConnectionLine, s.ConnectionColumn = conn, v.Line, v.Column
			}
		}
	}
	known := azureKeys
	switch typ {
	case "azure_openai", "AzureOpenAI":
	case "openai", "OpenAI":
		known = openaiKeys
	case "":
		if conn == "" {
			w.errorf(CodeBadConfigType, deref(n), "add type: azure_openai or type: openai, or name a connection with connection: NAME",
				"model.configuration has no type and no connection")
			return
		}
		known = append(append([]string{}, azureKeys...), openaiKeys...)
	default:
		w.errorf(CodeBadConfigType, typeNode, "use type: azure_openai or type: openai", "model.configuration.type must be azure_openai or openai, got %q", typ)
		return
	}
	if conn != "" {
		for _, p := range ps {
			switch p.key {
			case "type", "connection", "model", "azure_deployment":
				continue
			}
			if v := deref(p.v); v.Kind == yaml.ScalarNode && v.Tag != "!!null" && v.Value != "" && v.Value != "false" && v.Value != "0" {
				w.errorf(CodeBadConfigType, p.k, "take "+p.key+" from the connection: remove it here, or remove connection and give every value here",
					"model.configuration names connection %q and sets %s too; promptflow refuses that (\"Cannot configure model config and connection in configuration at the same time.\")", conn, p.key)
			}
		}
	}
	w.unknown(ps, known, "model.configuration")
}

func (w *walker) parameters(n *yaml.Node, api string) (jsonFormat bool) {
	ps, ok := w.mapping(n, "model.parameters")
	if !ok {
		return false
	}
	known := chatParams
	if api == "completion" {
		known = complParams
	}
	for _, p := range ps {
		if p.key == "response_format" {
			v := deref(p.v)
			switch {
			case isNull(v):
			case v.Kind != yaml.MappingNode:
				w.errorf(CodeBadRespFormat, v, "write response_format: {type: json_object} (or type: text)", "response_format must be a mapping with a type, got %s", kindName(v))
			default:
				rp, _ := w.mapping(v, "response_format")
				for _, r := range rp {
					if r.key == "type" {
						t, _ := w.str(r.v, "response_format.type")
						jsonFormat = t == "json_object"
					}
				}
			}
		}
		if !contains(known, p.key) {
			w.warnf(CodeUnknownParam, p.k, "check the spelling; the OpenAI client refuses parameters it does not know, and the call fails",
				"model.parameters.%s is not a parameter of the %s API", p.key, api)
		}
	}
	return jsonFormat
}

func (w *walker) inputs(n *yaml.Node) []Input {
	ps, ok := w.mapping(n, "inputs")
	if !ok {
		return nil
	}
	var out []Input
	for _, p := range ps {
		in := Input{Name: p.key, Line: p.k.Line}
		v := deref(p.v)
		if v.Kind != yaml.MappingNode {
			w.errorf(CodeWrongType, v, fmt.Sprintf("write the input as a mapping: %s: {type: string}", p.key),
				"input %q must be a mapping with a type, got %s", p.key, kindName(v))
			out = append(out, in)
			continue
		}
		ips, _ := w.mapping(v, "input "+p.key)
		hasType := false
		for _, ip := range ips {
			switch ip.key {
			case "type":
				hasType = true
				in.Type, _ = w.str(ip.v, "the input type")
				if in.Type != "" && !contains(valueTypes, in.Type) {
					hint := "use one of " + strings.Join(valueTypes, ", ")
					if near, ok := suggest.Closest(in.Type, valueTypes); ok {
						hint = fmt.Sprintf("did you mean %q?", near)
					}
					w.errorf(CodeBadValueType, deref(ip.v), hint, "input %q has type %q, which is not a prompt flow value type", p.key, in.Type)
				}
			case "is_chat_input":
				in.IsChatInput = deref(ip.v).Value == "true"
			case "is_chat_history":
				b := deref(ip.v).Value == "true"
				in.IsChatHistory = &b
			case "default":
				in.HasDefault = true
				var d any
				if err := safeNodeDecode(ip.v, &d); err == nil {
					in.Default = plainYAML(d)
				}
			}
		}
		if !hasType {
			w.errorf(CodeMissingType, p.k, fmt.Sprintf("add type: string (or int, double, bool, list, object, image) under %s", p.key),
				"input %q has no type; promptflow cannot run the prompty as a flow without it", p.key)
		}
		w.unknown(ips, inputKeys, "input "+p.key)
		out = append(out, in)
	}
	return out
}

func (w *walker) outputs(n *yaml.Node) []Output {
	ps, ok := w.mapping(n, "outputs")
	if !ok {
		return nil
	}
	var out []Output
	for _, p := range ps {
		o := Output{Name: p.key, Line: p.k.Line}
		v := deref(p.v)
		if v.Kind == yaml.MappingNode {
			ops, _ := w.mapping(v, "output "+p.key)
			for _, op := range ops {
				if op.key == "type" {
					o.Type, _ = w.str(op.v, "the output type")
				}
			}
			w.unknown(ops, outputKeys, "output "+p.key)
		} else if !isNull(v) {
			w.errorf(CodeWrongType, v, fmt.Sprintf("write the output as a mapping: %s: {type: string}", p.key),
				"output %q must be a mapping, got %s", p.key, kindName(v))
		}
		out = append(out, o)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasKey(ps []pair, key string) bool {
	for _, p := range ps {
		if p.key == key {
			return true
		}
	}
	return false
}
