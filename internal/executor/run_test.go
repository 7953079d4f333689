package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/testutil/fakeopenai"
)

// recSink records everything a run reports.
type recSink struct {
	mu      sync.Mutex
	started []int
	lines   map[int]LineResult
	nodes   []NodeRunRecord
	logs    []LogEntry
	metrics map[string]any
}

func newRecSink() *recSink { return &recSink{lines: map[int]LineResult{}, metrics: map[string]any{}} }

func (s *recSink) LineStarted(n int)         { s.started = append(s.started, n) }
func (s *recSink) LineDone(r LineResult)     { s.lines[r.LineNumber] = r }
func (s *recSink) NodeRun(r NodeRunRecord)   { s.nodes = append(s.nodes, r) }
func (s *recSink) Log(e LogEntry)            { s.logs = append(s.logs, e) }
func (s *recSink) Metric(name string, v any) { s.metrics[name] = v }
func (s *recSink) node(line int, name string) *NodeRunRecord {
	for i := range s.nodes {
		if s.nodes[i].Line == line && s.nodes[i].Node == name {
			return &s.nodes[i]
		}
	}
	return nil
}

func loadFlow(t testing.TB, name string) *flow.Flow {
	t.Helper()
	f, ds, err := flow.Load(filepath.Join("testdata", "flows", name))
	if err != nil {
		t.Fatal(err)
	}
	if ds.HasErrors() {
		t.Fatalf("flow %s: %v", name, ds)
	}
	return f
}

func baseConfig(t testing.TB, name string) (Config, *recSink) {
	t.Helper()
	f := loadFlow(t, name)
	sink := newRecSink()
	return Config{
		Flow: f, Python: testPython(t), Workers: 2, BaseEnv: os.Environ(), Sink: sink,
		Data: filepath.Join(f.Dir, "data.jsonl"), RuntimeDir: filepath.Join(t.TempDir(), "rt"),
	}, sink
}

