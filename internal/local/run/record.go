package run

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// File and folder names inside a run folder.
const (
	RecordFile     = "run.json"
	SubmissionFile = "submission.json"
	LinesFile      = "lines.jsonl"
	NodeRunsFile   = "node_runs.jsonl"
	LogFile        = "logs.txt"
	MetricsFile    = "metrics.json"
	SnapshotDir    = "snapshot"
	CancelFile     = "cancel.request"
	// ReserveFile holds disk space for the run's last records while it
	// runs (see Reserve).
	ReserveFile = ".space.reserve"
)

// reserveSize is room for run.json, metrics.json and their temp files.
const reserveSize = 128 << 10

// Reserve sets disk space aside in dir for the records written when the run
// ends. When the disk fills while the run writes its lines, Unreserve gives
// the space back so the run can still record that it failed and how many
// lines it kept, instead of being left Running.
func Reserve(dir string) error {
	p := filepath.Join(dir, ReserveFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot write %s", p)
	}
	_, err = f.Write(make([]byte, reserveSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(p)
		return fault.Wrap(fault.Failed, err, "cannot write %s", p).WithHint("check the free space of %s", dir)
	}
	return nil
}

// Unreserve releases the space Reserve set aside.
func Unreserve(dir string) { _ = os.Remove(filepath.Join(dir, ReserveFile)) }

// Schema versions run.json.
const Schema = 1

// Property keys shown in `run show`. The azureml.promptflow.* ones carry the
// same meaning as on the azureml target, so scripts read both alike.
const (
	PropRuntime        = "azureml.promptflow.runtime_name"
	PropDefinitionFile = "azureml.promptflow.definition_file_name"
	PropSessionID      = "azureml.promptflow.session_id"
	PropLineageID      = "azureml.promptflow.flow_lineage_id"
	PropInputsMapping  = "azureml.promptflow.inputs_mapping"
	PropSnapshotID     = "azureml.promptflow.snapshot_id"
	PropNodeVariant    = "azureml.promptflow.node_variant"
	PropEnvHash        = "pfz.environment_hash"
	PropOutputPath     = "pfz.output_path"
	PropFlowPath       = "pfz.flow_path"
	PropPython         = "pfz.python"
	PropWorkers        = "pfz.workers"
	PropLineTimeout    = "pfz.line_timeout_seconds"
	PropPID            = "pfz.pid"
	// PropResumeFrom names the run a resumed run continues (promptflow's key).
	PropResumeFrom = "resume_from"
)

// Record is run.json. Two kinds of writers share it under the run lock:
// the process that executes the run (status, times, counts, error) and
// the metadata commands (display name, description, tags, archived).
type Record struct {
	Schema      int               `json:"schema"`
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Archived    bool              `json:"archived,omitempty"`

	Status    string              `json:"status"`
	Error     *workspace.RunError `json:"error,omitempty"`
	CreatedOn time.Time           `json:"created_on"`
	StartTime time.Time           `json:"start_time,omitzero"`
	EndTime   time.Time           `json:"end_time,omitzero"`
	// PID is the process that executes the run; it holds the run's use lock
	// until the run ends, which is how a dead owner is told from a live one.
	PID int `json:"pid,omitempty"`

	Flow           string `json:"flow"` // the flow file the run was made from
	FlowName       string `json:"flow_name,omitempty"`
	DefinitionFile string `json:"definition_file,omitempty"`
	ExperimentName string `json:"experiment_name,omitempty"`
	Data           string `json:"data,omitempty"`
	Parent         string `json:"run,omitempty"`
	// ResumeFrom is the run this one resumed (--resume-from): its completed
	// lines were reused, the others run again.
	ResumeFrom    string         `json:"resume_from,omitempty"`
	Variant       string         `json:"variant,omitempty"`
	ColumnMapping map[string]any `json:"column_mapping,omitempty"`
	Runtime       string         `json:"runtime,omitempty"`
	UserAlias     string         `json:"user_alias,omitempty"`

	SessionID    string `json:"session_id,omitempty"`
	LineageID    string `json:"lineage_id,omitempty"`
	EnvHash      string `json:"environment_hash,omitempty"`
	SnapshotHash string `json:"snapshot_hash,omitempty"`

	Python             string `json:"python,omitempty"`
	Workers            int    `json:"workers,omitempty"`
	LineTimeoutSeconds int    `json:"line_timeout_seconds,omitempty"`

	LinesTotal     int64 `json:"lines_total,omitempty"`
	LinesCompleted int64 `json:"lines_completed,omitempty"`
	LinesFailed    int64 `json:"lines_failed,omitempty"`
}

// Load reads dir/run.json. A missing record is an error matching
// store.ErrNotExist; a damaged one a fault with a hint.
func Load(dir string) (*Record, error) {
	var r Record
	if err := store.ReadJSON(filepath.Join(dir, RecordFile), &r); err != nil {
		return nil, err
	}
	if err := store.CheckSchema(filepath.Join(dir, RecordFile), r.Schema, Schema); err != nil {
		return nil, err
	}
	if r.Name == "" {
		return nil, fault.New(fault.Failed, "run record %s has no name", filepath.Join(dir, RecordFile)).
			WithHint("move the folder %s away; pfz then forgets the run", dir)
	}
	return &r, nil
}

// Save writes dir/run.json atomically.
func Save(dir string, r *Record) error {
	r.Schema = Schema
	return store.WriteJSON(filepath.Join(dir, RecordFile), r, 0o600)
}

// IsNotExist reports whether err says a record file is missing.
func IsNotExist(err error) bool { return errors.Is(err, store.ErrNotExist) }

// View is the run as every command prints it. dir is the run folder.
func (r *Record) View(dir string) *workspace.Run {
	out := &workspace.Run{
		Name:           r.Name,
		DisplayName:    r.DisplayName,
		Description:    r.Description,
		Status:         r.Status,
		Target:         workspace.TargetLocal,
		FlowName:       r.FlowName,
		Data:           r.Data,
		Run:            r.Parent,
		Variant:        r.Variant,
		SessionID:      r.SessionID,
		IsArchived:     r.Archived,
		LinesTotal:     r.LinesTotal,
		LinesCompleted: r.LinesCompleted,
		LinesFailed:    r.LinesFailed,
		Error:          r.Error,
	}
	if len(r.Tags) > 0 {
		out.Tags = r.Tags
	}
	if dir != "" {
		out.Output = filepath.Join(dir, LinesFile)
	}
	if !r.CreatedOn.IsZero() {
		t := r.CreatedOn
		out.CreatedOn = &t
	}
	if !r.StartTime.IsZero() {
		t := r.StartTime
		out.StartTime = &t
	}
	if !r.EndTime.IsZero() {
		t := r.EndTime
		out.EndTime = &t
		if !r.StartTime.IsZero() {
			out.Duration = r.EndTime.Sub(r.StartTime).String()
		}
	}
	if r.UserAlias != "" {
		out.CreationContext = map[string]any{"userName": r.UserAlias}
	}
	props := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			props[k] = v
		}
	}
	set(PropRuntime, r.Runtime)
	set(PropDefinitionFile, r.DefinitionFile)
	set(PropSessionID, r.SessionID)
	set(PropLineageID, r.LineageID)
	set(PropSnapshotID, r.SnapshotHash)
	set(PropNodeVariant, r.Variant)
	set(PropEnvHash, r.EnvHash)
	set(PropFlowPath, r.Flow)
	set(PropPython, r.Python)
	set(PropResumeFrom, r.ResumeFrom)
	if dir != "" {
		set(PropOutputPath, dir)
	}
	if len(r.ColumnMapping) > 0 {
		if b, err := json.Marshal(r.ColumnMapping); err == nil {
			props[PropInputsMapping] = string(b)
		}
	}
	if r.Workers > 0 {
		props[PropWorkers] = strconv.Itoa(r.Workers)
	}
	if r.LineTimeoutSeconds > 0 {
		props[PropLineTimeout] = strconv.Itoa(r.LineTimeoutSeconds)
	}
	if r.PID > 0 && !workspace.IsTerminal(r.Status) {
		props[PropPID] = strconv.Itoa(r.PID)
	}
	if len(props) > 0 {
		out.Properties = props
	}
	return out
}
