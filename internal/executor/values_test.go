package executor

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Values keep what they are from the data to the tool and back, and inputs
// convert as promptflow 1.18.5 converts them (its observed outputs for the
// same flow and data are the wanted ones below). Before: a CSV 007 or NaN
// failed the line with "json: invalid number literal" and 2**63 became
// -9223372036854775808.
func TestRunValuesCSV(t *testing.T) {
	cfg, sink := baseConfig(t, "values")
	cfg.Data = filepath.Join(cfg.Flow.Dir, "data.csv")
	cfg.Mapping = map[string]any{"extra": "lit"}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 3 {
		t.Fatalf("summary = %+v (error %+v)", sum, sum.Error)
	}
	// The echo dict's keys come in the tool's order, as in promptflow.
	want := []struct{ inputs, echo string }{
		{`{"i":7,"d":NaN,"s":"007","extra":"lit","kind":"plain"}`, `{"i":7,"ti":"int","d":NaN,"td":"float","s":"007","ts":"str"}`},
		{`{"i":9223372036854775808,"d":Infinity,"s":"x","extra":"lit","kind":"plain"}`, `{"i":9223372036854775808,"ti":"int","d":Infinity,"td":"float","s":"x","ts":"str"}`},
		{`{"i":1000,"d":Infinity,"s":"","extra":"lit","kind":"plain"}`, `{"i":1000,"ti":"int","d":Infinity,"td":"float","s":"","ts":"str"}`},
	}
	for n, w := range want {
		l := sink.lines[n]
		if got := jsonOf(l.Inputs); got != w.inputs {
			t.Errorf("line %d inputs = %s\nwant %s", n, got, w.inputs)
		}
		if got := jsonOf(l.Outputs.Map()["echo"]); got != w.echo {
			t.Errorf("line %d echo = %s\nwant %s", n, got, w.echo)
		}
	}
}

func TestRunValuesJSONL(t *testing.T) {
	cfg, sink := baseConfig(t, "values")
	cfg.Mapping = map[string]any{"kind": "${data.kind}"}
	cfg.Data = filepath.Join(cfg.Flow.Dir, "data.jsonl")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Total != 9 || sum.Failed != 4 {
		t.Fatalf("summary = %+v (error %+v)", sum, sum.Error)
	}
	tests := []struct {
		line   int
		status string
		inputs string // "" when not checked
		output string // made, or the error's text
	}{
		// jsonl NaN stays NaN (pandas turns it into None, which promptflow
		// then refuses for a double: a difference kept on purpose); a list
		// given to a string input is its Python repr.
		{0, StatusFailed, `{"i":9223372036854775808,"d":NaN,"s":"[1, 'a', None]","kind":"set"}`, "Object of type set is not JSON serializable"},
		{1, StatusFailed, `{"i":5,"d":Infinity,"s":"None","kind":"datetime"}`, "Object of type datetime is not JSON serializable"},
		{2, StatusFailed, `{"i":1,"d":-Infinity,"s":"True","kind":"object"}`, "Object of type object is not JSON serializable"},
		{3, StatusCompleted, `{"i":1000,"d":1.0,"s":"1.5","kind":"generator"}`, `"a1None"`},
		{4, StatusFailed, "", "does not match the expected type 'int'"},
		{5, StatusCompleted, "", `NaN`},
		{6, StatusCompleted, "", `1180591620717411303424`},
		{7, StatusCompleted, "", `1.0`},
		// No "kind" on this row while other rows have it: NaN, so "nan".
		{8, StatusCompleted, `{"i":1,"d":1.0,"s":"x","kind":"nan"}`, `NaN`},
	}
	for _, tt := range tests {
		l := sink.lines[tt.line]
		if l.Status != tt.status {
			t.Errorf("line %d status %s, want %s (error %+v)", tt.line, l.Status, tt.status, l.Error)
			continue
		}
		if tt.inputs != "" {
			if got := jsonOf(l.Inputs); got != tt.inputs {
				t.Errorf("line %d inputs = %s\nwant %s", tt.line, got, tt.inputs)
			}
		}
		if tt.status == StatusFailed {
			if l.Error == nil || !strings.Contains(l.Error.Message, tt.output) {
				t.Errorf("line %d error = %+v, want %q", tt.line, l.Error, tt.output)
			}
			continue
		}
		if got := jsonOf(l.Outputs.Map()["made"]); got != tt.output {
			t.Errorf("line %d made = %s, want %s", tt.line, got, tt.output)
		}
		// A bypassed dependency leaves the input out (the default applies),
		// or None when the parameter has no default.
		if got := jsonOf(l.Outputs.Map()["after"]); got != `{"with_default":"the default","without_default":null}` {
			t.Errorf("line %d after = %s", tt.line, got)
		}
	}
	// A node reading a generator gets the generator; its record holds the
	// generator's str(), as promptflow records it.
	if n := sink.node(3, "after"); n == nil || !regexp.MustCompile(`^\{"kind":"<generator object chunks at 0x[0-9a-f]+>","without_default":null\}$`).MatchString(jsonOf(n.Inputs)) {
		t.Errorf("node run of after on line 3: %+v", n)
	}
}

