package run

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var t0 = time.Date(2024, 2, 7, 16, 56, 21, 0, time.UTC)

func line(n int, status string, in, out map[string]any) executor.LineResult {
	r := executor.LineResult{LineNumber: n, Status: status, Inputs: pyjson.ObjectOf(in), Outputs: pyjson.ObjectOf(out),
		Start: t0.Add(time.Duration(n) * time.Second), End: t0.Add(time.Duration(n)*time.Second + 250*time.Millisecond)}
	if status == executor.StatusFailed {
		r.Outputs = nil
		r.Error = &executor.LineError{Code: executor.CodeToolError, Message: "Execution failure in 'act': (ValueError) bad", Node: "act", Type: "ValueError"}
	}
	return r
}

// writeRun writes a run folder as a run leaves it, lines out of order.
func writeRun(t *testing.T, lines []executor.LineResult, nodes []executor.NodeRunRecord) string {
	t.Helper()
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if err := w.Line(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		if err := w.NodeRun(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Log(t0, "execution.bulk", "INFO", "first\nsecond"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLinesOrderDuplicatesAndTornTail(t *testing.T) {
	dir := writeRun(t, []executor.LineResult{
		line(2, "Completed", map[string]any{"x": "c"}, map[string]any{"y": "C"}),
		line(0, "Completed", map[string]any{"x": "a"}, map[string]any{"y": "A"}),
		line(1, "Failed", map[string]any{"x": "b"}, nil),
		line(1, "Completed", map[string]any{"x": "b"}, map[string]any{"y": "B"}), // rewritten: the last record wins
	}, nil)
	// A killed writer leaves half a record.
	f, _ := os.OpenFile(filepath.Join(dir, LinesFile), os.O_APPEND|os.O_WRONLY, 0)
	if _, err := f.WriteString(`{"line_number":3,"status":"Compl`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	l, err := OpenLines(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Numbers(); !cmp.Equal(got, []int{0, 1, 2}) {
		t.Errorf("numbers = %v", got)
	}
	r, ok, err := l.Get(1)
	if err != nil || !ok || r.Status != "Completed" || r.Outputs.Map()["y"] != "B" {
		t.Errorf("line 1 = %+v %v %v", r, ok, err)
	}
	if _, ok, _ := l.Get(3); ok {
		t.Error("the torn line 3 was read")
	}
	l.Close()

	d, err := Details(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(d)
	if want := `[{"line_number":0,"status":"Completed","inputs.x":"a","outputs.y":"A"},{"line_number":1,"status":"Completed","inputs.x":"b","outputs.y":"B"}]`; string(got) != want {
		t.Errorf("details:\n got %s\nwant %s", got, want)
	}

	cut, err := Repair(dir)
	if err != nil || len(cut) != 1 || filepath.Base(cut[0]) != LinesFile {
		t.Fatalf("repair cut %v, %v", cut, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LinesFile))
	if !bytes.HasSuffix(b, []byte("}\n")) || bytes.Contains(b, []byte(`"line_number":3`)) {
		t.Errorf("after repair:\n%s", b)
	}
	if cut, _ := Repair(dir); len(cut) != 0 {
		t.Errorf("a whole file was cut again: %v", cut)
	}
	logs, _ := ReadLogs(dir)
	if want := LogLine(t0, os.Getpid(), "execution.bulk", "INFO", "first") + LogLine(t0, os.Getpid(), "execution.bulk", "INFO", "second"); logs != want {
		t.Errorf("logs = %q, want %q", logs, want)
	}
}

func TestRepairWholeFileWithoutNewline(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, LogFile)
	// No newline at all, longer than a read chunk.
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 200<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if cut, err := Repair(dir); err != nil || len(cut) != 1 {
		t.Fatalf("cut %v %v", cut, err)
	}
	if st, _ := os.Stat(p); st.Size() != 0 {
		t.Errorf("size %d after repair", st.Size())
	}
}

func TestUnencodableOutputFailsTheLineNotTheRecord(t *testing.T) {
	dir := writeRun(t, []executor.LineResult{line(0, "Completed", map[string]any{"x": 1}, map[string]any{"y": math.NaN()})}, nil)
	d, err := Details(dir, 0)
	if err != nil || len(d) != 1 {
		t.Fatal(d, err)
	}
	if d[0].Status != "Failed" || d[0].Error == nil || !strings.Contains(d[0].Error.Message, "JSON") {
		t.Errorf("line = %+v", d[0])
	}
}

func TestLineNumberOf(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int
		ok bool
	}{
		{`{"line_number":12,"status":"x"}`, 12, true},
		{`{"line_number":0}`, 0, true},
		{`{"line_number":-1,"x":1}`, -1, true},
		{`{"status":"x","line_number":7}`, 7, true}, // another writer's key order
		{`{"line_number":1.5}`, 0, false},
		{`{"line_number":"3"}`, 0, false},
		{`{"line_number":12`, 0, false},
		{`not json`, 0, false},
		{`{}`, 0, false},
	} {
		n, ok := lineNumberOf([]byte(tc.in))
		if n != tc.n || ok != tc.ok {
			t.Errorf("lineNumberOf(%s) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzLineNumberOf: the fast path must agree with a full decode.
func FuzzLineNumberOf(f *testing.F) {
	for _, s := range []string{`{"line_number":12,"a":1}`, `{"line_number":-0}`, `{"line_number":007}`, `{"line_number":99999999999999999999}`, `{"a":{"line_number":1}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := len(s) % 7; n > 0 { // what Writer writes always reads back
			b, _ := marshalLine(executor.LineResult{LineNumber: len(s) - 3, Status: s})
			if got, ok := lineNumberOf(b); !ok || got != len(s)-3 {
				t.Fatalf("written %d, read %d %v", len(s)-3, got, ok)
			}
		}
		n, ok := lineNumberOf([]byte(s))
		var v struct {
			LineNumber *int `json:"line_number"`
		}
		err := json.Unmarshal([]byte(s), &v)
		// Another key spelled line_number (a duplicate, an escape) may win a full decode.
		single := strings.Count(s, "line_number") == 1 && !strings.Contains(s, `\`)
		if ok && single && err == nil && v.LineNumber != nil && *v.LineNumber != n {
			t.Fatalf("%q: fast path %d, decode %d", s, n, *v.LineNumber)
		}
		if ok && err != nil && !strings.HasPrefix(s, `{"line_number":`) {
			t.Fatalf("%q: accepted without the prefix and without decoding", s)
		}
	})
}

func TestRecordView(t *testing.T) {
	dir := t.TempDir()
	rec := &Record{Name: "r1", DisplayName: "d", Status: workspace.RunRunning, CreatedOn: t0, StartTime: t0.Add(time.Second),
		PID: 4242, Flow: "/f/flow.dag.yaml", FlowName: "f", DefinitionFile: "flow.dag.yaml", Data: "/f/data.jsonl",
		Variant: "${n.v1}", ColumnMapping: map[string]any{"x": "${data.x}"}, Runtime: "automatic", UserAlias: "alice",
		SessionID: "sid", LineageID: "lin", EnvHash: "env", SnapshotHash: "snap", Python: "/py", Workers: 4, LineTimeoutSeconds: 600,
		LinesTotal: 10, LinesCompleted: 3, LinesFailed: 1}
	if err := Save(dir, rec); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := back.View(dir)
	want := map[string]string{
		PropRuntime: "automatic", PropDefinitionFile: "flow.dag.yaml", PropSessionID: "sid", PropLineageID: "lin",
		PropInputsMapping: `{"x":"${data.x}"}`, PropSnapshotID: "snap", PropNodeVariant: "${n.v1}", PropEnvHash: "env",
		PropOutputPath: dir, PropFlowPath: "/f/flow.dag.yaml", PropPython: "/py", PropWorkers: "4", PropLineTimeout: "600", PropPID: "4242",
	}
	if diff := cmp.Diff(want, v.Properties); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	if v.Target != workspace.TargetLocal || v.Variant != "${n.v1}" || v.SessionID != "sid" || v.EndTime != nil || v.Duration != "" ||
		v.Output != filepath.Join(dir, LinesFile) || v.CreationContext["userName"] != "alice" || v.LinesCompleted != 3 {
		t.Errorf("view = %+v", v)
	}
	back.Status, back.EndTime = workspace.RunCompleted, t0.Add(3*time.Second)
	v = back.View(dir)
	if v.Duration != "2s" || v.Properties[PropPID] != "" {
		t.Errorf("ended view: duration %q, pid %q", v.Duration, v.Properties[PropPID])
	}

	if err := os.WriteFile(filepath.Join(dir, RecordFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || fault.HintOf(err) == "" {
		t.Errorf("a damaged record: %v", err)
	}
	if _, err := Load(t.TempDir()); !IsNotExist(err) {
		t.Errorf("a missing record: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	if m, err := ReadMetrics(dir); err != nil || len(m) != 0 {
		t.Errorf("no metrics: %v %v", m, err)
	}
	if err := WriteMetrics(dir, pyjson.ObjectOf(map[string]any{"accuracy": 0.67, "n": 3})); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMetrics(dir)
	if err != nil || m.Map()["accuracy"] != json.Number("0.67") || m.Map()["n"] != json.Number("3") {
		t.Errorf("metrics = %v %v", m, err)
	}
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), []byte("[1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMetrics(dir); err == nil || fault.HintOf(err) == "" {
		t.Errorf("damaged metrics: %v", err)
	}
}

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", p, diff)
	}
}

// Values JSON has no number for, big ints and floats written as 1.0 reach
// the record and come back from it as they were (before: the line was lost
// to "json: invalid number literal").
func TestRecordKeepsEveryValue(t *testing.T) {
	nan, inf := pyjson.NonFinite(math.NaN()), pyjson.NonFinite(math.Inf(-1))
	in := map[string]any{"i": json.Number("9223372036854775808"), "d": nan, "f": json.Number("1.0"), "s": "007"}
	out := map[string]any{"o": map[string]any{"d": inf, "l": []any{nan, json.Number("123456789012345678901234567890")}}}
	dir := writeRun(t, []executor.LineResult{line(0, "Completed", in, out)},
		[]executor.NodeRunRecord{{Node: "n", Line: 0, Status: "Completed", Inputs: in, Output: out["o"]}})
	d, err := Details(dir, 0)
	if err != nil || len(d) != 1 {
		t.Fatal(d, err)
	}
	got, _ := pyjson.Marshal(map[string]any{"in": d[0].Inputs, "out": d[0].Outputs, "status": d[0].Status})
	want := `{"in":{"d":NaN,"f":1.0,"i":9223372036854775808,"s":"007"},"out":{"o":{"d":-Infinity,"l":[NaN,123456789012345678901234567890]}},"status":"Completed"}`
	if string(got) != want {
		t.Errorf("details = %s\nwant      %s", got, want)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, LinesFile))
	if !bytes.Contains(raw, []byte(`"d":NaN`)) || !bytes.Contains(raw, []byte(`"d":-Infinity`)) {
		t.Errorf("lines.jsonl does not hold Python's JSON: %s", raw)
	}
	if err := WriteMetrics(dir, pyjson.ObjectOf(map[string]any{"acc": json.Number("1.0"), "n": nan})); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMetrics(dir)
	if b, _ := pyjson.Marshal(m); err != nil || string(b) != `{"acc":1.0,"n":NaN}` {
		t.Errorf("metrics = %s (%v)", b, err)
	}
}
