// Package configcmd holds `pfz config`: set, get, unset and list the
// settings of internal/config, and show where each value came from.
package configcmd

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/iostreams"
)

// NewCmdConfig returns the config command group.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Read and write pfz settings",
		Long: `Read and write pfz settings.

A value is taken from, in order: a flag, the PFZ_<KEY> environment variable,
the config file ($PFZ_CONFIG_DIR/config.yaml), .azureml/config.json found
upward from the working directory (subscription, resource group, workspace),
and a default. ` + "`pfz config set`" + ` writes the config file.

Keys:
` + keyList(),
		Example: `  pfz config set workspace_name my-ws
  pfz config list --sources`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdSet(f, nil), NewCmdGet(f, nil), NewCmdUnset(f, nil), NewCmdList(f, nil))
	return cmd
}

func keyList() string {
	var b strings.Builder
	for _, k := range config.Keys() {
		if len(k.Name) > 17 {
			fmt.Fprintf(&b, "  %s\n  %-17s %s\n", k.Name, "", k.Description)
			continue
		}
		fmt.Fprintf(&b, "  %-17s %s\n", k.Name, k.Description)
	}
	return b.String()
}

// SetOptions are the inputs of `config set` and `config unset`.
type SetOptions struct {
	IO      *iostreams.IOStreams
	Printer func() (*cmdutil.Printer, error)
	Dir     string
	Key     string
	Value   string
}

// changeResult is what `config set|unset -o json` prints.
type changeResult struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	File  string `json:"file"`
	Unset bool   `json:"unset,omitempty"`
}

// report says what changed: a line on stderr, and the change as a document
// with -o json/yaml. A config file too broken to load leaves only the line.
func report(opts *SetOptions, res changeResult, line string) error {
	cmdutil.Infof(opts.IO, "%s", line)
	p, err := opts.Printer()
	if err != nil || p.IsTable() {
		return nil //nolint:nilerr // the change is made and said on stderr; a broken config file only loses the document
	}
	return p.Print(res, nil)
}

// NewCmdSet returns `config set`.
func NewCmdSet(f *cmdutil.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{IO: f.IOStreams, Printer: f.Printer}
	return &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Write a setting to the config file",
		Long: "Write a setting to $PFZ_CONFIG_DIR/config.yaml (created readable by you only). " +
			"The value is checked first; the file's other settings and comments are kept.",
		Example: `  pfz config set subscription 00000000-0000-0000-0000-000000000000
  pfz config set cloud AzureUSGovernment
  pfz config set blob_endpoint 'http://127.0.0.1:10000/{account}'`,
		Args: cmdutil.ExactArgs(2, "KEY VALUE"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = config.Dir(f.Getenv)
			opts.Key, opts.Value = args[0], args[1]
			if runF != nil {
				return runF(c.Context(), opts)
			}
			canon, err := config.Set(opts.Dir, opts.Key, opts.Value)
			if err != nil {
				return err
			}
			file := filepath.Join(opts.Dir, "config.yaml")
			return report(opts, changeResult{Key: opts.Key, Value: canon, File: file},
				fmt.Sprintf("set %s to %q in %s", opts.Key, canon, file))
		},
	}
}

// NewCmdUnset returns `config unset`.
func NewCmdUnset(f *cmdutil.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{IO: f.IOStreams, Printer: f.Printer}
	return &cobra.Command{
		Use:     "unset KEY",
		Short:   "Remove a setting from the config file",
		Example: `  pfz config unset target`,
		Args:    cmdutil.ExactArgs(1, "KEY"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = config.Dir(f.Getenv)
			opts.Key = args[0]
			if runF != nil {
				return runF(c.Context(), opts)
			}
			if err := config.Unset(opts.Dir, opts.Key); err != nil {
				return err
			}
			file := filepath.Join(opts.Dir, "config.yaml")
			return report(opts, changeResult{Key: opts.Key, File: file, Unset: true},
				fmt.Sprintf("removed %s from %s", opts.Key, file))
		},
	}
}

// GetOptions are the inputs of `config get`.
type GetOptions struct {
	Config  func() (*config.Config, error)
	Printer func() (*cmdutil.Printer, error)
	Key     string
}

// NewCmdGet returns `config get`.
func NewCmdGet(f *cmdutil.Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	opts := &GetOptions{Config: f.Config, Printer: f.Printer}
	return &cobra.Command{
		Use:   "get KEY",
		Short: "Print the effective value of a setting",
		Long:  "Print the value pfz would use for a setting, from whichever source wins. -o json also says where it came from.",
		Example: `  pfz config get target
  pfz config get workspace_name -o json`,
		Args: cmdutil.ExactArgs(1, "KEY"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Key = args[0]
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runGet(opts)
		},
	}
}

func runGet(opts *GetOptions) error {
	if err := config.CheckKey(opts.Key); err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	v, _ := cfg.Get(opts.Key)
	v.Key = opts.Key
	return p.Print(v, func(t *cmdutil.Table) { t.Row(v.Value) })
}

// ListOptions are the inputs of `config list`.
type ListOptions struct {
	Config  func() (*config.Config, error)
	Printer func() (*cmdutil.Printer, error)
	Sources bool
}

// NewCmdList returns `config list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Config: f.Config, Printer: f.Printer}
	cmd := &cobra.Command{
		Use:   "list [--sources]",
		Short: "Print every setting pfz would use",
		Long: `Print every setting pfz would use. With --sources, also where each value came
from (flag, env, config-file, azureml-config or default) and which flag,
variable or file set it.`,
		Example: `  pfz config list
  pfz config list --sources -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runList(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Sources, "sources", false, "show where each value came from")
	return cmd
}

func runList(opts *ListOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	values := cfg.Values()
	var doc any = values
	if !opts.Sources {
		m := make(map[string]string, len(values))
		for _, v := range values {
			m[v.Key] = v.Value
		}
		doc = m
	}
	return p.Print(doc, func(t *cmdutil.Table) {
		if opts.Sources {
			t.Header("key", "value", "source", "origin")
		} else {
			t.Header("key", "value")
		}
		for _, v := range values {
			if opts.Sources {
				t.Row(v.Key, v.Value, string(v.Source), v.Origin)
			} else {
				t.Row(v.Key, v.Value)
			}
		}
	})
}
