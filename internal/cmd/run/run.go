// Package run holds the `pfz run` commands: pfazure's run surface (create,
// show, list, stream, cancel, show-details, show-metrics, download,
// visualize, archive, restore, update) with its flag spellings, on either
// target. Commands are thin: they read flags into Options and call the
// workspace.Runs interface; run.yml and flag merging live in internal/runspec.
package run

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// NewCmdRun returns the run command group.
func NewCmdRun(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run <command>",
		Short: "Create and inspect flow runs (pfazure run compatible)",
		Long: `Create and inspect flow runs on the local target or an Azure ML workspace.

The commands, flags and run.yml format match pfazure's, so a CI step can switch
from "pfazure run ..." to "pfz run ...". Long flags may be abbreviated to any
unique prefix, as pfazure allows (--env for --environment-variables).`,
		Example: `  pfz run create -f run.yml --stream
  pfz run show -n my_run -o json
  pfz run list -r 10`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRunE,
	}
	for _, c := range []*cobra.Command{
		NewCmdCreate(f, nil),
		NewCmdShow(f, nil),
		NewCmdList(f, nil),
		NewCmdStream(f, nil),
		NewCmdCancel(f, nil),
		NewCmdShowDetails(f, nil),
		NewCmdShowMetrics(f, nil),
		NewCmdDownload(f, nil),
		NewCmdVisualize(f, nil),
		NewCmdArchive(f, nil),
		NewCmdRestore(f, nil),
		NewCmdUpdate(f, nil),
	} {
		cmdutil.AllowFlagPrefixes(c)
		cmd.AddCommand(c)
	}
	return cmd
}

// common are the dependencies every run command takes from the Factory.
type common struct {
	IO        *iostreams.IOStreams
	Workspace func(context.Context) (workspace.Workspace, error)
	Printer   func() (*cmdutil.Printer, error)
}

func commonFrom(f *cmdutil.Factory) common {
	return common{IO: f.IOStreams, Workspace: f.Workspace, Printer: f.Printer}
}

func (c common) runs(ctx context.Context) (workspace.Runs, error) {
	ws, err := c.Workspace(ctx)
	if err != nil {
		return nil, err
	}
	return ws.Runs(), nil
}

// printerAndRuns opens the output printer, then the target's runs: a bad -o
// is reported before any sign-in.
func (c common) printerAndRuns(ctx context.Context) (*cmdutil.Printer, workspace.Runs, error) {
	p, err := c.Printer()
	if err != nil {
		return nil, nil, err
	}
	runs, err := c.runs(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, runs, nil
}

// byName is the RunE of a command on the one run -n names and no other
// flag to check: -n is required, then runF (a test's stand-in) or run.
func byName[O any](name *string, opts O, runF, run func(context.Context, O) error) func(*cobra.Command, []string) error {
	if runF != nil {
		run = runF
	}
	return func(c *cobra.Command, _ []string) error {
		if err := cmdutil.RequireFlag(c, "name", *name); err != nil {
			return err
		}
		return run(c.Context(), opts)
	}
}

// addNameFlag adds pfazure's required -n/--name.
func addNameFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "`NAME` of the run (required)")
}
