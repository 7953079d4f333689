package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/run"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func TestHelloPythonStartsSessionAndRecordsTheRun(t *testing.T) {
	e := need(t)
	r := helloRun(t)
	if !fault.Is(sessionFirst, fault.NotFound) {
		t.Fatalf("before the first run the session should not exist; Get said %v", sessionFirst)
	}
	s, err := e.sessions.Get(context.Background(), helloSub.Session.ID)
	if err != nil || s.Status != workspace.SessionRunning {
		t.Fatalf("the run should have started the session: %v %+v", err, s)
	}
	if r.Status != workspace.RunCompleted || r.LinesTotal != 5 || r.LinesCompleted != 5 || r.LinesFailed != 0 {
		t.Fatalf("run = %+v", r)
	}
	if r.DisplayName != "hello-python" || r.Target != workspace.TargetLocal || r.SessionID != helloSub.Session.ID || r.Tags["example"] != "hello-python" {
		t.Errorf("run metadata = %+v", r)
	}
	for k, want := range map[string]string{
		run.PropSessionID: helloSub.Session.ID, run.PropLineageID: helloSub.Session.LineageID,
		run.PropSnapshotID: helloSub.Snapshot.Hash, run.PropDefinitionFile: "flow.dag.yaml", run.PropRuntime: "automatic",
	} {
		if r.Properties[k] != want {
			t.Errorf("property %s = %q, want %q", k, r.Properties[k], want)
		}
	}
	if r.StartTime == nil || r.EndTime == nil || r.CreatedOn == nil || r.Duration == "" {
		t.Errorf("times missing: %+v", r)
	}
	if got, want := helloEvents.statuses(), []string{"Preparing", "Running", "Completed"}; !slices.Equal(got, want) {
		t.Errorf("status events = %v, want %v", got, want)
	}
	if ev, ok := helloEvents.last(workspace.EventLines); !ok || ev.Done != 5 || ev.Total != 5 || ev.Failed != 0 {
		t.Errorf("last lines event = %+v", ev)
	}

	details, err := e.ws.Runs().Details(context.Background(), r.Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(details)
	// promptflow's order: the inputs as it builds them (name, then the
	// mapped greeting), the outputs in the flow's order.
	want := `[{"line_number":0,"status":"Completed","inputs.name":"Ada","inputs.greeting":"Hello","outputs.message":"Hello, Ada!","outputs.length":11},` +
		`{"line_number":1,"status":"Completed","inputs.name":"Grace","inputs.greeting":"Good morning","outputs.message":"Good morning, Grace!","outputs.length":20},` +
		`{"line_number":2,"status":"Completed","inputs.name":"Linus","inputs.greeting":"Hi","outputs.message":"Hi, Linus!","outputs.length":10},` +
		`{"line_number":3,"status":"Completed","inputs.name":"Margaret","inputs.greeting":"Welcome","outputs.message":"Welcome, Margaret!","outputs.length":18},` +
		`{"line_number":4,"status":"Completed","inputs.name":"  ","inputs.greeting":"Hello","outputs.message":"Hello, stranger!","outputs.length":16}]`
	if string(got) != want {
		t.Errorf("show-details -o json:\n got %s\nwant %s", got, want)
	}
	if two, _ := e.ws.Runs().Details(context.Background(), r.Name, 2); len(two) != 2 {
		t.Errorf("max 2 gave %d lines", len(two))
	}
	m, err := e.ws.Runs().Metrics(context.Background(), r.Name)
	if err != nil || len(m) != 0 {
		t.Errorf("metrics = %v, %v", m, err)
	}
	logs, err := e.ws.Runs().Logs(context.Background(), r.Name)
	if err != nil || !strings.Contains(logs, "Finished 5 / 5 lines") || !strings.Contains(logs, "is Completed") {
		t.Errorf("logs:\n%s", logs)
	}
	dir := runs(e).Dir(r.Name)
	for _, f := range []string{"snapshot/flow.dag.yaml", "snapshot/greet.py", run.SubmissionFile, run.NodeRunsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the record lacks %s: %v", f, err)
		}
	}
	nodeRuns := readJSONL(t, filepath.Join(dir, run.NodeRunsFile))
	if len(nodeRuns) != 10 {
		t.Errorf("%d node runs recorded, want 10 (2 nodes x 5 lines)", len(nodeRuns))
	}
}

