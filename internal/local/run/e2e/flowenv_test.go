package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/local"
	"github.com/pfz-cli/pfz/internal/runspec"
)

// Python workers never inherit pfz's credentials or settings (issue 9,
// item 11): a flow printing its environment sees neither
// PFZ_PRIVATE_FEED_TOKEN nor AZURE_CLIENT_SECRET, but does see an ordinary
// variable and what the run declares in environment_variables.
func TestWorkersDoNotInheritCredentials(t *testing.T) {
	e := need(t)
	helloRun(t)
	env := append(isolatedEnv(), "PFZ_PRIVATE_FEED_TOKEN=feed-tok-0001", "AZURE_CLIENT_SECRET=sp-secret-0002", "MY_SETTING=visible")
	ws, err := local.New(local.WorkspaceOptions{Sessions: e.sessions, Env: env, Poll: 50 * time.Millisecond, CancelWait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFlow(t, map[string]string{
		"flow.dag.yaml": `inputs:
  name:
    type: string
outputs:
  env:
    type: string
    reference: ${show.output}
nodes:
- name: show
  type: python
  source:
    type: code
    path: show.py
  inputs:
    name: ${inputs.name}
`,
		"show.py": `import os
from promptflow.core import tool

@tool
def show(name: str) -> str:
    return "|".join(k + "=" + os.environ.get(k, "-") for k in ["PFZ_PRIVATE_FEED_TOKEN", "AZURE_CLIENT_SECRET", "MY_SETTING", "DECLARED"])
`,
		"data.jsonl": `{"name": "x"}` + "\n",
	})
	sub := onSharedSession(t, resolve(t, runspec.Flags{
		Flow: dir, Data: filepath.Join(dir, "data.jsonl"), Name: "flow_env",
		EnvironmentVariables: []string{"DECLARED=yes"}, EnvironmentVariablesGiven: true,
	}, dir))
	if _, err := ws.Runs().Submit(context.Background(), sub, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := ws.Runs().Details(context.Background(), "flow_env", 0)
	if err != nil || len(rows) != 1 {
		t.Fatalf("details: %v %v", rows, err)
	}
	got, _ := rows[0].Outputs.Map()["env"].(string)
	if want := "PFZ_PRIVATE_FEED_TOKEN=-|AZURE_CLIENT_SECRET=-|MY_SETTING=visible|DECLARED=yes"; got != want {
		t.Fatalf("the flow saw %q, want %q", got, want)
	}
	// flow test runs the same code with the same environment rules.
	tsub := onSharedSession(t, resolve(t, runspec.Flags{
		Flow: dir, Data: filepath.Join(dir, "data.jsonl"), Name: "flow_env_test",
		EnvironmentVariables: []string{"DECLARED=yes"}, EnvironmentVariablesGiven: true,
	}, dir))
	lr, err := ws.TestFlow(context.Background(), tsub, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := lr.Line(context.Background(), executor.LineTest{Inputs: map[string]any{"name": "x"}})
	lr.Close()
	if tgot, _ := res.Outputs.Map()["env"].(string); tgot != "PFZ_PRIVATE_FEED_TOKEN=-|AZURE_CLIENT_SECRET=-|MY_SETTING=visible|DECLARED=yes" {
		t.Fatalf("flow test: the flow saw %q (%+v)", tgot, res.Error)
	}
	// Nor is either value written anywhere in the run's folder.
	if err := filepath.Walk(ws.LocalRuns().Dir("flow_env"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "feed-tok-0001") || strings.Contains(string(b), "sp-secret-0002") {
				t.Errorf("%s holds a credential", p)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
