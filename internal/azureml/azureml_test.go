package azureml

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

const testWS = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"

// fakeAML is a tiny programmable service: handlers by "METHOD path-suffix",
// every request logged.
type fakeAML struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	log      []string
	bodies   map[string][]string
	headers  map[string][]http.Header
	handlers map[string]http.HandlerFunc
	blobs    map[string][]byte
	meta     map[string]map[string]string
}

func newFake(t *testing.T) *fakeAML {
	f := &fakeAML{t: t, handlers: map[string]http.HandlerFunc{}, bodies: map[string][]string{}, headers: map[string][]http.Header{},
		blobs: map[string][]byte{}, meta: map[string]map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.on("GET "+testWS, jsonHandler(200, map[string]any{"id": testWS, "name": "ws", "location": "eastus", "kind": "Default",
		"identity": map[string]any{"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": map[string]any{
			"/subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai1": map[string]any{"principalId": "p1", "clientId": "cid-1"},
		}},
		"properties": map[string]any{"discoveryUrl": f.srv.URL + "/discovery", "workspaceId": "wsid",
			"primaryUserAssignedIdentity": "/subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai1"}}))
	ds := map[string]any{"name": "workspaceblobstore", "properties": map[string]any{"datastoreType": "AzureBlob", "accountName": "acct",
		"containerName": "ctr", "endpoint": "core.windows.net", "protocol": "https", "isDefault": true, "credentials": map[string]any{"credentialsType": "AccountKey"}}}
	f.on("GET "+testWS+"/datastores", jsonHandler(200, map[string]any{"value": []any{ds}}))
	f.on("GET "+testWS+"/datastores/workspaceblobstore", jsonHandler(200, ds))
	f.on("POST "+testWS+"/datastores/workspaceblobstore/listSecrets", jsonHandler(200, map[string]any{"secretsType": "AccountKey", "key": "c2VjcmV0LWFjY291bnQta2V5"}))
	f.on("GET /flow/api"+testWS+"/TraceSessions", jsonHandler(200, map[string]any{"traceCosmosConfiguration": "None"}))
	return f
}

func jsonHandler(status int, v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v) // an error: the client went away
	}
}

func (f *fakeAML) on(key string, h http.HandlerFunc) { f.mu.Lock(); f.handlers[key] = h; f.mu.Unlock() }

func (f *fakeAML) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.log {
		if l == key {
			n++
		}
	}
	return n
}

func (f *fakeAML) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.log = append(f.log, key)
	f.bodies[key] = append(f.bodies[key], string(body))
	f.headers[key] = append(f.headers[key], r.Header.Clone())
	h := f.handlers[key]
	f.mu.Unlock()
	if h != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/blob/") {
		f.blob(w, r, body)
		return
	}
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, `{"error":{"code":"UserError","message":"no handler for %s"}}`, key)
}

// blob is a minimal in-memory Blob service: HEAD, PUT (If-None-Match),
// PUT ?comp=metadata.
func (f *fakeAML) blob(w http.ResponseWriter, r *http.Request, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.URL.Path
	switch {
	case r.Method == "HEAD":
		if _, ok := f.blobs[name]; !ok {
			w.Header().Set("x-ms-error-code", "BlobNotFound")
			w.WriteHeader(404)
			return
		}
		for k, v := range f.meta[name] {
			w.Header().Set("x-ms-meta-"+k, v)
		}
		w.WriteHeader(200)
	case r.Method == "PUT" && r.URL.Query().Get("comp") == "metadata":
		if _, ok := f.blobs[name]; !ok {
			w.WriteHeader(404)
			return
		}
		m := map[string]string{}
		for k := range r.Header {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-meta-") {
				m[strings.TrimPrefix(lk, "x-ms-meta-")] = r.Header.Get(k)
			}
		}
		f.meta[name] = m
		w.WriteHeader(200)
	case r.Method == "PUT":
		if _, ok := f.blobs[name]; ok && r.Header.Get("If-None-Match") == "*" {
			w.Header().Set("x-ms-error-code", "BlobAlreadyExists")
			w.WriteHeader(409)
			return
		}
		f.blobs[name] = body
		w.WriteHeader(201)
	default:
		w.WriteHeader(400)
	}
}