// jsonOf renders values the way they travel (json.Number as written, NaN
// as Python writes it).
func jsonOf(v any) string {
	b, err := pyjson.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestRunBasic(t *testing.T) {
	cfg, sink := baseConfig(t, "basic")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Total != 3 || sum.Completed != 3 {
		t.Fatalf("summary = %+v", sum)
	}
	if sum.Python.Promptflow != "builtin" {
		t.Errorf("python info = %+v", sum.Python)
	}
	got := jsonOf(sink.lines[1].Outputs)
	want := `{"greeting":"Hello, bob","shout":"HELLO, BOB!HELLO, BOB!","times":2}`
	if got != want {
		t.Errorf("line 1 outputs = %s, want %s", got, want)
	}
	if jsonOf(sink.lines[1].Inputs) != `{"name":"bob","times":2}` {
		t.Errorf("line 1 inputs = %s", jsonOf(sink.lines[1].Inputs))
	}
	var logs []string
	for _, l := range sink.logs {
		if l.Node == "greet" {
			logs = append(logs, fmt.Sprintf("%d %s %s", l.Line, l.Stream, l.Text))
		}
	}
	sort.Strings(logs)
	if diff := cmp.Diff([]string{"0 stdout greeting ada", "1 stdout greeting bob", "2 stdout greeting cy"}, logs); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	if len(sink.started) != 3 || len(sink.nodes) != 6 {
		t.Errorf("started %v, %d node runs", sink.started, len(sink.nodes))
	}
}

func TestRunMappingAndInputErrors(t *testing.T) {
	cfg, sink := baseConfig(t, "basic")
	data := filepath.Join(t.TempDir(), "d.csv")
	os.WriteFile(data, []byte("who,n\nann,3\nbo,x\n"), 0o644)
	cfg.Data = data
	cfg.Mapping = map[string]any{"name": "${data.who}", "times": "${data.n}"}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 1 || sum.Failed != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	if got := sink.lines[0].Outputs.Map()["shout"]; got != "HELLO, ANN!HELLO, ANN!HELLO, ANN!" {
		t.Errorf("line 0 shout = %v", got)
	}
	if e := sink.lines[1].Error; e == nil || e.Code != CodeInput || !strings.Contains(e.Message, "does not match the expected type 'int'") {
		t.Errorf("line 1 error = %+v", e)
	}

	// A mapping to a column the data lacks fails every line; the run still
	// ends Completed, as in promptflow, with the first line's error.
	cfg.Mapping = map[string]any{"name": "${data.missing}"}
	sink = newRecSink()
	cfg.Sink = sink
	sum, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Failed != 2 || sum.Error == nil || !strings.Contains(sum.Error.Message, "Couldn't find these mapping relations: ${data.missing}") {
		t.Fatalf("summary = %+v (error %+v)", sum, sum.Error)
	}
}

func TestRunClassifyVariantsActivateAggregation(t *testing.T) {
	for _, variant := range []string{"", "${build_prompt.detailed}"} {
		t.Run("variant="+variant, func(t *testing.T) {
			cfg, sink := baseConfig(t, "classify")
			cfg.Variant = variant
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Status != StatusCompleted || sum.Completed != 4 {
				t.Fatalf("summary = %+v", sum)
			}
			prompt := sink.lines[1].Outputs.Map()["prompt"]
			if variant == "" && prompt != "Classify: bad stuff\n" {
				t.Errorf("concise prompt = %q", prompt)
			}
			if variant != "" && prompt != "Classify the review as one of:\n- positive\n- negative\nReview: bad stuff\n" {
				t.Errorf("detailed prompt = %q", prompt)
			}
			// Line 0 is positive: explain_negative is bypassed, and so is
			// after_explain whose only dependency was bypassed.
			if got := sink.lines[0].Outputs.Map()["complaint"]; got != nil {
				t.Errorf("line 0 complaint = %v, want null", got)
			}
			for _, name := range []string{"explain_negative", "after_explain"} {
				if r := sink.node(0, name); r == nil || r.Status != StatusBypassed {
					t.Errorf("line 0 %s = %+v, want Bypassed", name, r)
				}
			}
			if got := sink.lines[1].Outputs.Map()["complaint"]; got != "complaint: bad stuff" {
				t.Errorf("line 1 complaint = %v", got)
			}
			if _, ok := sink.lines[0].Outputs.Map()["summary"]; ok {
				t.Error("an output referencing an aggregation node was kept")
			}
			// The metrics in the order they were logged, the outputs in the
			// flow's order (not sorted), as promptflow records them.
			if jsonOf(sum.Metrics) != `{"lines":4,"accuracy":0.75}` {
				t.Errorf("metrics = %s", jsonOf(sum.Metrics))
			}
			if got := strings.Join(sink.lines[1].Outputs.Keys(), " "); got != "sentiment prompt complaint" {
				t.Errorf("line 1 outputs in the order %s", got)
			}
			if sum.AggregationOutputs["report"] != "accuracy=0.75" {
				t.Errorf("aggregation outputs = %v", sum.AggregationOutputs)
			}
			if r := sink.node(-1, "accuracy"); r == nil || jsonOf(r.Inputs["labels"]) != `["positive","negative","positive","positive"]` {
				t.Errorf("aggregation inputs = %+v", r)
			}
		})
	}
}

func TestRunAggregationFailureKeepsRun(t *testing.T) {
	cfg, _ := baseConfig(t, "classify")
	data := filepath.Join(t.TempDir(), "d.jsonl")
	// A label column that is null everywhere makes accuracy divide by a list
	// of None: the aggregation fails, the lines do not.
	os.WriteFile(data, []byte(`{"review": "ok", "label": "positive"}`+"\n"), 0o644)
	cfg.Data = data
	dir := t.TempDir()
	copyDir(t, cfg.Flow.Dir, dir)
	os.WriteFile(filepath.Join(dir, "accuracy.py"), []byte("from promptflow import tool\n@tool\ndef accuracy(sentiments, labels, threshold):\n    return 1/0\n"), 0o644)
	cfg.Dir = dir
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.AggregationErrors["accuracy"] == nil {
		t.Fatalf("summary = %+v", sum)
	}
	if !strings.Contains(sum.AggregationErrors["accuracy"].Message, "ZeroDivisionError") {
		t.Errorf("aggregation error = %+v", sum.AggregationErrors["accuracy"])
	}
	if _, ran := sum.AggregationOutputs["report"]; ran {
		t.Error("report ran although the node it reads failed")
	}
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
	}
}

