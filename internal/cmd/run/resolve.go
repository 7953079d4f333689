package run

import (
	"context"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// resolve turns a loaded run definition into a submission: the flow, its
// snapshot, the data, the session id and the compute settings.
func (opts *CreateOptions) resolve(_ context.Context, _ *runspec.Spec) (*workspace.Submission, diag.List, error) {
	return nil, nil, fault.New(fault.Unsupported, "resolving a run into a submission is not available in this build yet").
		WithHint("`pfz flow validate -f run.yml` checks the run offline meanwhile")
}
