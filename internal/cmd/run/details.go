package run

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// ShowDetailsOptions are the inputs of `run show-details`.
type ShowDetailsOptions struct {
	common
	Name       string
	MaxResults int
	AllResults bool
}

// NewCmdShowDetails returns `run show-details`.
func NewCmdShowDetails(f *cmdutil.Factory, runF func(context.Context, *ShowDetailsOptions) error) *cobra.Command {
	opts := &ShowDetailsOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "show-details -n NAME",
		Short: "Show each data line of a run: inputs, outputs and status",
		Long: `Show each data line of a run: its line number, status, inputs and outputs.
With -o json each line is a flat object: line_number, status, inputs.<name>,
outputs.<name> and, for a failed line, error.`,
		Example: `  pfz run show-details -n my_run
  pfz run show-details -n my_run --all-results -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			if opts.MaxResults < 1 {
				return cmdutil.UsageErrorf(c, "--max-results must be a positive integer, got %d", opts.MaxResults)
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runShowDetails(c.Context(), opts)
		},
	}
	addNameFlag(cmd, &opts.Name)
	cmd.Flags().IntVarP(&opts.MaxResults, "max-results", "r", 100, "show at most `N` lines")
	cmd.Flags().BoolVar(&opts.AllResults, "all-results", false, "show every line")
	return cmd
}

func runShowDetails(ctx context.Context, opts *ShowDetailsOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	max := opts.MaxResults
	if opts.AllResults {
		max = 0
	}
	details, err := runs.Details(ctx, opts.Name, max)
	if err != nil {
		return err
	}
	if details == nil {
		details = []workspace.LineDetail{}
	}
	return p.Print(details, func(t *cmdutil.Table) { detailsTable(t, details) })
}

func detailsTable(t *cmdutil.Table, details []workspace.LineDetail) {
	// Columns in the order of the lines' records (promptflow's: the inputs
	// as it builds them, the outputs in the flow's order).
	var inputs, outputs pyjson.KeyUnion
	failed := false
	for _, d := range details {
		inputs.Add(d.Inputs)
		outputs.Add(d.Outputs)
		failed = failed || d.Error != nil
	}
	in, out := inputs.Keys(), outputs.Keys()
	header := []string{"line", "status"}
	for _, k := range in {
		header = append(header, "inputs."+k)
	}
	for _, k := range out {
		header = append(header, "outputs."+k)
	}
	if failed {
		header = append(header, "error")
	}
	t.Header(header...)
	for _, d := range details {
		row := []string{strconv.Itoa(d.LineNumber), d.Status}
		for _, k := range in {
			v, _ := d.Inputs.Get(k)
			row = append(row, valueString(v))
		}
		for _, k := range out {
			v, ok := d.Outputs.Get(k)
			if !ok && d.Error != nil {
				row = append(row, "(Failed)")
				continue
			}
			row = append(row, valueString(v))
		}
		if failed {
			msg := ""
			if d.Error != nil {
				msg = strings.TrimSpace(d.Error.Message)
			}
			row = append(row, msg)
		}
		t.Row(row...)
	}
}
