// Package app is pfz's process: it builds the Factory, runs the root command,
// prints the error (the only place that does) and maps it to the exit code,
// and turns a panic into a short message. cmd/pfz calls Main; tests call Run
// with buffers, an environment map and fake backends.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pfz-cli/pfz/internal/cmd/root"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
)

// Main runs pfz with the process's arguments, environment and streams and
// returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	getenv := config.OSEnv()
	wd, err := os.Getwd()
	if err != nil {
		wd = "."
	}
	return Run(ctx, Options{
		Args:    os.Args[1:],
		IO:      iostreams.System(getenv),
		Getenv:  getenv,
		WorkDir: wd,
	})
}

// Options are everything Run needs from the outside world.
type Options struct {
	Args    []string
	IO      *iostreams.IOStreams
	Getenv  func(string) string
	WorkDir string
	Now     func() time.Time
	// Environ is the environment of child processes (python workers, pip,
	// a detached session builder); nil is the process's own.
	Environ []string
	// Setup adjusts the Factory before the command runs: tests register
	// fake backends here.
	Setup func(*cmdutil.Factory)
}

// Run executes one pfz command line and returns its exit code.
func Run(ctx context.Context, o Options) (code int) {
	f := cmdutil.New(cmdutil.FactoryOptions{
		Build: buildInfo(), IO: o.IO, Getenv: o.Getenv, WorkDir: o.WorkDir, Now: o.Now,
	})
	environ := o.Environ
	if environ == nil {
		environ = config.OSEnviron()
	}
	registerBackends(f)
	registerLocal(f, environ)
	if len(o.Args) > 0 && o.Args[0] == buildSessionCmd {
		return runSessionBuild(ctx, f, environ, o.Args[1:])
	}
	if o.Setup != nil {
		o.Setup(f)
	}
	defer func() {
		if r := recover(); r != nil {
			code = reportPanic(f, o.Args, r)
		}
	}()

	cmd := root.NewCmdRoot(f)
	cmd.SetArgs(cmdutil.ExpandNargs(cmd, o.Args))
	ran, err := cmd.ExecuteContextC(ctx)
	if ctx.Err() == nil {
		warnIgnoredConfig(f, root.ShowsConfig(ran), err)
	}
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && !fault.Is(err, fault.Interrupted) && !errors.Is(err, context.Canceled) {
		// Ctrl-C arrived but the failure does not say so; it is still an interrupt.
		err = fault.Wrap(fault.Interrupted, err, "interrupted")
	}
	cmdutil.PrintError(f.IOStreams, err)
	if f.Global.Debug {
		fmt.Fprintf(f.IOStreams.ErrOut, "debug: %T: %+v\n", err, err)
	}
	if ctx.Err() != nil {
		return fault.Interrupted.ExitCode()
	}
	return cmdutil.ExitCode(err)
}

// warnIgnoredConfig names the settings that could not be used but that the
// command did not need, so it ran without them: a user who set PFZ_CLOUD
// wrong hears of it at the first command, not when a run is submitted.
// `pfz config` commands show the settings rather than use them.
func warnIgnoredConfig(f *cmdutil.Factory, shows bool, err error) {
	for _, p := range f.IgnoredConfigProblems(err) {
		keys := strings.Join(p.Keys, ", ")
		msg := fmt.Sprintf("%s (ignored: this command does not use %s)", p.Err.Error(), keys)
		if shows {
			msg = fmt.Sprintf("%s; commands that use %s fail until it is fixed", p.Err.Error(), keys)
		}
		if hint := fault.HintOf(p.Err); hint != "" {
			msg += "\n  hint: " + hint
		}
		cmdutil.Warnf(f.IOStreams, "%s", msg)
	}
}

// reportPanic prints a short message (and the stack with --debug) and
// returns exit code 1.
func reportPanic(f *cmdutil.Factory, args []string, r any) int {
	cmdutil.PrintError(f.IOStreams, fault.New(fault.Failed, "pfz crashed: %v", r).
		WithHint("this is a bug in pfz; please report it with the output of the same command run with --debug"))
	if f.Global.Debug || slices.Contains(args, "--debug") || slices.Contains(args, "-d") {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s", debug.Stack())
	}
	return 1
}
