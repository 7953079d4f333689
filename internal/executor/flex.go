package executor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// FlexParam is one parameter of a flex entry (its __call__ for a class, or
// __init__ for InitParams) as the worker read it from the signature.
type FlexParam struct {
	Name string `json:"name"`
	// Type is the flow value type of the annotation (string, int, double,
	// bool, list, object); "" when it has none or names no flow type.
	Type       flow.ValueType `json:"type"`
	Annotation string         `json:"annotation"`
	// ModelConfig names the model configuration class the parameter takes
	// (AzureOpenAIModelConfiguration, OpenAIModelConfiguration), if any.
	ModelConfig string `json:"model_config,omitempty"`
	HasDefault  bool   `json:"has_default"`
	Default     any    `json:"default,omitempty"`
}

// FlexInfo describes a flex flow's entry.
type FlexInfo struct {
	Kind       string      `json:"kind"` // function | class
	Name       string      `json:"name"`
	Params     []FlexParam `json:"params"`
	InitParams []FlexParam `json:"init_params"`
	Aggregate  bool        `json:"aggregate"` // the class has __aggregate__
	Generator  bool        `json:"generator"` // the entry yields its output
}

// FlexCall is one call of a flex entry.
type FlexCall struct {
	Entry  string
	Init   map[string]any
	Inputs map[string]any
	// Connections and InitConnections are the connections model
	// configurations name, by parameter.
	Connections     map[string]PyConnection
	InitConnections map[string]PyConnection
	// OnChunk, when set, receives each item a generator output yields, as it
	// is yielded; the output is still the whole, joined.
	OnChunk func(any)
	OnLog   func(stream, text string)
	// OnCallback serves what the entry asks pfz during the call (a prompty
	// call); nil refuses.
	OnCallback Callback
}

// FlexInspect imports a flex entry (module:function or module:Class) and describes it.
func (p *Pool) FlexInspect(ctx context.Context, entry string) (*FlexInfo, *ToolError, error) {
	var info FlexInfo
	res, err := p.do(ctx, map[string]any{"op": "flex_inspect", "entry": entry}, hooks{}, &info)
	if err != nil {
		return nil, nil, err
	}
	if res.Error != nil {
		return nil, res.Error, nil
	}
	return &info, nil, nil
}

// FlexCall calls a flex entry with one line's inputs; a class entry is
// instantiated once per worker (and per init).
func (p *Pool) FlexCall(ctx context.Context, c FlexCall) (*CallResult, error) {
	msg := flexMsg("flex_call", c)
	msg["inputs"] = c.Inputs
	if len(c.Connections) > 0 {
		msg["connections"] = c.Connections
	}
	if c.OnChunk != nil {
		msg["stream"] = true
	}
	return p.do(ctx, msg, hooks{onLog: c.OnLog, onChunk: c.OnChunk, onCallback: c.OnCallback}, nil)
}

// FlexAggregate calls the class entry's __aggregate__ with the completed
// lines' outputs.
func (p *Pool) FlexAggregate(ctx context.Context, c FlexCall, results []any) (*CallResult, error) {
	msg := flexMsg("flex_aggregate", c)
	msg["results"] = results
	return p.do(ctx, msg, hooks{onLog: c.OnLog, onCallback: c.OnCallback}, nil)
}

func flexMsg(op string, c FlexCall) map[string]any {
	msg := map[string]any{"op": op, "entry": c.Entry}
	if len(c.Init) > 0 {
		msg["init"] = c.Init
	}
	if len(c.InitConnections) > 0 {
		msg["init_connections"] = c.InitConnections
	}
	return msg
}

// flexEntry is a prepared flex flow.
type flexEntry struct {
	entry    string
	info     *FlexInfo
	init     map[string]any
	initConn map[string]PyConnection
	// name is how errors name the entry, as promptflow does (function
	// name, or Class.__call__).
	name string

	// primitive holds the lines whose output was neither a dict nor a
	// dataclass (recorded as `output`): __aggregate__ receives those as the
	// value itself, the others as dicts.
	mu        sync.Mutex
	primitive map[int]bool
}