// A connection a python node names that does not exist refuses the whole
// run before any line, as promptflow does ("Connection 'x' is not found.");
// before, every line failed on its own.
func TestRunMissingConnectionRefusesTheRun(t *testing.T) {
	cfg, sink := baseConfig(t, "conn_missing")
	cfg.Connections = notFoundResolver{}
	sum, err := Run(context.Background(), cfg)
	if err == nil || !fault.Is(err, fault.Validation) || !strings.Contains(err.Error(), "Connection 'no_such_conn' is not found.") {
		t.Fatalf("Run = %+v, %v; want a validation error", sum, err)
	}
	if !strings.Contains(fault.HintOf(err), "--connections t.conn=") {
		t.Errorf("hint = %q", fault.HintOf(err))
	}
	if len(sink.started) != 0 || len(sink.lines) != 0 {
		t.Errorf("lines ran: %v", sink.started)
	}
}

type notFoundResolver struct{}

func (notFoundResolver) Resolve(_ context.Context, name string) (map[string]string, error) {
	return nil, fault.New(fault.NotFound, "there is no connection %s", name)
}

// runMatchesPromptflow runs cfg's flow and compares every line's outputs
// with the flow folder's expected.jsonl (promptflow 1.18.5's outputs for the
// same flow and data) as JSON text, so key order counts, and the outputs'
// order with promptflow's (the flow's); outputs added to the flow after
// expected.jsonl was recorded are left out of the order.
func runMatchesPromptflow(t *testing.T, cfg Config, sink *recSink) {
	t.Helper()
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 2 {
		t.Fatalf("summary = %+v (error %+v)", sum, sum.Error)
	}
	raw, err := os.ReadFile(filepath.Join(cfg.Flow.Dir, "expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for n, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		want, err := pyjson.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, m := range want.(pyjson.Object) {
			if m.Key == "line_number" {
				continue
			}
			order = append(order, m.Key)
			if got, _ := sink.lines[n].Outputs.Get(m.Key); jsonOf(got) != jsonOf(m.Value) {
				t.Errorf("line %d output %s =\n%s\npromptflow:\n%s", n, m.Key, jsonOf(got), jsonOf(m.Value))
			}
		}
		got := slices.DeleteFunc(sink.lines[n].Outputs.Keys(), func(k string) bool { return !slices.Contains(order, k) })
		if !slices.Equal(got, order) {
			t.Errorf("line %d outputs in the order %v, promptflow %v", n, got, order)
		}
	}
}

