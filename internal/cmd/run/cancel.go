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
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runCancel(c.Context(), opts)
		},
	}
	addNameFlag(cmd, &opts.Name)
	return cmd
}

func runCancel(ctx context.Context, opts *CancelOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	runs, err := opts.runs(ctx)
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
