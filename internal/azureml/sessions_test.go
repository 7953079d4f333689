package azureml

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

const sid = "abcdef0123456789abcdef0123456789abcdef0123456789"

func sessionFake(t *testing.T) (*fakeAML, *Workspace, *int) {
	f := newFake(t)
	f.on("GET "+testWS+"/datastores/workspaceworkingdirectory", jsonHandler(200, map[string]any{"name": "workspaceworkingdirectory",
		"properties": map[string]any{"datastoreType": "AzureFile", "accountName": "acct", "fileShareName": "code", "credentials": map[string]any{"credentialsType": "AccountKey"}}}))
	exists := false
	polls := 0
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid, func(w http.ResponseWriter, r *http.Request) {
		if !exists {
			jsonHandler(404, map[string]any{"error": map[string]any{"code": "UserError", "message": "not found"}})(w, r)
			return
		}
		jsonHandler(200, map[string]any{"properties": map[string]any{"sessionId": sid, "vmSize": "Standard_E4s_v3", "maxIdleTimeSeconds": 3600,
			"lastAliveTime": "2024-05-13T08:00:00Z", "application": map[string]any{"image": "mcr/img:1", "pythonPipRequirements": []string{"requests==2.0"}}},
			"compute": map[string]any{"name": "serverless-1", "properties": map[string]any{"provisioningState": "Succeeded", "computeType": "Serverless", "createdOn": "2024-05-13T07:00:00Z"}}})(w, r)
	})
	f.on("POST /flow/api"+testWS+"/FlowSessions/"+sid, func(w http.ResponseWriter, r *http.Request) {
		exists = true
		w.Header().Set("azure-asyncoperation", f.srv.URL+"/flow/api"+testWS+"/FlowSessions/"+sid+"/Install/locations/eastus/operations/op1?api-version=2021-03-01-preview&type=location")
		w.WriteHeader(202)
	})
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid+"/Install/locations/eastus/operations/op1", func(w http.ResponseWriter, r *http.Request) {
		polls++
		if polls < 3 {
			jsonHandler(200, map[string]any{"status": "InProgress"})(w, r)
			return
		}
		jsonHandler(200, map[string]any{"status": "Succeeded"})(w, r)
	})
	f.on("DELETE /flow/api"+testWS+"/FlowSessions/"+sid, func(w http.ResponseWriter, r *http.Request) { exists = false; w.WriteHeader(200) })
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid+"/pipPackages", jsonHandler(200, "promptflow==1.10.0\nrequests==2.0\nnumpy==1.26.4\n"))
	w, _ := f.workspace(t, func(o *Options) { o.ServiceEndpoint = f.srv.URL })
	return f, w, &polls
}

func spec() workspace.SessionSpec {
	return workspace.SessionSpec{ID: sid, FlowDir: "/tmp/flow", UserAlias: "jane.doe", ComputeType: workspace.ComputeServerless, VMSize: "Standard_E4s_v3",
		Image: "mcr/img:1", Requirements: []string{"requests==2.0"}, IdleTime: 30 * time.Minute}
}

