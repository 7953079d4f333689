package fakews

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Run statuses the fake goes through.
const (
	runNotStarted      = "NotStarted"
	runRunning         = "Running"
	runCompleted       = "Completed"
	runFailed          = "Failed"
	runCancelRequested = "CancelRequested"
	runCanceled        = "Canceled"
)

// submitRequest is the part of SubmitBulkRunRequest the fake acts on.
type submitRequest struct {
	FlowDefinitionResourceID    string            `json:"flowDefinitionResourceId"`
	FlowDefinitionDataStoreName string            `json:"flowDefinitionDataStoreName"`
	FlowDefinitionBlobPath      string            `json:"flowDefinitionBlobPath"`
	RunID                       string            `json:"runId"`
	RunDisplayName              string            `json:"runDisplayName"`
	RunExperimentName           string            `json:"runExperimentName"`
	NodeVariant                 string            `json:"nodeVariant"`
	VariantRunID                string            `json:"variantRunId"`
	SessionID                   string            `json:"sessionId"`
	SessionSetupMode            string            `json:"sessionSetupMode"`
	FlowLineageID               string            `json:"flowLineageId"`
	Description                 string            `json:"description"`
	Tags                        map[string]string `json:"tags"`
	BatchDataInput              struct {
		DataURI string `json:"dataUri"`
	} `json:"batchDataInput"`
	InputsMapping        map[string]string `json:"inputsMapping"`
	EnvironmentVariables map[string]string `json:"environmentVariables"`
	DisableTrace         *bool             `json:"disableTrace"`
	RuntimeName          string            `json:"runtimeName"`
	VMSize               string            `json:"vmSize"`
	Identity             string            `json:"identity"`
	ComputeName          string            `json:"computeName"`
	ResumeFromRunID      string            `json:"resumeFromRunId"`
}

// line is one data line of a run.
type line struct {
	index   int
	inputs  map[string]any
	outputs map[string]any
	failed  bool
}

type snapFile struct {
	rel  string // relative to the snapshot folder
	blob string
	size int64
}

// run is one bulk run.
type run struct {
	req         submitRequest
	raw         map[string]any
	id          string
	displayName string
	description string
	tags        map[string]string
	hidden      bool
	runType     string
	snapshotID  string
	flowFile    string
	snapshot    []snapFile
	outputs     []string
	lines       []line
	created     time.Time
	started     time.Time
	ended       time.Time
	reads       int
	status      string
	cancel      int // 0 none, 1 requested (shown once), 2 canceled
	fail        []int
	failAll     bool
	failing     bool
}

func (r *run) terminal() bool {
	return r.status == runCompleted || r.status == runFailed || r.status == runCanceled
}

func (r *run) applyFailure(lines []int) {
	r.failing = true
	r.failAll = len(lines) == 0
	r.fail = lines
	for i := range r.lines {
		r.lines[i].failed = r.failAll
		for _, n := range lines {
			if n == r.lines[i].index {
				r.lines[i].failed = true
			}
		}
	}
}

func (r *run) failedLines() int {
	n := 0
	for _, l := range r.lines {
		if l.failed {
			n++
		}
	}
	return n
}

// RunState is what a test may check of a run.
type RunState struct {
	Name      string
	Status    string
	Lines     int
	Failed    int
	Request   map[string]any // the submit body as received
	Snapshot  []string       // snapshot files the run read, relative to the flow folder
	SessionID string
}

// RunCount is how many runs were created (submitted and accepted).
func (s *Server) RunCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

// Run returns a run's state without moving it on; ok is false when unknown.
func (s *Server) Run(name string) (RunState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[name]
	if !ok {
		return RunState{}, false
	}
	st := RunState{Name: r.id, Status: r.status, Lines: len(r.lines), Failed: r.failedLines(), Request: r.raw, SessionID: r.req.SessionID}
	for _, f := range r.snapshot {
		st.Snapshot = append(st.Snapshot, f.rel)
	}
	return st, true
}

// advance moves a run on for one run-history read; callers hold s.mu.
func (s *Server) advance(r *run) {
	now := s.opts.Now()
	defer func() { r.reads++ }()
	if r.terminal() {
		return
	}
	if r.cancel > 0 {
		if r.cancel == 1 {
			r.status = runCancelRequested
			r.cancel = 2
			return
		}
		r.status = runCanceled
		r.ended = now
		return
	}
	stage := r.reads / s.opts.RunReads
	if s.opts.RunStep > 0 {
		if ts := int(now.Sub(r.created) / s.opts.RunStep); ts > stage {
			stage = ts
		}
	}
	switch {
	case stage <= 0:
		r.status = runNotStarted
	case stage == 1:
		r.status = runRunning
		if r.started.IsZero() {
			r.started = now
		}
	default:
		if r.started.IsZero() {
			r.started = now
		}
		r.ended = now
		r.status = runCompleted
		if r.failing {
			r.status = runFailed
		}
	}
}

