// Package flowcmd holds `pfz flow`: offline checks of a flow folder.
package flowcmd

import (
	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// NewCmdFlow returns the flow command group.
func NewCmdFlow(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow <command>",
		Short: "Check flows offline; manage workspace flows",
		Long:  "Check a flow folder offline: flow.dag.yaml, the files it names, its requirements and, optionally, the run.yml that runs it.",
		Example: `  pfz flow validate
  pfz flow validate ./my_flow -f ./my_flow/run.yml`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdValidate(f, nil))
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdShow(f, nil), NewCmdList(f, nil), NewCmdUpdate(f, nil))
	return cmd
}
