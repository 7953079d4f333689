package executor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/prompty"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// runNode runs one node of a line (agg == nil) or of the aggregation step
// (agg holds the list inputs), recording it in the line state and the sink.
func (r *runner) runNode(ctx context.Context, st *lineState, nd *node, agg map[string]any) *LineError {
	n := nd.def
	rec := NodeRunRecord{Node: n.Name, Line: st.n, Start: time.Now()}
	if agg != nil {
		rec.Line = -1
	}
	finish := func(status string, out any, lerr *LineError) *LineError {
		// A value JSON cannot hold (a dict holding a generator) is
		// recorded as its str(), as promptflow records it.
		rec.Status, rec.Output, rec.Error, rec.End = status, pyjson.Record(out), lerr, time.Now()
		st.mu.Lock()
		if status == StatusBypassed {
			st.bypassed[n.Name] = true
		} else if status == StatusCompleted {
			st.outputs[n.Name] = out
		}
		st.mu.Unlock()
		r.sink.NodeRun(rec)
		if status == StatusFailed {
			return lerr
		}
		return nil
	}
	if skip, lerr := r.bypass(st, nd, agg); lerr != nil {
		return finish(StatusFailed, nil, lerr)
	} else if skip {
		return finish(StatusBypassed, nil, nil)
	}
	inputs := make(map[string]any, len(n.Inputs))
	for _, in := range n.Inputs {
		ref := refOf(in.Value)
		if agg == nil && ref.Kind == flow.RefNode && st.isBypassed(ref.Name) {
			// As promptflow: an input read from a bypassed node is left out
			// so the parameter's default applies; None when it has none.
			if !nd.hasDefault(in.Name) {
				inputs[in.Name] = nil
			}
			continue
		}
		v, err := r.value(st, ref, agg)
		if err != nil {
			return finish(StatusFailed, nil, &LineError{Code: CodeExecution, Node: n.Name,
				Message: fmt.Sprintf("Execution failure in '%s': input %s: %v", n.Name, in.Name, err)})
		}
		inputs[in.Name] = v
	}
	rec.Inputs = recordInputs(inputs)
	var out any
	var lerr *LineError
	switch n.Type {
	case flow.ToolPython:
		out, lerr = r.runPython(ctx, st, nd, inputs, rec.Line)
	case flow.ToolPrompt:
		var pr promptResult
		pr, lerr = r.render(ctx, st, nd, inputs, false, false)
		out = pr.Text
	case flow.ToolLLM, flow.ToolCustomLLM: // custom_llm: the vision tools (prepare checks)
		out, rec.Tokens, lerr = r.runLLM(ctx, st, nd, inputs)
	default:
		lerr = &LineError{Code: CodeExecution, Message: fmt.Sprintf("node type %q is not supported", n.Type)}
	}
	if lerr != nil {
		lerr.Node = n.Name
		if ctx.Err() != nil && lerr.Code != CodeToolError {
			// The line was canceled or timed out while the node ran.
			lerr.Code, lerr.Message = CodeCanceled, fmt.Sprintf("Execution of '%s' was stopped: %v", n.Name, context.Cause(ctx))
		}
		return finish(StatusFailed, nil, lerr)
	}
	return finish(StatusCompleted, out, nil)
}

// recordInputs is a node's inputs as they are recorded (pyjson.Record).
func recordInputs(inputs map[string]any) map[string]any {
	out := inputs
	copied := false
	for k, v := range inputs {
		if !pyjson.HasGenerator(v) {
			continue
		}
		if !copied {
			copied = true
			out = make(map[string]any, len(inputs))
			for k2, v2 := range inputs {
				out[k2] = v2
			}
		}
		out[k] = pyjson.Record(v)
	}
	return out
}

// bypass decides whether a node is skipped, as promptflow does: a node with
// an activate condition runs only when the condition's value equals `is`
// (and is bypassed when the condition reads a bypassed node); a node without
// one is bypassed when it reads other nodes and all of them were bypassed.
func (r *runner) bypass(st *lineState, nd *node, agg map[string]any) (bool, *LineError) {
	n := nd.def
	if n.Activate != nil && n.Activate.When != nil {
		when := refOf(*n.Activate.When)
		if when.Kind == flow.RefNode && st.isBypassed(when.Name) {
			return true, nil
		}
		v, err := r.value(st, when, agg)
		if err != nil {
			return false, &LineError{Code: CodeExecution, Node: n.Name,
				Message: fmt.Sprintf("the activate condition of node '%s': %v", n.Name, err)}
		}
		return !pyEqual(v, n.Activate.Is), nil
	}
	deps := 0
	for _, in := range n.Inputs {
		v := refOf(in.Value)
		if v.Kind != flow.RefNode {
			continue
		}
		deps++
		if !st.isBypassed(v.Name) {
			return false, nil
		}
	}
	return deps > 0, nil
}

