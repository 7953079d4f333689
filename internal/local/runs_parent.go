package local

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/pfz-cli/pfz/internal/dataset"
	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/run"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// parentRun is the run an evaluation run refers to (run: in run.yml). Its
// outputs come from its record; ${run.inputs.x} reads its original data
// row, as promptflow does "to align with cloud behavior", falling back to
// the flow inputs it recorded when that data can no longer be read.
type parentRun struct {
	name  string
	dir   string // its run folder: its records' image paths are relative to it
	lines *run.Lines
	data  string

	mu     sync.Mutex
	rd     dataset.Reader
	rowNum int // number of the row in row; -1 before the first
	row    map[string]any
	noData bool
}

var _ executor.ParentRun = (*parentRun)(nil)

func (r *Runs) openParent(ctx context.Context, name string) (*parentRun, error) {
	rec, err := r.current(ctx, name)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil, fault.New(fault.Validation, "the referenced run %s does not exist on the local target", name).
				WithHint("`pfz run list` shows the local runs; run the flow to evaluate first")
		}
		return nil, err
	}
	if rec.Status != workspace.RunCompleted {
		e := fault.New(fault.Validation, "the referenced run %s is not completed, its status is %s", name, rec.Status)
		if workspace.IsTerminal(rec.Status) {
			return nil, e.WithHint("evaluate a completed run")
		}
		return nil, e.WithHint("wait for it with `pfz run stream -n %s`, then evaluate it", name)
	}
	l, err := run.OpenLines(r.st.RunDir(name))
	if err != nil {
		return nil, err
	}
	return &parentRun{name: name, dir: r.st.RunDir(name), lines: l, data: rec.Data, rowNum: -1, noData: rec.Data == ""}, nil
}

func (p *parentRun) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rd != nil {
		p.rd.Close()
		p.rd = nil
	}
	return p.lines.Close()
}

// Line returns the parent's line n when it completed.
func (p *parentRun) Line(ctx context.Context, n int) (map[string]any, map[string]any, bool, error) {
	res, ok, err := p.lines.Get(n)
	if err != nil || !ok || res.Status != executor.StatusCompleted {
		return nil, nil, false, err
	}
	inputs := p.dataRow(ctx, n)
	if inputs == nil {
		in, err := run.AbsImages(p.dir, res.Inputs)
		if err != nil {
			return nil, nil, false, err
		}
		if o, ok := in.(pyjson.Object); ok {
			inputs = o.Map()
		}
	}
	out, err := run.AbsImages(p.dir, res.Outputs)
	if err != nil {
		return nil, nil, false, err
	}
	outputs := map[string]any{}
	if o, ok := out.(pyjson.Object); ok {
		outputs = o.Map()
	}
	return inputs, outputs, true, nil
}

// LineNumbers lists the parent's recorded lines in order.
func (p *parentRun) LineNumbers(context.Context) ([]int, error) {
	return p.lines.Numbers(), nil
}

// dataRow reads row n of the parent's data. The executor asks in
// ascending order, so one forward reader serves a whole run; asking for
// an earlier row reopens it.
func (p *parentRun) dataRow(ctx context.Context, n int) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.noData {
		return nil
	}
	if n == p.rowNum {
		return p.row
	}
	if p.rd == nil || n < p.rowNum {
		if p.rd != nil {
			p.rd.Close()
		}
		rd, err := dataset.Open(ctx, p.data)
		if err != nil {
			p.noData, p.rd = true, nil
			return nil
		}
		p.rd, p.rowNum, p.row = rd, -1, nil
	}
	for p.rowNum < n {
		row, num, err := p.rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			p.noData = true
			return nil
		}
		p.rowNum, p.row = num, row
	}
	if p.rowNum != n {
		return nil
	}
	return p.row
}
