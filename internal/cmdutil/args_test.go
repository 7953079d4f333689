package cmdutil

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/fault"
)

// TestGroupRunESuggests: a mistyped subcommand names the nearest one, by
// edit distance as well as by prefix.
func TestGroupRunESuggests(t *testing.T) {
	tests := []struct {
		typed, hint string
	}{
		{"crate", "did you mean `pfz run create`?"},
		{"creat", "did you mean `pfz run create`?"},
		{"lsit", "did you mean `pfz run list`?"},
		{"zzzzzz", "see `pfz run --help`"},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			root := &cobra.Command{Use: "pfz", SilenceErrors: true, SilenceUsage: true}
			run := &cobra.Command{Use: "run", Args: cobra.ArbitraryArgs, RunE: GroupRunE}
			for _, n := range []string{"create", "list", "show"} {
				run.AddCommand(&cobra.Command{Use: n, RunE: func(*cobra.Command, []string) error { return nil }})
			}
			root.AddCommand(run)
			root.SetArgs([]string{"run", tt.typed})
			err := root.Execute()
			if err == nil || ExitCode(err) != 2 {
				t.Fatalf("want a usage error, got %v", err)
			}
			if h := fault.HintOf(err); !strings.HasPrefix(h, tt.hint) {
				t.Errorf("hint %q, want it to start with %q", h, tt.hint)
			}
			if !strings.Contains(tt.hint, "did you mean") && strings.Contains(fault.HintOf(err), "did you mean") {
				t.Errorf("no suggestion expected for %q: %q", tt.typed, fault.HintOf(err))
			}
		})
	}
}