// hasDefault reports whether the node's python function gives the named
// parameter a default (templates have none).
func (nd *node) hasDefault(param string) bool {
	if nd.info == nil {
		return false
	}
	for _, p := range nd.info.Params {
		if p.Name == param {
			return p.HasDefault
		}
	}
	return false
}

func (st *lineState) isBypassed(name string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.bypassed[name]
}

// value resolves a node input: in the aggregation step, references to flow
// inputs and line nodes are lists over the completed lines.
func (r *runner) value(st *lineState, v flow.Value, agg map[string]any) (any, error) {
	if agg != nil && v.Kind != flow.RefLiteral {
		if v.Kind == flow.RefFlowInput || !r.nodes[v.Name].def.Aggregation {
			return agg[refKey(v)], nil
		}
	}
	return st.resolve(v)
}

func (r *runner) runPython(ctx context.Context, st *lineState, nd *node, inputs map[string]any, line int) (any, *LineError) {
	onCallback, done := r.promptyCallbacks()
	defer done()
	req := CallRequest{Source: nd.src, Inputs: inputs, OnCallback: onCallback}
	for name := range nd.connArgs {
		cname, ok := inputs[name].(string)
		if !ok || cname == "" {
			continue
		}
		conn, err := r.connection(ctx, cname)
		if err != nil {
			return nil, &LineError{Code: CodeConnection, Message: fmt.Sprintf("Execution failure in '%s': connection %s: %v", nd.def.Name, cname, err)}
		}
		if req.Connections == nil {
			req.Connections = map[string]PyConnection{}
		}
		req.Connections[name] = pyConnection(cname, conn)
	}
	req.OnLog = func(stream, text string) {
		r.sink.Log(LogEntry{Time: time.Now(), Line: line, Node: nd.def.Name, Stream: stream, Text: text})
	}
	res, err := r.pool.Call(ctx, req)
	if err != nil {
		var we *WorkerError
		if errors.As(err, &we) {
			return nil, &LineError{Code: CodeWorker, Message: fmt.Sprintf("Execution failure in '%s': %s", nd.def.Name, we.Reason), Traceback: we.Stderr}
		}
		return nil, &LineError{Code: CodeExecution, Message: fmt.Sprintf("Execution failure in '%s': %v", nd.def.Name, err)}
	}
	for _, m := range res.Metrics {
		r.metric(m)
	}
	if res.Error != nil {
		if res.Error.Type == unserializableType {
			// As promptflow words it; no str() of the value is kept.
			return nil, &LineError{Code: CodeToolError, Type: res.Error.Type,
				Message: fmt.Sprintf("The output of node '%s' is incorrect. %s. Please verify your flow output and make sure the value serializable.", nd.def.Name, res.Error.Message)}
		}
		return nil, &LineError{Code: CodeToolError, Type: res.Error.Type, Traceback: res.Error.Traceback,
			Message: fmt.Sprintf("Execution failure in '%s': (%s) %s", nd.def.Name, res.Error.Type, res.Error.Message)}
	}
	return res.Output, nil
}

// unserializableType is the error type the worker reports for a tool output
// JSON cannot hold (a set, a datetime, an object).
const unserializableType = "FlowOutputUnserializable"

func pyConnection(name string, conn map[string]string) PyConnection {
	pc := PyConnection{Name: name, Type: conn["type"], Values: map[string]string{}}
	secret := map[string]bool{}
	for _, k := range strings.Split(conn["__secret_keys__"], ",") {
		if k = strings.TrimSpace(k); k != "" {
			secret[k] = true
		}
	}
	for k, v := range conn {
		if k == "type" || k == "__secret_keys__" || k == "name" {
			continue
		}
		pc.Values[k] = v
		if secret[k] {
			pc.SecretKeys = append(pc.SecretKeys, k)
		}
	}
	sort.Strings(pc.SecretKeys)
	return pc
}

