package executor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// LineTest is one line run by `flow test`.
type LineTest struct {
	// Inputs are the flow inputs by name (a flex flow's: its entry's
	// parameters). Missing ones take their defaults; with none at all, a
	// flex flow uses its sample.inputs, a prompty its sample.
	Inputs map[string]any
	// Node, when set, runs only this node of a DAG flow. Inputs then give
	// flow inputs (x or inputs.x), the outputs of the nodes it reads
	// (<node>.output) and may override its own inputs by name.
	Node string
	// OnChunk receives a flex entry's generator output as it is yielded.
	OnChunk func(chunk any)
}

// Tester runs single lines of a flow with the same workers: it is prepared
// once (workers started, tools loaded) and then runs lines one after
// another (not concurrently), as `flow test` and its interactive chat do.
type Tester struct {
	r *runner
}

// NewTester prepares the flow of cfg (Data, Mapping and Parent are not
// used). Close it when done.
func NewTester(ctx context.Context, cfg Config) (*Tester, error) {
	r, err := prepare(ctx, cfg, false)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fault.Wrap(fault.Interrupted, ctx.Err(), "canceled while starting the flow")
		}
		return nil, err
	}
	return &Tester{r: r}, nil
}

// Close stops the workers the tester started.
func (t *Tester) Close() { t.r.close() }

// Inputs are the flow's inputs (for a flex flow, from its entry's signature).
func (t *Tester) Inputs() []flow.Input { return t.r.f.Inputs }

// Flow is the flow as it runs (the variant applied; a flex flow's inputs
// from its signature).
func (t *Tester) Flow() *flow.Flow { return t.r.f }

// Python describes the workers' interpreter (empty when the flow needs none).
func (t *Tester) Python() WorkerInfo {
	if t.r.pool == nil {
		return WorkerInfo{}
	}
	return t.r.pool.Info()
}

// Line runs one line and returns its result; node runs and printed lines go
// to the Config's Sink as in a batch run. Aggregation does not run.
func (t *Tester) Line(ctx context.Context, lt LineTest) LineResult {
	r := t.r
	r.cfg.OnChunk = lt.OnChunk
	defer func() { r.cfg.OnChunk = nil }()
	if lt.Node != "" {
		return t.node(ctx, lt)
	}
	inputs := lt.Inputs
	if pe, ok := r.entry.(*promptyEntry); ok && len(inputs) == 0 {
		// A prompty's sample is its input values (a mapping or a .json file).
		s, err := pe.p.Sample()
		if err != nil {
			now := time.Now()
			return LineResult{Status: StatusFailed, Start: now, End: now, Error: promptyError(err)}
		}
		inputs = s
	} else if len(inputs) == 0 && r.entry != nil {
		if s, ok := r.f.Raw["sample"].(map[string]any); ok {
			if si, ok := s["inputs"].(map[string]any); ok {
				inputs = si
			}
		}
	}
	var missing []string
	for _, in := range r.f.Inputs {
		if _, ok := inputs[in.Name]; !ok && !in.HasDefault {
			missing = append(missing, in.Name+"=...")
		}
	}
	if len(missing) > 0 {
		now := time.Now()
		return LineResult{Status: StatusFailed, Inputs: pyjson.ObjectOf(inputs), Start: now, End: now, Error: &LineError{Code: CodeInput,
			Message: fmt.Sprintf("the flow input(s) %s have no default; give --inputs %s", strings.TrimSuffix(strings.Join(missing, ", "), "=..."), strings.Join(missing, " "))}}
	}
	mapping := make(map[string]any, len(inputs))
	for k := range inputs {
		mapping[k] = "${data." + k + "}"
	}
	saved, savedOrder := r.cfg.Mapping, r.cfg.MappingOrder
	r.cfg.Mapping, r.cfg.MappingOrder = mapping, nil
	defer func() { r.cfg.Mapping, r.cfg.MappingOrder = saved, savedOrder }()
	return r.runLine(ctx, lineJob{n: 0, sources: map[string]map[string]any{"data": inputs}})
}

