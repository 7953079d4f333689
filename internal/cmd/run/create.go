package run

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/human"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/redact"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// CreateOptions are the inputs of `run create`.
type CreateOptions struct {
	common
	UserAlias func(context.Context) (string, error)
	Getenv    func(string) string
	WorkDir   string
	Target    func() (string, error)
	// FlexSignature is the target's reader of flex entry signatures.
	FlexSignature func() (snapshot.SignatureFunc, error)
	Now           func() time.Time
	Interval      time.Duration

	Flags  runspec.Flags
	DryRun bool
	Stream bool
	// FailOnLineErrors (with Stream) makes a Completed run with failed lines exit 1.
	FailOnLineErrors bool
	StreamTimeout    time.Duration
	LineTimeout      time.Duration
	ResetRuntime     bool
}

// NewCmdCreate returns `run create`.
func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{
		common: commonFrom(f), UserAlias: f.UserAlias, Getenv: f.Getenv, WorkDir: f.WorkDir, Now: f.Now,
		Target: func() (string, error) {
			cfg, err := f.Config()
			if err != nil {
				return "", err
			}
			return cfg.Target, nil
		},
		FlexSignature: f.FlexSignature,
	}
	fl := &opts.Flags
	var lineTimeout, streamTimeout string
	cmd := &cobra.Command{
		Use:   "create (-f run.yml | --flow FLOW --data DATA | --resume-from RUN) [flags]",
		Short: "Create a run from run.yml or flags",
		Long: `Create a run of a flow over a data set, from a run.yml (-f), from flags
(--flow with --data or --run), or by resuming a run (--resume-from). The
flags, run.yml fields and their precedence are pfazure's: with -f, a flag
beats --set, which beats the YAML; with --flow, --set beats the flags.
Relative paths in run.yml are taken from the YAML's folder.

KEY=VALUE options take several values after one flag, as in pfazure:
  --column-mapping question='${data.question}' context='${run.outputs.answer}'
  --environment-variables KEY=VALUE... or FILE.env (alone: the nearest .env
                          found upward from the current folder); --env works
  --connections NODE.KEY=VALUE...
  --set PATH=VALUE...     any run.yml property, e.g. resources.instance_type=...
  --init KEY=VALUE... or one .json/.jsonl file (flex flow __init__ arguments)

The run is checked offline before anything is uploaded: errors in run.yml or
the flow stop it with exit code 2. --dry-run stops there and prints what
would be submitted: the snapshot's files and hash, data, column mapping,
variant, variables, connections, session id, runtime, compute and identity.

--stream follows the run's logs until it ends; the exit code then says how it
ended (0 Completed, 1 Failed or Canceled, 8 no progress for --timeout). As in
promptflow, a run whose lines fail still ends Completed with the failed lines
counted; add --fail-on-line-errors to make such a run exit 1 (for CI).`,
		Example: `  pfz run create -f run.yml --stream
  pfz run create -f run.yml --stream --fail-on-line-errors
  pfz run create --flow ./web_classification --data ./data.jsonl \
    --column-mapping url='${data.url}' --env OPENAI_API_BASE=https://x
  pfz run create -f run.yml --set resources.instance_type=Standard_E8ds_v4 --dry-run -o json
  pfz run create --resume-from my_failed_run --name my_failed_run_resumed`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fl.EnvironmentVariablesGiven = c.Flags().Changed("environment-variables")
			fl.EnvironmentVariables = nonEmpty(fl.EnvironmentVariables)
			if lineTimeout != "" {
				d, err := cmdutil.ParseSeconds("--line-timeout", lineTimeout)
				if err != nil {
					return err
				}
				opts.LineTimeout = d
			}
			d, err := cmdutil.ParseSeconds("--timeout", streamTimeout)
			if err != nil {
				return err
			}
			opts.StreamTimeout = d
			if c.Flags().Changed("timeout") && !opts.Stream {
				return cmdutil.UsageErrorf(c, "--timeout applies to --stream")
			}
			if opts.FailOnLineErrors && !opts.Stream {
				return cmdutil.UsageErrorf(c, "--fail-on-line-errors applies to --stream (or use `pfz run stream --fail-on-line-errors`)")
			}
			if opts.DryRun && opts.Stream {
				return cmdutil.UsageErrorf(c, "--dry-run submits nothing, so there is nothing to --stream")
			}
			opts.Interval = f.PollInterval
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runCreate(c.Context(), opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&fl.File, "file", "f", "", "the run definition `run.yml`; relative paths in it are taken from its folder")
	flags.StringVar(&fl.Flow, "flow", "", "the `FLOW`: a folder, a flow YAML or .prompty file, azureml:<name>, or module:function")
	flags.StringVar(&fl.Data, "data", "", "local `DATA` file or folder, or remote data (azureml:name:version, a URL)")
	flags.StringVar(&fl.Run, "run", "", "the `RUN` whose outputs this run reads (${run.outputs.x})")
	flags.StringVar(&fl.Variant, "variant", "", "node variant, as `${NODE.VARIANT}`")
	flags.StringVarP(&fl.Name, "name", "n", "", "run `NAME` (default: derived from the flow folder, variant and time)")
	flags.StringVar(&fl.DisplayName, "display-name", "", "`DISPLAY_NAME` of the run")
	flags.StringVar(&fl.Description, "description", "", "`DESCRIPTION` of the run")
	flags.StringArrayVar(&fl.Tags, "tags", nil, "tags as `KEY=VALUE`...")
	flags.StringArrayVar(&fl.ColumnMapping, "column-mapping", nil, "flow input to data column, `KEY=VALUE`..., e.g. url='${data.url}'")
	flags.StringArrayVar(&fl.EnvironmentVariables, "environment-variables", nil, "`KEY=VALUE`... or FILE.env; alone, the nearest .env (alias --env)")
	flags.StringArrayVar(&fl.Connections, "connections", nil, "connection overrides, `NODE.KEY=VALUE`..., e.g. classify.connection=my_aoai")
	flags.StringArrayVar(&fl.Set, "set", nil, "override run.yml properties, `PATH=VALUE`...")
	flags.StringArrayVar(&fl.Init, "init", nil, "flex flow __init__ arguments: `KEY=VALUE`... or one .json/.jsonl file")
	flags.StringVar(&fl.ResumeFrom, "resume-from", "", "resume this `RUN`: rerun its failed and missing lines")
	flags.StringVar(&fl.InstanceType, "vm-size", "", "`SIZE` of the session's serverless compute (resources.instance_type)")
	flags.StringVar(&fl.Compute, "compute", "", "compute instance `NAME` to run on (resources.compute; it has its own VM size and identity)")
	flags.StringVar(&fl.IdleTime, "idle-time", "", "idle time (a `DURATION`, e.g. 2h) of a session this run starts")
	flags.StringVar(&fl.Identity, "identity", "", "`IDENTITY`: user, managed or managed:CLIENT_ID")
	flags.BoolVarP(&opts.Stream, "stream", "s", false, "follow the run's logs until it ends")
	flags.BoolVar(&opts.FailOnLineErrors, "fail-on-line-errors", false, "with --stream: "+failOnLineErrorsUsage)
	flags.StringVar(&streamTimeout, "timeout", "600", "with --stream: stop following after `SECONDS` (or a duration) without progress")
	flags.BoolVar(&opts.DryRun, "dry-run", false, "check and resolve everything, print the submission, submit nothing")
	flags.StringVar(&lineTimeout, "line-timeout", "", "local target: time limit of one data line in `SECONDS` or a duration (default 600)")
	flags.StringVar(&fl.Runtime, "runtime", "", "runtime `NAME` (automatic: a compute session)")
	flags.BoolVar(&opts.ResetRuntime, "reset-runtime", false, "accepted for pfazure compatibility; has no effect")
	_ = flags.MarkHidden("runtime")
	_ = flags.MarkHidden("reset-runtime")
	for _, n := range []string{"tags", "column-mapping", "connections", "set", "init"} {
		cmdutil.MarkNargs(cmd, n, false)
	}
	cmdutil.MarkNargs(cmd, "environment-variables", true)
	return cmd
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func runCreate(ctx context.Context, opts *CreateOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	if opts.ResetRuntime {
		cmdutil.Warnf(opts.IO, "--reset-runtime has no effect (pfazure ignores it too); use `pfz session reset`")
	}
	sub, err := opts.build(ctx)
	if err != nil {
		return err
	}
	if opts.DryRun {
		target, _ := opts.Target()
		return printSubmission(p, sub, target)
	}
	runs, err := opts.runs(ctx)
	if err != nil {
		return err
	}
	rep := cmdutil.NewReporter(opts.IO)
	if opts.Stream {
		// A target that runs the flow here (local) reports its log as it is
		// written; it goes where `run stream` would print it.
		rep.Logs = streamLogWriter(opts.common, p)
	} else {
		rep.DropLogs = true
	}
	r, err := runs.Submit(ctx, sub, rep)
	rep.Stop()
	if err != nil {
		if errors.Is(err, context.Canceled) && !fault.Is(err, fault.Interrupted) {
			return fault.Wrap(fault.Interrupted, err, "interrupted while submitting run %s; it may have been submitted", sub.Name).
				WithHint("check with `pfz run show -n %s`", sub.Name)
		}
		return err
	}
	if !rep.Submitted() {
		cmdutil.Infof(opts.IO, "submitted run %s", r.Name)
	}
	if r.PortalURL != "" {
		cmdutil.Infof(opts.IO, "%s", r.PortalURL)
	}
	if !opts.Stream {
		return printRun(p, r)
	}
	if rep.Logged() && workspace.IsTerminal(r.Status) {
		// The log was streamed while the run executed; only the summary is left.
		return printFinal(opts.common, p, r, opts.FailOnLineErrors)
	}
	return streamAndPrint(ctx, opts.common, p, runs, r.Name, opts.StreamTimeout, opts.Interval, opts.Now, opts.FailOnLineErrors)
}

// build loads the run definition and resolves it into a submission, printing
// the diagnostics found on the way.
func (opts *CreateOptions) build(ctx context.Context) (*workspace.Submission, error) {
	spec, ds, err := runspec.Load(runspec.LoadOptions{
		Flags: opts.Flags, CWD: opts.WorkDir, LookupEnv: lookupEnv(opts.Getenv),
	})
	printDiags(opts.IO, ds, err)
	if err != nil {
		return nil, withoutList(err, ds)
	}
	sub, rds, err := opts.resolve(ctx, spec)
	printDiags(opts.IO, rds, err)
	if err != nil {
		return nil, withoutList(err, rds)
	}
	sub.LineTimeout = opts.LineTimeout
	return sub, nil
}

// printDiags prints the findings; an error finding whose hint the final
// error (err) repeats is printed without it, so the fix is said once.
func printDiags(ios *iostreams.IOStreams, ds diag.List, err error) {
	final := fault.HintOf(err)
	for _, d := range ds {
		if final != "" && d.Severity == diag.Error && d.Hint == final {
			d.Hint = ""
		}
		fmt.Fprintln(ios.ErrOut, cmdutil.FormatDiagnostic(ios.ColorScheme(), d))
	}
}

// withoutList drops the diagnostic list from a validation error that was
// already printed line by line, keeping its message and hint.
func withoutList(err error, printed diag.List) error {
	var fe *fault.Error
	if len(printed) == 0 || !errors.As(err, &fe) {
		return err
	}
	var le *diag.ListError
	if !errors.As(fe.Err, &le) {
		return err
	}
	return &fault.Error{Kind: fe.Kind, Msg: fe.Msg, Hint: fe.Hint}
}

func lookupEnv(getenv func(string) string) func(string) (string, bool) {
	if getenv == nil {
		return nil
	}
	return func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	}
}

