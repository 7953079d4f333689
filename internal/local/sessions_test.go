package local

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// The test binary doubles as a helper process (a second pfz) with
// PFZ_LOCAL_HELPER set: "hang" starts a session whose build never ends (to
// be killed), "build" finishes a detached start.
func TestMain(m *testing.M) {
	switch os.Getenv("PFZ_LOCAL_HELPER") {
	case "":
		os.Exit(m.Run())
	case "hang":
		f := newFake()
		f.hang = true
		s, err := newSessions(Options{Home: os.Getenv("PFZ_LOCAL_HOME")}, f)
		if err == nil {
			_, err = s.Start(context.Background(), testSpec(os.Getenv("PFZ_LOCAL_ID")), workspace.StartOptions{})
		}
		_, _ = os.Stderr.WriteString("hang helper returned: " + errString(err) + "\n")
		os.Exit(1)
	case "build":
		s, err := newSessions(Options{Home: os.Getenv("PFZ_LOCAL_HOME")}, newFake())
		if err == nil {
			_, err = s.Build(context.Background(), os.Getenv("PFZ_LOCAL_ID"), workspace.StartOptions{})
		}
		if err != nil {
			_, _ = os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(2)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef"

func testSpec(id string) workspace.SessionSpec {
	if id == "" {
		id = testID
	}
	return workspace.SessionSpec{
		ID:           id,
		FlowDir:      "/work/flows/hello",
		UserAlias:    "alice",
		Image:        "mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest",
		Requirements: []string{"# tools", "pfz-a", "", "pfz-b>=1.0"},
	}
}

func newTest(t *testing.T) (*Sessions, *fakeEnv, *clock) {
	t.Helper()
	f := newFake()
	c := newClock()
	s, err := newSessions(Options{Home: t.TempDir(), Now: c.Now}, f)
	if err != nil {
		t.Fatal(err)
	}
	return s, f, c
}

func mustStart(t *testing.T, s *Sessions, spec workspace.SessionSpec) *workspace.Session {
	t.Helper()
	got, err := s.Start(context.Background(), spec, workspace.StartOptions{})
	if err != nil {
		t.Fatalf("Start: %v (hint: %s)", err, fault.HintOf(err))
	}
	return got
}

func TestStartRecordsTheSession(t *testing.T) {
	s, f, c := newTest(t)
	spec := testSpec("")
	spec.VMSize = "standard_d2s_v3"
	got := mustStart(t, s, spec)

	if got.Status != workspace.SessionRunning || got.Target != "local" || got.ID != testID {
		t.Fatalf("session %+v", got)
	}
	if got.ComputeType != "serverless" || got.VMSize != "Standard_D2s_v3" || got.VCPUs != 2 || got.MemoryGB != 8 {
		t.Errorf("compute: %s %s %d %v", got.ComputeType, got.VMSize, got.VCPUs, got.MemoryGB)
	}
	if got.IdleTimeSeconds != 3600 {
		t.Errorf("idle %d, want the command line default 3600", got.IdleTimeSeconds)
	}
	if got.Identity.Type != "user_identity" || got.Image != spec.Image || got.PythonVersion != "3.11.7" {
		t.Errorf("identity %+v image %s python %s", got.Identity, got.Image, got.PythonVersion)
	}
	if strings.Join(got.Requirements, "|") != "pfz-a|pfz-b>=1.0" {
		t.Errorf("requirements %q", got.Requirements)
	}
	if got.CreatedOn == nil || !got.CreatedOn.Equal(c.Now()) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(c.Now().Add(time.Hour)) {
		t.Errorf("created %v expires %v", got.CreatedOn, got.ExpiresAt)
	}
	if creates, installs := f.counts(); creates != 1 || installs != 1 {
		t.Errorf("creates %d installs %d", creates, installs)
	}
	if in := f.lastInstall(); in.File != "pfz-a\npfz-b>=1.0\n" || in.Dir != "/work/flows/hello" {
		t.Errorf("pip read %q in %q", in.File, in.Dir)
	}

	py, workers, mem, err := s.Python(context.Background(), testID)
	if err != nil || filepath.Base(py) != "python" || workers != 2 || mem != 4096 {
		t.Errorf("Python = %s %d %d %v", py, workers, mem, err)
	}

	// Starting again returns the running session without rebuilding it and
	// says which asked-for settings it does not have.
	spec.VMSize = "Standard_D4s_v3"
	again := mustStart(t, s, spec)
	if creates, _ := f.counts(); creates != 1 {
		t.Errorf("a second start rebuilt the session")
	}
	if again.VMSize != "Standard_D2s_v3" || !strings.Contains(again.Message, "VM size Standard_D2s_v3 (asked Standard_D4s_v3)") {
		t.Errorf("second start: %s %q", again.VMSize, again.Message)
	}
}

func TestStartValidates(t *testing.T) {
	s, f, _ := newTest(t)
	mod := func(fn func(*workspace.SessionSpec)) workspace.SessionSpec {
		sp := testSpec("")
		fn(&sp)
		return sp
	}
	tests := []struct {
		name string
		spec workspace.SessionSpec
		kind fault.Kind
		msg  string
	}{
		{"bad id", mod(func(s *workspace.SessionSpec) { s.ID = "../x" }), fault.Usage, "not a session id"},
		{"empty id", mod(func(s *workspace.SessionSpec) { s.ID = "" }), fault.Usage, "not a session id"},
		{"unknown compute type", mod(func(s *workspace.SessionSpec) { s.ComputeType = "gpu" }), fault.Usage, "unknown compute type"},
		{"instance without name", mod(func(s *workspace.SessionSpec) { s.ComputeType = "compute-instance" }), fault.Usage, "needs the name"},
		{"serverless with name", mod(func(s *workspace.SessionSpec) { s.ComputeType = "serverless"; s.ComputeName = "box1" }), fault.Usage, "names a compute instance"},
		{"bad instance name", mod(func(s *workspace.SessionSpec) { s.ComputeName = "1x" }), fault.Usage, "not a compute instance name"},
		{"unknown vm size", mod(func(s *workspace.SessionSpec) { s.VMSize = "Standard_Q99" }), fault.Validation, "Standard_Q99"},
		{"bad identity", mod(func(s *workspace.SessionSpec) { s.Identity.Type = "system" }), fault.Usage, "unknown identity"},
		{"client id not a guid", mod(func(s *workspace.SessionSpec) { s.Identity = workspace.Identity{Type: "managed", ClientID: "abc"} }), fault.Usage, "not a GUID"},
		{"client id on user", mod(func(s *workspace.SessionSpec) { s.Identity = workspace.Identity{ClientID: "abc"} }), fault.Usage, "managed identity"},
		{"negative idle", mod(func(s *workspace.SessionSpec) { s.IdleTime = -time.Minute }), fault.Usage, "too short"},
		{"tiny idle", mod(func(s *workspace.SessionSpec) { s.IdleTime = time.Millisecond }), fault.Usage, "too short"},
	}
	for _, tt := range tests {
		_, err := s.Start(context.Background(), tt.spec, workspace.StartOptions{})
		if err == nil || fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v (kind %v), want kind %v with %q", tt.name, err, fault.KindOf(err), tt.kind, tt.msg)
		}
	}
	if creates, _ := f.counts(); creates != 0 {
		t.Errorf("invalid specs built %d environments", creates)
	}
	if ids, _ := s.st.List(store.Sessions); len(ids) != 0 {
		t.Errorf("invalid specs left sessions %v", ids)
	}
}

func TestManagedIdentityIsRecorded(t *testing.T) {
	s, _, _ := newTest(t)
	spec := testSpec("")
	spec.Identity = workspace.Identity{Type: "managed", ClientID: "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"}
	got := mustStart(t, s, spec)
	if got.Identity.Type != "managed" || got.Identity.ClientID != "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" {
		t.Errorf("identity %+v", got.Identity)
	}
}

func TestIdleExpiry(t *testing.T) {
	s, _, c := newTest(t)
	ctx := context.Background()
	spec := testSpec("")
	spec.IdleTime = 2 * time.Minute
	mustStart(t, s, spec)

	c.Add(90 * time.Second)
	if _, err := s.Get(ctx, testID); err != nil {
		t.Fatalf("expired too early: %v", err)
	}
	if err := s.Touch(ctx, testID); err != nil {
		t.Fatal(err)
	}
	c.Add(90 * time.Second) // 3 minutes after start, 1.5 after the touch
	got, err := s.Get(ctx, testID)
	if err != nil {
		t.Fatalf("a touch did not restart the idle time: %v", err)
	}
	if !got.ExpiresAt.Equal(c.Now().Add(30 * time.Second)) {
		t.Errorf("expires %v, want %v", got.ExpiresAt, c.Now().Add(30*time.Second))
	}

	// A run holding the session keeps it alive past its idle time.
	release, err := s.Acquire(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(10 * time.Minute)
	if _, err := s.Get(ctx, testID); err != nil {
		t.Fatalf("expired while in use: %v", err)
	}
	release() // marks it used now
	c.Add(time.Minute)
	if _, err := s.Get(ctx, testID); err != nil {
		t.Fatalf("release did not mark the session used: %v", err)
	}
	c.Add(2 * time.Minute)
	if _, err := s.Get(ctx, testID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("after the idle time: %v, want NotFound", err)
	}
	if _, err := os.Stat(s.st.SessionDir(testID)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the expired session's folder is still on disk")
	}
}

func TestIdleExpiryRealClock(t *testing.T) {
	f := newFake()
	var debug bytes.Buffer
	s, err := newSessions(Options{Home: t.TempDir(), Debug: &debug}, f)
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec("")
	spec.IdleTime = time.Second
	mustStart(t, s, spec)
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := s.List(context.Background(), workspace.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a session with a 1s idle time was never deleted")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(debug.String(), "session "+testID+" was idle past its idle time") {
		t.Errorf("debug output: %q", debug.String())
	}
}

func TestEdit(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	mustStart(t, s, testSpec(""))

	idle := 45 * time.Minute
	got, err := s.Edit(ctx, testID, workspace.SessionEdit{IdleTime: &idle, Identity: &workspace.Identity{Type: "managed"}}, workspace.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.IdleTimeSeconds != 2700 || got.Identity.Type != "managed" {
		t.Errorf("in-place edit: %+v", got)
	}
	if creates, _ := f.counts(); creates != 1 {
		t.Error("an idle/identity edit rebuilt the session")
	}

	size := "Standard_D8s_v3"
	got, err = s.Edit(ctx, testID, workspace.SessionEdit{VMSize: &size}, workspace.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.VMSize != size || got.VCPUs != 8 || got.Status != workspace.SessionRunning {
		t.Errorf("resize: %+v", got)
	}
	if creates, installs := f.counts(); creates != 2 || installs != 2 {
		t.Errorf("a new VM size must reset: creates %d installs %d", creates, installs)
	}
	if got.IdleTimeSeconds != 2700 || got.Identity.Type != "managed" {
		t.Errorf("the reset lost the edited settings: %+v", got)
	}
	if _, w, _, _ := s.Python(ctx, testID); w != 8 {
		t.Errorf("workers %d after resize, want 8", w)
	}

	bad := "Standard_D8s_v9"
	if _, err := s.Edit(ctx, testID, workspace.SessionEdit{VMSize: &bad}, workspace.StartOptions{}); fault.KindOf(err) != fault.Validation ||
		!strings.Contains(fault.HintOf(err), "Standard_D8s_v") {
		t.Errorf("unknown size: %v (hint %q), want the nearest sizes named", err, fault.HintOf(err))
	}
	if _, err := s.Edit(ctx, testID, workspace.SessionEdit{}, workspace.StartOptions{}); fault.KindOf(err) != fault.Usage {
		t.Errorf("empty edit: %v", err)
	}
	box := "box2"
	if _, err := s.Edit(ctx, testID, workspace.SessionEdit{Compute: &box}, workspace.StartOptions{}); fault.KindOf(err) != fault.Usage ||
		!strings.Contains(err.Error(), "runs on serverless compute") || fault.HintOf(err) == "" {
		t.Errorf("--compute on a serverless session: %v", err)
	}
	if _, err := s.Edit(ctx, "nosuch", workspace.SessionEdit{IdleTime: &idle}, workspace.StartOptions{}); !fault.Is(err, fault.NotFound) {
		t.Errorf("edit of a missing session: %v", err)
	}
}

func TestResetRebuildsFromTheSameSpec(t *testing.T) {
	s, f, _ := newTest(t)
	mustStart(t, s, testSpec(""))
	got, err := s.Reset(context.Background(), testID, workspace.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != workspace.SessionRunning {
		t.Fatalf("after reset: %+v", got)
	}
	if creates, installs := f.counts(); creates != 2 || installs != 2 {
		t.Errorf("creates %d installs %d", creates, installs)
	}
	if in := f.lastInstall(); in.File != "pfz-a\npfz-b>=1.0\n" {
		t.Errorf("reset installed %q", in.File)
	}
	logs, _ := filepath.Glob(filepath.Join(s.st.SessionDir(testID), "logs", "reset-*.log"))
	if len(logs) != 1 {
		t.Errorf("reset logs %v", logs)
	}
}

func TestStop(t *testing.T) {
	s, _, _ := newTest(t)
	ctx := context.Background()
	mustStart(t, s, testSpec(""))

	release, err := s.Acquire(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx, testID); err == nil || !strings.Contains(err.Error(), "a run is using it") {
		t.Fatalf("stop while in use: %v", err)
	}
	release()
	if err := s.Stop(ctx, testID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.st.SessionDir(testID)); !errors.Is(err, os.ErrNotExist) {
		t.Error("stop left the session folder")
	}
	if err := s.Stop(ctx, testID); !fault.Is(err, fault.NotFound) || fault.HintOf(err) == "" {
		t.Errorf("second stop: %v", err)
	}
	if _, _, _, err := s.Python(ctx, testID); !fault.Is(err, fault.NotFound) {
		t.Errorf("Python of a stopped session: %v", err)
	}
}

func TestListFiltersByFlow(t *testing.T) {
	s, _, c := newTest(t)
	a := testSpec("aaaa")
	mustStart(t, s, a)
	c.Add(time.Second)
	b := testSpec("bbbb")
	b.FlowDir = "/work/flows/other"
	mustStart(t, s, b)

	all, err := s.List(context.Background(), workspace.SessionFilter{})
	if err != nil || len(all) != 2 || all[0].ID != "aaaa" || all[1].ID != "bbbb" {
		t.Fatalf("List = %+v, %v", all, err)
	}
	one, _ := s.List(context.Background(), workspace.SessionFilter{FlowDir: "/work/flows/other/"})
	if len(one) != 1 || one[0].ID != "bbbb" {
		t.Fatalf("filtered = %+v", one)
	}
}

func TestPackagesAndInstall(t *testing.T) {
	f := newFake()
	f.deps["pfz-a"] = "pfz-dep"
	s, err := newSessions(Options{Home: t.TempDir(), Runtime: &workspace.Package{Name: "pfz-runtime", Version: "0.1.0"}}, f)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mustStart(t, s, testSpec(""))

	got, err := s.Install(ctx, testID, specWithReqs(testID, "pfz-a", "pfz-b>=1.0", "Pfz_C==1.0  # new"), workspace.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Requirements) != 3 {
		t.Errorf("requirements after install: %q", got.Requirements)
	}
	list, err := s.Packages(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range list.Packages {
		lines = append(lines, p.Name+"="+p.Origin)
	}
	// Jinja2 is part of every session's base, as it is of a compute session's image.
	want := "Jinja2=base MarkupSafe=base pfz-a=requirements pfz-b=requirements pfz-c=requirements pfz-dep=dependency pfz-runtime=base pip=base setuptools=base"
	if strings.Join(lines, " ") != want {
		t.Errorf("packages:\n got %s\nwant %s", strings.Join(lines, " "), want)
	}
	if list.PythonVersion != "3.11.7" || list.SessionID != testID {
		t.Errorf("list header %+v", list)
	}

	// A failing install leaves the session running and says why and where the log is.
	f.fail["pfz-missing"] = true
	_, err = s.Install(ctx, testID, specWithReqs(testID, "pfz-a", "pfz-missing"), workspace.StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "No matching distribution found for pfz-missing") {
		t.Fatalf("failing install: %v", err)
	}
	hint := fault.HintOf(err)
	m := regexp.MustCompile(`log is (\S+);`).FindStringSubmatch(hint)
	if m == nil || !strings.HasPrefix(m[1], s.st.Home()) {
		t.Fatalf("hint %q does not name the log under PFZ_HOME", hint)
	}
	if b, err := os.ReadFile(m[1]); err != nil || !strings.Contains(string(b), "No matching distribution found for pfz-missing") {
		t.Errorf("log named in the hint: %v\n%s", err, b)
	}
	after, _ := s.Get(ctx, testID)
	if after.Status != workspace.SessionRunning || !strings.Contains(after.Message, "last package install failed") {
		t.Errorf("after a failed install: %s %q", after.Status, after.Message)
	}
	if len(after.Requirements) != 3 {
		t.Errorf("a failed install changed the recorded requirements: %q", after.Requirements)
	}
}

func TestFailedStart(t *testing.T) {
	s, f, _ := newTest(t)
	f.fail["pfz-b"] = true
	_, err := s.Start(context.Background(), testSpec(""), workspace.StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "No matching distribution found for pfz-b") {
		t.Fatalf("got %v", err)
	}
	if h := fault.HintOf(err); !strings.Contains(h, filepath.Join(s.st.SessionDir(testID), "logs")) {
		t.Errorf("hint %q should name the log", h)
	}
	got, _ := s.Get(context.Background(), testID)
	if got.Status != workspace.SessionFailed || !strings.Contains(got.Message, "pip could not install") {
		t.Errorf("after a failed start: %s %q", got.Status, got.Message)
	}
	if _, err := s.Packages(context.Background(), testID); err == nil || !strings.Contains(fault.HintOf(err), "session reset") {
		t.Errorf("packages of a failed session: %v", err)
	}
	// Starting again after fixing the cause rebuilds it.
	delete(f.fail, "pfz-b")
	if got := mustStart(t, s, testSpec("")); got.Status != workspace.SessionRunning {
		t.Errorf("restart: %+v", got)
	}
}

func TestStartTimeout(t *testing.T) {
	s, f, _ := newTest(t)
	f.hang = true
	_, err := s.Start(context.Background(), testSpec(""), workspace.StartOptions{Timeout: 50 * time.Millisecond})
	if fault.KindOf(err) != fault.Timeout {
		t.Fatalf("got %v, want a Timeout fault", err)
	}
	got, _ := s.Get(context.Background(), testID)
	if got.Status != workspace.SessionFailed || !strings.Contains(got.Message, "did not finish in time") {
		t.Errorf("after a timed out start: %s %q", got.Status, got.Message)
	}
}

func TestPrivateFeedToken(t *testing.T) {
	const token = "feed-s3cret-value"
	f := newFake()
	var debug bytes.Buffer
	var gotIdentity workspace.Identity
	opts := Options{Home: t.TempDir(), Debug: &debug, PrivateToken: func(ctx context.Context, id workspace.Identity) (string, error) {
		gotIdentity = id
		return "pat:" + token, nil
	}}
	s, err := newSessions(opts, f)
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec("")
	spec.Identity = workspace.Identity{Type: "managed", ClientID: "00000000-0000-0000-0000-000000000001"}
	spec.Requirements = []string{"--extra-index-url https://{private}@pkgs.example/feed/simple/", "pfz-secret"}
	mustStart(t, s, spec)

	in := f.lastInstall()
	if strings.Contains(in.File, token) || !strings.Contains(in.File, "https://${PFZ_PIP_PRIVATE_TOKEN}@pkgs.example") {
		t.Errorf("pip file %q", in.File)
	}
	if len(in.Env) != 1 || in.Env[0] != "PFZ_PIP_PRIVATE_TOKEN=pat:"+token {
		t.Errorf("pip env %q", in.Env)
	}
	if gotIdentity.ClientID != spec.Identity.ClientID {
		t.Errorf("token asked for identity %+v", gotIdentity)
	}
	if strings.Contains(debug.String(), token) || !strings.Contains(debug.String(), "Looking in indexes: --extra-index-url https://******@pkgs.example") {
		t.Errorf("debug output %q", debug.String())
	}
	assertNoSecretUnder(t, s.st.Home(), token)

	// Without a token source the private feed is an auth error, before pip runs.
	s2, _ := newSessions(Options{Home: t.TempDir()}, newFake())
	_, err = s2.Start(context.Background(), spec, workspace.StartOptions{})
	if fault.KindOf(err) != fault.Auth || !strings.Contains(fault.HintOf(err), "PFZ_PRIVATE_FEED_TOKEN") {
		t.Errorf("no token: %v (hint %q)", err, fault.HintOf(err))
	}
}

func assertNoSecretUnder(t *testing.T, root, secret string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil //nolint:nilerr // an entry that vanished or cannot be read holds no secret to find
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the secret was written to %s", p)
		}
		return nil
	})
}

func TestRepairStuckStart(t *testing.T) {
	s, _, c := newTest(t)
	ctx := context.Background()
	rec, err := s.newRecord(testSpec(""))
	if err != nil {
		t.Fatal(err)
	}
	rec.Status, rec.PID, rec.StartedAt, rec.CreatedOn, rec.LastUsed = workspace.SessionStarting, math.MaxInt32, c.Now(), c.Now(), c.Now()
	if err := s.save(rec); err != nil {
		t.Fatal(err)
	}
	// While someone holds the lock, the builder counts as alive.
	lk, err := s.st.Lock(ctx, store.Sessions, testID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, testID)
	if err != nil || got.Status != workspace.SessionStarting {
		t.Fatalf("status %v (%v) while the lock is held", got, err)
	}
	if err := lk.Unlock(); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, testID)
	if err != nil || got.Status != workspace.SessionFailed || !strings.Contains(got.Message, "pfz session reset "+testID) {
		t.Fatalf("after repair: %v (%v)", got, err)
	}

	// A folder without a record is debris.
	if err := store.EnsureDir(s.st.SessionDir("debris")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, workspace.SessionFilter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.st.SessionDir("debris")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a folder without a record was kept")
	}
}

func TestKilledStartIsRepaired(t *testing.T) {
	if runtime.GOOS == "windows" {
		need.ByDesign(t, "uses SIGKILL, which Windows lacks")
	}
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PFZ_LOCAL_HELPER=hang", "PFZ_LOCAL_HOME="+home, "PFZ_LOCAL_ID="+testID)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s, err := newSessions(Options{Home: home}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec, err := s.load(testID)
		if err == nil && rec.Status == workspace.SessionStarting && rec.PID == cmd.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the helper never reached Starting: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	got, err := s.Get(context.Background(), testID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != workspace.SessionFailed || !strings.Contains(got.Message, "ended before it finished") {
		t.Fatalf("after the kill: %s %q", got.Status, got.Message)
	}
	// And the next start rebuilds it.
	if got := mustStart(t, s, testSpec("")); got.Status != workspace.SessionRunning {
		t.Fatalf("start after repair: %+v", got)
	}
}

func TestConcurrentStartsBuildOnce(t *testing.T) {
	home := t.TempDir()
	f := newFake()
	const n = 4
	var wg sync.WaitGroup
	results := make([]*workspace.Session, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate handles, as separate pfz processes would have.
			s, err := newSessions(Options{Home: home}, f)
			if err == nil {
				results[i], err = s.Start(context.Background(), testSpec(""), workspace.StartOptions{})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i].Status != workspace.SessionRunning {
			t.Fatalf("start %d: %v %+v", i, errs[i], results[i])
		}
	}
	if creates, installs := f.counts(); creates != 1 || installs != 1 {
		t.Errorf("%d concurrent starts built %d environments and ran pip %d times", n, creates, installs)
	}
}

func TestNoWaitDetaches(t *testing.T) {
	home := t.TempDir()
	var started int
	detach := func(ctx context.Context, id string) (int, error) {
		started++
		env := append(os.Environ(), "PFZ_LOCAL_HELPER=build", "PFZ_LOCAL_HOME="+home, "PFZ_LOCAL_ID="+id)
		return StartDetached(os.Args[0], []string{"-test.run=^$"}, env)
	}
	s, err := newSessions(Options{Home: home, Detach: detach}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Start(context.Background(), testSpec(""), workspace.StartOptions{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != workspace.SessionStarting || started != 1 {
		t.Fatalf("no-wait start answered %s (detached %d)", got.Status, started)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err = s.Get(context.Background(), testID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == workspace.SessionRunning {
			break
		}
		if got.Status == workspace.SessionFailed || time.Now().After(deadline) {
			t.Fatalf("the detached build ended %s: %s", got.Status, got.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}

	s2, _ := newSessions(Options{Home: t.TempDir()}, newFake())
	if _, err := s2.Start(context.Background(), testSpec(""), workspace.StartOptions{NoWait: true}); fault.KindOf(err) != fault.Unsupported {
		t.Errorf("no-wait without a detacher: %v", err)
	}
}

func TestCorruptRecord(t *testing.T) {
	s, _, _ := newTest(t)
	ctx := context.Background()
	_ = store.EnsureDir(s.st.SessionDir(testID))
	_ = os.WriteFile(s.recordPath(testID), []byte("{not json"), 0o600)
	list, err := s.List(ctx, workspace.SessionFilter{})
	if err != nil || len(list) != 1 || list[0].Status != workspace.SessionFailed || !strings.Contains(list[0].Message, "damaged") {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, err := s.Get(ctx, testID); err == nil || fault.HintOf(err) == "" {
		t.Errorf("Get of a damaged record: %v", err)
	}
	if got := mustStart(t, s, testSpec("")); got.Status != workspace.SessionRunning {
		t.Errorf("a start should replace a damaged record: %+v", got)
	}
}

func TestRequirementName(t *testing.T) {
	tests := map[string]string{
		"pfz-a": "pfz-a",
		"  Pfz_B[extra]>=1.0 ; python_version>'3'": "pfz-b",
		"pfz.c==1 # comment":                       "pfz-c",
		"name @ https://x/y.whl":                   "name",
		"-i https://x/simple":                      "",
		"--extra-index-url https://x":              "",
		"-r other.txt":                             "",
		"./local/pkg":                              "",
		"https://host/pkg.whl":                     "",
		"# comment":                                "",
		"":                                         "",
	}
	for in, want := range tests {
		if got := requirementName(in); got != want {
			t.Errorf("requirementName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPipFileMakesNestedPathsAbsolute(t *testing.T) {
	// Every spelling the environment key follows (nestedRefs) is rewritten:
	// -rfile, a continued line, a comment after the path.
	got := pipFile([]string{"-r common.txt", "--constraint=c.txt", "-i https://{private}@h/simple", "-r /abs.txt", "pfz-a",
		"-rbase.txt", "-r \\", "  more.txt", "-c pins.txt  # the pins", "-r https://h/r.txt"}, "/flow")
	want := "-r /flow/common.txt\n-c /flow/c.txt\n-i https://${PFZ_PIP_PRIVATE_TOKEN}@h/simple\n-r /abs.txt\npfz-a\n" +
		"-r /flow/base.txt\n-r /flow/more.txt\n-c /flow/pins.txt\n-r https://h/r.txt\n"
	if runtime.GOOS != "windows" && got != want {
		t.Errorf("pipFile:\n%s\nwant:\n%s", got, want)
	}
}

func TestUserinfoEscapes(t *testing.T) {
	tests := map[string]string{
		"abc":        "abc",
		"user:p@ss/": "user:p%40ss%2F",
		"a@b":        "a%40b",
	}
	for in, want := range tests {
		if got := userinfo(in); got != want {
			t.Errorf("userinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoWaitWithoutDetacherOnReset(t *testing.T) {
	s, f, _ := newTest(t)
	mustStart(t, s, testSpec(""))
	size := "Standard_D8s_v3"
	if _, err := s.Edit(context.Background(), testID, workspace.SessionEdit{VMSize: &size}, workspace.StartOptions{NoWait: true}); fault.KindOf(err) != fault.Unsupported {
		t.Errorf("edit --no-wait without a detacher: %v", err)
	}
	if _, err := s.Reset(context.Background(), testID, workspace.StartOptions{NoWait: true}); fault.KindOf(err) != fault.Unsupported {
		t.Errorf("reset --no-wait without a detacher: %v", err)
	}
	if creates, _ := f.counts(); creates != 1 {
		t.Errorf("a refused no-wait still rebuilt")
	}
	if got, _ := s.Get(context.Background(), testID); got.Status != workspace.SessionRunning {
		t.Errorf("a refused no-wait changed the session: %+v", got)
	}
}

func FuzzRequirementName(f *testing.F) {
	for _, s := range []string{"pfz-a", "A_b.C[x]>=1; python_version<'4'", "-i https://{private}@h/s", "n @ https://x", "./p", "#c", " x #y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		n := requirementName(line)
		if n != normalizeName(n) || strings.ContainsAny(n, " /@#") {
			t.Fatalf("requirementName(%q) = %q is not a normalized name", line, n)
		}
		out := pipFile([]string{line}, "/flow")
		if strings.Contains(out, "{private}") {
			t.Fatalf("pipFile left {private} in %q", out)
		}
	})
}

func TestRepairInterruptedInstall(t *testing.T) {
	s, _, _ := newTest(t)
	mustStart(t, s, testSpec(""))
	rec, _ := s.load(testID)
	rec.InstallPID = math.MaxInt32
	if err := s.save(rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(context.Background(), testID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != workspace.SessionRunning || !strings.Contains(got.Message, "was interrupted") || !strings.Contains(got.Message, "pfz session reset "+testID) {
		t.Errorf("after an interrupted install: %s %q", got.Status, got.Message)
	}
	if rec, _ := s.load(testID); rec.InstallPID != 0 {
		t.Error("the install marker stayed")
	}
}
