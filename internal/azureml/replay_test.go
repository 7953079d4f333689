package azureml

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/replay"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// replayCase is how one recording is driven; why says what is and is not
// compared.
type replayCase struct {
	file    string
	covered bool
	why     string
	// mode: "submit" (default: every recorded submit, then the reads the
	// recording holds), "prepare" (the submit was mocked in the Python test:
	// uploads and trace settings only), "session" (FlowSessions then submit),
	// "reads" (no submit: the reads the recording holds), "refuse"
	// (client-side refusal: no request at all).
	mode string
	// ignore lists submit body keys not compared, with the reason in why.
	ignore []string
}

var replayCases = []replayCase{
	{file: "test_azure_cli_perf_TestAzureCliPerf_test_pfazure_run_create.yaml", covered: true, why: "CLI run create; workspace read from pfz's disk cache (the recording has no workspace GET)"},
	{file: "test_azure_cli_perf_TestAzureCliPerf_test_run_restore.yaml", covered: true, mode: "reads", why: "run restore: PATCH hidden=false, then show"},
	{file: "test_cli_with_azure_TestCliWithAzure_test_cli_telemetry.yaml", covered: true, why: "run create; telemetry calls are not pfz's"},
	{file: "test_cli_with_azure_TestCliWithAzure_test_run_file_with_set.yaml", covered: true, why: "run create from run.yml with --set"},
	{file: "test_cli_with_azure_TestCliWithAzure_test_run_with_remote_data.yaml", covered: true, why: "remote data passed through; pfz makes no data-asset GET"},
	{file: "test_flow_operations_TestFlow_test_create_flow.yaml", covered: true, mode: "flows", why: "flow create: file share directories and files through azfile, then POST Flows (body equal); pfz skips pfazure's LocalUpload folder and its HEAD after"},
	{file: "test_flow_operations_TestFlow_test_get_flow.yaml", covered: true, mode: "flows", why: "flow create, then flow show: GET Flows/{id}?experimentId"},
	{file: "test_flow_operations_TestFlow_test_list_flows.yaml", covered: true, mode: "flows", why: "flow list through the index service (filters equal)"},
	{file: "test_flow_operations_TestFlow_test_list_flows_invalid_cases.yaml", covered: true, mode: "flows", why: "flow list argument checks: refused before any request"},
	{file: "test_flow_operations_TestFlow_test_update_flow.yaml", covered: true, mode: "flows", why: "flow create, then flow update: PUT Flows/{id} (body equal); pfz reads the flow first, so an unknown flow stops at that read"},
	{file: "test_run_operations_TestFlowRun_test_auto_resolve_requirements.yaml", covered: true, why: "submit, download (metrics, asset path, snapshot SAS, artifacts), logs"},
	{file: "test_run_operations_TestFlowRun_test_automatic_runtime.yaml", covered: true, mode: "prepare", why: "submit mocked in the Python test: uploads + TraceSessions, runtimeName automatic, no vmSize"},
	{file: "test_run_operations_TestFlowRun_test_automatic_runtime_with_managed_identity.yaml", covered: true, mode: "prepare", why: "submit mocked: uploads + TraceSessions (identity resolution by client_id is unit-tested: the sanitized workspace has no identities)"},
	{file: "test_run_operations_TestFlowRun_test_automatic_runtime_with_resources.yaml", covered: true, why: "submit with vmSize"},
	{file: "test_run_operations_TestFlowRun_test_basic_evaluation.yaml", covered: true, why: "batch run then evaluation run (variantRunId)"},
	{file: "test_run_operations_TestFlowRun_test_basic_evaluation_without_data.yaml", covered: true, why: "evaluation run without data: batchDataInput {}"},
	{file: "test_run_operations_TestFlowRun_test_cancel_run.yaml", covered: true, why: "submit, cancel"},
	{file: "test_run_operations_TestFlowRun_test_default_run_display_name.yaml", covered: true, why: "display name defaults to the run name"},
	{file: "test_run_operations_TestFlowRun_test_download_run.yaml", covered: true, why: "submit, download"},
	{file: "test_run_operations_TestFlowRun_test_eager_flow_cancel.yaml", covered: true, why: "real upload: HEAD 404, PUT If-None-Match:*, confirmation metadata last; cancel"},
	{file: "test_run_operations_TestFlowRun_test_eager_flow_crud.yaml", covered: true, why: "flex flow submit, details (childRuns paging), metrics, logs"},
	{file: "test_run_operations_TestFlowRun_test_eager_flow_download.yaml", covered: true, why: "flex flow download"},
	{file: "test_run_operations_TestFlowRun_test_eager_flow_meta_generation.yaml", covered: true, why: "real upload of a flex flow; download"},
	{file: "test_run_operations_TestFlowRun_test_eager_flow_run_without_yaml.yaml", covered: true, why: "real upload; download"},
	{file: "test_run_operations_TestFlowRun_test_exception_in_model_config.yaml", covered: true, mode: "prepare", why: "the Python client fails on init kwargs (runspec's job); the data uploads are replayed"},
	{file: "test_run_operations_TestFlowRun_test_failed_run_to_dict_exclude.yaml", covered: true, why: "failed run: submit, show (error envelope), logs"},
	{file: "test_run_operations_TestFlowRun_test_flex_flow_run.yaml", covered: true, why: "flex flow with initKWargs, details"},
	{file: "test_run_operations_TestFlowRun_test_flow_id_in_submission.yaml", covered: true, mode: "prepare", why: "submit mocked: uploads + TraceSessions"},
	{file: "test_run_operations_TestFlowRun_test_get_details_against_partial_completed_run.yaml", covered: true, why: "two runs, details of partially failed lines"},
	{file: "test_run_operations_TestFlowRun_test_get_invalid_run_cases.yaml", covered: true, mode: "reads", why: "show of an unknown run: rundata 404 → NotFound"},
	{file: "test_run_operations_TestFlowRun_test_input_mapping_with_dict.yaml", covered: true, why: "a dict column mapping is sent as Python json.dumps text"},
	{file: "test_run_operations_TestFlowRun_test_list_runs.yaml", covered: true, mode: "reads", why: "run list through the index service"},
	{file: "test_run_operations_TestFlowRun_test_model_config_dict_in_init.yaml", covered: true, why: "initKWargs with nested nulls"},
	{file: "test_run_operations_TestFlowRun_test_model_config_obj_in_init.yaml", covered: true, why: "initKWargs with nested nulls"},
	{file: "test_run_operations_TestFlowRun_test_pf_run_with_env_var.yaml", why: "only the workspace/datastore lookups of a client-side check: nothing to compare"},
	{file: "test_run_operations_TestFlowRun_test_request_id_when_making_http_requests.yaml", covered: true, mode: "prepare", why: "submit mocked: uploads + TraceSessions"},
	{file: "test_run_operations_TestFlowRun_test_requirements_in_additional_includes.yaml", covered: true, why: "snapshot folder code_with_additional_includes; download"},
	{file: "test_run_operations_TestFlowRun_test_run_bulk.yaml", covered: true, why: "submit with a variant"},
	{file: "test_run_operations_TestFlowRun_test_run_bulk_from_yaml.yaml", covered: true, why: "submit from run.yml"},
	{file: "test_run_operations_TestFlowRun_test_run_bulk_not_exist.yaml", why: "only the workspace/datastore lookups before a client-side error: nothing to compare"},
	{file: "test_run_operations_TestFlowRun_test_run_bulk_with_registry_flow.yaml", covered: true, why: "registry flow: flowDefinitionResourceId, no snapshot"},
	{file: "test_run_operations_TestFlowRun_test_run_bulk_with_registry_flow_automatic_runtime.yaml", covered: true, why: "registry flow, logs"},
	{file: "test_run_operations_TestFlowRun_test_run_bulk_with_remote_flow.yaml", covered: true, why: "the run part; its flow create (file share, Flows API) is pfazure's flow command"},
	{file: "test_run_operations_TestFlowRun_test_run_bulk_without_retry.yaml", why: "the workspace GET of a mocked submit: nothing to compare"},
	{file: "test_run_operations_TestFlowRun_test_run_data_not_provided.yaml", covered: true, mode: "refuse", why: "neither data nor run: refused before any request"},
	{file: "test_run_operations_TestFlowRun_test_run_display_name_with_macro.yaml", covered: true, why: "display name macros pass through"},
	{file: "test_run_operations_TestFlowRun_test_run_resume.yaml", covered: true, mode: "resume", why: "run create --resume-from: GET the run to resume, POST BulkRuns/resume with pfazure's body, then show the new run"},
	{file: "test_run_operations_TestFlowRun_test_run_resume_token.yaml", covered: true, mode: "resume", why: "resume, then the details, logs and metrics of both runs"},
	{file: "test_run_operations_TestFlowRun_test_run_resume_with_image_aggregation.yaml", covered: true, mode: "resume", why: "resume of a run with images and an aggregation node, then metrics and logs"},
	{file: "test_run_operations_TestFlowRun_test_run_submission_exception.yaml", why: "only the workspace/datastore lookups of a mocked failure: nothing to compare"},
	{file: "test_run_operations_TestFlowRun_test_run_with_compute_instance_session.yaml", covered: true, why: "computeName for a compute-instance session; logs"},
	{file: "test_run_operations_TestFlowRun_test_run_with_connection_overwrite.yaml", covered: true, why: "connections overrides"},
	{file: "test_run_operations_TestFlowRun_test_run_with_env_overwrite.yaml", covered: true, why: "environmentVariables with a connection reference"},
	{file: "test_run_operations_TestFlowRun_test_run_with_environment_variables.yaml", covered: true, why: "environmentVariables, details paging 0..24, 25..49"},
	{file: "test_run_operations_TestFlowRun_test_run_with_remote_data.yaml", covered: true, why: "remote data (azureml:name:version and the long form) passed through"},
	{file: "test_run_operations_TestFlowRun_test_run_without_dump.yaml", covered: true, why: "plain submit"},
	{file: "test_run_operations_TestFlowRun_test_run_without_generate_tools_json.yaml", covered: true, why: "real upload with .gitattributes as indicator"},
	{file: "test_run_operations_TestFlowRun_test_session_id_with_different_env.yaml", covered: true, why: "four submits of one flow"},
	{file: "test_run_operations_TestFlowRun_test_show_metrics.yaml", covered: true, why: "batch + evaluation run, metrics (system metrics filtered)"},
	{file: "test_run_operations_TestFlowRun_test_show_run.yaml", covered: true, why: "show: rundata + BulkRuns"},
	{file: "test_run_operations_TestFlowRun_test_show_run_details.yaml", covered: true, why: "details with repeated paging"},
	{file: "test_run_operations_TestFlowRun_test_stream_invalid_run_logs.yaml", covered: true, mode: "reads", why: "unknown run: rundata 404 → NotFound"},
	{file: "test_run_operations_TestFlowRun_test_stream_run_logs.yaml", covered: true, why: "submit, show, logs (stream is built on these)"},
	{file: "test_run_operations_TestFlowRun_test_tools_json_ignored.yaml", covered: true, mode: "prepare", why: "submit mocked: uploads + TraceSessions"},
	{file: "test_run_operations_TestFlowRun_test_update_run.yaml", covered: true, why: "update display name, description, tags; the empty PATCH {} is refused by pfz before any call"},
	{file: "test_run_operations_TestFlowRun_test_wrong_workspace_type.yaml", why: "the sanitizer rewrote the hub kind to Default: the refusal cannot be replayed (unit-tested)"},
	{file: "historical/test_run_bulk_clientwait_flowsessions_2023-12.yaml", covered: true, mode: "session", ignore: []string{"sessionSetupMode"},
		why: "FlowSessions Install 202 + azure-asyncoperation poll, then submit (ClientWait era: no sessionSetupMode in the recording)"},
}

