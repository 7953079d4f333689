package fakews_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/pfz-cli/pfz/internal/auth"
	"github.com/pfz-cli/pfz/internal/azureml"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/testutil/azurite"
	"github.com/pfz-cli/pfz/internal/testutil/fakews"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// env is a fake workspace on Azurite and an azureml client pointed at it.
type env struct {
	fake *fakews.Server
	az   *azurite.Instance
	ws   *azureml.Workspace
	cred *auth.Cache
}

func start(t *testing.T, opts fakews.Options) *env {
	t.Helper()
	var az *azurite.Instance
	if opts.Storage.Endpoint == "" {
		az = azurite.Start(t)
		opts.Storage = fakews.Storage{Endpoint: az.Endpoint, Account: az.Account, Key: az.Key}
	}
	fake := fakews.New(opts)
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	e := &env{fake: fake, az: az}
	e.ws, e.cred = client(t, fake, t.TempDir())
	return e
}

// client is what pfz builds from the configuration: the fake's managed
// identity endpoint behind pfz's token cache, endpoints from the fake.
func client(t *testing.T, fake *fakews.Server, cacheDir string) (*azureml.Workspace, *auth.Cache) {
	t.Helper()
	o := fake.Options()
	cred := auth.NewCache(fake.Credential(), nil)
	ws, err := azureml.New(context.Background(), azureml.Options{
		Subscription: o.Subscription, ResourceGroup: o.ResourceGroup, Workspace: o.Workspace,
		ARMEndpoint: fake.URL(), BlobEndpoint: fake.BlobTemplate(), Credential: cred,
		CacheDir: cacheDir, HTTPClient: fake.HTTPClient(), PollInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ws, cred
}

const flowYAML = `inputs:
  name:
    type: string
outputs:
  greeting:
    type: string
    reference: ${greet.output}
nodes:
- name: greet
  type: python
  source:
    type: code
    path: greet.py
  inputs:
    name: ${inputs.name}
`

// writeFlow makes a flow folder "hello" with a data file of n lines.
func writeFlow(t *testing.T, names ...string) (flowDir, dataFile string) {
	t.Helper()
	root := t.TempDir()
	flowDir = filepath.Join(root, "hello")
	must(t, os.MkdirAll(filepath.Join(flowDir, "lib"), 0o755))
	must(t, os.WriteFile(filepath.Join(flowDir, "flow.dag.yaml"), []byte(flowYAML), 0o644))
	must(t, os.WriteFile(filepath.Join(flowDir, "greet.py"), []byte("def greet(name):\n    return 'Hello, ' + name\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(flowDir, "lib", "util.py"), []byte("X = 1\n"), 0o644))
	var b strings.Builder
	for _, n := range names {
		b.WriteString(`{"name": "` + n + `"}` + "\n")
	}
	dataFile = filepath.Join(root, "data.jsonl")
	must(t, os.WriteFile(dataFile, []byte(b.String()), 0o644))
	return flowDir, dataFile
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// submission builds what runspec would for the flow and data.
func submission(t *testing.T, name, flowDir, dataFile string) *workspace.Submission {
	t.Helper()
	files, err := snapshot.ListDir(context.Background(), flowDir)
	must(t, err)
	hash, err := snapshot.Hash(context.Background(), files)
	must(t, err)
	dhash, err := snapshot.HashFile(context.Background(), dataFile)
	must(t, err)
	st, _ := os.Stat(dataFile)
	return &workspace.Submission{
		Name: name, DisplayName: name, ExperimentName: "hello", Flow: filepath.Join(flowDir, "flow.dag.yaml"),
		Snapshot: &workspace.Snapshot{Root: flowDir, Folder: "hello", FlowFile: "flow.dag.yaml", Hash: hash,
			BlobPath: "LocalUpload/" + hash + "/hello/flow.dag.yaml", Files: files},
		Data:          &workspace.Data{Local: dataFile, Hash: dhash, Files: []workspace.FileRef{{Rel: filepath.Base(dataFile), Abs: dataFile, Size: st.Size()}}},
		ColumnMapping: map[string]any{"name": "${data.name}"},
		Runtime:       "automatic",
		Session:       workspace.SessionSpec{ID: strings.Repeat("ab", 24), LineageID: strings.Repeat("cd", 32)},
	}
}

// blobNames lists the datastore container under prefix, straight from Azurite.
func (e *env) blobNames(t *testing.T, prefix string) []string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(e.az.Account, e.az.Key)
	must(t, err)
	opts := &azblob.ClientOptions{}
	opts.InsecureAllowCredentialWithHTTP = true
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	c, err := azblob.NewClientWithSharedKeyCredential(e.az.AccountURL()+"/", cred, opts)
	must(t, err)
	var out []string
	pg := c.NewListBlobsFlatPager(e.fake.Options().Storage.Container, &azblob.ListBlobsFlatOptions{Prefix: &prefix})
	for pg.More() {
		page, err := pg.NextPage(context.Background())
		must(t, err)
		for _, b := range page.Segment.BlobItems {
			out = append(out, *b.Name)
		}
	}
	return out
}

func TestRunLifecycleOnAzurite(t *testing.T) {
	e := start(t, fakews.Options{BlobProxy: true})
	ctx := context.Background()
	flowDir, data := writeFlow(t, "Ada", "Grace", "Linus")
	sub := submission(t, "run1", flowDir, data)

	run, err := e.ws.Runs().Submit(ctx, sub, nil)
	must(t, err)
	if run.Name != "run1" || run.Status != workspace.RunNotStarted {
		t.Fatalf("after submit: %+v", run)
	}
	// The uploads landed in Azurite under LocalUpload/<hash>/…, flow folder kept.
	got := e.blobNames(t, "LocalUpload/")
	want := []string{
		"LocalUpload/" + sub.Data.Hash + "/data.jsonl",
		"LocalUpload/" + sub.Snapshot.Hash + "/hello/flow.dag.yaml",
		"LocalUpload/" + sub.Snapshot.Hash + "/hello/greet.py",
		"LocalUpload/" + sub.Snapshot.Hash + "/hello/lib/util.py",
	}
	if !sameSet(got, want) {
		t.Fatalf("blobs %v, want %v", got, want)
	}
	st, _ := e.fake.Run("run1")
	if st.Lines != 3 || !sameSet(st.Snapshot, []string{"flow.dag.yaml", "greet.py", "lib/util.py"}) {
		t.Fatalf("the run did not read the uploaded snapshot and data: %+v", st)
	}
	if st.Request["sessionSetupMode"] != "SystemWait" || st.Request["flowDefinitionBlobPath"] != sub.Snapshot.BlobPath {
		t.Fatalf("submit body %v", st.Request)
	}
	if s, ok := e.fake.Session(sub.Session.ID); !ok || !s.FromRun || s.Status != "Running" {
		t.Fatalf("SystemWait session %+v %v", s, ok)
	}

	// A second submit of the same flow and data uploads nothing.
	e.fake.ResetRequests()
	sub2 := submission(t, "run2", flowDir, data)
	_, err = e.ws.Runs().Submit(ctx, sub2, nil)
	must(t, err)
	if n := e.fake.Count(http.MethodPut, ".*"); n != 0 {
		t.Fatalf("second submit made %d PUTs: %v", n, e.fake.Requests())
	}
	if n := e.fake.Count(http.MethodHead, "/LocalUpload/"); n != 2 {
		t.Fatalf("second submit made %d HEADs, want one per asset", n)
	}

	// NotStarted → Running → Completed, one step per run-history read.
	var seen []string
	for i := 0; i < 5; i++ {
		r, err := e.ws.Runs().Get(ctx, "run1")
		must(t, err)
		if len(seen) == 0 || seen[len(seen)-1] != r.Status {
			seen = append(seen, r.Status)
		}
		if workspace.IsTerminal(r.Status) {
			if r.PortalURL == "" || r.Output == "" || r.StartTime == nil || r.EndTime == nil {
				t.Errorf("completed run %+v", r)
			}
			break
		}
	}
	if strings.Join(seen, ">") != "NotStarted>Running>Completed" {
		t.Fatalf("statuses %v (submit does not read the run back)", seen)
	}
	logs, err := e.ws.Runs().Logs(ctx, "run1")
	must(t, err)
	if !strings.Contains(logs, "Finished 3 / 3 lines") || !strings.Contains(logs, "status Completed") {
		t.Fatalf("logs %q", logs)
	}
	rows, err := e.ws.Runs().Details(ctx, "run1", 0)
	must(t, err)
	if len(rows) != 3 || rows[1].LineNumber != 1 || rows[1].Inputs.Map()["name"] != "Grace" || rows[1].Outputs.Map()["greeting"] != "Grace" || rows[1].Status != "Completed" {
		t.Fatalf("details %+v", rows)
	}
	m, err := e.ws.Runs().Metrics(ctx, "run1")
	must(t, err)
	if len(m) != 0 {
		t.Fatalf("system metrics leaked into user metrics: %v", m)
	}
	dir, err := e.ws.Runs().Download(ctx, "run1", t.TempDir(), false)
	must(t, err)
	for _, f := range []string{"flow_outputs/output.jsonl", "instance_results.jsonl", "meta.json", "snapshot/flow.dag.yaml", "snapshot/lib/util.py", "run_metadata.json", "metrics.json", "logs.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("download lacks %s: %v", f, err)
		}
	}
	out, _ := os.ReadFile(filepath.Join(dir, "flow_outputs", "output.jsonl"))
	if strings.Count(string(out), "\n") != 3 || !strings.Contains(string(out), `"greeting":"Linus"`) {
		t.Fatalf("output.jsonl %q", out)
	}
	snap, _ := os.ReadFile(filepath.Join(dir, "snapshot", "flow.dag.yaml"))
	if string(snap) != flowYAML {
		t.Fatalf("downloaded snapshot differs: %q", snap)
	}
	met, _ := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if !strings.Contains(string(met), `"__pf__.lines.completed": 3`) {
		t.Fatalf("metrics.json %s", met)
	}

	// --overwrite with a service failing halfway keeps what was there:
	// everything is fetched beside the folder and swapped in when complete.
	dlDir := t.TempDir()
	notes := filepath.Join(dlDir, "run1", "notes.txt")
	must(t, os.MkdirAll(filepath.Dir(notes), 0o755))
	must(t, os.WriteFile(notes, []byte("mine"), 0o644))
	f503 := e.fake.Inject(fakews.Fault{Path: "snapshots/sas", Status: http.StatusServiceUnavailable})
	if _, err := e.ws.Runs().Download(ctx, "run1", dlDir, true); err == nil || f503.Hits() == 0 {
		t.Fatalf("download through a 503: %v (fault hit %d times)", err, f503.Hits())
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "mine" {
		t.Fatalf("a failed --overwrite download lost notes.txt: %q %v", b, err)
	}
	if ents, _ := os.ReadDir(dlDir); len(ents) != 1 {
		t.Fatalf("a failed download left %v", ents)
	}
	e.fake.ClearFaults()
	dir, err = e.ws.Runs().Download(ctx, "run1", dlDir, true)
	must(t, err)
	if _, err := os.Stat(notes); !os.IsNotExist(err) {
		t.Fatalf("a complete --overwrite download kept the old folder's files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot", "flow.dag.yaml")); err != nil {
		t.Fatal(err)
	}

	// List newest first; archive hides a run from the default list.
	list, err := e.ws.Runs().List(ctx, workspace.ListOptions{})
	must(t, err)
	if len(list) != 2 || list[0].Name != "run2" || list[1].Name != "run1" {
		t.Fatalf("list %+v", list)
	}
	yes := true
	if _, err := e.ws.Runs().Update(ctx, "run2", workspace.RunUpdate{Archived: &yes}); err != nil {
		t.Fatal(err)
	}
	list, _ = e.ws.Runs().List(ctx, workspace.ListOptions{})
	if len(list) != 1 || list[0].Name != "run1" {
		t.Fatalf("list after archive %+v", list)
	}
	list, _ = e.ws.Runs().List(ctx, workspace.ListOptions{ArchivedOnly: true})
	if len(list) != 1 || list[0].Name != "run2" || !list[0].IsArchived {
		t.Fatalf("archived list %+v", list)
	}

	// A duplicate name is refused.
	_, err = e.ws.Runs().Submit(ctx, submission(t, "run1", flowDir, data), nil)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate submit: %v", err)
	}
}

func TestRunFailsAndCancels(t *testing.T) {
	e := start(t, fakews.Options{})
	ctx := context.Background()
	flowDir, data := writeFlow(t, "a", "b")
	e.fake.FailRun("bad", 1)
	_, err := e.ws.Runs().Submit(ctx, submission(t, "bad", flowDir, data), nil)
	must(t, err)
	r := follow(t, e, "bad")
	if r.Status != workspace.RunFailed || r.Error == nil || !strings.Contains(r.Error.Message, "1 of 2 lines failed") {
		t.Fatalf("failed run %+v %+v", r, r.Error)
	}
	if _, err := e.ws.Runs().Details(ctx, "bad", 0); err == nil || !strings.Contains(err.Error(), "not completed") {
		t.Fatalf("details of a failed run: %v", err)
	}

	_, err = e.ws.Runs().Submit(ctx, submission(t, "stopme", flowDir, data), nil)
	must(t, err)
	must(t, e.ws.Runs().Cancel(ctx, "stopme"))
	r1, _ := e.ws.Runs().Get(ctx, "stopme")
	r2, _ := e.ws.Runs().Get(ctx, "stopme")
	if r1.Status != workspace.RunCancelRequested || r2.Status != workspace.RunCanceled {
		t.Fatalf("cancel went %s > %s", r1.Status, r2.Status)
	}
	if _, err := e.ws.Runs().Get(ctx, "nope"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("unknown run: %v", err)
	}
}

func follow(t *testing.T, e *env, name string) *workspace.Run {
	t.Helper()
	for i := 0; i < 10; i++ {
		r, err := e.ws.Runs().Get(context.Background(), name)
		must(t, err)
		if workspace.IsTerminal(r.Status) {
			return r
		}
	}
	t.Fatalf("run %s did not end", name)
	return nil
}

func TestSessionLifecycle(t *testing.T) {
	e := start(t, fakews.Options{SessionPolls: 2})
	ctx := context.Background()
	id := strings.Repeat("5e", 24)
	spec := workspace.SessionSpec{ID: id, FlowDir: "/tmp/hello", UserAlias: "jane.doe", ComputeType: workspace.ComputeServerless,
		VMSize: "Standard_E4ds_v4", Image: "mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest",
		Requirements: []string{"requests==2.31.0"}, IdleTime: 30 * time.Minute}
	var events []string
	rep := reporter(func(ev workspace.Event) { events = append(events, ev.Message) })
	s, err := e.ws.Sessions().Start(ctx, spec, workspace.StartOptions{Reporter: rep})
	must(t, err)
	if s.Status != workspace.SessionRunning || s.VMSize != "Standard_E4ds_v4" || s.IdleTimeSeconds != 1800 {
		t.Fatalf("session %+v", s)
	}
	if got := strings.Join(events, "|"); !strings.Contains(got, "InProgress") || !strings.Contains(got, "Succeeded") {
		t.Fatalf("events %q: the session should be seen Starting, then Running", got)
	}
	if n := e.fake.Count(http.MethodGet, "/operations/"); n != 3 {
		t.Fatalf("%d polls, want 2 InProgress + 1 Succeeded", n)
	}
	pk, err := e.ws.Sessions().Packages(ctx, id)
	must(t, err)
	if !hasPackage(pk, "requests", "2.31.0", workspace.OriginRequirements) || !hasPackage(pk, "promptflow", "1.17.1", workspace.OriginBase) {
		t.Fatalf("packages %+v", pk)
	}
	if _, err := e.ws.Sessions().Install(ctx, id, workspace.SessionSpec{Requirements: []string{"requests==2.31.0", "jinja2==3.1.4"}}, workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if fs, _ := e.fake.Session(id); len(fs.Requirements) != 2 || fs.Status != "Running" {
		t.Fatalf("after install %+v", fs)
	}
	pk, _ = e.ws.Sessions().Packages(ctx, id)
	if !hasPackage(pk, "jinja2", "3.1.4", workspace.OriginRequirements) {
		t.Fatalf("installed package missing: %+v", pk)
	}
	// A setup that fails says why, from the JSON inside error.message.
	e.fake.FailSessionSetup(id, "ERROR: No matching distribution found for nonexistent-pkg==9.9")
	_, err = e.ws.Sessions().Install(ctx, id, workspace.SessionSpec{Requirements: []string{"nonexistent-pkg==9.9"}}, workspace.StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "No matching distribution") {
		t.Fatalf("failed install: %v", err)
	}
	if fs, _ := e.fake.Session(id); fs.Status != "Failed" {
		t.Fatalf("session after failed install %+v", fs)
	}
	must(t, e.ws.Sessions().Stop(ctx, id))
	if _, ok := e.fake.Session(id); ok {
		t.Fatal("session still there after stop")
	}
	if _, err := e.ws.Sessions().Get(ctx, id); !fault.Is(err, fault.NotFound) {
		t.Fatalf("get after stop: %v", err)
	}
}

func TestSessionQuotaPreflight(t *testing.T) {
	e := start(t, fakews.Options{Quotas: map[string]fakews.Quota{"standardEDSv4Family": {Used: 22, Limit: 24}}})
	spec := workspace.SessionSpec{ID: strings.Repeat("9a", 24), ComputeType: workspace.ComputeServerless, VMSize: "Standard_E4ds_v4"}
	_, err := e.ws.Sessions().Start(context.Background(), spec, workspace.StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "2 of 24 vCPUs free") {
		t.Fatalf("quota preflight: %v", err)
	}
	if n := e.fake.Count(http.MethodPost, "/FlowSessions/"); n != 0 {
		t.Fatalf("a session was requested despite no quota (%d POSTs)", n)
	}
}

type reporter func(workspace.Event)

func (r reporter) Report(e workspace.Event) { r(e) }

func hasPackage(pl *workspace.PackageList, name, version, origin string) bool {
	for _, p := range pl.Packages {
		if p.Name == name && p.Version == version && p.Origin == origin {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestFaultsAreSurvived: each injected fault fires, and the client gets
// through it the way protocol §1.4 says.
func TestFaultsAreSurvived(t *testing.T) {
	e := start(t, fakews.Options{BlobProxy: true})
	ctx := context.Background()
	flowDir, data := writeFlow(t, "x")
	ws := e.fake.WorkspacePath()

	throttled := e.fake.Inject(fakews.Fault{Path: "^" + ws + "$", Method: "GET", Status: 429, RetryAfter: 150 * time.Millisecond, Times: 1})
	unavailable := e.fake.Inject(fakews.Fault{Path: "/history/v1.0/.*/rundata$", Status: 503, Times: 1})
	// run show reads run history only (the portal link is made from the name).
	reset := e.fake.Inject(fakews.Fault{Path: "/history/v1.0/.*/rundata$", Reset: true, Times: 1})
	blobReset := e.fake.Inject(fakews.Fault{Path: "/LocalUpload/.*greet.py$", Method: "PUT", Reset: true, Times: 1})
	expired := e.fake.Inject(fakews.Fault{Path: "/TraceSessions$", Status: 401, Times: 1})

	began := time.Now()
	r, err := e.ws.Runs().Submit(ctx, submission(t, "r1", flowDir, data), nil)
	must(t, err)
	if r.Name != "r1" {
		t.Fatalf("run %+v", r)
	}
	// Submit prints what it sent; reading the run meets the history faults.
	r, err = e.ws.Runs().Get(ctx, "r1")
	must(t, err)
	if r.Name != "r1" || r.PortalURL == "" {
		t.Fatalf("run %+v", r)
	}
	for name, in := range map[string]*fakews.Injected{"429": throttled, "503": unavailable, "reset": reset, "blob reset": blobReset, "401": expired} {
		if in.Hits() != 1 {
			t.Errorf("fault %s fired %d times", name, in.Hits())
		}
	}
	// The 429's Retry-After was honoured (a floor, not a wall-clock assertion
	// on speed).
	if time.Since(began) < 150*time.Millisecond {
		t.Errorf("the client did not wait for Retry-After")
	}
	st, _ := e.fake.Run("r1")
	if st.Lines != 1 {
		t.Fatalf("run %+v", st)
	}
	// A reset on submit leaves the client unsure; it checks run history and
	// submits again, so exactly one run exists.
	e.fake.Inject(fakews.Fault{Path: "/BulkRuns/submit$", Reset: true, Times: 1})
	_, err = e.ws.Runs().Submit(ctx, submission(t, "r2", flowDir, data), nil)
	must(t, err)
	if n := e.fake.Count("POST", "/BulkRuns/submit$"); n != 3 {
		t.Fatalf("%d submits, want r1 + r2 reset + r2 again", n)
	}
	list, _ := e.ws.Runs().List(ctx, workspace.ListOptions{})
	if len(list) != 2 {
		t.Fatalf("runs %+v", list)
	}
}

// TestExpiredTokenIsRefreshed: tokens expire on the server's side; the client
// gets one 401, drops its cached token, fetches a new one and goes on.
func TestExpiredTokenIsRefreshed(t *testing.T) {
	e := start(t, fakews.Options{})
	ctx := context.Background()
	flowDir, data := writeFlow(t, "x")
	_, err := e.ws.Runs().Submit(ctx, submission(t, "r1", flowDir, data), nil)
	must(t, err)
	before := e.fake.TokensIssued()
	e.fake.ExpireTokens()
	e.fake.ResetRequests()
	if _, err := e.ws.Runs().Get(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if e.fake.TokensIssued() != before+1 {
		t.Fatalf("tokens issued %d → %d, want one new token", before, e.fake.TokensIssued())
	}
	var statuses []int
	for _, r := range e.fake.Requests() {
		if r.Kind != "token" {
			statuses = append(statuses, r.Status)
		}
	}
	if len(statuses) < 2 || statuses[0] != 401 || statuses[1] != 200 {
		t.Fatalf("statuses %v, want 401 then 200", statuses)
	}
	// A fault that keeps answering 401 ends in an auth error, not a loop.
	e.fake.Inject(fakews.Fault{Path: "/rundata$", Status: 401})
	_, err = e.ws.Runs().Get(ctx, "r1")
	if !fault.Is(err, fault.Auth) {
		t.Fatalf("persistent 401: %v", err)
	}
}

// TestTokenChecks: the fake refuses what the real service refuses.
func TestTokenChecks(t *testing.T) {
	fake := fakews.New(fakews.Options{})
	must(t, fake.Start())
	defer fake.Close()
	ctx := context.Background()
	armTok, err := fake.Credential().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{fakews.ARMAudience + "/.default"}})
	must(t, err)
	mlTok, err := fake.Credential().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{fakews.MLAudience + "/.default"}})
	must(t, err)
	do := func(method, path string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest(method, fake.URL()+path, strings.NewReader(`{"runId":"x","sessionSetupMode":"SystemWait"}`))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := fake.HTTPClient().Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate") + string(b)
	}
	ws := fake.WorkspacePath()
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		want               int
		says               string
	}{
		{"no token", "GET", ws + "?api-version=2023-08-01-preview", nil, 401, "no bearer token"},
		{"forged token", "GET", ws + "?api-version=2023-08-01-preview", bearer("eyJ.eyJ.sig"), 401, "not issued"},
		{"ml audience on ARM", "GET", ws + "?api-version=2023-08-01-preview", bearer(mlTok.Token), 401, "audience"},
		{"no api-version", "GET", ws, bearer(armTok.Token), 400, "api-version"},
		{"workspace", "GET", ws + "?api-version=2023-08-01-preview", bearer(armTok.Token), 200, "discoveryUrl"},
		{"submit without aml-user-token", "POST", "/flow/api" + ws + "/BulkRuns/submit", bearer(armTok.Token), 401, "aml-user-token"},
		{"other workspace", "GET", "/flow/api/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/other/TraceSessions", bearer(armTok.Token), 404, "workspace not found"},
		{"token endpoint without header", "GET", "/msi/token?resource=x", nil, 401, "X-IDENTITY-HEADER"},
	}
	for _, c := range cases {
		got, body := do(c.method, c.path, c.hdr)
		if got != c.want || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s, want %d mentioning %q", c.name, got, body, c.want, c.says)
		}
	}
	// The workspace points back at the fake.
	_, body := do("GET", ws+"?api-version=2023-08-01-preview", bearer(armTok.Token))
	var w struct {
		Properties struct {
			DiscoveryURL string `json:"discoveryUrl"`
		} `json:"properties"`
	}
	_ = json.Unmarshal([]byte(body), &w)
	if w.Properties.DiscoveryURL != fake.URL()+"/discovery" {
		t.Fatalf("discoveryUrl %q", w.Properties.DiscoveryURL)
	}
}

// TestFaultRules: Times, method and path matching, and the connection reset.
func TestFaultRules(t *testing.T) {
	fake := fakews.New(fakews.Options{})
	must(t, fake.Start())
	defer fake.Close()
	twice := fake.Inject(fakews.Fault{Path: "^/discovery$", Method: "GET", Status: 503, Times: 2})
	reset := fake.Inject(fakews.Fault{Path: "^/discovery/reset$", Reset: true})
	get := func(p string) (int, error) {
		tr := &http.Transport{DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr}).Get(fake.URL() + p)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for i, want := range []int{503, 503, 200} {
		if got, err := get("/discovery"); err != nil || got != want {
			t.Fatalf("request %d: %d %v, want %d", i, got, err, want)
		}
	}
	if twice.Hits() != 2 {
		t.Fatalf("hits %d", twice.Hits())
	}
	for i := 0; i < 2; i++ {
		if _, err := get("/discovery/reset"); err == nil || !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("reset fault: %v", err)
		}
	}
	if reset.Hits() != 2 {
		t.Fatalf("a Times: 0 fault should take every request, took %d", reset.Hits())
	}
	reqs := fake.Requests()
	if len(reqs) != 5 || !reqs[0].Fault || reqs[2].Fault || reqs[3].Status != 0 {
		t.Fatalf("recorded %v", reqs)
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRunStepMovesRunsOnByTime: with RunStep a run moves on one state per
// step of time (RunReads is set high so reads alone would not move it).
func TestRunStepMovesRunsOnByTime(t *testing.T) {
	c := &clock{t: time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC)}
	e := start(t, fakews.Options{RunStep: time.Minute, RunReads: 100, Now: c.now})
	ctx := context.Background()
	flowDir, data := writeFlow(t, "a")
	_, err := e.ws.Runs().Submit(ctx, submission(t, "timed", flowDir, data), nil)
	must(t, err)
	status := func() string {
		r, err := e.ws.Runs().Get(ctx, "timed")
		must(t, err)
		return r.Status
	}
	if s := status(); s != workspace.RunNotStarted {
		t.Fatalf("at 0: %s", s)
	}
	c.add(61 * time.Second)
	if s := status(); s != workspace.RunRunning {
		t.Fatalf("after one step: %s", s)
	}
	c.add(time.Minute)
	if s := status(); s != workspace.RunCompleted {
		t.Fatalf("after two steps: %s", s)
	}
	r, _ := e.ws.Runs().Get(ctx, "timed")
	if r.StartTime == nil || r.EndTime == nil || r.EndTime.Sub(*r.StartTime) != time.Minute {
		t.Fatalf("times %v %v", r.StartTime, r.EndTime)
	}
}

// TestTLS: with Options.TLS the fake speaks HTTPS and hands out the
// certificate a client must trust.
func TestTLS(t *testing.T) {
	fake := fakews.New(fakews.Options{TLS: true})
	must(t, fake.Start())
	defer fake.Close()
	if !strings.HasPrefix(fake.URL(), "https://127.0.0.1:") || !strings.Contains(string(fake.CACertPEM()), "BEGIN CERTIFICATE") {
		t.Fatalf("url %s", fake.URL())
	}
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(pemFile, fake.CACertPEM(), 0o644))
	o := fake.Options()
	// The client trusts the fake through CACertFile, as pfz does with SSL_CERT_FILE.
	ws, err := azureml.New(context.Background(), azureml.Options{Subscription: o.Subscription, ResourceGroup: o.ResourceGroup,
		Workspace: o.Workspace, ARMEndpoint: fake.URL(), Credential: auth.NewCache(fake.Credential(), nil), CACertFile: pemFile})
	must(t, err)
	_, err = ws.Runs().Get(context.Background(), "nothing")
	if !fault.Is(err, fault.NotFound) {
		t.Fatalf("over TLS: %v", err)
	}
	if n := fake.Count("POST", "/rundata$"); n != 1 {
		t.Fatalf("rundata calls %d", n)
	}
}
