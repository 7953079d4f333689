package azureml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

type runs struct{ w *Workspace }

// submitRequest is SubmitBulkRunRequest as pfazure fills it (protocol §3.2).
// Field order follows the recordings; empty optional fields are omitted as
// msrest omits nulls, while the maps pfazure always sends stay as {}.
type submitRequest struct {
	FlowDefinitionResourceID     string                       `json:"flowDefinitionResourceId,omitempty"`
	FlowDefinitionDataStoreName  string                       `json:"flowDefinitionDataStoreName,omitempty"`
	FlowDefinitionBlobPath       string                       `json:"flowDefinitionBlobPath,omitempty"`
	FlowDefinitionDataURI        string                       `json:"flowDefinitionDataUri,omitempty"`
	RunID                        string                       `json:"runId"`
	RunDisplayName               string                       `json:"runDisplayName"`
	RunExperimentName            *string                      `json:"runExperimentName,omitempty"`
	NodeVariant                  string                       `json:"nodeVariant,omitempty"`
	VariantRunID                 string                       `json:"variantRunId,omitempty"`
	SessionID                    string                       `json:"sessionId,omitempty"`
	SessionSetupMode             string                       `json:"sessionSetupMode"`
	FlowLineageID                string                       `json:"flowLineageId,omitempty"`
	Description                  string                       `json:"description,omitempty"`
	Tags                         map[string]string            `json:"tags,omitempty"`
	RunDisplayNameGenerationType string                       `json:"runDisplayNameGenerationType"`
	BatchDataInput               batchDataInput               `json:"batchDataInput"`
	InputsMapping                map[string]string            `json:"inputsMapping"`
	EnvironmentVariables         map[string]string            `json:"environmentVariables"`
	InitKWargs                   map[string]any               `json:"initKWargs,omitempty"`
	DisableTrace                 *bool                        `json:"disableTrace,omitempty"`
	Connections                  map[string]map[string]string `json:"connections"`
	RuntimeName                  string                       `json:"runtimeName,omitempty"`
	VMSize                       string                       `json:"vmSize,omitempty"`
	MaxIdleTimeSeconds           int64                        `json:"maxIdleTimeSeconds,omitempty"`
	Identity                     string                       `json:"identity,omitempty"`
	ComputeName                  string                       `json:"computeName,omitempty"`
}

type batchDataInput struct {
	DataURI string `json:"dataUri,omitempty"`
}

// resolveIdentity maps a run or session identity to the UAI resource id the
// service wants (protocol §3.4); "" means the user's own identity.
func (w *Workspace) resolveIdentity(ctx context.Context, id workspace.Identity) (string, error) {
	switch id.Type {
	case "", "user_identity", "user":
		return "", nil
	case "managed":
	default:
		return "", fault.New(fault.Validation, "identity type %q is not supported", id.Type).
			WithHint("use `type: user_identity` (the default) or `type: managed` with an optional client_id")
	}
	if id.ResourceID != "" {
		return id.ResourceID, nil
	}
	info, err := w.workspaceInfo(ctx)
	if err != nil {
		return "", err
	}
	if id.ClientID == "" {
		if info.PrimaryUAI == "" {
			return "", fault.New(fault.Validation, "primary user assigned identity not found in workspace %q", w.opts.Workspace).
				WithHint("set identity.client_id to one of the workspace's user-assigned identities, or give the workspace a primary one: `az ml workspace update --primary-user-assigned-identity <id>`")
		}
		return info.PrimaryUAI, nil
	}
	var known []string
	for rid, u := range info.UAIs {
		if strings.EqualFold(u.ClientID, id.ClientID) {
			return rid, nil
		}
		known = append(known, fmt.Sprintf("%s (client id %s)", rid, u.ClientID))
	}
	sort.Strings(known)
	list := "none"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	return "", fault.New(fault.Validation, "no user-assigned identity with client id %s in workspace %q; existing identities: %s", id.ClientID, w.opts.Workspace, list).
		WithHint("assign the identity to the workspace (`az ml workspace update` with identity.user_assigned_identities), or fix identity.client_id")
}

