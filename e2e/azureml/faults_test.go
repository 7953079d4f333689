package azureml_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/testutil/fakews"
)

// TestRunCreateSurvivesFaults: one run create meets a throttle with
// Retry-After, a 503, a connection reset on a blob upload, a token the
// service calls expired, and a connection reset on the submit itself. It
// still creates exactly one run.
func TestRunCreateSurvivesFaults(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	h.writeFlow("Ada", "Grace", "Linus")
	ws := regexp.QuoteMeta(h.fake.WorkspacePath())
	faults := map[string]*fakews.Injected{
		"429 + Retry-After on the workspace GET": h.fake.Inject(fakews.Fault{Path: "^" + ws + "$", Method: "GET", Status: http.StatusTooManyRequests, RetryAfter: time.Second, Times: 1}),
		"503 on the datastore list":              h.fake.Inject(fakews.Fault{Path: ws + "/datastores$", Status: http.StatusServiceUnavailable, Times: 1}),
		"reset on a blob upload":                 h.fake.Inject(fakews.Fault{Path: "/LocalUpload/.*/hello/greet\\.py$", Method: "PUT", Reset: true, Times: 1}),
		"401 (expired token) on TraceSessions":   h.fake.Inject(fakews.Fault{Path: "/TraceSessions$", Status: http.StatusUnauthorized, Times: 1}),
		"reset on submit":                        h.fake.Inject(fakews.Fault{Path: "/BulkRuns/submit$", Reset: true, Times: 1}),
	}
	r := h.ok("run", "create", "-f", "hello/run.yml", "--name", "faulty", "-o", "json")
	for name, in := range faults {
		if in.Hits() != 1 {
			t.Errorf("%s fired %d times", name, in.Hits())
		}
	}
	if got := jsonField(t, r.stdout, "name"); got != "faulty" {
		t.Fatalf("run create printed:\n%s", r)
	}
	if n := h.fake.Count("POST", "/BulkRuns/submit$"); n != 2 {
		t.Fatalf("%d submits, want the reset one and one more", n)
	}
	// Before submitting again pfz asked run history whether the run exists.
	reqs := h.fake.Requests()
	var afterReset []string
	seenReset := false
	for _, q := range reqs {
		if seenReset {
			afterReset = append(afterReset, q.Method+" "+q.Path)
		}
		if q.Fault && strings.HasSuffix(q.Path, "/BulkRuns/submit") {
			seenReset = true
		}
	}
	if len(afterReset) == 0 || !strings.HasSuffix(afterReset[0], "/rundata") {
		t.Fatalf("after the reset submit pfz sent %v; it must check run history first", afterReset)
	}
	if st, ok := h.fake.Run("faulty"); !ok || st.Lines != 3 {
		t.Fatalf("run %+v %v", st, ok)
	}
	blobs, _ := h.fake.Blobs(t.Context(), "LocalUpload/")
	if !contains(suffixes(blobs, "/hello/"), "greet.py") {
		t.Fatalf("greet.py did not reach Azurite after the reset: %v", blobs)
	}
}

func suffixes(list []string, sep string) []string {
	var out []string
	for _, s := range list {
		if i := strings.LastIndex(s, sep); i >= 0 {
			out = append(out, s[i+len(sep):])
		}
	}
	return out
}

// TestFailingServiceGivesUp: a service that keeps answering 503 ends the
// command with exit code 1 and a message naming the call, not a hang.
func TestFailingServiceGivesUp(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	h.writeFlow("Ada")
	h.fake.Inject(fakews.Fault{Path: "/datastores$", Status: http.StatusServiceUnavailable})
	r := h.run("run", "create", "-f", "hello/run.yml", "--name", "never")
	if r.code != 1 || !strings.Contains(r.stderr, "503") {
		t.Fatalf("want exit 1 naming the 503:\n%s", r)
	}
	if _, ok := h.fake.Run("never"); ok {
		t.Fatal("a run was created")
	}
}

// TestTokenExpiresMidCommand: every token expires on the service's side in
// the middle of run create (at the TraceSessions call). pfz must fetch new
// tokens from the identity endpoint and carry on. The managed identity
// credential (MSAL) would hand back its cached token; pfz renews past that
// cache (auth.Cache.Renew), so new tokens are issued.
func TestTokenExpiresMidCommand(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	h.writeFlow("Ada")
	expire := h.fake.Inject(fakews.Fault{Path: "/TraceSessions$", ExpireTokens: true, Times: 1})
	r := h.run("run", "create", "-f", "hello/run.yml", "--name", "renewed")
	if expire.Hits() != 1 {
		t.Fatalf("the expiry never happened")
	}
	var statuses []string
	for _, q := range h.fake.Requests() {
		statuses = append(statuses, q.Kind+":"+http.StatusText(q.Status))
	}
	if r.code != 0 {
		t.Fatalf("run create after a server-side token expiry:\n%s\nrequests: %v", r, statuses)
	}
	if _, ok := h.fake.Run("renewed"); !ok {
		t.Fatal("no run")
	}
	// Two tokens before the expiry (ARM and ML audiences), at least one new
	// ARM token after it.
	if n := h.fake.TokensIssued(); n < 3 {
		t.Fatalf("%d tokens issued: the refused token was not replaced\nrequests: %v", n, statuses)
	}
}

