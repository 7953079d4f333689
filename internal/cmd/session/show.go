package session

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmd/flowsession"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// ShowOptions are the inputs of `session show`.
type ShowOptions struct{ common }

// NewCmdShow returns `session show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "show [--flow DIR]",
		Short: "Show the flow's compute session",
		Long:  "Show the compute session of a flow: its status, compute, VM size, idle time, identity and image. Exit code 1 when the flow has no session.",
		Example: `  pfz session show
  pfz session show --flow ./my_flow -o json --query status`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runShow(c.Context(), opts)
		},
	}
	addFlowFlag(cmd, &opts.FlowDir)
	return cmd
}

func runShow(ctx context.Context, opts *ShowOptions) error {
	found, err := opts.flowSession(ctx)
	if err != nil {
		return err
	}
	s, err := found.sessions.Get(ctx, found.tg.ID)
	if err != nil {
		return explain(err, found.tg.ID, opts.FlowDir)
	}
	return printSession(found.p, s)
}

// ListOptions are the inputs of `session list`.
type ListOptions struct {
	common
	ByFlow bool
}

// NewCmdList returns `session list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "list [--flow DIR]",
		Short: "List your compute sessions",
		Long: `List your compute sessions on the target; with --flow, only that flow's.

On azureml the service has no call that lists sessions, so pfz lists the
sessions it started from this machine (recorded under PFZ_HOME) that the
workspace still has, each refreshed from the service; sessions started from
the studio or another machine are not listed (` + "`pfz session show --flow DIR`" + `
finds a flow's session wherever it was started).`,
		Example: `  pfz session list
  pfz session list --flow ./my_flow -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.ByFlow = c.Flags().Changed("flow")
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runList(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.FlowDir, "flow", ".", "only the sessions of the flow folder `DIR`")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	var filter workspace.SessionFilter
	if opts.ByFlow {
		r, err := opts.resolve(ctx, flowsession.Settings{})
		if err != nil {
			return err
		}
		filter.FlowDir = r.Flow.Dir
	}
	ws, err := opts.Workspace(ctx)
	if err != nil {
		return err
	}
	if ws.Target() == workspace.TargetAzureML {
		fmt.Fprintln(opts.IO.ErrOut, "note: the service lists no sessions; these are the sessions pfz started from this machine (`pfz session show --flow DIR` finds any flow's session)")
	}
	list, err := ws.Sessions().List(ctx, filter)
	if err != nil {
		return err
	}
	return cmdutil.PrintList(p, "sessions", list, func(t *cmdutil.Table) {
		t.Header("id", "status", "compute type", "vm size", "flow")
		for _, s := range list {
			size := s.VMSize
			if size == "" {
				size = s.Compute
			}
			t.Row(s.ID, s.Status, s.ComputeType, size, s.FlowDir)
		}
	})
}
