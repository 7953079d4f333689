package app

import (
	"github.com/pfz-cli/pfz/internal/cmdutil"
)

// registerBackends is where the targets plug in: one entry per target name
// (workspace.TargetLocal, workspace.TargetAzureML) in f.Backends, each a
// cmdutil.Backend that opens a workspace.Workspace from the effective
// configuration. It may close over f for shared dependencies, e.g.
//
//	f.Backends[workspace.TargetAzureML] = func(ctx context.Context, cfg *config.Config) (workspace.Workspace, error) {
//		cred, _, err := f.Credential()
//		if err != nil {
//			return nil, err
//		}
//		return azureml.Open(ctx, cfg, cred)
//	}
//
// A target without an entry fails with fault.Unsupported (exit code 1),
// saying the target is not available in this build.
func registerBackends(f *cmdutil.Factory) {
	_ = f
}
