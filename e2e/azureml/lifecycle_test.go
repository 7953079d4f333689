package azureml_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/fakews"
)

// TestSessionToDownload is the user's day on the azureml target, through the
// binary: session start → packages install → run create --stream →
// show-details → download → a second submit that uploads nothing → session
// stop.
func TestSessionToDownload(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	ctx := context.Background()
	flowDir := h.writeFlow("Ada", "Grace")

	// session start waits Starting → Running and shows the session.
	r := h.ok("session", "start", "--flow", "hello", "--vm-size", "Standard_E4ds_v4", "--idle-time", "90m", "-o", "json")
	var sess struct {
		ID, Status, VMSize string
		Idle               int64 `json:"idle_time_seconds"`
	}
	decode(t, r, &sess)
	sess.VMSize = jsonField(t, r.stdout, "vm_size")
	if sess.Status != "Running" || sess.VMSize != "Standard_E4ds_v4" || sess.Idle != 5400 || len(sess.ID) != 48 {
		t.Fatalf("session start printed %+v\n%s", sess, r)
	}
	if !strings.Contains(r.stderr, "Succeeded") {
		t.Errorf("no progress on stderr:\n%s", r)
	}
	fs, ok := h.fake.Session(sess.ID)
	if !ok || fs.Status != "Running" || fs.IdleSeconds != 5400 || !contains(fs.Requirements, "requests==2.31.0") {
		t.Fatalf("the workspace has %+v (%v)", fs, ok)
	}
	// pythonPipRequirements is every line of requirements.txt, the comment
	// included, as pfazure sent it (f.read().splitlines() in its ClientWait
	// era); the session id hashes the same lines (protocol §3.6).
	if strings.Join(fs.Requirements, "\n") != "# the flow's packages\nrequests==2.31.0" {
		t.Fatalf("pythonPipRequirements = %q", fs.Requirements)
	}
	if n := h.fake.Count(http.MethodGet, "/FlowSessions/"+sess.ID+"/Install/locations/eastus/operations/"); n == 0 {
		t.Fatal("session start did not follow the azure-asyncoperation")
	}

	// packages list marks the requirements; install saves the file and installs it.
	r = h.ok("packages", "list", "--flow", "hello", "-o", "json")
	if !strings.Contains(r.stdout, `"requests"`) || !strings.Contains(r.stdout, `"requirements"`) {
		t.Fatalf("packages list:\n%s", r)
	}
	r = h.ok("packages", "install", "--flow", "hello", "jinja2==3.1.4")
	req, _ := os.ReadFile(filepath.Join(flowDir, "requirements.txt"))
	if string(req) != "# the flow's packages\nrequests==2.31.0\njinja2==3.1.4\n" {
		t.Fatalf("requirements.txt after install:\n%s", req)
	}
	installed := regexp.MustCompile(`(?m)^session\s+([0-9a-f]{48})$`).FindStringSubmatch(r.stdout)
	if installed == nil {
		t.Fatalf("packages install did not name the session:\n%s", r)
	}
	// The packages go into the running session, in place (as the studio
	// does); the flow's session id now covers the new requirements, and pfz
	// keeps serving that id with the session that has the packages.
	if fs, _ := h.fake.Session(sess.ID); !contains(fs.Requirements, "jinja2==3.1.4") || fs.Status != "Running" {
		t.Fatalf("session %s after install: %+v", sess.ID, fs)
	}
	if n := len(h.fake.Sessions()); n != 1 {
		t.Fatalf("packages install left %d sessions: %+v", n, h.fake.Sessions())
	}
	if installed[1] == sess.ID {
		t.Fatalf("packages install kept id %s although the requirements changed", sess.ID)
	}

	// run create --stream uploads to Azurite, follows the run to the end.
	h.fake.ResetRequests()
	r = h.ok("run", "create", "-f", "hello/run.yml", "--name", "e2e_run1", "--stream")
	if !strings.Contains(r.stdout, "Finished 2 / 2 lines.") || !regexp.MustCompile(`(?m)^status\s+Completed$`).MatchString(r.stdout) {
		t.Fatalf("streamed run:\n%s", r)
	}
	st, _ := h.fake.Run("e2e_run1")
	if st.Status != "Completed" || st.Lines != 2 {
		t.Fatalf("the workspace's run: %+v", st)
	}
	flowPath, _ := st.Request["flowDefinitionBlobPath"].(string)
	dataURI, _ := st.Request["batchDataInput"].(map[string]any)["dataUri"].(string)
	snapRoot := strings.TrimSuffix(flowPath, "/hello/flow.dag.yaml")
	dataBlob := strings.TrimPrefix(dataURI, "azureml://datastores/workspaceblobstore/paths/")
	if !regexp.MustCompile(`^LocalUpload/[0-9a-f]{32}$`).MatchString(snapRoot) ||
		!regexp.MustCompile(`^LocalUpload/[0-9a-f]{32}/data\.jsonl$`).MatchString(dataBlob) {
		t.Fatalf("submitted flow %q, data %q", flowPath, dataURI)
	}
	blobs, err := h.fake.Blobs(ctx, "LocalUpload/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dataBlob}
	for _, f := range []string{"data.jsonl", "flow.dag.yaml", "greet.py", "requirements.txt", "run.yml"} {
		want = append(want, snapRoot+"/hello/"+f)
	}
	sort.Strings(want)
	if strings.Join(blobs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Azurite holds\n%s\nwant\n%s", strings.Join(blobs, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range []string{"greet.py", "requirements.txt"} {
		got, err := h.fake.ReadBlob(ctx, snapRoot+"/hello/"+f)
		local, _ := os.ReadFile(filepath.Join(flowDir, f))
		if err != nil || string(got) != string(local) {
			t.Fatalf("uploaded %s differs from the local file (%v)", f, err)
		}
	}
	if n := h.fake.Count(http.MethodPut, "/LocalUpload/"); n == 0 {
		t.Fatal("the first submit uploaded nothing through the blob endpoint")
	}

	// show-details has the rows the run computed from the uploaded data.
	r = h.ok("run", "show-details", "-n", "e2e_run1", "-o", "json")
	var rows []map[string]any
	decode(t, r, &rows)
	if len(rows) != 2 || rows[0]["inputs.name"] != "Ada" || rows[1]["outputs.greeting"] != "Grace" || rows[1]["status"] != "Completed" {
		t.Fatalf("show-details: %v", rows)
	}

	// download writes pfazure's layout.
	r = h.ok("run", "download", "-n", "e2e_run1", "--output-dir", "out")
	dir := filepath.Join(h.work, "out", "e2e_run1")
	for _, f := range []string{"run_metadata.json", "metrics.json", "logs.txt", "flow_outputs/output.jsonl",
		"instance_results.jsonl", "meta.json", "snapshot/flow.dag.yaml", "snapshot/greet.py"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("download lacks %s", f)
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, "snapshot", "greet.py"))
	local, _ := os.ReadFile(filepath.Join(flowDir, "greet.py"))
	if string(got) != string(local) {
		t.Errorf("downloaded snapshot greet.py %q", got)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "flow_outputs", "output.jsonl"))
	if strings.Count(string(out), "\n") != 2 {
		t.Errorf("output.jsonl:\n%s", out)
	}

	// The same flow and data again: one HEAD per asset, nothing uploaded.
	h.fake.ResetRequests()
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "e2e_run2")
	if n := h.fake.Count(http.MethodPut, ".*"); n != 0 {
		t.Fatalf("the second submit made %d PUTs:\n%v", n, h.fake.Requests())
	}
	if n := h.fake.Count(http.MethodHead, "/LocalUpload/"); n != 2 {
		t.Fatalf("the second submit made %d HEADs, want 2", n)
	}
	after, _ := h.fake.Blobs(ctx, "LocalUpload/")
	if len(after) != len(blobs) {
		t.Fatalf("blobs changed: %v", after)
	}
	if st, _ := h.fake.Run("e2e_run2"); st.Lines != 2 || st.Request["flowDefinitionBlobPath"] != flowPath {
		t.Fatalf("second run %+v", st)
	}

	// Both runs went to the session that has the packages.
	first, _ := h.fake.Run("e2e_run1")
	if first.SessionID != sess.ID || st.SessionID != sess.ID {
		t.Fatalf("runs used sessions %s and %s, not %s (the one with the packages)", first.SessionID, st.SessionID, sess.ID)
	}

	// session stop deletes the flow's session; nothing is left running.
	h.ok("session", "stop", "--flow", "hello")
	if left := h.fake.Sessions(); len(left) != 0 {
		t.Fatalf("sessions left in the workspace after stop: %+v", left)
	}
	if r := h.run("session", "show", "--flow", "hello"); r.code != 1 {
		t.Fatalf("session show after stop:\n%s", r)
	}
}

func decode(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not the JSON expected (%v):\n%s", err, r)
	}
}

func jsonField(t *testing.T, doc, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[key].(string)
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