// pyStr renders a mapping value as pfazure sends it: strings as they are,
// other primitives as Python's str() would, objects as json.dumps.
func pyStr(v any) string { return pyjson.Setting(v) }

// remoteFlowID turns a remote flow reference into flowDefinitionResourceId.
func (w *Workspace) remoteFlowID(ctx context.Context, flow string) (string, error) {
	switch {
	case strings.HasPrefix(flow, "azureml://registries/"), strings.HasPrefix(flow, "azureml://locations/"):
		return flow, nil
	case strings.HasPrefix(flow, "azureml:"):
		info, err := w.workspaceInfo(ctx)
		if err != nil {
			return "", err
		}
		name := strings.TrimPrefix(flow, "azureml:")
		return "azureml://locations/" + info.Location + "/workspaces/" + info.WorkspaceID + "/flows/" + name, nil
	}
	return "", fault.New(fault.Validation, "invalid remote flow %q", flow).
		WithHint("use azureml:<flow-name> or azureml://registries/<registry>/models/<flow>/versions/<version>")
}

// buildSubmit resolves identity and remote flow and returns the request
// without the uploads.
func (w *Workspace) buildSubmit(ctx context.Context, sub *workspace.Submission) (*submitRequest, error) {
	if sub.Name == "" {
		return nil, fault.New(fault.Validation, "the run has no name")
	}
	req := &submitRequest{
		RunID: sub.Name, RunDisplayName: sub.DisplayName, Description: sub.Description, Tags: sub.Tags,
		NodeVariant: sub.Variant, VariantRunID: sub.Run, SessionSetupMode: "SystemWait",
		RunDisplayNameGenerationType: "UserProvidedMacro",
		InputsMapping:                map[string]string{}, EnvironmentVariables: map[string]string{}, Connections: map[string]map[string]string{},
		InitKWargs: sub.Init, VMSize: sub.Resources.InstanceType, ComputeName: sub.Resources.Compute,
		MaxIdleTimeSeconds: sub.Resources.MaxIdleTimeSeconds,
	}
	if req.RunDisplayName == "" {
		req.RunDisplayName = sub.Name
	}
	for k, v := range sub.ColumnMapping {
		req.InputsMapping[k] = pyStr(v)
	}
	for k, v := range sub.EnvironmentVariables {
		req.EnvironmentVariables[k] = v
	}
	for k, v := range sub.Connections {
		req.Connections[k] = v
	}
	switch rt := sub.Runtime; rt {
	case "", "automatic":
		req.RuntimeName = "automatic"
	case "None":
		// The literal "None" asks for the workspace's default runtime.
	default:
		req.RuntimeName = rt
	}
	id, err := w.resolveIdentity(ctx, sub.Identity)
	if err != nil {
		return nil, err
	}
	req.Identity = id
	if sub.FlowRemote {
		rid, err := w.remoteFlowID(ctx, sub.Flow)
		if err != nil {
			return nil, err
		}
		req.FlowDefinitionResourceID = rid
		req.FlowLineageID = sub.Session.LineageID
		if req.FlowLineageID == "" {
			req.FlowLineageID = rid[strings.LastIndex(strings.TrimRight(rid, "/"), "/")+1:]
		}
	} else {
		if sub.Snapshot == nil {
			return nil, fault.New(fault.Validation, "the run has neither a local flow snapshot nor a remote flow")
		}
		exp := sub.ExperimentName
		req.RunExperimentName = &exp
		// The flow's session may be served by the service session a package
		// install updated in place (sessions_alias.go).
		req.SessionID = w.serviceID(sub.Session.ID)
		req.FlowLineageID = sub.Session.LineageID
	}
	return req, nil
}

