// Package packages holds `pfz packages`: list what the flow's session has
// installed, and add packages to the flow's requirements file and install
// them ("Save and install" / "Save only" in the studio).
package packages

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmd/flowsession"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// NewCmdPackages returns the packages command group.
func NewCmdPackages(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "packages <command>",
		Short: "List and install the Python packages of the flow's session",
		Long: `List and install the Python packages of a flow's compute session. The packages
a flow needs are named in its requirements file (environment.python_requirements_txt
in flow.dag.yaml, else requirements.txt in the flow folder). Each command names
its flow with --flow DIR (default: the current directory).`,
		Example: `  pfz packages list
  pfz packages install "openai>=1.30" tiktoken`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdInstall(f, nil))
	return cmd
}

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

func (c common) resolve(ctx context.Context) (*flowsession.Resolved, error) {
	alias, err := c.UserAlias(ctx)
	if err != nil {
		return nil, err
	}
	r, err := flowsession.Resolve(ctx, c.FlowDir, alias, flowsession.Settings{})
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

// respec is the session spec of the flow as it is now on disk (after an
// edit of its requirements), built as session start builds it. Its
// diagnostics were shown by resolve already.
func (c common) respec(ctx context.Context, before *flowsession.Resolved) (workspace.SessionSpec, error) {
	r, err := flowsession.Resolve(ctx, c.FlowDir, before.Spec.UserAlias, flowsession.Settings{})
	if err != nil {
		return workspace.SessionSpec{}, err
	}
	c.Verbosef("after the edit: session %s (environment %s)", r.Spec.ID, r.Spec.EnvHash)
	return r.Spec, nil
}

func (c common) sessions(ctx context.Context) (workspace.Sessions, error) {
	ws, err := c.Workspace(ctx)
	if err != nil {
		return nil, err
	}
	return ws.Sessions(), nil
}

// ListOptions are the inputs of `packages list`.
type ListOptions struct{ common }

// NewCmdList returns `packages list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "list [--flow DIR]",
		Short: "List the packages installed in the flow's session",
		Long: `List the Python packages installed in the flow's session, each marked with
where it comes from: base (the base image), requirements (your requirements
file) or dependency (pulled in by another package).`,
		Example: `  pfz packages list
  pfz packages list -o json --query "packages[?origin=='requirements'].name"`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runList(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.FlowDir, "flow", ".", "the flow folder `DIR` whose session this is")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	r, err := opts.resolve(ctx)
	if err != nil {
		return err
	}
	sessions, err := opts.sessions(ctx)
	if err != nil {
		return err
	}
	tg, err := flowsession.Find(ctx, sessions, r)
	if err != nil {
		return explain(err, opts.FlowDir)
	}
	if tg.Stale != nil {
		cmdutil.Warnf(opts.IO, "%s", tg.Warning(opts.FlowDir, r.Spec.ID))
	}
	list, err := sessions.Packages(ctx, tg.ID)
	if err != nil {
		return explain(err, opts.FlowDir)
	}
	if list.Packages == nil {
		list.Packages = []workspace.Package{}
	}
	return p.Print(list, func(t *cmdutil.Table) {
		t.Header("name", "version", "origin")
		for _, pkg := range list.Packages {
			t.Row(pkg.Name, pkg.Version, pkg.Origin)
		}
	})
}
