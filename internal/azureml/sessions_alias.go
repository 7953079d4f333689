package azureml

import (
	"fmt"
	"time"

	"github.com/pfz-cli/pfz/internal/workspace"
)

// A session's id covers the flow's requirement lines (protocol §3.6), so a
// package install gives the flow a new id. pfz keeps the service session
// it updated and notes, in its local session record, that the new id is
// served by it (sessionRecord.ServiceID): an alias. Every FlowSessions call
// and the BulkRuns submit go to the service id; what pfz prints is the
// flow's id. The alias is local to this machine's pfz; see Install for how
// that differs from pfazure.

// serviceID is the FlowSessions id that serves the session id: id itself
// unless a package install re-keyed it.
func (w *Workspace) serviceID(id string) string {
	if rec, _ := w.record(id); rec != nil && rec.ServiceID != "" {
		return rec.ServiceID
	}
	return id
}

// recordServing is the record of id, or else the record of the flow session
// that service session id serves (when asked for by its old id).
func (w *Workspace) recordServing(id string) (*sessionRecord, error) {
	recs, err := w.records()
	if err != nil {
		return nil, err
	}
	var alias *sessionRecord
	for i := range recs {
		if recs[i].Spec.ID == id {
			return &recs[i], nil
		}
		if recs[i].ServiceID == id && alias == nil {
			alias = &recs[i]
		}
	}
	return alias, nil
}

// rekeyRecord files the session recorded as from under spec.ID, served by
// service session sid, in one write of the records file (its lock held):
// the record of from, and any other of spec.ID, are replaced by one record.
func (w *Workspace) rekeyRecord(from string, spec workspace.SessionSpec, sid string) error {
	idle := spec.IdleTime
	if idle <= 0 {
		idle = defaultIdle
	}
	rec := sessionRecord{Spec: spec, IdleSeconds: int64(idle / time.Second), Workspace: w.wsKey(), StartedAt: w.opts.Now().UTC()}
	if sid != spec.ID {
		rec.ServiceID = sid
	}
	return w.withRecords(func(recs []sessionRecord) ([]sessionRecord, bool) {
		out := recs[:0:0]
		for _, r := range recs {
			if r.Workspace == rec.Workspace && (r.Spec.ID == from || r.Spec.ID == spec.ID) {
				if r.Spec.ID == from && !r.StartedAt.IsZero() {
					rec.StartedAt = r.StartedAt
				}
				continue
			}
			out = append(out, r)
		}
		return append(out, rec), true
	})
}

// withEnvironment is cur with the flow and environment of next, under
// next's id: what a package install changes. The compute settings (type,
// VM size, idle time, identity, compute) stay the running session's.
func withEnvironment(cur, next workspace.SessionSpec) workspace.SessionSpec {
	out := cur
	out.ID = next.ID
	if next.FlowDir != "" {
		out.FlowDir = next.FlowDir
	}
	if out.UserAlias == "" {
		out.UserAlias = next.UserAlias
	}
	out.LineageID, out.EnvHash, out.Image = next.LineageID, next.EnvHash, next.Image
	out.Requirements, out.RequirementsFile = next.Requirements, next.RequirementsFile
	return out
}

func aliasNote(sid string) string {
	return fmt.Sprintf("packages were installed in place: service session %s serves this id "+
		"(pfazure, which does not know, would start a new session for it)", sid)
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