func (f *fakeAML) workspace(t *testing.T, mut ...func(*Options)) (*Workspace, *fakeCred) {
	cred := &fakeCred{}
	o := Options{Subscription: "sub", ResourceGroup: "rg", Workspace: "ws", Credential: cred, ARMEndpoint: f.srv.URL,
		BlobEndpoint: f.srv.URL + "/blob/{account}", HTTPClient: f.srv.Client(), CacheDir: t.TempDir(), PollInterval: time.Millisecond}
	for _, m := range mut {
		m(&o)
	}
	w, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	w.c.sleep = noSleep
	w.sleep = noSleep
	return w, cred
}

func TestNewNeedsWorkspaceAndCredential(t *testing.T) {
	_, err := New(context.Background(), Options{Credential: &fakeCred{}})
	if !fault.Is(err, fault.Usage) || !strings.Contains(err.Error(), "subscription, resource group, workspace") {
		t.Fatalf("got %v", err)
	}
	_, err = New(context.Background(), Options{Subscription: "s", ResourceGroup: "r", Workspace: "w"})
	if !fault.Is(err, fault.Auth) {
		t.Fatalf("got %v", err)
	}
	_, err = New(context.Background(), Options{Subscription: "s", ResourceGroup: "r", Workspace: "w", Credential: &fakeCred{}, Cloud: "Mars"})
	if !fault.Is(err, fault.Usage) {
		t.Fatalf("got %v", err)
	}
}

func TestClouds(t *testing.T) {
	for name, want := range map[string][3]string{
		"AzureCloud":        {"https://management.azure.com", "https://ml.azure.com", "core.windows.net"},
		"AzureChinaCloud":   {"https://management.chinacloudapi.cn", "https://ml.azure.cn", "core.chinacloudapi.cn"},
		"AzureUSGovernment": {"https://management.usgovcloudapi.net", "https://ml.azure.us", "core.usgovcloudapi.net"},
	} {
		c, err := CloudByName(name)
		if err != nil || c.ARM != want[0] || c.MLAudience != want[1] || c.StorageSuffix != want[2] || c.Authority == "" {
			t.Errorf("%s: %+v %v", name, c, err)
		}
	}
}

func TestWorkspaceCachedOnDisk(t *testing.T) {
	f := newFake(t)
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		w, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir })
		info, err := w.workspaceInfo(context.Background())
		if err != nil || info.Location != "eastus" || info.WorkspaceID != "wsid" {
			t.Fatalf("%+v %v", info, err)
		}
	}
	if n := f.count("GET " + testWS); n != 1 {
		t.Fatalf("workspace GET made %d times; the second command must read the cache", n)
	}
	// Past the TTL the workspace is looked up again.
	w, _ := f.workspace(t, func(o *Options) { o.CacheDir = dir; o.Now = func() time.Time { return time.Now().Add(time.Hour) } })
	if _, err := w.workspaceInfo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET " + testWS); n != 2 {
		t.Fatalf("stale cache not refreshed: %d GETs", n)
	}
}

func TestServiceBaseFromDiscoveryURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://eastus.api.azureml.ms/discovery":            "https://eastus.api.azureml.ms/",
		"https://x.api.azureml.ms/discovery/workspaces/guid": "https://x.api.azureml.ms/",
		"https://h/discovery/":                               "https://h/",
	} {
		got, err := (&wsInfo{DiscoveryURL: in}).serviceBase()
		if err != nil || got != want {
			t.Errorf("%s → %q %v", in, got, err)
		}
	}
}

