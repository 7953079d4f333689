package flexmeta

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

func python(t *testing.T) string {
	t.Helper()
	return need.Command(t, "python3", "the flex signature reader needs it")
}

func str(s string) *string { return &s }

// The expected signatures are what promptflow 1.18.5's
// generate_flow_meta_dict_by_file printed for the same code (defaults as
// str() of the value, "" for None; complex annotations refused).
const entryPy = `from dataclasses import dataclass
from typing import List, Optional, TypedDict
from promptflow.core import AzureOpenAIModelConfiguration
from promptflow.connections import AzureOpenAIConnection, CustomConnection

def untyped(input_val):
    return input_val

def typed(s: str, i: int = 3, f: float = 1.5, b: bool = False, l: list = None, d: dict = None) -> str:
    return s

def literals(s: str = "x", l: list = [1, 2], d: dict = {"k": 1}, b: bool = True, o: Optional[str] = None):
    return s

def complex_input(x: List[str] = None):
    return 1

def returns_dict(q: str) -> dict:
    return {}

@dataclass
class Out:
    answer: str
    score: float

class Flow:
    def __init__(self, model_config: AzureOpenAIModelConfiguration, conn: CustomConnection, n: int = 1):
        pass

    async def __call__(self, question: str, k: int = 2, c2: AzureOpenAIConnection = None) -> Out:
        return Out("a", 1.0)

    def __aggregate__(self, results):
        return {}

class TD(TypedDict):
    x: str
    y: int

def typed_dict(q: str) -> TD:
    return {"x": q, "y": 1}

def gen(q: str):
    yield q

raise SystemExit("the module must never be imported")
`

func TestRead(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "entry.py"), []byte(entryPy), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		entry   string
		want    *Signature
		wantErr string
	}{
		{entry: "entry:untyped", want: &Signature{Inputs: []Port{{Name: "input_val", Type: "object"}}}},
		{entry: "entry:typed", want: &Signature{Inputs: []Port{{"s", "string", nil}, {"i", "int", str("3")}, {"f", "double", str("1.5")},
			{"b", "bool", str("False")}, {"l", "list", str("")}, {"d", "object", str("")}}}},
		{entry: "entry:literals", want: &Signature{Inputs: []Port{{"s", "string", str("x")}, {"l", "list", str("[1, 2]")},
			{"d", "object", str("{'k': 1}")}, {"b", "bool", str("True")}, {"o", "string", str("")}}}},
		{entry: "entry:Flow", want: &Signature{
			Inputs:  []Port{{"question", "string", nil}, {"k", "int", str("2")}, {"c2", "AzureOpenAIConnection", str("")}},
			Outputs: []Port{{"answer", "string", nil}, {"score", "double", nil}},
			Init:    []Port{{"model_config", "AzureOpenAIModelConfiguration", nil}, {"conn", "CustomConnection", nil}, {"n", "int", str("1")}}}},
		{entry: "entry:typed_dict", want: &Signature{Inputs: []Port{{"q", "string", nil}}, Outputs: []Port{{"x", "string", nil}, {"y", "int", nil}}}},
		{entry: "entry:gen", want: &Signature{Inputs: []Port{{"q", "string", nil}}}},
		{entry: "entry:complex_input", wantErr: "The input 'x' is of a complex python type. Please use a dict instead."},
		{entry: "entry:returns_dict", wantErr: "must be dataclass, TypedDict or string, but got <class 'dict'>."},
		{entry: "entry:missing", wantErr: "has no top-level function or class missing"},
		{entry: "nomodule:f", wantErr: "cannot find module nomodule"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			got, err := Read(context.Background(), py, dir, tt.entry)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("signature (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApply(t *testing.T) {
	sig := &Signature{Inputs: []Port{{Name: "input_val", Type: "object"}}}
	tests := []struct {
		name, src, want, wantErr string
		sig                      *Signature
	}{
		// The flow.flex.yaml pfazure uploaded in test_eager_flow_meta_generation.
		{name: "recording", sig: sig, src: "entry: entry:my_flow\nenvironment:\n  python_requirements_txt: requirements.txt\n",
			want: "entry: entry:my_flow\nenvironment:\n  python_requirements_txt: requirements.txt\ninputs:\n  input_val:\n    type: object\n"},
		{name: "no final newline, comment kept", sig: sig, src: "# my flow\nentry: entry:my_flow",
			want: "# my flow\nentry: entry:my_flow\ninputs:\n  input_val:\n    type: object\n"},
		{name: "declared inputs win", sig: sig, src: "entry: e:f\ninputs:\n  input_val:\n    type: string\n",
			want: "entry: e:f\ninputs:\n  input_val:\n    type: string\n"},
		{name: "declared inputs differ", sig: sig, src: "entry: e:f\ninputs:\n  other:\n    type: string\n",
			wantErr: "Provided signature of inputs does not match the entry.\nPorts from signature: other\nPorts from entry: input_val"},
		{name: "defaults and all sections", src: "entry: e:C\n",
			sig: &Signature{Inputs: []Port{{"q", "string", nil}, {"k", "int", str("2")}}, Outputs: []Port{{"a", "string", nil}},
				Init: []Port{{"m", "string", str("")}, {"t", "double", str("0.2")}}},
			want: "entry: e:C\ninputs:\n  q:\n    type: string\n  k:\n    type: int\n    default: \"2\"\noutputs:\n  a:\n    type: string\ninit:\n  m:\n    type: string\n    default: \"\"\n  t:\n    type: double\n    default: \"0.2\"\n"},
		{name: "flow style file", sig: sig, src: "{entry: 'e:f'}\n", want: "entry: 'e:f'\ninputs:\n  input_val:\n    type: object\n"},
		{name: "primitive output declared as output", sig: sig, src: "entry: e:f\noutputs:\n  output:\n    type: string\n",
			want: "entry: e:f\noutputs:\n  output:\n    type: string\ninputs:\n  input_val:\n    type: object\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply([]byte(tt.src), tt.sig)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