// sanitizedWorkspace is the workspace GET answer of the recordings, used to
// seed pfz's disk cache for recordings that lack the GET.
const sanitizedWorkspace = `{"id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/00000/providers/Microsoft.MachineLearningServices/workspaces/00000", "name": "00000", "location": "eastus", "kind": "Default", "properties": {"discoveryUrl": "https://eastus.api.azureml.ms/discovery"}}`

var (
	reSubmitURL    = regexp.MustCompile(`/BulkRuns/submit$`)
	reResumeURL    = regexp.MustCompile(`/BulkRuns/resume$`)
	reCancel       = regexp.MustCompile(`/BulkRuns/([^/]+)/cancel$`)
	reChild        = regexp.MustCompile(`/BulkRuns/([^/]+)/childRuns`)
	reLog          = regexp.MustCompile(`/BulkRuns/([^/]+)/logContent$`)
	reLastValues   = regexp.MustCompile(`/metric/v2\.0/.*/runs/([^/]+)/lastvalues$`)
	reModify       = regexp.MustCompile(`/history/v1\.0/.*/runs/([^/]+)/modify$`)
	reGetByAsset   = regexp.MustCompile(`/dataversion/getByAssetId$`)
	reBulkGet      = regexp.MustCompile(`/flow/api/.*/BulkRuns/[^/]+$`)
	reTrace        = regexp.MustCompile(`/TraceSessions$`)
	reEntities     = regexp.MustCompile(`/index/v1\.0/.*/entities$`)
	reRundata      = regexp.MustCompile(`/history/v1\.0/.*/rundata$`)
	reDatastoreGet = regexp.MustCompile(`/datastores/[^/]+$`)
	reUploadHead   = regexp.MustCompile(`/LocalUpload/0{36}/(.+)$`)
)