// Submit uploads what is missing and submits the run (protocol §7).
func (r *runs) Submit(ctx context.Context, sub *workspace.Submission, rep workspace.Reporter) (*workspace.Run, error) {
	w := r.w
	if rep == nil {
		rep = workspace.NopReporter{}
	}
	if sub == nil {
		return nil, fault.New(fault.Validation, "no submission")
	}
	if isResume(sub) {
		return r.resume(ctx, sub, rep)
	}
	if sub.Data == nil && sub.Run == "" {
		return nil, fault.New(fault.Validation, "at least one of data or run must be provided").
			WithHint("set data: in run.yml or pass --data, or reference a run with --run")
	}
	if err := w.checkConnections(ctx, sub.Connections); err != nil {
		return nil, err
	}
	req, err := w.prepareSubmit(ctx, sub, rep)
	if err != nil {
		if ctx.Err() != nil {
			// Nothing was submitted and no upload was marked complete.
			return nil, fault.Wrap(fault.Interrupted, ctx.Err(), "interrupted before run %s was submitted", sub.Name).
				WithHint("nothing runs in the workspace; submit again to continue the upload")
		}
		return nil, err
	}
	if err := w.submit(ctx, req, rep); err != nil {
		return nil, err
	}
	if strings.Contains(req.RunDisplayName, "${") {
		// The service expands display-name macros (${variant_id},
		// ${timestamp}); only it knows the name it made.
		return r.Get(ctx, sub.Name)
	}
	return w.submittedRun(ctx, req), nil
}

// submittedRun is the run just submitted, as run history would show it a
// moment later, built from the request the service accepted: pfz does not
// read it back (two round trips) to print it. Only what the service alone
// knows is missing: its snapshot id and runtime version (`run show` has them).
func (w *Workspace) submittedRun(ctx context.Context, req *submitRequest) *workspace.Run {
	now := w.opts.Now().UTC()
	run := &workspace.Run{
		Name: req.RunID, DisplayName: req.RunDisplayName, Description: req.Description,
		Status: workspace.RunNotStarted, Target: workspace.TargetAzureML, CreatedOn: &now,
		Data: req.BatchDataInput.DataURI, Run: req.VariantRunID, Variant: req.NodeVariant, SessionID: req.SessionID,
		PortalURL: w.portalURL(req.RunID),
	}
	if len(req.Tags) > 0 {
		run.Tags = map[string]string{}
		for k, v := range req.Tags {
			run.Tags[k] = v
		}
	}
	// The properties the service writes from the request (protocol §3.5).
	props := map[string]string{
		pfProp + "runtime_name":  orDefault(req.RuntimeName, "automatic"),
		pfProp + "disable_trace": strconv.FormatBool(req.DisableTrace != nil && *req.DisableTrace),
	}
	set := func(k, v string) {
		if v != "" {
			props[pfProp+k] = v
		}
	}
	set("session_id", req.SessionID)
	set("flow_lineage_id", req.FlowLineageID)
	set("node_variant", req.NodeVariant)
	set("variant_run_id", req.VariantRunID)
	set("flow_definition_resource_id", req.FlowDefinitionResourceID)
	if req.FlowDefinitionBlobPath != "" {
		set("flow_definition_datastore_name", req.FlowDefinitionDataStoreName)
		set("flow_definition_blob_path", req.FlowDefinitionBlobPath)
		set("definition_file_name", path.Base(req.FlowDefinitionBlobPath))
	}
	for k, m := range map[string]any{"inputs_mapping": req.InputsMapping, "init_kwargs": req.InitKWargs} {
		if v := reflectLen(m); v > 0 {
			b, _ := json.Marshal(m)
			set(k, string(b))
		}
	}
	run.Properties = props
	if tok, err := w.c.token(ctx, w.cloud.armScope()); err == nil {
		c := claimsOf(tok)
		by := map[string]any{}
		for k, claim := range map[string]string{"userObjectId": "oid", "userTenantId": "tid", "userName": "name", "upn": "upn"} {
			if v, ok := c[claim].(string); ok && v != "" {
				by[k] = v
			}
		}
		if len(by) > 0 {
			run.CreationContext = by
		}
	}
	return run
}

