package flowcmd

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Workspace flows: pfazure's `flow create | show | list | update`, which
// act on the flows of an Azure ML workspace.

// Flows is what the azureml target offers for workspace flows.
type Flows interface {
	CreateFlow(ctx context.Context, c workspace.FlowCreate) (*workspace.FlowResult, error)
	GetFlow(ctx context.Context, id string) (*workspace.Flow, error)
	UpdateFlow(ctx context.Context, id string, upd workspace.FlowUpdate) (*workspace.Flow, error)
	ListFlows(ctx context.Context, o workspace.FlowListOptions) ([]*workspace.Flow, error)
}

type wsCommon struct {
	IO        *iostreams.IOStreams
	Workspace func(context.Context) (workspace.Workspace, error)
	Printer   func() (*cmdutil.Printer, error)
	UserAlias func(context.Context) (string, error)
	Now       func() time.Time
}

func wsCommonFrom(f *cmdutil.Factory) wsCommon {
	return wsCommon{IO: f.IOStreams, Workspace: f.Workspace, Printer: f.Printer, UserAlias: f.UserAlias, Now: f.Now}
}

// flowsAndPrinter opens the printer, then the target's workspace flows.
func (c wsCommon) flowsAndPrinter(ctx context.Context) (Flows, *cmdutil.Printer, error) {
	p, err := c.Printer()
	if err != nil {
		return nil, nil, err
	}
	ws, err := c.Workspace(ctx)
	if err != nil {
		return nil, nil, err
	}
	fl, ok := ws.(Flows)
	if !ok {
		return nil, nil, fault.New(fault.Usage, "workspace flows exist only on the azureml target").
			WithHint("pass --target azureml (with a workspace configured); on the local target a flow is its folder")
	}
	return fl, p, nil
}

func printFlow(p *cmdutil.Printer, f *workspace.Flow) error {
	return p.Print(f, func(t *cmdutil.Table) {
		cmdutil.KeyValues(t, "name", f.Name, "display name", f.DisplayName, "type", f.Type, "description", f.Description,
			"path", f.Path, "archived", fmt.Sprint(f.IsArchived), "created", f.CreatedDate, "portal", f.PortalURL)
		keys := make([]string, 0, len(f.Tags))
		for k := range f.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Row("tags."+k, f.Tags[k])
		}
	})
}

// flowMeta is what --set gives flow create and update.
type flowMeta struct {
	DisplayName, Type, Description *string
	Tags                           map[string]string
}

func parseFlowSet(set []string, allowType bool) (flowMeta, error) {
	var m flowMeta
	kvs, err := cmdutil.ParseKeyValues(cmdutil.KVFlag{Name: "--set", Example: "display_name='my flow'"}, set)
	if err != nil {
		return m, err
	}
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] {
			return m, fault.New(fault.Usage, "--set %s is given twice", kv.Key)
		}
		seen[kv.Key] = true
		v := kv.Value
		switch {
		case kv.Key == "display_name":
			m.DisplayName = &v
		case kv.Key == "description":
			m.Description = &v
		case kv.Key == "type" && allowType:
			switch v {
			case "standard", "evaluation", "chat":
			default:
				return m, fault.New(fault.Usage, "--set type=%s: Must be one of: standard, evaluation, chat.", v)
			}
			m.Type = &v
		case strings.HasPrefix(kv.Key, "tags.") && len(kv.Key) > len("tags."):
			if m.Tags == nil {
				m.Tags = map[string]string{}
			}
			m.Tags[strings.TrimPrefix(kv.Key, "tags.")] = v
		default:
			keys := "display_name, description or tags.<key>"
			if allowType {
				keys = "display_name, type, description or tags.<key>"
			}
			return m, fault.New(fault.Usage, "cannot --set %q", kv.Key).WithHint("use %s", keys)
		}
	}
	return m, nil
}

// CreateOptions are the inputs of `flow create`.
type CreateOptions struct {
	wsCommon
	Flow string
	Set  []string
	Meta flowMeta
	New  bool
}