// render renders a prompt node (llm false) or an llm node's template with
// promptflow's role escaping (prompty.Escape): role lines inside the node's
// flow inputs (and the escaped form of upstream prompt outputs) must not
// start messages. A chat llm node renders the escaped inputs; pfz puts the
// role words back in the parsed messages. A prompt node's output is the
// plain render; its escaped render and mapping are kept for the llm nodes
// it feeds, as promptflow's PromptResult carries them. chatList: lists are
// ChatInputLists (escaped inside, printed one item per line).
func (r *runner) render(ctx context.Context, st *lineState, nd *node, inputs map[string]any, llm, chatList bool) (promptResult, *LineError) {
	req := promptRender{Template: nd.tmpl, Vars: inputs, LLM: llm && (nd.def.API != "completion" || isVision(&nd.def))}
	req.ChatList = req.LLM && chatList
	req.Images = isVision(&nd.def)
	if llm {
		req.Vars = make(map[string]any, len(inputs))
		for k, v := range inputs {
			if !isLLMParam(k) {
				req.Vars[k] = v
			}
		}
	}
	esc := &prompty.Escape{}
	if !llm || req.LLM { // promptflow escapes roles for prompt and chat, not completion
		var names []string
		results := map[string]promptResult{}
		for _, in := range nd.def.Inputs {
			if _, used := req.Vars[in.Name]; !used {
				continue
			}
			v := refOf(in.Value)
			switch {
			case v.Kind == flow.RefFlowInput:
				names = append(names, in.Name)
			case v.Kind == flow.RefNode && (v.Section == "" || v.Section == "output") && v.Path == "":
				st.mu.Lock()
				pr, ok := st.prompts[v.Name]
				st.mu.Unlock()
				if ok {
					results[in.Name] = pr
					esc.Merge(pr.Mapping)
				}
			}
		}
		scope := prompty.Dicts
		if req.ChatList {
			scope = prompty.ChatLists
		}
		escaped := esc.Inputs(scope, names, req.Vars)
		for k, pr := range results {
			escaped[k] = pr.Escaped
		}
		if !esc.Empty() {
			req.Escaped = escaped
		}
	}
	out, terr, err := r.pool.renderPrompt(ctx, req)
	if err != nil {
		var we *WorkerError
		if errors.As(err, &we) {
			return out, &LineError{Code: CodeWorker, Message: fmt.Sprintf("Execution failure in '%s': %s", nd.def.Name, we.Reason), Traceback: we.Stderr}
		}
		return out, &LineError{Code: CodeExecution, Message: fmt.Sprintf("Execution failure in '%s': render %s: %v", nd.def.Name, nd.def.Source.Path, err)}
	}
	if terr != nil {
		// promptflow reports its own JinjaTemplateError by its message alone,
		// the role words put back.
		msg := esc.Unescape(terr.Message)
		if terr.Type != "JinjaTemplateError" {
			msg = fmt.Sprintf("Execution failure in '%s': (%s) %s", nd.def.Name, terr.Type, msg)
		}
		return out, &LineError{Code: CodeToolError, Type: terr.Type, Message: msg}
	}
	out.Mapping = esc.Mapping()
	if !llm && len(out.Mapping) > 0 {
		st.mu.Lock()
		if st.prompts == nil {
			st.prompts = map[string]promptResult{}
		}
		st.prompts[nd.def.Name] = out
		st.mu.Unlock()
	}
	return out, nil
}

