package snapshot

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkBuild builds the snapshot of a flow folder with 1,000 files of
// 4 KiB in 20 folders, plus an included folder of 100 more and an ignore file.
func BenchmarkBuild(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "flow")
	files := tree{
		"flow/flow.dag.yaml":    minimalFlow + "additional_includes:\n  - ../lib\n",
		"flow/.gitignore":       "*.log\nbuild/\n",
		"flow/requirements.txt": "numpy\n",
	}
	body := strings.Repeat("x", 4096)
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("flow/d%02d/f%04d.py", i%20, i)] = body
	}
	for i := 0; i < 100; i++ {
		files[fmt.Sprintf("lib/m%03d.py", i)] = body
	}
	writeTree(b, root, files)
	f := newFlow(dir, "../lib")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, _, err := build(b, f, Options{IgnoreToolsJSON: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Files) != 1103 {
			b.Fatalf("%d files", len(s.Files))
		}
	}
}