func TestReplayRecordings(t *testing.T) {
	dir := shared.Path(t, "conformance", "recordings")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	hist, _ := filepath.Glob(filepath.Join(dir, "historical", "*.yaml"))
	files = append(files, hist...)
	known := map[string]replayCase{}
	for _, c := range replayCases {
		known[c.file] = c
	}
	var table strings.Builder
	covered := 0
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		rel = filepath.ToSlash(rel)
		c, ok := known[rel]
		if !ok {
			t.Errorf("recording %s is not listed in replayCases: say whether it is covered and why", rel)
			continue
		}
		mark := "not covered"
		if c.covered {
			mark = "covered"
			covered++
		}
		fmt.Fprintf(&table, "%-90s %-12s %s\n", rel, mark, c.why)
		if !c.covered {
			continue
		}
		t.Run(strings.TrimSuffix(path.Base(rel), ".yaml"), func(t *testing.T) {
			runReplay(t, f, c)
		})
	}
	t.Logf("replay coverage: %d of %d recordings\n%s", covered, len(files), table.String())
	// ../shared holds 67 recordings, 57 replayed: far fewer means the glob
	// missed them, and a test replaying nothing must not pass.
	if len(files) < 60 || covered < 50 {
		t.Fatalf("replayed %d of %d recordings under %s; want at least 50 of 60", covered, len(files), dir)
	}
}

type harness struct {
	t   *testing.T
	cas *replay.Cassette
	srv *replay.Server
	w   *Workspace
	tmp string
	c   replayCase
	// skipped are the recorded calls pfz deliberately does not make, with why.
	skipped map[*replay.Interaction]string
}

