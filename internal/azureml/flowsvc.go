package azureml

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The run-history, index and metric calls the Python client makes with plain
// requests (no x-ms-client-request-id there, harmless here).

func (w *Workspace) flowURL(ctx context.Context, rest string) (string, error) {
	return w.svc(ctx, "flow/api", rest)
}

// traceDisabled reads GET TraceSessions (protocol §3.7): disableTrace is true
// only when the configuration is "Disabled". The answer is reused from
// memory and the workspace's disk cache while fresh. ok is false when the
// call failed.
func (w *Workspace) traceDisabled(ctx context.Context) (disabled, ok bool) {
	w.traceMu.Lock()
	defer w.traceMu.Unlock()
	if w.traceConf != nil {
		return *w.traceConf == "Disabled", true
	}
	if conf, ok := w.cachedTrace(); ok {
		w.traceConf = &conf
		return conf == "Disabled", true
	}
	u, err := w.flowURL(ctx, "TraceSessions")
	if err != nil {
		return false, false
	}
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, scope: w.cloud.armScope()})
	if err != nil {
		return false, false
	}
	var m struct {
		Configuration string `json:"traceCosmosConfiguration"`
	}
	if resp.json(&m) != nil {
		return false, false
	}
	w.traceConf = &m.Configuration
	w.rememberTrace(m.Configuration)
	return m.Configuration == "Disabled", true
}

type runMetadata struct {
	RunID        string            `json:"runId"`
	Status       string            `json:"status"`
	DisplayName  string            `json:"displayName"`
	Description  string            `json:"description"`
	Tags         map[string]string `json:"tags"`
	Properties   map[string]string `json:"properties"`
	Hidden       bool              `json:"hidden"`
	RunType      string            `json:"runType"`
	CreatedUtc   string            `json:"createdUtc"`
	StartTimeUtc string            `json:"startTimeUtc"`
	EndTimeUtc   string            `json:"endTimeUtc"`
	Duration     string            `json:"duration"`
	CreatedBy    map[string]any    `json:"createdBy"`
	ExperimentID string            `json:"experimentId"`
	Error        *errorEnvelope    `json:"error"`
	Outputs      map[string]struct {
		AssetID string `json:"assetId"`
		Type    string `json:"type"`
	} `json:"outputs"`
}

type errorEnvelope struct {
	Error *struct {
		Code       string          `json:"code"`
		Message    string          `json:"message"`
		InnerError json.RawMessage `json:"innerError"`
	} `json:"error"`
	// raw is the whole envelope, which pfazure prints as the run's error.
	raw map[string]any
}

func (e *errorEnvelope) UnmarshalJSON(b []byte) error {
	type fields errorEnvelope // without this method
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*e = errorEnvelope(f)
	return json.Unmarshal(b, &e.raw)
}

// rundata is POST history/rundata.
func (w *Workspace) rundata(ctx context.Context, name string) (*runMetadata, error) {
	u, err := w.svc(ctx, "history/v1.0", "rundata")
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{
		method: http.MethodPost, url: u, scope: w.cloud.armScope(), accept: "*/*", idempotent: true,
		body: map[string]any{"runId": name, "selectRunMetadata": true, "selectRunDefinition": true, "selectJobSpecification": true},
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		RunMetadata *runMetadata `json:"runMetadata"`
	}
	if err := resp.json(&out); err != nil {
		return nil, err
	}
	if out.RunMetadata == nil {
		return &runMetadata{RunID: name}, nil
	}
	return out.RunMetadata, nil
}

type flowRunInfo struct {
	FlowRunID                 string `json:"flowRunId"`
	FlowRunDisplayName        string `json:"flowRunDisplayName"`
	RuntimeName               string `json:"runtimeName"`
	SessionID                 string `json:"sessionId"`
	FlowSnapshotID            string `json:"flowSnapshotId"`
	OutputDatastoreName       string `json:"outputDatastoreName"`
	ChildRunBasePath          string `json:"childRunBasePath"`
	StudioPortalEndpoint      string `json:"studioPortalEndpoint"`
	StudioPortalTraceEndpoint string `json:"studioPortalTraceEndpoint"`
}

func (w *Workspace) bulkRun(ctx context.Context, name string) (*flowRunInfo, error) {
	u, err := w.flowURL(ctx, "BulkRuns/"+url.PathEscape(name))
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, scope: w.cloud.armScope()})
	if err != nil {
		return nil, err
	}
	var fi flowRunInfo
	if err := resp.json(&fi); err != nil {
		return nil, err
	}
	return &fi, nil
}

func parseTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if t.Year() <= 1 {
				return nil
			}
			return &t
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
