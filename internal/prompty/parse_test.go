package prompty

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/pyjson"
)

const goodFront = `---
name: Basic
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: gpt-4o
    azure_endpoint: ${env:AOAI_ENDPOINT}
    api_key: ${env:AOAI_KEY}
  parameters:
    max_tokens: 64
    response_format: {type: json_object}
inputs:
  question: {type: string}
  n: {type: int, default: 3}
outputs:
  answer: {type: string}
---
`

func TestSplitAsPromptflow(t *testing.T) {
	cases := []struct {
		in, front, body string
		line            int
		ok              bool
	}{
		{"---\na: 1\n---\nbody\n", "\na: 1\n", "body\n", 4, true},
		// the front matter runs to the last --- line of the file
		{"---\na: 1\n---\nx\n---\ny", "\na: 1\n---\nx\n", "y", 6, true},
		{"# comment\n-----\na: 1\n---\r\nb", "\n\na: 1\n", "b", 5, true},
		{"no fences", "", "", 0, false},
		{"---\nonly one", "", "", 0, false},
	}
	for _, c := range cases {
		front, body, line, ok := Split([]byte(c.in))
		if ok != c.ok || string(front) != c.front || body != c.body || line != c.line {
			t.Errorf("Split(%q) = %q, %q, %d, %v; want %q, %q, %d, %v", c.in, front, body, line, ok, c.front, c.body, c.line, c.ok)
		}
	}
}

func TestParseDiagnostics(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // file:line:col code
	}{
		{"good", goodFront + "user:\n{{question}}\n", nil},
		{"no front matter", "user:\nhi\n", []string{"1:1 prompty-no-front-matter"}},
		{"inner fence", "---\nmodel: {}\n---\nuser:\nhi\n---\nmore\n", []string{"3:1 prompty-inner-fence"}},
		{"bad yaml", "---\nmodel: [\n---\nx", []string{"2:1 yaml-syntax"}},
		{"no model", "---\nname: x\n---\nx", []string{"2:1 prompty-missing-model"}},
		{"api, response, type", "---\nmodel:\n  api: chats\n  response: some\n  configuration: {type: azure}\n  parameters: {}\n---\n",
			[]string{"3:8 prompty-invalid-api", "4:13 prompty-invalid-response", "5:25 prompty-invalid-config"}},
		{"connection and keys", "---\nmodel:\n  configuration:\n    connection: c\n    api_key: k\n  parameters: {}\n---\n",
			[]string{"5:5 prompty-invalid-config"}},
		{"no parameters", "---\nmodel:\n  configuration: {type: openai, model: m}\n---\n", []string{"3:3 prompty-missing-model"}},
		{"inputs", "---\nmodel:\n  configuration: {connection: c}\n  parameters: {max_token: 1, response_format: text}\ninputs:\n  a: string\n  b: {default: 1}\n  c: {type: strin}\n---\n",
			[]string{"4:16 prompty-unknown-parameter", "4:47 prompty-invalid-response-format", "6:6 wrong-type", "7:3 missing-input-type", "8:13 unknown-value-type"}},
		{"unknown keys", "---\nmodle: {}\nmodel:\n  configuration: {type: openai, model: m, baseurl: x}\n  parameters: {}\n---\n",
			[]string{"2:1 unknown-key", "4:43 unknown-key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ds := Parse("p.prompty", []byte(c.text))
			var got []string
			for _, d := range ds {
				if d.File != "p.prompty" || d.Hint == "" {
					t.Errorf("diagnostic without file or hint: %v", d)
				}
				got = append(got, fmt.Sprintf("%d:%d %s", d.Line, d.Column, d.Code))
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\n%v", diff, ds)
			}
		})
	}
}

