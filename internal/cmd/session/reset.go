package session

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmd/flowsession"
	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// ResetOptions are the inputs of `session reset`.
type ResetOptions struct {
	common
	Wait waitFlags
}

// NewCmdReset returns `session reset`.
func NewCmdReset(f *cmdutil.Factory, runF func(context.Context, *ResetOptions) error) *cobra.Command {
	opts := &ResetOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "reset [--flow DIR]",
		Short: "Delete the flow's session and create it again",
		Long: `Delete the flow's session and create it again with the same environment and
settings. This is how a new base image takes effect, and it clears package
conflicts. It takes a few minutes.`,
		Example: `  pfz session reset
  pfz session reset --flow ./my_flow --no-wait`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := opts.Wait.parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runReset(c.Context(), opts)
		},
	}
	addFlowFlag(cmd, &opts.FlowDir)
	addWaitFlags(cmd, &opts.Wait)
	return cmd
}

func runReset(ctx context.Context, opts *ResetOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	r, err := opts.resolve(ctx, flowsession.Settings{})
	if err != nil {
		return err
	}
	sessions, err := opts.sessions(ctx)
	if err != nil {
		return err
	}
	so, rep := opts.startOptions(opts.Wait)
	s, err := sessions.Reset(ctx, r.Spec.ID, so)
	rep.Stop()
	if err != nil {
		return explain(err, r.Spec.ID, opts.FlowDir)
	}
	return printSession(p, s)
}

// StopOptions are the inputs of `session stop`.
type StopOptions struct{ common }

// NewCmdStop returns `session stop`.
func NewCmdStop(f *cmdutil.Factory, runF func(context.Context, *StopOptions) error) *cobra.Command {
	opts := &StopOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "stop [--flow DIR]",
		Short: "Delete the flow's session",
		Long: `Delete the flow's compute session. Serverless compute with no session left on
it is released. The next run or ` + "`pfz session start`" + ` creates a new session.`,
		Example: `  pfz session stop
  pfz session stop --flow ./my_flow`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runStop(c.Context(), opts)
		},
	}
	addFlowFlag(cmd, &opts.FlowDir)
	return cmd
}

func runStop(ctx context.Context, opts *StopOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	r, err := opts.resolve(ctx, flowsession.Settings{})
	if err != nil {
		return err
	}
	sessions, err := opts.sessions(ctx)
	if err != nil {
		return err
	}
	if err := sessions.Stop(ctx, r.Spec.ID); err != nil {
		return explain(err, r.Spec.ID, opts.FlowDir)
	}
	res := struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}{r.Spec.ID, "Stopped"}
	if p.IsTable() {
		cmdutil.Infof(opts.IO, "stopped session %s", r.Spec.ID)
		return nil
	}
	return p.Print(res, nil)
}
