// Package connection holds `pfz connection`: create, list, show and delete
// the connections flow nodes use, through the target's connection store.
package connection

import (
	"context"
	"sort"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
)

// NewCmdConnection returns the connection command group.
func NewCmdConnection(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connection <command>",
		Short: "Manage the connections flow nodes use",
		Long: `Manage connections: the named endpoints and keys that LLM and tool nodes use.
Secrets are stored by the target and never printed.

On the local target the connections live under PFZ_HOME (secrets in their own
mode-0600 files) and local runs use them. On the azureml target they are the
workspace's connections, which its runs use: pfz lists and shows them over
ARM without reading their secrets (only the secrets' names are shown), and
creates azure_open_ai, open_ai, custom, cognitive_search and serp ones.`,
		Example: `  pfz connection list
  pfz connection create -n my_aoai --type azure_open_ai --set api_base=https://x.openai.azure.com api_key=...`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdDelete(f, nil))
	return cmd
}

type common struct {
	IO      *iostreams.IOStreams
	Store   func(context.Context) (cmdutil.ConnectionStore, error)
	Printer func() (*cmdutil.Printer, error)
}

func commonFrom(f *cmdutil.Factory) common {
	return common{IO: f.IOStreams, Store: f.Connections, Printer: f.Printer}
}

// storeAndPrinter opens the target's connection store, then the printer.
func (c common) storeAndPrinter(ctx context.Context) (cmdutil.ConnectionStore, *cmdutil.Printer, error) {
	store, err := c.Store(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, err := c.Printer()
	if err != nil {
		return nil, nil, err
	}
	return store, p, nil
}

func printConn(p *cmdutil.Printer, c *cmdutil.Connection) error {
	return p.Print(c, func(t *cmdutil.Table) { connTable(t, c) })
}

func connTable(t *cmdutil.Table, c *cmdutil.Connection) {
	cmdutil.KeyValues(t, "name", c.Name, "type", c.Type)
	for _, m := range []map[string]string{c.Configs, c.Secrets} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Row(k, m[k])
		}
	}
}

// CreateOptions are the inputs of `connection create`.
type CreateOptions struct {
	common
	Connection cmdutil.Connection
}

// NewCmdCreate returns `connection create`.
func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{common: commonFrom(f)}
	var set, secrets []string
	cmd := &cobra.Command{
		Use:   "create (-f FILE | -n NAME --type TYPE) [--set KEY=VALUE...] [--secret KEY=VALUE...]",
		Short: "Create or replace a connection",
		Long: `Create or replace a connection, from a connection YAML file (-f, the format
prompt flow's pf uses) or from flags. --set gives settings (api_base,
api_version, ...) and --secret secrets (api_key), each as KEY=VALUE; with -f
they override the file's values, as does -n.`,
		Example: `  pfz connection create -f azure_openai.yaml --secret api_key=$AOAI_KEY
  pfz connection create -n my_aoai --type azure_open_ai \
    --set api_base=https://x.openai.azure.com api_version=2024-02-01 --secret api_key=$AOAI_KEY`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.Connection.File == "" {
				if err := cmdutil.RequireFlag(c, "name", opts.Connection.Name); err != nil {
					return err
				}
				if err := cmdutil.RequireFlag(c, "type", opts.Connection.Type); err != nil {
					return err
				}
			}
			kv, err := cmdutil.ParseKeyValues(cmdutil.KVFlag{Name: "--set", Example: "api_base=https://my-resource.openai.azure.com/"}, set)
			if err != nil {
				return err
			}
			sk, err := cmdutil.ParseKeyValues(cmdutil.KVFlag{Name: "--secret", Example: "api_key=<your key>", Secret: true}, secrets)
			if err != nil {
				return err
			}
			opts.Connection.Configs, opts.Connection.Secrets = cmdutil.KeyValueMap(kv), cmdutil.KeyValueMap(sk)
			if runF != nil {
				return runF(c.Context(), opts)
			}
			store, p, err := opts.storeAndPrinter(c.Context())
			if err != nil {
				return err
			}
			conn, err := store.Create(c.Context(), opts.Connection)
			if err != nil {
				return err
			}
			return printConn(p, conn)
		},
	}
	cmd.Flags().StringVarP(&opts.Connection.File, "file", "f", "", "connection YAML `FILE`")
	cmd.Flags().StringVarP(&opts.Connection.Name, "name", "n", "", "connection `NAME` (required without -f)")
	cmd.Flags().StringVar(&opts.Connection.Type, "type", "", "connection `TYPE`, e.g. azure_open_ai, open_ai, custom (required without -f)")
	cmd.Flags().StringArrayVar(&set, "set", nil, "settings as `KEY=VALUE`...")
	cmd.Flags().StringArrayVar(&secrets, "secret", nil, "secrets as `KEY=VALUE`... (never printed)")
	cmdutil.MarkNargs(cmd, "set", false)
	cmdutil.MarkNargs(cmd, "secret", false)
	return cmd
}

// ListOptions are the inputs of `connection list`.
type ListOptions struct{ common }

// NewCmdList returns `connection list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{common: commonFrom(f)}
	return &cobra.Command{
		Use:     "list",
		Short:   "List connections",
		Example: `  pfz connection list -o json`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			store, p, err := opts.storeAndPrinter(c.Context())
			if err != nil {
				return err
			}
			list, err := store.List(c.Context())
			if err != nil {
				return err
			}
			return cmdutil.PrintList(p, "connections", list, func(t *cmdutil.Table) {
				t.Header("name", "type")
				for _, c := range list {
					t.Row(c.Name, c.Type)
				}
			})
		},
	}
}

// NameOptions are the inputs of `connection show` and `connection delete`.
type NameOptions struct {
	common
	Name string
}

// NewCmdShow returns `connection show`.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *NameOptions) error) *cobra.Command {
	opts := &NameOptions{common: commonFrom(f)}
	cmd := &cobra.Command{
		Use:     "show -n NAME",
		Short:   "Show a connection (secrets masked)",
		Example: `  pfz connection show -n my_aoai`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			store, p, err := opts.storeAndPrinter(c.Context())
			if err != nil {
				return err
			}
			conn, err := store.Get(c.Context(), opts.Name)
			if err != nil {
				return err
			}
			return printConn(p, conn)
		},
	}
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "connection `NAME` (required)")
	return cmd
}

// NewCmdDelete returns `connection delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *NameOptions) error) *cobra.Command {
	opts := &NameOptions{common: commonFrom(f)}
	var yes bool
	cmd := &cobra.Command{
		Use:     "delete -n NAME [--yes]",
		Short:   "Delete a connection",
		Long:    "Delete a connection. Flows that name it fail until it is created again. Needs --yes.",
		Example: `  pfz connection delete -n my_aoai --yes`,
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.RequireFlag(c, "name", opts.Name); err != nil {
				return err
			}
			if !yes {
				return fault.New(fault.Usage, "deleting connection %s needs --yes", opts.Name).
					WithHint("run `pfz connection delete -n %s --yes`", opts.Name)
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			store, err := opts.Store(c.Context())
			if err != nil {
				return err
			}
			if err := store.Delete(c.Context(), opts.Name); err != nil {
				return err
			}
			cmdutil.Infof(opts.IO, "deleted connection %s", opts.Name)
			if p, err := opts.Printer(); err == nil && !p.IsTable() {
				return p.Print(map[string]any{"name": opts.Name, "deleted": true}, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "connection `NAME` (required)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
