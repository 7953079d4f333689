// Package flowcmd holds `pfz flow`: offline checks of a flow folder and
// single-line tests of a flow in its local session.
package flowcmd

import (
	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
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

// pathFlag adds pf's flag spelling of a command's FLOW argument (`pf flow
// test --flow DIR`, `pf flow validate --source DIR`), so a command copied
// from promptflow's docs works; flowPath then takes one or the other.
func pathFlag(cmd *cobra.Command, name string, into *string) {
	cmd.Flags().StringVar(into, name, "", "the flow folder or file `FLOW`, as pf names it (the same as the argument)")
}

// flowPath is the flow the command names: the argument or the --flag given
// as pf spells it; both with different values is a usage error.
func flowPath(args []string, flagName, flagValue string) (string, error) {
	if len(args) == 0 {
		return flagValue, nil
	}
	if flagValue != "" && flagValue != args[0] {
		return "", fault.New(fault.Usage, "the flow is named twice: %q and --%s %q", args[0], flagName, flagValue).
			WithHint("give the flow once, as an argument or with --%s", flagName)
	}
	return args[0], nil
}