type mapResolver map[string]map[string]string

func (m mapResolver) Resolve(_ context.Context, name string) (map[string]string, error) {
	c, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("connection %s not found", name)
	}
	return c, nil
}

func TestRunLLM(t *testing.T) {
	srv := fakeopenai.New(t, "k-123")
	cfg, sink := baseConfig(t, "llm")
	cfg.Connections = mapResolver{
		"aoai":      {"type": "AzureOpenAI", "api_key": "k-123", "api_base": srv.URL, "api_version": "2024-02-01"},
		"oai":       {"type": "OpenAI", "api_key": "k-123", "base_url": srv.URL + "/v1"},
		"my_custom": {"type": "Custom", "endpoint": "https://example.invalid", "token": "s3cret", "__secret_keys__": "token"},
	}
	srv.FailNext(1, 429, "0") // throttled once: retried
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 2 {
		t.Fatalf("summary = %+v, line errors %+v %+v", sum, sink.lines[0].Error, sink.lines[1].Error)
	}
	out := sink.lines[0].Outputs.Map()
	if out["answer"] != "echo: Q: what is 2+2?" {
		t.Errorf("answer = %v", out["answer"])
	}
	if out["completion"] != "echo: Complete: what is 2+2?\n" {
		t.Errorf("completion = %q", out["completion"])
	}
	if out["checked"] != "echo: Q: what is 2+2?|https://example.invalid|True|plain-value" {
		t.Errorf("checked = %v", out["checked"])
	}
	var chat, completion *fakeopenai.Request
	reqs := srv.Requests()
	for i := range reqs {
		switch reqs[i].API {
		case "chat":
			chat = &reqs[i]
		case "completion":
			completion = &reqs[i]
		}
	}
	if chat == nil || completion == nil {
		t.Fatalf("requests = %+v", reqs)
	}
	if chat.Flavor != "azure" || chat.Deployment != "gpt-35-turbo" || chat.APIVersion != "2024-02-01" {
		t.Errorf("chat request = %+v", chat)
	}
	wantBody := map[string]any{"temperature": 0.2, "max_tokens": float64(64)}
	for k, v := range wantBody {
		if chat.Body[k] != v {
			t.Errorf("chat body %s = %#v, want %#v", k, chat.Body[k], v)
		}
	}
	for _, k := range []string{"stop", "logit_bias", "question", "deployment_name"} {
		if _, ok := chat.Body[k]; ok {
			t.Errorf("chat body has %s: %v", k, chat.Body)
		}
	}
	msgs := chat.Messages()
	if len(msgs) != 2 || msgs[0]["role"] != "system" || msgs[0]["content"] != "You answer briefly." || msgs[1]["role"] != "user" {
		t.Errorf("messages = %v", msgs)
	}
	if completion.Flavor != "openai" || completion.Body["model"] != "gpt-3.5-turbo-instruct" || completion.Body["echo"] != false {
		t.Errorf("completion request = %+v", completion.Body)
	}
	if len(reqs) != 5 { // 2 lines × 2 calls + 1 throttled
		t.Errorf("%d requests, want 5", len(reqs))
	}
	for _, l := range sink.logs {
		if strings.Contains(l.Text, "s3cret") || strings.Contains(l.Text, "k-123") {
			t.Errorf("a secret reached the log: %+v", l)
		}
	}
}

