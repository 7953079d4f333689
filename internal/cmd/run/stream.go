package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// defaultStreamTimeout is pfazure's: stop following after ten minutes with
// neither a new log line nor a status change.
const defaultStreamTimeout = 600 * time.Second

// StreamOptions are the inputs of `run stream`.
type StreamOptions struct {
	common
	Name     string
	Timeout  time.Duration
	Interval time.Duration
	Now      func() time.Time
	// FailOnLineErrors makes a Completed run with failed lines exit 1.
	FailOnLineErrors bool
}

// NewCmdStream returns `run stream`.
func NewCmdStream(f *cmdutil.Factory, runF func(context.Context, *StreamOptions) error) *cobra.Command {
	opts := &StreamOptions{common: commonFrom(f), Now: f.Now}
	var timeout string
	cmd := &cobra.Command{
		Use:   "stream -n NAME [--timeout SECONDS]",
		Short: "Follow a run's logs until it ends",
		Long: `Follow a run's logs until it ends, then show the run.

Logs go to stdout, or to stderr with -o json/yaml so that stdout holds only the
run. The exit code says how the run ended: 0 Completed, 1 Failed or Canceled,
8 when --timeout passed with neither new logs nor a status change while the
run still runs (it keeps running; stream it again), 130 on Ctrl-C. --timeout
also bounds each call in flight: a service that stops answering ends the
command when it passes, with exit 1 naming the host.

As in promptflow, a run whose lines fail still ends Completed, the failed
lines counted. --fail-on-line-errors makes such a run exit 1, for CI.`,
		Example: `  pfz run stream -n my_run
  pfz run stream -n my_run --timeout 30m -o json
  pfz run stream -n my_run --fail-on-line-errors`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			d, err := cmdutil.ParseSeconds("--timeout", timeout)
			if err != nil {
				return err
			}
			opts.Timeout = d
			opts.Interval = f.PollInterval
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runStream(c.Context(), opts)
		},
	}
	addNameFlag(cmd, &opts.Name)
	cmd.Flags().StringVar(&timeout, "timeout", "600", "stop after `SECONDS` (or a duration) without new logs or a status change")
	cmd.Flags().BoolVar(&opts.FailOnLineErrors, "fail-on-line-errors", false, failOnLineErrorsUsage)
	return cmd
}

func runStream(ctx context.Context, opts *StreamOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	return streamAndPrint(ctx, opts.common, p, runs, opts.Name, opts.Timeout, opts.Interval, opts.Now, opts.FailOnLineErrors)
}

const failOnLineErrorsUsage = "exit 1 when the run completes with failed lines (it still ends Completed, as in promptflow)"

// streamAndPrint follows the run, prints it, and turns its final status into
// the error that decides the exit code.
func streamAndPrint(ctx context.Context, c common, p *cmdutil.Printer, runs workspace.Runs, name string, timeout, interval time.Duration, now func() time.Time, failOnLineErrors bool) error {
	rep := cmdutil.NewReporter(c.IO)
	logs := streamLogWriter(c, p)
	rep.Logs = logs // states the log does not say go with it, in one stream
	r, err := follow(ctx, runs, name, timeout, interval, now, logs, rep)
	rep.Stop()
	if err != nil {
		return err
	}
	return printFinal(c, p, r, failOnLineErrors)
}

// streamLogWriter is where a streamed run log goes: stdout for a table, as
// pfazure prints it, and stderr when stdout carries a JSON or YAML document.
func streamLogWriter(c common, p *cmdutil.Printer) io.Writer {
	if p.IsTable() {
		return c.IO.Out
	}
	return c.IO.ErrOut
}

// printFinal prints the run after its log and turns its final status into
// the error that decides the exit code.
func printFinal(c common, p *cmdutil.Printer, r *workspace.Run, failOnLineErrors bool) error {
	if p.IsTable() {
		fmt.Fprintln(c.IO.Out)
	}
	if err := printRun(p, r); err != nil {
		return err
	}
	return finalStatusError(r, failOnLineErrors)
}

