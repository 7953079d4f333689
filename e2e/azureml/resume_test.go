package azureml_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/fakews"
)

// TestResume: a run whose line failed is resumed with run create
// --resume-from, which reads the run, posts BulkRuns/resume with only what
// may change, and follows the new run to its end; an unknown run is refused
// before anything is created.
func TestResume(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	h.writeFlow("Ada", "Grace", "Linus")
	h.fake.FailRun("e2e_first", 1)
	if r := h.run("run", "create", "-f", "hello/run.yml", "--name", "e2e_first", "--stream"); r.code != 1 {
		t.Fatalf("the failing run:\n%s", r)
	}

	h.fake.ResetRequests()
	r := h.ok("run", "create", "--resume-from", "e2e_first", "--name", "e2e_again", "--set", "display_name=again", "--stream")
	if !regexp.MustCompile(`(?m)^status\s+Completed$`).MatchString(r.stdout) {
		t.Fatalf("resumed run:\n%s", r)
	}
	st, ok := h.fake.Run("e2e_again")
	if !ok || st.Status != "Completed" {
		t.Fatalf("the workspace's resumed run: %+v (%v)", st, ok)
	}
	if st.Request["resumeFromRunId"] != "e2e_first" || st.Request["runId"] != "e2e_again" || st.Request["runDisplayName"] != "again" {
		t.Fatalf("resume request %v", st.Request)
	}
	for _, k := range []string{"batchDataInput", "flowDefinitionBlobPath", "inputsMapping", "sessionId"} {
		if _, sent := st.Request[k]; sent {
			t.Errorf("the resume request carries %s, which resume takes from the resumed run", k)
		}
	}
	if n := h.fake.Count(http.MethodPut, ".*"); n != 0 {
		t.Errorf("resume uploaded %d files", n)
	}
	if n := h.fake.Count(http.MethodPost, "/BulkRuns/resume$"); n != 1 {
		t.Errorf("%d resume requests", n)
	}

	// Without --name, pfz names the run <resumed>_resume_<timestamp>.
	r = h.ok("run", "create", "--resume-from", "e2e_first", "-o", "json")
	if !regexp.MustCompile(`"name": "e2e_first_resume_\d{8}_\d{6}_\d{6}"`).MatchString(r.stdout) {
		t.Fatalf("default resume name:\n%s", r)
	}

	// An unknown run: refused, nothing created.
	h.fake.ResetRequests()
	r = h.run("run", "create", "--resume-from", "no_such_run", "--name", "e2e_never")
	if r.code == 0 || !strings.Contains(r.stderr, "no_such_run") {
		t.Fatalf("resume of an unknown run:\n%s", r)
	}
	if n := h.fake.Count(http.MethodPost, "/BulkRuns/resume$"); n != 0 {
		t.Errorf("an unknown run was resumed (%d requests)", n)
	}
	if _, ok := h.fake.Run("e2e_never"); ok {
		t.Error("a run was created for an unknown run to resume")
	}

	// Flags that reshape the run are refused as pfazure refuses them.
	if r := h.run("run", "create", "--resume-from", "e2e_first", "--data", "hello/data.jsonl"); r.code != 2 {
		t.Fatalf("--resume-from with --data:\n%s", r)
	}
}
