package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
)

// A flex function entry: async generator output joined, every parameter read
// from the data column of its name (defaults included) and typed by its
// annotation; a value that does not fit the type fails its line only.
func TestFlexFunction(t *testing.T) {
	cfg, sink := baseConfig(t, "flex_fn")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 2 || sum.Failed != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	if got := jsonOf(sink.lines[0].Outputs); got != `{"output":"hello annhello ann!"}` {
		t.Errorf("line 0 outputs = %s", got)
	}
	if got := jsonOf(sink.lines[1].Outputs); got != `{"output":"HELLO BOB!"}` {
		t.Errorf("line 1 outputs = %s", got)
	}
	if got := jsonOf(sink.lines[1].Inputs); got != `{"name":"bob","shout":true,"times":1}` {
		t.Errorf("line 1 inputs = %s", got)
	}
	if e := sink.lines[2].Error; e == nil || e.Code != CodeInput || !strings.Contains(e.Message, "'times'") {
		t.Errorf("line 2 error = %+v", e)
	}
	if sink.node(0, "greet") == nil {
		t.Errorf("no node run record for the entry: %+v", sink.nodes)
	}
}

// A flex class entry: init from the config with the flow file's init
// defaults, one instance per worker, __call__ per line (dataclass outputs),
// log_metric, a failing line, __aggregate__ once with the completed lines'
// outputs as dicts, its dict as the metrics.
func TestFlexClassInitAggregate(t *testing.T) {
	cfg, sink := baseConfig(t, "flex_class")
	cfg.Init = map[string]any{"weight": "2"}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 3 || sum.Failed != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	if got := jsonOf(sink.lines[0].Outputs); got != `{"answer":"WHAT?","correct":true}` {
		t.Errorf("line 0 outputs = %s", got)
	}
	if got := jsonOf(sink.lines[3].Outputs); got != `{"answer":"ABCDEF???","correct":true}` {
		t.Errorf("line 3 outputs = %s", got)
	}
	e := sink.lines[2].Error
	if e == nil || e.Code != CodeToolError || e.Message != "Execution failure in 'Grader.__call__': (ValueError) cannot grade boom" {
		t.Errorf("line 2 error = %+v", e)
	}
	want := map[string]any{"seen": jsonNum("1"), "accuracy": jsonNum("1.3333333333333333"), "kinds": "AttrDict"}
	got := map[string]any{}
	for k, v := range sink.metrics {
		if k != "instances" {
			got[k] = v
		}
	}
	if diff := cmp.Diff(jsonOf(want), jsonOf(got)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if n := jsonOf(sink.metrics["instances"]); n != "1" && n != "2" {
		t.Errorf("instances in the aggregating worker = %s, want 1 or 2 (one per worker at most)", n)
	}
	var printed []string
	for _, l := range sink.logs {
		if l.Node == "Grader.__call__" {
			printed = append(printed, l.Text)
		}
	}
	if len(printed) != 3 {
		t.Errorf("printed lines = %q", printed)
	}
}

func jsonNum(s string) any { return jsonRaw(s) }

type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

// Init problems stop the run before any line: a missing argument, an
// unknown one, a value of the wrong type.
func TestFlexInitRefused(t *testing.T) {
	for _, tc := range []struct {
		init map[string]any
		want string
	}{
		{nil, "needs the init argument(s) weight"},
		{map[string]any{"weight": 1, "colour": "red"}, "takes no init argument colour"},
		{map[string]any{"weight": "heavy"}, "init argument weight of Grader must be int"},
	} {
		cfg, sink := baseConfig(t, "flex_class")
		cfg.Init = tc.init
		_, err := Run(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !fault.Is(err, fault.Validation) {
			t.Errorf("init %v: err = %v, want %q", tc.init, err, tc.want)
		}
		if len(sink.started) != 0 {
			t.Errorf("init %v: lines started", tc.init)
		}
	}
}

// A model configuration given as an init dict gets its endpoint and key
// from the connection it names; the key never leaves the worker otherwise.
func TestFlexModelConfigConnection(t *testing.T) {
	cfg, sink := baseConfig(t, "flex_class")
	cfg.Init = map[string]any{"weight": 1, "model": map[string]any{"connection": "aoai", "azure_deployment": "gpt"}}
	cfg.Connections = mapResolver{"aoai": {"type": "AzureOpenAI", "api_base": "https://x.example", "api_key": "k-123", "api_version": "2024-02-01", "__secret_keys__": "api_key"}}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := sink.lines[0].Outputs.Map()["answer"]; got != "WHAT? https://x.example k-123" {
		t.Errorf("answer = %v", got)
	}
	cfg, _ = baseConfig(t, "flex_class")
	cfg.Init = map[string]any{"weight": 1, "model": map[string]any{"connection": "oai", "azure_deployment": "gpt"}}
	cfg.Connections = mapResolver{"oai": {"type": "OpenAI", "api_key": "k"}}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "names connection oai of type OpenAI") {
		t.Errorf("err = %v", err)
	}
}

// Generator chunks reach OnChunk as they are yielded.
func TestFlexStreamChunks(t *testing.T) {
	cfg, _ := baseConfig(t, "flex_fn")
	data := filepath.Join(t.TempDir(), "d.jsonl")
	os.WriteFile(data, []byte(`{"name": "zed"}`+"\n"), 0o644)
	cfg.Data = data
	var mu sync.Mutex
	var chunks []any
	cfg.OnChunk = func(c any) { mu.Lock(); chunks = append(chunks, c); mu.Unlock() }
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"hello zed", "!"}, chunks); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}

func TestSupports(t *testing.T) {
	for _, tc := range []struct {
		f    *flow.Flow
		want string
	}{
		{&flow.Flow{Kind: flow.KindDAG, Nodes: []flow.Node{{Name: "a", Type: flow.ToolPython}}}, ""},
		{&flow.Flow{Kind: flow.KindFlex, Entry: "m:f"}, ""},
		{&flow.Flow{Kind: flow.KindFlex}, "has no entry"},
		{&flow.Flow{Kind: flow.KindDAG, Language: "csharp"}, "C# flows"},
		{&flow.Flow{Kind: flow.KindDAG, Nodes: []flow.Node{{Name: "a", Type: flow.ToolCSharp}}}, `type "csharp"`},
		{&flow.Flow{Kind: "other"}, "local runs of other flows are not supported yet"},
	} {
		err := Supports(tc.f)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Supports(%+v) = %v, want %q", tc.f, err, tc.want)
		}
	}
}

// __aggregate__ receives a primitive output as itself and a dict as a dict,
// even when both are recorded as `output` (async __call__ and __aggregate__).
func TestFlexAggregateItems(t *testing.T) {
	cfg, sink := baseConfig(t, "flex_agg_kinds")
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(sink.lines[1].Outputs); got != `{"output":"ab"}` {
		t.Errorf("line 1 outputs = %s", got)
	}
	if got := sink.metrics["kinds"]; got != "str,AttrDict" {
		t.Errorf("kinds = %v, want str,AttrDict", got)
	}
}
