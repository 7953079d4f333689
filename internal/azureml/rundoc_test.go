package azureml

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/testutil/replay"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestRunDocumentFromRecordedRundata pins `run show -o json` of the azureml
// target: each recorded run-history answer below, read as pfz reads it, is
// printed in pfazure's run-dictionary shape (testdata/rundoc/*.json). The
// keys pfazure's Run._to_dict writes are checked against its rules too:
// times as Python isoformat, run history's duration text, description
// null, tags {}, every property but input_data/input_run_id, the error
// envelope whole.
func TestRunDocumentFromRecordedRundata(t *testing.T) {
	dir := shared.Path(t, "conformance", "recordings")
	cases := []struct{ recording, run string }{
		{"test_run_operations_TestFlowRun_test_show_run.yaml", ""},
		{"test_run_operations_TestFlowRun_test_failed_run_to_dict_exclude.yaml", ""},
		{"test_run_operations_TestFlowRun_test_basic_evaluation.yaml", "eval_run_name"},
	}
	w, err := New(context.Background(), Options{Subscription: "00000000-0000-0000-0000-000000000000", ResourceGroup: "00000", Workspace: "00000", Credential: &fakeCred{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		name := strings.TrimPrefix(strings.TrimSuffix(c.recording, ".yaml"), "test_run_operations_TestFlowRun_")
		t.Run(name, func(t *testing.T) {
			cas, err := replay.Load(filepath.Join(dir, c.recording))
			if err != nil {
				t.Fatal(err)
			}
			var md *runMetadata
			for _, in := range cas.Interactions {
				if !strings.HasSuffix(in.URI, "/rundata") || in.Method != "POST" {
					continue
				}
				var rec struct {
					RunMetadata *runMetadata `json:"runMetadata"`
				}
				if json.Unmarshal(in.RespBody, &rec) == nil && rec.RunMetadata != nil && (c.run == "" || rec.RunMetadata.RunID == c.run) {
					md = rec.RunMetadata
				}
			}
			if md == nil {
				t.Fatal("no rundata answer in the recording")
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf) // as the printer writes -o json
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "    ")
			if err := enc.Encode(w.toRun(md)); err != nil {
				t.Fatal(err)
			}
			got := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			golden := filepath.Join("testdata", "rundoc", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
				t.Errorf("run document (-golden +got):\n%s", diff)
			}

			var doc map[string]any
			if err := json.Unmarshal(got, &doc); err != nil {
				t.Fatal(err)
			}
			keys := []string{"name", "created_on", "status", "display_name", "description", "tags", "properties",
				"creation_context", "start_time", "end_time", "duration", "portal_url", "data", "output"}
			for _, k := range keys {
				if _, ok := doc[k]; !ok {
					t.Errorf("pfazure's key %s is missing", k)
				}
			}
			if md.Description == "" && doc["description"] != nil {
				t.Errorf("description = %v, pfazure prints null", doc["description"])
			}
			if doc["duration"] != md.Duration {
				t.Errorf("duration = %v, run history says %q", doc["duration"], md.Duration)
			}
			if s, _ := doc["created_on"].(string); !strings.HasSuffix(s, "+00:00") {
				t.Errorf("created_on = %q, want Python's isoformat", s)
			}
			props, _ := doc["properties"].(map[string]any)
			for k := range md.Properties {
				_, shown := props[k]
				if drop := k == pfProp+"input_data" || k == pfProp+"input_run_id"; shown == drop {
					t.Errorf("property %s shown=%v", k, shown)
				}
			}
			if md.Error != nil && md.Error.raw != nil {
				if e, _ := doc["error"].(map[string]any); e == nil || e["error"] == nil {
					t.Errorf("error = %v, want run history's envelope", doc["error"])
				}
			}
		})
	}
}
