// Package flowcmd holds `pfz flow`: offline checks of a flow folder and
// single-line tests of a flow in its local session.
package flowcmd

import (
	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// NewCmdFlow returns the flow command group.
func NewCmdFlow(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow <command>",
		Short: "Check and test flows; manage workspace flows",
		Long: `Check a flow folder offline (flow.dag.yaml or flow.flex.yaml, the files it names, its
requirements and, optionally, the run.yml that runs it), or run one line through it in its
local session. On the azureml target, create, show, list and update the workspace's flows.`,
		Example: `  pfz flow validate
  pfz flow validate ./my_flow -f ./my_flow/run.yml
  pfz flow test ./my_flow --inputs question="What is prompt flow?"`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdValidate(f, nil))
	cmd.AddCommand(NewCmdTest(f, nil))
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdShow(f, nil), NewCmdList(f, nil), NewCmdUpdate(f, nil))
	return cmd
}
