package flowcmd

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/runspec"
)

// checkRunFile loads the run.yml and returns its diagnostics and the local
// flow it names ("" for a remote flow).
func checkRunFile(_ context.Context, opts *ValidateOptions) (diag.List, *runspec.Spec, error) {
	spec, ds, err := runspec.Load(runspec.LoadOptions{
		Flags:     runspec.Flags{File: opts.RunFile, Run: opts.Run},
		CWD:       opts.WorkDir,
		LookupEnv: lookupEnv(opts.Getenv),
	})
	if spec == nil {
		return nil, nil, err
	}
	return ds, spec, nil
}

// checkColumns checks the run's column mapping against the flow and the
// first lines of local data.
func checkColumns(ctx context.Context, spec *runspec.Spec, f *flow.Flow) diag.List {
	var cols []string
	if spec.Data != "" && !spec.DataRemote {
		c, err := runspec.DataColumns(ctx, spec.Data, 0)
		if err != nil {
			return nil // the data's own problem is reported by Load
		}
		cols = c
	}
	return runspec.CheckColumnMapping(spec, f, cols)
}

func lookupEnv(getenv func(string) string) func(string) (string, bool) {
	if getenv == nil {
		return nil
	}
	return func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	}
}

// runOptional turns "${run.…} requires run" into a warning: validate checks
// an evaluation run.yml before the run it evaluates is named; run create
// still needs it.
func runOptional(ds diag.List) diag.List {
	out := make(diag.List, len(ds))
	for i, d := range ds {
		if d.Code == runspec.CodeNeedsRun && d.Severity == diag.Error {
			d.Severity = diag.Warning
			d.Hint = "give the run to evaluate with `pfz flow validate --run NAME` to check them; run create needs run: in the run.yml or --run"
		}
		out[i] = d
	}
	return out
}

// runOutputRe matches a binding to a referenced run's output.
var runOutputRe = regexp.MustCompile(`^\$\{run\.outputs\.([^.{}]+)[^{}]*\}$`)

// checkAgainstRun checks the ${run.outputs.X} bindings against the outputs of
// the run --run names, when the target has it. A run the target does not have
// (or cannot be asked about) is a warning: the run.yml may be checked before
// the run exists, or offline.
func checkAgainstRun(ctx context.Context, opts *ValidateOptions, spec *runspec.Spec) diag.List {
	at := spec.PosOf("run")
	warn := func(format string, args ...any) diag.List {
		return diag.List{{Severity: diag.Warning, Code: runspec.CodeNeedsRun, File: at.File, Line: at.Line, Column: at.Column,
			Message: fmt.Sprintf(format, args...), Hint: "the bindings are checked against the run's outputs once the target has the run"}}
	}
	if opts.Runs == nil {
		return nil
	}
	runs, err := opts.Runs(ctx)
	if err != nil {
		return warn("run %s was not checked: %s", opts.Run, firstLine(err.Error()))
	}
	if _, err := runs.Get(ctx, opts.Run); err != nil {
		if fault.Is(err, fault.NotFound) {
			return warn("run %s was not found on the target; its outputs were not checked", opts.Run)
		}
		return warn("run %s was not checked: %s", opts.Run, firstLine(err.Error()))
	}
	lines, err := runs.Details(ctx, opts.Run, 1)
	if err != nil || len(lines) == 0 || len(lines[0].Outputs) == 0 {
		return nil // no line with outputs to compare with
	}
	outputs := lines[0].Outputs.Keys()
	sort.Strings(outputs)
	var out diag.List
	for k, v := range spec.ColumnMapping {
		s, ok := v.(string)
		if !ok {
			continue
		}
		m := runOutputRe.FindStringSubmatch(s)
		if m == nil || slices.Contains(outputs, m[1]) {
			continue
		}
		p := spec.PosOf("column_mapping." + k)
		out = append(out, diag.Diagnostic{Severity: diag.Error, Code: runspec.CodeColumnMapping, File: p.File, Line: p.Line, Column: p.Column,
			Message: fmt.Sprintf("column_mapping.%s: run %s has no output %q", k, opts.Run, m[1]),
			Hint:    "its outputs are: " + strings.Join(outputs, ", ")})
	}
	return out
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
