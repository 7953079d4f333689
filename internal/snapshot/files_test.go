package snapshot

import (
	"context"
	"crypto/md5"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func TestListDir(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"a.jsonl": "{}", "sub/b.jsonl": "{}", ".gitignore": "*.tmp\n", "x.tmp": "t", ".git/HEAD": "h", "empty/": ""})
	got, err := ListDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Data uploads apply only the folder's ignore file: .git stays, as in pfazure.
	if diff := cmp.Diff([]string{".git/HEAD", ".gitignore", "a.jsonl", "sub/b.jsonl"}, rels(got)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if got[2].Abs != filepath.Join(dir, "a.jsonl") || got[2].Size != 2 {
		t.Errorf("a.jsonl = %+v", got[2])
	}

	empty := t.TempDir()
	if _, err := ListDir(context.Background(), empty); !fault.Is(err, fault.Validation) || fault.HintOf(err) == "" {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := ListDir(context.Background(), filepath.Join(dir, "a.jsonl")); !fault.Is(err, fault.Usage) {
		t.Errorf("a file: %v", err)
	}
	if _, err := ListDir(context.Background(), filepath.Join(dir, "nope")); !fault.Is(err, fault.Validation) {
		t.Errorf("missing: %v", err)
	}
	out := t.TempDir()
	writeTree(t, out, tree{"secret": "s", "data/a.jsonl": "{}", "data/link": "->../secret"})
	_, err = ListDir(context.Background(), filepath.Join(out, "data"))
	if !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "outside") {
		t.Errorf("link out of the data folder: %v", err)
	}
}

func TestHashErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"a": "abc"})
	a := filepath.Join(dir, "a")
	for _, tc := range []struct {
		name  string
		files []workspace.FileRef
		want  string
	}{
		{"size changed", []workspace.FileRef{{Rel: "a", Abs: a, Size: 2}}, "changed"},
		{"vanished", []workspace.FileRef{{Rel: "a", Abs: filepath.Join(dir, "gone"), Size: 1}}, "gone"},
		{"duplicate", []workspace.FileRef{{Rel: "a", Abs: a, Size: 3}, {Rel: "a", Abs: a, Size: 3}}, "twice"},
		{"file and folder", []workspace.FileRef{{Rel: "a", Abs: a, Size: 3}, {Rel: "a/b", Abs: a, Size: 3}}, "twice"},
		{"escape", []workspace.FileRef{{Rel: "../a", Abs: a, Size: 3}}, "unsafe"},
		{"absolute", []workspace.FileRef{{Rel: "/a", Abs: a, Size: 3}}, "unsafe"},
		{"empty part", []workspace.FileRef{{Rel: "x//a", Abs: a, Size: 3}}, "unsafe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Hash(context.Background(), tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) || fault.HintOf(err) == "" {
				t.Errorf("Hash: %v, want an error with %q and a hint", err, tc.want)
			}
		})
	}
	// Content stands in for the file's bytes.
	h1, err := Hash(context.Background(), []workspace.FileRef{{Rel: "a", Abs: filepath.Join(dir, "gone"), Content: []byte("abc")}})
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := Hash(context.Background(), []workspace.FileRef{{Rel: "a", Abs: a, Size: 3}})
	if h1 != h2 {
		t.Errorf("content and file disagree: %s vs %s", h1, h2)
	}
	if _, err := HashFile(context.Background(), dir); !fault.Is(err, fault.Usage) {
		t.Errorf("HashFile(context.Background(), folder): %v", err)
	}
	if _, err := HashFile(context.Background(), filepath.Join(dir, "gone")); !fault.Is(err, fault.Validation) {
		t.Errorf("HashFile(context.Background(), missing): %v", err)
	}
}

