package snapshot

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/need"
)

func TestBuildListsAndIgnores(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files tree
		opts  Options
		want  []string
	}{
		{
			name: "built-in ignores",
			files: tree{"flow.dag.yaml": minimalFlow, "a.py": "x",
				".git/HEAD": "ref", ".runs/r/x": "1", "__pycache__/a.pyc": "c", "sub/__pycache__/b.pyc": "c",
				".promptflow/flow.tools.json": "{}", ".promptflow/flow.log": "log"},
			opts: Options{IgnoreToolsJSON: true},
			want: []string{".promptflow/flow.log", "a.py", "flow.dag.yaml"},
		},
		{
			name:  "tools json kept unless asked",
			files: tree{"flow.dag.yaml": minimalFlow, ".promptflow/flow.tools.json": "{}"},
			want:  []string{".promptflow/flow.tools.json", "flow.dag.yaml"},
		},
		{
			name: ".amlignore wins over .gitignore",
			files: tree{"flow.dag.yaml": minimalFlow, ".amlignore": "*.log\n", ".gitignore": "*.txt\n",
				"a.log": "1", "a.txt": "2"},
			want: []string{".amlignore", ".gitignore", "a.txt", "flow.dag.yaml"},
		},
		{
			name: ".gitignore with negation, anchors and folders",
			files: tree{"flow.dag.yaml": minimalFlow, ".gitignore": "*.log\n!keep.log\n/top.txt\nbuild/\ndata/**\n!data/keep.csv\n",
				"a.log": "1", "keep.log": "2", "top.txt": "3", "sub/top.txt": "4", "build/x.o": "5", "src/build/y.o": "6",
				"data/a.csv": "7", "data/keep.csv": "8"},
			want: []string{".gitignore", "data/keep.csv", "flow.dag.yaml", "keep.log", "sub/top.txt"},
		},
		{
			name:  "a user pattern cannot bring the tools json back",
			files: tree{"flow.dag.yaml": minimalFlow, ".amlignore": "!.promptflow/flow.tools.json\n!.git\n", ".promptflow/flow.tools.json": "{}", ".git/HEAD": "x"},
			opts:  Options{IgnoreToolsJSON: true},
			want:  []string{".amlignore", ".git/HEAD", "flow.dag.yaml"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			s, d := mustBuild(t, newFlow(dir), tc.opts)
			if diff := cmp.Diff(tc.want, rels(s.Files)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if len(d) != 0 {
				t.Errorf("unexpected diagnostics: %v", d)
			}
		})
	}
}

func TestBuildSnapshotFields(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my-flow")
	writeTree(t, dir, tree{"flow.dag.yaml": minimalFlow, "b.py": "print(1)\n", "A.py": "x", "empty/": ""})
	s, _ := mustBuild(t, newFlow(dir), Options{})
	if s.Folder != "my-flow" || s.FlowFile != "flow.dag.yaml" || s.Root != dir {
		t.Errorf("Folder/FlowFile/Root = %q %q %q", s.Folder, s.FlowFile, s.Root)
	}
	if want := "LocalUpload/" + s.Hash + "/my-flow/flow.dag.yaml"; s.BlobPath != want {
		t.Errorf("BlobPath = %q, want %q", s.BlobPath, want)
	}
	// The hash by hand: names in lower-cased order, an empty folder's name
	// included, file names followed by their bytes.
	h := md5.New()
	h.Write([]byte(hashSeed + "A.py" + "x" + "b.py" + "print(1)\n" + "empty" + "flow.dag.yaml" + minimalFlow))
	if want := hex.EncodeToString(h.Sum(nil)); s.Hash != want {
		t.Errorf("Hash = %s, want %s", s.Hash, want)
	}
	f := fileByRel(s, "b.py")
	if f == nil || f.Abs != filepath.Join(dir, "b.py") || f.Size != 9 || f.Content != nil {
		t.Errorf("b.py = %+v", f)
	}
	if diff := cmp.Diff([]string{"A.py", "b.py", "flow.dag.yaml"}, rels(s.Files)); diff != "" {
		t.Errorf("files sorted by path (-want +got):\n%s", diff)
	}
}

