package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// testID2 is the id the flow of testSpec gets after a requirements edit.
const testID2 = "fedcba9876543210fedcba9876543210fedcba9876543210"

// specWithReqs is testSpec under id with other requirement lines.
func specWithReqs(id string, reqs ...string) workspace.SessionSpec {
	spec := testSpec(id)
	spec.Requirements = reqs
	spec.EnvHash = "hash-of-" + strings.Join(reqs, ",")
	return spec
}

// addScripts puts in the session's environment what a real venv has that
// names its folder: a console script and activate, plus a binary that must
// not be touched.
func addScripts(t *testing.T, envDir string) {
	t.Helper()
	bin := filepath.Join(envDir, "bin")
	files := map[string]string{
		"tool":     "#!" + envDir + "/bin/python\nimport tool\n",
		"activate": "VIRTUAL_ENV=\"" + envDir + "\"\nexport VIRTUAL_ENV\n",
		"blob":     "\x7fELF" + envDir,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkMoved asserts that the session lives under testID2 only, with its
// environment, log and scripts rebased onto the new folder.
func checkMoved(t *testing.T, s *Sessions, wantReqs string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Get(ctx, testID); !fault.Is(err, fault.NotFound) {
		t.Errorf("Get(old id) = %v, want NotFound", err)
	}
	if _, err := os.Stat(s.st.SessionDir(testID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sessions/<old> is still there: %v", err)
	}
	got, err := s.Get(ctx, testID2)
	if err != nil {
		t.Fatalf("Get(new id): %v", err)
	}
	if got.ID != testID2 || got.Status != workspace.SessionRunning || got.VMSize != "Standard_D2s_v3" {
		t.Errorf("moved session %+v", got)
	}
	rec, err := s.load(testID2)
	if err != nil {
		t.Fatal(err)
	}
	newDir := s.st.SessionDir(testID2)
	envDir := filepath.Join(newDir, "env")
	if rec.Spec.ID != testID2 || rec.Env.Dir != envDir || rec.Env.Python != filepath.Join(envDir, "bin", "python") {
		t.Errorf("record: id %s env %s python %s", rec.Spec.ID, rec.Env.Dir, rec.Env.Python)
	}
	if !strings.HasPrefix(rec.LogFile, newDir) {
		t.Errorf("log file %s is not under %s", rec.LogFile, newDir)
	}
	if _, err := os.Stat(rec.LogFile); err != nil {
		t.Errorf("log file: %v", err)
	}
	if strings.Join(rec.Spec.Requirements, "|") != wantReqs || rec.Spec.EnvHash != "hash-of-"+strings.ReplaceAll(wantReqs, "|", ",") {
		t.Errorf("spec requirements %q hash %q", rec.Spec.Requirements, rec.Spec.EnvHash)
	}
	if _, err := os.Stat(filepath.Join(newDir, rekeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal stayed: %v", err)
	}
	if py, _, _, err := s.Python(ctx, testID2); err != nil || py != rec.Env.Python {
		t.Errorf("Python(new id) = %s, %v", py, err)
	}
	oldEnv := filepath.Join(s.st.SessionDir(testID), "env")
	if tool := readFile(t, filepath.Join(envDir, "bin", "tool")); tool != "#!"+envDir+"/bin/python\nimport tool\n" {
		t.Errorf("console script after the move:\n%s", tool)
	}
	if act := readFile(t, filepath.Join(envDir, "bin", "activate")); strings.Contains(act, oldEnv) || !strings.Contains(act, envDir) {
		t.Errorf("activate after the move:\n%s", act)
	}
	if blob := readFile(t, filepath.Join(envDir, "bin", "blob")); blob != "\x7fELF"+oldEnv {
		t.Errorf("a binary was rewritten: %q", blob)
	}
}

func startWithScripts(t *testing.T, s *Sessions) {
	t.Helper()
	spec := testSpec("")
	spec.VMSize = "Standard_D2s_v3"
	mustStart(t, s, spec)
	addScripts(t, filepath.Join(s.st.SessionDir(testID), "env"))
}

func TestInstallMovesTheSessionToTheNewID(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	startWithScripts(t, s)
	created, _ := s.Get(ctx, testID)

	var events []string
	rep := reporterFunc(func(e workspace.Event) { events = append(events, e.Message) })
	got, err := s.Install(ctx, testID, specWithReqs(testID2, "pfz-a", "pfz-b>=1.0", "pfz-c"), workspace.StartOptions{Reporter: rep})
	if err != nil {
		t.Fatalf("Install: %v (hint %s)", err, fault.HintOf(err))
	}
	if got.ID != testID2 || got.Message != "" || strings.Join(got.Requirements, "|") != "pfz-a|pfz-b>=1.0|pfz-c" {
		t.Errorf("Install returned %+v", got)
	}
	if !strings.Contains(strings.Join(events, "\n"), "Session "+testID+" is now "+testID2) {
		t.Errorf("events %q do not say the id changed", events)
	}
	// Incremental: no new environment; pip ran in the moved one.
	if creates, installs := f.counts(); creates != 1 || installs != 2 {
		t.Errorf("creates %d installs %d", creates, installs)
	}
	if in := f.lastInstall(); !strings.HasPrefix(in.Python, s.st.SessionDir(testID2)) || in.File != "pfz-a\npfz-b>=1.0\npfz-c\n" {
		t.Errorf("pip ran %s with %q", in.Python, in.File)
	}
	checkMoved(t, s, "pfz-a|pfz-b>=1.0|pfz-c")
	after, _ := s.Get(ctx, testID2)
	if !after.CreatedOn.Equal(*created.CreatedOn) || after.FlowDir != created.FlowDir {
		t.Errorf("created %v flow %s, want %v %s", after.CreatedOn, after.FlowDir, created.CreatedOn, created.FlowDir)
	}
	list, err := s.Packages(ctx, testID2)
	if err != nil || list.SessionID != testID2 {
		t.Fatalf("Packages: %+v %v", list, err)
	}
	found := false
	for _, p := range list.Packages {
		found = found || p.Name == "pfz-c" && p.Origin == workspace.OriginRequirements
	}
	if !found {
		t.Errorf("pfz-c is not listed from the requirements: %+v", list.Packages)
	}
	all, _ := s.List(ctx, workspace.SessionFilter{})
	if len(all) != 1 || all[0].ID != testID2 {
		t.Errorf("List = %+v", all)
	}
	// A start of the flow with the new requirements finds it; nothing is built.
	again := mustStart(t, s, specWithReqs(testID2, "pfz-a", "pfz-b>=1.0", "pfz-c"))
	if creates, _ := f.counts(); creates != 1 || again.ID != testID2 {
		t.Errorf("start after the move built a new session (%d creates): %+v", creates, again)
	}
}

func TestInstallFailureStillMoves(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	startWithScripts(t, s)
	f.fail["pfz-missing"] = true
	_, installErr := s.Install(ctx, testID, specWithReqs(testID2, "pfz-a", "pfz-missing"), workspace.StartOptions{})
	if installErr == nil || !strings.Contains(installErr.Error(), "pfz-missing") {
		t.Fatalf("Install = %v, want pip's error", installErr)
	}
	// The requirements file is already saved: the session must be where
	// the flow now looks, saying what failed.
	got, err := s.Get(ctx, testID2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != workspace.SessionRunning || !strings.Contains(got.Message, "last package install failed") ||
		strings.Join(got.Requirements, "|") != "pfz-a|pfz-b>=1.0" {
		t.Errorf("after a failed install: %s %q %q", got.Status, got.Message, got.Requirements)
	}
	if !strings.Contains(fault.HintOf(installErr), s.st.SessionDir(testID2)) {
		t.Errorf("hint %q does not name the log in the moved folder", fault.HintOf(installErr))
	}
	// Installing again with the fixed file goes into the same session.
	f.fail["pfz-missing"] = false
	if _, err := s.Install(ctx, testID2, specWithReqs(testID2, "pfz-a", "pfz-missing"), workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, testID2); got.Message != "" || strings.Join(got.Requirements, "|") != "pfz-a|pfz-missing" {
		t.Errorf("after the retry: %q %q", got.Message, got.Requirements)
	}
}

func TestInstallIntoTheSessionThatHasTheNewID(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	mustStart(t, s, testSpec(""))
	startBesides(t, s, testID, specWithReqs(testID2, "pfz-a"))
	got, err := s.Install(ctx, testID, specWithReqs(testID2, "pfz-a", "pfz-c"), workspace.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != testID2 || !strings.Contains(got.Message, "already served the new requirements") ||
		!strings.Contains(got.Message, "pfz session stop "+testID) {
		t.Errorf("Install = %s %q", got.ID, got.Message)
	}
	if in := f.lastInstall(); !strings.HasPrefix(in.Python, s.st.SessionDir(testID2)) || in.File != "pfz-a\npfz-c\n" {
		t.Errorf("pip ran %s with %q", in.Python, in.File)
	}
	old, err := s.Get(ctx, testID)
	if err != nil || strings.Join(old.Requirements, "|") != "pfz-a|pfz-b>=1.0" {
		t.Errorf("the old session changed: %+v %v", old, err)
	}
}

func TestInstallWithoutASession(t *testing.T) {
	s, f, _ := newTest(t)
	_, err := s.Install(context.Background(), testID, specWithReqs(testID2, "pfz-a"), workspace.StartOptions{})
	if !fault.Is(err, fault.NotFound) {
		t.Errorf("Install without sessions = %v, want NotFound", err)
	}
	if creates, installs := f.counts(); creates+installs != 0 {
		t.Error("an install without a session built something")
	}
	if _, err := os.Stat(s.st.SessionDir(testID2)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a folder for the new id appeared: %v", err)
	}
}

func TestInstallWhileARunUsesTheSession(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	startWithScripts(t, s)
	release, err := s.Acquire(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Install(ctx, testID, specWithReqs(testID2, "pfz-a", "pfz-b>=1.0", "pfz-c"), workspace.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Installed in place; the environment the run uses stays where it is.
	if got.ID != testID || !strings.Contains(got.Message, "a run is using this session") || !strings.Contains(got.Message, testID2) {
		t.Errorf("Install = %s %q", got.ID, got.Message)
	}
	if in := f.lastInstall(); !strings.HasPrefix(in.Python, s.st.SessionDir(testID)) || in.File != "pfz-a\npfz-b>=1.0\npfz-c\n" {
		t.Errorf("pip ran %s with %q", in.Python, in.File)
	}
	if _, err := s.Get(ctx, testID2); !fault.Is(err, fault.NotFound) {
		t.Errorf("moved under a running run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.st.SessionDir(testID), rekeyFile)); err != nil {
		t.Errorf("no journal for the pending move: %v", err)
	}
	// Once the run ends, the next command moves it.
	release()
	checkMoved(t, s, "pfz-a|pfz-b>=1.0|pfz-c")
}

// TestRepairKilledRekey stops a re-key at each of its steps as a killed
// process would, and checks that the next command, in a new process (a new
// Sessions on the same home), completes it.
func TestRepairKilledRekey(t *testing.T) {
	for _, point := range []string{"journal", "rename", "scripts", "record"} {
		t.Run(point, func(t *testing.T) {
			s, f, c := newTest(t)
			ctx := context.Background()
			startWithScripts(t, s)
			s.crashAt = func(p string) bool { return p == point }
			if _, err := s.Install(ctx, testID, specWithReqs(testID2, "pfz-a", "pfz-c"), workspace.StartOptions{}); !errors.Is(err, errCrashed) {
				t.Fatalf("Install = %v, want the test's crash", err)
			}
			if _, installs := f.counts(); installs != 1 {
				t.Errorf("pip ran before the move was committed")
			}
			next, err := newSessions(Options{Home: s.st.Home(), Now: c.Now}, f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := next.Maintain(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Repaired) != 1 || !strings.Contains(m.Repaired[0], testID2) {
				t.Errorf("Maintain repaired %q", m.Repaired)
			}
			// pip never ran: the spec is the new one, the lines installed the old.
			checkMoved(t, next, "pfz-a|pfz-c")
			if got, _ := next.Get(ctx, testID2); strings.Join(got.Requirements, "|") != "pfz-a|pfz-b>=1.0" {
				t.Errorf("installed lines %q", got.Requirements)
			}
			// Installing again (the user re-runs the command) completes it.
			if _, err := next.Install(ctx, testID2, specWithReqs(testID2, "pfz-a", "pfz-c"), workspace.StartOptions{}); err != nil {
				t.Fatal(err)
			}
			if m, _ := next.Maintain(ctx); len(m.Repaired)+len(m.Removed) != 0 {
				t.Errorf("a second maintenance still found work: %+v", m)
			}
		})
	}
}

// A journal whose target got a session of its own meanwhile is dropped:
// both sessions stay as they are.
func TestRepairDropsARekeyOntoAnExistingSession(t *testing.T) {
	s, _, _ := newTest(t)
	ctx := context.Background()
	mustStart(t, s, testSpec(""))
	startBesides(t, s, testID, specWithReqs(testID2, "pfz-a"))
	j := rekeyJournal{From: testID, To: testID2, Spec: specWithReqs(testID2, "pfz-a", "pfz-c")}
	if err := store.WriteJSON(s.journalPath(testID), j, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := s.Maintain(ctx)
	if err != nil || len(m.Repaired) != 1 || !strings.Contains(m.Repaired[0], "has a session of its own") {
		t.Fatalf("Maintain = %+v, %v", m, err)
	}
	for _, id := range []string{testID, testID2} {
		if got, err := s.Get(ctx, id); err != nil || got.Status != workspace.SessionRunning {
			t.Errorf("%s: %+v %v", id, got, err)
		}
	}
	if _, err := os.Stat(s.journalPath(testID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal stayed: %v", err)
	}
}

func TestRebase(t *testing.T) {
	old, nw := filepath.FromSlash("/h/sessions/a"), filepath.FromSlash("/h/sessions/b")
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/h/sessions/a/env", "/h/sessions/b/env", true},
		{"/h/sessions/a", "/h/sessions/b", true},
		{"/h/sessions/ab/env", "/h/sessions/ab/env", false},
		{"/h/computes/c/env", "/h/computes/c/env", false},
		{"/h/sessions/b/env", "/h/sessions/b/env", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := rebase(filepath.FromSlash(tt.in), old, nw)
		if got != filepath.FromSlash(tt.want) || ok != tt.ok {
			t.Errorf("rebase(%s) = %s %v, want %s %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

type reporterFunc func(workspace.Event)

func (f reporterFunc) Report(e workspace.Event) { f(e) }

// startBesides starts spec while a run uses the flow's session busy, so that
// both stay (a start otherwise stops the flow's older session).
func startBesides(t *testing.T, s *Sessions, busy string, spec workspace.SessionSpec) {
	t.Helper()
	release, err := s.Acquire(context.Background(), busy)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	got := mustStart(t, s, spec)
	if !strings.Contains(got.Message, "session "+busy+", built for this flow's previous environment, is in use and was left running") {
		t.Fatalf("start beside %s: %q", busy, got.Message)
	}
}