func TestHashOrdersLikePython(t *testing.T) {
	// Python sorts by the lower-cased path: "B.txt" between "a" and "c", and
	// "İ" lower-cases to "i̇" (i + U+0307), so it comes after "i" + U+0300;
	// Go's simple mapping ("İ" to "i") would put it first.
	files := []workspace.FileRef{
		{Rel: "c", Content: []byte("3")}, {Rel: "a", Content: []byte("1")}, {Rel: "B.txt", Content: []byte("2")},
		{Rel: "j", Content: []byte("5")}, {Rel: "İ", Content: []byte("4")}, {Rel: "i\u0300", Content: []byte("0")},
	}
	got, err := Hash(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	want := md5Hex(hashSeed + "a1" + "B.txt2" + "c3" + "i\u03000" + "İ4" + "j5")
	if got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
}

func TestMaterialize(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"flow/flow.dag.yaml": minimalFlow, "flow/requirements.txt": "x\n", "flow/sub/a.py": "a", "lib/b.py": "b"})
	f := newFlow(filepath.Join(dir, "flow"), "../lib")
	s, _ := mustBuild(t, f, Options{})
	dest := filepath.Join(t.TempDir(), "out")
	if err := Materialize(context.Background(), s, dest); err != nil {
		t.Fatal(err)
	}
	for _, fr := range s.Files {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(fr.Rel)))
		if err != nil {
			t.Fatal(err)
		}
		want := fr.Content
		if want == nil {
			want, _ = os.ReadFile(fr.Abs)
		}
		if string(got) != string(want) {
			t.Errorf("%s = %q, want %q", fr.Rel, got, want)
		}
	}
	// What was written hashes like the snapshot (no empty folders here).
	written, err := ListDir(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := Hash(context.Background(), written); h != s.Hash {
		t.Errorf("materialized tree hashes to %s, snapshot says %s", h, s.Hash)
	}
	if err := Materialize(context.Background(), s, dest); !fault.Is(err, fault.Usage) {
		t.Errorf("second write into a non-empty folder: %v", err)
	}

	// A source that changed since Build is refused.
	if err := os.WriteFile(filepath.Join(dir, "lib", "b.py"), []byte("bigger"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Materialize(context.Background(), s, t.TempDir()); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("changed source: %v", err)
	}
}

func TestMaterializeHostilePaths(t *testing.T) {
	src := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"../evil", "/etc/evil", "a/../../evil", "a//b", "", "./a"} {
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		s := &workspace.Snapshot{Files: []workspace.FileRef{{Rel: "ok", Abs: src, Size: 1}, {Rel: rel, Abs: src, Size: 1}}}
		err := Materialize(context.Background(), s, dest)
		if err == nil {
			t.Errorf("Rel %q accepted", rel)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("Rel %q: something was written before the check: %v", rel, entries)
		}
	}
	if err := Materialize(context.Background(), nil, t.TempDir()); !fault.Is(err, fault.Usage) {
		t.Errorf("nil snapshot: %v", err)
	}
}

// TestCorpusFlowHashes compares Build with hashes of corpus flows computed by
// an independent Python implementation of Azure ML's get_object_hash using
// the pathspec library and PromptflowIgnoreFile's patterns (tools json
// ignored). intent-copilot has "data/" in its .amlignore: pathspec keeps the
// folder's name in the hash.
func TestCorpusFlowHashes(t *testing.T) {
	flows := shared.Path(t, "conformance", "promptflow", "test_configs", "flows")
	for name, want := range map[string]string{
		"intent-copilot":                "3b8e5296adb079b4782b2789e0c7dc56",
		"print_env_var_with_aml_ignore": "3a55dd28efbc3b73d017a1ad2837c949",
		"flow_with_ignore_file":         "64b0e5ba99065046a25803ac233237d7",
		"web_classification":            "0e2edc3ac9e4810dab3871f6a922bf03",
		"chat_flow":                     "98433b8c83d50d23746f902cb1e59c1b",
		"basic-with-connection":         "ba0b74ca4b80f3edc4dfba74af1baeae",
	} {
		dir := filepath.Join(flows, name)
		f := &flow.Flow{Dir: dir, Path: filepath.Join(dir, "flow.dag.yaml"), Kind: flow.KindDAG}
		s, _, err := Build(context.Background(), f, Options{IgnoreToolsJSON: true})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if s.Hash != want {
			t.Errorf("%s: hash %s, want %s", name, s.Hash, want)
		}
	}
}

func md5Hex(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
