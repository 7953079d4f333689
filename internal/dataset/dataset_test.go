package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func readAll(t testing.TB, path string) ([]map[string]any, error) {
	t.Helper()
	r, err := Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var rows []map[string]any
	for want := 0; ; want++ {
		row, n, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if n != want {
			t.Fatalf("line number %d, want %d", n, want)
		}
		rows = append(rows, row)
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type num = json.Number

// nan stands for any NaN in comparisons (cmp sees NaN != NaN).
var nan = pyjson.NonFinite(math.NaN())

var cmpNaN = cmp.Comparer(func(a, b pyjson.NonFinite) bool {
	return a == b || (math.IsNaN(float64(a)) && math.IsNaN(float64(b)))
})

func TestFormats(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		want    []map[string]any
		wantErr string
	}{
		{
			name: "jsonl with blank lines, BOM and CRLF", file: "d.jsonl",
			content: "\xEF\xBB\xBF{\"a\": 1}\r\n\r\n{\"a\": 2.0, \"b\": [1]}\n",
			want:    []map[string]any{{"a": num("1"), "b": nan}, {"a": num("2.0"), "b": []any{num("1")}}},
		},
		{
			name: "jsonl without final newline", file: "d.jsonl", content: `{"q":"x"}`,
			want: []map[string]any{{"q": "x"}},
		},
		{name: "jsonl bad line", file: "d.jsonl", content: "{\"a\":1}\n{oops\n", wantErr: "line 2"},
		{name: "jsonl array line", file: "d.jsonl", content: "[1,2]\n", wantErr: "expected a JSON object"},
		{name: "unknown suffix read as jsonl", file: "d.txt", content: "{\"a\":\"b\"}\n", want: []map[string]any{{"a": "b"}}},
		{
			name: "json array", file: "d.json", content: `[{"a": 1}, {"a": "x", "big": 12345678901234567890}]`,
			want: []map[string]any{{"a": num("1"), "big": nan}, {"a": "x", "big": num("12345678901234567890")}},
		},
		{name: "json single object", file: "d.json", content: `{"url": "u", "n": 1}`, want: []map[string]any{{"url": "u", "n": num("1")}}},
		{name: "json empty array", file: "d.json", content: `[]`},
		{name: "json empty file", file: "d.json", content: ``},
		{name: "json scalar", file: "d.json", content: `42`, wantErr: "expected a JSON array"},
		{name: "json array of scalars", file: "d.json", content: `[1]`, wantErr: "must be objects"},
		// Cells are their text, as promptflow reads them (pandas, dtype=object,
		// keep_default_na=False): the flow input's type converts them later.
		{
			name: "csv cells are text", file: "d.csv",
			content: "name,i,f,b,empty,nan\nRed,007,1.50,True,,NaN\nBlue,9223372036854775808,inf,false,,Infinity\n",
			want: []map[string]any{
				{"name": "Red", "i": "007", "f": "1.50", "b": "True", "empty": "", "nan": "NaN"},
				{"name": "Blue", "i": "9223372036854775808", "f": "inf", "b": "false", "empty": "", "nan": "Infinity"},
			},
		},
		{
			name: "csv quoted newline and short row", file: "d.csv",
			content: "a,b\n\"line1\nline2\",z\nonly\n",
			want:    []map[string]any{{"a": "line1\nline2", "b": "z"}, {"a": "only", "b": ""}},
		},
		{
			name: "tsv with unnamed index and duplicate header", file: "d.tsv",
			content: "\tname\tname\n0\tRed\tR\n",
			want:    []map[string]any{{"Unnamed: 0": "0", "name": "Red", "name.1": "R"}},
		},
		// Python's JSON: NaN and the infinities are numbers; a key some rows
		// lack is NaN in those rows (pandas' table has the column).
		{
			name: "jsonl non-finite numbers and missing keys", file: "d.jsonl",
			content: "{\"d\": NaN, \"e\": Infinity}\n{\"d\": -Infinity, \"big\": 123456789012345678901234567890}\n",
			want: []map[string]any{
				{"d": nan, "e": pyjson.NonFinite(math.Inf(1)), "big": nan},
				{"d": pyjson.NonFinite(math.Inf(-1)), "e": nan, "big": num("123456789012345678901234567890")},
			},
		},
		{
			name: "json non-finite", file: "d.json", content: `[{"d": NaN}, {"e": 1}]`,
			want: []map[string]any{{"d": nan, "e": nan}, {"d": nan, "e": num("1")}},
		},
		{name: "csv header only", file: "d.csv", content: "a,b\n"},
		{name: "parquet refused", file: "d.parquet", content: "PAR1", wantErr: "parquet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, t.TempDir(), tt.file, tt.content)
			got, err := readAll(t, p)
			if tt.wantErr != "" {
				if err == nil || !contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if fault.KindOf(err) != fault.Validation {
					t.Errorf("kind = %v, want Validation", fault.KindOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpNaN); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "b.jsonl", "{\"x\":2}\n{\"x\":3}\n")
	write(t, dir, "a.csv", "x\n1\n")
	write(t, dir, "logo.png", "not data")
	write(t, dir, "sub/c.json", `[{"x": 4}]`)
	write(t, dir, ".hidden/d.jsonl", "{\"x\":99}\n")
	got, err := readAll(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"x": "1"}, {"x": num("2")}, {"x": num("3")}, {"x": num("4")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}

	empty := t.TempDir()
	write(t, empty, "readme.md", "x")
	if _, err := Open(context.Background(), empty); err == nil || !contains(err.Error(), "Couldn't find any inputs data") {
		t.Errorf("empty folder: err = %v", err)
	}
}

func TestMissing(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "nope.jsonl"))
	if !fault.Is(err, fault.Validation) || fault.HintOf(err) == "" {
		t.Fatalf("err = %v (kind %v), want Validation with a hint", err, fault.KindOf(err))
	}
}

func TestColumns(t *testing.T) {
	p := write(t, t.TempDir(), "d.jsonl", "{\"b\":1,\"a\":2}\n{\"c\":3}\n{\"d\":4}\n")
	cols, err := Columns(context.Background(), p, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The whole file's columns: a row lacking one still has it (as NaN).
	if diff := cmp.Diff([]string{"a", "b", "c", "d"}, cols); diff != "" {
		t.Error(diff)
	}
}

// The promptflow corpus ships the same colours in every format: each reader
// must agree on the values (the tsv adds pandas' index column).
func TestConformanceLoadDataCases(t *testing.T) {
	dir := shared.Path(t, "conformance", "promptflow", "test_configs", "datas", "load_data_cases")
	ref, err := readAll(t, filepath.Join(dir, "colors.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"colors.csv", "colors.json", "colors.tsv"} {
		rows, err := readAll(t, filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) != len(ref) {
			t.Fatalf("%s: %d rows, want %d", name, len(rows), len(ref))
		}
		for i := range rows {
			// id_int differs between the corpus files on purpose (row 2).
			for _, col := range []string{"name", "id_float"} {
				// CSV and TSV cells are text, JSON numbers are numbers.
				if fmt.Sprint(rows[i][col]) != fmt.Sprint(ref[i][col]) {
					t.Errorf("%s row %d %s = %#v, want %#v", name, i, col, rows[i][col], ref[i][col])
				}
			}
		}
	}
	rows, err := readAll(t, filepath.Join(dir, "10k"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10000 || rows[0]["text"] != "data_0000" || rows[9999]["text"] != "data_9999" {
		t.Errorf("10k folder: %d rows, first %v last %v", len(rows), rows[0], rows[len(rows)-1])
	}
}

func TestCanceledContextStopsFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.jsonl", "{\"x\":1}\n")
	write(t, dir, "b.jsonl", "{\"x\":2}\n")
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, _, err := r.Next(); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\":\"x\"}\n"))
	f.Add([]byte("\xEF\xBB\xBF{}\r\n"))
	f.Add([]byte("[1]\n"))
	f.Add([]byte("{\"a\":1}{\"b\":2}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "d.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rows, _ := readAll(t, p)
		for _, r := range rows {
			if r == nil {
				t.Fatal("nil row without error")
			}
		}
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(`[{"a":1},{"a":2}]`))
	f.Add([]byte(`{"a":{"b":[1,2]}}`))
	f.Add([]byte(`[{"a":1},`))
	f.Add([]byte(`{"a"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "d.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rows, _ := readAll(t, p)
		for _, r := range rows {
			if r == nil {
				t.Fatal("nil row without error")
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"), false)
	f.Add([]byte("\tx\n0\t\"q\"\"\n"), true)
	f.Add([]byte("a\n\"unterminated\n"), false)
	f.Add([]byte(",,\n1,True,1e5\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, tsv bool) {
		name := "d.csv"
		if tsv {
			name = "d.tsv"
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rows, err := readAll(t, p)
		if err != nil {
			return
		}
		// Every row has exactly the header's columns.
		for i := 1; i < len(rows); i++ {
			if len(rows[i]) != len(rows[0]) {
				t.Fatalf("row %d has %d columns, row 0 has %d", i, len(rows[i]), len(rows[0]))
			}
		}
	})
}

// A line over MaxLineSize is refused with its line number, after reading at
// most MaxLineSize of it; the line just under the limit is read.
func TestMaxLineSize(t *testing.T) {
	dir := t.TempDir()
	value := strings.Repeat("x", MaxLineSize-len(`{"v":""}`)-1)
	ok := write(t, dir, "ok.jsonl", "{\"v\":1}\n{\"v\":\""+value+"\"}\n")
	rows, err := readAll(t, ok)
	if err != nil || len(rows) != 2 {
		t.Fatalf("a line of exactly MaxLineSize: %d rows, %v", len(rows), err)
	}
	big := write(t, dir, "big.jsonl", "{\"v\":1}\n\n{\"v\":\""+value+"x\"}\n")
	_, err = readAll(t, big)
	if fault.KindOf(err) != fault.Validation || !strings.Contains(err.Error(), "line 3 is longer than 64 MB") {
		t.Fatalf("err = %v", err)
	}
}

// An unterminated quote in a CSV file is an error naming the line where the
// quoted field starts, as pandas refuses it, instead of swallowing the rest.
func TestCSVUnterminatedQuote(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		line       int // 0: valid
	}{
		{"open.csv", "a,b\n1,\"x\n2,y\n3,z\n", 2},
		{"open_tsv.tsv", "a\tb\n1\ty\n2\t\"z\n", 3},
		{"closed.csv", "a,b\n1,\"x\n\"\"y\"\"\"\n2,z\n", 0},
		{"lazy.csv", "a,b\n1,5\" screen\n2,\"quoted\"\n", 0},
		{"lazy_inner.csv", "a,b\n1,\"say \"hi\" now\"\n", 0},
		{"closed_at_eof.csv", "a,b\n1,\"x\"", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, write(t, dir, tc.name, tc.text))
			if tc.line == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := "line " + strconv.Itoa(tc.line) + ": a quoted field starts here and is never closed"
			if fault.KindOf(err) != fault.Validation || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
}