// serveFlow answers /flow/api{WS}/….
func (s *Server) serveFlow(w http.ResponseWriter, r *http.Request) {
	rest, ok := s.wsRest(r.URL.Path, "/flow/api")
	if !ok {
		writeJSON(w, 404, s.flowError(404, "UserError", "WorkspaceNotFound", "workspace not found"))
		return
	}
	seg := strings.Split(rest, "/")
	switch {
	case rest == "TraceSessions" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{"entityId": s.opts.WorkspaceID, "traceCosmosConfiguration": s.opts.TraceConfiguration,
			"traceCosmosStatus": "Initialized", "error": nil, "accountEndpoint": "", "databaseName": "PromptFlowTraceSession",
			"resourceArmId": "", "resourceType": 1})
	case seg[0] == "Flows":
		s.serveFlows(w, r, seg)
	case seg[0] == "FlowSessions" && len(seg) >= 2:
		s.serveSessions(w, r, strings.TrimPrefix(rest, "FlowSessions/"))
	case rest == "BulkRuns/submit" && r.Method == http.MethodPost:
		s.submit(w, r, false)
	case rest == "BulkRuns/resume" && r.Method == http.MethodPost:
		s.submit(w, r, true)
	case seg[0] == "BulkRuns" && len(seg) == 2 && r.Method == http.MethodGet:
		s.withRun(w, seg[1], func(rn *run) (int, any) { return 200, s.flowRunInfo(rn) })
	case seg[0] == "BulkRuns" && len(seg) == 3 && seg[2] == "cancel" && r.Method == http.MethodPost:
		s.withRun(w, seg[1], func(rn *run) (int, any) {
			if !rn.terminal() && rn.cancel == 0 {
				rn.cancel = 1
			}
			return 200, nil
		})
	case seg[0] == "BulkRuns" && len(seg) == 3 && seg[2] == "logContent" && r.Method == http.MethodGet:
		s.withRun(w, seg[1], func(rn *run) (int, any) { return 200, s.logText(rn) })
	case seg[0] == "BulkRuns" && len(seg) == 3 && seg[2] == "childRuns" && r.Method == http.MethodGet:
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		end, err := strconv.Atoi(r.URL.Query().Get("endIndex"))
		if err != nil {
			end = start + 24
		}
		s.withRun(w, seg[1], func(rn *run) (int, any) { return 200, s.childRuns(rn, start, end) })
	default:
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "no such flow service API: "+r.Method+" "+rest))
	}
}

// withRun answers for a known run; f runs under s.mu. A nil body with 200
// answers an empty body, as cancel does.
func (s *Server) withRun(w http.ResponseWriter, name string, f func(*run) (int, any)) {
	s.mu.Lock()
	rn, ok := s.runs[name]
	var (
		status int
		body   any
	)
	if ok {
		status, body = f(rn)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 404, s.flowError(404, "UserError", "RunNotFound", "Run "+name+" not found"))
		return
	}
	if body == nil {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// submit creates a run: it reads the snapshot's flow file and the data from
// the datastore, works out the lines, and writes the artifacts a download
// reads later.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, resume bool) {
	var raw map[string]any
	var req submitRequest
	body, _ := readAll(r)
	if err := json.Unmarshal(body, &raw); err != nil {
		writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "invalid request body: "+err.Error()))
		return
	}
	_ = json.Unmarshal(body, &req)
	if req.RunID == "" {
		writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "runId is required"))
		return
	}
	s.mu.Lock()
	_, exists := s.runs[req.RunID]
	var from *run
	if resume {
		from = s.runs[req.ResumeFromRunID]
	}
	var parent *run
	if req.VariantRunID != "" {
		parent = s.runs[req.VariantRunID]
	}
	s.mu.Unlock()
	if exists {
		writeJSON(w, 409, s.flowError(409, "UserError", "RunAlreadyExists", "Run "+req.RunID+" already exists"))
		return
	}
	if resume {
		if from == nil {
			writeJSON(w, 404, s.flowError(404, "UserError", "RunNotFound", "Run "+req.ResumeFromRunID+" not found"))
			return
		}
		// A resumed run carries its origin's definition.
		keep := req
		req = from.req
		req.RunID, req.ResumeFromRunID = keep.RunID, keep.ResumeFromRunID
		if keep.RunDisplayName != "" {
			req.RunDisplayName = keep.RunDisplayName
		}
	}
	if req.SessionSetupMode != "SystemWait" && !resume {
		writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "sessionSetupMode must be SystemWait, got "+strconv.Quote(req.SessionSetupMode)))
		return
	}
	if req.VariantRunID != "" && parent == nil {
		writeJSON(w, 400, s.flowError(400, "UserError", "RunNotFound", "the referenced run "+req.VariantRunID+" does not exist"))
		return
	}
	rn := &run{req: req, raw: raw, id: req.RunID, displayName: req.RunDisplayName, description: req.Description,
		tags: req.Tags, runType: "azureml.promptflow.FlowRun", snapshotID: newUUID(), created: s.opts.Now(), status: runNotStarted}
	if rn.displayName == "" {
		rn.displayName = rn.id
	}
	if req.VariantRunID != "" && req.BatchDataInput.DataURI == "" {
		rn.runType = "azureml.promptflow.EvaluationRun"
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	if code, msg := s.loadRun(ctx, rn, parent); code != 0 {
		writeJSON(w, code, s.flowError(code, "UserError", "BadArgument", msg))
		return
	}
	s.mu.Lock()
	if _, dup := s.runs[rn.id]; dup {
		s.mu.Unlock()
		writeJSON(w, 409, s.flowError(409, "UserError", "RunAlreadyExists", "Run "+rn.id+" already exists"))
		return
	}
	if lines, ok := s.failRuns[rn.id]; ok {
		rn.applyFailure(lines)
	}
	if req.SessionID != "" {
		if _, ok := s.sessions[req.SessionID]; !ok {
			// SystemWait: the service sets the session up itself.
			now := s.opts.Now()
			vm := req.VMSize
			if vm == "" && req.ComputeName == "" {
				vm = "Standard_E4ds_v4"
			}
			s.sessions[req.SessionID] = &session{id: req.SessionID, vmSize: vm, idle: 3600, identity: req.Identity,
				computeName: req.ComputeName, state: stateSucceeded, created: now, lastAlive: now, fromRun: true}
		}
	}
	s.runs[rn.id] = rn
	s.runOrder = append(s.runOrder, rn.id)
	s.mu.Unlock()
	if s.blobs != nil {
		if err := s.writeArtifacts(ctx, rn); err != nil {
			writeJSON(w, 500, s.flowError(500, "AzureStorageError", "", "writing run artifacts: "+err.Error()))
			return
		}
	}
	writeJSON(w, 200, rn.id)
}

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

