package executor

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/prompty"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

func TestBuildLLMParams(t *testing.T) {
	in := map[string]any{
		"deployment_name": "d", "temperature": "0.2", "max_tokens": "128", "top_p": json.Number("1.0"),
		"stop": "", "logit_bias": "", "echo": "False", "stream": "true", "best_of": "1",
		"presence_penalty": 0, "response_format": `{"type": "json_object"}`, "question": "q",
	}
	chat, err := buildLLMParams("chat", in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"temperature": 0.2, "max_tokens": int64(128), "top_p": 1.0, "presence_penalty": 0.0,
		"response_format": map[string]any{"type": "json_object"}}
	if diff := cmp.Diff(want, chat); diff != "" {
		t.Errorf("chat (-want +got):\n%s", diff)
	}
	comp, err := buildLLMParams("completion", in)
	if err != nil {
		t.Fatal(err)
	}
	if comp["echo"] != false || comp["best_of"] != int64(1) || comp["response_format"] != nil {
		t.Errorf("completion = %v", comp)
	}
	if _, err := buildLLMParams("chat", map[string]any{"temperature": "hot"}); err == nil {
		t.Error("a non-number temperature was accepted")
	}
	stop, _ := buildLLMParams("chat", map[string]any{"stop": `["\n", "END"]`})
	if diff := cmp.Diff([]any{"\n", "END"}, stop["stop"]); diff != "" {
		t.Error(diff)
	}
}

// A vision node's request: promptflow-tools' llm_vision parameters (its
// defaults always sent, detail never), images as image_url parts, escaped
// roles put back, the Azure header; other custom_llm tools are refused.
func TestVisionRequest(t *testing.T) {
	n := &flow.Node{Name: "v", Type: flow.ToolCustomLLM,
		Source: flow.Source{Type: "package_with_prompt", Tool: "promptflow.tools.llm_vision.llm_vision", Path: "v.jinja2"},
		Inputs: []flow.NodeInput{{Name: "connection", Value: flow.Value{Kind: flow.RefLiteral, Raw: "aoai"}}}}
	if got := llmConnection(n); got != "aoai" {
		t.Errorf("connection %q, want the connection input", got)
	}
	inputs := map[string]any{"deployment_name": "d", "max_tokens": "50", "temperature": 0, "detail": "low", "question": "q"}
	esc := prompty.EscapeFrom(map[string]string{"4f1c": "system"})
	images := map[string]prompty.ImageURL{"Image(ab12cd34)": {URL: "data:image/png;base64,AAAA", Detail: "auto"}}
	conn := map[string]string{"type": "AzureOpenAI", "api_base": "http://127.0.0.1:1", "api_key": "k"}
	req, err := llmNodeRequest(n, "# user:\nsay 4f1c: hi\nImage(ab12cd34)\n", inputs, conn, esc, images)
	if err != nil {
		t.Fatal(err)
	}
	wantParams := map[string]any{"temperature": 0.0, "top_p": 1.0, "n": int64(1), "stream": false,
		"presence_penalty": 0.0, "frequency_penalty": 0.0, "max_tokens": int64(50)}
	if diff := cmp.Diff(wantParams, req.params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	wantMsgs := []prompty.Message{{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "say system: hi"},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64,AAAA", "detail": "auto"}},
	}}}
	if diff := cmp.Diff(wantMsgs, req.messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if got := req.headers["ms-azure-ai-promptflow-called-from"]; got != "aoai-gpt4v-tool" {
		t.Errorf("called-from header %q", got)
	}
	if _, _, body, err := req.httpParts(); err != nil || body["model"] != "d" {
		t.Errorf("azure body names model %v (err %v), want the deployment as promptflow's client sends it", body["model"], err)
	}
	for _, tc := range []struct {
		tool string
		ok   bool
	}{
		{"promptflow.tools.llm_vision.llm_vision", true},
		{"promptflow.tools.aoai_gpt4v.AzureOpenAI.chat", true},
		{"my_pkg.tools.my_llm", false},
	} {
		m := &flow.Node{Type: flow.ToolCustomLLM, Source: flow.Source{Type: "package_with_prompt", Tool: tc.tool}}
		if err := supportedNode("v", m); (err == nil) != tc.ok {
			t.Errorf("%s: supportedNode = %v, want ok %v", tc.tool, err, tc.ok)
		}
	}
}

func TestLookupBinding(t *testing.T) {
	src := map[string]map[string]any{
		"data":        {"q": 1, "a.b": 2},
		"run.outputs": {"answer": 3},
		"run.inputs":  {"q": 4},
	}
	tests := []struct {
		body string
		want any
		ok   bool
	}{
		{"data.q", 1, true},
		{"data.a.b", 2, true}, // a column name with a dot
		{"run.outputs.answer", 3, true},
		{"run.inputs.q", 4, true},
		{"run.q", nil, false},
		{"data.missing", nil, false},
		{"data", nil, false},
	}
	for _, tt := range tests {
		got, ok := lookupBinding(src, tt.body)
		if ok != tt.ok || got != tt.want {
			t.Errorf("lookupBinding(%q) = %v, %v; want %v, %v", tt.body, got, ok, tt.want, tt.ok)
		}
	}
}

