package packages

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/cmd/flowsession"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/requirements"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// InstallOptions are the inputs of `packages install`.
type InstallOptions struct {
	common
	Packages []string
	FromFile string // -r FILE
	SaveOnly bool
	NoWait   bool
	Timeout  time.Duration
}

// InstallResult is what `packages install -o json` prints.
type InstallResult struct {
	RequirementsFile string             `json:"requirements_file"`
	Changed          bool               `json:"changed"`
	Requirements     []string           `json:"requirements"`
	Installed        bool               `json:"installed"`
	Session          *workspace.Session `json:"session,omitempty"`
	// PreviousSessionID is the id the session had before the edit, when
	// the edit changed it (the id covers the requirement lines).
	PreviousSessionID string `json:"previous_session_id,omitempty"`
}

// NewCmdInstall returns `packages install`.
func NewCmdInstall(f *cmdutil.Factory, runF func(context.Context, *InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{common: commonFrom(f)}
	var timeout string
	cmd := &cobra.Command{
		Use:   "install [PKG...] [-r FILE] [--save-only] [--flow DIR]",
		Short: "Add packages to the flow's requirements file and install them",
		Long: `Add packages to the flow's requirements file, keeping its comments and order
(a package already there is changed in place), then install the whole file in
the flow's session (pip install -r), which takes a few minutes. With
--save-only the file is saved and nothing is installed. With no package and no
-r, the file is installed as it is.

A session's id is derived from the flow's requirements (as pfazure derives it),
so the edit gives the flow a new session id. The session that has the packages
is filed under it: session show, packages list and run create find it there.
On the local target the session moves to the new id. On Azure ML the running
session is updated in place, as the studio does, and pfz notes on this machine
that it serves the new id; pfazure, which does not know, would start a new
session for it. When the flow has no running session, the file is saved, pfz
says so and exits 0: session start installs the saved file.

Before anything is saved the file is checked: pinning promptflow or
promptflow-tools is a warning (the base image brings them); a local wheel or
path is an error, because a session cannot reach your disk (build a custom
base image instead). A private feed written as -i https://{private}@<feed> gets
a token from the session's identity at install time.`,
		Example: `  pfz packages install "openai>=1.30" tiktoken
  pfz packages install -r extra-requirements.txt --save-only
  pfz packages install --flow ./my_flow`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Packages = args
			if timeout != "" {
				d, err := cmdutil.ParseDuration("--timeout", timeout)
				if err != nil {
					return err
				}
				opts.Timeout = d
			}
			if opts.SaveOnly && (opts.NoWait || opts.Timeout > 0) {
				return cmdutil.UsageErrorf(c, "--save-only installs nothing, so --no-wait and --timeout do not apply")
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runInstall(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.FlowDir, "flow", ".", "the flow folder `DIR` whose requirements and session these are")
	cmd.Flags().StringVarP(&opts.FromFile, "requirement", "r", "", "add the requirements listed in `FILE`")
	cmd.Flags().BoolVar(&opts.SaveOnly, "save-only", false, "save the requirements file; do not install")
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "return once the install is accepted")
	cmd.Flags().StringVar(&timeout, "timeout", "", "give up waiting after `DURATION`, e.g. 15m (exit code 8; the install goes on)")
	return cmd
}

func runInstall(ctx context.Context, opts *InstallOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	// The session id comes from the requirements before the edit: that is
	// the session that runs now.
	r, err := opts.resolve(ctx)
	if err != nil {
		return err
	}
	file := r.Requirements
	if file == nil {
		file, _ = requirements.Parse(r.RequirementsPath, nil)
	}
	changed := false
	add := func(spec string) error {
		c, err := file.Add(spec)
		if err != nil {
			return err
		}
		changed = changed || c
		return nil
	}
	for _, pkg := range opts.Packages {
		if err := add(pkg); err != nil {
			return err
		}
	}
	if opts.FromFile != "" {
		extra, ds, err := requirements.Load(opts.FromFile)
		if err != nil {
			return err
		}
		if ds.HasErrors() {
			return diagError(opts.FromFile, ds)
		}
		if len(extra.IndexURLs()) > 0 {
			cmdutil.Warnf(opts.IO, "%s: index URLs and other options are not copied; add them to %s by hand", opts.FromFile, r.RequirementsPath)
		}
		for _, req := range extra.Requirements() {
			if err := add(req.String()); err != nil {
				return err
			}
		}
	}
	checked, ds := requirements.Parse(r.RequirementsPath, file.Bytes())
	ds = append(ds, checked.Check()...)
	if ds.HasErrors() {
		return diagError(r.RequirementsPath, ds)
	}
	shown := map[diag.Diagnostic]bool{}
	for _, d := range r.Diagnostics {
		shown[d] = true
	}
	for _, d := range ds {
		if !shown[d] {
			fmt.Fprintln(opts.IO.ErrOut, cmdutil.FormatDiagnostic(opts.IO.ColorScheme(), d))
		}
	}
	var sessions workspace.Sessions
	running, runningID := false, r.Spec.ID
	if !opts.SaveOnly {
		// Reach the workspace before saving, so that a failure to (an
		// expired login, say) leaves the file alone. A missing session is
		// no reason not to save: the next start installs the file.
		if sessions, err = opts.sessions(ctx); err != nil {
			return err
		}
		// The flow's session, or its older one when the environment changed
		// since it started (a --save-only edit, a failed install): the
		// install brings that one up to date.
		tg, err := flowsession.Find(ctx, sessions, r)
		if err != nil && !fault.Is(err, fault.NotFound) {
			return explain(err, opts.FlowDir)
		}
		running, runningID = err == nil, tg.ID
	}
	if changed {
		if err := writeFile(r.RequirementsPath, file.Bytes()); err != nil {
			return err
		}
		if r.RequirementsIncluded {
			cmdutil.Infof(opts.IO, "saved %s, the requirements file additional_includes bring into %s (other flows that include it get these packages too)", r.RequirementsPath, r.Flow.Path)
		} else {
			cmdutil.Infof(opts.IO, "saved %s", r.RequirementsPath)
		}
		if !r.Declared {
			// Name the file in the flow, as the studio does, so the session's
			// environment says where its packages come from.
			if err := declareRequirements(r); err != nil {
				return err
			}
			cmdutil.Infof(opts.IO, "named %s in %s (environment.python_requirements_txt)", filepath.Base(r.RequirementsPath), r.Flow.Path)
		}
	}
	res := InstallResult{RequirementsFile: r.RequirementsPath, Changed: changed, Requirements: file.Lines()}
	if opts.SaveOnly {
		cmdutil.Infof(opts.IO, "saved only; install later with `pfz packages install --flow %s`", opts.FlowDir)
		return printResult(p, &res)
	}
	// The spec session start builds from the saved file: its id is the one
	// every later command looks for.
	next := r.Spec
	if changed {
		if next, err = opts.respec(ctx, r); err != nil {
			return err
		}
	}
	from := runningID
	if !running && next.ID != from {
		// A session may already run with the edited requirements (the file
		// was edited by hand and the session started): install there.
		_, err := sessions.Get(ctx, next.ID)
		if err != nil && !fault.Is(err, fault.NotFound) {
			return explain(err, opts.FlowDir)
		}
		running, from = err == nil, next.ID
	}
	if !running {
		return noSession(opts, p, &res)
	}
	rep := cmdutil.NewReporter(opts.IO)
	s, err := sessions.Install(ctx, from, next, workspace.StartOptions{
		NoWait: opts.NoWait, Timeout: opts.Timeout, Reporter: rep, Debug: opts.Debug(),
	})
	rep.Stop()
	if fault.Is(err, fault.NotFound) && fault.HintOf(err) == "" {
		return noSession(opts, p, &res) // stopped meanwhile
	}
	if err != nil {
		return explain(err, opts.FlowDir)
	}
	if s.Message != "" {
		cmdutil.Infof(opts.IO, "%s", s.Message)
	}
	if s.ID != from {
		res.PreviousSessionID = from
	}
	res.Installed = !opts.NoWait
	res.Session = s
	return printResult(p, &res)
}

// noSession ends an install when the flow has no session: the file is
// saved, and the next session start installs it.
func noSession(opts *InstallOptions, p *cmdutil.Printer, res *InstallResult) error {
	cmdutil.Warnf(opts.IO, "the flow %s has no running session; %s is saved and nothing was installed", opts.FlowDir, res.RequirementsFile)
	cmdutil.Infof(opts.IO, "`pfz session start --flow %s` starts a session with these packages", opts.FlowDir)
	return printResult(p, res)
}

func printResult(p *cmdutil.Printer, res *InstallResult) error {
	return p.Print(res, func(t *cmdutil.Table) {
		cmdutil.KeyValues(t, "requirements file", res.RequirementsFile)
		for _, l := range res.Requirements {
			t.Row("", l)
		}
		if res.Session != nil {
			cmdutil.KeyValues(t, "session", res.Session.ID, "status", res.Session.Status)
		}
	})
}

func diagError(file string, ds diag.List) error {
	e := fault.Wrap(fault.Validation, ds.Err(), "%s has %d error(s)", file, len(ds.Errors()))
	if h := ds.Errors()[0].Hint; h != "" {
		e.Hint = h
	}
	return e
}

// writeFile replaces path atomically, keeping its permissions.
func writeFile(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	return atomicfile.Write(path, data, atomicfile.Options{Perm: mode, DirPerm: 0o755})
}

func explain(err error, flowDir string) error {
	if errors.Is(err, context.Canceled) {
		return fault.Wrap(fault.Interrupted, err, "stopped waiting; the session may still be installing").
			WithHint("check it with `pfz packages list --flow %s`", flowDir)
	}
	if fault.Is(err, fault.NotFound) && fault.HintOf(err) == "" {
		return fault.Wrap(fault.NotFound, err, "the flow %s has no running session", flowDir).
			WithHint("start it with `pfz session start --flow %s`, or use --save-only", flowDir)
	}
	return err
}

// declareRequirements adds environment.python_requirements_txt to the flow
// file, keeping its comments and layout.
func declareRequirements(r *flowsession.Resolved) error {
	src, err := os.ReadFile(r.Flow.Path)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot read %s to name the requirements file in it", r.Flow.Path)
	}
	rel, err := filepath.Rel(r.Flow.Dir, r.RequirementsPath)
	if err != nil || r.RequirementsIncluded {
		// An included file sits at the snapshot's root under its own name.
		rel = filepath.Base(r.RequirementsPath)
	}
	out, err := snapshot.PatchFlowYAML(src, filepath.ToSlash(rel), false)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot add environment.python_requirements_txt to %s", r.Flow.Path).
			WithHint("add `environment: {python_requirements_txt: %s}` to it by hand", filepath.ToSlash(rel))
	}
	return writeFile(r.Flow.Path, out)
}
