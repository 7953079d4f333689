package session

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmd/flowsession"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// StartOptions are the inputs of `session start`.
type StartOptions struct {
	common
	Settings flowsession.Settings
	Wait     waitFlags
}

// NewCmdStart returns `session start`.
func NewCmdStart(f *cmdutil.Factory, runF func(context.Context, *StartOptions) error) *cobra.Command {
	opts := &StartOptions{common: commonFrom(f)}
	var idle, identity string
	cmd := &cobra.Command{
		Use:   "start [--flow DIR] [--compute-type serverless|compute-instance] [--vm-size SIZE] [--idle-time DURATION] [--identity user|managed[:CLIENT_ID]] [--compute NAME]",
		Short: "Start the flow's compute session",
		Long: `Start the compute session of a flow with the environment in its flow.dag.yaml
(environment.image and the requirements file), or show it when it already
runs with the same settings.

Advanced settings, as in the studio:
  serverless (default)  --vm-size, --idle-time and --identity: user (default),
                        managed (the workspace's primary user-assigned
                        identity) or managed:CLIENT_ID
  compute-instance      --compute NAME (which implies this type) and
                        --idle-time; the VM size and the identity are the
                        instance's

A session started from the command line is deleted after 1 hour idle unless
--idle-time says otherwise. pfz waits until the session runs; --no-wait
returns once the start is accepted, --timeout gives up waiting (exit code 8,
the session keeps starting).`,
		Example: `  pfz session start
  pfz session start --flow ./my_flow --vm-size Standard_E4ds_v4 --idle-time 3h
  pfz session start --identity managed:00000000-0000-0000-0000-000000000000
  pfz session start --compute my-ci --no-wait`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if idle != "" {
				d, err := cmdutil.ParseDuration("--idle-time", idle)
				if err != nil {
					return err
				}
				opts.Settings.IdleTime = d
			}
			if identity != "" {
				id, err := cmdutil.ParseIdentity(identity)
				if err != nil {
					return err
				}
				opts.Settings.Identity = &id
			}
			if err := opts.Wait.parse(); err != nil {
				return err
			}
			opts.Settings.Infer()
			if err := opts.Settings.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runStart(c.Context(), opts)
		},
	}
	addFlowFlag(cmd, &opts.FlowDir)
	cmd.Flags().StringVar(&opts.Settings.ComputeType, "compute-type", "", "`TYPE`: serverless or compute-instance (default: compute-instance with --compute, else serverless)")
	cmd.Flags().StringVar(&opts.Settings.VMSize, "vm-size", "", "VM `SIZE` of serverless compute, e.g. Standard_E4ds_v4 (default: one the workspace has quota for)")
	cmd.Flags().StringVar(&idle, "idle-time", "", "delete the session after it is unused for `DURATION`, e.g. 90m (default 1h)")
	cmd.Flags().StringVar(&identity, "identity", "", "`IDENTITY` of a serverless session: user, managed or managed:CLIENT_ID (default user)")
	cmd.Flags().StringVar(&opts.Settings.Compute, "compute", "", "compute instance `NAME` to run on (implies --compute-type compute-instance)")
	addWaitFlags(cmd, &opts.Wait)
	return cmd
}

func runStart(ctx context.Context, opts *StartOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	ws, err := opts.Workspace(ctx)
	if err != nil {
		return err
	}
	settings := opts.Settings
	settings.StrictVMSize = ws.Target() == workspace.TargetLocal
	r, err := opts.resolve(ctx, settings)
	if err != nil {
		return err
	}
	sessions := ws.Sessions()
	so, rep := opts.startOptions(opts.Wait)
	s, err := sessions.Start(ctx, r.Spec, so)
	rep.Stop()
	if err != nil {
		return explain(err, r.Spec.ID, opts.FlowDir)
	}
	return printSession(p, s)
}
