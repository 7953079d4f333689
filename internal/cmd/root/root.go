// Package root assembles pfz's command tree: the root command, its global
// flags, the command groups and the help topics.
package root

import (
	"github.com/spf13/cobra"

	authcmd "github.com/pfz-cli/pfz/internal/cmd/auth"
	"github.com/pfz-cli/pfz/internal/cmd/completion"
	configcmd "github.com/pfz-cli/pfz/internal/cmd/config"
	"github.com/pfz-cli/pfz/internal/cmd/connection"
	flowcmd "github.com/pfz-cli/pfz/internal/cmd/flow"
	"github.com/pfz-cli/pfz/internal/cmd/help"
	"github.com/pfz-cli/pfz/internal/cmd/packages"
	"github.com/pfz-cli/pfz/internal/cmd/run"
	"github.com/pfz-cli/pfz/internal/cmd/session"
	"github.com/pfz-cli/pfz/internal/cmd/version"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/fault"
)

// NewCmdRoot returns the root command with every command under it.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pfz <command>",
		Short: "Prompt flow on your machine and on Azure ML",
		Long: `pfz checks prompt flows offline, runs them on an embedded local workspace,
manages compute sessions and submits runs to an Azure Machine Learning
workspace. Its run commands take pfazure's run.yml and flags.

The target is azureml when a workspace is configured (flags, PFZ_* variables,
the config file or .azureml/config.json), else local; --target overrides.

Help topics: ` + "`pfz help exit-codes`, `pfz help environment`" + `.`,
		Example: `  pfz flow validate ./my_flow
  pfz run create -f ./my_flow/run.yml --dry-run
  pfz session start --flow ./my_flow --vm-size Standard_E4ds_v4
  pfz run create -f ./my_flow/run.yml --stream`,
		Version:       f.AppVersion,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE:          cmdutil.GroupRunE,
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetIn(f.IOStreams.In)
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetVersionTemplate("pfz version {{.Version}}\n")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fault.Wrap(fault.Usage, err, "%s", c.CommandPath()).WithHint("see `%s --help`", c.CommandPath())
	})

	pf := cmd.PersistentFlags()
	g := &f.Global
	pf.StringVarP(&g.Output, "output", "o", "table", "output `FORMAT`: table, json or yaml")
	pf.StringVar(&g.Query, "query", "", "JMESPath `QUERY` applied to json or yaml output")
	pf.BoolVarP(&g.Debug, "debug", "d", false, "show debug detail on stderr (secrets are never shown)")
	pf.BoolVar(&g.Verbose, "verbose", false, "show more progress detail on stderr")
	pf.StringVar(&g.Target, "target", "", "`TARGET`: local or azureml (default: azureml when a workspace is configured)")
	pf.StringVar(&g.Subscription, "subscription", "", "Azure subscription `ID` of the workspace")
	pf.StringVarP(&g.ResourceGroup, "resource-group", "g", "", "resource `GROUP` of the workspace")
	pf.StringVarP(&g.WorkspaceName, "workspace-name", "w", "", "Azure ML workspace `NAME`")
	g.Changed = func(name string) bool { return pf.Changed(name) }
	pf.SortFlags = false

	cmd.AddGroup(
		&cobra.Group{ID: "flow", Title: "Flow commands:"},
		&cobra.Group{ID: "workspace", Title: "Workspace commands:"},
		&cobra.Group{ID: "settings", Title: "Settings and help:"},
	)
	add := func(group string, cs ...*cobra.Command) {
		for _, c := range cs {
			c.GroupID = group
			cmd.AddCommand(c)
		}
	}
	add("flow",
		flowcmd.NewCmdFlow(f),
		session.NewCmdSession(f),
		packages.NewCmdPackages(f),
		run.NewCmdRun(f),
	)
	add("workspace",
		connection.NewCmdConnection(f),
		authcmd.NewCmdAuth(f),
	)
	configCmd := configcmd.NewCmdConfig(f)
	configCmd.Annotations = map[string]string{showsConfig: "true"}
	add("settings",
		configCmd,
		version.NewCmdVersion(f, nil),
		completion.NewCmdCompletion(f),
	)
	helpCmd := help.NewCmdHelp(f)
	helpCmd.GroupID = "settings"
	cmd.SetHelpCommand(helpCmd)
	cmd.SetHelpCommandGroupID("settings")

	completion.Register(cmd, f)
	cmdutil.EnableFlagPrefixes(cmd)
	return cmd
}

// showsConfig marks the command group whose commands print the settings,
// problems included, rather than use them.
const showsConfig = "pfz/shows-config"

// ShowsConfig reports whether c prints the settings rather than uses them
// (`pfz config …`): a setting it cannot use is shown, not ignored.
func ShowsConfig(c *cobra.Command) bool {
	for ; c != nil; c = c.Parent() {
		if c.Annotations[showsConfig] != "" {
			return true
		}
	}
	return false
}
