package cmdutil

import (
	"github.com/spf13/cobra"
)

// NoArgs rejects positional arguments with a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return UsageErrorf(cmd, "%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// ExactArgs wants n arguments, named by what in the message.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return UsageErrorf(cmd, "%s needs %d argument(s): %s; got %d", cmd.CommandPath(), n, what, len(args))
		}
		return nil
	}
}

// MaximumArgs allows at most n arguments.
func MaximumArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return UsageErrorf(cmd, "%s takes at most %d argument(s) (%s); got %q", cmd.CommandPath(), n, what, args)
		}
		return nil
	}
}

// GroupRunE makes a command group print its help when called alone and fail
// with a usage error on an unknown subcommand, instead of cobra's silent help.
func GroupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	e := UsageErrorf(cmd, "unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		// Cobra applies its default of 2 only on its own error path; without
		// it SuggestionsFor finds prefixes only ("creat", not "crate").
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		e.Hint = "did you mean `" + cmd.CommandPath() + " " + s[0] + "`? " + e.Hint
	}
	return e
}

// RequireFlag returns a usage error when a required flag is empty.
func RequireFlag(cmd *cobra.Command, name, value string) error {
	if value == "" {
		return UsageErrorf(cmd, "--%s is required", name)
	}
	return nil
}