// prepareFlex starts the workers, inspects the entry, derives the flow's
// inputs from its signature (the YAML's inputs win where they say more) and
// checks the init arguments.
func (r *runner) prepareFlex(ctx context.Context) error {
	f := r.f
	entry := strings.TrimSpace(f.Entry)
	if entry == "" {
		return fault.New(fault.Validation, "the flex flow %s has no entry", f.File).
			WithHint("add `entry: <module>:<function or class>` to the flow file")
	}
	if err := r.startPool(ctx); err != nil {
		return err
	}
	info, terr, err := r.pool.FlexInspect(ctx, entry)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "load the flow entry %s", entry)
	}
	if terr != nil {
		return fault.New(fault.Validation, "Failed to load python module for %s: (%s) %s", entry, terr.Type, terr.Message).
			WithHint("%s", lastLine(terr.Traceback))
	}
	fx := &flexEntry{entry: entry, info: info, name: info.Name}
	if info.Kind == "class" {
		fx.name = info.Name + ".__call__"
	}
	init, err := r.flexInit(info)
	if err != nil {
		return err
	}
	fx.init = init
	if fx.initConn, err = r.modelConfigConnections(ctx, info.InitParams, init); err != nil {
		return err
	}
	r.entry = fx
	// The flow's inputs are the entry's parameters; what the YAML declares
	// (type, default) wins.
	declared := map[string]flow.Input{}
	for _, in := range f.Inputs {
		declared[in.Name] = in
	}
	var inputs []flow.Input
	for _, p := range info.Params {
		if in, ok := declared[p.Name]; ok {
			if in.Type == "" {
				in.Type = p.Type
			}
			if !in.HasDefault && p.HasDefault {
				in.Default, in.HasDefault = p.Default, true
			}
			inputs = append(inputs, in)
			continue
		}
		inputs = append(inputs, flow.Input{Name: p.Name, Type: p.Type, Default: p.Default, HasDefault: p.HasDefault})
	}
	cp := *f
	cp.Inputs = inputs
	r.f = &cp
	// Every parameter reads the data column of its name when there is one,
	// defaults or not: the flow has no YAML inputs section to say otherwise.
	r.mapAllInputs = true
	return nil
}

