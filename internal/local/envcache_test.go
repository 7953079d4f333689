package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/workspace"
)

// specFor is the session of another flow folder with the given requirements.
func specFor(id, flow string, reqs ...string) workspace.SessionSpec {
	spec := specWithReqs(id, reqs...)
	spec.FlowDir = flow
	return spec
}

const testID3 = "00112233445566778899aabbccddeeff0011223344556677"

// Two flows with the same environment share one build: the second session
// gets a copy of the first one's environment, with no venv or pip run. Other
// requirements, another image, or a reset build anew.
func TestSessionsShareOneEnvironmentPerEnvironment(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	a := mustStart(t, s, specFor(testID, "/work/flows/a", "pfz-a"))
	if c, i := f.counts(); c != 1 || i != 1 {
		t.Fatalf("first session: %d creates, %d installs", c, i)
	}
	var events []string
	rep := reporterFunc(func(e workspace.Event) { events = append(events, e.Message) })
	b, err := s.Start(ctx, specFor(testID2, "/work/flows/b", "pfz-a"), workspace.StartOptions{Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if c, i := f.counts(); c != 1 || i != 1 {
		t.Errorf("second session with the same environment: %d creates, %d installs (want 1, 1)", c, i)
	}
	if !strings.Contains(strings.Join(events, "\n"), "Copying the Python environment another session built") {
		t.Errorf("events %q", events)
	}
	if a.Status != workspace.SessionRunning || b.Status != workspace.SessionRunning || strings.Join(b.Requirements, "|") != "pfz-a" {
		t.Fatalf("sessions %+v %+v", a, b)
	}
	pyA, _, _, _ := s.Python(ctx, testID)
	pyB, _, _, err := s.Python(ctx, testID2)
	if err != nil || !strings.HasPrefix(pyB, s.st.SessionDir(testID2)+string(filepath.Separator)) || pyA == pyB {
		t.Fatalf("session b's python %s (a: %s): %v", pyB, pyA, err)
	}
	// Each session owns its copy: installing into b leaves a as it is.
	if _, err := s.Install(ctx, testID2, specFor(testID2, "/work/flows/b", "pfz-a", "pfz-c"), workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	pa, _ := s.Packages(ctx, testID)
	for _, p := range pa.Packages {
		if p.Name == "pfz-c" {
			t.Errorf("an install into b reached a: %+v", pa.Packages)
		}
	}
	// Other requirements: a new build.
	mustStart(t, s, specFor(testID3, "/work/flows/c", "pfz-b"))
	if c, _ := f.counts(); c != 2 {
		t.Errorf("other requirements: %d creates, want 2", c)
	}
	// A reset asks for a clean environment: the cached one is built again.
	if _, err := s.Reset(ctx, testID, workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.counts(); c != 3 {
		t.Errorf("after a reset: %d creates, want 3", c)
	}
}

// The image is part of the environment: the same requirements on another
// image are another build.
// A session that could not get Jinja2 (offline) still starts, says so, and
// its environment is not copied to the next session, which tries again.
func TestEnvWithoutJinjaIsNotShared(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	f.offline = true
	var events []string
	rep := reporterFunc(func(e workspace.Event) { events = append(events, e.Message) })
	a, err := s.Start(ctx, specFor(testID, "/work/flows/a", "pfz-a"), workspace.StartOptions{Reporter: rep})
	if err != nil || a.Status != workspace.SessionRunning {
		t.Fatalf("start offline: %+v %v", a, err)
	}
	if !strings.Contains(strings.Join(events, "\n"), "Jinja2 could not be installed, so prompt and llm nodes cannot run in this session") {
		t.Errorf("events %q", events)
	}
	f.mu.Lock()
	f.offline = false
	f.mu.Unlock()
	mustStart(t, s, specFor(testID2, "/work/flows/b", "pfz-a"))
	if c, _ := f.counts(); c != 2 {
		t.Errorf("the second session copied an environment without Jinja2: %d creates (want 2)", c)
	}
	mustStart(t, s, specFor(testID3, "/work/flows/c", "pfz-a"))
	if c, _ := f.counts(); c != 2 {
		t.Errorf("an environment with Jinja2 was not shared: %d creates (want 2)", c)
	}
}

func TestEnvironmentKey(t *testing.T) {
	s, _, _ := newTest(t)
	base := func(mod func(*record)) string {
		r := &record{Spec: specFor(testID, "/work/flows/a", "pfz-a")}
		if mod != nil {
			mod(r)
		}
		return s.envKey(context.Background(), r, "/usr/bin/python3")
	}
	same := base(nil)
	for name, tc := range map[string]struct {
		mod  func(*record)
		same bool
	}{
		"other flow folder":       {func(r *record) { r.Spec.FlowDir = "/elsewhere" }, true},
		"other session id":        {func(r *record) { r.Spec.ID = testID2 }, true},
		"comments and blanks":     {func(r *record) { r.Spec.Requirements = []string{"# c", "", "pfz-a  "} }, true},
		"other image":             {func(r *record) { r.Spec.Image = "other:1" }, false},
		"other requirements":      {func(r *record) { r.Spec.Requirements = []string{"pfz-a==2"} }, false},
		"a local path, elsewhere": {func(r *record) { r.Spec.Requirements = []string{"./pkg"}; r.Spec.FlowDir = "/x" }, false},
	} {
		if got := base(tc.mod) == same; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", name, got, tc.same)
		}
	}
	local := func(flow string) string {
		r := &record{Spec: specFor(testID, flow, "./pkg")}
		return s.envKey(context.Background(), r, "/usr/bin/python3")
	}
	if local("/x") == local("/y") {
		t.Error("a requirement naming ./pkg must key on the requirements' folder")
	}
}

// A start for a flow whose environment changed stops the flow's older
// session; one a run uses is left and reported.
func TestStartStopsTheFlowsOlderSession(t *testing.T) {
	s, _, _ := newTest(t)
	ctx := context.Background()
	mustStart(t, s, specWithReqs(testID, "pfz-a"))
	mustStart(t, s, specFor(testID3, "/work/flows/other", "pfz-a")) // another flow: kept
	got := mustStart(t, s, specWithReqs(testID2, "pfz-b"))
	if !strings.Contains(got.Message, "stopped session "+testID+", built for this flow's previous environment") {
		t.Errorf("message %q", got.Message)
	}
	if _, err := s.Get(ctx, testID); err == nil {
		t.Error("the flow's older session still exists")
	}
	if _, err := s.Get(ctx, testID3); err != nil {
		t.Errorf("another flow's session was stopped: %v", err)
	}
	startBesides(t, s, testID2, specWithReqs(testID, "pfz-c"))
	if _, err := s.Get(ctx, testID2); err != nil {
		t.Errorf("a session in use was stopped: %v", err)
	}
}

// Maintenance deletes cached environments unused for a week.
func TestEnvCacheIsPruned(t *testing.T) {
	s, _, c := newTest(t)
	ctx := context.Background()
	mustStart(t, s, specWithReqs(testID, "pfz-a"))
	keys, _ := s.st.List(envsKind)
	if len(keys) != 1 {
		t.Fatalf("cached environments %v", keys)
	}
	c.Add(envCacheKeep - time.Minute)
	if m, _ := s.Maintain(ctx); len(m.Removed) != 0 {
		t.Errorf("removed too early: %v", m.Removed)
	}
	c.Add(2 * time.Minute)
	m, _ := s.Maintain(ctx)
	if len(m.Removed) != 1 || !strings.Contains(m.Removed[0], keys[0]) {
		t.Errorf("Maintain removed %v", m.Removed)
	}
}

// cloneEnv copies files with their modes and links as links, and points the
// scripts and pyvenv.cfg at the copy.
func TestCloneEnv(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "envs", "k", "env")
	write := func(rel, text string, mode os.FileMode) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/pip", "#!"+src+"/bin/python\nimport pip\n", 0o755)
	write("bin/activate", "VIRTUAL_ENV="+src+"\n", 0o644)
	write("pyvenv.cfg", "home = /usr/bin\ncommand = /usr/bin/python3 -m venv "+src+"\n", 0o644)
	write("lib/python3.11/site-packages/m/ro.py", "x = 1\n", 0o444)
	if err := os.Symlink("/usr/bin/python3", filepath.Join(src, "bin", "python")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib", filepath.Join(src, "lib64")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(root, "sessions", "s", "env")
	env, err := cloneEnv(envInfo{Dir: src, Python: filepath.Join(src, "bin", "python"), PythonVersion: "3.11.7"}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if env.Dir != dst || env.Python != filepath.Join(dst, "bin", "python") || env.PythonVersion != "3.11.7" {
		t.Errorf("env %+v", env)
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, rel := range []string{"bin/pip", "bin/activate", "pyvenv.cfg"} {
		if got := read(rel); strings.Contains(got, src) || !strings.Contains(got, dst) {
			t.Errorf("%s still names the cached environment: %q", rel, got)
		}
	}
	if st, err := os.Stat(filepath.Join(dst, "bin", "pip")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("bin/pip mode %v %v", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(dst, "lib/python3.11/site-packages/m/ro.py")); err != nil || st.Mode().Perm() != 0o444 {
		t.Errorf("read-only file: %v %v", st.Mode(), err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "bin", "python")); err != nil || l != "/usr/bin/python3" {
		t.Errorf("bin/python link %q %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "lib64")); err != nil || l != "lib" {
		t.Errorf("lib64 link %q %v", l, err)
	}
}

// The key follows everything that decides the environment's contents: the
// files -r/-c lines name (recursively, relative paths resolved as pip does),
// the PIP_*/UV_* variables that change resolution, pip's configuration files
// and the tools that build it. Output and cache settings do not split it.
func TestEnvironmentKeyFollowsWhatDecidesContents(t *testing.T) {
	s, f, _ := newTest(t)
	flow := t.TempDir()
	root := filepath.Dir(flow)
	write := func(path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pipConf := filepath.Join(t.TempDir(), "pip.conf")
	reset := func() {
		write(filepath.Join(flow, "common.txt"), "pfz-a\n-r sub/deeper.txt  # nested, relative to common.txt\n")
		write(filepath.Join(flow, "sub", "deeper.txt"), "pfz-b==1.0\n--constraint=../cons.txt\n")
		write(filepath.Join(flow, "cons.txt"), "pfz-dep<2\n")
		write(filepath.Join(flow, "unrelated.txt"), "x\n")
		write(pipConf, "[global]\ntimeout = 60\n")
		s.opts.Env = []string{"HOME=" + t.TempDir(), "PIP_CONFIG_FILE=" + pipConf, "PIP_NO_INPUT=1", "UV_CACHE_DIR=/c"}
		f.mu.Lock()
		f.builder = ""
		f.mu.Unlock()
	}
	key := func() string {
		r := &record{Spec: specFor(testID, flow, "-r common.txt", "pfz-z")}
		return s.envKey(context.Background(), r, "/usr/bin/python3")
	}
	setEnv := func(kv ...string) func() { return func() { s.opts.Env = append(s.opts.Env, kv...) } }
	for name, tc := range map[string]struct {
		change func()
		same   bool
	}{
		"nothing":                        {func() {}, true},
		"an unrelated file":              {func() { write(filepath.Join(flow, "unrelated.txt"), "y\n") }, true},
		"the -r file":                    {func() { write(filepath.Join(flow, "common.txt"), "pfz-a==2\n-r sub/deeper.txt\n") }, false},
		"a file -r'd by the -r file":     {func() { write(filepath.Join(flow, "sub", "deeper.txt"), "pfz-b==1.1\n--constraint=../cons.txt\n") }, false},
		"a constraints file, two deep":   {func() { write(filepath.Join(flow, "cons.txt"), "pfz-dep<3\n") }, false},
		"the -r file removed":            {func() { _ = os.Remove(filepath.Join(flow, "sub", "deeper.txt")) }, false},
		"a pip index variable":           {setEnv("PIP_INDEX_URL=https://user:secret@mirror/simple"), false},
		"a uv index variable":            {setEnv("UV_INDEX_URL=https://mirror/simple"), false},
		"uv find-links":                  {setEnv("UV_FIND_LINKS=" + root), false},
		"pip constraints":                {setEnv("PIP_CONSTRAINT=/c.txt"), false},
		"output and cache settings":      {setEnv("PIP_PROGRESS_BAR=off", "UV_NO_PROGRESS=1", "PIP_DEFAULT_TIMEOUT=99"), true},
		"the pip configuration file":     {func() { write(pipConf, "[global]\nindex-url = https://mirror/simple\n") }, false},
		"another installer (uv version)": {func() { f.mu.Lock(); f.builder = "uv 0.9.30 venv, uv 0.9.30 pip"; f.mu.Unlock() }, false},
	} {
		reset()
		before := key()
		tc.change()
		if got := key() == before; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", name, got, tc.same)
		}
	}
	// A secret in a variable is hashed, never written down.
	reset()
	s.opts.Env = append(s.opts.Env, "PIP_INDEX_URL=https://user:s3cret-token@mirror/simple")
	mustStart(t, s, specFor(testID, flow, "-r common.txt"))
	err := filepath.WalkDir(s.st.KindDir(envsKind), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(p); strings.Contains(string(b), "s3cret-token") {
			t.Errorf("%s holds the secret", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A changed -r file gives a new environment, not a copy of the stale one;
func TestChangedNestedFileBuildsAnew(t *testing.T) {
	s, f, _ := newTest(t)
	flowA := t.TempDir()
	if err := os.WriteFile(filepath.Join(flowA, "common.txt"), []byte("pfz-a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustStart(t, s, specFor(testID, flowA, "-r common.txt"))
	if err := os.WriteFile(filepath.Join(flowA, "common.txt"), []byte("pfz-a\npfz-b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustStart(t, s, specFor(testID2, flowA, "-r common.txt"))
	if c, _ := f.counts(); c != 2 {
		t.Errorf("a changed -r file: %d creates, want 2 (a stale copy was handed on)", c)
	}
	if got := f.lastInstall().File; !strings.Contains(got, filepath.Join(flowA, "common.txt")) {
		t.Errorf("installed %q", got)
	}
}