// Values keep their Python identity between nodes, as promptflow passes live
// objects: dict order from the data and from a node (into a python node, a
// template, the flow outputs and the aggregation), tuples, and a generator
// inside a dict, which the next node receives as a generator.
// expected.jsonl is promptflow 1.18.5's output for the same flow and data.
// Before: dicts arrived with their keys sorted, tuples as lists, and the
// dict holding a generator failed the line ("not JSON serializable").
func TestRunValuesKeepIdentity(t *testing.T) {
	cfg, sink := baseConfig(t, "identity")
	runMatchesPromptflow(t, cfg, sink)
	// A value holding a generator is recorded as its str(), as promptflow
	// records it (the address is the worker's).
	holder := regexp.MustCompile(`^\{'zeta': 1, 'alpha': \{'y': 1, 'x': \(1, 2\)\}, 'mid': \(3, 'a'\), 'fromdata': \{.*\}, 'g': <generator object _g at 0x[0-9a-f]+>\}$`)
	seen := map[string]int{}
	for _, nr := range sink.nodes {
		switch nr.Node {
		case "mk":
			if s, ok := nr.Output.(string); !ok || !holder.MatchString(s) {
				t.Errorf("line %d: mk's recorded output = %#v", nr.Line, nr.Output)
			}
		case "rd":
			if s, ok := nr.Inputs["d"].(string); !ok || !holder.MatchString(s) {
				t.Errorf("line %d: rd's recorded input d = %#v", nr.Line, nr.Inputs["d"])
			}
			if jsonOf(nr.Inputs["t"]) != `[1,"a",[2,3]]` {
				t.Errorf("line %d: rd's recorded input t = %s", nr.Line, jsonOf(nr.Inputs["t"]))
			}
		case "agg":
			want := `([{'zeta': 1, 'alpha': {'y': 1, 'x': (1, 2)}, 'mid': (3, 'a'), 'fromdata': {'zeta': 1, 'alpha': {'z': [1, {'b': 2, 'a': 1}], 'c': 0}, 'mid': None}}, ` +
				`{'zeta': 1, 'alpha': {'y': 1, 'x': (1, 2)}, 'mid': (3, 'a'), 'fromdata': {'b': True, 'a': 1.5}}], [(1, 'a', (2, 3)), (1, 'a', (2, 3))], ` +
				`[{'zeta': 1, 'alpha': {'z': [1, {'b': 2, 'a': 1}], 'c': 0}, 'mid': None}, {'b': True, 'a': 1.5}]) types ['tuple', 'tuple']['tuple', 'tuple']`
			if nr.Output != want {
				t.Errorf("aggregation output =\n%v\npromptflow:\n%s", nr.Output, want)
			}
		}
		if _, err := pyjson.Marshal(nr); err != nil {
			t.Errorf("node %s line %d cannot be recorded: %v", nr.Node, nr.Line, err)
		}
		seen[nr.Node]++
	}
	if seen["mk"] != 2 || seen["rd"] != 2 || seen["agg"] != 1 {
		t.Errorf("node runs %v", seen)
	}
}

// A flow output holding a generator or another iterator fails the line in
// promptflow's words, naming the value's type as json.dumps does.
func TestRunValuesIteratorOutputFails(t *testing.T) {
	for _, tc := range []struct{ flow, node, typ string }{
		{"identity", "mk", "generator"},
		{"iterators", "hold", "list_iterator"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			cfg, sink := baseConfig(t, tc.flow)
			cfg.Flow.Outputs = append(cfg.Flow.Outputs, flow.Output{Name: "holder", Type: "object", Reference: "${" + tc.node + ".output}", HasReference: true})
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failed != 2 {
				t.Fatalf("summary = %+v", sum)
			}
			want := "The output 'holder' for flow is incorrect. The output value is not JSON serializable. JSON dump failed: (TypeError) " +
				"Object of type " + tc.typ + " is not JSON serializable. Please verify your flow output and make sure the value serializable."
			for n, l := range sink.lines {
				if l.Error == nil || l.Error.Message != want || l.Error.Code != CodeToolError {
					t.Errorf("line %d error = %+v", n, l.Error)
				}
			}
		})
	}
}

