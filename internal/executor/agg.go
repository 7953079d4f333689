package executor

import (
	"context"
	"sort"
	"time"
)

// runAggregation runs the aggregation nodes once, after every line, with list
// inputs gathered from the completed lines in line-number order. A failed
// aggregation node is recorded in the summary; it does not fail the run.
func (r *runner) runAggregation(ctx context.Context, sum *Summary) {
	defer func() {
		r.aggMu.Lock()
		if len(r.metrics) > 0 {
			sum.Metrics = r.metrics
		}
		r.aggMu.Unlock()
	}()
	if r.entry != nil {
		r.aggMu.Lock()
		outputs := r.entryOutputs
		r.entryOutputs = nil
		r.aggMu.Unlock()
		if r.entry.aggregates() && sum.Completed > 0 {
			r.entry.aggregate(ctx, r, sum, outputs)
		}
		return
	}
	if len(r.aggs) == 0 || sum.Completed == 0 {
		return
	}
	lines := make([]int, 0, len(r.aggInputs))
	for n := range r.aggInputs {
		lines = append(lines, n)
	}
	sort.Ints(lines)
	agg := map[string]any{}
	for _, ref := range r.aggRefs {
		k := refKey(ref)
		list := make([]any, len(lines))
		for i, n := range lines {
			list[i] = r.aggInputs[n][k]
		}
		agg[k] = list
	}
	r.aggInputs = nil // free the per-line values
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	st := &lineState{n: -1, inputs: map[string]any{}, outputs: map[string]any{}, bypassed: map[string]bool{}}
	// Aggregation nodes run one after another: a failed one does not stop
	// those that do not read it.
	start := time.Now()
	for _, name := range r.aggs {
		nd := r.nodes[name]
		failedDep := false
		for _, d := range nd.deps {
			if _, failed := sum.AggregationErrors[d]; failed {
				failedDep = true
			}
		}
		if failedDep {
			continue
		}
		if lerr := r.runNode(actx, st, nd, agg); lerr != nil {
			if sum.AggregationErrors == nil {
				sum.AggregationErrors = map[string]*LineError{}
			}
			sum.AggregationErrors[name] = lerr
		}
	}
	st.mu.Lock()
	for name, out := range st.outputs {
		if sum.AggregationOutputs == nil {
			sum.AggregationOutputs = map[string]any{}
		}
		sum.AggregationOutputs[name] = out
	}
	st.mu.Unlock()
	r.logf("aggregation: %d node(s) in %s", len(r.aggs), time.Since(start).Round(time.Millisecond))
}
