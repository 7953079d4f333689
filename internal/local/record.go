package local

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// recordSchema versions session.json and compute.json.
const recordSchema = 1

// record is session.json.
type record struct {
	Schema int                   `json:"schema"`
	Spec   workspace.SessionSpec `json:"spec"`

	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// PID is the process building the environment while Status is Starting.
	PID       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Op is what the Starting state is doing: opStart or opReset.
	Op string `json:"op,omitempty"`
	// InstallPID is set while `packages install` runs pip in a running
	// session; left set, the installer died and the environment may be
	// half-installed.
	InstallPID int `json:"install_pid,omitempty"`
	// InstallIncomplete is set when a package install failed or was
	// interrupted (Message says which), until one succeeds: the record's
	// Requirements are the lines last installed, the spec's what the
	// requirements file asks for.
	InstallIncomplete bool `json:"install_incomplete,omitempty"`

	ComputeType     string             `json:"compute_type"`
	Compute         string             `json:"compute,omitempty"`
	VMSize          string             `json:"vm_size,omitempty"`
	VCPUs           int                `json:"vcpus,omitempty"`
	MemoryGB        float64            `json:"memory_gb,omitempty"`
	IdleTimeSeconds int64              `json:"idle_time_seconds"`
	Identity        workspace.Identity `json:"identity"`

	Env          envInfo  `json:"env"`
	Requirements []string `json:"requirements,omitempty"` // lines last installed
	LogFile      string   `json:"log_file,omitempty"`     // last start/reset/install log

	CreatedOn time.Time `json:"created_on"`
	LastUsed  time.Time `json:"last_used"`
}

// envInfo is the Python environment a session runs in.
type envInfo struct {
	Dir           string   `json:"dir,omitempty"`
	Python        string   `json:"python,omitempty"`
	PythonVersion string   `json:"python_version,omitempty"`
	BasePython    string   `json:"base_python,omitempty"`
	BasePackages  []string `json:"base_packages,omitempty"` // normalized names in a fresh environment
	// Jinja says where the environment's Jinja2 came from (pyenv.JinjaSource;
	// empty: it has none).
	Jinja string `json:"jinja,omitempty"`
}

const (
	opStart = "start"
	opReset = "reset"
)

// used is used.json: Touch writes it without taking the session lock, so a
// run never waits behind a long install to say it used the session.
type used struct {
	LastUsed time.Time `json:"last_used"`
}

func (s *Sessions) recordPath(id string) string {
	return filepath.Join(s.st.SessionDir(id), "session.json")
}

func (s *Sessions) usedPath(id string) string {
	return filepath.Join(s.st.SessionDir(id), "used.json")
}

// load reads a session record; a missing one is a NotFound fault.
func (s *Sessions) load(id string) (*record, error) {
	if err := store.CheckName(id); err != nil {
		return nil, fault.Wrap(fault.Usage, err, "%q is not a session id", id)
	}
	var r record
	if err := store.ReadJSON(s.recordPath(id), &r); err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return nil, fault.New(fault.NotFound, "there is no local session %s", id).
				WithHint("`pfz session list` shows the sessions; `pfz session start` starts one for a flow")
		}
		return nil, err
	}
	if err := store.CheckSchema(s.recordPath(id), r.Schema, recordSchema); err != nil {
		return nil, err
	}
	var u used
	if err := store.ReadJSON(s.usedPath(id), &u); err == nil && u.LastUsed.After(r.LastUsed) {
		r.LastUsed = u.LastUsed
	}
	return &r, nil
}

func (s *Sessions) save(r *record) error {
	r.Schema = recordSchema
	if err := store.EnsureDir(s.st.SessionDir(r.Spec.ID)); err != nil {
		return err
	}
	return store.WriteJSON(s.recordPath(r.Spec.ID), r, 0o600)
}

// expiresAt is when an idle session is deleted.
func (r *record) expiresAt() time.Time {
	return r.LastUsed.Add(time.Duration(r.IdleTimeSeconds) * time.Second)
}

// toSession is the neutral view every command prints.
func (r *record) toSession() *workspace.Session {
	out := &workspace.Session{
		ID:              r.Spec.ID,
		Target:          workspace.TargetLocal,
		Status:          r.Status,
		FlowDir:         r.Spec.FlowDir,
		ComputeType:     r.ComputeType,
		Compute:         r.Compute,
		VMSize:          r.VMSize,
		VCPUs:           r.VCPUs,
		MemoryGB:        r.MemoryGB,
		IdleTimeSeconds: r.IdleTimeSeconds,
		Identity:        r.Identity,
		Image:           r.Spec.Image,
		Requirements:    r.Requirements,
		PythonVersion:   r.Env.PythonVersion,
		Message:         r.Message,

		InstallIncomplete: r.InstallIncomplete,
	}
	if out.Requirements == nil && !r.InstallIncomplete {
		// Never installed by `packages install`: the session was built
		// with its spec's lines. After a failed install only the lines
		// installed before count.
		out.Requirements = r.Spec.Requirements
	}
	if !r.CreatedOn.IsZero() {
		t := r.CreatedOn
		out.CreatedOn = &t
	}
	if !r.LastUsed.IsZero() {
		t := r.LastUsed
		out.LastUsed = &t
		if r.Status != workspace.SessionStarting {
			e := r.expiresAt()
			out.ExpiresAt = &e
		}
	}
	return out
}

// removeSessionDir deletes the session folder, environment included; the
// record goes in the same atomic step as the rest.
func (s *Sessions) removeSessionDir(id string) error {
	return s.st.Discard(s.st.SessionDir(id))
}
