package run

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// ListOptions are the inputs of `run list`.
type ListOptions struct {
	common
	MaxResults      int
	ArchivedOnly    bool
	IncludeArchived bool
}

// NewCmdList returns `run list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Long:  "List runs, newest first. Archived runs are left out unless asked for.",
		Example: `  pfz run list
  pfz run list -r 5 --include-archived -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.MaxResults < 1 {
				return cmdutil.UsageErrorf(c, "--max-results must be a positive integer, got %d", opts.MaxResults)
			}
			if opts.ArchivedOnly && opts.IncludeArchived {
				return cmdutil.UsageErrorf(c, "--archived-only and --include-archived cannot be used together")
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runList(c.Context(), opts)
		},
	}
	cmd.Flags().IntVarP(&opts.MaxResults, "max-results", "r", 50, "list at most `N` runs")
	cmd.Flags().BoolVar(&opts.ArchivedOnly, "archived-only", false, "list only archived runs")
	cmd.Flags().BoolVar(&opts.IncludeArchived, "include-archived", false, "list archived runs too")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	list, err := runs.List(ctx, workspace.ListOptions{
		MaxResults: opts.MaxResults, ArchivedOnly: opts.ArchivedOnly, IncludeArchived: opts.IncludeArchived,
	})
	if err != nil {
		return err
	}
	return cmdutil.PrintList(p, "runs", list, func(t *cmdutil.Table) {
		t.Header("name", "status", "created", "display name")
		for _, r := range list {
			t.Row(r.Name, r.Status, fmtTime(r.CreatedOn), r.DisplayName)
		}
	})
}
