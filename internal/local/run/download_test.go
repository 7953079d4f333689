package run

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func sampleRun(t *testing.T) string {
	t.Helper()
	var lines []executor.LineResult
	for i := 29; i >= 0; i-- { // written out of order, as lines finish
		st := "Completed"
		if i == 3 {
			st = "Failed"
		}
		lines = append(lines, line(i, st, map[string]any{"url": "https://x/" + string(rune('a'+i%26))}, map[string]any{"category": "App", "evidence": "Both"}))
	}
	nodes := []executor.NodeRunRecord{
		{Node: "classify", Line: 0, Status: "Completed", Inputs: map[string]any{"u": 1}, Output: "App", Start: t0, End: t0.Add(time.Second)},
		{Node: "classify", Line: 3, Status: "Failed", Error: &executor.LineError{Code: "UserError", Message: "bad"}, Start: t0, End: t0},
		{Node: "summary", Line: -1, Status: "Completed", Output: 0.5, Start: t0, End: t0},
		{Node: "../escape", Line: 1, Status: "Completed"}, // never a path outside node_artifacts
	}
	dir := writeRun(t, lines, nodes)
	if err := WriteMetrics(dir, pyjson.ObjectOf(map[string]any{"accuracy": 0.5})); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, SnapshotDir)
	for _, f := range []string{"flow.dag.yaml", "sub/tool.py", "__pycache__/tool.cpython-311.pyc"} {
		if err := os.MkdirAll(filepath.Join(snap, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(snap, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	if err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestDownloadLayout(t *testing.T) {
	src := sampleRun(t)
	created := t0
	view := &workspace.Run{Name: "web_run", Status: workspace.RunCompleted, Target: workspace.TargetLocal, CreatedOn: &created}
	out := t.TempDir()
	p, err := Download(context.Background(), DownloadOptions{Src: src, Run: view, BatchSize: 4, Dir: out})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "download/tree.txt", []byte(strings.Join(tree(t, p), "\n")+"\n"))
	for _, f := range []string{"meta.json", "metrics.json", "run_metadata.json", "flow_outputs/output.jsonl",
		"node_artifacts/classify/000000003.jsonl", "node_artifacts/summary/aggregation.jsonl"} {
		b, err := os.ReadFile(filepath.Join(p, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "flow_outputs/output.jsonl" {
			b = []byte(strings.Join(strings.SplitAfter(string(b), "\n")[:5], ""))
		}
		golden(t, "download/"+strings.ReplaceAll(f, "/", "__"), b)
	}
	inst, _ := os.ReadFile(filepath.Join(p, "instance_results.jsonl"))
	first := strings.SplitAfter(string(inst), "\n")[:4]
	golden(t, "download/instance_results_head.jsonl", []byte(strings.Join(first, "")))
	fa, _ := os.ReadFile(filepath.Join(p, "flow_artifacts", "000000000_000000024.jsonl"))
	golden(t, "download/flow_artifacts_line0.json", []byte(strings.SplitAfter(string(fa), "\n")[0]))

	// Again: refused without overwrite, replaced with it; nothing half-written stays.
	if _, err := Download(context.Background(), DownloadOptions{Src: src, Run: view, Dir: out}); !fault.Is(err, fault.Usage) {
		t.Errorf("second download: %v", err)
	}
	if err := os.WriteFile(filepath.Join(p, "stale.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Download(context.Background(), DownloadOptions{Src: src, Run: view, Dir: out, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p, "stale.txt")); err == nil {
		t.Error("--overwrite kept an old file")
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 {
		t.Errorf("left in the output folder: %v", ents)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Download(ctx, DownloadOptions{Src: src, Run: &workspace.Run{Name: "other"}, Dir: out}); !fault.Is(err, fault.Interrupted) {
		t.Errorf("canceled download: %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Errorf("a canceled download left %v", ents)
	}
}