// loadRun fills the run's flow outputs, snapshot and lines from storage. It
// returns a status and message when the submission is invalid.
func (s *Server) loadRun(ctx context.Context, rn *run, parent *run) (int, string) {
	req := rn.req
	var flowInputs map[string]any
	rn.outputs = []string{"output"}
	switch {
	case req.FlowDefinitionBlobPath != "":
		if req.FlowDefinitionDataStoreName != BlobDatastore {
			return 400, "flowDefinitionDataStoreName must be " + BlobDatastore
		}
		if s.blobs == nil {
			return 400, "the fake workspace has no storage to read the flow from"
		}
		data, found, err := s.blobs.read(ctx, req.FlowDefinitionBlobPath)
		if err != nil {
			return 500, "reading the flow: " + err.Error()
		}
		if !found {
			return 400, "Flow definition file " + req.FlowDefinitionBlobPath + " not found in datastore " + BlobDatastore
		}
		rn.flowFile = path.Base(req.FlowDefinitionBlobPath)
		var def struct {
			Inputs  map[string]any `yaml:"inputs"`
			Outputs map[string]any `yaml:"outputs"`
		}
		if strings.HasSuffix(rn.flowFile, ".yaml") || strings.HasSuffix(rn.flowFile, ".yml") {
			if err := yaml.Unmarshal(data, &def); err != nil {
				return 400, "the flow file is not valid YAML: " + err.Error()
			}
		}
		flowInputs = def.Inputs
		if len(def.Outputs) > 0 {
			rn.outputs = sortedKeys(def.Outputs)
		}
		folder := path.Dir(req.FlowDefinitionBlobPath) + "/"
		blobs, err := s.blobs.list(ctx, folder)
		if err != nil {
			return 500, "listing the snapshot: " + err.Error()
		}
		for _, b := range blobs {
			rn.snapshot = append(rn.snapshot, snapFile{rel: strings.TrimPrefix(b.name, folder), blob: b.name, size: b.size})
		}
	case req.FlowDefinitionResourceID != "":
		rn.flowFile = "flow.dag.yaml"
	default:
		return 400, "one of flowDefinitionBlobPath and flowDefinitionResourceId is required"
	}
	var rows []map[string]any
	if uri := req.BatchDataInput.DataURI; uri != "" {
		var err error
		rows, err = s.readData(ctx, uri)
		if err != nil {
			return 400, err.Error()
		}
	} else if parent != nil {
		for range parent.lines {
			rows = append(rows, map[string]any{})
		}
	} else {
		return 400, "batchDataInput.dataUri is required when no run is referenced"
	}
	for i, row := range rows {
		ln := line{index: i, inputs: map[string]any{}, outputs: map[string]any{}}
		var pl *line
		if parent != nil && i < len(parent.lines) {
			pl = &parent.lines[i]
		}
		for k, v := range req.InputsMapping {
			ln.inputs[k] = resolveMapping(v, row, pl)
		}
		for k, spec := range flowInputs {
			if _, ok := ln.inputs[k]; ok {
				continue
			}
			if v, ok := row[k]; ok {
				ln.inputs[k] = v
			} else if m, ok := spec.(map[string]any); ok && m["default"] != nil {
				ln.inputs[k] = m["default"]
			}
		}
		// The fake runs no code: every output is the line's input values,
		// in input-name order, joined by a space.
		var vals []string
		for _, k := range sortedKeys(ln.inputs) {
			vals = append(vals, fmt.Sprint(ln.inputs[k]))
		}
		for _, o := range rn.outputs {
			ln.outputs[o] = strings.Join(vals, " ")
		}
		rn.lines = append(rn.lines, ln)
	}
	return 0, ""
}

// resolveMapping applies one inputsMapping value to a data row.
func resolveMapping(v string, row map[string]any, parent *line) any {
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}") {
		ref := t[2 : len(t)-1]
		switch {
		case strings.HasPrefix(ref, "data."):
			return row[strings.TrimPrefix(ref, "data.")]
		case strings.HasPrefix(ref, "run.outputs.") && parent != nil:
			return parent.outputs[strings.TrimPrefix(ref, "run.outputs.")]
		case strings.HasPrefix(ref, "run.inputs.") && parent != nil:
			return parent.inputs[strings.TrimPrefix(ref, "run.inputs.")]
		}
		return nil
	}
	return v
}