// TestUnauthorizedSaysTokenNotRole: a service that refuses every token with
// 401 ends the command with exit 4 and a message about the token and the
// credential, not a role assignment (that is for 403).
func TestUnauthorizedSaysTokenNotRole(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	h.writeFlow("Ada")
	h.fake.Inject(fakews.Fault{Path: "/datastores$", Status: http.StatusUnauthorized})
	r := h.run("run", "create", "-f", "hello/run.yml", "--name", "refused")
	if r.code != 4 || !strings.Contains(r.stderr, "refused the Azure token") || strings.Contains(r.stderr, "role") {
		t.Fatalf("want exit 4 about the token, not roles:\n%s", r)
	}
	if n := h.fake.Count("GET", "/datastores$"); n != 2 {
		t.Fatalf("%d datastore listings: want the refused one and one retry with a new token", n)
	}
}

// TestFailedRunThroughTheBinary: a run the service fails streams to the end
// with exit code 1, and show says why.
func TestFailedRunThroughTheBinary(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	h.writeFlow("Ada", "Grace")
	h.fake.FailRun("doomed", 1)
	r := h.run("run", "create", "-f", "hello/run.yml", "--name", "doomed", "--stream")
	if r.code != 1 || !strings.Contains(r.stderr, "doomed failed") || !strings.Contains(r.stdout, "1 of 2 lines failed") {
		t.Fatalf("want exit 1 with the failure:\n%s", r)
	}
	r = h.ok("run", "show", "-n", "doomed", "-o", "json")
	// The error is run history's envelope, as pfazure prints it.
	var run struct {
		Status string
		Error  struct{ Error struct{ Message string } }
	}
	if err := json.Unmarshal([]byte(r.stdout), &run); err != nil || run.Status != "Failed" || !strings.Contains(run.Error.Error.Message, "lines failed") {
		t.Fatalf("run show:\n%s", r)
	}
	if r := h.run("run", "show-details", "-n", "doomed"); r.code != 1 || !strings.Contains(r.stderr, "not completed") {
		t.Fatalf("show-details of a failed run:\n%s", r)
	}
	// cancel: the service goes CancelRequested, then Canceled.
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "stopped")
	h.ok("run", "cancel", "-n", "stopped")
	if n := h.fake.Count("POST", "/BulkRuns/stopped/cancel$"); n != 1 {
		t.Fatalf("%d cancel calls", n)
	}
	if got := jsonField(t, h.ok("run", "show", "-n", "stopped", "-o", "json").stdout, "status"); got != "Canceled" && got != "CancelRequested" {
		t.Fatalf("after cancel: %s", got)
	}
	if got := jsonField(t, h.ok("run", "show", "-n", "stopped", "-o", "json").stdout, "status"); got != "Canceled" {
		t.Fatalf("after cancel, finally: %s", got)
	}
}

// TestSessionErrorsThroughTheBinary: what stops a session start reaches the
// user as words they can act on, with the documented exit codes.
func TestSessionErrorsThroughTheBinary(t *testing.T) {
	h := newHarness(t, fakews.Options{Quotas: map[string]fakews.Quota{"standardEDSv4Family": {Used: 20, Limit: 24}}})
	h.writeFlow("Ada")
	r := h.run("session", "start", "--flow", "hello", "--vm-size", "Standard_E8ds_v4")
	if r.code != 2 || !strings.Contains(r.stderr, "no quota for VM size Standard_E8ds_v4") || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("want exit 2 explaining the quota:\n%s", r)
	}
	if n := h.fake.Count("POST", "/FlowSessions/"); n != 0 {
		t.Fatalf("%d session requests despite no quota", n)
	}
	// A setup that fails in the service (pip) ends with exit 1 and pip's words.
	h.fake.FailSessionSetup("*", "ERROR: No matching distribution found for requests==99.0")
	r = h.run("session", "start", "--flow", "hello", "--vm-size", "Standard_E4ds_v4")
	if r.code != 1 || !strings.Contains(r.stderr, "No matching distribution found for requests==99.0") {
		t.Fatalf("want exit 1 with pip's message:\n%s", r)
	}
	if got := jsonField(t, h.ok("session", "show", "--flow", "hello", "-o", "json").stdout, "status"); got != "Failed" {
		t.Fatalf("session after a failed setup: %s", got)
	}
}
