package azureml_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/fakews"
)

// TestWorkspaceConnections: on the azureml target the connection commands
// act on the workspace's connections over ARM; secrets go to the workspace
// and are never read back or printed; a run's --connections is checked
// against the workspace before anything is uploaded.
func TestWorkspaceConnections(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	const secret = "sk-e2e-DO-NOT-PRINT-1234567890"
	h.fake.AddConnection("shared_custom", map[string]any{"category": "CustomKeys", "authType": "CustomKeys", "target": "_",
		"metadata": map[string]any{"endpoint": "https://example.invalid"}, "credentials": map[string]any{"keys": map[string]any{"token": secret}}})

	r := h.ok("connection", "list", "-o", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 {
		t.Fatalf("connection list: %v\n%s", err, r)
	}
	if list[0]["name"] != "shared_custom" || list[0]["type"] != "custom" {
		t.Fatalf("listed %v", list[0])
	}
	if sec, _ := list[0]["secrets"].(map[string]any); sec["token"] != "******" {
		t.Fatalf("the secret's name is not shown masked: %v", list[0])
	}
	if h.fake.Count(http.MethodGet, "/connections$") != 1 {
		t.Fatalf("connection list did not read the workspace:\n%v", h.fake.Requests())
	}
	if !strings.Contains(r.stderr, "target azureml") {
		t.Errorf("no target note:\n%s", r.stderr)
	}

	// create: the secret goes to the workspace only.
	r = h.ok("connection", "create", "-n", "my_aoai", "--type", "azure_open_ai",
		"--set", "api_base=https://x.openai.azure.com/", "api_version=2024-02-01", "--secret", "api_key="+secret)
	props, ok := h.fake.ConnectionProps("my_aoai")
	if !ok || props["category"] != "AzureOpenAI" || props["target"] != "https://x.openai.azure.com/" || props["authType"] != "ApiKey" {
		t.Fatalf("workspace holds %v", props)
	}
	if c, _ := props["credentials"].(map[string]any); c["key"] != secret {
		t.Fatalf("the key did not reach the workspace: %v", props)
	}
	r2 := h.ok("connection", "show", "-n", "my_aoai", "-o", "json")
	for _, out := range []result{r, r2} {
		if strings.Contains(out.stdout+out.stderr, secret) {
			t.Fatalf("a secret was printed:\n%s", out)
		}
	}
	if !strings.Contains(r2.stdout, `"api_version": "2024-02-01"`) || !strings.Contains(r2.stdout, `"api_key": "******"`) {
		t.Fatalf("connection show:\n%s", r2)
	}
	if n := h.fake.Count(http.MethodPost, "/listsecrets$"); n != 0 {
		t.Fatalf("pfz read secrets back (%d listsecrets)", n)
	}
	if r := h.run("connection", "show", "-n", "nope"); r.code == 0 || !strings.Contains(r.stderr, `connection "nope" not found`) {
		t.Fatalf("show of an unknown connection:\n%s", r)
	}

	// --connections naming a missing connection: exit 2, nothing uploaded or submitted.
	h.writeFlow("Ada")
	h.fake.ResetRequests()
	r = h.run("run", "create", "-f", "hello/run.yml", "--name", "e2e_conn", "--connections", "greet.connection=missing_conn")
	if r.code != 2 || !strings.Contains(r.stderr, `"missing_conn"`) {
		t.Fatalf("run with a missing connection:\n%s", r)
	}
	if n := h.fake.Count(http.MethodPut, ".*") + h.fake.Count(http.MethodPost, "/BulkRuns/submit$"); n != 0 {
		t.Fatalf("%d uploads or submits for a run refused before submit", n)
	}
	// An existing one passes the check.
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "e2e_conn2", "--connections", "greet.connection=my_aoai")

	// delete needs --yes, then removes it from the workspace.
	if r := h.run("connection", "delete", "-n", "my_aoai"); r.code == 0 {
		t.Fatalf("delete without --yes:\n%s", r)
	}
	h.ok("connection", "delete", "-n", "my_aoai", "--yes")
	if _, ok := h.fake.ConnectionProps("my_aoai"); ok {
		t.Fatal("the connection is still in the workspace")
	}
}
