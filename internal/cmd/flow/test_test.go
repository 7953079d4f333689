package flowcmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

func TestChatShapeOf(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		f    *flow.Flow
		want chatShape
		err  string
	}{
		{"dag chat flow", &flow.Flow{
			Inputs:  []flow.Input{{Name: "question", IsChatInput: true}, {Name: "history", IsChatHistory: &yes}},
			Outputs: []flow.Output{{Name: "extra"}, {Name: "answer", IsChatOutput: true}},
		}, chatShape{input: "question", history: "history", output: "answer"}, ""},
		{"flex: chat_history and one required parameter", &flow.Flow{
			Inputs: []flow.Input{{Name: "q"}, {Name: "chat_history", HasDefault: true}, {Name: "temperature", HasDefault: true}},
		}, chatShape{input: "q", history: "chat_history"}, ""},
		{"no history", &flow.Flow{File: "f.yaml", Inputs: []flow.Input{{Name: "q", IsChatInput: true}}}, chatShape{}, "is not a chat flow"},
		{"two candidate inputs", &flow.Flow{File: "f.yaml", Inputs: []flow.Input{{Name: "a"}, {Name: "b"}, {Name: "chat_history"}}}, chatShape{}, "is not a chat flow"},
	} {
		got, err := chatShapeOf(tc.f)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !fault.Is(err, fault.Usage) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestTestInputs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.json"), []byte(`{"q": "hi", "n": 2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte("\n{\"q\": \"first\"}\n{\"q\": \"second\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`[1, 2]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts TestOptions
		want string
		err  string
	}{
		{TestOptions{Inputs: []string{"q=a=b", `name="Ada"`}}, `map[name:Ada q:a=b]`, ""},
		{TestOptions{InputFile: "in.json"}, `map[n:2 q:hi]`, ""},
		{TestOptions{InputFile: "in.jsonl"}, `map[q:first]`, ""},
		{TestOptions{InputFile: "bad.json"}, "", "must hold a JSON object"},
		{TestOptions{InputFile: "missing.json"}, "", "cannot read the input file"},
		{TestOptions{Inputs: []string{"novalue"}}, "", "--inputs"},
	} {
		tc.opts.WorkDir = dir
		got, err := testInputs(&tc.opts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: err = %v, want %q", tc.opts, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.opts, err)
			continue
		}
		if diff := cmp.Diff(tc.want, fmt.Sprint(got)); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.opts, diff)
		}
	}
}

func TestAnswerOf(t *testing.T) {
	if got := answerOf(pyjson.ObjectOf(map[string]any{"answer": "a", "x": 1}), "answer"); got != "a" {
		t.Errorf("named output: %v", got)
	}
	if got := answerOf(pyjson.ObjectOf(map[string]any{"output": "o"}), ""); got != "o" {
		t.Errorf("flex output: %v", got)
	}
	if got := answerOf(pyjson.ObjectOf(map[string]any{"only": 3}), ""); got != 3 {
		t.Errorf("single output: %v", got)
	}
}
