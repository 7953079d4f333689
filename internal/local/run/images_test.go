package run

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// TestWriterKeepsImages: an image a tool returned (base64, inside a list and
// a dict) and an image file a line read are stored in the run's images/
// folder, the records refer to them there, and the bytes are the same.
func TestWriterKeepsImages(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "in.png")
	pngIn := []byte("\x89PNG\r\n\x1a\ninput")
	pngOut := []byte("\x89PNG\r\n\x1a\noutput")
	jpg := []byte("\xff\xd8\xffjpeg")
	if err := os.WriteFile(src, pngIn, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	line := executor.LineResult{LineNumber: 0, Status: executor.StatusCompleted,
		Inputs: pyjson.ObjectOf(map[string]any{"image": map[string]any{"data:image/png;path": src}, "n": 1}),
		Outputs: pyjson.ObjectOf(map[string]any{
			"made":  map[string]any{"data:image/png;base64": b64(pngOut)},
			"list":  []any{map[string]any{"data:image/jpeg;base64": b64(jpg)}, "text"},
			"url":   map[string]any{"data:image/png;url": "https://example.test/a.png"},
			"plain": map[string]any{"k": "v"},
		})}
	if err := w.Line(line); err != nil {
		t.Fatal(err)
	}
	if err := w.NodeRun(executor.NodeRunRecord{Node: "made", Line: 0, Status: executor.StatusCompleted,
		Output: map[string]any{"data:image/png;base64": b64(pngOut)}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if line.Outputs.Map()["made"].(map[string]any)["data:image/png;base64"] == nil {
		t.Error("the caller's line was changed")
	}
	var rec struct {
		Inputs  map[string]any `json:"inputs"`
		Outputs map[string]any `json:"outputs"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, LinesFile))
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	file := func(v any, key string) []byte {
		t.Helper()
		p, _ := v.(map[string]any)[key].(string)
		if !strings.HasPrefix(p, ImagesDir+"/") {
			t.Fatalf("%s: %v does not refer to the run's images", key, v)
		}
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if got := file(rec.Inputs["image"], "data:image/png;path"); !bytes.Equal(got, pngIn) {
		t.Errorf("input image %q", got)
	}
	if got := file(rec.Outputs["made"], "data:image/png;path"); !bytes.Equal(got, pngOut) {
		t.Errorf("made %q", got)
	}
	l := rec.Outputs["list"].([]any)
	if got := file(l[0], "data:image/jpeg;path"); !bytes.Equal(got, jpg) || l[1] != "text" {
		t.Errorf("list %v", l)
	}
	if p := l[0].(map[string]any)["data:image/jpeg;path"].(string); !strings.HasSuffix(p, ".jpg") {
		t.Errorf("a jpeg is stored as %s", p)
	}
	if rec.Outputs["url"].(map[string]any)["data:image/png;url"] != "https://example.test/a.png" || rec.Outputs["plain"].(map[string]any)["k"] != "v" {
		t.Errorf("outputs without stored images changed: %v", rec.Outputs)
	}
	var node struct {
		Output map[string]any `json:"output"`
	}
	b, _ = os.ReadFile(filepath.Join(dir, NodeRunsFile))
	if err := json.Unmarshal(b, &node); err != nil {
		t.Fatal(err)
	}
	if got := file(node.Output, "data:image/png;path"); !bytes.Equal(got, pngOut) {
		t.Errorf("node output %q", got)
	}
}

// TestWriterImageReadErrorIsReported: an input image that vanished before the
// line was recorded is an error, not a silently dropped value.
func TestWriterImageReadErrorIsReported(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.Line(executor.LineResult{Inputs: pyjson.ObjectOf(map[string]any{"image": map[string]any{"data:image/png;path": "/nonexistent/x.png"}})})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/x.png") {
		t.Fatalf("err = %v", err)
	}
}

// TestAbsImages: the image paths of a run's records, relative to its
// folder, become absolute for a run that reads them (an evaluation run);
// absolute paths, base64 and URLs and other values stay.
func TestAbsImages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs", "parent")
	abs := filepath.Join(t.TempDir(), "x.png")
	tests := []struct {
		name    string
		in, out any
	}{
		{"relative path", map[string]any{"data:image/png;path": "images/a.png"},
			map[string]any{"data:image/png;path": filepath.Join(dir, "images", "a.png")}},
		{"nested in lists and dicts", []any{"red", map[string]any{"nested": map[string]any{"data:image/jpeg;path": "images/b.jpg"}}},
			[]any{"red", map[string]any{"nested": map[string]any{"data:image/jpeg;path": filepath.Join(dir, "images", "b.jpg")}}}},
		{"absolute path", map[string]any{"data:image/png;path": abs}, map[string]any{"data:image/png;path": abs}},
		{"base64", map[string]any{"data:image/png;base64": "AAAA"}, map[string]any{"data:image/png;base64": "AAAA"}},
		{"url", map[string]any{"data:image/png;url": "https://x/a.png"}, map[string]any{"data:image/png;url": "https://x/a.png"}},
		{"no image", map[string]any{"answer": "images/a.png"}, map[string]any{"answer": "images/a.png"}},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AbsImages(dir, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.out, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// A relative path that leaves the run's folder is refused, also deep
	// inside a value.
	for _, hostile := range []any{
		map[string]any{"data:image/png;path": "../other/a.png"},
		[]any{"x", map[string]any{"k": map[string]any{"data:image/png;path": "images/../../../etc/passwd"}}},
	} {
		if got, err := AbsImages(dir, hostile); err == nil {
			t.Errorf("AbsImages(%v) = %v, want an error", hostile, got)
		}
	}
}
