package app

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmd/root"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/iostreams"
)

// commandPaths lists every visible command below the root.
func commandPaths(t *testing.T) [][]string {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	cmd := root.NewCmdRoot(cmdutil.New(cmdutil.FactoryOptions{IO: ios, Build: cmdutil.BuildInfo{Version: "dev"}}))
	var out [][]string
	var walk func(*cobra.Command, []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" && c != cmd {
				continue
			}
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(cmd, nil)
	return out
}

func TestHelpGolden(t *testing.T) {
	paths := commandPaths(t)
	if len(paths) < 40 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		name := "pfz"
		if len(p) > 0 {
			name = "pfz_" + strings.Join(p, "_")
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			r := e.run(append(append([]string{}, p...), "--help")...)
			r.expect(t, 0, nil, []string{})
			golden(t, "help/"+name+".txt", r.stdout)
		})
	}
}

// Every command has a short description, an example and, for leaves, a
// usage line, so `--help` always shows how to call it.
func TestEveryCommandHasHelpAndExample(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cmd := root.NewCmdRoot(cmdutil.New(cmdutil.FactoryOptions{IO: ios}))
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if c.Short == "" {
			t.Errorf("%s has no short help", c.CommandPath())
		}
		if c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd)
}

func TestHelpTopics(t *testing.T) {
	for _, topic := range []string{"exit-codes", "environment"} {
		t.Run(topic, func(t *testing.T) {
			e := newEnv(t)
			r := e.run("help", topic)
			r.expect(t, 0, nil, []string{})
			golden(t, "topics/"+topic+".txt", r.stdout)
		})
	}
	e := newEnv(t)
	r := e.run("help", "environment")
	for _, v := range []string{"PFZ_SUBSCRIPTION", "PFZ_RESOURCE_GROUP", "PFZ_WORKSPACE_NAME", "PFZ_TARGET", "PFZ_CLOUD",
		"PFZ_ARM_ENDPOINT", "PFZ_SERVICE_ENDPOINT", "PFZ_BLOB_ENDPOINT", "PFZ_AUTH_MODE", "PFZ_HOME", "PFZ_PYTHON", "PFZ_UV",
		"PFZ_OUTPUT", "PFZ_CONFIG_DIR", "SSL_CERT_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
		"AZURE_FEDERATED_TOKEN_FILE", "NO_COLOR", "CI"} {
		if !strings.Contains(r.stdout, v) {
			t.Errorf("help environment does not mention %s", v)
		}
	}
	r = e.run("help", "exit-codes")
	for _, c := range []string{"  0 ", "  1 ", "  2 ", "  4 ", "  8 ", "  130 "} {
		if !strings.Contains(r.stdout, c) {
			t.Errorf("help exit-codes does not document %q", strings.TrimSpace(c))
		}
	}
	e.run("help", "run", "create").expect(t, 0, []string{"pfz run create", "--column-mapping"}, []string{})
	e.run("help", "nope").expect(t, 2, []string{}, []string{"unknown help topic", "hint:"})
}