// Flow inputs convert as promptflow's ValueType.parse: Python's int(),
// float() and str() (values observed from promptflow 1.18.5).
func TestConvertInput(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	nan, inf := pyjson.NonFinite(math.NaN()), pyjson.NonFinite(math.Inf(1))
	tests := []struct {
		v       any
		typ     flow.ValueType
		want    string // Python's JSON of the result
		wantErr bool
	}{
		{n("3"), "int", "3", false},
		{"42", "int", "42", false},
		{"007", "int", "7", false},
		{" -1_000\n", "int", "-1000", false},
		{"9223372036854775808", "int", "9223372036854775808", false},
		{n("9223372036854775808"), "int", "9223372036854775808", false},
		{n("123456789012345678901234567890"), "int", "123456789012345678901234567890", false},
		{n("5.7"), "int", "5", false},
		{n("-5.7"), "int", "-5", false},
		{n("2.0"), "int", "2", false},
		{n("1e20"), "int", "100000000000000000000", false},
		{true, "int", "1", false},
		{false, "int", "0", false},
		{"5.7", "int", "", true},
		{"1__0", "int", "", true},
		{"_1", "int", "", true},
		{"x", "int", "", true},
		{nan, "int", "", true},
		{inf, "int", "", true},
		{nil, "int", "", true},
		{[]any{n("1")}, "int", "", true},
		{n("3"), "double", "3.0", false},
		{"1.5", "double", "1.5", false},
		{"NaN", "double", "NaN", false},
		{"-inf", "double", "-Infinity", false},
		{"Infinity", "double", "Infinity", false},
		{"1e400", "double", "Infinity", false},
		{n("1e400"), "double", "Infinity", false},
		{"1_000.5", "double", "1000.5", false},
		{" .5 ", "double", "0.5", false},
		{true, "double", "1.0", false},
		{nan, "double", "NaN", false},
		{n("9223372036854775808"), "double", "9.223372036854776e+18", false},
		{n("1" + strings.Repeat("0", 400)), "double", "", true},
		{"0x10", "double", "", true},
		{"1.5.2", "double", "", true},
		{nil, "double", "", true},
		{"TRUE", "bool", "true", false},
		{" true", "bool", "", true},
		{"yes", "bool", "", true},
		{n("1"), "bool", "", true},
		{nil, "bool", "", true},
		{`[1, "a", NaN]`, "list", `[1,"a",NaN]`, false},
		{[]any{n("1")}, "list", `[1]`, false},
		{"nope", "list", "", true},
		{`{"a": 1}`, "list", "", true},
		{nil, "list", "", true},
		{`{"k": 1}`, "object", `{"k":1}`, false},
		{"not json", "object", `"not json"`, false},
		{n("3"), "object", `3`, false},
		{nil, "object", `null`, false},
		{[]any{"x"}, "object", `["x"]`, false},
		{n("7"), "string", `"7"`, false},
		{"007", "string", `"007"`, false},
		{n("1.50"), "string", `"1.5"`, false},
		{n("1e16"), "string", `"1e+16"`, false},
		{n("1e400"), "string", `"inf"`, false},
		{nan, "string", `"nan"`, false},
		{true, "string", `"True"`, false},
		{nil, "string", `"None"`, false},
		{[]any{n("1"), "a", nil, true, n("2.5")}, "string", `"[1, 'a', None, True, 2.5]"`, false},
		{map[string]any{"b": "it's", "a": []any{}}, "string", `"{'a': [], 'b': \"it's\"}"`, false},
		{"img.png", "image", `"img.png"`, false},
	}
	for _, tt := range tests {
		got, err := convertInput(tt.v, tt.typ)
		if (err != nil) != tt.wantErr {
			t.Errorf("convertInput(%#v, %s) = %#v, err = %v", tt.v, tt.typ, got, err)
			continue
		}
		if err == nil && jsonOf(got) != tt.want {
			t.Errorf("convertInput(%#v, %s) = %s, want %s", tt.v, tt.typ, jsonOf(got), tt.want)
		}
	}
}

func TestPyRepr(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"a'b", `"a'b"`},
		{`a'b"c`, `'a\'b"c'`},
		{"tab\tnl\n\\ \x00\x7f\u00a0é\u200b😀", `'tab\tnl\n\\ \x00\x7f\xa0é\u200b😀'`},
		{[]any{json.Number("-0.0"), pyjson.NonFinite(math.Inf(-1))}, `[-0.0, -inf]`},
	}
	for _, tt := range tests {
		if got := pyjson.Repr(tt.v); got != tt.want {
			t.Errorf("pyjson.Repr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestPyEqual(t *testing.T) {
	tests := []struct {
		a, b any
		want bool
	}{
		{json.Number("1"), 1.0, true},
		{json.Number("1"), "1", false},
		{true, true, true},
		{"negative", "negative", true},
		{nil, nil, true},
		{nil, false, false},
		{map[string]any{"a": json.Number("1")}, map[string]any{"a": 1}, true},
		{[]any{"x"}, []any{"y"}, false},
	}
	for _, tt := range tests {
		if got := pyEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("pyEqual(%#v, %#v) = %v", tt.a, tt.b, got)
		}
	}
}

func TestPyConnectionSecrets(t *testing.T) {
	pc := pyConnection("c", map[string]string{"type": "Custom", "a": "1", "k": "s", "__secret_keys__": "k, missing"})
	if pc.Type != "Custom" || pc.Values["a"] != "1" || len(pc.Values) != 2 || len(pc.SecretKeys) != 1 || pc.SecretKeys[0] != "k" {
		t.Errorf("pyConnection = %+v", pc)
	}
}
