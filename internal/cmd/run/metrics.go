package run

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// ShowMetricsOptions are the inputs of `run show-metrics`.
type ShowMetricsOptions struct {
	common
	Name string
}

// NewCmdShowMetrics returns `run show-metrics`.
func NewCmdShowMetrics(f *cmdutil.Factory, runF func(context.Context, *ShowMetricsOptions) error) *cobra.Command {
	opts := &ShowMetricsOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "show-metrics -n NAME",
		Short: "Show the metrics a completed run logged",
		Example: `  pfz run show-metrics -n my_eval_run
  pfz run show-metrics -n my_eval_run -o json --query accuracy`,
		Args: cmdutil.NoArgs,
		RunE: byName(&opts.Name, opts, runF, runShowMetrics),
	}
	addNameFlag(cmd, &opts.Name)
	return cmd
}

func runShowMetrics(ctx context.Context, opts *ShowMetricsOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	m, err := runs.Metrics(ctx, opts.Name)
	if err != nil {
		return err
	}
	if m == nil {
		m = pyjson.Object{}
	}
	// In the run's order (local runs: as they were logged, as promptflow).
	return p.Print(m, func(t *cmdutil.Table) {
		t.Header("metric", "value")
		for _, e := range m {
			t.Row(e.Key, valueString(e.Value))
		}
	})
}
