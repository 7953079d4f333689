package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// tree describes files to create: a key ending in "/" is an empty folder, a
// value starting with "->" makes a symlink to the rest of the value.
type tree map[string]string

func writeTree(t testing.TB, root string, files tree) {
	t.Helper()
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join(root, filepath.FromSlash(k))
		if strings.HasSuffix(k, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		v := files[k]
		if target, ok := strings.CutPrefix(v, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const minimalFlow = "inputs:\n  x:\n    type: string\nnodes: []\n"

// newFlow returns a hand-built flow for the flow.dag.yaml in dir. Include
// entries get positions line 100+i, column 5, so tests can check them.
func newFlow(dir string, includes ...string) *flow.Flow {
	f := &flow.Flow{Dir: dir, Path: filepath.Join(dir, "flow.dag.yaml"), Kind: flow.KindDAG}
	for i, inc := range includes {
		f.AdditionalIncludes = append(f.AdditionalIncludes, flow.Include{Path: inc, Pos: flow.Pos{Line: 100 + i, Column: 5}})
	}
	return f
}

func build(t testing.TB, f *flow.Flow, opts Options) (*workspace.Snapshot, diag.List, error) {
	t.Helper()
	return Build(context.Background(), f, opts)
}

func mustBuild(t testing.TB, f *flow.Flow, opts Options) (*workspace.Snapshot, diag.List) {
	t.Helper()
	s, d, err := build(t, f, opts)
	if err != nil {
		t.Fatalf("Build: %v\ndiagnostics: %v", err, d)
	}
	return s, d
}

func rels(files []workspace.FileRef) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Rel
	}
	return out
}

func fileByRel(s *workspace.Snapshot, rel string) *workspace.FileRef {
	for i := range s.Files {
		if s.Files[i].Rel == rel {
			return &s.Files[i]
		}
	}
	return nil
}

// codes lists the diagnostic codes, sorted, with "!" before errors' codes.
func codes(d diag.List) []string {
	var out []string
	for _, x := range d {
		c := x.Code
		if x.Severity == diag.Error {
			c = "!" + c
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func find(d diag.List, code string) *diag.Diagnostic {
	for i := range d {
		if d[i].Code == code {
			return &d[i]
		}
	}
	return nil
}