// runLLM runs an llm node or a vision node (a custom_llm node of
// visionTools: images sent as image_url parts).
func (r *runner) runLLM(ctx context.Context, st *lineState, nd *node, inputs map[string]any) (any, *TokenUsage, *LineError) {
	connName := llmConnection(&nd.def)
	conn, err := r.connection(ctx, connName)
	if err != nil {
		return nil, nil, &LineError{Code: CodeConnection, Message: fmt.Sprintf("Execution failure in '%s': connection %s: %v", nd.def.Name, connName, err)}
	}
	// promptflow's Azure OpenAI chat and its vision tools make every list
	// input a ChatInputList (printed one item per line, roles in its items
	// escaped); its OpenAI chat leaves lists as they are.
	vision := isVision(&nd.def)
	pr, lerr := r.render(ctx, st, nd, inputs, true, vision || connType(conn) == "azureopenai")
	if lerr != nil {
		return nil, nil, lerr
	}
	var images map[string]prompty.ImageURL
	if vision {
		images = make(map[string]prompty.ImageURL, len(pr.Images))
		for printed, url := range pr.Images {
			images[printed] = prompty.ImageURL{URL: url, Detail: "auto"}
		}
	}
	esc := prompty.EscapeFrom(pr.Mapping)
	req, err := llmNodeRequest(&nd.def, pr.Text, inputs, conn, esc, images)
	if err != nil {
		return nil, nil, &LineError{Code: CodeExecution, Message: fmt.Sprintf("Execution failure in '%s': %s", nd.def.Name, esc.Unescape(err.Error()))}
	}
	out, err := callLLM(ctx, r.http, req)
	if err != nil {
		msg := fmt.Sprintf("Execution failure in '%s': %v", nd.def.Name, err)
		var le *llmError
		if errors.As(err, &le) && le.hint != "" {
			msg += " (" + le.hint + ")"
		}
		return nil, nil, &LineError{Code: CodeLLM, Message: msg}
	}
	return out, req.usage, nil
}

func (r *runner) metric(m Metric) {
	r.aggMu.Lock()
	r.metrics.Set(m.Name, m.Value) // in the order they were logged
	r.aggMu.Unlock()
	r.sink.Metric(m.Name, m.Value)
}

// pyEqual compares an activate value with `is` as Python's == does for the
// JSON-like values flows use (1 == 1.0, but "1" != 1).
func pyEqual(a, b any) bool {
	a, b = plain(a), plain(b)
	if fa, ok := asFloat(a); ok {
		if fb, ok := asFloat(b); ok {
			return fa == fb
		}
		return false
	}
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	case pyjson.NonFinite:
		return float64(x), !math.IsNaN(float64(x))
	}
	return 0, false
}

func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalize(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = normalize(e)
		}
		return s
	case pyjson.Tuple:
		return pyjson.Tuple(normalize([]any(x)).([]any))
	}
	return v
}

// ---- flow inputs of a line

var bindingRe = regexp.MustCompile(`^\$\{([^{}]+)\}$`)