func TestRetriesHonourRetryAfterAndNever500OnPOST(t *testing.T) {
	f := newFake(t)
	n := 0
	f.on("GET /flow/api"+testWS+"/BulkRuns/r1/logContent", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
			return
		}
		if n == 2 {
			w.WriteHeader(429)
			return
		}
		jsonHandler(200, "log text")(w, r)
	})
	w, _ := f.workspace(t, func(o *Options) { o.ServiceEndpoint = f.srv.URL })
	var slept []time.Duration
	w.c.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	s, err := w.Runs().Logs(context.Background(), "r1")
	if err != nil || s != "log text" {
		t.Fatalf("%q %v", s, err)
	}
	if len(slept) != 2 || slept[0] != 7*time.Second {
		t.Fatalf("slept %v; Retry-After: 7 must be honoured", slept)
	}
	f.on("POST /flow/api"+testWS+"/BulkRuns/r1/cancel", jsonHandler(500, map[string]any{"error": map[string]any{"code": "ServiceError", "message": "boom"}}))
	err = w.Runs().Cancel(context.Background(), "r1")
	if err == nil || f.count("POST /flow/api"+testWS+"/BulkRuns/r1/cancel") != 1 {
		t.Fatalf("a 500 on POST must not be retried: %v, %d calls", err, f.count("POST /flow/api"+testWS+"/BulkRuns/r1/cancel"))
	}
	if !strings.Contains(fault.HintOf(err), "try again") {
		t.Errorf("hint: %q", fault.HintOf(err))
	}
}

// TestHugeRetryAfterIsNotWaitedFor: a Retry-After above the policy's cap
// fails the call at once, saying how long the service asked for; before,
// a 429 with Retry-After: 100000 on submit slept 27 hours.
func TestHugeRetryAfterIsNotWaitedFor(t *testing.T) {
	f := newFake(t)
	f.on("GET /flow/api"+testWS+"/BulkRuns/r1/logContent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "100000")
		w.WriteHeader(429)
	})
	w, _ := f.workspace(t, func(o *Options) { o.ServiceEndpoint = f.srv.URL })
	var slept []time.Duration
	w.c.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	_, err := w.Runs().Logs(context.Background(), "r1")
	if err == nil || !strings.Contains(err.Error(), "asked to retry after 27h46m40s, longer than pfz waits (1m0s)") {
		t.Fatalf("got %v", err)
	}
	if len(slept) != 0 || f.count("GET /flow/api"+testWS+"/BulkRuns/r1/logContent") != 1 {
		t.Fatalf("slept %v, %d calls", slept, f.count("GET /flow/api"+testWS+"/BulkRuns/r1/logContent"))
	}
}

func TestUnauthorizedReacquiresTokenOnce(t *testing.T) {
	f := newFake(t)
	var auths []string
	f.on("GET /flow/api"+testWS+"/BulkRuns/r1/logContent", func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		if len(auths) == 1 {
			w.WriteHeader(401)
			return
		}
		jsonHandler(200, "ok")(w, r)
	})
	w, cred := f.workspace(t, func(o *Options) { o.ServiceEndpoint = f.srv.URL })
	if _, err := w.Runs().Logs(context.Background(), "r1"); err != nil {
		t.Fatal(err)
	}
	if len(auths) != 2 || auths[0] == auths[1] || len(cred.invalid) == 0 {
		t.Fatalf("401 must invalidate and re-acquire: %d calls, invalidated %v", len(auths), cred.invalid)
	}
	f.on("GET /flow/api"+testWS+"/BulkRuns/r2/logContent", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })
	_, err := w.Runs().Logs(context.Background(), "r2")
	if !fault.Is(err, fault.Auth) || f.count("GET /flow/api"+testWS+"/BulkRuns/r2/logContent") != 2 {
		t.Fatalf("second 401 must fail as Auth after one retry: %v", err)
	}
}

func TestForbiddenNamesRoleAndPrincipal(t *testing.T) {
	f := newFake(t)
	f.on("POST /history/v1.0"+testWS+"/rundata", jsonHandler(403, map[string]any{"error": map[string]any{"code": "AuthorizationFailed", "message": "no"}}))
	w, _ := f.workspace(t, func(o *Options) { o.ServiceEndpoint = f.srv.URL })
	_, err := w.Runs().Get(context.Background(), "r1")
	if fault.KindOf(err) != fault.Auth || fault.KindOf(err).ExitCode() != 4 {
		t.Fatalf("want Auth (exit 4), got %v", err)
	}
	hint := fault.HintOf(err)
	if !strings.Contains(hint, "AzureML Data Scientist") || !strings.Contains(hint, "jane.doe@contoso.com") || !strings.Contains(hint, "ws") {
		t.Fatalf("hint %q must name the role, the principal and the workspace", hint)
	}
}

