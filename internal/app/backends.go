package app

import (
	"context"
	"io"
	"path/filepath"

	"github.com/pfz-cli/pfz/internal/azureml"
	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/connection"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flexmeta"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// registerBackends is where the targets plug in: one entry per target name in
// f.Backends, each opening a workspace.Workspace from the effective
// configuration. Tests replace entries through Options.Setup.
func registerBackends(f *cmdutil.Factory) {
	// poll_interval also sets how often `run create --stream` and `run
	// stream` poll, which read f.PollInterval before any command loads the
	// configuration. It has no flag, so loading without flags here gives the
	// value the command will see; an invalid setting is reported by the
	// command that reads it (the azureml backend) or after the command.
	if cfg := config.Resolve(config.LoadOptions{Getenv: f.Getenv, WorkDir: f.WorkDir}); cfg.Check(config.KeyPollInterval) == nil && cfg.PollInterval > 0 {
		f.PollInterval = cfg.PollInterval
	}
	f.Backends[workspace.TargetAzureML] = func(ctx context.Context, cfg *config.Config) (workspace.Workspace, error) {
		if err := cfg.RequireWorkspace(); err != nil {
			return nil, err
		}
		cred, _, err := f.Credential()
		if err != nil {
			return nil, err
		}
		return azureml.New(ctx, azureml.Options{
			Subscription:    cfg.Subscription,
			ResourceGroup:   cfg.ResourceGroup,
			Workspace:       cfg.WorkspaceName,
			Cloud:           cfg.Cloud,
			ARMEndpoint:     cfg.ARMEndpoint,
			ServiceEndpoint: cfg.ServiceEndpoint,
			BlobEndpoint:    cfg.BlobEndpoint,
			FileEndpoint:    cfg.FileEndpoint,
			Credential:      cred,
			CacheDir:        filepath.Join(cfg.Home, "azureml"),
			CACertFile:      f.Getenv("SSL_CERT_FILE"),
			UserAgent:       "pfz/" + f.Build.Version,
			Now:             f.Now,
			Debug:           debugWriter(f),
			Warn:            f.IOStreams.ErrOut,
			PollInterval:    cfg.PollInterval,
			Network:         f.NetworkPolicy(cfg),
		})
	}
	f.FlexSignature = func() (snapshot.SignatureFunc, error) {
		cfg, err := f.ConfigFor(config.KeyTarget)
		if err != nil || cfg.Target != config.TargetAzureML {
			// Not the azureml target, or none can be chosen yet: a dry run
			// still works, and a submit stops on the target itself.
			return nil, nil //nolint:nilerr // the target's error is reported where a target is needed
		}
		if cfg, err = f.ConfigFor(config.KeyPython); err != nil {
			return nil, err
		}
		// pfazure uploads a flex flow's flow.flex.yaml with the entry's
		// signature written in, read from the code without running it.
		python := cfg.Python
		return func(ctx context.Context, dir, entry string) (*flexmeta.Signature, error) {
			return flexmeta.Read(ctx, python, dir, entry)
		}, nil
	}
	f.Connections = func(ctx context.Context) (cmdutil.ConnectionStore, error) {
		cfg, err := f.ConfigFor(config.KeyTarget, config.KeyHome)
		if err != nil {
			return nil, err
		}
		lookup := func(k string) (string, bool) { v := f.Getenv(k); return v, v != "" }
		if cfg.Target == config.TargetAzureML {
			// The azureml target's connections are the workspace's, which
			// its runs use; the local store serves local runs.
			ws, err := f.Workspace(ctx)
			if err != nil {
				return nil, err
			}
			wc, ok := ws.(workspaceConnections)
			if !ok {
				return nil, fault.New(fault.Unsupported, "the %s target has no workspace connections", cfg.Target)
			}
			return &wsConnStore{ws: wc, workDir: f.WorkDir, lookup: lookup}, nil
		}
		return &connStore{
			store:   connection.NewStore(cfg.Home),
			workDir: f.WorkDir,
			lookup:  lookup,
		}, nil
	}
}

// debugWriter is where backends log requests with --debug (secrets redacted
// by the backend), else nowhere.
func debugWriter(f *cmdutil.Factory) io.Writer {
	if f.Global.Debug {
		return f.IOStreams.ErrOut
	}
	return nil
}
