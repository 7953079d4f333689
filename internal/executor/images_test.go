package executor

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// imageDigest replaces every image reference in v with "<mime> <sha1>" of
// its bytes: the files promptflow wrote (by name in files) or pfz's base64
// and absolute-path forms.
func imageDigest(t *testing.T, v any, files map[string]string) any {
	t.Helper()
	if mt, kind, payload, ok := ImageRef(v); ok {
		var sum string
		switch kind {
		case "base64":
			b, err := base64.StdEncoding.DecodeString(payload)
			if err != nil {
				t.Fatal(err)
			}
			h := sha1.Sum(b)
			sum = hex.EncodeToString(h[:])
		case "path":
			if s, ok := files[payload]; ok {
				sum = s
			} else {
				b, err := os.ReadFile(payload)
				if err != nil {
					t.Fatal(err)
				}
				h := sha1.Sum(b)
				sum = hex.EncodeToString(h[:])
			}
		default:
			t.Fatalf("unexpected image form %s", kind)
		}
		return mt + " " + sum
	}
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = imageDigest(t, e, files)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = imageDigest(t, e, files)
		}
		return s
	}
	return v
}

// TestImageFlow runs testdata/flows/images and compares each line with what
// promptflow 1.18.5 wrote: the same lines complete, each tool sees an Image
// of the same bytes and mime type, and every image output (made by a tool,
// inside lists and dicts, or a flow input passed through) has the same bytes;
// the aggregation node gets Images too, and logs the same metrics.
func TestImageFlow(t *testing.T) {
	cfg, sink := baseConfig(t, "images")
	cfg.Data = filepath.Join(cfg.Flow.Dir, "data", "data.jsonl")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Completed != 3 || sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if l := sink.lines[0]; l.Status != StatusFailed || !strings.Contains(l.Error.Message, "Failed to load image for input 'image'") {
		t.Errorf("line 0: %s %+v", l.Status, l.Error)
	}
	var files map[string]string
	b, err := os.ReadFile(filepath.Join(cfg.Flow.Dir, "expected_images.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &files); err != nil {
		t.Fatal(err)
	}
	var agg struct {
		Metrics map[string]any `json:"metrics"`
		Agg     any            `json:"agg"`
	}
	b, err = os.ReadFile(filepath.Join(cfg.Flow.Dir, "expected_aggregation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &agg); err != nil {
		t.Fatal(err)
	}
	var gotMetrics map[string]any
	_ = json.Unmarshal([]byte(jsonOf(sink.metrics)), &gotMetrics)
	if diff := cmp.Diff(agg.Metrics, gotMetrics); diff != "" {
		t.Errorf("metrics of the aggregation over images (-promptflow +pfz):\n%s", diff)
	}
	if n := sink.node(-1, "agg"); n == nil {
		t.Error("no aggregation node run")
	} else {
		var got any
		_ = json.Unmarshal([]byte(jsonOf(n.Output)), &got)
		if diff := cmp.Diff(agg.Agg, got); diff != "" {
			t.Errorf("aggregation output (-promptflow +pfz):\n%s", diff)
		}
	}
	for _, row := range readJSONLines(t, filepath.Join(cfg.Flow.Dir, "expected.jsonl")) {
		var n int
		_ = json.Unmarshal(row["line_number"], &n)
		want := map[string]any{}
		got := map[string]any{}
		for k, raw := range row {
			if k == "line_number" {
				continue
			}
			var v any
			_ = json.Unmarshal(raw, &v)
			want[k] = imageDigest(t, v, files)
			var g any
			_ = json.Unmarshal([]byte(jsonOf(sink.lines[n].Outputs.Map()[k])), &g)
			got[k] = imageDigest(t, g, nil)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("line %d differs from promptflow (-promptflow +pfz):\n%s", n, diff)
		}
	}
}

func readJSONLines(t *testing.T, path string) []map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]json.RawMessage
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m)
	}
	return rows
}
