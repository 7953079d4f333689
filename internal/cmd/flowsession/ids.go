package flowsession

import (
	"context"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// deriveIDs sets the lineage id, environment hash and session id of spec.
func deriveIDs(_ context.Context, _ *Resolved, _ *workspace.SessionSpec) error {
	return fault.New(fault.Unsupported, "session ids cannot be derived in this build yet").
		WithHint("this needs the session id rules of protocol §3.6, which are not built in yet")
}

// checkVMSize rejects VM sizes prompt flow sessions cannot use.
func checkVMSize(string) error { return nil }
