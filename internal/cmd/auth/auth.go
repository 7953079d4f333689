// Package authcmd holds `pfz auth status`: which credential pfz uses and
// whom it acts as. It never prints a token.
package authcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// NewCmdAuth returns the auth command group.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <command>",
		Short: "Show how pfz authenticates to Azure",
		Long: `Show how pfz authenticates to Azure. pfz does not log in itself: it uses the
credential named by auth.mode (PFZ_AUTH_MODE), by default a chain of an
environment service principal, workload identity, managed identity, the
Azure CLI and the Azure Developer CLI.`,
		Example: `  pfz auth status`,
		Args:    cobra.ArbitraryArgs,
		RunE:    cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdStatus(f, nil))
	return cmd
}

// StatusOptions are the inputs of `auth status`.
type StatusOptions struct {
	Status  func(context.Context) (*cmdutil.AuthStatus, error)
	Printer func() (*cmdutil.Printer, error)
}

// NewCmdStatus returns `auth status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Status: f.AuthStatus, Printer: f.Printer}
	return &cobra.Command{
		Use:   "status",
		Short: "Say which credential pfz uses and who it is",
		Long: `Get a resource manager token and say which credential supplied it, the tenant,
the principal and the user alias that session ids use. The token itself is
never shown. Exit code 4 when no credential works.`,
		Example: `  pfz auth status
  PFZ_AUTH_MODE=azure-cli pfz auth status -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runStatus(c.Context(), opts)
		},
	}
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	p, err := opts.Printer()
	if err != nil {
		return err
	}
	st, err := opts.Status(ctx)
	if err != nil {
		return err
	}
	return p.Print(st, func(t *cmdutil.Table) {
		cmdutil.KeyValues(t,
			"mode", st.Mode,
			"credential", st.Credential,
			"tenant", st.Tenant,
			"principal", st.Principal,
			"user alias", st.UserAlias,
			"chain", st.Chain,
		)
	})
}