// node runs one node of a DAG flow with inputs given by hand.
func (t *Tester) node(ctx context.Context, lt LineTest) (res LineResult) {
	r := t.r
	res = LineResult{LineNumber: 0, Start: time.Now(), Inputs: pyjson.ObjectOf(lt.Inputs)}
	defer func() { res.End = time.Now() }()
	nd, ok := r.nodes[lt.Node]
	if !ok || r.entry != nil {
		names := append(append([]string(nil), r.order...), r.aggs...)
		res.Status = StatusFailed
		res.Error = &LineError{Code: CodeInput, Message: fmt.Sprintf("the flow has no node %q; its nodes are: %s", lt.Node, orNone(names))}
		return res
	}
	given := lt.Inputs
	flowInputs := map[string]any{}
	for _, in := range r.f.Inputs {
		if v, ok := lookupGiven(given, in.Name, "inputs."+in.Name); ok {
			cv, err := convertInput(v, in.Type)
			if err != nil {
				res.Status = StatusFailed
				res.Error = &LineError{Code: CodeInput, Message: fmt.Sprintf("flow input %s must be %s, got %v", in.Name, in.Type, v)}
				return res
			}
			flowInputs[in.Name] = cv
		} else if in.HasDefault {
			flowInputs[in.Name] = in.Default
		}
	}
	st := &lineState{n: 0, inputs: flowInputs, outputs: map[string]any{}, bypassed: map[string]bool{}}
	// The nodes it reads: their outputs come from the given inputs.
	var missing []string
	for _, d := range nd.deps {
		if v, ok := lookupGiven(given, d+".output", d); ok {
			st.outputs[d] = v
		} else {
			missing = append(missing, d+".output")
		}
	}
	// Its own inputs given by name win over what they refer to.
	def := nd.def
	def.Inputs = append([]flow.NodeInput(nil), def.Inputs...)
	for i, in := range def.Inputs {
		if v, ok := given[in.Name]; ok {
			def.Inputs[i].Value = flow.Value{Raw: v, Kind: flow.RefLiteral}
			missing = dropRef(missing, refOf(in.Value))
		}
	}
	var unset []string
	for _, in := range def.Inputs {
		v := refOf(in.Value)
		if v.Kind == flow.RefFlowInput {
			if _, ok := flowInputs[v.Name]; !ok {
				unset = append(unset, v.Name)
			}
		}
	}
	if len(missing) > 0 || len(unset) > 0 {
		var need []string
		for _, m := range missing {
			need = append(need, m+"=...")
		}
		for _, u := range unset {
			need = append(need, u+"=...")
		}
		sort.Strings(need)
		res.Status = StatusFailed
		res.Error = &LineError{Code: CodeInput, Node: lt.Node,
			Message: fmt.Sprintf("node %s needs values for what it reads; give --inputs %s", lt.Node, strings.Join(need, " "))}
		return res
	}
	one := *nd
	one.def = def
	lctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var agg map[string]any
	if def.Aggregation {
		// An aggregation node reads lists; the given values are those lists.
		agg = map[string]any{}
		for _, ref := range r.aggRefs {
			if ref.Kind == flow.RefFlowInput {
				agg[refKey(ref)] = flowInputs[ref.Name]
			} else if v, ok := st.outputs[ref.Name]; ok {
				nv, _ := navigate(v, ref.Path, ref.Name)
				agg[refKey(ref)] = nv
			}
		}
	}
	if lerr := r.runNode(lctx, st, &one, agg); lerr != nil {
		res.Status, res.Error = StatusFailed, lerr
		return res
	}
	res.Status = StatusCompleted
	out := st.outputs[lt.Node]
	if g, ok := out.(*pyjson.Generator); ok {
		out = g.Joined() // as a flow output of it would be
	}
	res.Outputs = pyjson.Object{{Key: lt.Node, Value: pyjson.Record(out)}}
	return res
}

func lookupGiven(given map[string]any, keys ...string) (any, bool) {
	for _, k := range keys {
		if v, ok := given[k]; ok {
			return v, true
		}
	}
	return nil, false
}

func dropRef(missing []string, v flow.Value) []string {
	if v.Kind != flow.RefNode {
		return missing
	}
	out := missing[:0]
	for _, m := range missing {
		if m != v.Name+".output" {
			out = append(out, m)
		}
	}
	return out
}

// LineRunner is a flow ready to run single lines: a Tester, or a backend's
// wrapper of one that also holds its session.
type LineRunner interface {
	Line(ctx context.Context, lt LineTest) LineResult
	Flow() *flow.Flow
	Python() WorkerInfo
	Close()
}

var _ LineRunner = (*Tester)(nil)
