package app

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/connection"
	"github.com/pfz-cli/pfz/internal/executor/pyruntime"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local"
	"github.com/pfz-cli/pfz/internal/local/uvsetup"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// buildSessionCmd is the hidden first argument of the detached process that
// finishes a `session start --no-wait` (or reset) on the local target.
const buildSessionCmd = "__session-build"

// envPrivateToken holds the token that replaces {private} in private feed
// URLs on the local target (`token` or `user:token`).
const envPrivateToken = "PFZ_PRIVATE_FEED_TOKEN"

// localSessions opens the local sessions of cfg.
func localSessions(f *cmdutil.Factory, cfg *config.Config, environ []string) (*local.Sessions, error) {
	return local.NewSessions(local.Options{
		Home:   cfg.Home,
		Python: cfg.Python,
		Now:    f.Now,
		PrivateToken: func(context.Context, workspace.Identity) (string, error) {
			tok := f.Getenv(envPrivateToken)
			if tok == "" {
				return "", fault.New(fault.Auth, "the requirements name a private feed ({private}) but %s is not set", envPrivateToken).
					WithHint("export %s=<token> (or <user>:<token>) before installing; pfz never stores it", envPrivateToken)
			}
			return tok, nil
		},
		Env: environ,
		ProvideUV: (&uvsetup.Resolver{
			Getenv:    f.Getenv,
			Installer: &uvsetup.Installer{Home: cfg.Home, Env: environ, Stderr: f.IOStreams.ErrOut, Now: f.Now},
			Stderr:    f.IOStreams.ErrOut,
		}).UV,
		Debug: debugWriter(f),
		Detach: func(ctx context.Context, id string) (int, error) {
			exe, err := os.Executable()
			if err != nil {
				return 0, fault.Wrap(fault.Failed, err, "cannot find the pfz executable to finish the start in the background")
			}
			env := append(withoutKey(environ, "PFZ_HOME"), "PFZ_HOME="+cfg.Home)
			return local.StartDetached(exe, []string{buildSessionCmd, id}, env)
		},
		Runtime: &workspace.Package{Name: "pfz-runtime", Version: pyruntime.Hash(), Origin: workspace.OriginBase},
	})
}

// registerLocal adds the local target to f.Backends.
func registerLocal(f *cmdutil.Factory, environ []string) {
	f.Backends[workspace.TargetLocal] = func(ctx context.Context, cfg *config.Config) (workspace.Workspace, error) {
		ss, err := localSessions(f, cfg, environ)
		if err != nil {
			return nil, err
		}
		return local.New(local.WorkspaceOptions{
			Sessions:    ss,
			Home:        cfg.Home,
			Connections: local.StoreConnections(connection.NewStore(cfg.Home)),
			Now:         f.Now,
			Env:         environ,
			Debug:       debugWriter(f),
		})
	}
}

// runSessionBuild is the detached builder: it finishes the start of one
// session and exits. Its errors are recorded in the session itself.
func runSessionBuild(ctx context.Context, f *cmdutil.Factory, environ []string, args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(f.IOStreams.ErrOut, "usage: pfz %s SESSION_ID\n", buildSessionCmd)
		return 2
	}
	cfg, err := f.ConfigFor(config.KeyHome, config.KeyPython)
	if err != nil {
		cmdutil.PrintError(f.IOStreams, err)
		return cmdutil.ExitCode(err)
	}
	ss, err := localSessions(f, cfg, environ)
	if err != nil {
		cmdutil.PrintError(f.IOStreams, err)
		return cmdutil.ExitCode(err)
	}
	if _, err := ss.Build(ctx, args[0], workspace.StartOptions{}); err != nil {
		cmdutil.PrintError(f.IOStreams, err)
		return cmdutil.ExitCode(err)
	}
	return 0
}

func withoutKey(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}
