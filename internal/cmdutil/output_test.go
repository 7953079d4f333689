package cmdutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

type doc struct {
	Zeta  string         `json:"zeta"`
	Alpha int            `json:"alpha"`
	Items []string       `json:"items"`
	Extra map[string]any `json:"extra,omitempty"`
}

func TestPrinterFormats(t *testing.T) {
	v := doc{Zeta: "z<&>", Alpha: 12345678901234567, Items: []string{"a", "yes"}}
	tests := []struct {
		format, query, want string
	}{
		{"json", "", "{\n  \"zeta\": \"z<&>\",\n  \"alpha\": 12345678901234567,\n  \"items\": [\n    \"a\",\n    \"yes\"\n  ]\n}\n"},
		{"yaml", "", "zeta: z<&>\nalpha: 12345678901234567\nitems:\n  - a\n  - \"yes\"\n"},
		{"json", "items[1]", "\"yes\"\n"},
		{"yaml", "{n: zeta, k: length(items)}", "k: 2\n\"n\": z<&>\n"},
		{"json", "missing", "null\n"},
	}
	for _, tt := range tests {
		io, _, out, _ := iostreams.Test()
		p, err := NewPrinter(io, tt.format, tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Print(v, func(*Table) { t.Error("table called") }); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("%s %q:\n%s\nwant:\n%s", tt.format, tt.query, out, tt.want)
		}
	}
}

func TestPrinterRejects(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	for _, c := range []struct{ format, query string }{{"table", "a"}, {"json", "a[["}, {"xml", ""}} {
		_, err := NewPrinter(io, c.format, c.query)
		if fault.KindOf(err) != fault.Usage || fault.HintOf(err) == "" {
			t.Errorf("%v: %v", c, err)
		}
	}
}

func TestTable(t *testing.T) {
	render := func(tty bool) string {
		io, _, out, _ := iostreams.Test()
		io.SetStdoutTTY(tty)
		tb := NewTable(io)
		tb.Header("name", "status")
		tb.Row("run_one", "Completed")
		tb.Row("r2", "Failed\twith tab")
		if err := tb.Render(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if got, want := render(false), "run_one\tCompleted\nr2\tFailed with tab\n"; got != want {
		t.Errorf("piped:\n%q\nwant\n%q", got, want)
	}
	if got, want := render(true), "NAME     STATUS\nrun_one  Completed\nr2       Failed with tab\n"; got != want {
		t.Errorf("tty:\n%q\nwant\n%q", got, want)
	}
}

func TestExitCodeAndPrintError(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{errors.New("boom"), 1, "error: boom\n"},
		{fault.New(fault.Usage, "bad flag").WithHint("see help"), 2, "error: bad flag\nhint: see help\n"},
		{fmt.Errorf("wrapped: %w", fault.New(fault.Auth, "no token").WithHint("az login")), 4, "error: wrapped: no token\nhint: az login\n"},
		{fault.New(fault.Timeout, "still running"), 8, "error: still running\n"},
		{Silent(fault.Validation, errors.New("x")), 2, ""},
		{diag.List{{Severity: diag.Error, Code: "E1", File: "f.yaml", Line: 3, Message: "bad", Hint: "fix"}}.Err(), 2, "f.yaml:3: error [E1] bad\n  hint: fix\n"},
	}
	for _, tt := range tests {
		io, _, _, errOut := iostreams.Test()
		PrintError(io, tt.err)
		if got := ExitCode(tt.err); got != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.err, got, tt.code)
		}
		if errOut.String() != tt.stderr {
			t.Errorf("%v: stderr %q, want %q", tt.err, errOut, tt.stderr)
		}
	}
}

// A flow value JSON has no number for is written as Python's json writes it
// (and promptflow's own files hold it), in YAML as .nan / .inf; the string
// "NaN" stays a string.
func TestWriteDocumentNonFinite(t *testing.T) {
	v := map[string]any{"d": pyjson.NonFinite(math.NaN()), "e": pyjson.NonFinite(math.Inf(-1)), "s": "NaN", "f": json.Number("1.0")}
	for _, tt := range []struct{ format, query, want string }{
		{"json", "", "{\n  \"d\": NaN,\n  \"e\": -Infinity,\n  \"f\": 1.0,\n  \"s\": \"NaN\"\n}\n"},
		{"yaml", "", "d: .nan\ne: -.inf\nf: 1.0\ns: NaN\n"},
		{"json", "d", "NaN\n"},
	} {
		var buf bytes.Buffer
		if err := WriteDocument(&buf, tt.format, tt.query, v); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("%s %q = %q, want %q", tt.format, tt.query, buf.String(), tt.want)
		}
	}
}