func finalStatusError(r *workspace.Run, failOnLineErrors bool) error {
	switch r.Status {
	case workspace.RunFailed:
		msg := "unknown error"
		if r.Error != nil && r.Error.Message != "" {
			msg = r.Error.Message
		}
		return fault.New(fault.Failed, "run %s failed: %s", r.Name, msg).
			WithHint("see `pfz run show-details -n %s` for the lines that failed", r.Name)
	case workspace.RunCanceled:
		return fault.New(fault.Failed, "run %s was canceled", r.Name)
	case workspace.RunCompleted:
		if failOnLineErrors && r.LinesFailed > 0 {
			return fault.New(fault.Failed, "run %s completed with %d failed lines of %d (--fail-on-line-errors)", r.Name, r.LinesFailed, r.LinesTotal).
				WithHint("see `pfz run show-details -n %s` for the lines that failed", r.Name)
		}
	}
	return nil
}

// follow polls the run until it ends, writing new log text to logs and
// status changes to rep. It gives up with fault.Timeout after timeout
// without any change.
func follow(ctx context.Context, runs workspace.Runs, name string, timeout, interval time.Duration, now func() time.Time, logs io.Writer, rep workspace.Reporter) (*workspace.Run, error) {
	if timeout <= 0 {
		timeout = defaultStreamTimeout
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	lastChange := now()
	// Every call in flight is bounded by what is left of --timeout, so a
	// service that stops answering cannot outlast it: the network policy
	// names the silent host (exit 1, nothing says the run goes on).
	bounded := func() (context.Context, context.CancelFunc) {
		left := max(timeout-now().Sub(lastChange), time.Second)
		return context.WithTimeout(ctx, left)
	}
	// A deadline met by a call that was not silent (the network policy
	// turns silence into a *netpolicy.NoAnswerError) is the --timeout itself.
	passed := func(err error) error {
		var fe *fault.Error
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &fe) {
			return fault.Wrap(fault.Timeout, err, "run %s: no new logs or status change for %s", name, timeout).
				WithHint("it may still be running; follow it again with `pfz run stream -n %s`, or pass a longer --timeout", name)
		}
		return err
	}
	cctx, cancel := bounded()
	r, err := runs.Get(cctx, name)
	cancel()
	if err != nil {
		return nil, passed(err)
	}
	printed := 0
	status := ""
	for {
		cctx, cancel := bounded()
		text, err := runs.Logs(cctx, name)
		cancel()
		if err != nil {
			return nil, passed(interrupted(ctx, err, r))
		}
		// A new state comes before the new log text, but a final one after
		// it: it is the last thing the run says.
		final := workspace.IsTerminal(r.Status)
		if r.Status != status && !final {
			status = r.Status
			lastChange = now()
			reportState(rep, name, status, text)
		}
		if len(text) < printed { // the log was replaced: start again
			printed = 0
		}
		if len(text) > printed {
			if _, err := io.WriteString(logs, text[printed:]); err != nil {
				return nil, err
			}
			printed = len(text)
			lastChange = now()
		}
		if r.Status != status && final {
			status = r.Status
			reportState(rep, name, status, text)
		}
		if workspace.IsTerminal(r.Status) {
			return r, nil
		}
		if now().Sub(lastChange) > timeout {
			return nil, fault.New(fault.Timeout, "run %s is still %s: no new logs or status change for %s", name, r.Status, timeout).
				WithHint("it keeps running; follow it again with `pfz run stream -n %s`, or pass a longer --timeout", name)
		}
		select {
		case <-ctx.Done():
			return nil, interrupted(ctx, ctx.Err(), r)
		case <-time.After(interval):
		}
		cctx, cancel = bounded()
		next, err := runs.Get(cctx, name)
		cancel()
		if err != nil {
			return nil, passed(interrupted(ctx, err, r))
		}
		r = next
	}
}

// reportState reports a run's new state; a log that says the state itself
// (the local target's does) need not be echoed where the log is streamed.
func reportState(rep workspace.Reporter, name, status, log string) {
	inLog := strings.Contains(log, fmt.Sprintf("Run %s is %s", name, status))
	rep.Report(workspace.Event{Kind: workspace.EventRunStatus, Message: fmt.Sprintf("run %s: %s", name, status), InLog: inLog})
}

// interrupted explains a cancelled wait: the run itself goes on.
func interrupted(ctx context.Context, err error, r *workspace.Run) error {
	if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		return err
	}
	where := r.Target
	if where == "" {
		where = "its target"
	}
	kind := fault.Interrupted
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		kind = fault.Timeout
	}
	return fault.Wrap(kind, err, "stopped following run %s; it is still running on %s", r.Name, where).
		WithHint("follow it with `pfz run stream -n %s`, or cancel it with `pfz run cancel -n %s`", r.Name, r.Name)
}
