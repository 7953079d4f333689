package executor

import (
	"context"
	"testing"

	"github.com/pfz-cli/pfz/internal/pyjson"
)

// memReuse serves recorded lines, as a resumed run's record does.
type memReuse struct {
	lines map[int]LineResult
	nodes map[int][]NodeRunRecord
}

func (m memReuse) Line(_ context.Context, n int) (*LineResult, []NodeRunRecord, bool, error) {
	r, ok := m.lines[n]
	if !ok {
		return nil, nil, false, nil
	}
	return &r, m.nodes[n], true, nil
}

// Reused lines (--resume-from) are reported as recorded, not run again, and
// the aggregation reads their node outputs (a bypassed node included) as if
// they had run: the metrics equal a full run's.
func TestRunReuse(t *testing.T) {
	cfg, full := baseConfig(t, "classify")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := jsonOf(sum.Metrics)

	reuse := memReuse{lines: map[int]LineResult{}, nodes: map[int][]NodeRunRecord{}}
	for _, n := range []int{0, 2} { // line 0 has bypassed nodes
		r := full.lines[n]
		r.Outputs = append(pyjson.Object{}, full.lines[n].Outputs...)
		r.Outputs.Set("reused", true) // a run would not produce it
		reuse.lines[n] = r
		for _, nr := range full.nodes {
			if nr.Line == n {
				reuse.nodes[n] = append(reuse.nodes[n], nr)
			}
		}
	}
	cfg, sink := baseConfig(t, "classify")
	cfg.Reuse = reuse
	sum, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 4 || sum.Total != 4 {
		t.Fatalf("summary = %+v", sum)
	}
	for n := 0; n < 4; n++ {
		_, reused := sink.lines[n].Outputs.Map()["reused"]
		if reused != (n == 0 || n == 2) {
			t.Errorf("line %d: reused = %v", n, reused)
		}
	}
	counts := map[int]int{}
	for _, nr := range sink.nodes {
		counts[nr.Line]++
	}
	for _, n := range []int{0, 2} {
		if counts[n] != len(reuse.nodes[n]) {
			t.Errorf("line %d: %d node runs reported, want the %d recorded", n, counts[n], len(reuse.nodes[n]))
		}
	}
	if got := jsonOf(sum.Metrics); got != want {
		t.Errorf("metrics = %s, want %s (as a full run)", got, want)
	}
	if r := sink.node(-1, "accuracy"); r == nil || jsonOf(r.Inputs["labels"]) != `["positive","negative","positive","positive"]` {
		t.Errorf("aggregation inputs = %+v", r)
	}
}