func submission(t *testing.T) *workspace.Submission {
	dir := t.TempDir()
	flow := filepath.Join(dir, "my_flow")
	if err := os.MkdirAll(filepath.Join(flow, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"flow.dag.yaml": "inputs: {}\n", "a.py": "print(1)\n", "sub/b.txt": "b"}
	var refs []workspace.FileRef
	for rel, c := range files {
		p := filepath.Join(flow, filepath.FromSlash(rel))
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, workspace.FileRef{Rel: rel, Abs: p, Size: int64(len(c))})
	}
	data := filepath.Join(dir, "data.jsonl")
	if err := os.WriteFile(data, []byte(`{"x":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &workspace.Submission{Name: "run1", Flow: filepath.Join(flow, "flow.dag.yaml"), ExperimentName: "my_flow",
		Snapshot:      &workspace.Snapshot{Root: flow, Folder: "my_flow", FlowFile: "flow.dag.yaml", Hash: "0123456789abcdef0123456789abcdef", Files: refs},
		Data:          &workspace.Data{Local: data, Hash: "fedcba9876543210fedcba9876543210"},
		ColumnMapping: map[string]any{"x": "${data.x}", "obj": map[string]any{"a": 1, "b": []any{"é"}}},
		Identity:      workspace.Identity{Type: "managed", ClientID: "cid-1"},
		Resources:     workspace.Resources{InstanceType: "Standard_D2", MaxIdleTimeSeconds: 1800},
		Session:       workspace.SessionSpec{ID: "s1", LineageID: "l1"}}
}

func TestSubmitUploadsThenSubmits(t *testing.T) {
	f := newFake(t)
	f.on("POST /flow/api"+testWS+"/BulkRuns/submit", jsonHandler(200, "run1"))
	f.on("POST /history/v1.0"+testWS+"/rundata", jsonHandler(200, map[string]any{"runMetadata": map[string]any{"runId": "run1", "status": "NotStarted",
		"properties": map[string]any{"azureml.promptflow.session_id": "s1", "azureml.promptflow.input_data": "d", "other": "x"}}}))
	w, _ := f.workspace(t)
	var events []workspace.Event
	var mu sync.Mutex
	rep := reporterFunc(func(e workspace.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	run, err := w.Runs().Submit(context.Background(), submission(t), rep)
	if err != nil {
		t.Fatal(err)
	}
	// The run is printed from what was submitted: no read-back.
	if run.Status != "NotStarted" || run.SessionID != "s1" || run.Data != "azureml://datastores/workspaceblobstore/paths/LocalUpload/fedcba9876543210fedcba9876543210/data.jsonl" ||
		run.Properties["azureml.promptflow.session_id"] != "s1" || run.Properties["azureml.promptflow.definition_file_name"] != "flow.dag.yaml" ||
		run.PortalURL != "https://ml.azure.com/prompts/trace/run/run1?wsid="+strings.Replace(testWS, "resourceGroups", "resourcegroups", 1) || run.CreationContext["upn"] != "jane.doe@contoso.com" || run.CreatedOn == nil {
		t.Errorf("run = %+v", run)
	}
	if n := f.count("POST /history/v1.0" + testWS + "/rundata"); n != 0 {
		t.Errorf("run create read the run back (%d rundata calls)", n)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(f.bodies["POST /flow/api"+testWS+"/BulkRuns/submit"][0]), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"flowDefinitionDataStoreName": "workspaceblobstore", "flowDefinitionBlobPath": "LocalUpload/0123456789abcdef0123456789abcdef/my_flow/flow.dag.yaml",
		"runId": "run1", "runDisplayName": "run1", "runExperimentName": "my_flow", "sessionId": "s1", "sessionSetupMode": "SystemWait",
		"flowLineageId": "l1", "runDisplayNameGenerationType": "UserProvidedMacro", "runtimeName": "automatic", "vmSize": "Standard_D2",
		"maxIdleTimeSeconds": float64(1800), "disableTrace": false,
		"identity":       "/subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai1",
		"batchDataInput": map[string]any{"dataUri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/fedcba9876543210fedcba9876543210/data.jsonl"},
		"inputsMapping":  map[string]any{"x": "${data.x}", "obj": `{"a": 1, "b": ["\u00e9"]}`}, "environmentVariables": map[string]any{}, "connections": map[string]any{},
	}
	for k, v := range want {
		if fmt.Sprint(body[k]) != fmt.Sprint(v) {
			t.Errorf("submit %s = %v, want %v", k, body[k], v)
		}
	}
	for k := range body {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected submit field %s", k)
		}
	}
	h := f.headers["POST /flow/api"+testWS+"/BulkRuns/submit"][0]
	if h.Get("aml-user-token") == "" || strings.HasPrefix(h.Get("aml-user-token"), "Bearer") || h.Get("x-ms-client-request-id") == "" {
		t.Errorf("submit headers %v", h)
	}
	// Uploads: If-None-Match on every file, confirmation last.
	puts := 0
	for i, k := range f.log {
		if strings.HasPrefix(k, "PUT /blob/acct/ctr/LocalUpload/") {
			puts++
			if hs := f.headers[k]; hs[0].Get("If-None-Match") != "*" && !strings.Contains(k, "comp") {
				t.Errorf("PUT %s without If-None-Match", k)
			}
			_ = i
		}
	}
	if m := f.meta["/blob/acct/ctr/LocalUpload/0123456789abcdef0123456789abcdef/my_flow/a.py"]; m["upload_status"] != "completed" || m["version"] != "1" {
		t.Errorf("snapshot indicator (first file) metadata = %v", m)
	}
	if m := f.meta["/blob/acct/ctr/LocalUpload/fedcba9876543210fedcba9876543210/data.jsonl"]; m["upload_status"] != "completed" || m["version"] == "1" || m["name"] == "" {
		t.Errorf("data metadata = %v", m)
	}
	last := events[len(events)-1]
	_ = last
	sawBytes := false
	for _, e := range events {
		if e.Kind == workspace.EventBytes && e.Total > 0 && e.Done == e.Total {
			sawBytes = true
		}
	}
	if !sawBytes {
		t.Error("no byte progress reached its total")
	}

	// The same submit again: one HEAD per asset, nothing uploaded.
	before := len(f.log)
	if _, err := w.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	heads, putsAgain := 0, 0
	for _, k := range f.log[before:] {
		if strings.HasPrefix(k, "HEAD /blob/") {
			heads++
		}
		if strings.HasPrefix(k, "PUT /blob/") {
			putsAgain++
		}
	}
	if heads != 2 || putsAgain != 0 {
		t.Fatalf("unchanged snapshot and data: %d HEADs, %d PUTs; want 2 and 0", heads, putsAgain)
	}
}

func TestCancelledUploadIsNeverConfirmed(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := submission(t)
	block := make(chan struct{})
	f.on("PUT /blob/acct/ctr/LocalUpload/0123456789abcdef0123456789abcdef/my_flow/sub/b.txt", func(w http.ResponseWriter, r *http.Request) {
		cancel() // Ctrl-C while a file is in flight
		close(block)
		w.WriteHeader(503)
	})
	w, _ := f.workspace(t)
	sub.Data = &workspace.Data{Remote: "azureml:d:1"}
	_, err := w.Runs().Submit(ctx, sub, nil)
	if !fault.Is(err, fault.Interrupted) {
		t.Fatalf("a cancelled upload must fail as Interrupted, got %v", err)
	}
	<-block
	// Other PUTs may still be in flight: read the log under the fake's lock.
	f.mu.Lock()
	logged := append([]string(nil), f.log...)
	confirmed := f.meta["/blob/acct/ctr/LocalUpload/0123456789abcdef0123456789abcdef/my_flow/a.py"] != nil
	f.mu.Unlock()
	for _, k := range logged {
		if strings.Contains(k, "comp=metadata") || confirmed {
			t.Fatalf("upload marked complete after cancel: %v", logged)
		}
	}
	if f.count("POST /flow/api"+testWS+"/BulkRuns/submit") != 0 {
		t.Fatal("submitted after a cancelled upload")
	}
}

func TestPartialUploadIsRedone(t *testing.T) {
	f := newFake(t)
	f.on("POST /flow/api"+testWS+"/BulkRuns/submit", jsonHandler(200, "run1"))
	f.on("POST /history/v1.0"+testWS+"/rundata", jsonHandler(200, map[string]any{"runMetadata": map[string]any{"runId": "run1", "status": "NotStarted"}}))
	// An earlier upload put the indicator but never confirmed it.
	f.blobs["/blob/acct/ctr/LocalUpload/0123456789abcdef0123456789abcdef/my_flow/a.py"] = []byte("old")
	w, _ := f.workspace(t)
	sub := submission(t)
	sub.Data = &workspace.Data{Remote: "azureml:d:1"}
	if _, err := w.Runs().Submit(context.Background(), sub, nil); err != nil {
		t.Fatal(err)
	}
	if got := string(f.blobs["/blob/acct/ctr/LocalUpload/0123456789abcdef0123456789abcdef/my_flow/a.py"]); got != "print(1)\n" {
		t.Fatalf("partial upload not overwritten: %q", got)
	}
	if f.count("HEAD /blob/acct/ctr/az-ml-artifacts/0123456789abcdef0123456789abcdef/my_flow/a.py") != 1 {
		t.Error("the legacy location is checked for an unconfirmed indicator")
	}
}

func TestSubmit500NeverMakesTwoRuns(t *testing.T) {
	tests := []struct {
		name        string
		created     bool // the failed submit did create the run
		wantSubmits int
	}{
		{"created despite 500", true, 1},
		{"not created", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			submits := 0
			f.on("POST /flow/api"+testWS+"/BulkRuns/submit", func(w http.ResponseWriter, r *http.Request) {
				submits++
				if submits == 1 {
					w.WriteHeader(500)
					return
				}
				jsonHandler(200, "run1")(w, r)
			})
			f.on("POST /history/v1.0"+testWS+"/rundata", func(w http.ResponseWriter, r *http.Request) {
				if !tt.created && submits < 2 {
					jsonHandler(404, map[string]any{"error": map[string]any{"code": "UserError", "message": "Run run1 was not found"}})(w, r)
					return
				}
				jsonHandler(200, map[string]any{"runMetadata": map[string]any{"runId": "run1", "status": "NotStarted"}})(w, r)
			})
			w, _ := f.workspace(t)
			sub := submission(t)
			sub.Identity = workspace.Identity{}
			if _, err := w.Runs().Submit(context.Background(), sub, nil); err != nil {
				t.Fatal(err)
			}
			if submits != tt.wantSubmits {
				t.Fatalf("submits = %d, want %d", submits, tt.wantSubmits)
			}
		})
	}
}

func TestResolveIdentity(t *testing.T) {
	f := newFake(t)
	w, _ := f.workspace(t)
	ctx := context.Background()
	uai := "/subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai1"
	for _, tt := range []struct {
		id   workspace.Identity
		want string
		kind fault.Kind
	}{
		{workspace.Identity{}, "", -1},
		{workspace.Identity{Type: "user_identity"}, "", -1},
		{workspace.Identity{Type: "managed"}, uai, -1},
		{workspace.Identity{Type: "managed", ClientID: "CID-1"}, uai, -1},
		{workspace.Identity{Type: "managed", ClientID: "nope"}, "", fault.Validation},
		{workspace.Identity{Type: "robot"}, "", fault.Validation},
	} {
		got, err := w.resolveIdentity(ctx, tt.id)
		if tt.kind >= 0 {
			if !fault.Is(err, tt.kind) || fault.HintOf(err) == "" {
				t.Errorf("%+v: want %v with hint, got %v", tt.id, tt.kind, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v → %q %v", tt.id, got, err)
		}
	}
	f.on("GET "+testWS, jsonHandler(200, map[string]any{"name": "ws", "properties": map[string]any{"discoveryUrl": "https://x/discovery"}}))
	w2, _ := f.workspace(t)
	if _, err := w2.resolveIdentity(ctx, workspace.Identity{Type: "managed"}); !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "primary user assigned identity") {
		t.Errorf("no primary UAI: %v", err)
	}
}

func TestDebugLogRedactsSecrets(t *testing.T) {
	f := newFake(t)
	f.on("POST /flow/api"+testWS+"/BulkRuns/submit", jsonHandler(200, "run1"))
	f.on("POST /history/v1.0"+testWS+"/rundata", jsonHandler(200, map[string]any{"runMetadata": map[string]any{"runId": "run1", "status": "NotStarted"}}))
	var buf bytes.Buffer
	w, _ := f.workspace(t, func(o *Options) { o.Debug = &buf })
	if _, err := w.Runs().Submit(context.Background(), submission(t), nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "BulkRuns/submit") {
		t.Fatal("debug log is empty")
	}
	for _, secret := range []string{"c2VjcmV0LWFjY291bnQta2V5", "eyJhbGciOiJub25lIn0"} {
		if strings.Contains(out, secret) {
			t.Errorf("debug log leaks %s", secret)
		}
	}
	if strings.Contains(strings.ToLower(out), "sharedkey acct:") {
		t.Error("debug log leaks the SharedKey signature")
	}
}

func TestRedactText(t *testing.T) {
	in := `{"key": "abc==", "sasToken": "sv=1&sig=xyz"} https://a/b?sv=1&sig=SECRET&se=2 Bearer eyJa.eyJb.c AccountKey=K;`
	out := redactText(in)
	for _, s := range []string{"abc==", "SECRET", "eyJa.eyJb", "AccountKey=K"} {
		if strings.Contains(out, s) {
			t.Errorf("%q survives in %s", s, out)
		}
	}
}

func TestListPagesPast100(t *testing.T) {
	f := newFake(t)
	var sizes []float64
	f.on("POST /index/v1.0"+testWS+"/entities", func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		json.NewDecoder(r.Body).Decode(&b)
		sizes = append(sizes, b["pageSize"].(float64))
		n := int(b["pageSize"].(float64))
		var vals []any
		for i := 0; i < n; i++ {
			vals = append(vals, map[string]any{"annotations": map[string]any{"status": "Completed"}, "properties": map[string]any{"runId": fmt.Sprintf("r%d", len(sizes)*1000+i)}})
		}
		jsonHandler(200, map[string]any{"value": vals, "continuationToken": "next"})(w, r)
	})
	w, _ := f.workspace(t, func(o *Options) { o.ServiceEndpoint = f.srv.URL })
	runs, err := w.Runs().List(context.Background(), workspace.ListOptions{MaxResults: 130})
	if err != nil || len(runs) != 130 {
		t.Fatalf("%d runs, %v", len(runs), err)
	}
	if fmt.Sprint(sizes) != "[100 30]" {
		t.Fatalf("page sizes %v", sizes)
	}
}

func TestVisualize(t *testing.T) {
	f := newFake(t)
	w, _ := f.workspace(t)
	u, err := w.Runs().Visualize(context.Background(), []string{"a", "b"})
	if err != nil || u != "https://ml.azure.com/prompts/flow/bulkrun/runs/outputs?wsid="+testWS+"&runId=a,b" {
		t.Fatalf("%s %v", u, err)
	}
	if f.count("GET "+testWS) != 0 {
		t.Error("visualize needs no service call")
	}
}

func TestPyJSON(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{map[string]any{"b": 1, "a": []any{true, nil, 1.5, "x\"y"}}, `{"a": [true, null, 1.5, "x\"y"], "b": 1}`},
		{"plain", "plain"},
		{2.0, "2.0"},
		// Python's str() of a float (pfazure sends str(value) in inputsMapping).
		{1234567.5, "1234567.5"},
		{1e16, "1e+16"},
		{1.5e-07, "1.5e-07"},
		{0.0001, "0.0001"},
		{math.NaN(), "nan"},
		{math.Inf(-1), "-inf"},
		{true, "True"},
		{map[string]any{"k": "é€😀"}, `{"k": "\u00e9\u20ac\ud83d\ude00"}`},
	} {
		if got := pyStr(tt.v); got != tt.want {
			t.Errorf("pyStr(%v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}