// readData reads the rows of an uploaded data file or folder: JSON lines
// become objects, other lines become {"text": line}.
func (s *Server) readData(ctx context.Context, uri string) ([]map[string]any, error) {
	const prefix = "azureml://datastores/"
	if !strings.HasPrefix(uri, prefix) {
		return nil, fmt.Errorf("the fake workspace reads only uploaded data (azureml://datastores/…), not %s", uri)
	}
	ds, p, ok := strings.Cut(strings.TrimPrefix(uri, prefix), "/paths/")
	if !ok || ds != BlobDatastore {
		return nil, fmt.Errorf("data %s is not in datastore %s", uri, BlobDatastore)
	}
	if s.blobs == nil {
		return nil, fmt.Errorf("the fake workspace has no storage to read data from")
	}
	var names []string
	if strings.HasSuffix(p, "/") {
		blobs, err := s.blobs.list(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, b := range blobs {
			if ext := path.Ext(b.name); ext == ".jsonl" || ext == ".csv" || ext == ".tsv" {
				names = append(names, b.name)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("data folder %s holds no .jsonl, .csv or .tsv file", uri)
		}
	} else {
		names = []string{p}
	}
	var rows []map[string]any
	for _, n := range names {
		data, found, err := s.blobs.read(ctx, n)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("data %s not found in datastore %s", n, BlobDatastore)
		}
		rows = append(rows, parseRows(n, data)...)
	}
	return rows, nil
}

func parseRows(name string, data []byte) []map[string]any {
	var rows []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var header []string
	sep := ","
	if path.Ext(name) == ".tsv" {
		sep = "\t"
	}
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		switch path.Ext(name) {
		case ".csv", ".tsv":
			cells := strings.Split(t, sep)
			if header == nil {
				header = cells
				continue
			}
			row := map[string]any{}
			for i, h := range header {
				if i < len(cells) {
					row[h] = cells[i]
				}
			}
			rows = append(rows, row)
		default:
			var row map[string]any
			if json.Unmarshal([]byte(t), &row) != nil {
				row = map[string]any{"text": t}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func (s *Server) artifactRoot(rn *run) string { return "promptflow/PromptFlowArtifacts/" + rn.id }

// writeArtifacts writes what the service leaves in the datastore for a run
// (protocol §4.5): outputs, per-line results, meta.json.
func (s *Server) writeArtifacts(ctx context.Context, rn *run) error {
	root := s.artifactRoot(rn)
	var outJSONL, instJSONL, flowArt bytes.Buffer
	for _, l := range rn.lines {
		o := map[string]any{"line_number": l.index}
		for k, v := range l.outputs {
			o[k] = v
		}
		b, _ := json.Marshal(o)
		outJSONL.Write(append(b, '\n'))
		inst := map[string]any{"line_number": l.index, "status": "Completed"}
		for k, v := range l.inputs {
			inst["inputs."+k] = v
		}
		for k, v := range l.outputs {
			inst[k] = v
		}
		b, _ = json.Marshal(inst)
		instJSONL.Write(append(b, '\n'))
		b, _ = json.Marshal(map[string]any{"line_number": l.index, "run_info": map[string]any{
			"run_id": fmt.Sprintf("%s_%d", rn.id, l.index), "status": "Completed", "inputs": l.inputs, "output": l.outputs}})
		flowArt.Write(append(b, '\n'))
	}
	meta, _ := json.Marshal(map[string]any{"batch_size": 25})
	files := map[string][]byte{
		root + "/flow_outputs/output.jsonl":                outJSONL.Bytes(),
		root + "/instance_results.jsonl":                   instJSONL.Bytes(),
		root + "/meta.json":                                meta,
		root + "/flow_artifacts/000000000_000000024.jsonl": flowArt.Bytes(),
	}
	for _, name := range sortedKeys(files) {
		if err := s.blobs.write(ctx, name, files[name]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) studioURL(kind, id string) string {
	return "https://ml.azure.com/" + kind + "/" + id + "?wsid=" + s.WorkspacePath()
}

// flowRunInfo is FlowRunInfo (protocol §3.5); callers hold s.mu.
func (s *Server) flowRunInfo(rn *run) map[string]any {
	sessionID := rn.req.SessionID
	runtime := rn.req.RuntimeName
	if runtime == "" {
		runtime = "automatic"
	}
	flowType := "FlowRun"
	if rn.runType == "azureml.promptflow.EvaluationRun" {
		flowType = "EvaluationRun"
	}
	return map[string]any{
		"flowName": rn.req.RunExperimentName, "flowRunResourceId": "azureml://locations/" + s.opts.Location + "/workspaces/" + s.opts.WorkspaceID + "/flows/" + rn.id + "/flowRuns/" + rn.id,
		"flowRunId": rn.id, "flowRunDisplayName": rn.displayName, "batchDataInput": map[string]any{"dataUri": rn.req.BatchDataInput.DataURI},
		"flowRunType": flowType, "flowType": "Default", "runtimeName": runtime, "bulkTestId": rn.id,
		"createdBy":           map[string]any{"userObjectId": s.opts.User.ObjectID, "userTenantId": s.opts.User.TenantID, "userName": s.opts.User.UPN},
		"createdOn":           rn.created.UTC().Format(time.RFC3339Nano),
		"inputsMapping":       rn.req.InputsMapping,
		"outputDatastoreName": BlobDatastore, "childRunBasePath": s.artifactRoot(rn) + "/flow_artifacts",
		"flowDagFileRelativePath": rn.flowFile, "flowSnapshotId": rn.snapshotID, "sessionId": sessionID,
		"studioPortalEndpoint":      s.studioURL("runs", rn.id),
		"studioPortalTraceEndpoint": "https://ml.azure.com/prompts/trace/run/" + rn.id + "?wsid=" + s.WorkspacePath(),
	}
}

// logText is the run's log so far; it grows with the run's state.
func (s *Server) logText(rn *run) string {
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 -0700") }
	var b strings.Builder
	fmt.Fprintf(&b, "%s     fakews execution          INFO     Run %s was submitted to the fake workspace.\n", stamp(rn.created), rn.id)
	if rn.started.IsZero() {
		return b.String()
	}
	fmt.Fprintf(&b, "%s     fakews execution.bulk     INFO     Using session %s for %d lines.\n", stamp(rn.started), rn.req.SessionID, len(rn.lines))
	if rn.ended.IsZero() {
		return b.String()
	}
	for i := range rn.lines {
		fmt.Fprintf(&b, "%s     fakews execution.bulk     INFO     Finished %d / %d lines.\n", stamp(rn.ended), i+1, len(rn.lines))
	}
	switch rn.status {
	case runFailed:
		fmt.Fprintf(&b, "%s     fakews execution.bulk     ERROR    %d of %d lines failed.\n", stamp(rn.ended), rn.failedLines(), len(rn.lines))
	case runCanceled:
		fmt.Fprintf(&b, "%s     fakews execution.bulk     WARNING  The run was canceled.\n", stamp(rn.ended))
	}
	fmt.Fprintf(&b, "%s     fakews execution.bulk     INFO     The run finished with status %s.\n", stamp(rn.ended), rn.status)
	return b.String()
}

// childRuns is one page of the run's lines (end index inclusive); lines
// appear once the run has ended.
func (s *Server) childRuns(rn *run, start, end int) []any {
	out := []any{}
	if !rn.terminal() {
		return out
	}
	for _, l := range rn.lines {
		if l.index < start || l.index > end {
			continue
		}
		inputs := map[string]any{"line_number": l.index}
		for k, v := range l.inputs {
			inputs[k] = v
		}
		status := runCompleted
		var errv any
		var output any = l.outputs
		if l.failed {
			status = runFailed
			output = nil
			errv = map[string]any{"message": fmt.Sprintf("Execution failure in line %d: the fake workspace was told to fail it", l.index),
				"code": "UserError", "messageFormat": "", "messageParameters": map[string]any{}, "referenceCode": "Executor",
				"innerError": map[string]any{"code": "ToolExecutionError", "innerError": nil}}
		}
		start := rn.started.UTC().Format(time.RFC3339Nano)
		endT := rn.ended.UTC().Format(time.RFC3339Nano)
		out = append(out, map[string]any{
			"run_id": fmt.Sprintf("%s_%d", rn.id, l.index), "status": status, "error": errv, "inputs": inputs,
			"output": output, "metrics": nil, "request": nil, "parent_run_id": rn.id, "root_run_id": rn.id,
			"source_run_id": nil, "flow_id": "default_flow_id", "start_time": start, "end_time": endT,
			"index": l.index, "api_calls": []any{}, "name": "", "description": "", "tags": nil,
			"system_metrics": map[string]any{"duration": rn.ended.Sub(rn.started).Seconds(), "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
			"result":         output, "upload_metrics": false, "otel_trace_id": randomHex(16), "message_format": "basic",
		})
	}
	return out
}

// serveServices answers run history, index, metric, data and content.
func (s *Server) serveServices(w http.ResponseWriter, r *http.Request, kind string) {
	prefix := map[string]string{"history": "/history/v1.0", "index": "/index/v1.0", "metric": "/metric/v2.0",
		"data": "/data/v1.0", "content": "/content/v2.0"}[kind]
	rest, ok := s.wsRest(r.URL.Path, prefix)
	if !ok {
		writeJSON(w, 404, s.flowError(404, "UserError", "WorkspaceNotFound", "workspace not found"))
		return
	}
	seg := strings.Split(rest, "/")
	switch {
	case kind == "history" && rest == "rundata" && r.Method == http.MethodPost:
		var body struct {
			RunID string `json:"runId"`
		}
		_ = readJSON(r, &body)
		s.mu.Lock()
		rn, ok := s.runs[body.RunID]
		var md map[string]any
		if ok {
			s.advance(rn)
			md = s.runMetadata(rn)
		}
		s.mu.Unlock()
		if !ok {
			e := s.flowError(404, "UserError", "NotFoundError", "Run "+body.RunID+" is not found")
			e["componentName"] = "run-history"
			writeJSON(w, 404, e)
			return
		}
		writeJSON(w, 200, map[string]any{"runMetadata": md, "runDefinition": nil, "jobSpecification": nil, "systemSettings": nil})
	case kind == "history" && len(seg) == 3 && seg[0] == "runs" && seg[2] == "modify" && r.Method == http.MethodPatch:
		var body struct {
			DisplayName *string           `json:"displayName"`
			Description *string           `json:"description"`
			Tags        map[string]string `json:"tags"`
			Hidden      *bool             `json:"hidden"`
		}
		if err := readJSON(r, &body); err != nil {
			writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", err.Error()))
			return
		}
		s.withRun(w, seg[1], func(rn *run) (int, any) {
			if body.DisplayName != nil {
				rn.displayName = *body.DisplayName
			}
			if body.Description != nil {
				rn.description = *body.Description
			}
			if body.Tags != nil {
				if rn.tags == nil {
					rn.tags = map[string]string{}
				}
				for k, v := range body.Tags {
					rn.tags[k] = v
				}
			}
			if body.Hidden != nil {
				rn.hidden = *body.Hidden
			}
			return 200, s.runMetadata(rn)
		})
	case kind == "metric" && len(seg) == 3 && seg[0] == "runs" && seg[2] == "lastvalues" && r.Method == http.MethodPost:
		s.withRun(w, seg[1], func(rn *run) (int, any) { return 200, s.lastValues(rn) })
	case kind == "index" && rest == "entities" && r.Method == http.MethodPost:
		s.indexEntities(w, r)
	case kind == "data" && rest == "dataversion/getByAssetId" && r.Method == http.MethodPost:
		s.dataVersion(w, r)
	case kind == "content" && rest == "snapshots/sas" && r.Method == http.MethodPost:
		s.snapshotSAS(w, r)
	default:
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "no such API: "+r.Method+" "+r.URL.Path))
	}
}

func fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtDuration(d time.Duration) string {
	h := int(d.Hours())
	m := int(d.Minutes()) % 60
	sec := d.Seconds() - float64(h*3600+m*60)
	return fmt.Sprintf("%02d:%02d:%010.7f", h, m, sec)
}

func (s *Server) assetID(rn *run, output string) string {
	return "azureml://locations/" + s.opts.Location + "/workspaces/" + s.opts.WorkspaceID +
		"/data/azureml_" + rn.id + "_output_data_" + output + "/versions/1"
}

// runMetadata is run history's runMetadata; callers hold s.mu.
func (s *Server) runMetadata(rn *run) map[string]any {
	pf := "azureml.promptflow."
	props := map[string]string{
		pf + "runtime_name": orDefault(rn.req.RuntimeName, "automatic"), pf + "session_id": rn.req.SessionID,
		pf + "definition_file_name": rn.flowFile, pf + "flow_lineage_id": rn.req.FlowLineageID,
		pf + "snapshot_id": rn.snapshotID, pf + "runtime_version": "20240429.v8",
		pf + "disable_trace":      strconv.FormatBool(rn.req.DisableTrace != nil && *rn.req.DisableTrace),
		"_azureml.evaluation_run": "promptflow.BatchRun",
	}
	if rn.req.BatchDataInput.DataURI != "" {
		props[pf+"input_data"] = rn.req.BatchDataInput.DataURI
	}
	if rn.req.FlowDefinitionBlobPath != "" {
		props[pf+"flow_definition_datastore_name"] = rn.req.FlowDefinitionDataStoreName
		props[pf+"flow_definition_blob_path"] = rn.req.FlowDefinitionBlobPath
	}
	if rn.req.FlowDefinitionResourceID != "" {
		props[pf+"flow_definition_resource_id"] = rn.req.FlowDefinitionResourceID
	}
	if len(rn.req.InputsMapping) > 0 {
		b, _ := json.Marshal(rn.req.InputsMapping)
		props[pf+"inputs_mapping"] = string(b)
	}
	if rn.req.NodeVariant != "" {
		props[pf+"node_variant"] = rn.req.NodeVariant
	}
	if rn.req.VariantRunID != "" {
		props[pf+"input_run_id"] = rn.req.VariantRunID
		props[pf+"variant_run_id"] = rn.req.VariantRunID
	}
	if rn.req.ResumeFromRunID != "" {
		props[pf+"resume_from_run_id"] = rn.req.ResumeFromRunID
	}
	if rn.terminal() {
		props[pf+"total_tokens"], props[pf+"prompt_tokens"], props[pf+"completion_tokens"] = "0", "0", "0"
	}
	tags := rn.tags
	if tags == nil {
		tags = map[string]string{}
	}
	md := map[string]any{
		"runNumber": 1700000000 + len(s.runOrder), "rootRunId": rn.id, "createdUtc": fmtTime(rn.created),
		"createdBy": map[string]any{"userObjectId": s.opts.User.ObjectID, "userPuId": "1003", "userIdp": nil,
			"userAltSecId": nil, "userIss": "https://sts.windows.net/" + s.opts.User.TenantID + "/", "userTenantId": s.opts.User.TenantID,
			"userName": strings.SplitN(s.opts.User.UPN, "@", 2)[0], "upn": s.opts.User.UPN},
		"userId": s.opts.User.ObjectID, "token": nil, "tokenExpiryTimeUtc": nil, "error": nil, "warnings": nil,
		"revision": rn.reads, "statusRevision": rn.reads, "runUuid": newUUIDFrom(rn.id), "parentRunUuid": nil,
		"rootRunUuid": newUUIDFrom(rn.id), "lastStartTimeUtc": nil, "currentComputeTime": nil, "computeDuration": nil,
		"effectiveStartTimeUtc": nil, "lastModifiedBy": nil, "lastModifiedUtc": nil, "duration": nil,
		"cancelationReason": nil, "currentAttemptId": 1, "runId": rn.id, "parentRunId": nil,
		"experimentId": s.opts.WorkspaceID, "status": rn.status, "startTimeUtc": fmtTime(rn.started),
		"endTimeUtc": fmtTime(rn.ended), "scheduleId": nil, "displayName": rn.displayName, "name": nil,
		"dataContainerId": "dcid." + rn.id, "description": nilIfEmpty(rn.description), "hidden": rn.hidden,
		"runType":    rn.runType,
		"runTypeV2":  map[string]any{"orchestrator": nil, "traits": []any{}, "attribution": "PromptFlow", "computeType": "AmlcDsi"},
		"properties": props, "parameters": map[string]any{}, "actionUris": map[string]any{}, "scriptName": nil,
		"target": nil, "uniqueChildRunComputeTargets": []any{}, "tags": tags, "settings": map[string]any{},
		"services": map[string]any{}, "inputDatasets": []any{}, "outputDatasets": []any{}, "runDefinition": nil,
		"jobSpecification": nil, "primaryMetricName": nil, "createdFrom": nil, "cancelUri": nil, "completeUri": nil,
		"diagnosticsUri": nil, "computeRequest": nil, "compute": nil, "retainForLifetimeOfWorkspace": false,
		"queueingInfo": nil, "inputs": nil, "outputs": nil,
	}
	if !rn.started.IsZero() && !rn.ended.IsZero() {
		md["duration"] = fmtDuration(rn.ended.Sub(rn.started))
	}
	if rn.status == runCompleted || rn.status == runFailed {
		md["outputs"] = map[string]any{
			"flow_outputs": map[string]any{"assetId": s.assetID(rn, "flow_outputs"), "type": "UriFolder"},
			"debug_info":   map[string]any{"assetId": s.assetID(rn, "debug_info"), "type": "UriFolder"},
		}
	}
	if rn.status == runFailed {
		e := s.flowError(400, "UserError", "ValidationError", fmt.Sprintf("%d of %d lines failed in the fake workspace", rn.failedLines(), len(rn.lines)))
		e["componentName"] = "promptflow-runtime/20240429.v8 Designer/1.0 fakews"
		delete(e, "statusCode")
		md["error"] = e
	}
	return md
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// lastValues is the metric service's answer: promptflow's line counters.
func (s *Server) lastValues(rn *run) map[string]any {
	metrics := map[string]float64{}
	if rn.terminal() {
		failed := rn.failedLines()
		metrics["__pf__.lines.completed"] = float64(len(rn.lines) - failed)
		metrics["__pf__.lines.failed"] = float64(failed)
	}
	var value []any
	for _, name := range sortedKeys(metrics) {
		value = append(value, map[string]any{
			"dataContainerId": "dcid." + rn.id, "name": name, "columns": map[string]any{name: "Double"},
			"properties": map[string]any{"uxMetricType": "azureml.v1.scalar", "dataLocation": nil},
			"namespace":  nil, "standardSchemaId": nil,
			"value": []any{map[string]any{"metricId": newUUID(), "createdUtc": fmtTime(rn.ended), "step": 0,
				"data": map[string]any{name: metrics[name]}}},
		})
	}
	if value == nil {
		value = []any{}
	}
	return map[string]any{"value": value}
}

// indexEntities lists runs newest first, filtered by the archived flag.
func (s *Server) indexEntities(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Filters []struct {
			Field    string   `json:"field"`
			Operator string   `json:"operator"`
			Values   []string `json:"values"`
		} `json:"filters"`
		PageSize          int    `json:"pageSize"`
		ContinuationToken string `json:"continuationToken"`
	}
	if err := readJSON(r, &body); err != nil {
		writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", err.Error()))
		return
	}
	archived := map[string]bool{"false": true}
	for _, f := range body.Filters {
		if f.Field == "annotations/archived" {
			archived = map[string]bool{}
			for _, v := range f.Values {
				archived[v] = true
			}
		}
	}
	if body.PageSize <= 0 {
		body.PageSize = 100
	}
	for _, f := range body.Filters {
		if f.Field == "type" && len(f.Values) == 1 && f.Values[0] == "flows" {
			flowArchived := map[string]bool{"false": true}
			for _, g := range body.Filters {
				if g.Field == "annotations/isArchived" {
					flowArchived = map[string]bool{}
					for _, v := range g.Values {
						flowArchived[v] = true
					}
				}
			}
			s.mu.Lock()
			page := s.flowEntities(flowArchived, body.PageSize)
			s.mu.Unlock()
			writeJSON(w, 200, map[string]any{"totalCount": len(page), "value": page, "continuationToken": nil})
			return
		}
	}
	skip, _ := strconv.Atoi(body.ContinuationToken)
	s.mu.Lock()
	var all []*run
	for _, id := range s.runOrder {
		rn := s.runs[id]
		if archived[strconv.FormatBool(rn.hidden)] {
			all = append(all, rn)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].created.After(all[j].created) })
	var page []any
	for i := skip; i < len(all) && len(page) < body.PageSize; i++ {
		page = append(page, s.indexEntity(all[i]))
	}
	total := len(all)
	s.mu.Unlock()
	var token any
	if next := skip + len(page); next < total {
		token = strconv.Itoa(next)
	}
	if page == nil {
		page = []any{}
	}
	writeJSON(w, 200, map[string]any{"totalCount": total, "value": page, "nextSkip": nil, "continuationToken": token,
		"entityContainerIdsToEntityContainerMetadata": map[string]any{}, "resourcesNotQueriedReasons": map[string]any{},
		"numberOfEntityContainersNotQueried": 0, "fanoutData": nil, "regionalFanoutState": nil, "shardId": nil,
		"canSupportSkip": false, "facets": nil})
}

func (s *Server) indexEntity(rn *run) map[string]any {
	var dur any
	if !rn.started.IsZero() && !rn.ended.IsZero() {
		dur = fmtDuration(rn.ended.Sub(rn.started))
	}
	tags := rn.tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"relevancyScore": 1.0, "entityResourceName": s.opts.Workspace, "highlights": map[string]any{},
		"usage": map[string]any{"totalCount": 0}, "schemaId": newUUIDFrom("schema"),
		"entityId": "azureml://location/" + s.opts.Location + "/workspaceId/" + s.opts.WorkspaceID + "/type/runs/objectId/" + newUUIDFrom(rn.id),
		"kind":     "Unversioned",
		"annotations": map[string]any{"archived": rn.hidden, "tags": tags, "displayName": rn.displayName, "status": rn.status,
			"primaryMetricName": nil, "estimatedCost": nil, "primaryMetricSummary": nil, "metrics": map[string]any{},
			"parameters": map[string]any{}, "settings": map[string]any{}, "modifiedTime": fmtTime(rn.created),
			"retainForLifetimeOfWorkspace": false, "error": nil, "resourceMetricSummary": nil, "jobCost": nil,
			"computeDuration": dur, "effectiveStartTime": fmtTime(rn.started), "name": nil, "description": nilIfEmpty(rn.description)},
		"properties": map[string]any{
			"updatedTime": fmtTime(rn.created),
			"creationContext": map[string]any{"createdTime": fmtTime(rn.created), "createdBy": map[string]any{
				"userObjectId": s.opts.User.ObjectID, "userTenantId": s.opts.User.TenantID,
				"userName": strings.SplitN(s.opts.User.UPN, "@", 2)[0]}, "creationSource": nil},
			"dataContainerId": "dcid." + rn.id, "targetName": nil, "runName": nil,
			"experimentName": rn.req.RunExperimentName, "runId": rn.id, "parentRunId": nil, "rootRunId": rn.id,
			"runType": rn.runType, "scriptName": nil, "experimentId": s.opts.WorkspaceID, "runUuid": newUUIDFrom(rn.id),
			"startTime": fmtTime(rn.started), "endTime": fmtTime(rn.ended), "userProperties": map[string]any{},
		},
		"internal": map[string]any{}, "updateSequence": rn.reads, "type": "runs", "version": nil,
		"entityContainerId": s.opts.WorkspaceID, "entityObjectId": newUUIDFrom(rn.id), "resourceType": "Workspace",
		"relationships": []any{},
	}
}

// dataVersion resolves a run output asset id to its datastore path.
func (s *Server) dataVersion(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Value string `json:"value"`
	}
	_ = readJSON(r, &body)
	const marker = "/data/azureml_"
	i := strings.Index(body.Value, marker)
	if i < 0 {
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "asset "+body.Value+" not found"))
		return
	}
	rest := body.Value[i+len(marker):]
	var runID, output string
	for _, o := range []string{"debug_info", "flow_outputs"} {
		if j := strings.Index(rest, "_output_data_"+o+"/"); j > 0 {
			runID, output = rest[:j], o
		}
	}
	s.mu.Lock()
	rn, ok := s.runs[runID]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "asset "+body.Value+" not found"))
		return
	}
	p := s.artifactRoot(rn) + "/"
	if output == "flow_outputs" {
		p += "flow_outputs/"
	}
	writeJSON(w, 200, map[string]any{
		"dataVersion": map[string]any{"assetId": body.Value, "dataContainerName": "azureml_" + runID + "_output_data_" + output,
			"dataType": "UriFolder", "dataUri": "azureml://subscriptions/" + s.opts.Subscription + "/resourcegroups/" + s.opts.ResourceGroup +
				"/workspaces/" + s.opts.Workspace + "/datastores/" + BlobDatastore + "/paths/" + p,
			"versionId": "1", "mutableProps": map[string]any{"dataExpiryTime": nil, "description": nil, "tags": nil, "isArchived": false},
			"referencedDataUris": nil, "properties": nil, "initialAssetId": body.Value, "isRegistered": false,
			"runId": runID, "originAssetId": nil},
		"entityMetadata": map[string]any{"etag": randomHex(8), "createdTime": fmtTime(rn.created), "modifiedTime": fmtTime(rn.created),
			"createdBy": map[string]any{"userObjectId": s.opts.User.ObjectID}, "modifiedBy": nil},
		"latestVersion": nil, "nextVersionId": nil, "legacyDatasetType": nil,
	})
}

