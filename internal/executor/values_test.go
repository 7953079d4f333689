package executor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
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
	want := []struct{ inputs, echo string }{
		{`{"d":NaN,"extra":"lit","i":7,"kind":"plain","s":"007"}`, `{"d":NaN,"i":7,"s":"007","td":"float","ti":"int","ts":"str"}`},
		{`{"d":Infinity,"extra":"lit","i":9223372036854775808,"kind":"plain","s":"x"}`, `{"d":Infinity,"i":9223372036854775808,"s":"x","td":"float","ti":"int","ts":"str"}`},
		{`{"d":Infinity,"extra":"lit","i":1000,"kind":"plain","s":""}`, `{"d":Infinity,"i":1000,"s":"","td":"float","ti":"int","ts":"str"}`},
	}
	for n, w := range want {
		l := sink.lines[n]
		if got := jsonOf(l.Inputs); got != w.inputs {
			t.Errorf("line %d inputs = %s\nwant %s", n, got, w.inputs)
		}
		if got := jsonOf(l.Outputs["echo"]); got != w.echo {
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
		{0, StatusFailed, `{"d":NaN,"i":9223372036854775808,"kind":"set","s":"[1, 'a', None]"}`, "Object of type set is not JSON serializable"},
		{1, StatusFailed, `{"d":Infinity,"i":5,"kind":"datetime","s":"None"}`, "Object of type datetime is not JSON serializable"},
		{2, StatusFailed, `{"d":-Infinity,"i":1,"kind":"object","s":"True"}`, "Object of type object is not JSON serializable"},
		{3, StatusCompleted, `{"d":1.0,"i":1000,"kind":"generator","s":"1.5"}`, `"a1None"`},
		{4, StatusFailed, "", "does not match the expected type 'int'"},
		{5, StatusCompleted, "", `NaN`},
		{6, StatusCompleted, "", `1180591620717411303424`},
		{7, StatusCompleted, "", `1.0`},
		// No "kind" on this row while other rows have it: NaN, so "nan".
		{8, StatusCompleted, `{"d":1.0,"i":1,"kind":"nan","s":"x"}`, `NaN`},
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
		if got := jsonOf(l.Outputs["made"]); got != tt.output {
			t.Errorf("line %d made = %s, want %s", tt.line, got, tt.output)
		}
		// A bypassed dependency leaves the input out (the default applies),
		// or None when the parameter has no default.
		if got := jsonOf(l.Outputs["after"]); got != `{"with_default":"the default","without_default":null}` {
			t.Errorf("line %d after = %s", tt.line, got)
		}
	}
	if n := sink.node(3, "after"); n == nil || jsonOf(n.Inputs) != `{"kind":"a1None","without_default":null}` {
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
