package run

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// ShowOptions are the inputs of `run show`.
type ShowOptions struct {
	common
	Name string
}

// NewCmdShow returns `run show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "show -n NAME",
		Short: "Show a run",
		Long:  "Show a run: its status, times, data, session and, when it failed, the error.",
		Example: `  pfz run show -n web_classification_variant_0_20240101_120000_000000
  pfz run show -n my_run -o json --query status`,
		Args: cmdutil.NoArgs,
		RunE: byName(&opts.Name, opts, runF, runShow),
	}
	addNameFlag(cmd, &opts.Name)
	return cmd
}

func runShow(ctx context.Context, opts *ShowOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	r, err := runs.Get(ctx, opts.Name)
	if err != nil {
		return err
	}
	return printRun(p, r)
}