func reflectLen(m any) int {
	switch x := m.(type) {
	case map[string]string:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return 0
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// prepareSubmit does everything a submit needs before the POST: identity,
// data and snapshot uploads, trace settings. The three are independent, so
// they run at once: the upload checks (one HEAD each when nothing changed)
// and TraceSessions cost one round trip of wall time, not three. A failure
// of one stops the others.
func (w *Workspace) prepareSubmit(ctx context.Context, sub *workspace.Submission, rep workspace.Reporter) (*submitRequest, error) {
	req, err := w.buildSubmit(ctx, sub)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
			cancel()
		}
		mu.Unlock()
	}
	var disabled, traceOK bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		disabled, traceOK = w.traceDisabled(ctx)
	}()
	var early error
	if sub.Data != nil && sub.Data.Remote == "" {
		// Learn the default datastore before the uploads start: when it is
		// workspaceblobstore (the usual case) its description serves the
		// snapshot too, with no lookup of its own. The listing needs nothing
		// from the workspace lookup, so the two go at once.
		var kindErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			kindErr = w.checkKind(ctx)
		}()
		_, early = w.defaultDatastore(ctx)
		<-done
		if kindErr != nil {
			early = kindErr
		}
	}
	if early != nil {
		fail(early)
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uri, err := w.uploadData(ctx, sub.Data, rep)
			if err != nil {
				fail(err)
				return
			}
			req.BatchDataInput.DataURI = uri
		}()
		if !sub.FlowRemote {
			wg.Add(1)
			go func() {
				defer wg.Done()
				blobPath, err := w.uploadSnapshot(ctx, sub.Snapshot, rep)
				if err != nil {
					fail(err)
					return
				}
				req.FlowDefinitionDataStoreName = linkedDatastore
				req.FlowDefinitionBlobPath = blobPath
			}()
		}
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if traceOK {
		req.DisableTrace = &disabled
	} else {
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: "warning: could not read the workspace trace settings; submitting with the service's default"})
	}
	return req, nil
}

// submit posts BulkRuns/submit. A 5xx, throttling or lost answer is retried
// only after run history says the run does not exist, so a retried submit
// never makes a second run.
func (w *Workspace) submit(ctx context.Context, req *submitRequest, rep workspace.Reporter) error {
	u, err := w.flowURL(ctx, "BulkRuns/submit")
	if err != nil {
		return err
	}
	const attempts = 3
	for attempt := 0; ; attempt++ {
		_, err := w.c.do(ctx, call{method: http.MethodPost, url: u, body: req, scope: w.cloud.armScope(), mlScope: w.cloud.mlScope(), noRetry: true})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fault.Wrap(fault.Interrupted, ctx.Err(), "submitting run %s was interrupted; it may or may not have been created", req.RunID).
				WithHint("check with `pfz run show %s`", req.RunID)
		}
		st := statusOf(err)
		var te *TransportError
		uncertain := errors.As(err, &te) || st == http.StatusInternalServerError || st == http.StatusBadGateway ||
			st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout || st == http.StatusRequestTimeout ||
			st == http.StatusTooManyRequests || st == http.StatusConflict
		if !uncertain {
			return w.fail(err, "submitting run %s", req.RunID)
		}
		exists, cerr := w.runExists(ctx, req.RunID)
		if cerr == nil && exists {
			if st == http.StatusConflict && attempt == 0 {
				return fault.Wrap(fault.Validation, err, "a run named %s already exists in workspace %s", req.RunID, w.opts.Workspace).
					WithHint("choose another name with --name, or leave it out to get a generated one")
			}
			return nil // an earlier attempt got through
		}
		if cerr != nil {
			return fault.Wrap(fault.Failed, err, "submitting run %s failed and pfz could not check whether it was created", req.RunID).
				WithHint("check with `pfz run show %s` before submitting again", req.RunID)
		}
		if st == http.StatusConflict || attempt+1 >= attempts {
			return w.fail(err, "submitting run %s", req.RunID)
		}
		delay, err := w.c.retryWait(attempt, err)
		if err != nil {
			return w.fail(err, "submitting run %s (it was not created)", req.RunID)
		}
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("submit failed (%v); run %s was not created, retrying", shortErr(err), req.RunID)})
		if err := w.c.sleep(ctx, delay); err != nil {
			return err
		}
	}
}

func shortErr(err error) string {
	if s := statusOf(err); s != 0 {
		return "HTTP " + strconv.Itoa(s)
	}
	return "no answer"
}

func (w *Workspace) runExists(ctx context.Context, name string) (bool, error) {
	_, err := w.rundata(ctx, name)
	if err == nil {
		return true, nil
	}
	if statusOf(err) == http.StatusNotFound {
		return false, nil
	}
	return false, err
}

