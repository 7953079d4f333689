package flowcmd

import (
	"context"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/runspec"
)

// checkRunFile loads the run.yml and returns its diagnostics and the local
// flow it names ("" for a remote flow).
func checkRunFile(_ context.Context, opts *ValidateOptions) (diag.List, *runspec.Spec, error) {
	spec, ds, err := runspec.Load(runspec.LoadOptions{
		Flags:     runspec.Flags{File: opts.RunFile},
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