// flexInit is the init arguments: the run's (--init, run.yml init), else the
// flow's sample.init; the flow file's init defaults fill what is missing.
// Missing and unknown arguments of a class entry are refused here, before
// any line runs.
func (r *runner) flexInit(info *FlexInfo) (map[string]any, error) {
	init := map[string]any{}
	for k, v := range r.cfg.Init {
		init[k] = v
	}
	if len(init) == 0 {
		if s, ok := r.f.Raw["sample"].(map[string]any); ok {
			if si, ok := s["init"].(map[string]any); ok {
				for k, v := range si {
					init[k] = v
				}
			}
		}
	}
	if decl, ok := r.f.Raw["init"].(map[string]any); ok {
		for k, d := range decl {
			if _, set := init[k]; set {
				continue
			}
			if dm, ok := d.(map[string]any); ok {
				if def, ok := dm["default"]; ok && def != "" {
					init[k] = def
				}
			}
		}
	}
	if info.Kind != "class" {
		if len(init) > 0 {
			r.logf("WARNING: init is ignored: the flow entry %s is a function, and only a class entry takes init arguments", info.Name)
		}
		return nil, nil
	}
	known := map[string]bool{}
	var missing []string
	for _, p := range info.InitParams {
		known[p.Name] = true
		if _, ok := init[p.Name]; !ok && !p.HasDefault {
			missing = append(missing, p.Name)
		}
	}
	var unknown []string
	for k := range init {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(missing) > 0 {
		return nil, fault.New(fault.Validation, "the flow class %s needs the init argument(s) %s", info.Name, strings.Join(missing, ", ")).
			WithHint("give them with --init %s=<value> (or run.yml init:, or sample.init in the flow file)", missing[0])
	}
	if len(unknown) > 0 {
		var names []string
		for _, p := range info.InitParams {
			names = append(names, p.Name)
		}
		return nil, fault.New(fault.Validation, "the flow class %s takes no init argument %s", info.Name, strings.Join(unknown, ", ")).
			WithHint("its __init__ takes: %s", orNone(names))
	}
	// Init values given as k=v are strings; convert them to the annotated types.
	for _, p := range info.InitParams {
		v, ok := init[p.Name]
		if !ok || p.Type == "" {
			continue
		}
		cv, err := convertInput(v, p.Type)
		if err != nil {
			return nil, fault.New(fault.Validation, "init argument %s of %s must be %s, got %v", p.Name, info.Name, p.Type, v).
				WithHint("check the value given with --init %s=...", p.Name)
		}
		init[p.Name] = cv
	}
	return init, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// modelConfigConnections resolves the connections that model configuration
// values name ({"connection": "x", ...}), by parameter.
func (r *runner) modelConfigConnections(ctx context.Context, params []FlexParam, values map[string]any) (map[string]PyConnection, error) {
	var out map[string]PyConnection
	for _, p := range params {
		if p.ModelConfig == "" {
			continue
		}
		m, ok := pyjson.AsMap(values[p.Name])
		if !ok {
			continue
		}
		name, _ := m["connection"].(string)
		if name == "" {
			continue
		}
		conn, err := r.connection(ctx, name)
		if err != nil {
			return nil, fault.Wrap(fault.Validation, err, "connection %s of the model configuration %s", name, p.Name).
				WithHint("create it with `pfz connection create`, or give the endpoint and key in the configuration (${env:VAR} values are read from the environment)")
		}
		want := "azureopenai"
		if p.ModelConfig == "OpenAIModelConfiguration" {
			want = "openai"
		}
		if t := connType(conn); t != want {
			return nil, fault.New(fault.Validation, "the model configuration %s (%s) names connection %s of type %s", p.Name, p.ModelConfig, name, conn["type"]).
				WithHint("an %s takes an %s connection", p.ModelConfig, map[string]string{"azureopenai": "AzureOpenAI", "openai": "OpenAI"}[want])
		}
		if out == nil {
			out = map[string]PyConnection{}
		}
		out[p.Name] = pyConnection(name, conn)
	}
	return out, nil
}

func (fx *flexEntry) aggregates() bool { return fx.info.Aggregate }

// line calls the entry with one line's inputs and returns its outputs.
func (fx *flexEntry) line(ctx context.Context, r *runner, st *lineState) (pyjson.Object, *LineError) {
	rec := NodeRunRecord{Node: fx.name, Line: st.n, Inputs: st.inputs, Start: time.Now()}
	out, lerr := fx.call(ctx, r, st)
	rec.End = time.Now()
	if lerr != nil {
		lerr.Node = fx.name
		if ctx.Err() != nil && lerr.Code != CodeToolError {
			lerr.Code, lerr.Message = CodeCanceled, fmt.Sprintf("Execution of '%s' was stopped: %v", fx.name, context.Cause(ctx))
		}
		rec.Status, rec.Error = StatusFailed, lerr
		r.sink.NodeRun(rec)
		return nil, lerr
	}
	rec.Status, rec.Output = StatusCompleted, out
	r.sink.NodeRun(rec)
	return out, nil
}

func (fx *flexEntry) call(ctx context.Context, r *runner, st *lineState) (pyjson.Object, *LineError) {
	conns, err := r.modelConfigConnections(ctx, fx.info.Params, st.inputs)
	if err != nil {
		return nil, &LineError{Code: CodeConnection, Message: fmt.Sprintf("Execution failure in '%s': %v", fx.name, err)}
	}
	onCallback, done := r.promptyCallbacks()
	defer done()
	call := FlexCall{Entry: fx.entry, Init: fx.init, InitConnections: fx.initConn, Inputs: st.inputs, Connections: conns,
		OnChunk: r.cfg.OnChunk, OnCallback: onCallback,
		OnLog: func(stream, text string) {
			r.sink.Log(LogEntry{Time: time.Now(), Line: st.n, Node: fx.name, Stream: stream, Text: text})
		}}
	res, err := r.pool.FlexCall(ctx, call)
	if err != nil {
		var we *WorkerError
		if errors.As(err, &we) {
			return nil, &LineError{Code: CodeWorker, Message: fmt.Sprintf("Execution failure in '%s': %s", fx.name, we.Reason), Traceback: we.Stderr}
		}
		return nil, &LineError{Code: CodeExecution, Message: fmt.Sprintf("Execution failure in '%s': %v", fx.name, err)}
	}
	for _, m := range res.Metrics {
		r.metric(m)
	}
	if res.Error != nil {
		return nil, &LineError{Code: CodeToolError, Type: res.Error.Type, Traceback: res.Error.Traceback,
			Message: fmt.Sprintf("Execution failure in '%s': (%s) %s", fx.name, res.Error.Type, res.Error.Message)}
	}
	// A dataclass arrives as a dict; anything else but a dict is the output
	// named `output`, as promptflow names it.
	out, ok := pyjson.AsObject(res.Output) // a dict in its own order
	if !ok {
		out = pyjson.Object{{Key: "output", Value: res.Output}}
		if fx.info.Aggregate {
			fx.mu.Lock()
			if fx.primitive == nil {
				fx.primitive = map[int]bool{}
			}
			fx.primitive[st.n] = true
			fx.mu.Unlock()
		}
	}
	return out, nil
}

// flexAggregate calls __aggregate__ once with the completed lines' outputs
// in line order; a dict it returns is the run's metrics. A failure is
// logged and leaves the metrics empty, as in promptflow; the run still
// completes.
func (fx *flexEntry) aggregate(ctx context.Context, r *runner, sum *Summary, outputs map[int]pyjson.Object) {
	lines := make([]int, 0, len(outputs))
	for n := range outputs {
		lines = append(lines, n)
	}
	sort.Ints(lines)
	results := make([]any, len(lines))
	fx.mu.Lock()
	for i, n := range lines {
		results[i] = outputs[n]
		if fx.primitive[n] {
			results[i], _ = outputs[n].Get("output")
		}
	}
	fx.mu.Unlock()
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now()
	name := fx.info.Name + ".__aggregate__"
	rec := NodeRunRecord{Node: name, Line: -1, Start: start}
	onCallback, done := r.promptyCallbacks()
	defer done()
	res, err := r.pool.FlexAggregate(actx, FlexCall{Entry: fx.entry, Init: fx.init, InitConnections: fx.initConn,
		OnCallback: onCallback,
		OnLog: func(stream, text string) {
			r.sink.Log(LogEntry{Time: time.Now(), Line: -1, Node: name, Stream: stream, Text: text})
		}}, results)
	rec.End = time.Now()
	var lerr *LineError
	switch {
	case err != nil:
		lerr = &LineError{Code: CodeExecution, Node: name, Message: fmt.Sprintf("Execution failure in '%s': %v", name, err)}
	case res.Error != nil:
		lerr = &LineError{Code: CodeToolError, Node: name, Type: res.Error.Type, Traceback: res.Error.Traceback,
			Message: fmt.Sprintf("Execution failure in '%s': (%s) %s", name, res.Error.Type, res.Error.Message)}
	}
	if lerr != nil {
		rec.Status, rec.Error = StatusFailed, lerr
		r.sink.NodeRun(rec)
		sum.AggregationErrors = map[string]*LineError{name: lerr}
		r.logf("WARNING: %s; the run has no metrics", lerr.Message)
		return
	}
	for _, m := range res.Metrics {
		r.metric(m)
	}
	rec.Status, rec.Output = StatusCompleted, res.Output
	r.sink.NodeRun(rec)
	sum.AggregationOutputs = map[string]any{name: res.Output}
	if m, ok := pyjson.AsObject(res.Output); ok {
		for _, e := range m { // in the dict's order
			r.metric(Metric{Name: e.Key, Value: e.Value})
		}
	} else {
		r.logf("WARNING: the output of %s is not a dictionary, so the run has no metrics from it", name)
	}
	r.logf("aggregation: %s in %s", name, time.Since(start).Round(time.Millisecond))
}
