package session

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
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
	found, err := opts.flowSession(ctx)
	if err != nil {
		return err
	}
	so, rep := opts.startOptions(opts.Wait)
	var s *workspace.Session
	if found.tg.Stale == nil {
		s, err = found.sessions.Reset(ctx, found.tg.ID, so)
	} else {
		// The environment changed: the session comes back under the id of
		// the current environment, with the old one's compute settings.
		s, err = replace(ctx, found.sessions, found.tg.Stale, found.r.Spec, so)
	}
	rep.Stop()
	if err != nil {
		return explain(err, found.r.Spec.ID, opts.FlowDir)
	}
	return printSession(found.p, s)
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
	found, err := opts.flowSession(ctx)
	if err != nil {
		return err
	}
	if err := found.sessions.Stop(ctx, found.tg.ID); err != nil {
		return explain(err, found.tg.ID, opts.FlowDir)
	}
	res := struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}{found.tg.ID, "Stopped"}
	if found.p.IsTable() {
		cmdutil.Infof(opts.IO, "stopped session %s", found.tg.ID)
		return nil
	}
	return found.p.Print(res, nil)
}

// replace stops the flow's stale session and starts one for spec with the
// stale session's compute settings.
func replace(ctx context.Context, sessions workspace.Sessions, old *workspace.Session, spec workspace.SessionSpec, so workspace.StartOptions) (*workspace.Session, error) {
	spec.ComputeType, spec.ComputeName, spec.VMSize = old.ComputeType, old.Compute, old.VMSize
	if old.IdleTimeSeconds > 0 {
		spec.IdleTime = time.Duration(old.IdleTimeSeconds) * time.Second
	}
	if old.Identity.Type != "" {
		spec.Identity = old.Identity
	}
	if err := sessions.Stop(ctx, old.ID); err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	return sessions.Start(ctx, spec, so)
}
