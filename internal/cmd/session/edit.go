package session

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// EditOptions are the inputs of `session edit`.
type EditOptions struct {
	common
	Edit workspace.SessionEdit
	Wait waitFlags
}

// NewCmdEdit returns `session edit`.
func NewCmdEdit(f *cmdutil.Factory, runF func(context.Context, *EditOptions) error) *cobra.Command {
	opts := &EditOptions{common: commonFrom(f)}
	var vmSize, idle, identity, compute string
	cmd := &cobra.Command{
		Use:   "edit [--flow DIR] [--vm-size SIZE] [--idle-time DURATION] [--identity user|managed[:CLIENT_ID]] [--compute NAME]",
		Short: "Change the settings of the flow's running session",
		Long: `Change the settings of the flow's running session. A new VM size resets the
session (it is deleted and created again on the new size, which takes a few
minutes); the idle time and the identity change in place. On azureml,
--compute moves a session that runs on a compute instance to another
instance (it is set up again there, as the studio does; the local target
asks for a stop and a start instead). A compute-instance session keeps the
instance's VM size and identity.`,
		Example: `  pfz session edit --idle-time 4h
  pfz session edit --vm-size Standard_E8ds_v4 --timeout 20m
  pfz session edit --identity managed
  pfz session edit --compute my-other-instance`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Edit = workspace.SessionEdit{}
			if c.Flags().Changed("vm-size") {
				if vmSize == "" {
					return cmdutil.UsageErrorf(c, "--vm-size cannot be empty")
				}
				v := vmSize
				opts.Edit.VMSize = &v
			}
			if c.Flags().Changed("idle-time") {
				d, err := cmdutil.ParseDuration("--idle-time", idle)
				if err != nil {
					return err
				}
				opts.Edit.IdleTime = &d
			}
			if c.Flags().Changed("identity") {
				id, err := cmdutil.ParseIdentity(identity)
				if err != nil {
					return err
				}
				opts.Edit.Identity = &id
			}
			if c.Flags().Changed("compute") {
				if compute == "" {
					return cmdutil.UsageErrorf(c, "--compute cannot be empty")
				}
				v := compute
				opts.Edit.Compute = &v
			}
			if opts.Edit.VMSize == nil && opts.Edit.IdleTime == nil && opts.Edit.Identity == nil && opts.Edit.Compute == nil {
				return cmdutil.UsageErrorf(c, "nothing to change: give --vm-size, --idle-time, --identity or --compute")
			}
			if err := opts.Wait.parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runEdit(c.Context(), opts)
		},
	}
	addFlowFlag(cmd, &opts.FlowDir)
	cmd.Flags().StringVar(&vmSize, "vm-size", "", "new VM `SIZE` (resets the session)")
	cmd.Flags().StringVar(&idle, "idle-time", "", "new idle time `DURATION`, e.g. 2h")
	cmd.Flags().StringVar(&identity, "identity", "", "new `IDENTITY`: user, managed or managed:CLIENT_ID")
	cmd.Flags().StringVar(&compute, "compute", "", "move a compute-instance session to the compute instance `NAME` (resets the session)")
	addWaitFlags(cmd, &opts.Wait)
	return cmd
}

func runEdit(ctx context.Context, opts *EditOptions) error {
	found, err := opts.flowSession(ctx)
	if err != nil {
		return err
	}
	so, rep := opts.startOptions(opts.Wait)
	s, err := found.sessions.Edit(ctx, found.tg.ID, opts.Edit, so)
	rep.Stop()
	if err != nil {
		return explain(err, found.tg.ID, opts.FlowDir)
	}
	return printSession(found.p, s)
}
