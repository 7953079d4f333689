package azureml_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/fakews"
)

// TestFlexFlowSignatureUploaded: a flex flow's flow.flex.yaml is uploaded
// with the entry's signature written in, as pfazure uploads it (recording
// test_eager_flow_meta_generation), read from the code without running it;
// an entry whose signature pfazure refuses is refused before any upload.
func TestFlexFlowSignatureUploaded(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	dir := filepath.Join(h.work, "simple_with_req")
	files := map[string]string{
		"flow.flex.yaml":   "entry: entry:my_flow\nenvironment:\n  python_requirements_txt: requirements.txt\n",
		"entry.py":         "def my_flow(input_val):\n    return input_val\n\nimport sys\nsys.exit('user code must not run during submit')\n",
		"requirements.txt": "",
		"data.jsonl":       "{\"input_val\": \"hello\"}\n",
	}
	for name, content := range files {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.ok("run", "create", "--flow", "simple_with_req", "--data", "simple_with_req/data.jsonl", "--name", "e2e_flex")
	st, ok := h.fake.Run("e2e_flex")
	if !ok {
		t.Fatal("no run")
	}
	blobPath, _ := st.Request["flowDefinitionBlobPath"].(string)
	if !strings.HasSuffix(blobPath, "/simple_with_req/flow.flex.yaml") {
		t.Fatalf("flowDefinitionBlobPath %q", blobPath)
	}
	got, err := h.fake.ReadBlob(context.Background(), blobPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "entry: entry:my_flow\nenvironment:\n  python_requirements_txt: requirements.txt\ninputs:\n  input_val:\n    type: object\n"
	if string(got) != want {
		t.Fatalf("uploaded flow.flex.yaml:\n%s\nwant (as pfazure uploaded it):\n%s", got, want)
	}
	local, _ := os.ReadFile(filepath.Join(dir, "flow.flex.yaml"))
	if string(local) != files["flow.flex.yaml"] {
		t.Fatalf("the local flow.flex.yaml was changed:\n%s", local)
	}

	// A signature pfazure refuses stops the run before anything is uploaded.
	if err := os.WriteFile(filepath.Join(dir, "entry.py"), []byte("from typing import List\ndef my_flow(input_val: List[str]):\n    return 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.fake.ResetRequests()
	r := h.run("run", "create", "--flow", "simple_with_req", "--data", "simple_with_req/data.jsonl", "--name", "e2e_flex2")
	if r.code != 2 || !strings.Contains(r.stderr, "complex python type") {
		t.Fatalf("a complex input type:\n%s", r)
	}
	if n := h.fake.Count(http.MethodPut, ".*") + h.fake.Count(http.MethodPost, "/BulkRuns/submit$"); n != 0 {
		t.Fatalf("%d uploads or submits for a refused run", n)
	}
}

// TestFlexEntryWithoutYAML: --flow module:function with no flow.flex.yaml
// uploads the flow.flex.yaml pfazure generates for it (recording
// test_eager_flow_run_without_yaml).
func TestFlexEntryWithoutYAML(t *testing.T) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	for name, content := range map[string]string{
		"entry.py":   "def my_flow(input_val: str) -> str:\n    return input_val\n",
		"data.jsonl": "{\"input_val\": \"hello\"}\n",
	} {
		if err := os.WriteFile(filepath.Join(h.work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.ok("run", "create", "--flow", "entry:my_flow", "--data", "data.jsonl", "--name", "e2e_noyaml")
	st, ok := h.fake.Run("e2e_noyaml")
	if !ok {
		t.Fatal("no run")
	}
	blobPath, _ := st.Request["flowDefinitionBlobPath"].(string)
	got, err := h.fake.ReadBlob(context.Background(), blobPath)
	if err != nil || !strings.HasSuffix(blobPath, "/flow.flex.yaml") {
		t.Fatalf("%s: %v", blobPath, err)
	}
	if want := "entry: entry:my_flow\ninputs:\n  input_val:\n    type: string\n"; string(got) != want {
		t.Fatalf("uploaded flow.flex.yaml:\n%s\nwant (as pfazure uploaded it):\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(h.work, "flow.flex.yaml")); err == nil {
		t.Fatal("a flow.flex.yaml was written into the user's folder")
	}
}