func TestRunLLMErrors(t *testing.T) {
	srv := fakeopenai.New(t, "right")
	cfg, sink := baseConfig(t, "llm")
	cfg.Connections = mapResolver{
		"aoai":      {"type": "AzureOpenAI", "api_key": "wrong-key-zz", "api_base": srv.URL},
		"oai":       {"type": "OpenAI", "api_key": "right", "base_url": srv.URL + "/v1"},
		"my_custom": {"type": "Custom", "endpoint": "e", "token": "t"},
	}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := sink.lines[0].Error
	if sum.Status != StatusCompleted || sum.Failed == 0 || e == nil || e.Code != CodeLLM || !strings.Contains(e.Message, "401") || !strings.Contains(e.Message, "api_key of connection aoai") {
		t.Fatalf("summary %+v, error %+v", sum, e)
	}
	if strings.Contains(e.Message, "wrong-key-zz") {
		t.Errorf("the key leaked into the error: %s", e.Message)
	}

	cfg.Connections = mapResolver{"aoai": {"type": "Custom"}, "oai": {"type": "OpenAI"}, "my_custom": {"type": "Custom", "token": "t"}}
	_, err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "Connection type Custom is not supported for LLM.") {
		t.Fatalf("err = %v", err)
	}
	cfg.Connections = mapResolver{}
	_, err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "my_custom") {
		t.Fatalf("err = %v", err)
	}
}

// memParent is a parent run held in memory.
type memParent struct {
	inputs, outputs map[int]map[string]any
}

func (p memParent) Line(_ context.Context, n int) (map[string]any, map[string]any, bool, error) {
	out, ok := p.outputs[n]
	return p.inputs[n], out, ok, nil
}

func (p memParent) LineNumbers(context.Context) ([]int, error) {
	var ns []int
	for n := range p.inputs {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns, nil
}

func TestRunEvaluationOverParent(t *testing.T) {
	parent := memParent{
		inputs: map[int]map[string]any{
			0: {"q": "2+2", "truth": "4"}, 1: {"q": "3+3", "truth": "6"}, 2: {"q": "1+1", "truth": "2"},
		},
		// Line 2 of the parent failed: it has no outputs and is left out.
		outputs: map[int]map[string]any{0: {"answer": "4"}, 1: {"answer": "7"}},
	}
	for _, withData := range []bool{false, true} {
		t.Run(fmt.Sprint("data=", withData), func(t *testing.T) {
			cfg, sink := baseConfig(t, "eval")
			cfg.Parent = parent
			cfg.Data = ""
			cfg.Mapping = map[string]any{"prediction": "${run.outputs.answer}", "question": "${run.inputs.q}", "groundtruth": "${run.inputs.truth}"}
			if withData {
				data := filepath.Join(t.TempDir(), "truth.jsonl")
				os.WriteFile(data, []byte("{\"gt\":\"4\"}\n{\"gt\":\"7\"}\n{\"gt\":\"2\"}\n"), 0o644)
				cfg.Data = data
				cfg.Mapping["groundtruth"] = "${data.gt}"
			}
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Total != 2 || sum.Completed != 2 {
				t.Fatalf("summary = %+v", sum)
			}
			want := map[bool][2]string{false: {"2+2:Correct", "3+3:Incorrect"}, true: {"2+2:Correct", "3+3:Correct"}}[withData]
			if sink.lines[0].Outputs.Map()["grade"] != want[0] || sink.lines[1].Outputs.Map()["grade"] != want[1] {
				t.Errorf("grades = %v, %v", sink.lines[0].Outputs, sink.lines[1].Outputs)
			}
		})
	}
}

func TestRunFaults(t *testing.T) {
	cfg, sink := baseConfig(t, "faults")
	cfg.Workers = 2
	cfg.LineTimeout = 2 * time.Second
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Total != 6 || sum.Completed != 3 || sum.Failed != 3 {
		t.Fatalf("summary = %+v", sum)
	}
	for n, want := range map[int]string{0: "ok:ok", 3: "ok:huge", 5: "ok:ok"} {
		if got := sink.lines[n].Outputs.Map()["out"]; got != want {
			t.Errorf("line %d out = %v (error %+v)", n, got, sink.lines[n].Error)
		}
	}
	for n, code := range map[int]string{1: CodeToolError, 2: CodeTimeout, 4: CodeWorker} {
		if e := sink.lines[n].Error; e == nil || e.Code != code {
			t.Errorf("line %d error = %+v, want code %s", n, e, code)
		}
	}
	if e := sink.lines[1].Error; !strings.Contains(e.Message, "Execution failure in 'act': (RuntimeError) tool failed on purpose") || !strings.Contains(e.Traceback, "act.py") {
		t.Errorf("raise error = %+v", e)
	}
	if e := sink.lines[2].Error; e.Message != "Line 2 execution timeout for exceeding 2 seconds" {
		t.Errorf("timeout error = %q", e.Message)
	}
	huge := 0
	for _, l := range sink.logs {
		if l.Line == 3 {
			huge += len(l.Text)
		}
	}
	if huge == 0 || huge > maxCallLog+maxLogLine+200 {
		t.Errorf("line 3 logged %d bytes", huge)
	}
}

// Even when every line fails the run ends Completed, as in promptflow
// ("Failed to run 2/2 lines"); the first failed line's error is kept.
func TestRunAllLinesFail(t *testing.T) {
	cfg, _ := baseConfig(t, "faults")
	data := filepath.Join(t.TempDir(), "d.jsonl")
	os.WriteFile(data, []byte("{\"mode\":\"raise\"}\n{\"mode\":\"raise\"}\n"), 0o644)
	cfg.Data = data
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Failed != 2 || sum.Error == nil || sum.Error.Code != CodeToolError {
		t.Fatalf("summary = %+v", sum)
	}
}

func TestRunCancel(t *testing.T) {
	cfg, sink := baseConfig(t, "faults")
	data := filepath.Join(t.TempDir(), "d.jsonl")
	os.WriteFile(data, []byte(strings.Repeat("{\"mode\":\"hang\"}\n", 10)), 0o644)
	cfg.Data = data
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once both workers are inside a hanging tool.
	cfg.Sink = &cancelSink{recSink: sink, cancel: cancel, after: 2}
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCanceled || sum.Completed != 0 {
		t.Fatalf("summary = %+v", sum)
	}
	for _, l := range sink.lines {
		if l.Status != StatusCanceled {
			t.Errorf("line %d status %s", l.LineNumber, l.Status)
		}
	}
}

func TestRunSetupErrors(t *testing.T) {
	cfg, _ := baseConfig(t, "basic")
	cfg.Data = filepath.Join(t.TempDir(), "missing.jsonl")
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing data: err = %v", err)
	}
	cfg, _ = baseConfig(t, "basic")
	dir := t.TempDir()
	copyDir(t, cfg.Flow.Dir, dir)
	os.WriteFile(filepath.Join(dir, "greet.py"), []byte("import no_such_module_xyz\n"), 0o644)
	cfg.Dir = dir
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "No module named 'no_such_module_xyz'") {
		t.Errorf("bad import: err = %v", err)
	}
	cfg, _ = baseConfig(t, "basic")
	os.Remove(filepath.Join(dir, "greet.py"))
	cfg.Dir = dir
	_, err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "Node source path 'greet.py' is invalid on node 'greet'.") {
		t.Errorf("missing source: err = %v", err)
	}
}

