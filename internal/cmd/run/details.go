package run

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
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
	inputs, outputs := map[string]bool{}, map[string]bool{}
	failed := false
	for _, d := range details {
		for k := range d.Inputs {
			inputs[k] = true
		}
		for k := range d.Outputs {
			outputs[k] = true
		}
		failed = failed || d.Error != nil
	}
	in, out := sortedKeys(inputs), sortedKeys(outputs)
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
			row = append(row, valueString(d.Inputs[k]))
		}
		for _, k := range out {
			v, ok := d.Outputs[k]
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

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