// NewCmdCreate returns `flow create`.
func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{wsCommon: wsCommonFrom(f)}
	cmd := &cobra.Command{
		Use:   "create --flow DIR [--set display_name=... type=... description=... tags.K=V]",
		Short: "Create a workspace flow from a local flow folder (azureml)",
		Long: `Upload a flow folder to the workspace's file share (datastore workspaceworkingdirectory,
Users/<alias>/promptflow/<folder>-<timestamp>) and make it a flow of the workspace, as pfazure
flow create does. type is standard (default), evaluation or chat.

Unlike pfazure, create is idempotent: when you already have a flow of the same display name,
its folder gets the new files (files no longer in the flow are removed) and its description
and tags are updated, instead of a new flow being made each time a CI job runs. pfz says on
stderr which it did. --new always makes a new flow.`,
		Example: `  pfz flow create --flow ./web-classification --set display_name="web classification" tags.team=search`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "flow", opts.Flow); err != nil {
				return err
			}
			meta, err := parseFlowSet(opts.Set, true)
			if err != nil {
				return err
			}
			opts.Meta = meta
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runCreate(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Flow, "flow", "", "the local flow `DIR` to upload (required)")
	cmd.Flags().StringArrayVar(&opts.Set, "set", nil, "`KEY=VALUE`... with display_name, type, description or tags.<key>")
	cmdutil.MarkNargs(cmd, "set", false)
	cmd.Flags().BoolVar(&opts.New, "new", false, "make a new flow even when one of the same display name exists (pfazure's behaviour)")
	return cmd
}