// Get reads a run from run history and its portal link from the flow service.
func (r *runs) Get(ctx context.Context, name string) (*workspace.Run, error) {
	w := r.w
	md, err := w.readRun(ctx, name)
	if err != nil {
		return nil, err
	}
	// One read: the portal link is made from the name (as the service makes
	// studioPortalTraceEndpoint), not read from BulkRuns.
	return w.toRun(md), nil
}

// dataPortalURL is the studio page of a run's data in a datastore, as
// pfazure shows it (data_portal_url); "" for other data.
func (w *Workspace) dataPortalURL(data string) string {
	rest, ok := strings.CutPrefix(data, "azureml://datastores/")
	if !ok {
		return ""
	}
	ds, p, ok := strings.Cut(rest, "/paths/")
	if !ok {
		return ""
	}
	return w.cloud.Studio + "/data/datastore/" + ds + "/edit?wsid=" + w.wsPath() + "&activeFilePath=" + p + "#browseTab"
}

// outputPortalURL is the studio page of a run's output data asset
// (output_portal_url); "" when the output is not a data asset.
func (w *Workspace) outputPortalURL(asset string) string {
	i := strings.Index(asset, "/data/")
	if !strings.HasPrefix(asset, "azureml://") || i < 0 {
		return ""
	}
	name, version, ok := strings.Cut(asset[i+len("/data/"):], "/versions/")
	if !ok {
		return ""
	}
	return w.cloud.Studio + "/data/" + name + "/" + version + "/details?wsid=" + w.wsPath()
}

// portalURL is the run's page in the studio, as the service writes it in
// studioPortalTraceEndpoint.
func (w *Workspace) portalURL(name string) string {
	// The service writes resourcegroups in lower case in this link.
	wsid := "/subscriptions/" + w.opts.Subscription + "/resourcegroups/" + w.opts.ResourceGroup +
		"/providers/Microsoft.MachineLearningServices/workspaces/" + w.opts.Workspace
	return w.cloud.Studio + "/prompts/trace/run/" + url.PathEscape(name) + "?wsid=" + wsid
}

const pfProp = "azureml.promptflow."

func (w *Workspace) toRun(md *runMetadata) *workspace.Run {
	run := &workspace.Run{
		Name: md.RunID, DisplayName: md.DisplayName, Description: md.Description, Status: md.Status,
		Target: workspace.TargetAzureML, CreatedOn: parseTime(md.CreatedUtc), StartTime: parseTime(md.StartTimeUtc),
		EndTime: parseTime(md.EndTimeUtc), IsArchived: md.Hidden, CreationContext: md.CreatedBy,
		PortalURL: w.portalURL(md.RunID),
	}
	if len(md.Tags) > 0 {
		run.Tags = md.Tags
	}
	// Every property run history has, as pfazure shows them (_azureml.*
	// included); the input data and run become data and run.
	props := map[string]string{}
	for k, v := range md.Properties {
		props[k] = v
	}
	run.Data = props[pfProp+"input_data"]
	run.Run = props[pfProp+"input_run_id"]
	run.Variant = props[pfProp+"node_variant"]
	run.SessionID = props[pfProp+"session_id"]
	delete(props, pfProp+"input_data")
	delete(props, pfProp+"input_run_id")
	if len(props) > 0 {
		run.Properties = props
	}
	if o, ok := md.Outputs["flow_outputs"]; ok {
		run.Output = o.AssetID
	}
	run.ServiceDuration = md.Duration
	if run.StartTime != nil && run.EndTime != nil {
		run.Duration = run.EndTime.Sub(*run.StartTime).String()
	} else if md.Duration != "" {
		run.Duration = md.Duration
	}
	run.DataPortalURL, run.OutputPortalURL = w.dataPortalURL(run.Data), w.outputPortalURL(run.Output)
	if md.Error != nil {
		run.ErrorEnvelope = md.Error.raw
	}
	if md.Error != nil && md.Error.Error != nil {
		run.Error = &workspace.RunError{Code: md.Error.Error.Code, Message: md.Error.Error.Message}
		if ic := innermost(md.Error.Error.InnerError); ic != "" {
			run.Error.Details = ic
		}
	}
	return run
}

