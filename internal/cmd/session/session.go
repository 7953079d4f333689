// Package session holds `pfz session`: start (with the studio's advanced
// settings), show, list, edit, reset and stop the compute session a flow
// binds to, on either target.
package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmd/flowsession"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// NewCmdSession returns the session command group.
func NewCmdSession(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session <command>",
		Short: "Manage the compute session a flow runs in",
		Long: `Manage the compute session a flow runs in: what the studio offers as Start,
Start with advanced settings, Edit, Reset and Stop.

A flow binds to one session. Its id is derived from you, the flow's location
(lineage) and its environment (environment.image and the requirements file),
as pfazure and the studio derive it, so all three find the same session. Each
command names its flow with --flow DIR (default: the current directory).`,
		Example: `  pfz session start --flow ./my_flow
  pfz session start --vm-size Standard_E4ds_v4 --idle-time 2h --identity managed
  pfz session show -o json
  pfz session stop`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(
		NewCmdStart(f, nil),
		NewCmdShow(f, nil),
		NewCmdList(f, nil),
		NewCmdEdit(f, nil),
		NewCmdReset(f, nil),
		NewCmdStop(f, nil),
	)
	return cmd
}

// common are the dependencies every session command takes from the Factory.
type common struct {
	IO        *iostreams.IOStreams
	Workspace func(context.Context) (workspace.Workspace, error)
	UserAlias func(context.Context) (string, error)
	Printer   func() (*cmdutil.Printer, error)
	Debug     func() bool
	Verbosef  func(format string, args ...any)
	FlowDir   string
}

func commonFrom(f *cmdutil.Factory) common {
	return common{
		IO: f.IOStreams, Workspace: f.Workspace, UserAlias: f.UserAlias, Printer: f.Printer,
		Debug: func() bool { return f.Global.Debug }, Verbosef: f.Verbosef,
	}
}

func addFlowFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "flow", ".", "the flow folder `DIR` (or flow file) whose session this is")
}

// resolve finds the flow's session spec with the given settings and prints
// the warnings found on the way.
func (c common) resolve(ctx context.Context, s flowsession.Settings) (*flowsession.Resolved, error) {
	alias, err := c.UserAlias(ctx)
	if err != nil {
		return nil, err
	}
	r, err := flowsession.Resolve(ctx, c.FlowDir, alias, s)
	if err != nil {
		return nil, err
	}
	for _, d := range r.Diagnostics {
		fmt.Fprintln(c.IO.ErrOut, cmdutil.FormatDiagnostic(c.IO.ColorScheme(), d))
	}
	c.Verbosef("session %s for flow %s (user %s, lineage %s, environment %s)",
		r.Spec.ID, r.Flow.Dir, r.Spec.UserAlias, r.Spec.LineageID, r.Spec.EnvHash)
	return r, nil
}

func (c common) sessions(ctx context.Context) (workspace.Sessions, error) {
	ws, err := c.Workspace(ctx)
	if err != nil {
		return nil, err
	}
	return ws.Sessions(), nil
}

// waitFlags are --no-wait and --timeout of the commands that start work.
type waitFlags struct {
	NoWait  bool
	Timeout time.Duration
	raw     string
}

func addWaitFlags(cmd *cobra.Command, w *waitFlags) {
	cmd.Flags().BoolVar(&w.NoWait, "no-wait", false, "return once the target accepted the request")
	cmd.Flags().StringVar(&w.raw, "timeout", "", "give up waiting after `DURATION`, e.g. 20m (exit code 8; the work goes on)")
}

func (w *waitFlags) parse() error {
	if w.raw == "" {
		return nil
	}
	d, err := cmdutil.ParseDuration("--timeout", w.raw)
	if err != nil {
		return err
	}
	w.Timeout = d
	return nil
}

// startOptions returns the options of a start, edit, reset or install, with
// a reporter the caller must stop.
func (c common) startOptions(w waitFlags) (workspace.StartOptions, *cmdutil.Reporter) {
	rep := cmdutil.NewReporter(c.IO)
	return workspace.StartOptions{NoWait: w.NoWait, Timeout: w.Timeout, Reporter: rep, Debug: c.Debug()}, rep
}

// explain adds what the user can do to the errors of session operations.
func explain(err error, id, flowDir string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fault.Wrap(fault.Interrupted, err, "stopped waiting for session %s; the target may still be working on it", id).
			WithHint("check it with `pfz session show --flow %s`", flowDir)
	}
	if fault.Is(err, fault.NotFound) && fault.HintOf(err) == "" {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return fault.Wrap(fault.NotFound, err, "no session for flow %s", flowDir).
				WithHint("start one with `pfz session start --flow %s`", flowDir)
		}
	}
	if fault.Is(err, fault.Timeout) && fault.HintOf(err) == "" {
		return fault.Wrap(fault.Timeout, err, "session %s is not ready yet", id).
			WithHint("it keeps starting; check it with `pfz session show --flow %s`", flowDir)
	}
	return err
}

func printSession(p *cmdutil.Printer, s *workspace.Session) error {
	return p.Print(s, func(t *cmdutil.Table) { sessionTable(t, s) })
}

func sessionTable(t *cmdutil.Table, s *workspace.Session) {
	size := s.VMSize
	if s.VCPUs > 0 {
		size += fmt.Sprintf(" (%d vCPUs, %g GB)", s.VCPUs, s.MemoryGB)
	}
	idle := ""
	if s.IdleTimeSeconds > 0 {
		idle = (time.Duration(s.IdleTimeSeconds) * time.Second).String()
	}
	identity := s.Identity.Type
	if s.Identity.ClientID != "" {
		identity += " (client id " + s.Identity.ClientID + ")"
	}
	expires := ""
	if s.ExpiresAt != nil {
		expires = s.ExpiresAt.Format(time.RFC3339)
	}
	cmdutil.KeyValues(t,
		"id", s.ID,
		"status", s.Status,
		"target", s.Target,
		"compute type", s.ComputeType,
		"compute", s.Compute,
		"vm size", size,
		"idle time", idle,
		"expires", expires,
		"identity", identity,
		"image", s.Image,
		"python", s.PythonVersion,
		"flow", s.FlowDir,
		"message", s.Message,
	)
}

// flowSession is what a command on the flow's existing session starts from.
type flowSession struct {
	p        *cmdutil.Printer
	r        *flowsession.Resolved
	sessions workspace.Sessions
	tg       flowsession.Target
}

// flowSession opens the printer (a bad -o is reported before any sign-in),
// resolves the flow and finds its session on the target.
func (c common) flowSession(ctx context.Context) (*flowSession, error) {
	p, err := c.Printer()
	if err != nil {
		return nil, err
	}
	r, err := c.resolve(ctx, flowsession.Settings{})
	if err != nil {
		return nil, err
	}
	sessions, err := c.sessions(ctx)
	if err != nil {
		return nil, err
	}
	tg, err := c.find(ctx, sessions, r)
	if err != nil {
		return nil, explain(err, r.Spec.ID, c.FlowDir)
	}
	return &flowSession{p: p, r: r, sessions: sessions, tg: tg}, nil
}

// find returns the session the flow's id names or, when the environment
// changed since the flow's session started, that older session, with a
// warning that says how to bring it up to date.
func (c common) find(ctx context.Context, sessions workspace.Sessions, r *flowsession.Resolved) (flowsession.Target, error) {
	tg, err := flowsession.Find(ctx, sessions, r)
	if err == nil && tg.Stale != nil {
		cmdutil.Warnf(c.IO, "%s", tg.Warning(c.FlowDir, r.Spec.ID))
	}
	return tg, err
}
