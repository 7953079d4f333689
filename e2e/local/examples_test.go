package local_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

// TestEveryExampleRuns: each folder of examples/ is run by some script
// (named there as $EXAMPLES/<name>) or by the shared home's setup, so an
// example that stops working fails a test.
func TestEveryExampleRuns(t *testing.T) {
	root := filepath.Join(shared.RepoRoot(), "examples")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var corpus strings.Builder
	scripts, _ := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	for _, f := range append(scripts, "main_test.go") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		corpus.Write(b)
	}
	text := corpus.String()
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n := e.Name()
		if !strings.Contains(text, "$EXAMPLES/"+n) && !strings.Contains(text, `"`+n+"/run.yml") {
			t.Errorf("examples/%s is run by no e2e script: add it to one (e.g. `pfz run create -f $EXAMPLES/%s/run.yml`)", n, n)
		}
	}
}