func lastBody(t *testing.T, f *fakeAML, key string) map[string]any {
	t.Helper()
	bs := f.bodies[key]
	if len(bs) == 0 {
		t.Fatalf("no %s", key)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(bs[len(bs)-1]), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSessionLifecycle(t *testing.T) {
	f, w, polls := sessionFake(t)
	ctx := context.Background()
	var events []string
	rep := reporterFunc(func(e workspace.Event) { events = append(events, e.Message) })
	s, err := w.Sessions().Start(ctx, spec(), workspace.StartOptions{Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != workspace.SessionRunning || s.VMSize != "Standard_E4s_v3" || s.FlowDir != "/tmp/flow" || s.ExpiresAt == nil || s.Compute != "serverless-1" {
		t.Errorf("session %+v", s)
	}
	if *polls != 3 || !strings.Contains(strings.Join(events, "|"), "InProgress") {
		t.Errorf("polls %d, events %q", *polls, events)
	}
	post := "POST /flow/api" + testWS + "/FlowSessions/" + sid
	b := lastBody(t, f, post)
	if b["action"] != "Install" || b["vmSize"] != "Standard_E4s_v3" || b["maxIdleTimeSeconds"] != float64(1800) || b["baseImage"] != "mcr/img:1" ||
		b["identity"] != nil || len(b["pythonPipRequirements"].([]any)) != 1 {
		t.Errorf("install body %v", b)
	}
	if f.headers[post][0].Get("aml-user-token") == "" {
		t.Error("session POST without aml-user-token")
	}
	// Start again: already running with the same spec, no second POST.
	if _, err := w.Sessions().Start(ctx, spec(), workspace.StartOptions{}); err != nil || f.count(post) != 1 {
		t.Fatalf("restart of a running session posted again: %v", err)
	}
	// Edit: new VM size resets; idle time updates in place.
	vm := "Standard_D4s_v3"
	if _, err := w.Sessions().Edit(ctx, sid, workspace.SessionEdit{VMSize: &vm}, workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, f, post); b["action"] != "Reset" || b["vmSize"] != vm {
		t.Errorf("vm size edit body %v", b)
	}
	idle := 2 * time.Hour
	if _, err := w.Sessions().Edit(ctx, sid, workspace.SessionEdit{IdleTime: &idle}, workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, f, post); b["action"] != "Update" || b["maxIdleTimeSeconds"] != float64(7200) {
		t.Errorf("idle edit body %v", b)
	}
	uai := workspace.Identity{Type: "managed"}
	if _, err := w.Sessions().Edit(ctx, sid, workspace.SessionEdit{Identity: &uai}, workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, f, post); b["action"] != "Update" || !strings.HasSuffix(b["identity"].(string), "/uai1") {
		t.Errorf("identity edit body %v", b)
	}
	if _, err := w.Sessions().Reset(ctx, sid, workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, f, post); b["action"] != "Reset" {
		t.Errorf("reset body %v", b)
	}
	same := spec()
	same.Requirements = []string{"requests==2.0", "numpy"}
	if _, err := w.Sessions().Install(ctx, sid, same, workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, f, post); b["action"] != "Update" || len(b["pythonPipRequirements"].([]any)) != 2 {
		t.Errorf("install body %v", b)
	}
	pk, err := w.Sessions().Packages(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	origins := map[string]string{}
	for _, p := range pk.Packages {
		origins[p.Name] = p.Origin
	}
	if origins["requests"] != "requirements" || origins["numpy"] != "requirements" || origins["promptflow"] != "base" {
		t.Errorf("origins %v", origins)
	}
	list, err := w.Sessions().List(ctx, workspace.SessionFilter{FlowDir: "/tmp/flow"})
	if err != nil || len(list) != 1 || list[0].ID != sid {
		t.Fatalf("list %v %v", list, err)
	}
	if err := w.Sessions().Stop(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if list, _ := w.Sessions().List(ctx, workspace.SessionFilter{}); len(list) != 0 {
		t.Fatalf("stopped session still listed: %v", list)
	}
	if _, err := w.Sessions().Get(ctx, sid); !fault.Is(err, fault.NotFound) {
		t.Fatalf("get after stop: %v", err)
	}
}

func TestSessionNoWaitAndTimeout(t *testing.T) {
	f, w, polls := sessionFake(t)
	ctx := context.Background()
	s, err := w.Sessions().Start(ctx, spec(), workspace.StartOptions{NoWait: true})
	if err != nil || s.Status != workspace.SessionStarting || *polls != 0 {
		t.Fatalf("no-wait: %+v %v polls=%d", s, err, *polls)
	}
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid, jsonHandler(404, map[string]any{}))
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid+"/Install/locations/eastus/operations/op1", jsonHandler(200, map[string]any{"status": "InProgress"}))
	w.sleep = sleepCtx
	_, err = w.Sessions().Start(ctx, spec(), workspace.StartOptions{Timeout: 30 * time.Millisecond})
	if !fault.Is(err, fault.Timeout) || fault.KindOf(err).ExitCode() != 8 || !strings.Contains(fault.HintOf(err), "pfz session show") {
		t.Fatalf("want Timeout (exit 8) with a hint, got %v", err)
	}
}

func TestSessionSetupFailureSaysWhy(t *testing.T) {
	f, w, _ := sessionFake(t)
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid+"/Install/locations/eastus/operations/op1",
		jsonHandler(200, map[string]any{"status": "Failed", "error": map[string]any{"message": `{"error":{"message":"pip install failed: no matching distribution for nope"}}`}}))
	_, err := w.Sessions().Start(context.Background(), spec(), workspace.StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "no matching distribution") || fault.HintOf(err) == "" {
		t.Fatalf("got %v", err)
	}
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	t.Run("hub", func(t *testing.T) {
		f, w, _ := sessionFake(t)
		f.on("GET "+testWS, jsonHandler(200, map[string]any{"name": "ws", "kind": "Hub", "location": "eastus", "properties": map[string]any{"discoveryUrl": "https://x/discovery"}}))
		err := w.preflight(ctx, spec())
		if !fault.Is(err, fault.Validation) || !strings.Contains(fault.HintOf(err), "project") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("default datastore not blob", func(t *testing.T) {
		f, w, _ := sessionFake(t)
		f.on("GET "+testWS+"/datastores", jsonHandler(200, map[string]any{"value": []any{map[string]any{"name": "files", "properties": map[string]any{"datastoreType": "AzureFile"}}}}))
		if err := w.preflight(ctx, spec()); !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "blob") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no working directory", func(t *testing.T) {
		f, w, _ := sessionFake(t)
		f.on("GET "+testWS+"/datastores/workspaceworkingdirectory", jsonHandler(404, map[string]any{"error": map[string]any{"code": "NotFound"}}))
		if err := w.preflight(ctx, spec()); !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "workspaceworkingdirectory") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("quota", func(t *testing.T) {
		f, w, _ := sessionFake(t)
		loc := "/subscriptions/sub/providers/Microsoft.MachineLearningServices/locations/eastus"
		f.on("GET "+loc+"/vmSizes", jsonHandler(200, map[string]any{"value": []any{map[string]any{"name": "Standard_E4s_v3", "family": "standardESv3Family", "vCPUs": 4}}}))
		f.on("GET "+loc+"/usages", jsonHandler(200, map[string]any{"value": []any{map[string]any{"name": map[string]any{"value": "standardESv3Family"}, "currentValue": 22, "limit": 24}}}))
		err := w.preflight(ctx, spec())
		if !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "no quota") || !strings.Contains(fault.HintOf(err), "quota") {
			t.Fatalf("got %v", err)
		}
		f.on("GET "+loc+"/usages", jsonHandler(403, map[string]any{}))
		if err := w.preflight(ctx, spec()); err != nil {
			t.Fatalf("unreadable quota must not block: %v", err)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		f, w, _ := sessionFake(t)
		f.on("GET "+testWS+"/datastores", jsonHandler(403, map[string]any{"error": map[string]any{"code": "AuthorizationFailed"}}))
		err := w.preflight(ctx, spec())
		if !fault.Is(err, fault.Auth) || !strings.Contains(fault.HintOf(err), "AzureML Data Scientist") {
			t.Fatalf("got %v", err)
		}
	})
}

func FuzzParsePipPackages(f *testing.F) {
	f.Add([]byte(`"promptflow==1.0\nrequests @ file:///x\n# c\n"`), "requests>=2 # pinned")
	f.Add([]byte(`[{"name":"a","version":"1"}]`), "-i https://{private}@feed")
	f.Add([]byte(`not json`), "")
	f.Fuzz(func(t *testing.T, body []byte, req string) {
		pl := parsePipPackages("s", body, []string{req})
		for _, p := range pl.Packages {
			if p.Origin != workspace.OriginBase && p.Origin != workspace.OriginRequirements {
				t.Fatalf("origin %q", p.Origin)
			}
		}
		_ = requirementName(req)
	})
}
