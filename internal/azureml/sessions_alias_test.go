package azureml

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// sid2 is the id the flow of spec() gets once its requirements change.
const sid2 = "0123456789abcdef0123456789abcdef0123456789abcdef"

func nextSpec() workspace.SessionSpec {
	next := spec()
	next.ID = sid2
	next.EnvHash = "hash2"
	next.Requirements = []string{"requests==2.0", "numpy"}
	// What the command builds: no settings of its own beyond the defaults.
	next.VMSize, next.IdleTime = "", 0
	return next
}

func TestInstallFilesTheServiceSessionUnderTheNewID(t *testing.T) {
	f, w, _ := sessionFake(t)
	ctx := context.Background()
	if _, err := w.Sessions().Start(ctx, spec(), workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	var events []string
	rep := reporterFunc(func(e workspace.Event) { events = append(events, e.Message) })
	got, err := w.Sessions().Install(ctx, sid, nextSpec(), workspace.StartOptions{Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	// The running service session is updated in place; nothing is started for sid2.
	post := "POST /flow/api" + testWS + "/FlowSessions/" + sid
	b := lastBody(t, f, post)
	if f.count(post) != 2 || b["action"] != "Update" || len(b["pythonPipRequirements"].([]any)) != 2 ||
		b["vmSize"] != "Standard_E4s_v3" || b["maxIdleTimeSeconds"] != float64(1800) {
		t.Errorf("%d POSTs, last body %v", f.count(post), b)
	}
	if n := f.count("POST /flow/api" + testWS + "/FlowSessions/" + sid2); n != 0 {
		t.Errorf("%d POSTs to the new id", n)
	}
	if got.ID != sid2 || !strings.Contains(got.Message, "service session "+sid) {
		t.Errorf("Install returned %s %q", got.ID, got.Message)
	}
	if !strings.Contains(strings.Join(events, "\n"), "Session "+sid+" is now "+sid2) {
		t.Errorf("events %q", events)
	}

	// show resolves the alias: the flow's id, the service session's state.
	show, err := w.Sessions().Get(ctx, sid2)
	if err != nil {
		t.Fatal(err)
	}
	if show.ID != sid2 || show.Status != workspace.SessionRunning || show.FlowDir != "/tmp/flow" || show.Compute != "serverless-1" ||
		!strings.Contains(show.Message, "pfazure") {
		t.Errorf("show %+v", show)
	}
	if rec, _ := w.record(sid2); rec == nil || rec.ServiceID != sid || rec.Spec.EnvHash != "hash2" || rec.Spec.VMSize != "Standard_E4s_v3" || rec.IdleSeconds != 1800 {
		t.Errorf("record %+v", rec)
	}
	if rec, _ := w.record(sid); rec != nil {
		t.Errorf("the old id kept a record: %+v", rec)
	}
	list, err := w.Sessions().List(ctx, workspace.SessionFilter{FlowDir: "/tmp/flow"})
	if err != nil || len(list) != 1 || list[0].ID != sid2 {
		t.Fatalf("list %+v %v", list, err)
	}
	pk, err := w.Sessions().Packages(ctx, sid2)
	if err != nil {
		t.Fatal(err)
	}
	origins := map[string]string{}
	for _, p := range pk.Packages {
		origins[p.Name] = p.Origin
	}
	if pk.SessionID != sid2 || origins["numpy"] != workspace.OriginRequirements {
		t.Errorf("packages %s %v", pk.SessionID, origins)
	}

	// A start of the flow (session start, or run create's) finds it running.
	if s, err := w.Sessions().Start(ctx, nextSpec(), workspace.StartOptions{}); err != nil || s.ID != sid2 || f.count(post) != 2 {
		t.Errorf("start after install: %+v %v (%d POSTs)", s, err, f.count(post))
	}

	// run create submits to the service session that has the packages.
	sub := &workspace.Submission{Name: "r1", Flow: "/tmp/flow/flow.dag.yaml", Session: nextSpec(),
		Snapshot: &workspace.Snapshot{Root: "/tmp/flow", Folder: "flow", FlowFile: "flow.dag.yaml"}}
	req, err := w.buildSubmit(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if req.SessionID != sid || req.FlowLineageID != sub.Session.LineageID {
		t.Errorf("submit sessionId %q, want the service session %s", req.SessionID, sid)
	}
	other := *sub
	other.Session.ID = "ffff"
	if req, _ := w.buildSubmit(ctx, &other); req.SessionID != "ffff" {
		t.Errorf("a session without an alias submitted as %q", req.SessionID)
	}

	// stop deletes the service session and the alias.
	if err := w.Sessions().Stop(ctx, sid2); err != nil {
		t.Fatal(err)
	}
	if n := f.count("DELETE /flow/api" + testWS + "/FlowSessions/" + sid); n != 1 {
		t.Errorf("%d DELETEs of the service session", n)
	}
	if _, err := w.Sessions().Get(ctx, sid2); !fault.Is(err, fault.NotFound) {
		t.Errorf("get after stop: %v", err)
	}
	if w.serviceID(sid2) != sid2 {
		t.Error("the alias outlived the stop")
	}
}

func TestAliasOfAGoneServiceSessionIsForgotten(t *testing.T) {
	f, w, _ := sessionFake(t)
	ctx := context.Background()
	if _, err := w.Sessions().Start(ctx, spec(), workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sessions().Install(ctx, sid, nextSpec(), workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	// The service deleted it after its idle time.
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid, jsonHandler(404, map[string]any{"error": map[string]any{"code": "UserError"}}))
	asked := f.count("GET /flow/api" + testWS + "/FlowSessions/" + sid2)
	if _, err := w.Sessions().Get(ctx, sid2); !fault.Is(err, fault.NotFound) {
		t.Fatalf("get: %v", err)
	}
	if n := f.count("GET /flow/api"+testWS+"/FlowSessions/"+sid2) - asked; n != 1 {
		t.Errorf("the new id itself was asked %d times, want 1", n)
	}
	if w.serviceID(sid2) != sid2 {
		t.Error("the alias of a gone session stayed")
	}
	// A submit now lets the service start sid2, as pfazure would.
	sub := &workspace.Submission{Name: "r1", Session: nextSpec(), Snapshot: &workspace.Snapshot{}}
	if req, err := w.buildSubmit(ctx, sub); err != nil || req.SessionID != sid2 {
		t.Errorf("submit sessionId %v %v", req, err)
	}
}

func TestInstallIntoTheSessionThatHasTheNewID(t *testing.T) {
	f, w, _ := sessionFake(t)
	ctx := context.Background()
	if _, err := w.Sessions().Start(ctx, spec(), workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	f.on("GET /flow/api"+testWS+"/FlowSessions/"+sid2, jsonHandler(200, map[string]any{"properties": map[string]any{"sessionId": sid2, "vmSize": "Standard_D4s_v3"}}))
	f.on("POST /flow/api"+testWS+"/FlowSessions/"+sid2, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	got, err := w.Sessions().Install(ctx, sid, nextSpec(), workspace.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, f, "POST /flow/api"+testWS+"/FlowSessions/"+sid2); b["action"] != "Update" || len(b["pythonPipRequirements"].([]any)) != 2 {
		t.Errorf("update body %v", b)
	}
	if n := f.count("POST /flow/api" + testWS + "/FlowSessions/" + sid); n != 1 {
		t.Errorf("the old session was posted to %d times, want only its start", n)
	}
	if got.ID != sid2 || !strings.Contains(got.Message, "already served the new requirements") || strings.Contains(got.Message, "service session") {
		t.Errorf("Install = %s %q", got.ID, got.Message)
	}
	if w.serviceID(sid2) != sid2 {
		t.Error("an alias was made for a session that has the id itself")
	}
	if rec, _ := w.record(sid); rec == nil {
		t.Error("the old session's record went away")
	}
}

func TestInstallWithoutASession(t *testing.T) {
	f, w, _ := sessionFake(t)
	_, err := w.Sessions().Install(context.Background(), sid, nextSpec(), workspace.StartOptions{})
	if !fault.Is(err, fault.NotFound) {
		t.Fatalf("Install = %v, want NotFound", err)
	}
	for _, id := range []string{sid, sid2} {
		if n := f.count("POST /flow/api" + testWS + "/FlowSessions/" + id); n != 0 {
			t.Errorf("%d POSTs to %s", n, id)
		}
	}
	if recs, _ := w.records(); len(recs) != 0 {
		t.Errorf("records %+v", recs)
	}
}
