package run

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// ArchiveOptions are the inputs of `run archive` and `run restore`.
type ArchiveOptions struct {
	common
	Name    string
	Archive bool // false: restore
}

// NewCmdArchive returns `run archive`.
func NewCmdArchive(f *cmdutil.Factory, runF func(context.Context, *ArchiveOptions) error) *cobra.Command {
	return newArchiveCmd(f, runF, true)
}

// NewCmdRestore returns `run restore`.
func NewCmdRestore(f *cmdutil.Factory, runF func(context.Context, *ArchiveOptions) error) *cobra.Command {
	return newArchiveCmd(f, runF, false)
}

func newArchiveCmd(f *cmdutil.Factory, runF func(context.Context, *ArchiveOptions) error, archive bool) *cobra.Command {
	opts := &ArchiveOptions{common: commonFrom(f), Archive: archive}
	cmd := &cobra.Command{
		Use:     "archive -n NAME",
		Short:   "Archive a run: hide it from run list",
		Long:    "Archive a run: `pfz run list` leaves it out unless --include-archived or --archived-only is given. Nothing is deleted.",
		Example: `  pfz run archive -n my_run`,
		Args:    cmdutil.NoArgs,
		RunE:    byName(&opts.Name, opts, runF, runArchive),
	}
	if !archive {
		cmd.Use = "restore -n NAME"
		cmd.Short = "Restore an archived run"
		cmd.Long = "Restore an archived run so that `pfz run list` shows it again."
		cmd.Example = `  pfz run restore -n my_run`
	}
	addNameFlag(cmd, &opts.Name)
	return cmd
}

func runArchive(ctx context.Context, opts *ArchiveOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	archived := opts.Archive
	r, err := runs.Update(ctx, opts.Name, workspace.RunUpdate{Archived: &archived})
	if err != nil {
		return err
	}
	return printRun(p, r)
}
