package run

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/human"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func lines(r *workspace.Run) string {
	if r.LinesTotal == 0 && r.LinesCompleted == 0 && r.LinesFailed == 0 {
		return ""
	}
	s := fmt.Sprintf("%d/%d completed", r.LinesCompleted, r.LinesTotal)
	if r.LinesFailed > 0 {
		s += fmt.Sprintf(", %d failed", r.LinesFailed)
	}
	return s
}

// duration is a run's duration as a person reads it (0.4s, 2m03s); one
// that cannot be read is shown as the target wrote it.
func duration(s string) string {
	if d, ok := human.ParseDuration(s); ok {
		return human.Duration(d)
	}
	return s
}

// runTable renders one run as key/value rows.
func runTable(t *cmdutil.Table, r *workspace.Run) {
	cmdutil.KeyValues(t,
		"name", r.Name,
		"display name", r.DisplayName,
		"status", r.Status,
		"target", r.Target,
		"created", fmtTime(r.CreatedOn),
		"started", fmtTime(r.StartTime),
		"ended", fmtTime(r.EndTime),
		"duration", duration(r.Duration),
		"flow", r.FlowName,
		"data", r.Data,
		"run", r.Run,
		"variant", r.Variant,
		"session", r.SessionID,
		"lines", lines(r),
		"output", r.Output,
		"portal", r.PortalURL,
		"description", r.Description,
		"tags", joinMap(r.Tags),
	)
	if r.IsArchived {
		t.Row("archived", "true")
	}
	if r.Error != nil {
		t.Row("error", r.Error.Message)
	}
}

// joinMap renders m as "k=v, …" in key order, each value as a table cell
// shows it.
func joinMap[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + valueString(m[k])
	}
	return strings.Join(parts, ", ")
}

func printRun(p *cmdutil.Printer, r *workspace.Run) error {
	return p.Print(r, func(t *cmdutil.Table) { runTable(t, r) })
}

// valueString renders a metric or line value compactly for a table.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%g", x)
	case bool, int, int64:
		return fmt.Sprint(x)
	case pyjson.NonFinite:
		return x.String()
	}
	b, err := pyjson.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
