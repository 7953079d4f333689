package flowcmd

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// ValidateOptions are the inputs of `flow validate`.
type ValidateOptions struct {
	IO      *iostreams.IOStreams
	Printer func() (*cmdutil.Printer, error)
	Getenv  func(string) string
	WorkDir string

	// Runs opens the target's runs, for --run; nil leaves --run unchecked.
	Runs func(context.Context) (workspace.Runs, error)

	Path    string // flow folder or file
	RunFile string // -f run.yml, optional
	Run     string // --run: the run an evaluation run.yml's ${run.…} refers to
}

// Report is what `flow validate -o json` prints.
type Report struct {
	Flow        string       `json:"flow"`
	RunFile     string       `json:"run_file,omitempty"`
	Valid       bool         `json:"valid"`
	Errors      int          `json:"errors"`
	Warnings    int          `json:"warnings"`
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// Diagnostic spells out every field of a diag.Diagnostic, empty or not, so
// scripts can rely on the keys.
type Diagnostic struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

// NewCmdValidate returns `flow validate`.
func NewCmdValidate(f *cmdutil.Factory, runF func(context.Context, *ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams, Printer: f.Printer, Getenv: f.Getenv, WorkDir: f.WorkDir,
		Runs: func(ctx context.Context) (workspace.Runs, error) {
			ws, err := f.Workspace(ctx)
			if err != nil {
				return nil, err
			}
			return ws.Runs(), nil
		}}
	cmd := &cobra.Command{
		Use:   "validate [FLOW_DIR | FLOW_FILE] [-f run.yml]",
		Short: "Check a flow (and a run.yml) offline",
		Long: `Check a flow offline, without a workspace: the YAML and its keys, node types
and sources, references between nodes and inputs, cycles, variants,
aggregation rules, additional_includes, the files the flow names and its
requirements file. With -f, also check the run.yml: its fields, paths,
column mapping and identity. An evaluation run.yml maps ${run.outputs.…}
from the run it evaluates: --run NAME gives that run (its outputs are checked
when the run exists on the target); without it those bindings are warnings.

Every finding has a file, line and column. The exit code is 0 when there are
no errors (warnings are allowed) and 2 when there is at least one error.`,
		Example: `  pfz flow validate
  pfz flow validate ./web_classification
  pfz flow validate ./web_classification/flow.dag.yaml -o json
  pfz flow validate -f ./web_classification/run.yml
  pfz flow validate -f ./eval_accuracy/run.yml --run my_base_run`,
		Args: cmdutil.MaximumArgs(1, "the flow folder or file"),
		RunE: func(c *cobra.Command, args []string) error {
			path, err := flowPath(args, "source", opts.Path)
			if err != nil {
				return err
			}
			opts.Path = path
			if opts.Run != "" && opts.RunFile == "" {
				return fault.New(fault.Usage, "--run checks a run.yml's ${run.…} bindings, and no -f run.yml is given").
					WithHint("add -f run.yml")
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runValidate(c.Context(), opts)
		},
	}
	pathFlag(cmd, "source", &opts.Path)
	cmd.Flags().StringVarP(&opts.RunFile, "file", "f", "", "also check the run definition `run.yml` (its flow is checked when no flow is named)")
	cmd.Flags().StringVar(&opts.Run, "run", "", "the `NAME` of the run an evaluation run.yml evaluates (as run create --run)")
	return cmd
}

func runValidate(ctx context.Context, opts *ValidateOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	var ds diag.List
	path := opts.Path
	var spec *runspec.Spec
	if opts.RunFile != "" {
		runDiags, sp, err := checkRunFile(ctx, opts)
		if err != nil {
			return err
		}
		ds = append(ds, runDiags...)
		spec = sp
		if path == "" && !spec.FlowRemote && spec.FlowEntry == "" {
			path = spec.Flow
		}
	}
	if path == "" && spec == nil {
		path = "."
	}
	if path != "" {
		f, fds, err := flow.Load(path)
		if err != nil {
			return err
		}
		// The snapshot is what a run ships: symlinks that leave the flow,
		// includes and ignored files are found here as run create finds them.
		_, _, sds, err := snapshot.Check(ctx, f, snapshot.Options{IgnoreToolsJSON: f.Language != "csharp"},
			flow.ValidateOptions{Batch: opts.RunFile != ""})
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && len(sds.Errors()) == 0 {
			return err
		}
		fds = append(fds, sds...)
		ds = append(ds, fds...)
		if spec != nil && !fds.HasErrors() {
			ds = append(ds, checkColumns(ctx, spec, f)...)
		}
	}
	if spec != nil && opts.Run != "" {
		ds = append(ds, checkAgainstRun(ctx, opts, spec)...)
	}
	if opts.Run == "" {
		ds = runOptional(ds)
	}
	ds.Sort()
	return report(p, opts, path, ds)
}

func report(p *cmdutil.Printer, opts *ValidateOptions, path string, ds diag.List) error {
	rep := Report{Flow: path, RunFile: opts.RunFile, Diagnostics: []Diagnostic{}}
	for _, d := range ds {
		switch d.Severity {
		case diag.Error:
			rep.Errors++
		case diag.Warning:
			rep.Warnings++
		}
		rep.Diagnostics = append(rep.Diagnostics, Diagnostic{
			Severity: string(d.Severity), Code: d.Code, File: d.File, Line: d.Line,
			Column: d.Column, Message: d.Message, Hint: d.Hint,
		})
	}
	rep.Valid = rep.Errors == 0
	if p.IsTable() {
		if len(ds) > 0 {
			err := p.Print(rep, func(t *cmdutil.Table) {
				t.Header("location", "severity", "code", "message", "hint")
				for _, d := range ds {
					t.Row(d.Position(), string(d.Severity), d.Code, d.Message, d.Hint)
				}
			})
			if err != nil {
				return err
			}
		}
		cs := opts.IO.ColorScheme()
		summary := fmt.Sprintf("%s: %s, %s", displayPath(path), plural(rep.Errors, "error"), plural(rep.Warnings, "warning"))
		if rep.Valid {
			summary = cs.Green("✓") + " " + summary
		} else {
			summary = cs.Red("✗") + " " + summary
		}
		fmt.Fprintln(opts.IO.ErrOut, summary)
	} else if err := p.Print(rep, nil); err != nil {
		return err
	}
	if !rep.Valid {
		return cmdutil.Silent(fault.Validation, ds.Err())
	}
	return nil
}

func displayPath(p string) string {
	if p == "." {
		if abs, err := filepath.Abs(p); err == nil {
			return filepath.Base(abs)
		}
	}
	return p
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