func load(t *testing.T, text string, env map[string]string) *Prompty {
	t.Helper()
	s, ds := Parse("p.prompty", []byte(text))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	p, err := Load(s, Options{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, ReadFile: os.ReadFile, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndCall(t *testing.T) {
	p := load(t, goodFront+"user:\n{{question}}\n", map[string]string{"AOAI_ENDPOINT": "http://127.0.0.1:1", "AOAI_KEY": "k"})
	if _, err := p.ResolveInputs(context.Background(), map[string]any{"other": 1}); err == nil || err.Error() != "Missing required inputs: ['question']" {
		t.Errorf("missing input: %v", err)
	}
	call, err := p.ResolveInputs(context.Background(), map[string]any{"question": "q", "extra": "dropped"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"question": "q", "n": 3}, call.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	conn, err := p.Connection(nil)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Values["api_base"] != "http://127.0.0.1:1" || conn.Values["api_key"] != "k" || conn.Values["api_version"] != "2024-02-01" {
		t.Errorf("connection: %v", conn.Values)
	}
	req, err := p.Request(conn, []Message{{"role": "user", "content": "q"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if req.Body["model"] != "gpt-4o" || req.Headers["ms-azure-ai-promptflow-called-from"] != "promptflow-core" || req.Body["max_tokens"] != 64 {
		t.Errorf("request: %v %v", req.Body, req.Headers)
	}
	resp := map[string]any{"choices": []any{map[string]any{"finish_reason": "stop", "message": map[string]any{"content": `{"answer": "a", "x": 1}`}}}}
	out, err := p.FormatResponse(resp)
	if diff := cmp.Diff(pyjson.Object{{Key: "answer", Value: "a"}}, out); diff != "" || err != nil {
		t.Errorf("json answer cut to outputs (-want +got):\n%s %v", diff, err)
	}
	// Without declared outputs the answer keeps the model's key order, as
	// json.loads keeps it; a tool call is the message as the client dumps
	// it, its fields in the client's order.
	p.Outputs = nil
	resp["choices"].([]any)[0].(map[string]any)["message"] = map[string]any{"content": `{"zeta": 1, "alpha": {"b": 2, "a": 1}}`}
	out, err = p.FormatResponse(resp)
	if got, _ := pyjson.Marshal(out); string(got) != `{"zeta":1,"alpha":{"b":2,"a":1}}` || err != nil {
		t.Errorf("json answer without outputs: %s %v", got, err)
	}
	p.Outputs = []string{"answer"}
	toolCall := map[string]any{"choices": []any{map[string]any{"finish_reason": "tool_calls", "message": map[string]any{
		"role": "assistant", "tool_calls": []any{}, "content": nil, "extra_b": 1, "extra_a": 2}}}}
	out, err = p.FormatResponse(toolCall)
	if o, ok := out.(pyjson.Object); !ok || err != nil || strings.Join(o.Keys(), " ") != "content refusal role annotations audio function_call tool_calls extra_a extra_b" {
		t.Errorf("tool call message: %v %v", out, err)
	}
	resp["choices"].([]any)[0].(map[string]any)["message"] = map[string]any{"content": `{"x": 1}`}
	if _, err := p.FormatResponse(resp); err == nil || !strings.Contains(err.Error(), "Cannot find answer in response") {
		t.Errorf("missing output key: %v", err)
	}
}

func TestConnectionRules(t *testing.T) {
	front := func(conf string) string {
		return "---\nmodel:\n  configuration: " + conf + "\n  parameters: {}\n---\nuser:\nx\n"
	}
	cases := []struct {
		conf    string
		env     map[string]string
		conns   map[string]map[string]string
		want    map[string]string
		wantErr string
	}{
		{conf: "{connection: c, azure_deployment: d}", conns: map[string]map[string]string{"c": {"type": "AzureOpenAI", "api_base": "b", "api_key": "k"}},
			want: map[string]string{"type": "AzureOpenAI", "api_base": "b", "api_key": "k"}},
		{conf: "{type: azure_openai, azure_deployment: d}", env: map[string]string{"AZURE_OPENAI_ENDPOINT": "e", "AZURE_OPENAI_API_KEY": "k"},
			want: map[string]string{"type": "AzureOpenAI", "api_type": "azure", "api_base": "e", "api_key": "k", "api_version": "2024-02-01"}},
		{conf: "{type: azure_openai, azure_deployment: d}", wantErr: "AZURE_OPENAI_ENDPOINT"},
		{conf: "{type: openai, model: m, api_key: '${env:K}'}", env: map[string]string{"K": "secret", "OPENAI_BASE_URL": "u"},
			want: map[string]string{"type": "OpenAI", "model": "m", "api_key": "secret", "base_url": "u"}},
		{conf: "{type: openai, model: m, api_key: '${env:UNSET}'}", wantErr: "environment variable UNSET is not set"},
	}
	for _, c := range cases {
		p := load(t, front(c.conf), c.env)
		conn, err := p.Connection(func(name string) (map[string]string, error) { return c.conns[name], nil })
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.conf, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.conf, err)
			continue
		}
		if diff := cmp.Diff(c.want, conn.Values); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.conf, diff)
		}
	}
}

func TestReferencesAndSample(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "params.json"), []byte(`{"max_tokens": 7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := Parse("p.prompty", []byte("---\nmodel:\n  configuration: {type: openai, model: m, api_key: k}\n  parameters: ${file:params.json}\nsample:\n  q: from sample\n  k: 2\n---\nuser:\n{{q}}\n"))
	p, err := Load(s, Options{ReadFile: os.ReadFile, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if p.Parameters["max_tokens"] != int64(7) {
		t.Errorf("parameters from ${file:}: %v", p.Parameters)
	}
	call, err := p.ResolveInputs(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"q": "from sample", "k": 2}, call.Inputs); diff != "" {
		t.Errorf("sample inputs (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodFront + "user:\n{{question}}\n"))
	f.Add([]byte("---\nmodel: &a [*a]\n---\n"))
	f.Add([]byte("---\ninputs: {a: {default: !!binary aGk=}}\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := Parse("f.prompty", data)
		if s == nil {
			t.Fatal("nil spec")
		}
		_, _ = Load(s, Options{})
	})
}

func TestYAMLDatesPrintAsPython(t *testing.T) {
	p := load(t, "---\nmodel:\n  configuration: {type: azure_openai, azure_deployment: d, azure_endpoint: e, api_key: k, api_version: 2024-02-01}\n  parameters: {}\n---\n", nil)
	conn, err := p.Connection(nil)
	if err != nil || conn.Values["api_version"] != "2024-02-01" {
		t.Errorf("api_version %q (%v): an unquoted date must print as promptflow's date object does", conn.Values["api_version"], err)
	}
	b, _ := json.Marshal([]Message{{"content": "c", "role": "user", "name": "n"}})
	if string(b) != `[{"role":"user","name":"n","content":"c"}]` {
		t.Errorf("message keys in promptflow's order: %s", b)
	}
}
