package executor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPromptflowAPIInShim runs testdata/flows/pyapi, whose tool imports
// promptflow.tracing, promptflow.contracts.multimedia and
// AssistantDefinition and reports how its module was loaded, and compares the
// output with what promptflow 1.18.5 returned (expected.json, from
// `pf flow test --flow . --inputs n=3`).
func TestPromptflowAPIInShim(t *testing.T) {
	cfg, sink := baseConfig(t, "pyapi")
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	line := sink.lines[0]
	if line.Status != StatusCompleted {
		t.Fatalf("line: %s %+v", line.Status, line.Error)
	}
	var got, want any
	if err := json.Unmarshal([]byte(jsonOf(line.Outputs)), &got); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Flow.Dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs differ from promptflow's (-promptflow +pfz):\n%s", diff)
	}
}