func TestSecondRunReusesTheSessionAndNamesAreUnique(t *testing.T) {
	e := need(t)
	helloRun(t)
	before, err := e.sessions.Get(context.Background(), helloSub.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	sub := resolve(t, runspec.Flags{File: examples("hello-python", "run.yml"), Name: "hello_second",
		DisplayName: "hi-${variant_id}-${timestamp}"}, examples())
	if sub.Session.ID != helloSub.Session.ID {
		t.Fatalf("same flow, same environment, different session id: %s vs %s", sub.Session.ID, helloSub.Session.ID)
	}
	r, err := e.ws.Runs().Submit(context.Background(), sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := e.sessions.Get(context.Background(), helloSub.Session.ID)
	if !after.CreatedOn.Equal(*before.CreatedOn) {
		t.Errorf("the session was rebuilt: created %v, then %v", before.CreatedOn, after.CreatedOn)
	}
	if !strings.HasPrefix(r.DisplayName, "hi-variant_0-") || len(r.DisplayName) != len("hi-variant_0-")+12 {
		t.Errorf("display name macros: %q", r.DisplayName)
	}
	_, err = e.ws.Runs().Submit(context.Background(), sub, nil)
	if !fault.Is(err, fault.Usage) || !strings.Contains(fault.HintOf(err), "--name") {
		t.Fatalf("a second run named %s: %v (hint %q)", sub.Name, err, fault.HintOf(err))
	}
	got, err := e.ws.Runs().Get(context.Background(), "hello_second")
	if err != nil || got.Status != workspace.RunCompleted {
		t.Errorf("the refused submit changed the first run: %+v %v", got, err)
	}
}

func TestClassifyWithVariantAndAggregationMetrics(t *testing.T) {
	e := need(t)
	r := classifyRun(t)
	if r.Status != workspace.RunCompleted || r.DisplayName != "classify-reviews-detailed" || r.Variant != "${build_prompt.detailed}" {
		t.Fatalf("run = %+v", r)
	}
	m, err := e.ws.Runs().Metrics(context.Background(), r.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accuracy", "labelled_lines", "share_positive", "share_negative", "share_neutral"} {
		if _, ok := m.Get(k); !ok {
			t.Errorf("metric %s missing: %v", k, m)
		}
	}
	details, err := e.ws.Runs().Details(context.Background(), r.Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(details)) != r.LinesTotal || len(details) < 3 {
		t.Fatalf("%d details for %d lines", len(details), r.LinesTotal)
	}
	d0 := details[0]
	if d0.Outputs.Map()["sentiment"] != "positive" || !strings.Contains(d0.Outputs.Map()["prompt"].(string), "You label customer reviews") {
		t.Errorf("line 0 = %+v (the detailed variant writes the system prompt)", d0)
	}
	if _, ok := details[1].Outputs.Map()["complaint"]; !ok || details[1].Outputs.Map()["sentiment"] != "negative" {
		t.Errorf("line 1 should activate explain_negative: %+v", details[1])
	}
	props := r.Properties
	if props[run.PropNodeVariant] != "${build_prompt.detailed}" || props[run.PropInputsMapping] == "" {
		t.Errorf("properties = %v", props)
	}
}

func TestEvaluationReadsTheReferencedRun(t *testing.T) {
	e := need(t)
	parent := classifyRun(t)
	sub := onSharedSession(t, resolve(t, runspec.Flags{File: examples("eval-accuracy", "run.yml"), Run: parent.Name, Name: "eval_of_classify",
		DisplayName: "eval-${run}"}, examples()))
	r, err := e.ws.Runs().Submit(context.Background(), sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != workspace.RunCompleted || r.Run != parent.Name || r.DisplayName != "eval-"+parent.Name {
		t.Fatalf("run = %+v", r)
	}
	m, err := e.ws.Runs().Metrics(context.Background(), r.Name)
	if err != nil {
		t.Fatal(err)
	}
	pd, _ := e.ws.Runs().Details(context.Background(), parent.Name, 0)
	details, _ := e.ws.Runs().Details(context.Background(), r.Name, 0)
	if len(details) != len(pd) {
		t.Fatalf("%d evaluated lines for %d parent lines", len(details), len(pd))
	}
	correct := 0
	for i, d := range details {
		p := pd[i]
		if d.Inputs.Map()["prediction"] != p.Outputs.Map()["sentiment"] || d.Inputs.Map()["review"] != p.Inputs.Map()["review"] {
			t.Errorf("line %d: prediction/review %v/%v, parent %v/%v", i, d.Inputs.Map()["prediction"], d.Inputs.Map()["review"], p.Outputs.Map()["sentiment"], p.Inputs.Map()["review"])
		}
		if d.Outputs.Map()["grade"] == "Correct" {
			correct++
		}
	}
	want := float64(int(float64(correct)/float64(len(details))*100+0.5)) / 100
	acc, _ := strconv.ParseFloat(string(m.Map()["accuracy"].(json.Number)), 64)
	if acc != want {
		t.Errorf("accuracy = %v, want %v from the grades", m.Map()["accuracy"], want)
	}

	// An evaluation of a run that does not exist stops before anything is recorded.
	bad := onSharedSession(t, resolve(t, runspec.Flags{File: examples("eval-accuracy", "run.yml"), Run: "no_such_run", Name: "eval_of_nothing"}, examples()))
	if _, err := e.ws.Runs().Submit(context.Background(), bad, nil); !fault.Is(err, fault.Validation) {
		t.Errorf("eval of a missing run: %v", err)
	}
	if _, err := e.ws.Runs().Get(context.Background(), "eval_of_nothing"); !fault.Is(err, fault.NotFound) {
		t.Errorf("a refused run was recorded: %v", err)
	}
}

func TestLineErrorsTimeoutAndWorkerKill(t *testing.T) {
	e := need(t)
	dir := writeFlow(t, map[string]string{
		"flow.dag.yaml": `inputs:
  mode:
    type: string
outputs:
  out:
    type: string
    reference: ${act.output}
nodes:
- name: act
  type: python
  source:
    type: code
    path: act.py
  inputs:
    mode: ${inputs.mode}
`,
		"act.py": `import os, signal, time
from promptflow.core import tool

@tool
def act(mode: str) -> str:
    if mode == "raise":
        raise ValueError("bad <line>")
    if mode == "sleep":
        time.sleep(30)
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return mode.upper()
`,
		"data.jsonl": `{"mode": "ok"}
{"mode": "raise"}
{"mode": "sleep"}
{"mode": "kill"}
{"mode": "fine"}
`,
	})
	sub := onSharedSession(t, resolve(t, runspec.Flags{Flow: dir, Data: filepath.Join(dir, "data.jsonl"), Name: "faults"}, dir))
	sub.LineTimeout = 2 * time.Second
	r, err := e.ws.Runs().Submit(context.Background(), sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != workspace.RunCompleted || r.LinesCompleted != 2 || r.LinesFailed != 3 || r.LinesTotal != 5 {
		t.Fatalf("failed lines must not fail the run: %+v", r)
	}
	details, err := e.ws.Runs().Details(context.Background(), "faults", 0)
	if err != nil {
		t.Fatal(err)
	}
	status := map[int]string{}
	for _, d := range details {
		status[d.LineNumber] = d.Status
		if d.Status == "Failed" && d.Error == nil {
			t.Errorf("line %d failed without an error", d.LineNumber)
		}
	}
	if diff := cmp.Diff(map[int]string{0: "Completed", 1: "Failed", 2: "Failed", 3: "Failed", 4: "Completed"}, status); diff != "" {
		t.Errorf("line statuses (-want +got):\n%s", diff)
	}
	if !strings.Contains(details[1].Error.Message, "bad <line>") || !strings.Contains(details[2].Error.Message, "timeout") {
		t.Errorf("errors: %q / %q", details[1].Error.Message, details[2].Error.Message)
	}
	if r.Properties[run.PropLineTimeout] != "2" {
		t.Errorf("line timeout property = %q", r.Properties[run.PropLineTimeout])
	}

	// Every line failing fails the run, with the first line's error.
	allBad := writeFlow(t, map[string]string{
		"flow.dag.yaml": strings.ReplaceAll(`inputs:
  mode:
    type: string
outputs:
  out:
    type: string
    reference: ${act.output}
nodes:
- name: act
  type: python
  source:
    type: code
    path: act.py
  inputs:
    mode: ${inputs.mode}
`, "\t", ""),
		"act.py":     "from promptflow.core import tool\n\n@tool\ndef act(mode: str) -> str:\n    raise RuntimeError('no ' + mode)\n",
		"data.jsonl": "{\"mode\": \"a\"}\n{\"mode\": \"b\"}\n",
	})
	sub = onSharedSession(t, resolve(t, runspec.Flags{Flow: allBad, Data: filepath.Join(allBad, "data.jsonl"), Name: "all_failed"}, allBad))
	r, err = e.ws.Runs().Submit(context.Background(), sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As in promptflow, failed lines do not fail the run, even all of them.
	if r.Status != workspace.RunCompleted || r.LinesFailed != 2 || r.Error == nil ||
		!strings.Contains(r.Error.Message, "Failed to run 2/2 lines. First error message is: ") || !strings.Contains(r.Error.Message, "no a") {
		t.Fatalf("all lines failed: %+v %+v", r, r.Error)
	}
}

func TestSetupFailureIsRecorded(t *testing.T) {
	e := need(t)
	dir := writeFlow(t, map[string]string{
		"flow.dag.yaml": "inputs:\n  x:\n    type: string\noutputs:\n  y:\n    type: string\n    reference: ${n.output}\nnodes:\n- name: n\n  type: python\n  source:\n    type: code\n    path: n.py\n  inputs:\n    x: ${inputs.x}\n",
		"n.py":          "from promptflow.core import tool\n\n@tool\ndef n(x: str) -> str:\n    return x +\n", // a syntax error
		"data.jsonl":    "{\"x\": \"a\"}\n",
	})
	sub := onSharedSession(t, resolve(t, runspec.Flags{Flow: dir, Data: filepath.Join(dir, "data.jsonl"), Name: "broken_tool"}, dir))
	_, err := e.ws.Runs().Submit(context.Background(), sub, nil)
	if err == nil {
		t.Fatal("a tool that does not load should stop the run")
	}
	r, gerr := e.ws.Runs().Get(context.Background(), "broken_tool")
	if gerr != nil || r.Status != workspace.RunFailed || r.Error == nil || r.Error.Message == "" {
		t.Fatalf("the failed start is not recorded: %+v %v", r, gerr)
	}
	logs, _ := e.ws.Runs().Logs(context.Background(), "broken_tool")
	if !strings.Contains(logs, "failed to start") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestCancelFromAnotherProcess(t *testing.T) {
	e := need(t)
	dir := sleepFlow(t, 40, 1)
	sub := onSharedSession(t, resolve(t, runspec.Flags{Flow: dir, Data: filepath.Join(dir, "data.jsonl"), Name: "to_cancel"}, dir))
	type result struct {
		r   *workspace.Run
		err error
	}
	done := make(chan result, 1)
	rec := &recorder{}
	go func() {
		r, err := e.ws.Runs().Submit(context.Background(), sub, rec)
		done <- result{r, err}
	}()
	waitFor(t, "the run to be running", 60*time.Second, func() bool {
		r, err := e.ws.Runs().Get(context.Background(), "to_cancel")
		return err == nil && r.Status == workspace.RunRunning
	})
	cmd := startHelper(t, "cancel", "PFZ_E2E_RUN=to_cancel")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run cancel in another process: %v", err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the run did not stop after the cancel")
	}
	if res.err != nil || res.r.Status != workspace.RunCanceled {
		t.Fatalf("canceled run: %+v %v", res.r, res.err)
	}
	got, _ := e.ws.Runs().Get(context.Background(), "to_cancel")
	if got.Status != workspace.RunCanceled || got.LinesCompleted >= 40 {
		t.Errorf("after cancel: %+v", got)
	}
	// Cancelling a run that ended changes nothing.
	if err := e.ws.Runs().Cancel(context.Background(), "to_cancel"); err != nil {
		t.Error(err)
	}
	// The session is free again: nothing holds it in use.
	if _, err := e.sessions.Get(context.Background(), helloSub.Session.ID); err != nil {
		t.Error(err)
	}
}

func TestKilledOwnerIsSettledByTheNextCommand(t *testing.T) {
	e := need(t)
	helloRun(t)
	dir := sleepFlow(t, 8, 10)
	s := helloSub.Session
	cmd := startHelper(t, "run", "PFZ_E2E_RUN=killed", "PFZ_E2E_FLOW="+dir,
		"PFZ_E2E_SESSION="+s.ID, "PFZ_E2E_SESSION_DIR="+s.FlowDir, "PFZ_E2E_SESSION_LINEAGE="+s.LineageID, "PFZ_E2E_SESSION_ENV="+s.EnvHash)
	waitFor(t, "the helper's run to be running", 60*time.Second, func() bool {
		r, err := e.ws.Runs().Get(context.Background(), "killed")
		return err == nil && r.Status == workspace.RunRunning
	})
	// Alive: another process sees it running, with its pid.
	r, _ := e.ws.Runs().Get(context.Background(), "killed")
	if r.Properties[run.PropPID] != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("pid property = %q, want %d", r.Properties[run.PropPID], cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// Its python workers die with their stdin; wait until the run's use lock is free.
	var got *workspace.Run
	waitFor(t, "the run to be settled", 30*time.Second, func() bool {
		var err error
		got, err = e.ws.Runs().Get(context.Background(), "killed")
		return err == nil && workspace.IsTerminal(got.Status)
	})
	if got.Status != workspace.RunFailed || got.Error == nil ||
		!strings.Contains(got.Error.Message, "pid "+strconv.Itoa(cmd.Process.Pid)) || !strings.Contains(got.Error.Message, "pfz run create") {
		t.Fatalf("settled run = %+v %+v", got, got.Error)
	}
	// Its record is whole: every appended file ends with a full line.
	rdir := runs(e).Dir("killed")
	for _, f := range []string{run.LinesFile, run.NodeRunsFile, run.LogFile} {
		b, err := os.ReadFile(filepath.Join(rdir, f))
		if err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("%s ends with a torn line", f)
		}
	}
	if _, err := e.ws.Runs().Details(context.Background(), "killed", 0); err != nil {
		t.Errorf("details of the settled run: %v", err)
	}
	list, err := e.ws.Runs().List(context.Background(), workspace.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.Name == "killed" && x.Status != workspace.RunFailed {
			t.Errorf("list shows %s", x.Status)
		}
	}
}

func TestDownloadWritesPfazureLayout(t *testing.T) {
	e := need(t)
	r := helloRun(t)
	out := t.TempDir()
	p, err := e.ws.Runs().Download(context.Background(), r.Name, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(out, r.Name) {
		t.Errorf("path = %s", p)
	}
	var files []string
	_ = filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(p, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	want := []string{
		"flow_artifacts/000000000_000000004.jsonl", "flow_outputs/output.jsonl", "instance_results.jsonl", "logs.txt", "meta.json",
		"metrics.json",
		"node_artifacts/count_chars/000000000.jsonl", "node_artifacts/count_chars/000000001.jsonl", "node_artifacts/count_chars/000000002.jsonl",
		"node_artifacts/count_chars/000000003.jsonl", "node_artifacts/count_chars/000000004.jsonl",
		"node_artifacts/greet/000000000.jsonl", "node_artifacts/greet/000000001.jsonl", "node_artifacts/greet/000000002.jsonl",
		"node_artifacts/greet/000000003.jsonl", "node_artifacts/greet/000000004.jsonl",
		"run_metadata.json", "snapshot/count_chars.py", "snapshot/data.jsonl", "snapshot/flow.dag.yaml", "snapshot/greet.py", "snapshot/run.yml",
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	inst := readJSONL(t, filepath.Join(p, "instance_results.jsonl"))
	if len(inst) != 5 || inst[1]["inputs.name"] != "Grace" || inst[1]["message"] != "Good morning, Grace!" || inst[1]["inputs.line_number"] != json.Number("1") {
		t.Errorf("instance_results = %v", inst)
	}
	outs := readJSONL(t, filepath.Join(p, "flow_outputs", "output.jsonl"))
	if len(outs) != 5 || outs[2]["line_number"] != json.Number("2") || outs[2]["message"] != "Hi, Linus!" {
		t.Errorf("flow_outputs = %v", outs)
	}
	var md map[string]any
	b, _ := os.ReadFile(filepath.Join(p, "run_metadata.json"))
	if json.Unmarshal(b, &md) != nil || md["name"] != r.Name || md["status"] != "Completed" {
		t.Errorf("run_metadata.json = %s", b)
	}
	if _, err := e.ws.Runs().Download(context.Background(), r.Name, out, false); !fault.Is(err, fault.Usage) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("download over an existing folder: %v", err)
	}
	if _, err := e.ws.Runs().Download(context.Background(), r.Name, out, true); err != nil {
		t.Errorf("--overwrite: %v", err)
	}
}

func TestVisualizeComparesRuns(t *testing.T) {
	e := need(t)
	c := classifyRun(t)
	h := helloRun(t)
	p, err := e.ws.Runs().Visualize(context.Background(), []string{c.Name, h.Name})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, s := range []string{c.Name, h.Name, "accuracy", "Hello, Ada!", "message", "sentiment", "<table>"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("the page must be self-contained")
	}
	if _, err := e.ws.Runs().Visualize(context.Background(), []string{"no_such_run"}); !fault.Is(err, fault.NotFound) {
		t.Errorf("visualize a missing run: %v", err)
	}
}

func TestListUpdateArchive(t *testing.T) {
	e := need(t)
	h := helloRun(t)
	ctx := context.Background()
	name, desc := "renamed", "a description"
	r, err := e.ws.Runs().Update(ctx, h.Name, workspace.RunUpdate{DisplayName: &name, Description: &desc, Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.DisplayName != name || r.Description != desc || r.Tags["k"] != "v" || r.Tags["example"] != "hello-python" {
		t.Errorf("update merges tags and sets the rest: %+v", r)
	}
	yes, no := true, false
	if _, err := e.ws.Runs().Update(ctx, h.Name, workspace.RunUpdate{Archived: &yes}); err != nil {
		t.Fatal(err)
	}
	names := func(o workspace.ListOptions) []string {
		l, err := e.ws.Runs().List(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range l {
			out = append(out, x.Name)
		}
		return out
	}
	if slices.Contains(names(workspace.ListOptions{}), h.Name) {
		t.Error("an archived run is listed by default")
	}
	if got := names(workspace.ListOptions{ArchivedOnly: true}); !slices.Equal(got, []string{h.Name}) {
		t.Errorf("--archived-only = %v", got)
	}
	all := names(workspace.ListOptions{IncludeArchived: true})
	if !slices.Contains(all, h.Name) || len(all) < 2 {
		t.Errorf("--include-archived = %v", all)
	}
	if got := names(workspace.ListOptions{IncludeArchived: true, MaxResults: 1}); len(got) != 1 {
		t.Errorf("--max-results 1 = %v", got)
	}
	if _, err := e.ws.Runs().Update(ctx, h.Name, workspace.RunUpdate{Archived: &no}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names(workspace.ListOptions{}), h.Name) {
		t.Error("a restored run is not listed")
	}
}

func readJSONL(t *testing.T, p string) []map[string]any {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, m)
	}
	return out
}