// Logs returns the run's log (a JSON string on the wire).
func (r *runs) Logs(ctx context.Context, name string) (string, error) {
	w := r.w
	u, err := w.flowURL(ctx, "BulkRuns/"+url.PathEscape(name)+"/logContent")
	if err != nil {
		return "", err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, scope: w.cloud.armScope(), header: map[string]string{"Content-Type": "application/json"}})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return "", fault.Wrap(fault.NotFound, err, "run %q not found", name)
		}
		return "", w.fail(err, "getting the logs of run %s", name)
	}
	var s string
	if json.Unmarshal(resp.body, &s) != nil {
		s = string(resp.body)
	}
	return s, nil
}

// Cancel asks the service to cancel the run.
func (r *runs) Cancel(ctx context.Context, name string) error {
	w := r.w
	u, err := w.flowURL(ctx, "BulkRuns/"+url.PathEscape(name)+"/cancel")
	if err != nil {
		return err
	}
	_, err = w.c.do(ctx, call{method: http.MethodPost, url: u, scope: w.cloud.armScope(), accept: "text/plain, application/json", idempotent: true})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return fault.Wrap(fault.NotFound, err, "run %q not found", name)
		}
		return w.fail(err, "cancelling run %s", name)
	}
	return nil
}

// readRun reads a run's record from run history; an unknown run is NotFound.
func (w *Workspace) readRun(ctx context.Context, name string) (*runMetadata, error) {
	md, err := w.rundata(ctx, name)
	if err == nil {
		return md, nil
	}
	if statusOf(err) == http.StatusNotFound {
		return nil, fault.Wrap(fault.NotFound, err, "run %q not found in workspace %s", name, w.opts.Workspace).
			WithHint("list runs with `pfz run list`")
	}
	return nil, w.fail(err, "getting run %s", name)
}

func (w *Workspace) requireCompleted(ctx context.Context, name string) error {
	md, err := w.readRun(ctx, name)
	if err != nil {
		return err
	}
	if md.Status == workspace.RunCompleted {
		return nil
	}
	e := fault.New(fault.Failed, "run %q is not completed, the status is %q", name, md.Status)
	if md.Status != workspace.RunFailed {
		return e.WithHint("wait for it with `pfz run stream %s`, or pick a completed run", name)
	}
	return e
}

// childPage is the childRuns page size; the end index is inclusive.
const childPage = 25

// Details returns one row per data line from the child runs.
func (r *runs) Details(ctx context.Context, name string, max int) ([]workspace.LineDetail, error) {
	w := r.w
	if err := w.requireCompleted(ctx, name); err != nil {
		return nil, err
	}
	var out []workspace.LineDetail
	for start := 0; ; start += childPage {
		u, err := w.flowURL(ctx, "BulkRuns/"+url.PathEscape(name)+"/childRuns")
		if err != nil {
			return nil, err
		}
		resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, scope: w.cloud.armScope(),
			query: url.Values{"startIndex": {itoa(start)}, "endIndex": {itoa(start + childPage - 1)}}})
		if err != nil {
			return nil, w.fail(err, "getting the lines of run %s", name)
		}
		var page []childRun
		if err := resp.json(&page); err != nil {
			return nil, w.fail(err, "reading the lines of run %s", name)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			out = append(out, c.detail())
		}
		// A page shorter than asked for is the last one (the range is
		// inclusive and the service returns every line in it): pfazure asks
		// for one more, empty page; pfz does not.
		if len(page) < childPage || max > 0 && len(out) >= max {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LineNumber < out[j].LineNumber })
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

