package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

// TestCorpusBuild loads every flow of the promptflow fixture corpus with
// flow.Load and builds its snapshot. Only the fixtures whose includes are
// missing from the corpus (or on purpose) may fail, and with the include's
// position.
func TestCorpusBuild(t *testing.T) {
	flows := shared.Path(t, "conformance", "promptflow", "test_configs", "flows")
	mayFail := map[string]bool{
		"web_classification_with_invalid_additional_include": true, // ../invalid/file/path, on purpose
		"web_classification_invalid":                         true, // ../external_files/*.py: code files left out of the corpus
	}
	entries, err := os.ReadDir(flows)
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		f, _, err := flow.Load(filepath.Join(flows, e.Name()))
		if err != nil {
			continue // not a flow folder (support files)
		}
		s, d, err := Build(context.Background(), f, Options{IgnoreToolsJSON: f.Language != "csharp"})
		if mayFail[e.Name()] {
			x := find(d, CodeIncludeNotFound)
			if err == nil || x == nil || x.Line == 0 || x.File != f.File {
				t.Errorf("%s: want %s at the include's line, got %v", e.Name(), CodeIncludeNotFound, d)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		built++
		if e.Name() == "flow_with_additional_include_req" {
			y := fileByRel(s, s.FlowFile)
			if fileByRel(s, "requirements") == nil || strings.Contains(string(y.Content), "additional_includes") {
				t.Errorf("%s: want the included requirements and no additional_includes, got %v\n%s", e.Name(), rels(s.Files), y.Content)
			}
		}
		for _, fr := range s.Files {
			if fr.Rel == ".promptflow/flow.tools.json" && f.Language != "csharp" {
				t.Errorf("%s: flow.tools.json shipped", e.Name())
			}
		}
	}
	t.Logf("built %d corpus flows", built)
	if built < 100 {
		t.Errorf("only %d corpus flows built", built)
	}
}