// An iterator other than a generator (a list_iterator), an async generator
// and a dict with int, float, bool and None keys reach the nodes that read
// them as what they are, as promptflow passes live objects: the first
// reader of the list_iterator takes one item, the next the rest, and a flow
// output of either iterator is what the readers left, joined; records hold
// the iterator's repr and the dict with json.dumps' string keys.
// expected.jsonl is promptflow 1.18.5's output for the same flow and data.
// Before: the readers got a string ("abc") and str keys ({'2': 'abc'}).
func TestRunValuesIterators(t *testing.T) {
	cfg, sink := baseConfig(t, "iterators")
	runMatchesPromptflow(t, cfg, sink)
	// Another iterator is of a type of the same name (promptflow 1.18.5: "map:ABC").
	if got, _ := sink.lines[0].Outputs.Get("map_read"); got != "map:ABC" {
		t.Errorf("map_read = %v, want map:ABC", got)
	}
	records := map[string]*regexp.Regexp{
		"make_it":   regexp.MustCompile(`^"<list_iterator object at 0x[0-9a-f]+>"$`),
		"make_agen": regexp.MustCompile(`^"<async_generator object make_agen at 0x[0-9a-f]+>"$`),
		"make_keys": regexp.MustCompile(`^\{"2":"(abc)?","1.5":"f","true":"t","null":"n","s":\[\{"3":"x"\}\]\}$`),
	}
	seen := 0
	for _, nr := range sink.nodes {
		if re := records[nr.Node]; re != nil {
			seen++
			if got := jsonOf(nr.Output); !re.MatchString(got) {
				t.Errorf("line %d: %s's recorded output = %s", nr.Line, nr.Node, got)
			}
		}
		if nr.Node == "read_keys" && !regexp.MustCompile(`^\{"x":\{"2":"(abc)?","1.5":"f",`).MatchString(jsonOf(nr.Inputs)) {
			t.Errorf("line %d: read_keys' recorded inputs = %s", nr.Line, jsonOf(nr.Inputs))
		}
	}
	if seen != 6 {
		t.Errorf("%d node runs of the makers, want 6", seen)
	}
}

// Nodes that read one generator take turns in flow order, as they share
// promptflow's one live generator (pf 1.18.5: r1 a, r2 b, r3 c, the flow
// output the rest), also with several workers free to run them at once.
func TestRunSiblingGeneratorReaders(t *testing.T) {
	cfg, sink := baseConfig(t, "sibling_readers")
	cfg.Workers = 3
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 2 {
		t.Fatalf("summary = %+v (error %+v)", sum, sum.Error)
	}
	for n, w := range []string{"abcd", "wxyz"} {
		got := sink.lines[n].Outputs
		want := map[string]any{"r1": "generator:" + w[0:1], "r2": "generator:" + w[1:2], "r3": "generator:" + w[2:3], "rest": w[3:]}
		for k, v := range want {
			if g, _ := got.Get(k); g != v {
				t.Errorf("line %d %s = %v, want %v", n, k, g, v)
			}
		}
	}
}

// A line's inputs follow promptflow's order: the flow inputs read from the
// data column of their name (flow order), then the mapping's other keys in
// the mapping's order (MappingOrder; keys it lacks sorted after it, all
// sorted without it), then the defaulted inputs. Before: always sorted.
func TestRunInputsFollowMappingOrder(t *testing.T) {
	mapping := map[string]any{"zz": "z", "s": "${data.s}", "kind": "${data.s}", "extra": "lit"}
	tests := []struct {
		name  string
		order []string
		want  string
	}{
		{"mapping order", []string{"zz", "s", "kind", "extra"}, `{"i":7,"d":NaN,"s":"007","zz":"z","kind":"007","extra":"lit"}`},
		{"partial order, the rest sorted", []string{"zz", "gone"}, `{"i":7,"d":NaN,"s":"007","zz":"z","extra":"lit","kind":"007"}`},
		{"no order (an old record): sorted", nil, `{"i":7,"d":NaN,"s":"007","extra":"lit","kind":"007","zz":"z"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, sink := baseConfig(t, "values")
			cfg.Data = filepath.Join(cfg.Flow.Dir, "data.csv")
			cfg.Mapping, cfg.MappingOrder = mapping, tc.order
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Status != StatusCompleted || sum.Completed != 3 {
				t.Fatalf("summary = %+v (error %+v)", sum, sum.Error)
			}
			if got := jsonOf(sink.lines[0].Inputs); got != tc.want {
				t.Errorf("line 0 inputs = %s\nwant %s", got, tc.want)
			}
		})
	}
}
