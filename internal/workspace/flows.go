package workspace

import (
	"fmt"
	"time"
)

// Workspace flows (pfazure's flow group), which the azureml target serves.

// Flow is a workspace flow as pfazure's Flow._to_dict shows it (empty
// values left out).
type Flow struct {
	Name        string            `json:"name"` // the flow's GUID
	Type        string            `json:"type,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Path        string            `json:"path,omitempty"` // the flow file in the file share
	Code        string            `json:"code,omitempty"` // the flow resource id
	DisplayName string            `json:"display_name,omitempty"`
	Owner       map[string]any    `json:"owner,omitempty"`
	IsArchived  bool              `json:"is_archived"`
	CreatedDate string            `json:"created_date,omitempty"`
	PortalURL   string            `json:"flow_portal_url,omitempty"`
}

// FlowCreate is what `flow create` sends.
type FlowCreate struct {
	Snapshot    *Snapshot // the flow folder as it is uploaded (tools json kept)
	DisplayName string
	Type        string // standard, evaluation or chat
	Description string
	Tags        map[string]string
	UserAlias   string
	// Folder is the folder name under Users/<alias>/promptflow.
	Folder string
	// New makes a new flow even when one of the same display name exists.
	New bool
}

// FlowResult says what `flow create` did.
type FlowResult struct {
	Flow    *Flow
	Updated bool // an existing flow of the same display name got the new files
	Files   int
}

// FlowUpdate holds the metadata `flow update` changes; nil leaves a field.
type FlowUpdate struct {
	DisplayName, Description *string
	Tags                     map[string]string
}

// FlowListOptions filter `flow list`.
type FlowListOptions struct {
	MaxResults      int
	ArchivedOnly    bool
	IncludeArchived bool
	IncludeOthers   bool
	Type            string // standard, evaluation or chat; "" for all
}

// FlowFolder is pfazure's folder name for a new flow: <flow folder>-<%m-%d-%Y-%H-%M-%S>.
func FlowFolder(flowDir string, now time.Time) string {
	return fmt.Sprintf("%s-%s", flowDir, now.Format("01-02-2006-15-04-05"))
}
