package run

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// VisualizeOptions are the inputs of `run visualize`.
type VisualizeOptions struct {
	common
	Names []string
}

// NewCmdVisualize returns `run visualize`.
func NewCmdVisualize(f *cmdutil.Factory, runF func(context.Context, *VisualizeOptions) error) *cobra.Command {
	opts := &VisualizeOptions{common: commonFrom(f)}
	var raw []string
	cmd := &cobra.Command{
		Use:   "visualize -n NAME[,NAME...]",
		Short: "Compare runs side by side",
		Long: `Show where runs can be compared side by side: a studio URL on azureml, a local
HTML file on the local target. Names are comma-separated, as in pfazure
(--name works too, as a prefix of --names).`,
		Example: `  pfz run visualize -n run_a,run_b`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Names = nil
			for _, r := range raw {
				for _, n := range strings.Split(r, ",") {
					if n = strings.TrimSpace(n); n != "" {
						opts.Names = append(opts.Names, n)
					}
				}
			}
			if len(opts.Names) == 0 {
				return cmdutil.UsageErrorf(c, "--names is required")
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runVisualize(c.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVarP(&raw, "names", "n", nil, "comma-separated `NAMES` of the runs (required)")
	return cmd
}

func runVisualize(ctx context.Context, opts *VisualizeOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	loc, err := runs.Visualize(ctx, opts.Names)
	if err != nil {
		return err
	}
	res := struct {
		Runs     []string `json:"runs"`
		Location string   `json:"location"`
	}{opts.Names, loc}
	return p.Print(res, func(t *cmdutil.Table) { t.Row(loc) })
}
