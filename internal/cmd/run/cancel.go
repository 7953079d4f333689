package run

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// CancelOptions are the inputs of `run cancel`.
type CancelOptions struct {
	common
	Name string
}

// NewCmdCancel returns `run cancel`.
func NewCmdCancel(f *cmdutil.Factory, runF func(context.Context, *CancelOptions) error) *cobra.Command {
	opts := &CancelOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:     "cancel -n NAME",
		Short:   "Cancel a run",
		Long:    "Ask the target to cancel a run, then show the run (its status is then CancelRequested or Canceled).",
		Example: `  pfz run cancel -n my_run`,
		Args:    cmdutil.NoArgs,
		RunE:    byName(&opts.Name, opts, runF, runCancel),
	}
	addNameFlag(cmd, &opts.Name)
	return cmd
}

func runCancel(ctx context.Context, opts *CancelOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	if err := runs.Cancel(ctx, opts.Name); err != nil {
		return err
	}
	r, err := runs.Get(ctx, opts.Name)
	if err != nil {
		return err
	}
	return printRun(p, r)
}
