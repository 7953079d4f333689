// Package completion holds `pfz completion`, which prints shell completion
// scripts.
package completion

import (
	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// NewCmdCompletion returns `pfz completion SHELL`.
func NewCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion {bash|zsh|fish|powershell}",
		Short: "Print a shell completion script",
		Long: `Print the completion script for a shell to stdout. Load it in the current
shell, or save it where your shell reads completions.`,
		Example: `  # bash, this shell only
  source <(pfz completion bash)
  # zsh, for every new shell
  pfz completion zsh > "${fpath[1]}/_pfz"
  # fish
  pfz completion fish > ~/.config/fish/completions/pfz.fish
  # PowerShell
  pfz completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cmdutil.ExactArgs(1, "the shell: bash, zsh, fish or powershell"),
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			out := f.IOStreams.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return cmdutil.UsageErrorf(c, "unknown shell %q: use bash, zsh, fish or powershell", args[0])
		},
	}
	return cmd
}
