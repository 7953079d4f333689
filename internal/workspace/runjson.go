package workspace

import (
	"fmt"
	"time"
)

// runDoc is the run as `-o json` and `-o yaml` print it: first every key of
// pfazure's run dictionary (Run._to_dict of a run-history run), in its order,
// names and formats — times in Python's isoformat, run history's duration
// text, description null when there is none, tags and properties {} when
// empty, the error envelope as the service returns it — then pfz's own keys.
// A script written against `pfazure run show` reads pfz's output unchanged.
type runDoc struct {
	Name            string            `json:"name" yaml:"name"`
	CreatedOn       *string           `json:"created_on" yaml:"created_on"`
	Status          string            `json:"status" yaml:"status"`
	DisplayName     string            `json:"display_name" yaml:"display_name"`
	Description     *string           `json:"description" yaml:"description"`
	Tags            map[string]string `json:"tags" yaml:"tags"`
	Properties      map[string]string `json:"properties" yaml:"properties"`
	CreationContext map[string]any    `json:"creation_context" yaml:"creation_context"`
	StartTime       *string           `json:"start_time" yaml:"start_time"`
	EndTime         *string           `json:"end_time" yaml:"end_time"`
	Duration        *string           `json:"duration" yaml:"duration"`
	PortalURL       *string           `json:"portal_url" yaml:"portal_url"`
	Data            *string           `json:"data" yaml:"data"`
	DataPortalURL   string            `json:"data_portal_url,omitempty" yaml:"data_portal_url,omitempty"`
	Output          *string           `json:"output" yaml:"output"`
	OutputPortalURL string            `json:"output_portal_url,omitempty" yaml:"output_portal_url,omitempty"`
	Run             string            `json:"run,omitempty" yaml:"run,omitempty"`
	Error           any               `json:"error,omitempty" yaml:"error,omitempty"`

	// pfz's own keys.
	Target         string `json:"target" yaml:"target"`
	FlowName       string `json:"flow_name,omitempty" yaml:"flow_name,omitempty"`
	Variant        string `json:"variant,omitempty" yaml:"variant,omitempty"`
	SessionID      string `json:"session_id,omitempty" yaml:"session_id,omitempty"`
	IsArchived     bool   `json:"is_archived" yaml:"is_archived"`
	LinesTotal     int64  `json:"lines_total,omitempty" yaml:"lines_total,omitempty"`
	LinesCompleted int64  `json:"lines_completed,omitempty" yaml:"lines_completed,omitempty"`
	LinesFailed    int64  `json:"lines_failed,omitempty" yaml:"lines_failed,omitempty"`
}

func (r Run) doc() runDoc {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	d := runDoc{
		Name: r.Name, CreatedOn: pyTime(r.CreatedOn), Status: r.Status, DisplayName: r.DisplayName,
		Description: opt(r.Description), Tags: r.Tags, Properties: r.Properties, CreationContext: r.CreationContext,
		StartTime: pyTime(r.StartTime), EndTime: pyTime(r.EndTime), PortalURL: opt(r.PortalURL),
		Data: opt(r.Data), DataPortalURL: r.DataPortalURL, Output: opt(r.Output), OutputPortalURL: r.OutputPortalURL,
		Run: r.Run, Target: r.Target, FlowName: r.FlowName, Variant: r.Variant, SessionID: r.SessionID,
		IsArchived: r.IsArchived, LinesTotal: r.LinesTotal, LinesCompleted: r.LinesCompleted, LinesFailed: r.LinesFailed,
	}
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	if d.Properties == nil {
		d.Properties = map[string]string{}
	}
	switch {
	case r.ServiceDuration != "":
		d.Duration = &r.ServiceDuration
	case r.StartTime != nil && r.EndTime != nil:
		d.Duration = opt(PyTimedelta(r.EndTime.Sub(*r.StartTime)))
	default:
		if p, err := time.ParseDuration(r.Duration); err == nil {
			d.Duration = opt(PyTimedelta(p))
		}
	}
	switch {
	case r.ErrorEnvelope != nil:
		d.Error = r.ErrorEnvelope
	case r.Error != nil:
		d.Error = r.Error
	}
	return d
}

// MarshalJSON writes the run in pfazure's shape (runDoc).
func (r Run) MarshalJSON() ([]byte, error) { return marshalJSON(r.doc()) }

// MarshalYAML writes the run in pfazure's shape (runDoc).
func (r Run) MarshalYAML() (any, error) { return r.doc(), nil }

// pyTime is Python's datetime.isoformat() of an aware time: microseconds
// only when not zero, the offset as +HH:MM.
func pyTime(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	s += t.Format("-07:00")
	return &s
}

// PyTimedelta is Python's str(datetime.timedelta): H:MM:SS[.ffffff], with
// "N day(s), " before it from a day on.
func PyTimedelta(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	us := d.Microseconds()
	days := us / (86400 * 1e6)
	rest := us % (86400 * 1e6)
	h, m, sec, frac := rest/3600e6, rest/60e6%60, rest/1e6%60, rest%1e6
	s := fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	if frac != 0 {
		s += fmt.Sprintf(".%06d", frac)
	}
	if days > 0 {
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		s = fmt.Sprintf("%d %s, %s", days, unit, s)
	}
	if neg {
		s = "-" + s // Python normalises negative timedeltas differently; runs have none
	}
	return s
}
