package runspec

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func testFlow() *flow.Flow {
	return &flow.Flow{Kind: flow.KindDAG, Inputs: []flow.Input{
		{Name: "url", Type: "string"},
		{Name: "answer", Type: "string"},
		{Name: "lang", Type: "string", Default: "en", HasDefault: true},
		{Name: "a.b", Type: "string", Default: "x", HasDefault: true},
	}}
}

func mappingSpec(data, run string, m map[string]any) *Spec {
	s := &Spec{File: "run.yml", Data: data, Run: run, ColumnMapping: m, Pos: map[string]Pos{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // lines in key order: findings come in line order
	for i, k := range keys {
		s.Pos["column_mapping."+k] = Pos{File: "run.yml", Line: i + 1}
	}
	return s
}

func TestCheckColumnMapping(t *testing.T) {
	cols := []string{"url", "answer", "a.b"}
	tests := []struct {
		name  string
		spec  *Spec
		flow  *flow.Flow
		cols  []string
		diags []wantDiag
	}{
		{name: "all mapped", spec: mappingSpec("d.jsonl", "", map[string]any{"url": "${data.url}", "answer": "${data.answer}"}),
			flow: testFlow(), cols: cols},
		{name: "default mapping by input name", spec: mappingSpec("d.jsonl", "", nil), flow: testFlow(), cols: cols},
		{name: "absent column names the nearest", spec: mappingSpec("d.jsonl", "", map[string]any{"url": "${data.urll}"}),
			flow: testFlow(), cols: cols,
			diags: []wantDiag{{diag.Error, CodeColumnMapping, 0, `the data has no column "urll"`}}},
		{name: "dotted column", spec: mappingSpec("d.jsonl", "", map[string]any{"url": "${data.a.b}"}), flow: testFlow(), cols: cols},
		{name: "run outputs need run", spec: mappingSpec("d.jsonl", "", map[string]any{"answer": "${run.outputs.category}"}),
			flow: testFlow(), cols: cols,
			diags: []wantDiag{{diag.Error, CodeNeedsRun, 0, "column_mapping.answer (${run.outputs.category}) requires run"}}},
		{name: "run bindings without run: one finding", spec: mappingSpec("d.jsonl", "", map[string]any{"answer": "${run.outputs.category}", "url": "${run.inputs.url}"}),
			flow: testFlow(), cols: cols,
			diags: []wantDiag{{diag.Error, CodeNeedsRun, 0, "column_mapping.answer (${run.outputs.category}), column_mapping.url (${run.inputs.url}) require run"}}},
		{name: "run inputs with run", spec: mappingSpec("", "base", map[string]any{"url": "${run.inputs.url}", "answer": "${run.outputs.answer}"}),
			flow: testFlow(), cols: nil},
		{name: "data binding without data", spec: mappingSpec("", "base", map[string]any{"url": "${data.url}", "answer": "${run.outputs.x}"}),
			flow:  testFlow(),
			diags: []wantDiag{{diag.Error, CodeColumnMapping, 0, "${data.url} needs data"}}},
		{name: "unknown source", spec: mappingSpec("d.jsonl", "", map[string]any{"url": "${inputs.url}", "answer": "${data}"}),
			flow: testFlow(), cols: cols,
			diags: []wantDiag{
				{diag.Error, CodeColumnMapping, 0, "${inputs.url} names no input source"},
				{diag.Error, CodeColumnMapping, 0, "${data} names no input source"},
			}},
		{name: "run without outputs or inputs", spec: mappingSpec("d.jsonl", "r", map[string]any{"url": "${run.url}"}),
			flow: testFlow(), cols: cols,
			diags: []wantDiag{{diag.Error, CodeColumnMapping, 0, "${run.url} names no input source"}}},
		{name: "key that is not an input", spec: mappingSpec("d.jsonl", "", map[string]any{"urll": "${data.url}"}),
			flow: testFlow(), cols: cols,
			diags: []wantDiag{{diag.Warning, CodeColumnMapping, 0, "the flow has no input named urll"}}},
		{name: "binding inside a literal", spec: mappingSpec("d.jsonl", "", map[string]any{"url": "see ${data.url}"}),
			flow: testFlow(), cols: cols,
			diags: []wantDiag{{diag.Warning, CodeColumnMapping, 0, "is passed as a literal string"}}},
		{name: "non-string literals", spec: mappingSpec("d.jsonl", "", map[string]any{"url": int64(3), "answer": map[string]any{"a": 1}}),
			flow: testFlow(), cols: cols},
		{name: "line_number is reserved", spec: mappingSpec("d.jsonl", "", map[string]any{"line_number": "${data.nope}"}),
			flow: testFlow(), cols: cols},
		{name: "required input the data lacks", spec: mappingSpec("d.jsonl", "", nil), flow: testFlow(), cols: []string{"url"},
			diags: []wantDiag{{diag.Error, CodeRequiredInput, 0, `flow input answer has no default, nothing maps it, and the data has no column "answer"`}}},
		{name: "required input without data", spec: mappingSpec("", "base", map[string]any{"url": "${run.outputs.url}"}), flow: testFlow(),
			diags: []wantDiag{{diag.Error, CodeRequiredInput, 0, "flow input answer has no default and nothing maps it"}}},
		{name: "remote data: columns unknown", spec: mappingSpec("azureml:d:1", "", map[string]any{"url": "${data.anything}"}), flow: testFlow(), cols: nil},
		{name: "remote flow: sources only", spec: mappingSpec("d.jsonl", "", map[string]any{"whatever": "${data.nope}", "x": "${run.outputs.y}"}),
			flow: nil, cols: cols,
			diags: []wantDiag{
				{diag.Error, CodeColumnMapping, 0, `no column "nope"`},
				{diag.Error, CodeNeedsRun, 0, "requires run"},
			}},
		{name: "flex flow without declared inputs", spec: mappingSpec("d.jsonl", "", map[string]any{"question": "${data.url}"}),
			flow: &flow.Flow{Kind: flow.KindFlex}, cols: cols},
		{name: "empty data", spec: mappingSpec("d.jsonl", "", map[string]any{"url": "${data.url}", "answer": "x"}), flow: testFlow(), cols: []string{},
			diags: []wantDiag{{diag.Error, CodeColumnMapping, 0, `no column "url"`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := CheckColumnMapping(tc.spec, tc.flow, tc.cols)
			matchDiags(t, ds, tc.diags)
			for _, d := range ds {
				if d.File != "run.yml" {
					t.Errorf("diagnostic without the run file: %s", d)
				}
			}
		})
	}
}

func TestCheckColumnMappingHints(t *testing.T) {
	ds := CheckColumnMapping(mappingSpec("d.jsonl", "", map[string]any{"url": "${data.URL}", "answr": "${data.answer}"}), testFlow(), []string{"URL_", "answer"})
	var hints []string
	for _, d := range ds {
		hints = append(hints, d.Hint)
	}
	joined := strings.Join(hints, "\n")
	for _, want := range []string{"did you mean URL_?", "did you mean answer?"} {
		if !strings.Contains(joined, want) {
			t.Errorf("hints %q lack %q", joined, want)
		}
	}
}

func TestDataColumns(t *testing.T) {
	dir := t.TempDir()
	w := func(rel, content string) string {
		return writeFile(t, filepath.Join(dir, filepath.FromSlash(rel)), content)
	}
	jsonl := w("a.jsonl", "{\"b\": 1, \"a\": {\"x\": 1}}\n\n{\"c\": [1], \"a\": 2}\n{\"late\": 1}\n")
	jsonArr := w("arr.json", `[{"q": 1}, {"r": 2, "q": 3}]`)
	jsonObj := w("obj.json", `{"url": "u", "answer": "a"}`)
	csvFile := w("c.csv", "\ufeffname,,name,\"quoted, col\"\n1,2,3,4\n")
	tsvFile := w("t.tsv", "\tname\tid\n0\tRed\t1\n")
	empty := w("empty.jsonl", "")
	other := w("data.txt", "{\"t\": 1}\n")
	badLine := w("bad.jsonl", "{\"a\": 1}\n[1, 2]\n")
	badJSON := w("bad.json", `"just a string"`)
	w("folder/z.jsonl", "{\"z\": 1}\n")
	w("folder/sub/a.csv", "col\n1\n")
	w("folder/.hidden/h.jsonl", "{\"hidden\": 1}\n")
	w("folder/logo.png", "\x89PNG")
	w("pq/x.parquet", "PAR1")
	w("pq/y.jsonl", "{\"y\": 1}\n")
	w("nodata/readme.md", "hi")
	parquet := w("p.parquet", "PAR1")

	ctx := context.Background()
	tests := []struct {
		path     string
		max      int
		want     []string
		wantErr  string
		wantKind fault.Kind
	}{
		{jsonl, 0, []string{"b", "a", "c", "late"}, "", 0},
		{jsonl, 2, []string{"b", "a", "c"}, "", 0},
		{jsonArr, 0, []string{"q", "r"}, "", 0},
		{jsonArr, 1, []string{"q"}, "", 0},
		{jsonObj, 0, []string{"url", "answer"}, "", 0},
		{csvFile, 0, []string{"name", "Unnamed: 1", "name.1", "quoted, col"}, "", 0},
		{tsvFile, 0, []string{"Unnamed: 0", "name", "id"}, "", 0},
		{empty, 0, []string{}, "", 0},
		{other, 0, []string{"t"}, "", 0},
		{filepath.Join(dir, "folder"), 0, []string{"col", "z"}, "", 0},
		{parquet, 0, nil, "", 0},
		{filepath.Join(dir, "pq"), 0, nil, "", 0},
		{badLine, 0, nil, "line 2 is not a JSON object", fault.Validation},
		{badJSON, 0, nil, "expected a JSON array of objects", fault.Validation},
		{filepath.Join(dir, "nodata"), 0, nil, "Couldn't find any inputs data", fault.Validation},
		{filepath.Join(dir, "missing.jsonl"), 0, nil, "does not exist", fault.Validation},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			got, err := DataColumns(ctx, tc.path, tc.max)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !fault.Is(err, tc.wantKind) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tc.want == nil) != (got == nil) {
				t.Fatalf("got %#v, want %#v (nil means unknown)", got, tc.want)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := DataColumns(canceled, filepath.Join(dir, "folder"), 0); err == nil {
		t.Error("a canceled context must stop a folder scan")
	}
}

func TestDataColumnsCorpus(t *testing.T) {
	datas := shared.Path(t, "conformance", "promptflow", "test_configs", "datas")
	colors := []string{"name", "id_text", "id_int", "id_float"}
	tests := map[string][]string{
		"webClassification1.jsonl":       {"url", "answer", "evidence", "variant_id"},
		"classificationAccuracy.csv":     {"line_number", "variant_id", "groundtruth", "prediction"},
		"load_data_cases/colors.csv":     colors,
		"load_data_cases/colors.json":    colors,
		"load_data_cases/colors.jsonl":   colors,
		"load_data_cases/colors.tsv":     append([]string{"Unnamed: 0"}, colors...),
		"load_data_cases/colors.parquet": nil,
		"load_data_cases/10k":            {"text"},
		"image_inputs":                   {"image"},
		"webClassification.json":         {"url", "answer", "evidence", "variant_id"},
	}
	for rel, want := range tests {
		got, err := DataColumns(context.Background(), filepath.Join(datas, filepath.FromSlash(rel)), 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", rel, diff)
		}
	}
}

// TestCorpusColumnMapping runs the whole offline check on corpus run files
// whose flows are in the corpus.
func TestCorpusColumnMapping(t *testing.T) {
	dir, _ := corpusRunFiles(t)
	for _, rel := range []string{"sample_bulk_run.yaml", "sample_eval_run.yaml", "run_with_connections.yaml"} {
		s, _, err := Load(LoadOptions{Flags: Flags{File: filepath.Join(dir, rel)}, CWD: t.TempDir()})
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		f, _, err := flow.Load(s.Flow)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		cols, err := DataColumns(context.Background(), s.Data, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ds := CheckColumnMapping(s, f, cols); len(ds) != 0 {
			t.Errorf("%s: %v", rel, ds)
		}
		// Without run, the evaluation run's ${run.outputs.category} fails.
		if rel == "sample_eval_run.yaml" {
			s.Run = ""
			ds := CheckColumnMapping(s, f, cols)
			if len(ds.Errors()) != 1 || !strings.Contains(ds[0].Message, "requires run") || ds[0].Line != 5 {
				t.Errorf("without run: %v", ds)
			}
		}
	}
}

func FuzzDataColumns(f *testing.F) {
	f.Add(".jsonl", "{\"a\": 1}\n{\"b\": 2}\n")
	f.Add(".json", `[{"a": 1}, {"b": [1, {"c": 2}]}]`)
	f.Add(".json", `{"a": 1}`)
	f.Add(".csv", "a,b,,a\n1,2,3,4\n")
	f.Add(".tsv", "\ta\tb\n")
	f.Add(".txt", "{\"t\": 1}")
	f.Add(".csv", "\"unterminated\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, ext, content string) {
		switch ext {
		case ".jsonl", ".json", ".csv", ".tsv", ".txt":
		default:
			ext = ".jsonl"
		}
		p := filepath.Join(dir, "data"+ext)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		cols, err := DataColumns(context.Background(), p, 5)
		if err != nil {
			if !fault.Is(err, fault.Validation) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, c := range cols {
			if seen[c] {
				t.Fatalf("column %q twice", c)
			}
			seen[c] = true
		}
	})
}
