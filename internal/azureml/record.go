package azureml

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// sessionRecord is pfz's local note of a session it started: the service can
// show one session but cannot list them, and a reset needs the spec.
type sessionRecord struct {
	Spec        workspace.SessionSpec `json:"spec"`
	IdleSeconds int64                 `json:"idle_seconds"`
	Workspace   string                `json:"workspace"` // ARM id, lower-cased
	StartedAt   time.Time             `json:"started_at"`
	// ServiceID is the FlowSessions id that serves Spec.ID when the two
	// differ: `pfz packages install` updated that session in place and
	// filed it under the id of the new requirements (see sessions.Install).
	ServiceID string `json:"service_id,omitempty"`
}

func (w *Workspace) recordPath() string {
	if w.opts.CacheDir == "" {
		return ""
	}
	return filepath.Join(w.opts.CacheDir, "azureml", "sessions.json")
}

func (w *Workspace) wsKey() string {
	return lower(w.opts.Subscription + "/" + w.opts.ResourceGroup + "/" + w.opts.Workspace)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// withRecords runs f on all records under a file lock, saving when f says so.
func (w *Workspace) withRecords(f func(recs []sessionRecord) ([]sessionRecord, bool)) error {
	p := w.recordPath()
	if p == "" {
		f(nil)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	lk := flock.New(p + ".lock")
	if err := lk.Lock(); err != nil {
		return err
	}
	defer func() { _ = lk.Unlock() }() // the process's exit or the file's close releases it too
	var recs []sessionRecord
	if data, err := os.ReadFile(p); err == nil {
		_ = json.Unmarshal(data, &recs)
	}
	out, save := f(recs)
	if !save {
		return nil
	}
	return atomicfile.WriteJSON(p, out, atomicfile.Options{})
}

func (w *Workspace) records() ([]sessionRecord, error) {
	var mine []sessionRecord
	err := w.withRecords(func(recs []sessionRecord) ([]sessionRecord, bool) {
		for _, r := range recs {
			if r.Workspace == w.wsKey() {
				mine = append(mine, r)
			}
		}
		return nil, false
	})
	return mine, err
}

func (w *Workspace) record(id string) (*sessionRecord, error) {
	recs, err := w.records()
	if err != nil {
		return nil, err
	}
	for i := range recs {
		if recs[i].Spec.ID == id {
			return &recs[i], nil
		}
	}
	return nil, nil
}

func (w *Workspace) saveRecord(spec workspace.SessionSpec) error {
	idle := spec.IdleTime
	if idle <= 0 {
		idle = defaultIdle
	}
	rec := sessionRecord{Spec: spec, IdleSeconds: int64(idle / time.Second), Workspace: w.wsKey(), StartedAt: w.opts.Now().UTC()}
	return w.withRecords(func(recs []sessionRecord) ([]sessionRecord, bool) {
		out := recs[:0:0]
		for _, r := range recs {
			if r.Workspace == rec.Workspace && r.Spec.ID == spec.ID {
				rec.StartedAt, rec.ServiceID = r.StartedAt, r.ServiceID
				continue
			}
			out = append(out, r)
		}
		return append(out, rec), true
	})
}

func (w *Workspace) dropRecord(id string) error {
	return w.withRecords(func(recs []sessionRecord) ([]sessionRecord, bool) {
		out := recs[:0:0]
		changed := false
		for _, r := range recs {
			if r.Workspace == w.wsKey() && r.Spec.ID == id {
				changed = true
				continue
			}
			out = append(out, r)
		}
		return out, changed
	})
}
