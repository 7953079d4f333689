package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/connection"
	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/local/run"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Runs tests that need no Python: records are written by hand. The real
// runs are in internal/local/run/e2e.

func newRunsTest(t *testing.T) (*Runs, *bytes.Buffer) {
	t.Helper()
	home := t.TempDir()
	s, err := NewSessions(Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	var debug bytes.Buffer
	r, err := NewRuns(WorkspaceOptions{Sessions: s, Debug: &debug, CancelWait: 2 * time.Second, Poll: 10 * time.Millisecond,
		Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return r, &debug
}

// putRun writes a run record and n lines as a run leaves them.
func putRun(t *testing.T, r *Runs, rec *run.Record, lines int) string {
	t.Helper()
	dir := r.Dir(rec.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if rec.CreatedOn.IsZero() {
		rec.CreatedOn = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if err := run.Save(dir, rec); err != nil {
		t.Fatal(err)
	}
	w, err := run.NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < lines; i++ {
		st := executor.StatusCompleted
		if i == 1 {
			st = executor.StatusFailed
		}
		if err := w.Line(executor.LineResult{LineNumber: i, Status: st, Inputs: pyjson.ObjectOf(map[string]any{"x": i}), Outputs: pyjson.ObjectOf(map[string]any{"y": i})}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDeadOwnerIsSettled(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		cancelFile   bool
		want         string
	}{
		{"running", workspace.RunRunning, false, workspace.RunFailed},
		{"preparing", workspace.RunPreparing, false, workspace.RunFailed},
		{"cancel requested", workspace.RunCancelRequested, false, workspace.RunCanceled},
		{"cancel file only", workspace.RunRunning, true, workspace.RunCanceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, debug := newRunsTest(t)
			dir := putRun(t, r, &run.Record{Name: "r", Status: tc.status, PID: 999999}, 3)
			f, _ := os.OpenFile(filepath.Join(dir, run.LinesFile), os.O_APPEND|os.O_WRONLY, 0)
			if _, err := f.WriteString(`{"line_number":3,"sta`); err != nil { // torn by the kill
				t.Fatal(err)
			}
			f.Close()
			if tc.cancelFile {
				if err := os.WriteFile(filepath.Join(dir, run.CancelFile), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.Get(context.Background(), "r")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want || got.Error == nil || !strings.Contains(got.Error.Message, "pid 999999") ||
				!strings.Contains(got.Error.Message, "pfz run show-details -n r") || got.EndTime == nil {
				t.Fatalf("settled = %+v %+v", got, got.Error)
			}
			if got.LinesCompleted != 2 || got.LinesFailed != 1 {
				t.Errorf("counts from the record: %d completed, %d failed", got.LinesCompleted, got.LinesFailed)
			}
			b, _ := os.ReadFile(filepath.Join(dir, run.LinesFile))
			if bytes.Contains(b, []byte(`"line_number":3`)) {
				t.Error("the torn line was not cut")
			}
			if !strings.Contains(debug.String(), "marked "+tc.want) {
				t.Errorf("debug: %s", debug)
			}
		})
	}
}

func TestLiveOwnerIsLeftAlone(t *testing.T) {
	r, _ := newRunsTest(t)
	putRun(t, r, &run.Record{Name: "live", Status: workspace.RunRunning, PID: os.Getpid()}, 1)
	hold, err := r.st.Use(context.Background(), store.Runs, "live")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Get(context.Background(), "live")
	if got.Status != workspace.RunRunning {
		t.Fatalf("a run whose owner holds it was settled: %s", got.Status)
	}
	if _, err := r.Details(context.Background(), "live", 0); !fault.Is(err, fault.Failed) || !strings.Contains(fault.HintOf(err), "pfz run stream") {
		t.Errorf("details of a running run: %v", err)
	}
	// Cancel writes the request and waits; with nobody to stop it, it returns
	// after CancelWait with the run CancelRequested.
	if err := r.Cancel(context.Background(), "live"); err != nil {
		t.Fatal(err)
	}
	got, _ = r.Get(context.Background(), "live")
	if got.Status != workspace.RunCancelRequested {
		t.Errorf("status after cancel = %s", got.Status)
	}
	if _, err := os.Stat(filepath.Join(r.Dir("live"), run.CancelFile)); err != nil {
		t.Error("no cancel request file")
	}
	hold.Unlock() // the owner dies: the next read settles it as Canceled
	got, _ = r.Get(context.Background(), "live")
	if got.Status != workspace.RunCanceled {
		t.Errorf("after the owner ended: %s", got.Status)
	}
}

func TestListFiltersSortsAndCleansDebris(t *testing.T) {
	r, debug := newRunsTest(t)
	day := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	putRun(t, r, &run.Record{Name: "old", Status: workspace.RunCompleted, CreatedOn: day(1)}, 0)
	putRun(t, r, &run.Record{Name: "new", Status: workspace.RunCompleted, CreatedOn: day(3)}, 0)
	putRun(t, r, &run.Record{Name: "mid", Status: workspace.RunFailed, CreatedOn: day(2), Archived: true}, 0)
	// A killed create: no record.
	if err := os.MkdirAll(r.Dir("debris"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(r.Dir("damaged"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir("damaged"), run.RecordFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}

	names := func(o workspace.ListOptions) []string {
		l, err := r.List(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range l {
			out = append(out, x.Name+":"+x.Status)
		}
		return out
	}
	if diff := cmp.Diff([]string{"new:Completed", "old:Completed", "damaged:Failed"}, names(workspace.ListOptions{})); diff != "" {
		t.Errorf("default list (-want +got):\n%s", diff)
	}
	if got := names(workspace.ListOptions{ArchivedOnly: true}); !cmp.Equal(got, []string{"mid:Failed"}) {
		t.Errorf("archived only = %v", got)
	}
	if got := names(workspace.ListOptions{IncludeArchived: true, MaxResults: 2}); !cmp.Equal(got, []string{"new:Completed", "mid:Failed"}) {
		t.Errorf("include archived, max 2 = %v", got)
	}
	if _, err := r.List(context.Background(), workspace.ListOptions{ArchivedOnly: true, IncludeArchived: true}); !fault.Is(err, fault.Usage) {
		t.Errorf("both archive flags: %v", err)
	}
	if _, err := os.Stat(r.Dir("debris")); !os.IsNotExist(err) {
		t.Errorf("debris folder kept: %v (debug: %s)", err, debug)
	}
}

func TestReadCommandsOnMissingAndEnded(t *testing.T) {
	r, _ := newRunsTest(t)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"get":       func() error { _, err := r.Get(ctx, "nope"); return err },
		"details":   func() error { _, err := r.Details(ctx, "nope", 0); return err },
		"metrics":   func() error { _, err := r.Metrics(ctx, "nope"); return err },
		"logs":      func() error { _, err := r.Logs(ctx, "nope"); return err },
		"cancel":    func() error { return r.Cancel(ctx, "nope") },
		"download":  func() error { _, err := r.Download(ctx, "nope", t.TempDir(), false); return err },
		"visualize": func() error { _, err := r.Visualize(ctx, []string{"nope"}); return err },
		"update": func() error {
			s := "x"
			_, err := r.Update(ctx, "nope", workspace.RunUpdate{DisplayName: &s})
			return err
		},
	} {
		if err := call(); !fault.Is(err, fault.NotFound) || fault.HintOf(err) == "" {
			t.Errorf("%s of a missing run: %v", name, err)
		}
	}
	if _, err := r.Get(ctx, "../x"); !fault.Is(err, fault.Usage) {
		t.Errorf("a name with a path: %v", err)
	}
	putRun(t, r, &run.Record{Name: "done", Status: workspace.RunFailed}, 2)
	if err := r.Cancel(ctx, "done"); err != nil {
		t.Errorf("cancel of an ended run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir("done"), run.CancelFile)); err == nil {
		t.Error("an ended run got a cancel request")
	}
	if d, err := r.Details(ctx, "done", 0); err != nil || len(d) != 2 {
		t.Errorf("details of a failed run: %v %v", d, err)
	}
	if _, err := r.Update(ctx, "done", workspace.RunUpdate{}); !fault.Is(err, fault.Usage) {
		t.Errorf("an empty update: %v", err)
	}
}

func TestDisplayNameMacros(t *testing.T) {
	now := time.Date(2024, 3, 5, 11, 12, 58, 0, time.UTC)
	for _, tc := range []struct {
		sub  workspace.Submission
		want string
	}{
		{workspace.Submission{Name: "n"}, "n"},
		{workspace.Submission{Name: "n", DisplayName: "d-${variant_id}"}, "d-variant_0"},
		{workspace.Submission{Name: "n", DisplayName: "d-${variant_id}", Variant: "${node.v2}"}, "d-v2"},
		{workspace.Submission{Name: "n", DisplayName: "${run}-eval-${timestamp}", Run: "parent"}, "parent-eval-202403051112"},
		{workspace.Submission{Name: "n", DisplayName: "${run}"}, "${run}"}, // no referenced run: left as written
	} {
		if got := DisplayName(&tc.sub, now); got != tc.want {
			t.Errorf("DisplayName(%+v) = %q, want %q", tc.sub, got, tc.want)
		}
	}
}

func TestCheckLocalSubmission(t *testing.T) {
	ok := func() *workspace.Submission {
		return &workspace.Submission{Name: "r", Flow: "/f/flow.dag.yaml", Snapshot: &workspace.Snapshot{}, Data: &workspace.Data{Local: "/d.jsonl"},
			Session: workspace.SessionSpec{ID: "s"}}
	}
	if err := checkLocalSubmission(ok()); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		mut  func(*workspace.Submission)
		kind fault.Kind
	}{
		"remote flow":  {func(s *workspace.Submission) { s.FlowRemote = true }, fault.Unsupported},
		"remote data":  {func(s *workspace.Submission) { s.Data = &workspace.Data{Remote: "azureml:d:1"} }, fault.Unsupported},
		"no snapshot":  {func(s *workspace.Submission) { s.Snapshot = nil }, fault.Validation},
		"no session":   {func(s *workspace.Submission) { s.Session.ID = "" }, fault.Validation},
		"no data":      {func(s *workspace.Submission) { s.Data = nil }, fault.Validation},
		"bad name":     {func(s *workspace.Submission) { s.Name = "a/b" }, fault.Usage},
		"no name":      {func(s *workspace.Submission) { s.Name = "" }, fault.Usage},
		"data via run": {func(s *workspace.Submission) { s.Data, s.Run = nil, "p" }, -1},
	} {
		s := ok()
		tc.mut(s)
		err := checkLocalSubmission(s)
		if tc.kind < 0 {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !fault.Is(err, tc.kind) || fault.HintOf(err) == "" {
			t.Errorf("%s: %v (hint %q)", name, err, fault.HintOf(err))
		}
	}
}

func TestApplyConnections(t *testing.T) {
	f := &flow.Flow{Nodes: []flow.Node{
		{Name: "chat", Type: flow.ToolLLM, Connection: "old", Inputs: []flow.NodeInput{{Name: "deployment_name", Value: flow.ParseRef("gpt-35")}}},
		{Name: "py", Type: flow.ToolPython},
	}}
	err := applyConnections(f, map[string]map[string]string{
		"chat": {"connection": "new", "deployment_name": "gpt-4o", "model": "m"},
		"py":   {"connection": "custom"},
	})
	if err != nil {
		t.Fatal(err)
	}
	chat, py := f.Nodes[0], f.Nodes[1]
	if chat.Connection != "new" || len(chat.Inputs) != 2 || chat.Inputs[0].Value.Raw != "gpt-4o" || chat.Inputs[1].Name != "model" {
		t.Errorf("chat = %+v", chat)
	}
	if py.Connection != "" || len(py.Inputs) != 1 || py.Inputs[0].Name != "connection" || py.Inputs[0].Value.Raw != "custom" {
		t.Errorf("a python node takes its connection as an input: %+v", py)
	}
	// A vision (custom_llm) node takes its connection as an input, so the
	// recorded inputs show the one used; an llm node refuses other keys.
	vision := &flow.Flow{Nodes: []flow.Node{{Name: "see", Type: flow.ToolCustomLLM, Inputs: []flow.NodeInput{{Name: "connection", Value: flow.ParseRef("old")}}}}}
	if err := applyConnections(vision, map[string]map[string]string{"see": {"connection": "new"}}); err != nil {
		t.Fatal(err)
	}
	if n := vision.Nodes[0]; n.Connection != "" || len(n.Inputs) != 1 || n.Inputs[0].Value.Raw != "new" {
		t.Errorf("vision node = %+v", n)
	}
	err = applyConnections(f, map[string]map[string]string{"chat": {"temperature": "0"}})
	if !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "temperature") {
		t.Errorf("an llm node's unknown key: %v", err)
	}
	err = applyConnections(f, map[string]map[string]string{"nope": {"connection": "x"}})
	if !fault.Is(err, fault.Validation) || !strings.Contains(fault.HintOf(err), "chat, py") {
		t.Errorf("unknown node: %v (%s)", err, fault.HintOf(err))
	}
}

func TestCountRows(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "d.jsonl")
	long := strings.Repeat("x", 3<<20) // longer than the read buffer
	if err := os.WriteFile(jsonl, []byte("{\"a\":1}\n\n  \n{\"a\":\""+long+"\"}\n{\"a\":3}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := countRows(context.Background(), jsonl); err != nil || n != 3 {
		t.Errorf("jsonl rows = %d, %v", n, err)
	}
	csv := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(csv, []byte("a,b\n1,2\n3,4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := countRows(context.Background(), csv); err != nil || n != 2 {
		t.Errorf("csv rows = %d, %v", n, err)
	}
}

func TestStoreConnections(t *testing.T) {
	home := t.TempDir()
	st := connection.NewStore(home)
	ctx := context.Background()
	if err := st.Create(ctx, &connection.Connection{Name: "aoai", Type: connection.TypeAzureOpenAI, APIKey: "k", APIBase: "https://x", APIType: "azure", APIVersion: "2024-02-01"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, &connection.Connection{Name: "cust", Type: connection.TypeCustom, Configs: map[string]string{"c": "1"}, Secrets: map[string]string{"s2": "b", "s1": "a"}}); err != nil {
		t.Fatal(err)
	}
	res := StoreConnections(st)
	got, err := res.Resolve(ctx, "aoai")
	if err != nil {
		t.Fatal(err)
	}
	if got["type"] != "AzureOpenAIConnection" || got["api_key"] != "k" || got["api_base"] != "https://x" || got["__secret_keys__"] != "api_key" {
		t.Errorf("aoai = %v", got)
	}
	got, _ = res.Resolve(ctx, "cust")
	if got["type"] != "CustomConnection" || got["c"] != "1" || got["s1"] != "a" || got["__secret_keys__"] != "s1,s2" {
		t.Errorf("custom = %v", got)
	}
	if _, err := res.Resolve(ctx, "missing"); !fault.Is(err, fault.NotFound) {
		t.Errorf("missing: %v", err)
	}
}

func TestSubmitRefusesWithoutTouchingTheStore(t *testing.T) {
	r, _ := newRunsTest(t)
	putRun(t, r, &run.Record{Name: "parent", Status: workspace.RunRunning, PID: os.Getpid()}, 1)
	hold, _ := r.st.Use(context.Background(), store.Runs, "parent")
	defer hold.Unlock()
	sub := &workspace.Submission{Name: "child", Run: "parent", Flow: "/f/flow.dag.yaml", Snapshot: &workspace.Snapshot{}, Session: workspace.SessionSpec{ID: "s"}}
	_, err := r.Submit(context.Background(), sub, nil)
	if !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "not completed") {
		t.Errorf("evaluating a running run: %v", err)
	}
	if _, err := os.Stat(r.Dir("child")); !os.IsNotExist(err) {
		t.Error("a refused submission left a run folder")
	}
}

// What a run leaves on disk is shown and downloaded: secrets are masked by
// name and by value, as a dry run prints them; references stay.
func TestRecordedSubmissionIsMasked(t *testing.T) {
	r, _ := newRunsTest(t)
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
	sub := &workspace.Submission{
		Name:                 "masked",
		Flow:                 "/f/flow.dag.yaml",
		EnvironmentVariables: map[string]string{"API_KEY": "sk-123", "DB_URL": "postgres://u:hunter2@h/db", "REF": "${conn.api_key}"},
		Connections:          map[string]map[string]string{"chat": {"connection": "aoai", "api_key": "c0nnk3y"}},
		ColumnMapping:        map[string]any{"q": "${data.q}", "auth": "Bearer " + jwt},
	}
	hold, err := r.createRun(context.Background(), newRunRecord(sub, time.Now()), sub)
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Unlock(); err != nil {
		t.Fatal(err)
	}
	var disk strings.Builder
	for _, f := range []string{run.SubmissionFile, run.RecordFile} {
		b, err := os.ReadFile(filepath.Join(r.Dir("masked"), f))
		if err != nil {
			t.Fatal(err)
		}
		disk.Write(b)
	}
	for _, secret := range []string{"sk-123", "hunter2", "c0nnk3y", jwt} {
		if strings.Contains(disk.String(), secret) {
			t.Errorf("the run folder keeps %q:\n%s", secret, disk.String())
		}
	}
	for _, kept := range []string{"${conn.api_key}", "${data.q}", "postgres://u:***@h/db", "aoai"} {
		if !strings.Contains(disk.String(), kept) {
			t.Errorf("the run folder lost %q:\n%s", kept, disk.String())
		}
	}
	if sub.EnvironmentVariables["API_KEY"] != "sk-123" || sub.ColumnMapping["auth"] != "Bearer "+jwt {
		t.Error("recording must not change the submission the run executes")
	}
}

// A flow the local executor cannot run is refused before anything is spent:
// no session folder, no run folder.
func TestSubmitRefusesUnrunnableFlowBeforeWork(t *testing.T) {
	r, _ := newRunsTest(t)
	dir := t.TempDir()
	csharp := filepath.Join(dir, "flow.dag.yaml")
	if err := os.WriteFile(csharp, []byte("language: csharp\ninputs:\n  q: {type: string}\nnodes: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := &workspace.Submission{Name: "cs", Flow: csharp, Data: &workspace.Data{Local: csharp},
		Snapshot: &workspace.Snapshot{}, Session: workspace.SessionSpec{ID: "s0123"}}
	_, err := r.Submit(context.Background(), sub, nil)
	if !fault.Is(err, fault.Unsupported) || !strings.Contains(err.Error(), "C# flows") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(r.Dir("cs")); !os.IsNotExist(err) {
		t.Error("a refused flow left a run folder")
	}
	if entries, _ := os.ReadDir(filepath.Join(r.st.Home(), "sessions")); len(entries) != 0 {
		t.Errorf("a refused flow created sessions: %v", entries)
	}
}
