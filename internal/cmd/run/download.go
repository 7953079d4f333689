package run

import (
	"context"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/fault"
)

// DownloadOptions are the inputs of `run download`.
type DownloadOptions struct {
	common
	Name      string
	Dir       string
	Overwrite bool
}

// NewCmdDownload returns `run download`.
func NewCmdDownload(f *cmdutil.Factory, runF func(context.Context, *DownloadOptions) error) *cobra.Command {
	opts := &DownloadOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:   "download -n NAME [--output-dir DIR] [--overwrite]",
		Short: "Download a completed run's outputs, logs and snapshot",
		Long: `Download a completed run into DIR/NAME in pfazure's layout: run_metadata.json,
metrics.json, logs.txt, the line outputs and the flow snapshot.

pfazure spells the folder "-o/--output"; in pfz -o is the output format of
every command, so the folder is --output-dir.`,
		Example: `  pfz run download -n my_run --output-dir ./artifacts
  pfz run download -n my_run --overwrite`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			if f.Global.Changed != nil && f.Global.Changed("output") {
				if _, err := config.Normalize(config.KeyOutput, f.Global.Output); err != nil {
					return fault.New(fault.Usage, "-o %q is not an output format", f.Global.Output).
						WithHint("the download folder is --output-dir %s (pfazure's -o); -o takes table, json or yaml", f.Global.Output)
				}
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runDownload(c.Context(), opts)
		},
	}
	addNameFlag(cmd, &opts.Name)
	cmd.Flags().StringVar(&opts.Dir, "output-dir", ".", "download into `DIR`; the run goes to DIR/NAME")
	cmd.Flags().BoolVar(&opts.Overwrite, "overwrite", false, "replace DIR/NAME if it exists")
	return cmd
}

func runDownload(ctx context.Context, opts *DownloadOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return fault.Wrap(fault.Usage, err, "bad --output-dir %q", opts.Dir)
	}
	path, err := runs.Download(ctx, opts.Name, dir, opts.Overwrite)
	if err != nil {
		return err
	}
	res := struct {
		Name string `json:"name"`
		Path string `json:"path"`
	}{opts.Name, path}
	return p.Print(res, func(t *cmdutil.Table) { t.Row(path) })
}
