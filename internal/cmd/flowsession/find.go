package flowsession

import (
	"context"
	"fmt"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Target is the session a command acts on: the one whose id the flow's
// current environment gives or, when the environment changed since the
// flow's session started (requirements saved with --save-only, a new image),
// that older session.
type Target struct {
	ID    string
	Stale *workspace.Session // the flow's older session, when the id has none
}

// Warning says that the target is stale and how to bring it up to date.
func (t Target) Warning(flowArg, currentID string) string {
	return fmt.Sprintf("the flow's environment changed since session %s started (its requirements or image); this command uses that session. "+
		"`pfz session reset --flow %s` rebuilds it with the current environment as session %s", t.ID, flowArg, currentID)
}

// Find returns the session r's id names or the flow's most recently used
// older session. With neither it returns the NotFound error of the id.
func Find(ctx context.Context, sessions workspace.Sessions, r *Resolved) (Target, error) {
	_, err := sessions.Get(ctx, r.Spec.ID)
	if err == nil || !fault.Is(err, fault.NotFound) {
		return Target{ID: r.Spec.ID}, err
	}
	list, lerr := sessions.List(ctx, workspace.SessionFilter{FlowDir: r.Flow.Dir})
	if lerr != nil {
		return Target{ID: r.Spec.ID}, err
	}
	var best *workspace.Session
	for i := range list {
		s := &list[i]
		if s.FlowDir != r.Flow.Dir || s.ID == r.Spec.ID {
			continue
		}
		if best == nil || lastUsed(s).After(lastUsed(best)) {
			best = s
		}
	}
	if best == nil {
		return Target{ID: r.Spec.ID}, err
	}
	return Target{ID: best.ID, Stale: best}, nil
}

func lastUsed(s *workspace.Session) time.Time {
	switch {
	case s.LastUsed != nil:
		return *s.LastUsed
	case s.CreatedOn != nil:
		return *s.CreatedOn
	}
	return time.Time{}
}
