package azureml_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/fakews"
)

// Sessions on compute instances (issue 10, item 8): session edit --compute
// moves a compute-instance session to another instance; a serverless
// session cannot be moved; run create with a compute instance and a VM
// size or managed identity is refused before anything is sent, as session
// start refuses it; session list says what it lists.
func TestSessionOnComputeInstance(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	h.writeFlow("Ada")

	r := h.ok("session", "start", "--flow", "hello", "--compute", "ci-one", "-o", "json")
	id := jsonField(t, r.stdout, "id")
	if fs, ok := h.fake.Session(id); !ok || fs.ComputeName != "ci-one" || fs.VMSize != "" {
		t.Fatalf("the workspace has %+v (%v)", fs, ok)
	}

	// Move it: the session is set up again on the other instance (the fake,
	// like the service, takes computeName from Install and Reset only).
	posts := h.fake.Count(http.MethodPost, "/FlowSessions/"+id+"$")
	r = h.ok("session", "edit", "--flow", "hello", "--compute", "ci-two", "-o", "json")
	if fs, _ := h.fake.Session(id); fs.ComputeName != "ci-two" || fs.Status != "Running" {
		t.Fatalf("after edit --compute the workspace has %+v\n%s", fs, r)
	}
	if n := h.fake.Count(http.MethodPost, "/FlowSessions/"+id+"$"); n != posts+1 {
		t.Fatalf("edit --compute sent %d session requests, want 1", n-posts)
	}
	// pfz remembers the move: the next edit keeps the new instance.
	h.ok("session", "edit", "--flow", "hello", "--idle-time", "2h")
	if fs, _ := h.fake.Session(id); fs.ComputeName != "ci-two" || fs.IdleSeconds != 7200 {
		t.Fatalf("after edit --idle-time the workspace has %+v", fs)
	}

	// session list says what it lists, on stderr; stdout stays data.
	r = h.ok("session", "list", "-o", "json")
	if !strings.Contains(r.stderr, "sessions pfz started from this machine") || !strings.Contains(r.stdout, id) {
		t.Fatalf("session list:\n%s", r)
	}
	h.ok("session", "stop", "--flow", "hello")

	// A serverless session cannot be moved to an instance.
	h.ok("session", "start", "--flow", "hello", "--vm-size", "Standard_E4ds_v4")
	if r := h.run("session", "edit", "--flow", "hello", "--compute", "ci-one"); r.code != 2 ||
		!strings.Contains(r.stderr, "runs on serverless compute") || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("edit --compute of a serverless session:\n%s", r)
	}
	h.ok("session", "stop", "--flow", "hello")

	// run create: a compute instance with a VM size or a managed identity is
	// refused with exit 2, as session start refuses it, and nothing is sent.
	before := len(h.fake.Requests())
	for _, args := range [][]string{
		{"--compute", "ci-one", "--vm-size", "Standard_E4ds_v4"},
		{"--compute", "ci-one", "--identity", "managed"},
	} {
		r := h.run(append([]string{"run", "create", "--flow", "hello", "--data", "hello/data.jsonl"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "cannot be set for a compute-instance session") {
			t.Fatalf("run create %v:\n%s", args, r)
		}
		if r := h.run(append([]string{"session", "start", "--flow", "hello"}, args...)...); r.code != 2 ||
			!strings.Contains(r.stderr, "cannot be set for a compute-instance session") {
			t.Fatalf("session start %v:\n%s", args, r)
		}
	}
	for _, q := range h.fake.Requests()[before:] {
		if q.Method != http.MethodGet {
			t.Fatalf("a refused run sent %s %s", q.Method, q.Path)
		}
	}
}