func runReplay(t *testing.T, file string, c replayCase) {
	cas, err := replay.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cas: cas, c: c, tmp: t.TempDir()}
	h.srv = replay.New(t, cas)
	cache := filepath.Join(h.tmp, "cache")
	hasWS := false
	for _, in := range cas.Interactions {
		if strings.HasSuffix(in.Key, "Microsoft.MachineLearningServices/workspaces/00000") && in.Method == "GET" {
			hasWS = true
		}
	}
	cred := &fakeCred{}
	if c.mode == "flows" {
		// flow list filters on the signed-in user, whom the recordings sanitized to zeros.
		cred.claims = map[string]any{"oid": "00000000-0000-0000-0000-000000000000", "tid": "00000000-0000-0000-0000-000000000000"}
	}
	w, err := New(context.Background(), Options{Subscription: "00000000-0000-0000-0000-000000000000", ResourceGroup: "00000", Workspace: "00000",
		Credential: cred, CacheDir: cache, HTTPClient: h.srv.Client(), PollInterval: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.sleep = noSleep
	w.c.sleep = noSleep
	h.w = w
	if !hasWS {
		// The CLI recordings start from pfazure's cached workspace: seed ours.
		var aw armWorkspace
		if err := json.Unmarshal([]byte(sanitizedWorkspace), &aw); err != nil {
			t.Fatal(err)
		}
		info := &wsInfo{ID: aw.ID, Name: aw.Name, Location: aw.Location, Kind: aw.Kind, DiscoveryURL: aw.Properties.DiscoveryURL, FetchedAt: w.opts.Now().UTC()}
		if err := atomicfile.WriteJSON(w.cachePath(), info, atomicfile.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	// Snapshot files the recording left out (it keeps one PUT per folder).
	h.srv.Tolerate(replay.Rule{Name: "snapshot file PUT not kept by the recording", Match: func(r *replay.Request) bool {
		return r.Method == "PUT" && strings.Contains(r.Key, "/LocalUpload/") && !strings.Contains(r.Key, "comp=")
	}, Respond: func(w http.ResponseWriter, r *replay.Request) { w.WriteHeader(http.StatusCreated) }})
	// pfz checks the connections --connections names before submitting;
	// pfazure does not, so the recordings hold no such read.
	h.srv.Tolerate(replay.Rule{Name: "pfz's check of a --connections connection", Match: func(r *replay.Request) bool {
		return r.Method == "GET" && strings.Contains(r.Key, "/connections/")
	}, Respond: func(w http.ResponseWriter, r *replay.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name": %q, "properties": {"category": "AzureOpenAI", "authType": "ApiKey"}}`, path.Base(r.Key))
	}})
	ctx := context.Background()
	switch c.mode {
	case "", "session":
		if c.mode == "session" {
			h.session(ctx)
		}
		h.submits(ctx)
		h.reads(ctx)
	case "prepare":
		h.prepare(ctx)
	case "reads":
		h.reads(ctx)
	case "resume":
		h.resumes(ctx)
		h.reads(ctx)
	case "flows":
		h.flows(ctx)
	case "refuse":
		_, err := w.Runs().Submit(ctx, &workspace.Submission{Name: "name", Flow: "x", Snapshot: &workspace.Snapshot{}}, nil)
		if !fault.Is(err, fault.Validation) {
			t.Fatalf("want a validation error, got %v", err)
		}
		if n := len(h.srv.Requests()); n != 0 {
			t.Fatalf("a refused submit sent %d requests", n)
		}
		return
	}
	h.check()
}

func jsonMap(s string) map[string]any {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return nil
	}
	return m
}

func (h *harness) interactions(re *regexp.Regexp, method string) []*replay.Interaction {
	var out []*replay.Interaction
	for _, in := range h.cas.Interactions {
		u, _ := url.Parse(in.URI)
		if (method == "" || in.Method == method) && re.MatchString(u.Path) {
			out = append(out, in)
		}
	}
	return out
}

// flowFiles returns the snapshot files of a flow folder seen in the
// recording: the HEAD indicator, recorded PUTs, and the flow file.
func (h *harness) flowFiles(folder, flowFile string) []workspace.FileRef {
	files := map[string][]byte{flowFile: []byte("inputs: {}\n")}
	for _, in := range h.cas.Interactions {
		u, _ := url.Parse(in.URI)
		m := reUploadHead.FindStringSubmatch(u.Path)
		if m == nil || !strings.HasPrefix(m[1], folder+"/") || !strings.Contains(in.URI, "/LocalUpload/") {
			continue
		}
		rel := strings.TrimPrefix(m[1], folder+"/")
		if in.Method == "PUT" && !strings.Contains(in.URI, "comp=metadata") {
			files[rel] = []byte(in.ReqBody)
		} else if _, ok := files[rel]; !ok {
			files[rel] = []byte("indicator\n")
		}
	}
	var out []workspace.FileRef
	root := filepath.Join(h.tmp, "flows", folder)
	for rel, data := range files {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(abs, data, 0o644); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, workspace.FileRef{Rel: rel, Abs: abs, Size: int64(len(data))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out
}

func (h *harness) localData(uri string) *workspace.Data {
	switch {
	case uri == "":
		return nil
	case strings.HasPrefix(uri, "azureml://datastores/") && strings.Contains(uri, "/paths/LocalUpload/"):
		base := path.Base(strings.TrimSuffix(uri, "/"))
		p := filepath.Join(h.tmp, "data", base)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(`{"url": "x"}`+"\n"), 0o644); err != nil {
			h.t.Fatal(err)
		}
		return &workspace.Data{Local: p, Hash: "0123456789abcdef0123456789abcdef"}
	}
	return &workspace.Data{Remote: uri}
}

// submissionFrom rebuilds pfz's input from a recorded submit body; the
// request pfz builds from it is then compared with that body.
func (h *harness) submissionFrom(body map[string]any) *workspace.Submission {
	str := func(k string) string { s, _ := body[k].(string); return s }
	sub := &workspace.Submission{Name: str("runId"), Variant: str("nodeVariant"), Run: str("variantRunId"), Description: str("description"),
		Resources: workspace.Resources{InstanceType: str("vmSize"), Compute: str("computeName")}, Runtime: "automatic",
		Session: workspace.SessionSpec{ID: strings.Repeat("ab", 24), LineageID: strings.Repeat("cd", 32)}}
	if d := str("runDisplayName"); d != sub.Name {
		sub.DisplayName = d
	}
	if m, ok := body["inputsMapping"].(map[string]any); ok {
		sub.ColumnMapping = map[string]any{}
		for k, v := range m {
			if s, ok := v.(string); ok && strings.HasPrefix(s, "{") {
				if obj := jsonMap(s); obj != nil {
					sub.ColumnMapping[k] = obj // a dict mapping, as run.yml would give it
					continue
				}
			}
			sub.ColumnMapping[k] = v
		}
	}
	if m, ok := body["environmentVariables"].(map[string]any); ok {
		sub.EnvironmentVariables = map[string]string{}
		for k, v := range m {
			sub.EnvironmentVariables[k], _ = v.(string)
		}
	}
	if m, ok := body["connections"].(map[string]any); ok {
		sub.Connections = map[string]map[string]string{}
		for node, kv := range m {
			sub.Connections[node] = map[string]string{}
			for k, v := range kv.(map[string]any) {
				sub.Connections[node][k], _ = v.(string)
			}
		}
	}
	if m, ok := body["initKWargs"].(map[string]any); ok {
		sub.Init = m
	}
	if bdi, ok := body["batchDataInput"].(map[string]any); ok {
		uri, _ := bdi["dataUri"].(string)
		sub.Data = h.localData(uri)
	}
	if rid := str("flowDefinitionResourceId"); rid != "" {
		sub.Flow, sub.FlowRemote = rid, true
		sub.Session = workspace.SessionSpec{}
		return sub
	}
	bp := strings.Split(str("flowDefinitionBlobPath"), "/") // LocalUpload/<h>/<folder>/<flow file>
	folder, flowFile := bp[2], strings.Join(bp[3:], "/")
	sub.ExperimentName = folder
	sub.Snapshot = &workspace.Snapshot{Root: filepath.Join(h.tmp, "flows", folder), Folder: folder, FlowFile: flowFile,
		Hash: "fedcba9876543210fedcba9876543210", Files: h.flowFiles(folder, flowFile)}
	sub.Flow = filepath.Join(sub.Snapshot.Root, flowFile)
	return sub
}

func (h *harness) submits(ctx context.Context) {
	for _, in := range h.interactions(reSubmitURL, "POST") {
		body := jsonMap(in.ReqBody)
		sub := h.submissionFrom(body)
		run, err := h.w.Runs().Submit(ctx, sub, workspace.NopReporter{})
		if err != nil {
			h.t.Fatalf("submit %s: %v", sub.Name, err)
		}
		if run.Name != sub.Name || run.Status == "" {
			h.t.Errorf("submit returned %+v", run)
		}
		h.readBack(in, run)
	}
}

// readBack handles pfazure's read-back after a submit (protocol §7 step 7:
// rundata + GET BulkRuns/{name}). pfz's run create prints the run from what
// it submitted instead, so it skips both; the recorded answer is the check
// that the printed run agrees with what run history said a moment later.
func (h *harness) readBack(submit *replay.Interaction, run *workspace.Run) {
	var rundata, bulk *replay.Interaction
	for _, in := range h.cas.Interactions {
		if in.Index < submit.Index || in.Used != 0 {
			continue
		}
		u, _ := url.Parse(in.URI)
		switch {
		case rundata == nil && in.Method == "POST" && reRundata.MatchString(u.Path) && runIDOf(in.ReqBody) == run.Name:
			rundata = in
		case bulk == nil && in.Method == "GET" && reBulkGet.MatchString(u.Path) && path.Base(u.Path) == run.Name:
			bulk = in
		}
	}
	if bulk != nil {
		h.skip(bulk, "run create does not read the run back for its portal link: it is built from the run name")
	}
	if rundata == nil {
		return
	}
	h.skip(rundata, "run create prints the run it submitted; `pfz run show` reads run history")
	var rec struct {
		RunMetadata *runMetadata `json:"runMetadata"`
	}
	if json.Unmarshal(rundata.RespBody, &rec) != nil || rec.RunMetadata == nil {
		return
	}
	shown := h.w.toRun(rec.RunMetadata)
	t := h.t
	if len(h.interactions(reModify, "PATCH")) > 0 {
		// The recording de-duplicated its reads to one after the update.
		shown.DisplayName = run.DisplayName
	}
	hashes := regexp.MustCompile(`/(LocalUpload|az-ml-artifacts)/[0-9a-f]{32,36}/`)
	for _, f := range []struct{ name, printed, history string }{
		{"name", run.Name, shown.Name}, {"display name", run.DisplayName, shown.DisplayName},
		{"data", hashes.ReplaceAllString(run.Data, "/$1/H/"), hashes.ReplaceAllString(shown.Data, "/$1/H/")},
		{"run", run.Run, shown.Run}, {"variant", run.Variant, shown.Variant},
	} {
		if f.printed != f.history {
			t.Errorf("run create printed %s %q, run history %q", f.name, f.printed, f.history)
		}
	}
	// Properties: those pfz derives from the request must be the service's;
	// hashes, lineage and session ids differ only by the recording's sanitizer.
	for k, v := range run.Properties {
		want, ok := shown.Properties[k]
		switch strings.TrimPrefix(k, pfProp) {
		case "flow_definition_blob_path", "flow_lineage_id", "session_id", "runtime_name", "flow_definition_resource_id":
			// Sanitized in the recorded submit (protocol, Reading the recordings).
			continue
		case "disable_trace", "variant_run_id":
			// Written by the service of most recordings (43 of 46 and 4 of 5
			// read-backs), not by the oldest.
			if !ok {
				continue
			}
		case "inputs_mapping", "init_kwargs":
			if ok && !jsonSame(jsonMap(v), jsonMap(want)) {
				t.Errorf("property %s = %s, run history %s", k, v, want)
			}
			continue
		}
		if ok && v != want {
			t.Errorf("property %s = %q, run history %q", k, v, want)
		}
		if !ok {
			t.Errorf("pfz printed property %s=%q that run history does not have", k, v)
		}
	}
}

func runIDOf(body string) string {
	m := jsonMap(body)
	s, _ := m["runId"].(string)
	return s
}

// flows drives pfz's flow commands with what the recorded requests carry:
// create (the snapshot rebuilt from the recorded file uploads), show,
// update and list, comparing the Flows and index bodies with the recorded
// ones.
func (h *harness) flows(ctx context.Context) {
	t := h.t
	if len(h.interactions(regexp.MustCompile(`/Flows`), "")) > 0 {
		// The sanitizer dropped workspaceId from the recorded workspace; the
		// recorded Flows calls carry it as zeros.
		if info, err := h.w.workspaceInfo(ctx); err == nil && info.WorkspaceID == "" {
			info.WorkspaceID = "00000000-0000-0000-0000-000000000000"
		}
	}
	reFlowFile := regexp.MustCompile(`/fake-file-share-name/Users/unknown_user/promptflow/([^/]+)/(.+)$`)
	var created *workspace.Flow
	for _, in := range h.interactions(regexp.MustCompile(`/Flows$`), "POST") {
		body := jsonMap(in.ReqBody)
		str := func(k string) string { s, _ := body[k].(string); return s }
		defPath := str("flowDefinitionFilePath")
		folder := strings.Split(strings.TrimPrefix(defPath, "Users/unknown_user/promptflow/"), "/")[0]
		root := filepath.Join(h.tmp, "flows", folder)
		snap := &workspace.Snapshot{Root: root, Folder: folder, FlowFile: path.Base(defPath)}
		for _, f := range h.cas.Interactions {
			u, _ := url.Parse(f.URI)
			m := reFlowFile.FindStringSubmatch(u.Path)
			if f.Method != "PUT" || m == nil || m[1] != folder || u.Query().Get("comp") != "range" {
				continue
			}
			abs := filepath.Join(root, filepath.FromSlash(m[2]))
			if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
				h.t.Fatal(err)
			}
			if err := os.WriteFile(abs, []byte(f.ReqBody), 0o644); err != nil {
				h.t.Fatal(err)
			}
			snap.Files = append(snap.Files, workspace.FileRef{Rel: m[2], Abs: abs, Size: int64(len(f.ReqBody))})
		}
		tags := map[string]string{}
		if m, ok := body["tags"].(map[string]any); ok {
			for k, v := range m {
				tags[k], _ = v.(string)
			}
		}
		typ := str("flowType")
		if typ == "default" {
			typ = "standard"
		}
		before := len(h.srv.Requests())
		res, err := h.w.CreateFlow(ctx, workspace.FlowCreate{Snapshot: snap, DisplayName: str("flowName"), Type: typ,
			Description: str("description"), Tags: tags, UserAlias: "unknown_user", Folder: folder, New: true})
		if err != nil {
			t.Fatalf("flow create: %v", err)
		}
		created = res.Flow
		h.compareBodies(before, regexp.MustCompile(`/Flows$`), "POST", in)
		if want := path.Base(strings.TrimSuffix(jsonMap(string(in.RespBody))["flowResourceId"].(string), "/")); created.Name != want {
			t.Errorf("created flow %q, the service answered %q", created.Name, want)
		}
	}
	reFlowID := regexp.MustCompile(`/Flows/([^/]+)$`)
	for _, in := range h.interactions(reFlowID, "PUT") {
		if in.Status != http.StatusNotFound {
			continue
		}
		missing, _ := url.Parse(in.URI)
		h.srv.Tolerate(replay.Rule{Name: "pfz's read of a flow the recording's update did not find", Match: func(r *replay.Request) bool {
			u, _ := url.Parse(r.URL)
			return r.Method == "GET" && u.Path == missing.Path
		}, Respond: func(w http.ResponseWriter, r *replay.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(in.RespBody)
		}})
	}
	updated := map[string]bool{}
	for _, in := range h.interactions(reFlowID, "PUT") {
		id := reFlowID.FindStringSubmatch(in.URI[:strings.IndexByte(in.URI+"?", '?')])[1]
		body := jsonMap(in.ReqBody)
		upd := workspace.FlowUpdate{}
		if v, ok := body["flowName"].(string); ok {
			upd.DisplayName = &v
		}
		if v, ok := body["description"].(string); ok {
			upd.Description = &v
		}
		if m, ok := body["tags"].(map[string]any); ok {
			upd.Tags = map[string]string{}
			for k, v := range m {
				upd.Tags[k], _ = v.(string)
			}
		}
		before := len(h.srv.Requests())
		_, err := h.w.UpdateFlow(ctx, id, upd)
		if in.Status == http.StatusNotFound {
			if !fault.Is(err, fault.NotFound) {
				t.Errorf("update of unknown flow %s: %v", id, err)
			}
			h.skip(in, "pfz reads the flow before updating it: an unknown flow stops at the read")
			continue
		}
		if err != nil {
			t.Fatalf("flow update %s: %v", id, err)
		}
		updated[id] = true
		h.compareBodies(before, reFlowID, "PUT", in)
	}
	for _, in := range h.interactions(reFlowID, "GET") {
		id := reFlowID.FindStringSubmatch(in.URI[:strings.IndexByte(in.URI+"?", '?')])[1]
		if updated[id] {
			continue // pfz read it before its update
		}
		if _, err := h.w.GetFlow(ctx, id); err != nil {
			t.Errorf("flow show %s: %v", id, err)
		}
	}
	for _, in := range h.interactions(reEntities, "POST") {
		m := jsonMap(in.ReqBody)
		size, _ := m["pageSize"].(json.Number).Int64()
		before := len(h.srv.Requests())
		list, err := h.w.ListFlows(ctx, workspace.FlowListOptions{MaxResults: int(size)})
		if err != nil || len(list) == 0 || list[0].Name == "" || list[0].Type != "standard" {
			t.Errorf("flow list: %d flows, %v", len(list), err)
		}
		h.compareBodies(before, reEntities, "POST", in)
	}
	if len(h.cas.Interactions) > 0 && created == nil && len(h.interactions(reEntities, "POST")) == 0 {
		// The argument checks: refused before any request.
		for _, bad := range []workspace.FlowListOptions{{MaxResults: 0}, {MaxResults: -1}} {
			if _, err := h.w.ListFlows(ctx, bad); !fault.Is(err, fault.Usage) {
				t.Errorf("flow list %+v: %v", bad, err)
			}
		}
		if n := len(h.srv.Requests()); n != 0 {
			t.Errorf("refused flow lists sent %d requests", n)
		}
		for _, in := range h.cas.Interactions {
			h.skip(in, "pfazure looks the workspace up before checking its arguments; pfz checks first")
		}
	}
	for _, in := range h.cas.Interactions {
		u, _ := url.Parse(in.URI)
		switch {
		case strings.HasSuffix(u.Path, "/fake-file-share-name/LocalUpload"):
			h.skip(in, "pfazure's SDK makes a LocalUpload folder in the share it does not use; pfz does not")
		case in.Method == "HEAD" && strings.Contains(u.Host, ".file."):
			h.skip(in, "pfazure checks the uploaded flow file afterwards; POST Flows fails if it is missing")
		}
	}
}

// compareBodies checks that the request pfz sent since request index
// before, matching re and method, carries the recorded body.
func (h *harness) compareBodies(before int, re *regexp.Regexp, method string, in *replay.Interaction) {
	sent := false
	for _, r := range h.srv.Requests()[before:] {
		u, _ := url.Parse(r.URL)
		if r.Method != method || !re.MatchString(u.Path) {
			continue
		}
		sent = true
		got, want := jsonMap(string(replay.SanitizeJSON(r.Body))), jsonMap(string(replay.SanitizeJSON([]byte(in.ReqBody))))
		if !jsonSame(got, want) {
			h.t.Errorf("%s %s body:\n got %s\nwant %s", method, u.Path, r.Body, in.ReqBody)
		}
	}
	if !sent {
		h.t.Errorf("pfz sent no %s %s", method, re)
	}
}

// resumes drives pfz's resume with what the recorded request carries and
// compares the body pfz sent with the recorded one, key by key.
func (h *harness) resumes(ctx context.Context) {
	for _, in := range h.interactions(reResumeURL, "POST") {
		body := jsonMap(in.ReqBody)
		str := func(k string) string { s, _ := body[k].(string); return s }
		sub := &workspace.Submission{Name: str("runId"), ResumeFrom: str("resumeFromRunId"), DisplayName: str("runDisplayName"),
			Description: str("description"), Runtime: str("runtimeName"), Identity: workspace.Identity{Type: "user"},
			Resources: workspace.Resources{InstanceType: str("vmSize"), Compute: str("computeName")}}
		before := len(h.srv.Requests())
		run, err := h.w.Runs().Submit(ctx, sub, workspace.NopReporter{})
		if err != nil {
			h.t.Fatalf("resume %s: %v", sub.ResumeFrom, err)
		}
		var want string
		if err := json.Unmarshal(in.RespBody, &want); err != nil {
			h.t.Fatal(err)
		}
		if run.Name != want {
			h.t.Errorf("resumed run = %q, the service named %q", run.Name, want)
		}
		sent := false
		for _, r := range h.srv.Requests()[before:] {
			u, _ := url.Parse(r.URL)
			if r.Method != "POST" || !reResumeURL.MatchString(u.Path) {
				continue
			}
			sent = true
			if got := jsonMap(string(r.Body)); !jsonSame(got, body) {
				h.t.Errorf("resume body:\n got %s\nwant %s", r.Body, in.ReqBody)
			}
			if r.Header.Get("aml-user-token") == "" {
				h.t.Error("resume POST lacks the aml-user-token header")
			}
		}
		if !sent {
			h.t.Error("no BulkRuns/resume request was sent")
		}
	}
}

func (h *harness) reads(ctx context.Context) {
	t, r := h.t, h.w.Runs()
	name := func(re *regexp.Regexp, in *replay.Interaction) string {
		u, _ := url.Parse(in.URI)
		return re.FindStringSubmatch(u.Path)[1]
	}
	done := map[string]bool{}
	once := func(k string) bool { d := done[k]; done[k] = true; return !d }
	for _, in := range h.interactions(reCancel, "POST") {
		if n := name(reCancel, in); once("cancel" + n) {
			if err := r.Cancel(ctx, n); err != nil {
				t.Errorf("cancel %s: %v", n, err)
			}
		}
	}
	for _, in := range h.interactions(reChild, "GET") {
		if n := name(reChild, in); once("details" + n) {
			lines, err := r.Details(ctx, n, 0)
			if err != nil {
				t.Errorf("details %s: %v", n, err)
			} else if len(lines) == 0 {
				t.Errorf("details %s: no lines", n)
			}
		}
	}
	downloads := h.interactions(reGetByAsset, "POST")
	for _, in := range downloads {
		m := jsonMap(in.ReqBody)
		asset, _ := m["value"].(string)
		n := strings.TrimSuffix(strings.TrimPrefix(asset[strings.Index(asset, "/data/azureml_")+len("/data/azureml_"):], ""), "_output_data_debug_info/versions/1")
		if once("download" + n) {
			dir, err := r.Download(ctx, n, filepath.Join(h.tmp, "downloads"), false)
			if err != nil {
				t.Errorf("download %s: %v", n, err)
				continue
			}
			for _, want := range []string{"run_metadata.json", "metrics.json", "logs.txt", "snapshot", "flow_outputs/output.jsonl", "instance_results.jsonl"} {
				if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
					t.Errorf("download %s lacks %s", n, want)
				}
			}
		}
	}
	if len(downloads) == 0 {
		for _, in := range h.interactions(reLastValues, "POST") {
			if n := name(reLastValues, in); once("metrics" + n) {
				m, err := r.Metrics(ctx, n)
				if err != nil {
					t.Errorf("metrics %s: %v", n, err)
				}
				for _, k := range m.Keys() {
					if systemMetric(k) {
						t.Errorf("system metric %s shown", k)
					}
				}
			}
		}
	}
	for _, in := range h.interactions(reLog, "GET") {
		if n := name(reLog, in); once("logs" + n) {
			if s, err := r.Logs(ctx, n); err != nil || s == "" {
				t.Errorf("logs %s: %q %v", n, truncate(s, 40), err)
			}
		}
	}
	for _, in := range h.interactions(reModify, "PATCH") {
		n := name(reModify, in)
		m := jsonMap(in.ReqBody)
		var upd workspace.RunUpdate
		if v, ok := m["displayName"].(string); ok {
			upd.DisplayName = &v
		}
		if v, ok := m["description"].(string); ok {
			upd.Description = &v
		}
		if v, ok := m["tags"].(map[string]any); ok {
			upd.Tags = map[string]string{}
			for k, x := range v {
				upd.Tags[k], _ = x.(string)
			}
		}
		if v, ok := m["hidden"].(bool); ok {
			upd.Archived = &v
		}
		_, err := r.Update(ctx, n, upd)
		if len(m) == 0 {
			if !fault.Is(err, fault.Usage) {
				t.Errorf("an empty update must be refused, got %v", err)
			}
			h.skip(in, "pfz refuses an empty update before calling the service")
			continue
		}
		if err != nil {
			t.Errorf("update %s: %v", n, err)
		}
	}
	for _, in := range h.interactions(reEntities, "POST") {
		m := jsonMap(in.ReqBody)
		size, _ := m["pageSize"].(json.Number).Int64()
		list, err := r.List(ctx, workspace.ListOptions{MaxResults: int(size)})
		if err != nil || len(list) == 0 || list[0].Name == "" {
			t.Errorf("list: %d runs, %v", len(list), err)
		}
	}
	// pfazure's later reads of a run (show, stream) map to `pfz run show`.
	for _, in := range h.cas.Interactions {
		u, _ := url.Parse(in.URI)
		if in.Used != 0 || in.Status == 404 {
			continue
		}
		n := ""
		if in.Method == "POST" && reRundata.MatchString(u.Path) {
			n = runIDOf(in.ReqBody)
		} else if in.Method == "GET" && reBulkGet.MatchString(u.Path) && !strings.HasSuffix(u.Path, "/submit") {
			n = path.Base(u.Path)
		}
		if n != "" && once("show"+n) {
			if run, err := r.Get(ctx, n); err != nil || run.Name != n || run.Status == "" {
				t.Errorf("show %s: %+v %v", n, run, err)
			}
		}
	}
	if h.c.mode == "reads" {
		for _, in := range h.interactions(reRundata, "POST") {
			if in.Status == 404 {
				m := jsonMap(in.ReqBody)
				_, err := r.Get(ctx, m["runId"].(string))
				if !fault.Is(err, fault.NotFound) {
					t.Errorf("unknown run: want NotFound, got %v", err)
				}
			}
		}
	}
}

// skip marks a recorded interaction pfz deliberately does not make (a later
// request may still use it: the recordings keep one of repeated reads).
func (h *harness) skip(in *replay.Interaction, why string) {
	in.Used = -1
	if h.skipped == nil {
		h.skipped = map[*replay.Interaction]string{}
	}
	h.skipped[in] = why
}

// prepare drives a recording whose submit the Python test mocked: every data
// file and flow folder it uploads, then TraceSessions.
func (h *harness) prepare(ctx context.Context) {
	var datas, flows []string
	seen := map[string]bool{}
	for _, in := range h.cas.Interactions {
		u, _ := url.Parse(in.URI)
		m := reUploadHead.FindStringSubmatch(u.Path)
		if in.Method != "HEAD" || m == nil || !strings.Contains(u.Path, "/LocalUpload/") {
			continue
		}
		if !strings.Contains(m[1], "/") {
			datas = append(datas, m[1])
		} else if f := strings.SplitN(m[1], "/", 2)[0]; !seen[f] {
			seen[f] = true
			flows = append(flows, f)
		}
	}
	for i, d := range datas {
		body := map[string]any{"runId": fmt.Sprintf("run%d", i), "batchDataInput": map[string]any{"dataUri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/x/" + d}}
		if len(flows) == 0 {
			sub := h.submissionFrom(map[string]any{"runId": "r", "flowDefinitionBlobPath": "LocalUpload/x/f/flow.dag.yaml"})
			sub.Data = h.localData(body["batchDataInput"].(map[string]any)["dataUri"].(string))
			if _, err := h.w.uploadData(ctx, sub.Data, nil); err != nil {
				h.t.Fatalf("data upload: %v", err)
			}
			continue
		}
		body["flowDefinitionBlobPath"] = "LocalUpload/x/" + flows[i%len(flows)] + "/flow.dag.yaml"
		sub := h.submissionFrom(body)
		req, err := h.w.prepareSubmit(ctx, sub, workspace.NopReporter{})
		if err != nil {
			h.t.Fatalf("prepare: %v", err)
		}
		if req.RuntimeName != "automatic" || req.VMSize != "" || req.MaxIdleTimeSeconds != 0 || req.Identity != "" {
			h.t.Errorf("automatic runtime request: %+v", req)
		}
		if req.DisableTrace == nil || *req.DisableTrace {
			h.t.Errorf("disableTrace must come from TraceSessions (false here): %v", req.DisableTrace)
		}
	}
}

// session drives the ClientWait-era FlowSessions exchange.
func (h *harness) session(ctx context.Context) {
	post := h.interactions(regexp.MustCompile(`/FlowSessions/[0-9a-f]+$`), "POST")
	if len(post) != 1 {
		h.t.Fatal("no FlowSessions POST in the recording")
	}
	id := path.Base(post[0].URI)
	gets := 0
	h.srv.Tolerate(replay.Rule{Name: "GET FlowSessions/{id}: not recorded (pfz checks the session before and after setup)",
		Match: func(r *replay.Request) bool {
			return r.Method == "GET" && strings.HasSuffix(r.Key, "/FlowSessions/"+id)
		},
		Respond: func(w http.ResponseWriter, r *replay.Request) {
			gets++
			if gets == 1 {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			fmt.Fprintf(w, `{"properties":{"sessionId":%q,"vmSize":"STANDARD_E4S_V3","maxIdleTimeSeconds":3600},"compute":{"name":"serverless","properties":{"provisioningState":"Succeeded","computeType":"Serverless"}}}`, id)
		}})
	h.srv.Tolerate(replay.Rule{Name: "GET datastores/workspaceworkingdirectory: not recorded (pfz's preflight)",
		Match: func(r *replay.Request) bool {
			return r.Method == "GET" && strings.HasSuffix(r.Key, "/datastores/workspaceworkingdirectory")
		},
		Respond: func(w http.ResponseWriter, r *replay.Request) {
			fmt.Fprint(w, `{"name":"workspaceworkingdirectory","properties":{"datastoreType":"AzureFile","accountName":"fake_account_name","fileShareName":"code","credentials":{"credentialsType":"AccountKey"}}}`)
		}})
	var events []string
	rep := reporterFunc(func(e workspace.Event) { events = append(events, e.Message) })
	sess, err := h.w.Sessions().Start(ctx, workspace.SessionSpec{ID: id, ComputeType: workspace.ComputeServerless}, workspace.StartOptions{Reporter: rep})
	if err != nil {
		h.t.Fatalf("session start: %v", err)
	}
	if sess.Status != workspace.SessionRunning || sess.ID != id {
		h.t.Errorf("session = %+v", sess)
	}
	if !strings.Contains(strings.Join(events, "\n"), "Succeeded") {
		h.t.Errorf("poll status not reported: %q", events)
	}
	for _, r := range h.srv.Requests() {
		if r.Method == "POST" && strings.Contains(r.Key, "/FlowSessions/") {
			m := jsonMap(string(r.Body))
			if m["action"] != "Install" || m["vmSize"] != nil || m["identity"] != nil {
				h.t.Errorf("session POST body %s", r.Body)
			}
			if r.Header.Get("aml-user-token") == "" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
				h.t.Error("session POST lacks its tokens")
			}
		}
	}
}

// checkPortalLink compares the studio link pfz makes for a run with the one
// the service wrote in a recorded BulkRuns answer.
func (h *harness) checkPortalLink(in *replay.Interaction) {
	var fi flowRunInfo
	if json.Unmarshal(in.RespBody, &fi) != nil || fi.StudioPortalTraceEndpoint == "" || fi.FlowRunID == "" {
		return
	}
	got, want := h.w.portalURL(fi.FlowRunID), fi.StudioPortalTraceEndpoint
	// The recordings' sanitizer left the workspace name of this link alone.
	if i := strings.LastIndex(want, "/workspaces/"); i >= 0 {
		want = want[:i] + "/workspaces/" + h.w.opts.Workspace
	}
	if got != want {
		h.t.Errorf("portal link of %s = %s, the service wrote %s", fi.FlowRunID, got, want)
	}
}

type reporterFunc func(workspace.Event)

func (f reporterFunc) Report(e workspace.Event) { f(e) }

// check compares what pfz sent with the recording.
func (h *harness) check() {
	t := h.t
	for _, r := range h.srv.Unmatched() {
		u, _ := url.Parse(r.URL)
		switch {
		case reTrace.MatchString(u.Path):
			// This recording predates the trace settings call.
		case r.Method == "GET" && reBulkGet.MatchString(u.Path):
			// The portal-link GET after a submit or show; this recording's test did not make it.
		case r.Method == "GET" && strings.Contains(u.Path, "/FlowSessions/"):
		default:
			t.Errorf("pfz sent a request the recording does not have: %s", r.Key)
		}
	}
	used := map[string]bool{}
	for _, in := range h.cas.Interactions {
		if in.Used > 0 {
			used[in.Key] = true
		}
	}
	for _, in := range h.srv.Unused() {
		u, _ := url.Parse(in.URI)
		switch {
		case h.skipped[in] != "":
		case in.Method == "GET" && reChild.MatchString(u.Path) && in.RespBody != nil && string(in.RespBody) == "[]":
			// pfazure's extra empty page: pfz stops at a short page.
		case in.Method == "GET" && reBulkGet.MatchString(u.Path):
			// pfz makes a run's portal link from its name instead of reading
			// BulkRuns; the recorded answer checks that the two agree.
			h.checkPortalLink(in)
		case used[in.Key]:
			// A repeat of a call pfz made (stream polls, datastore lookups
			// pfz does once per process).
		case strings.Contains(u.Host, "visualstudio.com") || strings.Contains(u.Host, "applicationinsights"):
			// Telemetry.
		case strings.Contains(u.Path, "/az-ml-artifacts/"):
			// The legacy location: pfz looks there only when the LocalUpload
			// indicator exists without its confirmation.
		case strings.Contains(u.Path, "/data/") && strings.Contains(u.Path, "/versions/") && in.Method == "GET":
			// Data-asset GET: pfz passes remote data through.
		case strings.Contains(u.Host, ".file.core.windows.net") || strings.HasSuffix(u.Path, "/Flows") || strings.Contains(u.Path, "workspaceworkingdirectory"):
			// pfazure flow create, not a pfz operation.
		case strings.HasSuffix(u.Path, "isDefault=true") || strings.HasSuffix(in.Key, "orderByAsc=false"):
			// pfazure lists the default datastore at start-up; pfz only when it uploads data.
		case in.Method == "GET" && reDatastoreGet.MatchString(u.Path) && h.listedDefault():
			// A3: pfz takes the datastore's description from the default
			// listing (A2) it made, and keeps it in its workspace cache.
		default:
			t.Errorf("pfz did not make recorded call #%d %s", in.Index, in.Key)
		}
	}
	for _, r := range h.srv.Requests() {
		if r.Matched == nil {
			continue
		}
		in := r.Matched
		u, _ := url.Parse(r.URL)
		switch {
		case r.Method == "POST" && reSubmitURL.MatchString(u.Path):
			got, want := jsonMap(string(replay.SanitizeJSON(r.Body))), jsonMap(string(replay.SanitizeJSON([]byte(in.ReqBody))))
			for _, k := range h.c.ignore {
				delete(got, k)
				delete(want, k)
			}
			if !jsonSame(got, want) {
				t.Errorf("submit body differs\n got %s\nwant %s", mustCompact(got), mustCompact(want))
			}
			if r.Header.Get("aml-user-token") == "" {
				t.Error("submit without aml-user-token")
			}
		case r.Method == "PUT" && strings.Contains(u.RawQuery, "comp=metadata"):
			if r.Header.Get("x-ms-meta-upload_status") != "completed" || r.Header.Get("x-ms-meta-version") == "" || r.Header.Get("x-ms-meta-name") == "" {
				t.Errorf("confirmation metadata: %v", r.Header)
			}
			if want := in.ReqHeader["x-ms-meta-version"]; len(want) == 1 && want[0] == "1" && r.Header.Get("x-ms-meta-version") != "1" {
				t.Errorf("snapshot confirmation version = %q, want 1", r.Header.Get("x-ms-meta-version"))
			}
			h.assertConfirmationLast(r)
		case r.Method == "PUT" && strings.Contains(u.Path, "/LocalUpload/"):
			if r.Header.Get("If-None-Match") != "*" || r.Header.Get("x-ms-blob-type") != "BlockBlob" {
				t.Errorf("blob PUT headers: %v", r.Header)
			}
			if len(r.Body) > 0 && r.Header.Get("Content-Md5") == "" {
				t.Error("blob PUT without Content-MD5")
			}
			if !bytes.Equal(r.Body, []byte(in.ReqBody)) {
				t.Errorf("blob PUT body differs: %q vs %q", r.Body, in.ReqBody)
			}
		case in.ReqBody != "" && strings.HasPrefix(strings.TrimSpace(in.ReqBody), "{") && r.Method != "PUT":
			if !jsonSame(jsonMap(string(r.Body)), jsonMap(in.ReqBody)) && !reSubmitURL.MatchString(u.Path) && !strings.Contains(u.Path, "/FlowSessions/") {
				t.Errorf("%s body differs\n got %s\nwant %s", r.Key, r.Body, in.ReqBody)
			}
		}
		if auth := r.Header.Get("Authorization"); strings.Contains(u.Host, "azureml.ms") || strings.Contains(u.Host, "management.azure.com") {
			if !strings.HasPrefix(auth, "Bearer ") {
				t.Errorf("%s without a bearer token", r.Key)
			}
		}
	}
}

// listedDefault says whether pfz made the default-datastore listing (A2).
func (h *harness) listedDefault() bool {
	for _, r := range h.srv.Requests() {
		if r.Method == "GET" && strings.Contains(r.URL, "/datastores?") && strings.Contains(r.URL, "isDefault=true") {
			return true
		}
	}
	return false
}

// assertConfirmationLast: no file PUT of the same asset comes after its
// confirmation.
func (h *harness) assertConfirmationLast(conf *replay.Request) {
	reqs := h.srv.Requests()
	root := conf.Key[:strings.Index(conf.Key, "/LocalUpload/")+len("/LocalUpload/")+36]
	after := false
	for _, r := range reqs {
		if r == conf {
			after = true
			continue
		}
		if after && r.Method == "PUT" && strings.HasPrefix(r.Key, strings.Replace(root, "PUT ", "PUT ", 1)) && !strings.Contains(r.Key, "comp=") {
			h.t.Errorf("file PUT %s after the confirmation", r.Key)
		}
	}
}

func jsonSame(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func mustCompact(m map[string]any) string { b, _ := json.Marshal(m); return string(b) }
