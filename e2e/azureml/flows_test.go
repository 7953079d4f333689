package azureml_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/fakews"
)

// TestWorkspaceFlows: flow create uploads the flow folder to the
// workspace's file share and makes a workspace flow (as the
// test_flow_operations_* recordings show); a second create of the same
// display name updates that flow instead of making another; show, list and
// update read and change it.
func TestWorkspaceFlows(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	flowDir := h.writeFlow("Ada")
	r := h.ok("flow", "create", "--flow", "hello", "--set", "display_name=web flow", "type=evaluation", "description=first", "tags.team=search", "-o", "json")
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	id, _ := doc["name"].(string)
	path, _ := doc["path"].(string)
	if doc["display_name"] != "web flow" || doc["type"] != "evaluation" || doc["description"] != "first" || !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
		t.Fatalf("created %v", doc)
	}
	if !regexp.MustCompile(`^Users/[^/]+/promptflow/hello-\d\d-\d\d-\d{4}-\d\d-\d\d-\d\d/flow\.dag\.yaml$`).MatchString(path) {
		t.Fatalf("flow path %q", path)
	}
	if !strings.Contains(r.stderr, "created flow "+id) {
		t.Errorf("stderr does not say what was done:\n%s", r.stderr)
	}
	folder := strings.TrimSuffix(path, "/flow.dag.yaml")
	files := h.fake.ShareFiles(folder + "/")
	greet, _ := os.ReadFile(filepath.Join(flowDir, "greet.py"))
	if files[folder+"/greet.py"] != string(greet) || files[folder+"/flow.dag.yaml"] == "" {
		t.Fatalf("file share holds %v", keys(files))
	}

	// show and list.
	r = h.ok("flow", "show", "-n", id, "-o", "json")
	if !strings.Contains(r.stdout, `"display_name": "web flow"`) {
		t.Fatalf("flow show:\n%s", r)
	}
	r = h.ok("flow", "list", "-o", "json", "--type", "evaluation")
	if !strings.Contains(r.stdout, id) {
		t.Fatalf("flow list:\n%s", r)
	}
	if r := h.ok("flow", "list", "-o", "json", "--type", "chat"); strings.Contains(r.stdout, id) {
		t.Fatalf("flow list --type chat shows an evaluation flow:\n%s", r)
	}

	// The same display name again: the flow is updated, not duplicated; a
	// file removed from the folder leaves the share.
	if err := os.WriteFile(filepath.Join(flowDir, "extra.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.ok("flow", "create", "--flow", "hello", "--set", "display_name=web flow", "description=second")
	if err := os.Remove(filepath.Join(flowDir, "extra.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(flowDir, "greet.py"), []byte("from promptflow.core import tool\n\n\n@tool\ndef greet(name: str) -> str:\n    return \"Hi, \" + name\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = h.ok("flow", "create", "--flow", "hello", "--set", "display_name=web flow", "description=third", "-o", "json")
	if !strings.Contains(r.stderr, "updated existing flow "+id) || !strings.Contains(r.stdout, `"description": "third"`) || !strings.Contains(r.stdout, `"team": "search"`) {
		t.Fatalf("second create (tags kept, description changed):\n%s", r)
	}
	if r := h.run("flow", "create", "--flow", "hello", "--set", "display_name=web flow", "type=chat"); r.code != 2 || !strings.Contains(r.stderr, "cannot change") {
		t.Fatalf("a type change on refresh:\n%s", r)
	}
	files = h.fake.ShareFiles(folder + "/")
	if _, left := files[folder+"/extra.txt"]; left || !strings.Contains(files[folder+"/greet.py"], "Hi, ") {
		t.Fatalf("after the update the share holds %v", files)
	}
	if n := h.fake.Count(http.MethodPost, "/Flows$"); n != 1 {
		t.Fatalf("%d flows were created", n)
	}
	// --new makes another.
	r = h.ok("flow", "create", "--flow", "hello", "--set", "display_name=web flow", "--new", "-o", "json")
	if strings.Contains(r.stdout, id) {
		t.Fatalf("--new reused the flow:\n%s", r)
	}

	// update keeps the display name when not given (pfazure renames the flow to its GUID).
	r = h.ok("flow", "update", "--flow", id, "--set", "tags.stage=prod", "-o", "json")
	if !strings.Contains(r.stdout, `"display_name": "web flow"`) || !strings.Contains(r.stdout, `"stage": "prod"`) || !strings.Contains(r.stdout, `"team": "search"`) {
		t.Fatalf("flow update:\n%s", r)
	}
	if r := h.run("flow", "show", "-n", "00000000-0000-0000-0000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("show of an unknown flow:\n%s", r)
	}
	if r := h.run("flow", "list", "--archived-only", "--include-archived"); r.code != 2 {
		t.Fatalf("both archive flags:\n%s", r)
	}
	if r := h.run("flow", "show", "-n", id, "--target", "local"); r.code != 2 || !strings.Contains(r.stderr, "azureml target") {
		t.Fatalf("flow show on local:\n%s", r)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