func runCreate(ctx context.Context, opts *CreateOptions) error {
	meta := opts.Meta
	fl, ds, err := flow.Load(opts.Flow)
	if err != nil {
		return fault.Wrap(fault.Validation, err, "cannot load flow %s", opts.Flow).WithHint("%s", fault.HintOf(err))
	}
	if fl.Kind == flow.KindFlex {
		return fault.New(fault.Validation, "a flex flow cannot be a workspace flow").
			WithHint("pfazure flow create takes DAG flows only; submit flex flows with `pfz run create`")
	}
	if ds.HasErrors() {
		return fault.Wrap(fault.Validation, ds.Err(), "flow %s has errors", opts.Flow).WithHint("`pfz flow validate %s` shows them", opts.Flow)
	}
	snap, sds, err := snapshot.Build(ctx, fl, snapshot.Options{}) // flow create keeps the tools json
	if err != nil {
		return err
	}
	for _, d := range sds {
		fmt.Fprintln(opts.IO.ErrOut, cmdutil.FormatDiagnostic(opts.IO.ColorScheme(), d))
	}
	flows, p, err := opts.flowsAndPrinter(ctx)
	if err != nil {
		return err
	}
	alias, err := opts.UserAlias(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	folder := workspace.FlowFolder(filepath.Base(fl.Dir), now)
	c := workspace.FlowCreate{Snapshot: snap, UserAlias: alias, Folder: folder, DisplayName: folder, New: opts.New}
	if s, ok := fl.Raw["display_name"].(string); ok && s != "" {
		c.DisplayName = s
	}
	if s, ok := fl.Raw["type"].(string); ok && s != "" {
		c.Type = s
	}
	if s, ok := fl.Raw["description"].(string); ok {
		c.Description = s
	}
	if m, ok := fl.Raw["tags"].(map[string]any); ok {
		c.Tags = map[string]string{}
		for k, v := range m {
			c.Tags[k] = fmt.Sprint(v)
		}
	}
	if meta.DisplayName != nil {
		c.DisplayName = *meta.DisplayName
	}
	if meta.Type != nil {
		c.Type = *meta.Type
	}
	if meta.Description != nil {
		c.Description = *meta.Description
	}
	if meta.Tags != nil {
		if c.Tags == nil {
			c.Tags = map[string]string{}
		}
		for k, v := range meta.Tags {
			c.Tags[k] = v
		}
	}
	res, err := flows.CreateFlow(ctx, c)
	if err != nil {
		return err
	}
	if res.Updated {
		cmdutil.Infof(opts.IO, "updated existing flow %s (%q): %d files uploaded to %s; pass --new to make a new flow instead",
			res.Flow.Name, res.Flow.DisplayName, res.Files, filepath.ToSlash(filepath.Dir(res.Flow.Path)))
	} else {
		cmdutil.Infof(opts.IO, "created flow %s (%q): %d files uploaded to %s", res.Flow.Name, res.Flow.DisplayName, res.Files,
			filepath.ToSlash(filepath.Dir(res.Flow.Path)))
	}
	return printFlow(p, res.Flow)
}

// ShowOptions are the inputs of `flow show`.
type ShowOptions struct {
	wsCommon
	Name string
}

// NewCmdShow returns `flow show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{wsCommon: wsCommonFrom(f)}
	cmd := &cobra.Command{
		Use:     "show -n NAME",
		Short:   "Show a workspace flow (azureml)",
		Long:    "Show a flow of the workspace by its name (the flow's GUID, as `pfz flow list` shows it).",
		Example: `  pfz flow show -n 9d8104b3-f9fa-4fef-a5c1-66bbde09e4c3`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runShow(c.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "the flow's `NAME` (its GUID; required)")
	return cmd
}

func runShow(ctx context.Context, opts *ShowOptions) error {
	flows, p, err := opts.flowsAndPrinter(ctx)
	if err != nil {
		return err
	}
	fl, err := flows.GetFlow(ctx, opts.Name)
	if err != nil {
		return err
	}
	return printFlow(p, fl)
}

// UpdateOptions are the inputs of `flow update`.
type UpdateOptions struct {
	wsCommon
	Flow   string
	Set    []string
	Update workspace.FlowUpdate
}

// NewCmdUpdate returns `flow update`.
func NewCmdUpdate(f *cmdutil.Factory, runF func(context.Context, *UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{wsCommon: wsCommonFrom(f)}
	cmd := &cobra.Command{
		Use:   "update --flow NAME --set KEY=VALUE [KEY=VALUE...]",
		Short: "Change a workspace flow's display name, description or tags (azureml)",
		Long: `Change a workspace flow's display name, description or tags (tags are merged). --flow
is the flow's name (its GUID). Unlike pfazure, a display name left out is kept (pfazure
renames the flow to its GUID) and the updated flow is printed.`,
		Example: `  pfz flow update --flow 9d8104b3-f9fa-4fef-a5c1-66bbde09e4c3 --set display_name="web classification v2" tags.stage=prod`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "flow", opts.Flow); err != nil {
				return err
			}
			meta, err := parseFlowSet(opts.Set, false)
			if err != nil {
				return err
			}
			if meta.DisplayName == nil && meta.Description == nil && meta.Tags == nil {
				return fault.New(fault.Usage, "nothing to update").WithHint("pass --set display_name=..., description=... or tags.<key>=...")
			}
			opts.Update = workspace.FlowUpdate{DisplayName: meta.DisplayName, Description: meta.Description, Tags: meta.Tags}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runUpdate(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Flow, "flow", "", "the flow's `NAME` (its GUID; required)")
	cmd.Flags().StringArrayVar(&opts.Set, "set", nil, "`KEY=VALUE`... with display_name, description or tags.<key>")
	cmdutil.MarkNargs(cmd, "set", false)
	return cmd
}

func runUpdate(ctx context.Context, opts *UpdateOptions) error {
	flows, p, err := opts.flowsAndPrinter(ctx)
	if err != nil {
		return err
	}
	fl, err := flows.UpdateFlow(ctx, opts.Flow, opts.Update)
	if err != nil {
		return err
	}
	return printFlow(p, fl)
}

// ListOptions are the inputs of `flow list`.
type ListOptions struct {
	wsCommon
	workspace.FlowListOptions
}

// NewCmdList returns `flow list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{wsCommon: wsCommonFrom(f)}
	cmd := &cobra.Command{
		Use:   "list [-r N] [--type standard|evaluation|chat] [--include-others] [--archived-only | --include-archived]",
		Short: "List workspace flows (azureml)",
		Long: `List the workspace's flows, newest first: yours unless --include-others. Unlike pfazure,
--type filters the list.`,
		Example: `  pfz flow list -r 10 --type evaluation -o json`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.ArchivedOnly && opts.IncludeArchived {
				return fault.New(fault.Usage, "Cannot provide both archived-only and include-archived.")
			}
			switch opts.Type {
			case "", "standard", "evaluation", "chat":
			default:
				return fault.New(fault.Usage, "'flow_type' must be one of ['standard', 'evaluation', 'chat'], got '%s'.", opts.Type)
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runList(c.Context(), opts)
		},
	}
	cmd.Flags().IntVarP(&opts.MaxResults, "max-results", "r", 50, "list at most `N` flows")
	cmd.Flags().StringVar(&opts.Type, "type", "", "only flows of this `TYPE`: standard, evaluation or chat")
	cmd.Flags().BoolVar(&opts.IncludeOthers, "include-others", false, "also flows other users created")
	cmd.Flags().BoolVar(&opts.ArchivedOnly, "archived-only", false, "only archived flows")
	cmd.Flags().BoolVar(&opts.IncludeArchived, "include-archived", false, "archived flows too")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	flows, p, err := opts.flowsAndPrinter(ctx)
	if err != nil {
		return err
	}
	list, err := flows.ListFlows(ctx, opts.FlowListOptions)
	if err != nil {
		return err
	}
	return cmdutil.PrintList(p, "flows", list, func(t *cmdutil.Table) {
		t.Header("name", "display name", "type", "created")
		for _, fl := range list {
			t.Row(fl.Name, fl.DisplayName, fl.Type, fl.CreatedDate)
		}
	})
}
