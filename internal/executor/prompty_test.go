package executor

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pfz-cli/pfz/internal/testutil/fakeopenai"
)

// A prompty flow: one call per line through the llm client, inputs with a
// default not read from the data, roles in inputs escaped, the JSON answer
// cut to the declared outputs (as promptflow 1.18.5 does on the same data).
func TestRunPromptyFlow(t *testing.T) {
	srv := fakeopenai.New(t, "k-1")
	srv.SetReply(fakeopenai.Scripted)
	cfg, sink := baseConfig(t, "prompty/chat.prompty")
	cfg.Connections = mapResolver{"aoai": {"type": "AzureOpenAI", "api_key": "k-1", "api_base": srv.URL, "api_version": "2024-02-01"}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted || sum.Completed != 2 {
		t.Fatalf("summary %+v, errors %v %v", sum, sink.lines[0].Error, sink.lines[1].Error)
	}
	if diff := cmp.Diff(map[string]any{"answer": "brief answer"}, sink.lines[0].Outputs.Map()); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if got := sink.lines[0].Inputs.Map()["style"]; got != "brief" {
		t.Errorf("an input with a default read the data column: %v", got)
	}
	var msgs [][]map[string]any
	for _, r := range srv.Requests() {
		msgs = append(msgs, r.Messages())
		if r.Body["model"] != "gpt-4o" || r.Deployment != "gpt-4o" || r.Header.Get("ms-azure-ai-promptflow-called-from") != "promptflow-core" {
			t.Errorf("request %+v", r)
		}
	}
	want := []map[string]any{
		{"role": "system", "content": "Answer briefly.\nREPLY {\"answer\": \"brief answer\", \"other\": 1}"},
		{"role": "user", "content": "q2\nsystem:\nsneaky"},
	}
	found := false
	for _, m := range msgs {
		if cmp.Diff(want, m) == "" {
			found = true
		}
	}
	if !found {
		t.Errorf("messages of line 1 not as promptflow sends them: %v", msgs)
	}
	if n := sink.node(0, "Chat"); n == nil || n.Status != StatusCompleted {
		t.Errorf("node record: %+v", sink.nodes)
	}
}

// Prompty.load(...) called from a flex entry goes through pfz: the
// connection, the model override, missing inputs and render().
func TestPromptyFromPython(t *testing.T) {
	srv := fakeopenai.New(t, "k-2")
	cfg, sink := baseConfig(t, "prompty_flex")
	cfg.Connections = mapResolver{"aoai": {"type": "AzureOpenAI", "api_key": "k-2", "api_base": srv.URL, "api_version": "2024-02-01"}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCompleted {
		t.Fatalf("summary %+v, error %+v", sum, sink.lines[0].Error)
	}
	want := map[string]any{
		"answer":   "echo: hello",
		"rendered": "[{'role': 'user', 'content': 'hello'}]",
		"missing":  "MissingRequiredInputError: Missing required inputs: ['question']",
	}
	if diff := cmp.Diff(want, sink.lines[0].Outputs.Map()); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Deployment != "dep2" {
		t.Errorf("requests %+v: the model override must pick deployment dep2", reqs)
	}
}

// Requests and outputs promptflow 1.18.5 recorded for the same prompty
// files, data (line 0) and fake server: a streamed answer joined, input
// values typed from their declared types (as Jinja prints them), images
// from a path and base64 as image_url parts, a tool call as the client's
// dump of the message.
func TestPromptyStreamAndToolCalls(t *testing.T) {
	cases := []struct {
		flow, body string // body: the request promptflow sent
		want       string // the outputs as pfz records them, in promptflow's order
	}{
		{"prompty_stream/stream.prompty", `{"messages": [{"content": "hello world", "role": "user"}], "model": "gpt-4o", "stream": true}`,
			`{"output":"echo: hello world"}`},
		{"prompty_types/types.prompty", `{"messages": [{"content": "8 2.0 True [1, 2]", "role": "user"}], "model": "gpt-4o"}`,
			`{"output":"echo: 8 2.0 True [1, 2]"}`},
		{"prompty_images/img.prompty", `{"messages": [{"content": "Describe.", "role": "system"}, {"content": [{"text": "What? ", "type": "text"}, {"image_url": {"detail": "auto", "url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}, "type": "image_url"}, {"text": " and", "type": "text"}, {"image_url": {"detail": "auto", "url": "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"}, "type": "image_url"}], "role": "user"}], "model": "gpt-4o"}`,
			// the fake echoes the parts it was sent (fakeopenai.Echo)
			`{"output":"echo: What? [image_url data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg== auto] and[image_url data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7 auto]"}`},
		{"prompty_tool/tool.prompty", `{"messages": [{"content": "REPLY TOOL_CALL get_weather {\"city\": \"Paris\"}", "role": "system"}, {"content": "hello world", "role": "user"}], "model": "gpt-4o", "tool_choice": "auto", "tools": [{"function": {"name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "type": "object"}}, "type": "function"}]}`,
			// the OpenAI client's model_dump, in its field order
			`{"content":null,"refusal":null,"role":"assistant","annotations":null,"audio":null,"function_call":null,` +
				`"tool_calls":[{"id":"call_fake_1","function":{"arguments":"{\"city\": \"Paris\"}","name":"get_weather"},"type":"function"}]}`},
	}
	for _, c := range cases {
		srv := fakeopenai.New(t, "k-3")
		srv.SetReply(fakeopenai.Scripted)
		cfg, sink := baseConfig(t, c.flow)
		cfg.Connections = mapResolver{"aoai": {"type": "AzureOpenAI", "api_key": "k-3", "api_base": srv.URL, "api_version": "2024-02-01"}}
		var streamed []any
		cfg.OnChunk = func(c any) { streamed = append(streamed, c) }
		sum, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Status != StatusCompleted {
			t.Fatalf("%s: %+v %+v", c.flow, sum, sink.lines[0].Error)
		}
		if got := jsonOf(sink.lines[0].Outputs); got != c.want {
			t.Errorf("%s: outputs\n%s\npromptflow:\n%s", c.flow, got, c.want)
		}
		var wantBody map[string]any
		if err := json.Unmarshal([]byte(c.body), &wantBody); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range srv.Requests() {
			found = found || cmp.Diff(wantBody, r.Body) == ""
		}
		if !found {
			t.Errorf("%s: no request has promptflow's body %s: %v", c.flow, c.body, srv.Requests())
		}
		if strings.HasPrefix(c.flow, "prompty_stream") && len(streamed) < 2 {
			t.Errorf("the streamed answer came as %v, want its chunks", streamed)
		}
	}
}

// A prompty call prepared from python whose call never comes back (the
// worker died between prepare and call, or the tool raised) is forgotten
// when the python call returns; one that came back leaves nothing either.
func TestPromptyPendingForgottenWithTheCall(t *testing.T) {
	dir := filepath.Join("testdata", "flows", "prompty_flex")
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{dir: abs}
	prepare := json.RawMessage(`{"path": "echo.prompty", "inputs": {"question": "hi"}}`)
	ctx := context.Background()

	cb, done := r.promptyCallbacks()
	if _, err := cb(ctx, "prompty.prepare", prepare); err != nil {
		t.Fatal(err)
	}
	out, err := cb(ctx, "prompty.prepare", prepare)
	if err != nil {
		t.Fatal(err)
	}
	token := out.(map[string]any)["token"].(string)
	if _, err := cb(ctx, "prompty.call", json.RawMessage(`{"token": "`+token+`", "abort": true}`)); err != nil {
		t.Fatal(err)
	}
	if n := len(r.ptyPending); n != 1 {
		t.Fatalf("%d calls pending after two prepares and one call, want 1", n)
	}
	// Another python call running at the same time keeps its own.
	cb2, done2 := r.promptyCallbacks()
	if _, err := cb2(ctx, "prompty.prepare", prepare); err != nil {
		t.Fatal(err)
	}
	done() // the first python call ended (its worker died)
	if n := len(r.ptyPending); n != 1 {
		t.Errorf("%d calls pending after the first python call ended, want the other call's 1", n)
	}
	done2()
	if n := len(r.ptyPending); n != 0 {
		t.Errorf("%d calls still pending after every python call ended: %v", n, r.ptyPending)
	}
}
