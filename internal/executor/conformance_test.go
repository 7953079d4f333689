package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/fakeopenai"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

// Flows of the promptflow corpus that need no python code (the corpus leaves
// code files out) run as they are: prompt nodes and llm nodes against the fake.
func TestConformancePromptAndLLMFlows(t *testing.T) {
	flows := shared.Path(t, "conformance", "promptflow", "test_configs", "flows")
	srv := fakeopenai.New(t, "key")
	conns := mapResolver{"azure_open_ai_connection": {"type": "AzureOpenAI", "api_key": "key", "api_base": srv.URL, "api_version": "2023-07-01-preview"}}
	emptyLines := filepath.Join(t.TempDir(), "empty.jsonl")
	os.WriteFile(emptyLines, []byte("{}\n{}\n"), 0o644)
	tests := []struct {
		flow, data string
		check      func(t *testing.T, s *recSink)
	}{
		{"prompt_tools", "samples.json", func(t *testing.T, s *recSink) {
			out, _ := s.lines[2].Outputs.Map()["output_prompt"].(string)
			if !strings.Contains(out, "Text: text_3\n") || !strings.HasPrefix(out, "Please summarize the following content") {
				t.Errorf("output = %q", out)
			}
		}},
		// An input with a default does not read the data column of the same
		// name unless the mapping says so (promptflow's rule).
		{"flow_with_non_english_input", "data.jsonl", func(t *testing.T, s *recSink) {
			if got := s.lines[1].Outputs.Map()["output"]; got != "Hello 日本語" {
				t.Errorf("output = %q", got)
			}
		}},
		// The llm node renders its own template, whose {{text}} it is not given.
		{"basic_with_builtin_llm_node", emptyLines, func(t *testing.T, s *recSink) {
			if got := s.lines[0].Outputs.Map()["output"]; got != "echo: Write a simple  program that displays the greeting message." {
				t.Errorf("output = %q", got)
			}
		}},
		{"chat_flow_with_default_history", emptyLines, func(t *testing.T, s *recSink) {
			if got := s.lines[0].Outputs.Map()["answer"]; got != "echo: What is ChatGPT?" {
				t.Errorf("output = %q", got)
			}
			reqs := srv.Requests()
			msgs := reqs[len(reqs)-1].Messages()
			roles := make([]string, len(msgs))
			for i, m := range msgs {
				roles[i] = m["role"].(string)
			}
			if strings.Join(roles, ",") != "system,user,assistant,user,assistant,user" {
				t.Errorf("roles = %v", roles)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.flow, func(t *testing.T) {
			f, ds, err := flow.Load(filepath.Join(flows, tt.flow))
			if err != nil || ds.HasErrors() {
				t.Fatal(err, ds)
			}
			data := tt.data
			if !filepath.IsAbs(data) {
				data = filepath.Join(f.Dir, data)
			}
			sink := newRecSink()
			sum, err := Run(context.Background(), Config{Flow: f, Data: data, Sink: sink, Connections: conns})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Status != StatusCompleted || sum.Failed != 0 {
				for _, l := range sink.lines {
					if l.Error != nil {
						t.Logf("line %d: %+v", l.LineNumber, l.Error)
					}
				}
				t.Fatalf("summary = %+v", sum)
			}
			tt.check(t, sink)
		})
	}
}
