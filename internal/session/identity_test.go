package session

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func TestResolveEnvironment(t *testing.T) {
	files := map[string]string{
		"requirements":     "tensorflow",
		"req.txt":          "a==1\r\n\r\n# c\n",
		"bad.txt":          "ok\xff",
		"sub/requirements": "x\n",
	}
	read := func(name string) ([]byte, error) {
		s, ok := files[filepath.ToSlash(name)]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(s), nil
	}
	tests := []struct {
		name    string
		env     any
		want    any
		wantErr bool
	}{
		{"absent environment", map[string]any{}, map[string]any{}, false},
		{"image only", map[string]any{"image": "python:3.8-slim"}, map[string]any{"image": "python:3.8-slim"}, false},
		{"requirements replaced by lines", map[string]any{"image": "i", "python_requirements_txt": "requirements"},
			map[string]any{"image": "i", "python_requirements_txt": []any{"tensorflow"}}, false},
		{"CRLF and blank lines", map[string]any{"python_requirements_txt": "req.txt"},
			map[string]any{"python_requirements_txt": []any{"a==1", "", "# c"}}, false},
		{"missing file keeps the path", map[string]any{"python_requirements_txt": "nope.txt"},
			map[string]any{"python_requirements_txt": "nope.txt"}, true},
		{"undecodable file keeps the path", map[string]any{"python_requirements_txt": "bad.txt"},
			map[string]any{"python_requirements_txt": "bad.txt"}, true},
		{"non-string path", map[string]any{"python_requirements_txt": 3}, map[string]any{"python_requirements_txt": 3}, true},
		{"empty environment is null", nil, nil, true},
		{"a string is not a dict", "abc", "abc", true},
		{"an empty string is an empty dict", "", map[string]any{}, false},
		{"pairs become a dict", []any{[]any{"image", "x"}}, map[string]any{"image": "x"}, false},
		{"bad pairs stay a list", []any{"abc"}, []any{"abc"}, true},
		{"int keys survive", map[any]any{1: "a"}, map[any]any{1: "a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveEnvironment(tt.env, read)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "Failed to resolve environment due to ") {
				t.Errorf("warning text %q does not match pfazure's", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResolveEnvironment mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// DirReader joins relative names and keeps absolute ones
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "r.txt"), "a\nb")
	for _, name := range []string{"r.txt", filepath.Join(dir, "r.txt")} {
		got, err := ResolveEnvironment(map[string]any{"python_requirements_txt": name}, DirReader(dir))
		if err != nil || !cmp.Equal(got, map[string]any{"python_requirements_txt": []any{"a", "b"}}) {
			t.Errorf("DirReader(%s): %v, %v", name, got, err)
		}
	}
	if _, err := ResolveEnvironment(map[string]any{"python_requirements_txt": ""}, DirReader(dir)); err == nil {
		t.Error("an empty path names the folder itself, which cannot be read")
	}
	// the caller's map is not modified
	env := map[string]any{"python_requirements_txt": "requirements"}
	if _, err := ResolveEnvironment(env, read); err != nil || env["python_requirements_txt"] != "requirements" {
		t.Errorf("ResolveEnvironment modified its input: %v %v", env, err)
	}
}

// TestSessionIDFromFixture follows REC test_session_id_with_different_env on
// the fixture flow: the same flow and environment give the same id; another
// image, or other requirements, give another id.
func TestSessionIDFromFixture(t *testing.T) {
	dir := shared.Path(t, "conformance", "promptflow", "test_configs", "flows", "flow_with_environment")
	raw, err := os.ReadFile(filepath.Join(dir, "flow.dag.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dag map[string]any
	if err := yaml.Unmarshal(raw, &dag); err != nil {
		t.Fatal(err)
	}
	env, err := ResolveEnvironment(dag["environment"], DirReader(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"image": "python:3.8-slim", "python_requirements_txt": []any{"tensorflow"}}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Fatalf("resolved environment (-want +got):\n%s", diff)
	}
	h, err := EnvironmentHash(env)
	if err != nil {
		t.Fatal(err)
	}
	// Python: hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()
	if h != "bc15e0fdd2f3a88dca977ad3c275db08f1fa3d26445405457283046c9b957586" {
		t.Errorf("environment hash = %s", h)
	}
	lineage := sha256Hex("promptflow/src/promptflow/tests/test_configs/flows/flow_with_environment")
	id1 := ID("user", lineage, h)
	if id1 != "b6b625b9012289b947a18d85a211f1467535ac5baf68e092" {
		t.Errorf("session id = %s, Python computes b6b625b9012289b947a18d85a211f1467535ac5baf68e092", id1)
	}
	image := map[string]any{"image": "python:3.9-slim", "python_requirements_txt": []any{"tensorflow"}}
	reqs := map[string]any{"image": "python:3.9-slim", "python_requirements_txt": []any{"tensorflow", "pandas"}}
	h2, _ := EnvironmentHash(image)
	h3, _ := EnvironmentHash(reqs)
	if id3, id4 := ID("user", lineage, h2), ID("user", lineage, h3); id3 == id1 || id4 == id1 || id3 == id4 {
		t.Errorf("changed environments must give new ids: %s %s %s", id1, id3, id4)
	}
}

// TestRecordedSessionIDs checks the shape of the ids in the recording. The
// recorded ids cannot be recomputed: the test user's alias and the git
// checkout's folder name are not in the recording (lineage ids are sanitized
// in the requests; the responses show them, but not their inputs).
func TestRecordedSessionIDs(t *testing.T) {
	p := shared.Path(t, "conformance", "recordings", "test_run_operations_TestFlowRun_test_session_id_with_different_env.yaml")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"azureml\.promptflow\.session_id": "([0-9a-f]+)"`)
	var ids []string
	for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 4 {
		t.Fatalf("found %d session ids, want 4", len(ids))
	}
	for _, id := range ids {
		if len(id) != len(ID("a", "b", "c")) {
			t.Errorf("recorded id %s has %d hex digits, pfz makes %d", id, len(id), len(ID("a", "b", "c")))
		}
	}
	if ids[0] != ids[1] || ids[1] == ids[2] || ids[2] == ids[3] {
		t.Errorf("recorded ids %v: want runs 1 and 2 equal, 3 and 4 new", ids)
	}
}

func gitInit(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"objects", "refs/heads"} {
		if err := os.MkdirAll(filepath.Join(dir, ".git", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n")
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLineageID(t *testing.T) {
	base := t.TempDir()
	base, _ = filepath.EvalSymlinks(base)
	node := func() uint64 { return 0xAABBCCDDEEFF }

	repo := filepath.Join(base, "my-repo")
	gitInit(t, repo)
	flow := filepath.Join(repo, "flows", "web classification")
	writeFile(t, filepath.Join(flow, "flow.dag.yaml"), "nodes: []\n")

	// a linked worktree: .git is a file
	wt := filepath.Join(base, "wt-checkout")
	writeFile(t, filepath.Join(wt, ".git"), "gitdir: "+filepath.Join(repo, ".git", "worktrees", "wt")+"\n")
	writeFile(t, filepath.Join(wt, "f", "flow.dag.yaml"), "")

	// a submodule: .git file pointing at a real git dir
	sub := filepath.Join(repo, "vendor", "sub")
	gitInit(t, filepath.Join(repo, ".git", "modules", "sub"))
	if err := os.Rename(filepath.Join(repo, ".git", "modules", "sub", ".git"), filepath.Join(repo, ".git", "modules", "sub2")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sub, ".git"), "gitdir: ../../.git/modules/sub2\n")
	writeFile(t, filepath.Join(sub, "flow", "flow.dag.yaml"), "")

	// not a repository: an empty .git folder does not count
	plain := filepath.Join(base, "plain", "flow")
	writeFile(t, filepath.Join(plain, "flow.dag.yaml"), "")
	if err := os.MkdirAll(filepath.Join(base, "plain", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}

	// a symlink to the flow resolves to the real place
	link := filepath.Join(base, "link")
	if err := os.Symlink(flow, link); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, dir, lineage string
	}{
		{"folder in a repo", flow, "my-repo/flows/web classification"},
		{"flow file in a repo", filepath.Join(flow, "flow.dag.yaml"), "my-repo/flows/web classification"},
		{"repo root", repo, "my-repo/."},
		{"symlink", link, "my-repo/flows/web classification"},
		{"worktree", filepath.Join(wt, "f"), "wt-checkout/f"},
		{"submodule", filepath.Join(sub, "flow"), "sub/flow"},
		{"no repo", plain, "187723572702975/" + filepath.ToSlash(plain)},
		{"missing folder", filepath.Join(base, "plain", "gone"), "187723572702975/" + filepath.ToSlash(filepath.Join(base, "plain"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LineageID(tt.dir, node)
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256Hex(tt.lineage); got != want {
				t.Errorf("LineageID(%s) = %s, want sha256(%q) = %s", tt.dir, got, tt.lineage, want)
			}
		})
	}
}

func TestLineageIDBareRepoFallsBack(t *testing.T) {
	base := t.TempDir()
	base, _ = filepath.EvalSymlinks(base)
	bare := filepath.Join(base, "bare.git")
	for _, d := range []string{"objects", "refs"} {
		if err := os.MkdirAll(filepath.Join(bare, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(bare, "HEAD"), "ref: refs/heads/main\n")
	writeFile(t, filepath.Join(bare, "config"), "[core]\n\tbare = true\n")
	inside := filepath.Join(bare, "hooks")
	if err := os.MkdirAll(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	got, _ := LineageID(inside, func() uint64 { return 7 })
	if want := sha256Hex("7/" + filepath.ToSlash(inside)); got != want {
		t.Errorf("bare repository: got %s, want the node fallback %s", got, want)
	}
}

func TestPickNode(t *testing.T) {
	mac := func(s string) net.HardwareAddr {
		hw, err := net.ParseMAC(s)
		if err != nil {
			t.Fatal(err)
		}
		return hw
	}
	tests := []struct {
		name string
		cs   []nodeCandidate
		want uint64
		ok   bool
	}{
		{"first configured interface wins", []nodeCandidate{
			{index: 1, hw: mac("00:00:00:00:00:00"), loopback: true, hasIPv4: true},
			{index: 3, hw: mac("02:42:ac:11:00:02"), hasIPv4: true},
			{index: 2, hw: mac("00:15:5d:01:02:03")},
		}, 0x0242ac110002, true},
		{"no IPv4: universal address preferred", []nodeCandidate{
			{index: 1, hw: mac("02:00:00:00:00:01")},
			{index: 2, hw: mac("00:15:5d:01:02:03")},
		}, 0x00155d010203, true},
		{"only a local address", []nodeCandidate{{index: 5, hw: mac("06:00:00:00:00:09")}}, 0x060000000009, true},
		{"nothing usable", []nodeCandidate{{index: 1, loopback: true}, {index: 2, hw: mac("00:00:00:00:00:00")}}, 0, false},
	}
	for _, tt := range tests {
		got, ok := pickNode(tt.cs)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: pickNode = %x, %v; want %x, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	for i := 0; i < 20; i++ {
		n := randomNode()
		if n >= 1<<48 || n&(1<<40) == 0 {
			t.Fatalf("randomNode() = %x: want 48 bits with the multicast bit set", n)
		}
	}
	if n := MACNode(); n >= 1<<48 {
		t.Errorf("MACNode() = %x does not fit 48 bits", n)
	}
}

func TestID(t *testing.T) {
	// hashlib.sha256(b"unknown_user_lin_env").hexdigest()[:48]
	if got := ID(UnknownUser, "lin", "env"); got != "8bb05b97e7b24becc9276f4c9dbd89a0031445bed2246488" {
		t.Errorf("ID = %s", got)
	}
	if _, err := EnvironmentHash(map[string]any{"t": time.Now()}); err == nil {
		t.Error("EnvironmentHash accepted a timestamp")
	}
}
