package local

import (
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Workspace is the local target: sessions are Python environments under
// PFZ_HOME, runs execute in this process (see Runs).
type Workspace struct {
	sessions *Sessions
	runs     *Runs
}

var _ workspace.Workspace = (*Workspace)(nil)

// New combines the local sessions (opts.Sessions, made by NewSessions over
// the same PFZ_HOME) with the local runs.
func New(opts WorkspaceOptions) (*Workspace, error) {
	runs, err := NewRuns(opts)
	if err != nil {
		return nil, err
	}
	return &Workspace{sessions: opts.Sessions, runs: runs}, nil
}

// Target is workspace.TargetLocal.
func (w *Workspace) Target() string { return workspace.TargetLocal }

// Sessions are the local sessions.
func (w *Workspace) Sessions() workspace.Sessions { return w.sessions }

// Runs are the local runs.
func (w *Workspace) Runs() workspace.Runs { return w.runs }

// LocalRuns is Runs with its local-only methods (Dir).
func (w *Workspace) LocalRuns() *Runs { return w.runs }

// LocalSessions is Sessions with its local-only methods (Build, Maintain).
func (w *Workspace) LocalSessions() *Sessions { return w.sessions }