// TestBuildHashNamesFolderExcludedBySlashPattern: pfazure's matcher keeps
// the name of a folder excluded by "name/" in the hash; the files stay out.
func TestBuildHashNamesFolderExcludedBySlashPattern(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"flow.dag.yaml": minimalFlow, ".amlignore": "data/\nlogs\n", "data/x.csv": "1", "logs/y": "2"})
	s, _ := mustBuild(t, newFlow(dir), Options{})
	h := md5.New()
	h.Write([]byte(hashSeed + ".amlignore" + "data/\nlogs\n" + "data" + "flow.dag.yaml" + minimalFlow))
	if want := hex.EncodeToString(h.Sum(nil)); s.Hash != want {
		t.Errorf("Hash = %s, want %s", s.Hash, want)
	}
	if diff := cmp.Diff([]string{".amlignore", "flow.dag.yaml"}, rels(s.Files)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestBuildIncludes(t *testing.T) {
	type check func(t *testing.T, dir string, f *flow.Flow)
	for _, tc := range []struct {
		name     string
		files    tree // under a temp root; the flow is in "flow/"
		includes []string
		want     []string // files of the snapshot; nil when Build must fail
		codes    []string // diagnostic codes, "!" for errors
		check    check
	}{
		{
			name:     "file and folder with ../",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "shared/util.py": "u", "lib/a.py": "a", "lib/sub/b.py": "b"},
			includes: []string{"../shared/util.py", "../lib"},
			want:     []string{"flow.dag.yaml", "lib/a.py", "lib/sub/b.py", "util.py"},
		},
		{
			name:     "folder merges into the flow's folder of the same name",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/lib/own.py": "o", "ext/lib/a.py": "a", "ext/lib/own.py": "o"},
			includes: []string{"../ext/lib"},
			want:     []string{"flow.dag.yaml", "lib/a.py", "lib/own.py"},
		},
		{
			name:     "duplicates and identical content are fine",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/util.py": "same", "a/util.py": "same", "b/util.py": "same"},
			includes: []string{"../a/util.py", "../a/util.py", "../b/util.py"},
			want:     []string{"flow.dag.yaml", "util.py"},
		},
		{
			name:     "an included folder's own ignore file applies inside it",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "lib/.gitignore": "*.tmp\n", "lib/a.py": "a", "lib/x.tmp": "t", "lib/__pycache__/c.pyc": "c", "lib/.git/HEAD": "h"},
			includes: []string{"../lib"},
			want:     []string{"flow.dag.yaml", "lib/.gitignore", "lib/a.py"},
		},
		{
			name:     "the flow's root ignore rules apply to included paths",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/.amlignore": "*.log\nlib/secret.txt\n", "lib/a.py": "a", "lib/b.log": "l", "lib/secret.txt": "s"},
			includes: []string{"../lib"},
			want:     []string{".amlignore", "flow.dag.yaml", "lib/a.py"},
		},
		{
			name:     "an ignored include is left out with a warning",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/.gitignore": "*.log\n", "x/debug.log": "l"},
			includes: []string{"../x/debug.log"},
			want:     []string{".gitignore", "flow.dag.yaml"},
			codes:    []string{CodeIncludeIgnored},
			check: func(t *testing.T, dir string, f *flow.Flow) {
				_, d, _ := build(t, f, Options{})
				if !strings.Contains(find(d, CodeIncludeIgnored).Message, ".gitignore:1: *.log") {
					t.Errorf("warning must name the pattern: %v", d)
				}
			},
		},
		{
			name:     "missing include names the path as written and as resolved",
			files:    tree{"flow/flow.dag.yaml": minimalFlow},
			includes: []string{"../invalid/file/path"},
			codes:    []string{"!" + CodeIncludeNotFound},
			check: func(t *testing.T, dir string, f *flow.Flow) {
				_, d, err := build(t, f, Options{})
				x := find(d, CodeIncludeNotFound)
				resolved := filepath.Join(dir, "invalid", "file", "path")
				if !strings.Contains(x.Message, `"../invalid/file/path"`) || !strings.Contains(x.Message, resolved) {
					t.Errorf("message %q must hold the include as written and %s", x.Message, resolved)
				}
				if x.File != f.Path || x.Line != 100 || x.Column != 5 {
					t.Errorf("position = %s, want %s:100:5", x.Position(), f.Path)
				}
				if x.Hint == "" || !fault.Is(err, fault.Validation) {
					t.Errorf("want a hint and a validation error, got %q, %v", x.Hint, err)
				}
			},
		},
		{
			name:     "two includes with different content on one name",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "a/util.py": "one", "b/util.py": "two"},
			includes: []string{"../a/util.py", "../b/util.py"},
			codes:    []string{"!" + CodeIncludeConflict},
			check: func(t *testing.T, dir string, f *flow.Flow) {
				_, d, _ := build(t, f, Options{})
				x := find(d, CodeIncludeConflict)
				for _, want := range []string{`"../a/util.py"`, `"../b/util.py"`, `"util.py"`} {
					if !strings.Contains(x.Message, want) {
						t.Errorf("message %q lacks %s", x.Message, want)
					}
				}
				if x.Line != 101 {
					t.Errorf("conflict must point at the second include, got line %d", x.Line)
				}
			},
		},
		{
			name:     "an include may not silently replace a flow file",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/util.py": "mine", "a/util.py": "theirs"},
			includes: []string{"../a/util.py"},
			codes:    []string{"!" + CodeIncludeConflict},
			check: func(t *testing.T, dir string, f *flow.Flow) {
				_, d, _ := build(t, f, Options{})
				if x := find(d, CodeIncludeConflict); !strings.Contains(x.Message, "the flow folder") {
					t.Errorf("message %q must name the flow folder", x.Message)
				}
			},
		},
		{
			name:     "conflict inside merged folders",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/lib/a.py": "mine", "ext/lib/a.py": "theirs"},
			includes: []string{"../ext/lib"},
			codes:    []string{"!" + CodeIncludeConflict},
		},
		{
			name:     "a file where a folder is",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/lib/a.py": "a", "ext/lib": "file"},
			includes: []string{"../ext/lib"},
			codes:    []string{"!" + CodeIncludeConflict},
		},
		{
			name:     "the flow folder, its parent and the root are refused",
			files:    tree{"flow/flow.dag.yaml": minimalFlow},
			includes: []string{".", "..", "/", "  "},
			codes:    []string{"!" + CodeIncludeEmpty, "!" + CodeIncludeHoldsFlow, "!" + CodeIncludeHoldsFlow, "!" + CodeIncludeHoldsFlow, CodeIncludeAbsolute},
		},
		{
			name:     "absolute include works with a warning",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "abs/x.txt": "x"},
			includes: []string{"ABS/abs/x.txt"},
			want:     []string{"flow.dag.yaml", "x.txt"},
			codes:    []string{CodeIncludeAbsolute},
		},
		{
			name:     "a symlinked include lands under its target's name, as in pfazure",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "common-v2/a.py": "a", "common": "->common-v2"},
			includes: []string{"../common"},
			want:     []string{"common-v2/a.py", "flow.dag.yaml"},
			codes:    []string{CodeIncludeRenamed},
		},
		{
			name:     "link/.. resolves after the link, as Python's resolve does",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/.amlignore": "ln\n", "deep/dir/x.txt": "x", "deep/other.txt": "o", "flow/ln": "->../deep/dir"},
			includes: []string{"ln/../other.txt"},
			want:     []string{".amlignore", "flow.dag.yaml", "other.txt"},
		},
		{
			name:     "include.zip of a folder is zipped",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "pkg/a.py": "a", "pkg/sub/b.txt": "b", "pkg/__pycache__/c.pyc": "c", "pkg/.gitignore": "*.tmp\n", "pkg/t.tmp": "t"},
			includes: []string{"../pkg.zip"},
			want:     []string{"flow.dag.yaml", "pkg.zip"},
			check: func(t *testing.T, dir string, f *flow.Flow) {
				s, _ := mustBuild(t, f, Options{})
				z := fileByRel(s, "pkg.zip")
				r, err := zip.NewReader(bytes.NewReader(z.Content), int64(len(z.Content)))
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, e := range r.File {
					names = append(names, e.Name)
				}
				if diff := cmp.Diff([]string{"pkg/", "pkg/.gitignore", "pkg/a.py", "pkg/sub/b.txt"}, names); diff != "" {
					t.Errorf("zip entries (-want +got):\n%s", diff)
				}
				rc, _ := r.File[3].Open()
				b, _ := io.ReadAll(rc)
				if string(b) != "b" || z.Size != int64(len(z.Content)) {
					t.Errorf("zip content %q, size %d", b, z.Size)
				}
				// Deterministic: a later build (other mtimes) gives the same bytes.
				if err := os.Chtimes(filepath.Join(dir, "pkg", "a.py"), zipEpoch.AddDate(30, 0, 0), zipEpoch.AddDate(30, 0, 0)); err != nil {
					t.Fatal(err)
				}
				s2, _ := mustBuild(t, f, Options{})
				if s2.Hash != s.Hash || !bytes.Equal(fileByRel(s2, "pkg.zip").Content, z.Content) {
					t.Error("zipping the same folder twice must give the same bytes")
				}
			},
		},
		{
			name:     "a zipped folder reached through a link, with a link inside",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "pkg-v2/a.py": "a", "pkg-v2/alias.py": "->a.py", "pkg": "->pkg-v2"},
			includes: []string{"../pkg.zip"},
			want:     []string{"flow.dag.yaml", "pkg.zip"},
		},
		{
			name:     "zipping a folder that holds the flow is refused",
			files:    tree{"flow/flow.dag.yaml": minimalFlow},
			includes: []string{"ABS.zip"},
			codes:    []string{"!" + CodeIncludeHoldsFlow, CodeIncludeAbsolute},
		},
		{
			name:     "an existing .zip file is copied, not rebuilt",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "pkg.zip": "not really a zip", "pkg/a.py": "a"},
			includes: []string{"../pkg.zip"},
			want:     []string{"flow.dag.yaml", "pkg.zip"},
		},
		{
			name:     "missing .zip and no folder",
			files:    tree{"flow/flow.dag.yaml": minimalFlow},
			includes: []string{"../pkg.zip"},
			codes:    []string{"!" + CodeIncludeNotFound},
		},
		{
			name:     "an include can bring the root .gitignore",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "flow/a.log": "l", "flow/a.py": "p", "cfg/.gitignore": "*.log\n"},
			includes: []string{"../cfg/.gitignore"},
			want:     []string{".gitignore", "a.py", "flow.dag.yaml"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			var incs []string
			for _, inc := range tc.includes {
				incs = append(incs, strings.Replace(inc, "ABS", dir, 1))
			}
			f := newFlow(filepath.Join(dir, "flow"), incs...)
			s, d, err := build(t, f, Options{})
			wantCodes := tc.codes
			if diff := cmp.Diff(sortedCopy(wantCodes), codes(d)); diff != "" {
				t.Errorf("diagnostic codes (-want +got):\n%s\n%v", diff, d)
			}
			if tc.want == nil {
				if err == nil || s != nil {
					t.Fatalf("Build must fail, got %v", rels(s.Files))
				}
			} else {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				if diff := cmp.Diff(tc.want, rels(s.Files)); diff != "" {
					t.Errorf("files (-want +got):\n%s", diff)
				}
			}
			if tc.check != nil {
				tc.check(t, dir, f)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestBuildSymlinks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    tree
		includes []string
		want     []string
		codes    []string
	}{
		{
			name:  "links inside the flow folder are followed",
			files: tree{"flow/flow.dag.yaml": minimalFlow, "flow/real/a.py": "a", "flow/alias": "->real", "flow/b.py": "->real/a.py"},
			want:  []string{"alias/a.py", "b.py", "flow.dag.yaml", "real/a.py"},
		},
		{
			name:  "a link out of the flow folder is an error",
			files: tree{"flow/flow.dag.yaml": minimalFlow, "secret.txt": "s", "flow/s.txt": "->../secret.txt"},
			codes: []string{"!" + CodeSymlinkOutside},
		},
		{
			name:  "an absolute link out of the flow folder is an error",
			files: tree{"flow/flow.dag.yaml": minimalFlow, "flow/etc": "->/etc"},
			codes: []string{"!" + CodeSymlinkOutside},
		},
		{
			name:     "a link into an included path is followed",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "lib/a.py": "a", "flow/l.py": "->../lib/a.py"},
			includes: []string{"../lib"},
			want:     []string{"flow.dag.yaml", "l.py", "lib/a.py"},
		},
		{
			name:     "a link inside an include that leaves it is an error",
			files:    tree{"flow/flow.dag.yaml": minimalFlow, "lib/a.py": "a", "lib/out": "->../other", "other/x": "x"},
			includes: []string{"../lib"},
			codes:    []string{"!" + CodeSymlinkOutside},
		},
		{
			name:  "an ignored link is not followed and not an error",
			files: tree{"flow/flow.dag.yaml": minimalFlow, "flow/.gitignore": ".venv\n", "flow/.venv": "->/usr"},
			want:  []string{".gitignore", "flow.dag.yaml"},
		},
		{
			name:  "a broken link",
			files: tree{"flow/flow.dag.yaml": minimalFlow, "flow/gone": "->nowhere"},
			codes: []string{"!" + CodeSymlinkBroken},
		},
		{
			name:  "a link to a folder that holds it",
			files: tree{"flow/flow.dag.yaml": minimalFlow, "flow/sub/up": "->.."},
			codes: []string{"!" + CodeSymlinkLoop},
		},
		{
			name:  "links that point at each other",
			files: tree{"flow/flow.dag.yaml": minimalFlow, "flow/a": "->b", "flow/b": "->a"},
			codes: []string{"!" + CodeSymlinkLoop, "!" + CodeSymlinkLoop},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			s, d, err := build(t, newFlow(filepath.Join(dir, "flow"), tc.includes...), Options{})
			if diff := cmp.Diff(sortedCopy(tc.codes), codes(d)); diff != "" {
				t.Errorf("diagnostic codes (-want +got):\n%s\n%v", diff, d)
			}
			if tc.want == nil {
				if err == nil {
					t.Fatalf("Build must fail, got %v", rels(s.Files))
				}
				for _, x := range d.Errors() {
					if x.Hint == "" || x.File == "" {
						t.Errorf("error without a place or hint: %v", x)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if diff := cmp.Diff(tc.want, rels(s.Files)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildRequirementsAndPatch(t *testing.T) {
	const withComment = "# my flow\ninputs:\n  x:\n    type: string\nnodes: []\n"
	for _, tc := range []struct {
		name     string
		files    tree
		includes []string
		envReq   string
		want     string // the uploaded flow YAML; "" when not patched
		codes    []string
	}{
		{
			name:  "requirements.txt is added when the key is missing",
			files: tree{"flow/flow.dag.yaml": withComment, "flow/requirements.txt": "numpy\n"},
			want:  withComment + "environment:\n  python_requirements_txt: requirements.txt\n",
		},
		{
			name:   "nothing changes when the key is set",
			files:  tree{"flow/flow.dag.yaml": withComment + "environment:\n  python_requirements_txt: requirements.txt\n", "flow/requirements.txt": "numpy\n"},
			envReq: "requirements.txt",
		},
		{
			name:     "additional_includes are removed",
			files:    tree{"flow/flow.dag.yaml": withComment + "additional_includes:\n  - ../x.py\n", "x.py": "x"},
			includes: []string{"../x.py"},
			want:     withComment,
		},
		{
			name:     "requirements from an include",
			files:    tree{"flow/flow.dag.yaml": "additional_includes:\n- ../env/requirements.txt\n" + withComment, "env/requirements.txt": "numpy\n"},
			includes: []string{"../env/requirements.txt"},
			want:     withComment + "environment:\n  python_requirements_txt: requirements.txt\n",
		},
		{
			name:  "ignored requirements.txt is not added",
			files: tree{"flow/flow.dag.yaml": withComment, "flow/requirements.txt": "numpy\n", "flow/.amlignore": "requirements.txt\n"},
			codes: []string{CodeRequirementsIgnored},
		},
		{
			name:   "a named requirements file the snapshot lacks",
			files:  tree{"flow/flow.dag.yaml": withComment + "environment:\n  python_requirements_txt: reqs.txt\n"},
			envReq: "reqs.txt",
			codes:  []string{CodeRequirementsMissing},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			f := newFlow(filepath.Join(dir, "flow"), tc.includes...)
			f.Environment.PythonRequirementsTxt = tc.envReq
			before, _ := os.ReadFile(f.Path)
			s, d := mustBuild(t, f, Options{})
			if diff := cmp.Diff(sortedCopy(tc.codes), codes(d)); diff != "" {
				t.Errorf("diagnostic codes (-want +got):\n%s", diff)
			}
			y := fileByRel(s, "flow.dag.yaml")
			if tc.want == "" {
				if y.Content != nil {
					t.Errorf("flow YAML must not be patched, got\n%s", y.Content)
				}
			} else {
				if string(y.Content) != tc.want {
					t.Errorf("uploaded flow YAML:\n%s\nwant:\n%s", y.Content, tc.want)
				}
				if y.Size != int64(len(y.Content)) || y.Abs != f.Path {
					t.Errorf("patched FileRef = %+v", y)
				}
				// The hash covers the patched bytes: recompute from the list.
				got, err := Hash(context.Background(), s.Files)
				if err != nil || got != s.Hash {
					t.Errorf("Hash(context.Background(), files) = %s, %v; Build said %s", got, err, s.Hash)
				}
			}
			after, _ := os.ReadFile(f.Path)
			if !bytes.Equal(before, after) {
				t.Error("the user's flow file changed")
			}
		})
	}
}

// TestBuildLeavesUserFilesAlone checks bytes and modification times of every
// file and folder involved, includes and the zipped folder included.
func TestBuildLeavesUserFilesAlone(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{
		"flow/flow.dag.yaml":    minimalFlow + "additional_includes:\n  - ../lib\n  - ../pkg.zip\n",
		"flow/requirements.txt": "numpy\n", "flow/.gitignore": "*.log\n", "flow/a.log": "l",
		"lib/a.py": "a", "pkg/b.py": "b",
	})
	type stamp struct {
		data  string
		mtime int64
		mode  os.FileMode
	}
	snap := func() map[string]stamp {
		m := map[string]stamp{}
		if err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			var data []byte
			if info.Mode().IsRegular() {
				data, _ = os.ReadFile(p)
			}
			m[p] = stamp{string(data), info.ModTime().UnixNano(), info.Mode()}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := snap()
	f := newFlow(filepath.Join(dir, "flow"), "../lib", "../pkg.zip")
	s, _ := mustBuild(t, f, Options{IgnoreToolsJSON: true})
	if _, err := Hash(context.Background(), s.Files); err != nil {
		t.Fatal(err)
	}
	if _, err := ListDir(context.Background(), filepath.Join(dir, "lib")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snap(), cmp.AllowUnexported(stamp{})); diff != "" {
		t.Errorf("user files changed (-before +after):\n%s", diff)
	}
	if y := fileByRel(s, "flow.dag.yaml"); !strings.Contains(string(y.Content), "python_requirements_txt") || strings.Contains(string(y.Content), "additional_includes") {
		t.Errorf("uploaded YAML not patched:\n%s", y.Content)
	}
}

func TestBuildFlowFileIgnoredAndEmpty(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"flow.dag.yaml": minimalFlow, ".amlignore": "*.yaml\n"})
	_, d, err := build(t, newFlow(dir), Options{})
	if x := find(d, CodeFlowFileIgnored); x == nil || !strings.Contains(x.Message, ".amlignore:1: *.yaml") || err == nil {
		t.Errorf("want %s naming the pattern, got %v, %v", CodeFlowFileIgnored, d, err)
	}
	_, _, err = Build(context.Background(), nil, Options{})
	if !fault.Is(err, fault.Usage) {
		t.Errorf("nil flow: %v", err)
	}
	_, _, err = Build(context.Background(), newFlow(filepath.Join(dir, "missing")), Options{})
	if !fault.Is(err, fault.Validation) {
		t.Errorf("missing folder: %v", err)
	}
}

func TestBuildPromptyHasNoIncludesOrPatch(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"chat.prompty": "---\nname: x\n---\nhi", "requirements.txt": "x\n"})
	f := &flow.Flow{Dir: dir, Path: filepath.Join(dir, "chat.prompty"), Kind: flow.KindPrompty}
	s, d := mustBuild(t, f, Options{})
	if fileByRel(s, "chat.prompty").Content != nil || len(d) != 0 || s.FlowFile != "chat.prompty" {
		t.Errorf("prompty must be shipped as is: %+v %v", s, d)
	}
}

func TestBuildUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		need.ByDesign(t, "running as root: permissions cannot make a file unreadable (Hash of a vanished file covers the read-error path)")
	}
	dir := t.TempDir()
	writeTree(t, dir, tree{"flow.dag.yaml": minimalFlow, "secret.py": "s", "locked/x": "x"})
	if err := os.Chmod(filepath.Join(dir, "secret.py"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "locked"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chmod(filepath.Join(dir, "locked"), 0o755); err != nil {
			t.Error(err)
		}
	})
	_, d, err := build(t, newFlow(dir), Options{})
	if err == nil || len(d.Errors()) != 2 || d.Errors()[0].Code != CodeUnreadable {
		t.Errorf("want two %s errors, got %v", CodeUnreadable, d)
	}
}

func TestBuildCancelled(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"flow.dag.yaml": minimalFlow})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Build(ctx, newFlow(dir), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestBuildSpecialFile(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, tree{"flow.dag.yaml": minimalFlow})
	if err := mkfifo(filepath.Join(dir, "pipe")); err != nil {
		need.Missing(t, "no fifo: %v", err)
	}
	s, d := mustBuild(t, newFlow(dir), Options{})
	if find(d, CodeSpecialFile) == nil || len(s.Files) != 1 {
		t.Errorf("a fifo must be left out with a warning: %v %v", d, rels(s.Files))
	}
}
