package run

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// UpdateOptions are the inputs of `run update`.
type UpdateOptions struct {
	common
	Name   string
	Update workspace.RunUpdate
}

// NewCmdUpdate returns `run update`.
func NewCmdUpdate(f *cmdutil.Factory, runF func(context.Context, *UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{common: commonFrom(f)}
	var set []string
	cmd := &cobra.Command{
		Use:   "update -n NAME --set KEY=VALUE [KEY=VALUE...]",
		Short: "Change a run's display name, description or tags",
		Long: `Change a run's display name, description or tags. --set takes
display_name=..., description=... and tags.<key>=...; tags are merged into the
run's tags. Unlike pfazure, an unknown or repeated key is an error, not ignored.`,
		Example: `  pfz run update -n my_run --set display_name="baseline" tags.stage=eval`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			upd, err := parseUpdate(set)
			if err != nil {
				return err
			}
			opts.Update = upd
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runUpdate(c.Context(), opts)
		},
	}
	addNameFlag(cmd, &opts.Name)
	cmd.Flags().StringArrayVar(&set, "set", nil, "`KEY=VALUE`... with display_name, description or tags.<key>")
	cmdutil.MarkNargs(cmd, "set", false)
	return cmd
}

// parseUpdate turns --set tokens into a RunUpdate.
func parseUpdate(set []string) (workspace.RunUpdate, error) {
	var upd workspace.RunUpdate
	kvs, err := cmdutil.ParseKeyValues(cmdutil.KVFlag{Name: "--set", Example: "display_name='my run'"}, set)
	if err != nil {
		return upd, err
	}
	if len(kvs) == 0 {
		return upd, fault.New(fault.Usage, "nothing to update").
			WithHint("pass --set display_name=..., description=... or tags.<key>=...")
	}
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] {
			return upd, fault.New(fault.Usage, "--set %s is given twice", kv.Key)
		}
		seen[kv.Key] = true
		v := kv.Value
		switch {
		case kv.Key == "display_name":
			upd.DisplayName = &v
		case kv.Key == "description":
			upd.Description = &v
		case strings.HasPrefix(kv.Key, "tags.") && len(kv.Key) > len("tags."):
			if upd.Tags == nil {
				upd.Tags = map[string]string{}
			}
			upd.Tags[strings.TrimPrefix(kv.Key, "tags.")] = v
		default:
			return upd, fault.New(fault.Usage, "run update cannot --set %q", kv.Key).
				WithHint("use display_name, description or tags.<key>")
		}
	}
	return upd, nil
}

func runUpdate(ctx context.Context, opts *UpdateOptions) error {
	p, runs, err := opts.printerAndRuns(ctx)
	if err != nil {
		return err
	}
	r, err := runs.Update(ctx, opts.Name, opts.Update)
	if err != nil {
		return err
	}
	return printRun(p, r)
}