// cancelSink cancels the run when the tools have printed `after` lines.
type cancelSink struct {
	*recSink
	cancel func()
	after  int
	seen   int
}

func (s *cancelSink) Log(e LogEntry) {
	s.recSink.Log(e)
	if e.Node != "" {
		if s.seen++; s.seen == s.after {
			s.cancel()
		}
	}
}

// An llm node given tools returns the whole message as the OpenAI client
// dumps it (its fields in order, absent ones null), also when the model
// answers in plain text, as promptflow-tools' post_process_chat_api_response.
func TestRunLLMWithToolsReturnsTheMessage(t *testing.T) {
	srv := fakeopenai.New(t, "k-1")
	cfg, sink := baseConfig(t, "llm_tools")
	cfg.Connections = mapResolver{"aoai": {"type": "AzureOpenAI", "api_key": "k-1", "api_base": srv.URL, "api_version": "2024-02-01"}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted {
		t.Fatalf("summary = %+v, line error %+v", sum, sink.lines[0].Error)
	}
	want := `{"answer":{"content":"echo: hi","refusal":null,"role":"assistant","annotations":null,"audio":null,"function_call":null,"tool_calls":null}}`
	if got := jsonOf(sink.lines[0].Outputs); got != want {
		t.Errorf("outputs\n%s\nwant (promptflow)\n%s", got, want)
	}
}