// printSubmission prints a dry run: every field of the submission, secrets
// masked. The table leaves out, on the local target, what only Azure ML uses
// (blob paths, compute type, identity, a VM size nobody asked for); the
// JSON/YAML document is the whole submission either way.
func printSubmission(p *cmdutil.Printer, sub *workspace.Submission, target string) error {
	shown := redact.Submission(sub)
	return p.Print(shown, func(t *cmdutil.Table) { submissionTable(t, shown, target == workspace.TargetLocal) })
}

func submissionTable(t *cmdutil.Table, s *workspace.Submission, local bool) {
	// azureOnly blanks a value that means nothing on the local target
	// (KeyValues skips empty values).
	azureOnly := func(v string) string {
		if local {
			return ""
		}
		return v
	}
	cmdutil.KeyValues(t,
		"name", s.Name,
		"display name", s.DisplayName,
		"description", s.Description,
		"tags", joinMap(s.Tags),
		"experiment", s.ExperimentName,
		"resume from", s.ResumeFrom,
		"flow", s.Flow,
	)
	if sn := s.Snapshot; sn != nil {
		var size int64
		for _, f := range sn.Files {
			size += f.Size
		}
		cmdutil.KeyValues(t,
			"snapshot", fmt.Sprintf("%d files, %d bytes, hash %s", len(sn.Files), size, sn.Hash),
			"blob path", azureOnly(sn.BlobPath),
		)
	}
	if d := s.Data; d != nil {
		data := d.Local
		if data == "" {
			data = d.Remote
		}
		cmdutil.KeyValues(t, "data", data, "data blob path", azureOnly(d.BlobPath))
	}
	cmdutil.KeyValues(t,
		"run", s.Run,
		"column mapping", joinMap(s.ColumnMapping),
		"variant", s.Variant,
		"environment", joinMap(s.EnvironmentVariables),
	)
	nodes := make([]string, 0, len(s.Connections))
	for n := range s.Connections {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		t.Row("connections", n+": "+joinMap(s.Connections[n]))
	}
	cmdutil.KeyValues(t,
		"init", joinMap(s.Init),
		"runtime", s.Runtime,
		"session", s.Session.ID,
		"lineage id", s.Session.LineageID,
		"environment hash", s.Session.EnvHash,
		"user alias", s.Session.UserAlias,
		"compute type", azureOnly(s.Session.ComputeType),
		"vm size", s.Resources.InstanceType,
		"compute", s.Resources.Compute,
	)
	if s.Resources.MaxIdleTimeSeconds > 0 {
		t.Row("idle time", human.Duration(time.Duration(s.Resources.MaxIdleTimeSeconds)*time.Second))
	}
	id := s.Identity.Type
	if s.Identity.ClientID != "" {
		id += " (client id " + s.Identity.ClientID + ")"
	}
	cmdutil.KeyValues(t, "identity", azureOnly(id))
	if s.Snapshot != nil {
		for _, f := range s.Snapshot.Files {
			t.Row("file", fmt.Sprintf("%s (%d bytes)", f.Rel, f.Size))
		}
	}
}