type childRun struct {
	Index  *int           `json:"index"`
	Status string         `json:"status"`
	Inputs map[string]any `json:"inputs"`
	Output any            `json:"output"`
	Error  *struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

func (c childRun) detail() workspace.LineDetail {
	// The service's records carry no key order: inputs and outputs sorted.
	d := workspace.LineDetail{Status: c.Status}
	inputs := map[string]any{}
	if c.Index != nil {
		d.LineNumber = *c.Index
	} else if ln, ok := c.Inputs["line_number"].(float64); ok {
		d.LineNumber = int(ln)
	}
	for k, v := range c.Inputs {
		if k != "line_number" {
			inputs[k] = v
		}
	}
	d.Inputs = pyjson.ObjectOf(inputs)
	if m, ok := c.Output.(map[string]any); ok {
		d.Outputs = pyjson.ObjectOf(m)
	} else {
		d.Outputs = pyjson.Object{}
	}
	if c.Error != nil && c.Error.Message != "" {
		d.Error = &workspace.RunError{Code: c.Error.Code, Message: c.Error.Message}
	}
	return d
}

// systemMetric tells the promptflow bookkeeping metrics apart.
func systemMetric(name string) bool {
	for _, s := range []string{".completed", ".bypassed", ".failed", ".is_completed"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Metrics returns the run's user metrics.
func (r *runs) Metrics(ctx context.Context, name string) (pyjson.Object, error) {
	w := r.w
	if err := w.requireCompleted(ctx, name); err != nil {
		return nil, err
	}
	all, err := w.lastValues(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range all {
		if !systemMetric(k) {
			out[k] = v
		}
	}
	return pyjson.ObjectOf(out), nil // the service keeps no order
}

func (w *Workspace) lastValues(ctx context.Context, name string) (map[string]any, error) {
	u, err := w.svc(ctx, "metric/v2.0", "runs/"+url.PathEscape(name)+"/lastvalues")
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, scope: w.cloud.armScope(), body: map[string]any{}, accept: "*/*", idempotent: true})
	if err != nil {
		return nil, w.fail(err, "getting the metrics of run %s", name)
	}
	var lv struct {
		Value []struct {
			Name  string `json:"name"`
			Value []struct {
				Data map[string]any `json:"data"`
			} `json:"value"`
		} `json:"value"`
	}
	if err := resp.json(&lv); err != nil {
		return nil, w.fail(err, "reading the metrics of run %s", name)
	}
	out := map[string]any{}
	for _, m := range lv.Value {
		if len(m.Value) > 0 {
			if v, ok := m.Value[0].Data[m.Name]; ok {
				out[m.Name] = v
			}
		}
	}
	return out, nil
}

// List pages through the index service, newest first.
func (r *runs) List(ctx context.Context, opts workspace.ListOptions) ([]workspace.Run, error) {
	w := r.w
	if opts.ArchivedOnly && opts.IncludeArchived {
		return nil, fault.New(fault.Usage, "cannot specify both archived-only and include-archived")
	}
	max := opts.MaxResults
	if max <= 0 {
		max = 50
	}
	archived := []string{"false"}
	switch {
	case opts.ArchivedOnly:
		archived = []string{"true"}
	case opts.IncludeArchived:
		archived = []string{"true", "false"}
	}
	u, err := w.svc(ctx, "index/v1.0", "entities")
	if err != nil {
		return nil, err
	}
	var out []workspace.Run
	token := ""
	for len(out) < max {
		body := map[string]any{
			"filters": []map[string]any{
				{"field": "type", "operator": "eq", "values": []string{"runs"}},
				{"field": "annotations/archived", "operator": "eq", "values": archived},
				{"field": "properties/runType", "operator": "contains", "values": []string{"azureml.promptflow.FlowRun", "azureml.promptflow.EvaluationRun", "azureml.promptflow.PairwiseEvaluationRun"}},
			},
			"freeTextSearch":          "",
			"order":                   []map[string]string{{"direction": "Desc", "field": "properties/creationContext/createdTime"}},
			"pageSize":                minInt(max-len(out), 100),
			"skip":                    0,
			"includeTotalResultCount": true,
			"searchBuilder":           "AppendPrefix",
		}
		if token != "" {
			body["continuationToken"] = token
		}
		resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, scope: w.cloud.armScope(), body: body, accept: "*/*", idempotent: true})
		if err != nil {
			return nil, w.fail(err, "listing runs")
		}
		var page struct {
			Value             []indexEntity `json:"value"`
			ContinuationToken string        `json:"continuationToken"`
		}
		if err := resp.json(&page); err != nil {
			return nil, w.fail(err, "reading the run list")
		}
		for _, e := range page.Value {
			out = append(out, e.run())
			if len(out) == max {
				break
			}
		}
		if page.ContinuationToken == "" || len(page.Value) == 0 {
			break
		}
		token = page.ContinuationToken
	}
	return out, nil
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

type indexEntity struct {
	Annotations struct {
		Archived        bool              `json:"archived"`
		Tags            map[string]string `json:"tags"`
		DisplayName     string            `json:"displayName"`
		Status          string            `json:"status"`
		Description     string            `json:"description"`
		ComputeDuration string            `json:"computeDuration"`
	} `json:"annotations"`
	Properties struct {
		CreationContext struct {
			CreatedTime string         `json:"createdTime"`
			CreatedBy   map[string]any `json:"createdBy"`
		} `json:"creationContext"`
		ExperimentName string `json:"experimentName"`
		RunID          string `json:"runId"`
		StartTime      string `json:"startTime"`
		EndTime        string `json:"endTime"`
	} `json:"properties"`
}

func (e indexEntity) run() workspace.Run {
	r := workspace.Run{
		Name: e.Properties.RunID, DisplayName: e.Annotations.DisplayName, Description: e.Annotations.Description,
		Status: e.Annotations.Status, Target: workspace.TargetAzureML, FlowName: e.Properties.ExperimentName,
		IsArchived: e.Annotations.Archived, CreatedOn: parseTime(e.Properties.CreationContext.CreatedTime),
		StartTime: parseTime(e.Properties.StartTime), EndTime: parseTime(e.Properties.EndTime),
	}
	if len(e.Annotations.Tags) > 0 {
		r.Tags = e.Annotations.Tags
	}
	if e.Properties.CreationContext.CreatedBy != nil {
		r.CreationContext = map[string]any{"createdTime": e.Properties.CreationContext.CreatedTime, "createdBy": e.Properties.CreationContext.CreatedBy}
	}
	if r.StartTime != nil && r.EndTime != nil {
		r.Duration = r.EndTime.Sub(*r.StartTime).String()
	} else {
		r.Duration = e.Annotations.ComputeDuration
	}
	return r
}

// Update changes display name, description, tags or the archived flag.
func (r *runs) Update(ctx context.Context, name string, upd workspace.RunUpdate) (*workspace.Run, error) {
	w := r.w
	u, err := w.svc(ctx, "history/v1.0", "runs/"+url.PathEscape(name)+"/modify")
	if err != nil {
		return nil, err
	}
	patch := func(body map[string]any) error {
		_, err := w.c.do(ctx, call{method: http.MethodPatch, url: u, scope: w.cloud.armScope(), body: body, accept: "*/*", idempotent: true})
		if err != nil {
			if statusOf(err) == http.StatusNotFound {
				return fault.Wrap(fault.NotFound, err, "run %q not found", name)
			}
			return w.fail(err, "updating run %s", name)
		}
		return nil
	}
	meta := map[string]any{}
	if upd.DisplayName != nil {
		meta["displayName"] = *upd.DisplayName
	}
	if upd.Description != nil {
		meta["description"] = *upd.Description
	}
	if upd.Tags != nil {
		meta["tags"] = upd.Tags
	}
	if len(meta) == 0 && upd.Archived == nil {
		return nil, fault.New(fault.Usage, "nothing to update").WithHint("pass --set display_name=…, description=… or tags.<key>=…")
	}
	if len(meta) > 0 {
		if err := patch(meta); err != nil {
			return nil, err
		}
	}
	if upd.Archived != nil {
		if err := patch(map[string]any{"hidden": *upd.Archived}); err != nil {
			return nil, err
		}
	}
	return r.Get(ctx, name)
}

// Visualize returns the studio page that compares the runs.
func (r *runs) Visualize(ctx context.Context, names []string) (string, error) {
	if len(names) == 0 {
		return "", fault.New(fault.Usage, "name at least one run")
	}
	w := r.w
	return w.cloud.Studio + "/prompts/flow/bulkrun/runs/outputs?wsid=" + w.wsPath() + "&runId=" + strings.Join(names, ","), nil
}