// mappingKeys lists mapping's keys in order (the run definition's order),
// then those order lacks, sorted.
func mappingKeys(mapping map[string]any, order []string) []string {
	keys := make([]string, 0, len(mapping))
	seen := make(map[string]bool, len(mapping))
	for _, k := range order {
		if _, ok := mapping[k]; ok && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	rest := len(keys)
	for k := range mapping {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys[rest:])
	return keys
}

// flowInputs applies the column mapping to a line's sources and converts the
// values to the flow inputs' types (pfazure-surface.md §2.4).
func (r *runner) flowInputs(job lineJob) (pyjson.Object, *LineError) {
	// The order is promptflow's: the flow inputs read from the data column
	// of their name (flow order), then the mapping's other keys in the
	// mapping's order (cfg.MappingOrder; sorted for a mapping recorded
	// without it), then the flow inputs left to their default (flow order).
	mapping := map[string]any{}
	auto := map[string]bool{}
	var keys []string
	for _, in := range r.f.Inputs {
		// An input with a (non-null) default does not read the data column of
		// its name unless the mapping says so, as in promptflow.
		if r.mapAllInputs || !in.HasDefault || in.Default == nil {
			mapping[in.Name] = "${data." + in.Name + "}"
			auto[in.Name] = true
			keys = append(keys, in.Name)
		}
	}
	for _, k := range mappingKeys(r.cfg.Mapping, r.cfg.MappingOrder) {
		if k == "line_number" {
			continue
		}
		if _, ok := mapping[k]; !ok {
			keys = append(keys, k)
		}
		mapping[k] = r.cfg.Mapping[k]
		delete(auto, k)
	}
	values := make(pyjson.Object, 0, len(keys)+len(r.f.Inputs))
	var notFound []string
	for _, k := range keys {
		mv := mapping[k]
		s, ok := mv.(string)
		if !ok {
			values = append(values, pyjson.Member{Key: k, Value: mv})
			continue
		}
		m := bindingRe.FindStringSubmatch(s)
		if m == nil {
			values = append(values, pyjson.Member{Key: k, Value: s})
			continue
		}
		v, found := lookupBinding(job.sources, m[1])
		if found && auto[k] && r.mapAllInputs && isNaN(v) && r.hasDefault(k) {
			// A flex parameter with a default that this row's data lacks
			// (the column other rows have reads NaN here) keeps its default.
			found = false
		}
		if found {
			values = append(values, pyjson.Member{Key: k, Value: v})
		} else if !auto[k] {
			notFound = append(notFound, s)
		}
	}
	if len(notFound) > 0 {
		return values, &LineError{Code: CodeInput, Message: fmt.Sprintf("The input for batch run is incorrect. Couldn't find these mapping relations: %s. "+
			"Please make sure your input mapping keys and values match your YAML input section and input data.", strings.Join(notFound, ", "))}
	}
	// Mapping keys that are not flow inputs stay in the line's inputs, as
	// promptflow keeps them; only flow inputs are converted.
	out := make(pyjson.Object, len(values), len(values)+len(r.f.Inputs))
	for i, m := range values {
		out[i] = pyjson.Member{Key: m.Key, Value: pyjson.Plain(m.Value)} // a YAML literal's float becomes a line value
	}
	for _, in := range r.f.Inputs {
		v, ok := values.Get(in.Name)
		if !ok {
			if !in.HasDefault {
				return out, &LineError{Code: CodeInput, Message: fmt.Sprintf("The input for flow is incorrect. The value for flow input '%s' is not provided in line %d of input data. "+
					"Please review your input data or remove this input in your flow if it's no longer needed.", in.Name, job.n)}
			}
			v = in.Default
		}
		if r.f.Kind == flow.KindPrompty {
			// promptflow records a prompty's inputs as given (a missing
			// cell stays the float NaN); the prompty converts them to its
			// signature's types for its own call (promptyEntry.line) and
			// reads its image inputs itself.
			out.Set(in.Name, v)
			continue
		}
		cv, lerr := typedInput(in.Name, in.Type, v, job.n)
		if lerr != nil {
			return out, lerr
		}
		if cv != nil && r.f.Kind == flow.KindFlex {
			// promptflow hands a flex entry its image references as they
			// are (no Image), their paths made absolute
			cv = r.flexImages(cv, !ok)
		} else if cv != nil {
			var err error
			if cv, err = r.imageInputs(cv, in.Type, !ok); err != nil {
				return out, &LineError{Code: CodeInput, Message: fmt.Sprintf("Failed to load image for input '%s': %v", in.Name, err)}
			}
		}
		out.Set(in.Name, cv)
	}
	return out, nil
}

// typedInput converts flow input name's value v to its type as promptflow
// does, or says why it cannot in promptflow's words.
func typedInput(name string, typ flow.ValueType, v any, line int) (any, *LineError) {
	cv, err := convertInput(v, typ)
	if err == nil {
		return cv, nil
	}
	var je *errJSONInput
	if errors.As(err, &je) {
		return nil, &LineError{Code: CodeInput, Message: fmt.Sprintf("Failed to parse the flow input. The value for flow input '%s' in line %d of input data was interpreted as JSON string since its type is '%s'. "+
			"However, the value '%s' is invalid for JSON parsing. Error details: (JSONDecodeError) %v. Please make sure your inputs are properly formatted.", name, line, typ, pyjson.Str(v), je.err)}
	}
	return nil, &LineError{Code: CodeInput, Message: fmt.Sprintf("The input for flow is incorrect. The value for flow input '%s' in line %d of input data does not match the expected type '%s'. "+
		"Please change flow input type or adjust the input value in your input data.", name, line, typ)}
}

func isNaN(v any) bool {
	f, ok := v.(pyjson.NonFinite)
	return ok && math.IsNaN(float64(f))
}

func (r *runner) hasDefault(input string) bool {
	for _, in := range r.f.Inputs {
		if in.Name == input {
			return in.HasDefault
		}
	}
	return false
}

// lookupBinding finds ${source.field}: the shortest dotted prefix naming a
// source wins, the rest is the field (which may itself contain dots).
func lookupBinding(sources map[string]map[string]any, body string) (any, bool) {
	parts := strings.Split(body, ".")
	for i := 1; i < len(parts); i++ {
		src, ok := sources[strings.Join(parts[:i], ".")]
		if !ok || src == nil {
			continue
		}
		if v, ok := src[strings.Join(parts[i:], ".")]; ok {
			return v, true
		}
	}
	return nil, false
}
