package completion

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// lookupTimeout bounds a completion that asks the target (run names,
// connection names): a shell waiting on a slow workspace is worse than no
// suggestion.
const lookupTimeout = 3 * time.Second

// maxRuns is how many of the latest runs -n completes.
const maxRuns = 50

// Register gives the flags of every command under root completions of
// their values: -o and --target (fixed words), --vm-size (the VM size
// catalog), --identity (its forms), --compute-type, --flow and --source (folders
// holding a flow), -n/--name of run commands and --run (the target's latest runs),
// and -n/--name of connection commands (the connections). No command takes a
// session id: session commands find the session from --flow.
func Register(root *cobra.Command, f *cmdutil.Factory) {
	_ = root.RegisterFlagCompletionFunc("output", fixed("table", "json", "yaml"))
	_ = root.RegisterFlagCompletionFunc("target", fixed(workspace.TargetLocal, workspace.TargetAzureML))
	walk(root, func(c *cobra.Command) {
		has := func(name string) bool { return c.LocalNonPersistentFlags().Lookup(name) != nil }
		if has("vm-size") {
			_ = c.RegisterFlagCompletionFunc("vm-size", vmSizes)
		}
		if has("identity") {
			_ = c.RegisterFlagCompletionFunc("identity", identities)
		}
		if has("compute-type") {
			_ = c.RegisterFlagCompletionFunc("compute-type", fixed(workspace.ComputeServerless, workspace.ComputeComputeInstance))
		}
		if has("flow") {
			_ = c.RegisterFlagCompletionFunc("flow", flowFolders)
		}
		if has("source") { // pf's name of the flow in flow validate
			_ = c.RegisterFlagCompletionFunc("source", flowFolders)
		}
		// create names something new: its -n has nothing to complete.
		if has("name") && c.Name() != "create" {
			switch group(c) {
			case "run":
				_ = c.RegisterFlagCompletionFunc("name", runNames(f))
			case "connection":
				_ = c.RegisterFlagCompletionFunc("name", connectionNames(f))
			}
		}
		// --run names the run an evaluation run reads (run create, flow validate).
		if has("run") {
			_ = c.RegisterFlagCompletionFunc("run", runNames(f))
		}
	})
}

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// group is the name of the command group c is in ("run" for `pfz run show`).
func group(c *cobra.Command) string {
	for ; c.HasParent() && c.Parent().HasParent(); c = c.Parent() {
	}
	return c.Name()
}

func fixed(words ...string) completeFunc {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(words, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

func withPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(strings.ToLower(w), strings.ToLower(prefix)) {
			out = append(out, w)
		}
	}
	return out
}

func vmSizes(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, s := range session.VMSizes() {
		out = append(out, s.Name+"\t"+s.String())
	}
	return withPrefix(out, prefix), cobra.ShellCompDirectiveNoFileComp
}

func identities(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	words := []string{
		"user\tthe user's own identity (default)",
		"managed\tthe workspace's primary user-assigned managed identity",
		"managed:\ta user-assigned managed identity: managed:CLIENT_ID",
	}
	return withPrefix(words, prefix), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// flowFolders completes folders: those holding a flow (flow.dag.yaml,
// flow.flex.yaml or a .prompty file) are offered as they are, the others
// with a trailing slash to go into.
func flowFolders(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	dir, base := filepath.Split(prefix)
	readDir := dir
	if readDir == "" {
		readDir = "."
	}
	ents, err := os.ReadDir(readDir)
	if err != nil {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), base) || (strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		p := dir + e.Name()
		if isFlowFolder(p) {
			out = append(out, p)
		} else {
			out = append(out, p+string(filepath.Separator))
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

func isFlowFolder(dir string) bool {
	for _, name := range []string{"flow.dag.yaml", "flow.dag.yml", "flow.flex.yaml", "flow.flex.yml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.prompty"))
	return len(m) > 0
}

// quiet keeps a completion's lookups off the terminal: the shell shows
// stderr as it is, and the target note would land in the prompt line.
func quiet(f *cmdutil.Factory) {
	f.IOStreams.ErrOut = io.Discard
}

func runNames(f *cmdutil.Factory) completeFunc {
	return func(c *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		quiet(f)
		ctx, cancel := context.WithTimeout(ctxOf(c), lookupTimeout)
		defer cancel()
		ws, err := f.Workspace(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		runs, err := ws.Runs().List(ctx, workspace.ListOptions{MaxResults: maxRuns})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, r := range runs {
			out = append(out, r.Name+"\t"+r.Status)
		}
		return withPrefix(out, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

func connectionNames(f *cmdutil.Factory) completeFunc {
	return func(c *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		quiet(f)
		ctx, cancel := context.WithTimeout(ctxOf(c), lookupTimeout)
		defer cancel()
		store, err := f.Connections(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := store.List(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, conn := range list {
			out = append(out, conn.Name+"\t"+conn.Type)
		}
		return withPrefix(out, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

func ctxOf(c *cobra.Command) context.Context {
	if ctx := c.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