// snapshotSAS answers the content service: the run's snapshot as a tree of
// files, each with a read-only SAS URL on the datastore.
func (s *Server) snapshotSAS(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SnapshotOrAssetID string `json:"snapshotOrAssetId"`
	}
	_ = readJSON(r, &body)
	s.mu.Lock()
	var rn *run
	for _, x := range s.runs {
		if x.snapshotID == body.SnapshotOrAssetID {
			rn = x
		}
	}
	var files []snapFile
	if rn != nil {
		files = append(files, rn.snapshot...)
	}
	s.mu.Unlock()
	if rn == nil || s.blobs == nil {
		writeJSON(w, 404, s.flowError(404, "UserError", "SnapshotNotFound", "snapshot "+body.SnapshotOrAssetID+" not found"))
		return
	}
	now := s.opts.Now()
	dir := func(name string) map[string]any {
		return map[string]any{"name": name, "hash": nil, "type": "Directory", "timestamp": fmtTime(rn.created),
			"sasUrl": nil, "absoluteUrl": nil, "sizeBytes": 0, "sizeSet": false, "children": map[string]any{}}
	}
	root := dir("")
	for _, f := range files {
		node := root
		parts := strings.Split(f.rel, "/")
		for _, d := range parts[:len(parts)-1] {
			kids := node["children"].(map[string]any)
			next, ok := kids[d].(map[string]any)
			if !ok {
				next = dir(d)
				kids[d] = next
			}
			node = next
		}
		u, err := s.blobs.sasURL(f.blob, now)
		if err != nil {
			writeJSON(w, 500, s.flowError(500, "ServiceError", "", err.Error()))
			return
		}
		name := parts[len(parts)-1]
		node["children"].(map[string]any)[name] = map[string]any{"name": name, "hash": nil, "type": "File",
			"timestamp": fmtTime(rn.created), "sasUrl": u, "absoluteUrl": strings.SplitN(u, "?", 2)[0],
			"sizeBytes": f.size, "sizeSet": true, "children": map[string]any{}}
	}
	writeJSON(w, 200, root)
}

// newUUID is a random version-4 UUID.
func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// newUUIDFrom is a UUID-shaped value derived from s, stable for a run.
func newUUIDFrom(s string) string {
	f := fnv.New128a()
	f.Write([]byte(s))
	h := hex.EncodeToString(f.Sum(nil))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
