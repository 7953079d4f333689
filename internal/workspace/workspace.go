// Package workspace defines the interface both targets implement (local and
// azureml) and the backend-neutral values every command prints: sessions,
// package lists, runs, run details, metrics. Commands print these types
// whichever target produced them. It imports only domain value packages.
package workspace

import (
	"context"
	"time"

	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Target names.
const (
	TargetLocal   = "local"
	TargetAzureML = "azureml"
)

// Workspace is one target: the embedded local workspace or an Azure ML one.
type Workspace interface {
	Target() string
	Sessions() Sessions
	Runs() Runs
}

// Sessions manages compute sessions and their packages.
type Sessions interface {
	// Start creates the session for spec (or returns it when it already runs
	// with the same spec). With opts.NoWait it returns once the start is accepted.
	Start(ctx context.Context, spec SessionSpec, opts StartOptions) (*Session, error)
	// Get returns the session with the given id; fault.NotFound when there is none.
	Get(ctx context.Context, id string) (*Session, error)
	// List returns the sessions this user can see (filtered by flow when set).
	List(ctx context.Context, filter SessionFilter) ([]Session, error)
	// Edit changes a session: a new VM size resets it, idle time and identity
	// change in place.
	Edit(ctx context.Context, id string, edit SessionEdit, opts StartOptions) (*Session, error)
	// Reset deletes and recreates the session from the same spec.
	Reset(ctx context.Context, id string, opts StartOptions) (*Session, error)
	// Stop deletes the session and frees its resources.
	Stop(ctx context.Context, id string) error
	// Packages lists the packages installed in the session.
	Packages(ctx context.Context, id string) (*PackageList, error)
	// Install installs the requirements of next (the whole requirements file
	// after an edit, pip install -r) into the running session id, the one the
	// flow had before the edit, and files that session under next.ID. The
	// session id covers the requirement lines (protocol §3.6), so without
	// this every later command would look for next.ID and not find the
	// session that has the packages; the studio, too, updates the running
	// session in place.
	//
	// next is the spec `session start` would build after the edit. The
	// session keeps its compute settings (compute type and name, VM size,
	// idle time, identity); next gives its ID, FlowDir, LineageID, EnvHash,
	// Image, Requirements and RequirementsFile. When a session with next.ID
	// already exists, the packages go into that one instead (id is left as
	// it is) and the returned Message says so. When neither exists the
	// error is fault.NotFound. The returned session normally has ID
	// next.ID. An empty next.ID means id, and then only next.Requirements
	// is taken.
	Install(ctx context.Context, id string, next SessionSpec, opts StartOptions) (*Session, error)
}

// Runs submits and reads flow runs.
type Runs interface {
	Submit(ctx context.Context, sub *Submission, rep Reporter) (*Run, error)
	Get(ctx context.Context, name string) (*Run, error)
	List(ctx context.Context, opts ListOptions) ([]Run, error)
	Cancel(ctx context.Context, name string) error
	// Details returns one row per data line, at most max rows (max <= 0: all).
	Details(ctx context.Context, name string, max int) ([]LineDetail, error)
	Metrics(ctx context.Context, name string) (pyjson.Object, error)
	// Logs returns the run's log text so far.
	Logs(ctx context.Context, name string) (string, error)
	Update(ctx context.Context, name string, upd RunUpdate) (*Run, error)
	// Download writes the run in pfazure's layout under dir/<name> and returns that folder.
	Download(ctx context.Context, name, dir string, overwrite bool) (string, error)
	// Visualize returns where the comparison of the named runs can be seen:
	// a local HTML file or a studio URL.
	Visualize(ctx context.Context, names []string) (string, error)
}

// Reporter receives progress while work runs. Implementations print on stderr.
type Reporter interface {
	Report(Event)
}

// Event is one progress event.
type Event struct {
	Kind    EventKind
	Message string // status text or log line
	Done    int64  // lines or bytes done
	Failed  int64  // lines failed
	Total   int64  // lines or bytes in all; 0 when unknown
	// InLog, on an EventRunStatus, says that the run's log carries the same
	// state, so a reporter that streams the log need not print it again.
	InLog bool
}

// EventKind says what an Event carries.
type EventKind string

const (
	EventStatus EventKind = "status" // a state change (Message)
	EventLines  EventKind = "lines"  // lines done/failed of total
	EventBytes  EventKind = "bytes"  // bytes uploaded of total
	EventLog    EventKind = "log"    // a log line (Message)
	// EventRunStatus is a run's new state (Message: "run NAME: STATE").
	EventRunStatus EventKind = "run-status"
	// EventSubmitted says the run is recorded on the target (Message: its
	// name), before it executes.
	EventSubmitted EventKind = "submitted"
	// EventWarning is something the user should know before the work goes
	// on (Message), shown even where logs are not.
	EventWarning EventKind = "warning"
)

// NopReporter discards events.
type NopReporter struct{}

func (NopReporter) Report(Event) {}

// Identity is who a session or run acts as.
type Identity struct {
	Type       string `json:"type" yaml:"type"`                                   // user_identity | managed
	ClientID   string `json:"client_id,omitempty" yaml:"client_id,omitempty"`     // managed only
	ResourceID string `json:"resource_id,omitempty" yaml:"resource_id,omitempty"` // resolved UAI (azureml)
}

// Compute types.
const (
	ComputeServerless      = "serverless"
	ComputeComputeInstance = "compute-instance"
)

// SessionSpec is everything that defines a session.
type SessionSpec struct {
	ID          string `json:"session_id"`
	FlowDir     string `json:"flow_dir"`
	LineageID   string `json:"flow_lineage_id"`
	EnvHash     string `json:"environment_hash"`
	UserAlias   string `json:"user_alias"`
	ComputeType string `json:"compute_type"`
	VMSize      string `json:"vm_size,omitempty"`
	// IdleTime is how long the session may stay unused before it is deleted.
	IdleTime     time.Duration `json:"-"`
	Identity     Identity      `json:"identity"`
	ComputeName  string        `json:"compute,omitempty"`
	Image        string        `json:"image,omitempty"`
	Requirements []string      `json:"requirements,omitempty"` // lines of the requirements file
	// RequirementsFile is the absolute path of the flow's requirements file, if any.
	RequirementsFile string `json:"requirements_file,omitempty"`
}

// StartOptions tunes a start, reset, edit or install.
type StartOptions struct {
	NoWait   bool
	Timeout  time.Duration // 0: no limit; passing it gives fault.Timeout
	Reporter Reporter
	Debug    bool // show installer output
}

// SessionFilter narrows List.
type SessionFilter struct {
	FlowDir string
}

// SessionEdit is a change to a running session; nil fields stay as they are.
type SessionEdit struct {
	VMSize   *string
	IdleTime *time.Duration
	Identity *Identity
	// Compute moves a compute-instance session to another compute instance.
	Compute *string
}

// Session is a compute session as every target shows it.
type Session struct {
	ID              string     `json:"id" yaml:"id"`
	Target          string     `json:"target" yaml:"target"`
	Status          string     `json:"status" yaml:"status"`
	FlowDir         string     `json:"flow_dir,omitempty" yaml:"flow_dir,omitempty"`
	ComputeType     string     `json:"compute_type" yaml:"compute_type"`
	Compute         string     `json:"compute,omitempty" yaml:"compute,omitempty"`
	VMSize          string     `json:"vm_size,omitempty" yaml:"vm_size,omitempty"`
	VCPUs           int        `json:"vcpus,omitempty" yaml:"vcpus,omitempty"`
	MemoryGB        float64    `json:"memory_gb,omitempty" yaml:"memory_gb,omitempty"`
	IdleTimeSeconds int64      `json:"idle_time_seconds" yaml:"idle_time_seconds"`
	ExpiresAt       *time.Time `json:"expires_at,omitempty" yaml:"expires_at,omitempty"`
	Identity        Identity   `json:"identity" yaml:"identity"`
	Image           string     `json:"image,omitempty" yaml:"image,omitempty"`
	Requirements    []string   `json:"requirements,omitempty" yaml:"requirements,omitempty"`
	PythonVersion   string     `json:"python_version,omitempty" yaml:"python_version,omitempty"`
	CreatedOn       *time.Time `json:"created_on,omitempty" yaml:"created_on,omitempty"`
	LastUsed        *time.Time `json:"last_used,omitempty" yaml:"last_used,omitempty"`
	Message         string     `json:"message,omitempty" yaml:"message,omitempty"`
	// InstallIncomplete says the last package install failed or was
	// interrupted: the environment may lack some of its requirements.
	InstallIncomplete bool `json:"install_incomplete,omitempty" yaml:"install_incomplete,omitempty"`
}

// Session statuses shared by both targets.
const (
	SessionNotStarted = "NotStarted"
	SessionStarting   = "Starting"
	SessionRunning    = "Running"
	SessionFailed     = "Failed"
	SessionStopped    = "Stopped"
)

// Package origins.
const (
	OriginBase         = "base"         // the base image / pfz's built-in runtime
	OriginRequirements = "requirements" // named in the flow's requirements file
	OriginDependency   = "dependency"   // pulled in by another package
)

// Package is one installed Python distribution.
type Package struct {
	Name    string `json:"name" yaml:"name"`
	Version string `json:"version" yaml:"version"`
	Origin  string `json:"origin" yaml:"origin"`
}

// PackageList is what a session has installed.
type PackageList struct {
	SessionID     string    `json:"session_id" yaml:"session_id"`
	PythonVersion string    `json:"python_version" yaml:"python_version"`
	Packages      []Package `json:"packages" yaml:"packages"`
}

// Run statuses (pfazure-surface.md §4.8).
const (
	RunNotStarted      = "NotStarted"
	RunQueued          = "Queued"
	RunPreparing       = "Preparing"
	RunProvisioning    = "Provisioning"
	RunStarting        = "Starting"
	RunRunning         = "Running"
	RunCancelRequested = "CancelRequested"
	RunCanceled        = "Canceled"
	RunFinalizing      = "Finalizing"
	RunCompleted       = "Completed"
	RunFailed          = "Failed"
)

// IsTerminal reports whether a run status is final.
func IsTerminal(status string) bool {
	return status == RunCompleted || status == RunFailed || status == RunCanceled
}

// Run is a flow run as every target shows it (keys follow pfazure's run dict).
type Run struct {
	Name            string            `json:"name" yaml:"name"`
	DisplayName     string            `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	Description     string            `json:"description,omitempty" yaml:"description,omitempty"`
	Tags            map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Properties      map[string]string `json:"properties,omitempty" yaml:"properties,omitempty"`
	Status          string            `json:"status" yaml:"status"`
	Target          string            `json:"target" yaml:"target"`
	CreatedOn       *time.Time        `json:"created_on,omitempty" yaml:"created_on,omitempty"`
	StartTime       *time.Time        `json:"start_time,omitempty" yaml:"start_time,omitempty"`
	EndTime         *time.Time        `json:"end_time,omitempty" yaml:"end_time,omitempty"`
	Duration        string            `json:"duration,omitempty" yaml:"duration,omitempty"`
	CreationContext map[string]any    `json:"creation_context,omitempty" yaml:"creation_context,omitempty"`
	PortalURL       string            `json:"portal_url,omitempty" yaml:"portal_url,omitempty"`
	FlowName        string            `json:"flow_name,omitempty" yaml:"flow_name,omitempty"`
	Data            string            `json:"data,omitempty" yaml:"data,omitempty"`
	Output          string            `json:"output,omitempty" yaml:"output,omitempty"`
	Run             string            `json:"run,omitempty" yaml:"run,omitempty"` // parent run
	Variant         string            `json:"variant,omitempty" yaml:"variant,omitempty"`
	SessionID       string            `json:"session_id,omitempty" yaml:"session_id,omitempty"`
	IsArchived      bool              `json:"is_archived" yaml:"is_archived"`
	LinesTotal      int64             `json:"lines_total,omitempty" yaml:"lines_total,omitempty"`
	LinesCompleted  int64             `json:"lines_completed,omitempty" yaml:"lines_completed,omitempty"`
	LinesFailed     int64             `json:"lines_failed,omitempty" yaml:"lines_failed,omitempty"`
	Error           *RunError         `json:"error,omitempty" yaml:"error,omitempty"`

	// What the azureml target knows beyond the above, for the run
	// dictionary pfazure prints (runjson.go): run history's own duration
	// text, the error envelope as run history returns it, and the studio
	// pages of the data and the output.
	ServiceDuration string         `json:"-" yaml:"-"`
	ErrorEnvelope   map[string]any `json:"-" yaml:"-"`
	DataPortalURL   string         `json:"-" yaml:"-"`
	OutputPortalURL string         `json:"-" yaml:"-"`
}

// RunError is why a run (or a line) failed.
type RunError struct {
	Code    string `json:"code,omitempty" yaml:"code,omitempty"`
	Message string `json:"message" yaml:"message"`
	Details string `json:"details,omitempty" yaml:"details,omitempty"`
}

// LineDetail is one data line of a run; it marshals to the flat object
// `run show-details -o json` prints: line_number, status, inputs.<k>, outputs.<k>.
// Inputs and outputs keep the order of the line's record (promptflow's).
type LineDetail struct {
	LineNumber int           `json:"line_number"`
	Status     string        `json:"status"`
	Inputs     pyjson.Object `json:"-"`
	Outputs    pyjson.Object `json:"-"`
	Error      *RunError     `json:"-"`
}

// Flat returns the flattened object of the line, in order.
func (d LineDetail) Flat() pyjson.Object {
	m := make(pyjson.Object, 0, 3+len(d.Inputs)+len(d.Outputs))
	m = append(m, pyjson.Member{Key: "line_number", Value: d.LineNumber}, pyjson.Member{Key: "status", Value: d.Status})
	for _, e := range d.Inputs {
		m = append(m, pyjson.Member{Key: "inputs." + e.Key, Value: e.Value})
	}
	for _, e := range d.Outputs {
		m = append(m, pyjson.Member{Key: "outputs." + e.Key, Value: e.Value})
	}
	if d.Error != nil {
		m = append(m, pyjson.Member{Key: "error", Value: d.Error.Message})
	}
	return m
}

// MarshalJSON writes the flat object.
func (d LineDetail) MarshalJSON() ([]byte, error) { return d.Flat().MarshalJSON() }

// MarshalYAML writes the flat object (as a map: YAML output goes through
// MarshalJSON, which keeps the order).
func (d LineDetail) MarshalYAML() (any, error) { return d.Flat().Map(), nil }

// ListOptions narrows Runs.List.
type ListOptions struct {
	MaxResults      int
	ArchivedOnly    bool
	IncludeArchived bool
}

// RunUpdate changes a run's metadata; nil fields stay as they are.
type RunUpdate struct {
	DisplayName *string
	Description *string
	Tags        map[string]string
	Archived    *bool
}

// Submission is a fully resolved run, ready for a target: built by runspec
// from run.yml, flags, the flow, its snapshot and the session identity.
type Submission struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// ExperimentName is the sanitized flow folder name (runExperimentName).
	ExperimentName string `json:"experiment_name,omitempty"`

	// Flow is the absolute local flow file, or the remote flow URI when Remote.
	Flow       string `json:"flow"`
	FlowRemote bool   `json:"flow_remote,omitempty"`

	Snapshot *Snapshot `json:"snapshot,omitempty"` // nil for a remote flow
	Data     *Data     `json:"data,omitempty"`
	Run      string    `json:"run,omitempty"` // referenced parent run
	// ResumeFrom names the run to resume (--resume-from): the submission then
	// carries only name, display name, description, tags, runtime, resources
	// and identity, and targets rerun that run's failed lines.
	ResumeFrom string `json:"resume_from,omitempty"`

	ColumnMapping map[string]any `json:"inputs_mapping,omitempty"`
	// ColumnMappingOrder is ColumnMapping's keys in the run definition's
	// order (the local executor records a line's inputs in it; a submission
	// recorded without it falls back to sorted keys).
	ColumnMappingOrder   []string                     `json:"column_mapping_order,omitempty"`
	Variant              string                       `json:"node_variant,omitempty"`
	Connections          map[string]map[string]string `json:"connections,omitempty"`
	EnvironmentVariables map[string]string            `json:"environment_variables,omitempty"`
	Init                 map[string]any               `json:"init,omitempty"`

	Runtime   string      `json:"runtime_name"`
	Resources Resources   `json:"resources"`
	Identity  Identity    `json:"identity"`
	Session   SessionSpec `json:"session"`

	// LineTimeout bounds one data line on the local target (0: the default).
	LineTimeout time.Duration `json:"-"`
}

// Resources are the compute settings of a run.
type Resources struct {
	InstanceType       string `json:"vm_size,omitempty"`
	Compute            string `json:"compute_name,omitempty"`
	MaxIdleTimeSeconds int64  `json:"max_idle_time_seconds,omitempty"`
}

// Snapshot is the file set a run uploads or executes: the flow folder merged
// with additional_includes, less ignored files.
type Snapshot struct {
	Root     string    `json:"root"`      // the flow folder
	Folder   string    `json:"folder"`    // the folder name in blob storage
	FlowFile string    `json:"flow_file"` // flow file name relative to the snapshot root
	Hash     string    `json:"hash"`
	BlobPath string    `json:"blob_path"` // LocalUpload/<hash>/<folder>/<flow file>
	Files    []FileRef `json:"files"`
}

// FileRef is one file of a snapshot or data folder. Content, when set,
// replaces the file on disk (the patched flow YAML); Abs is then the original.
type FileRef struct {
	Rel     string `json:"path"` // slash-separated, relative to the root
	Abs     string `json:"source"`
	Size    int64  `json:"size"`
	Content []byte `json:"-"`
}

// Data is the input data of a run.
type Data struct {
	Local    string    `json:"local,omitempty"` // absolute local path
	IsDir    bool      `json:"is_dir,omitempty"`
	Hash     string    `json:"hash,omitempty"`
	Files    []FileRef `json:"files,omitempty"`
	Remote   string    `json:"remote,omitempty"` // remote URI passed through
	BlobPath string    `json:"blob_path,omitempty"`
}
