package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/prompty"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// llm tool parameters and how their (often string) values are typed.
var llmParamKinds = map[string]string{
	"temperature": "float", "top_p": "float", "n": "int", "max_tokens": "int",
	"presence_penalty": "float", "frequency_penalty": "float", "seed": "int",
	"logprobs": "int", "best_of": "int", "echo": "bool", "stream": "bool",
	"stop": "stop", "logit_bias": "json", "user": "string", "suffix": "string",
	"functions": "json", "function_call": "json", "tools": "json", "tool_choice": "json",
	"response_format": "json",
}

var chatOnly = map[string]bool{"functions": true, "function_call": true, "tools": true, "tool_choice": true, "response_format": true, "seed": true}
var completionOnly = map[string]bool{"suffix": true, "logprobs": true, "echo": true, "best_of": true}

// isLLMParam reports whether a node input is a parameter of the llm tool
// rather than a template variable.
func isLLMParam(name string) bool {
	if _, ok := llmParamKinds[name]; ok {
		return true
	}
	switch name {
	case "deployment_name", "model", "connection", "prompt":
		return true
	}
	return false
}

type llmRequest struct {
	api        string // chat | completion
	conn       map[string]string
	connName   string
	deployment string
	model      string
	params     map[string]any // already typed
	messages   []prompty.Message
	prompt     string
	// body, when set, is the whole request body (a prompty's: parameters,
	// model, messages or prompt), sent as is; headers and query are added to
	// the request; raw returns the decoded response instead of its text.
	body    map[string]any
	headers map[string]string
	query   map[string]string
	raw     bool
	// onChunk receives each chunk of a streamed answer (stream: true) as it
	// arrives.
	onChunk func(any)
	// usage is the token counts of the answer, set by output.
	usage *TokenUsage
}

// TokenUsage is what a model call used, as the endpoint reported it.
type TokenUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// llmError is an error answered by the model endpoint (or reaching it).
type llmError struct {
	status int
	msg    string
	hint   string
}

func (e *llmError) Error() string {
	if e.status == 0 {
		return e.msg
	}
	return fmt.Sprintf("the model endpoint answered %d: %s", e.status, e.msg)
}

func connType(conn map[string]string) string {
	t := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(conn["type"], "Connection"), "connection"))
	t = strings.ReplaceAll(t, "_", "")
	if t == "" && strings.EqualFold(conn["api_type"], "azure") {
		return "azureopenai"
	}
	return t
}

// buildLLMParams types the llm tool parameters of a node's resolved inputs.
func buildLLMParams(api string, inputs map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for name, v := range inputs {
		kind, ok := llmParamKinds[name]
		if !ok || name == "stream" {
			continue
		}
		if (api == "chat" && completionOnly[name]) || (api == "completion" && chatOnly[name]) {
			continue
		}
		tv, keep, err := typeParam(kind, v)
		if err != nil {
			return nil, fmt.Errorf("llm parameter %s: %w", name, err)
		}
		if keep {
			out[name] = tv
		}
	}
	return out, nil
}

func typeParam(kind string, v any) (any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	s, isStr := v.(string)
	if isStr && strings.TrimSpace(s) == "" {
		return nil, false, nil // promptflow flows write unset parameters as ''
	}
	switch kind {
	case "float", "int":
		var text string
		switch x := v.(type) {
		case string:
			text = strings.TrimSpace(x)
		case json.Number:
			text = string(x)
		case float64:
			text = strconv.FormatFloat(x, 'f', -1, 64)
		case int:
			text = strconv.Itoa(x)
		case int64:
			text = strconv.FormatInt(x, 10)
		default:
			return nil, false, fmt.Errorf("want a number, got %T", v)
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, false, fmt.Errorf("want a number, got %q", text)
		}
		if kind == "int" {
			return int64(f), true, nil
		}
		return f, true, nil
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, true, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, false, fmt.Errorf("want true or false, got %q", x)
			}
			return b, true, nil
		}
		return nil, false, fmt.Errorf("want true or false, got %T", v)
	case "stop":
		if isStr {
			var list []any
			if json.Unmarshal([]byte(s), &list) == nil {
				return list, true, nil
			}
			return []any{s}, true, nil
		}
		return v, true, nil
	case "json":
		if isStr {
			var x any
			if err := json.Unmarshal([]byte(s), &x); err == nil {
				return x, true, nil
			}
		}
		return v, true, nil
	}
	return v, true, nil
}

// callLLM sends one chat or completion request, retrying throttling and
// server errors with backoff while ctx allows.
func callLLM(ctx context.Context, client *http.Client, req *llmRequest) (any, error) {
	endpoint, header, body, err := req.httpParts()
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	const maxTries = 6
	delay := time.Second
	for try := 1; ; try++ {
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		hreq.Header = header.Clone()
		resp, err := client.Do(hreq)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if try >= maxTries {
				return nil, &llmError{msg: "cannot reach the model endpoint: " + redactURL(err.Error()),
					hint: "check api_base/base_url of connection " + req.connName}
			}
			wait = delay
		} else {
			if resp.StatusCode == http.StatusOK && req.raw && req.body["stream"] == true {
				// A streamed answer is read as it arrives, each chunk handed on.
				chunks, err := readSSE(resp.Body, req.onChunk)
				resp.Body.Close()
				return chunks, err
			}
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return req.output(data)
			}
			retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
			if !retryable || try >= maxTries {
				return nil, req.apiError(resp.StatusCode, data)
			}
			wait = retryAfter(resp.Header, delay)
		}
		delay = min(delay*2, 30*time.Second)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func retryAfter(h http.Header, def time.Duration) time.Duration {
	if ms := h.Get("retry-after-ms"); ms != "" {
		if n, err := strconv.Atoi(ms); err == nil && n >= 0 {
			return min(time.Duration(n)*time.Millisecond, time.Minute)
		}
	}
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return min(time.Duration(n)*time.Second, time.Minute)
		}
	}
	return def
}

func redactURL(s string) string {
	// Errors from net/http quote the URL; the query of an Azure URL holds no
	// secret, but keep messages short and stable.
	if i := strings.Index(s, "?api-version="); i >= 0 {
		j := strings.IndexAny(s[i:], "\": ")
		if j > 0 {
			return s[:i] + s[i+j:]
		}
	}
	return s
}

func (r *llmRequest) httpParts() (string, http.Header, map[string]any, error) {
	body := map[string]any{}
	for k, v := range r.params {
		body[k] = v
	}
	if r.api == "chat" {
		body["messages"] = r.messages
	} else {
		body["prompt"] = r.prompt
	}
	if r.body != nil {
		body = r.body
	}
	h := http.Header{}
	for k, v := range r.headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	op := "/chat/completions"
	if r.api == "completion" {
		op = "/completions"
	}
	switch connType(r.conn) {
	case "azureopenai":
		base := strings.TrimRight(r.conn["api_base"], "/")
		if base == "" {
			return "", nil, nil, &llmError{msg: fmt.Sprintf("connection %s has no api_base", r.connName),
				hint: "set api_base of the connection to https://<resource>.openai.azure.com/"}
		}
		if r.deployment == "" {
			return "", nil, nil, &llmError{msg: "the llm node has no deployment_name",
				hint: "add deployment_name to the node's inputs (the Azure OpenAI deployment to call)"}
		}
		if strings.EqualFold(r.conn["auth_mode"], "meid_token") && r.conn["api_key"] == "" {
			return "", nil, nil, &llmError{msg: fmt.Sprintf("connection %s uses Microsoft Entra ID authentication, which local runs do not support yet", r.connName),
				hint: "give the connection an api_key for local runs"}
		}
		version := r.conn["api_version"]
		if version == "" {
			version = "2024-02-01"
		}
		h.Set("api-key", r.conn["api_key"])
		if r.body == nil {
			// promptflow's client names the deployment in the body too
			body["model"] = r.deployment
		}
		return base + "/openai/deployments/" + url.PathEscape(r.deployment) + op + "?api-version=" + url.QueryEscape(version) + r.extraQuery("&"), h, body, nil
	case "openai":
		base := strings.TrimRight(r.conn["base_url"], "/")
		if base == "" {
			base = strings.TrimRight(r.conn["api_base"], "/")
		}
		if base == "" {
			base = "https://api.openai.com/v1"
		}
		model := r.model
		if model == "" {
			model = r.deployment
		}
		if model == "" {
			return "", nil, nil, &llmError{msg: "the llm node has no model", hint: "add model to the node's inputs, for example gpt-4o-mini"}
		}
		body["model"] = model
		h.Set("Authorization", "Bearer "+r.conn["api_key"])
		if org := r.conn["organization"]; org != "" {
			h.Set("OpenAI-Organization", org)
		}
		return base + op + r.extraQuery("?"), h, body, nil
	}
	return "", nil, nil, &llmError{msg: fmt.Sprintf("Connection type %s is not supported for LLM.", r.conn["type"]),
		hint: "use an AzureOpenAI or OpenAI connection for llm nodes"}
}

func (r *llmRequest) extraQuery(sep string) string {
	if len(r.query) == 0 {
		return ""
	}
	q := url.Values{}
	for k, v := range r.query {
		q.Set(k, v)
	}
	return sep + q.Encode()
}

func (r *llmRequest) apiError(status int, data []byte) error {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	}
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	le := &llmError{status: status, msg: msg}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		le.hint = "check the api_key of connection " + r.connName
	case http.StatusNotFound:
		le.hint = "check api_base, api_version and the deployment name (" + r.deployment + ")"
	case http.StatusTooManyRequests:
		le.hint = "the deployment is throttled; lower the run's concurrency or raise the quota"
	}
	return le
}

func (r *llmRequest) output(data []byte) (any, error) {
	if r.raw {
		v, err := decodeJSON(data)
		if err != nil {
			return nil, &llmError{msg: "the model endpoint sent a response that is not JSON: " + err.Error()}
		}
		var u struct {
			Usage *TokenUsage `json:"usage"`
		}
		if json.Unmarshal(data, &u) == nil {
			r.usage = u.Usage
		}
		return v, nil
	}
	var resp struct {
		Choices []struct {
			Text    string         `json:"text"`
			Message map[string]any `json:"message"`
		} `json:"choices"`
		Usage *TokenUsage `json:"usage"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, &llmError{msg: "the model endpoint sent a response that is not JSON: " + err.Error()}
	}
	r.usage = resp.Usage
	if len(resp.Choices) == 0 {
		return nil, &llmError{msg: "the model endpoint sent no choices"}
	}
	if r.api == "completion" {
		return resp.Choices[0].Text, nil
	}
	m := resp.Choices[0].Message
	// As promptflow-tools' post_process_chat_api_response: the whole message
	// (as the OpenAI client dumps it) when the request gave functions or
	// tools, whatever the model answered; else the content.
	if truthy(r.params["functions"]) || truthy(r.params["tools"]) {
		return prompty.DumpedMessage(m), nil
	}
	c, _ := m["content"].(string)
	return c, nil
}

// truthy is Python's bool() of a request parameter: a list or dict that
// is not empty, any other value that is not None.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case pyjson.Object:
		return len(x) > 0
	case string:
		return x != ""
	}
	return true
}

// visionTools are the custom_llm tools of promptflow-tools that send the
// images of a chat prompt to the model (promptflow's llm tool does not).
var visionTools = map[string]bool{
	"promptflow.tools.llm_vision.llm_vision":       true,
	"promptflow.tools.openai_gpt4v.OpenAI.chat":    true,
	"promptflow.tools.aoai_gpt4v.AzureOpenAI.chat": true,
}

// isVision reports whether n is a vision node (a custom_llm node of one of
// visionTools).
func isVision(n *flow.Node) bool {
	return n.Type == flow.ToolCustomLLM && visionTools[n.Source.Tool]
}

// llmConnection names the connection of an llm node (its connection:) or of
// a vision node (its `connection` input).
func llmConnection(n *flow.Node) string {
	if n.Connection != "" || n.Type != flow.ToolCustomLLM {
		return n.Connection
	}
	for _, in := range n.Inputs {
		if in.Name == "connection" {
			if v := refOf(in.Value); v.Kind == flow.RefLiteral {
				s, _ := v.Raw.(string)
				return s
			}
		}
	}
	return ""
}

// visionParams are the parameters promptflow's vision tools send: the
// sampling ones always (their defaults: temperature and top_p 1, penalties
// 0, n 1, no stream), stop, max_tokens and seed when given; detail is not
// sent on (promptflow-tools passes it where it is never read: every image
// part says "auto").
func visionParams(inputs map[string]any) (map[string]any, error) {
	out := map[string]any{"temperature": 1.0, "top_p": 1.0, "n": int64(1), "stream": false,
		"presence_penalty": 0.0, "frequency_penalty": 0.0}
	for _, name := range []string{"temperature", "top_p", "presence_penalty", "frequency_penalty", "stop", "max_tokens", "seed"} {
		v, ok := inputs[name]
		if !ok {
			continue
		}
		tv, keep, err := typeParam(llmParamKinds[name], v)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		if keep {
			out[name] = tv
		}
	}
	return out, nil
}

// llmNodeRequest prepares the request of an llm or vision node from its
// rendered template and resolved inputs. A chat prompt is split into
// messages as promptflow's parse_chat does (prompty.ParseChat: one parser
// for llm nodes and prompty): esc puts the escaped role words back, images
// maps each image's printed form to its image_url part (vision).
func llmNodeRequest(n *flow.Node, rendered string, inputs map[string]any, conn map[string]string, esc *prompty.Escape, images map[string]prompty.ImageURL) (*llmRequest, error) {
	api := n.API
	if api == "" || isVision(n) {
		api = "chat"
	}
	if api != "chat" && api != "completion" {
		return nil, fmt.Errorf("llm api %q is not supported; use chat or completion", api)
	}
	var params map[string]any
	var err error
	if isVision(n) {
		params, err = visionParams(inputs)
	} else {
		params, err = buildLLMParams(api, inputs)
	}
	if err != nil {
		return nil, err
	}
	req := &llmRequest{api: api, conn: conn, connName: llmConnection(n), params: params}
	req.deployment, _ = inputs["deployment_name"].(string)
	req.model, _ = inputs["model"].(string)
	if connType(conn) == "azureopenai" {
		// as promptflow's tools tell Azure OpenAI where a call comes from
		from := "aoai-tool"
		if isVision(n) {
			from = "aoai-gpt4v-tool"
		}
		req.headers = map[string]string{"ms-azure-ai-promptflow-called-from": from}
	}
	if api == "chat" {
		msgs, err := prompty.ParseChat(rendered, images, esc)
		if err != nil {
			return nil, err
		}
		req.messages = msgs
	} else {
		req.prompt = rendered
	}
	return req, nil
}

// readSSE reads a streamed answer (server-sent events): the JSON of each
// data: line up to [DONE], each handed to onChunk (when set) as it arrives.
func readSSE(r io.Reader, onChunk func(any)) ([]any, error) {
	chunks := []any{}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<20))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		payload, ok := strings.CutPrefix(strings.TrimRight(sc.Text(), "\r"), "data:")
		if !ok {
			continue
		}
		payload = strings.TrimSpace(payload)
		if payload == "[DONE]" {
			return chunks, nil
		}
		v, err := decodeJSON([]byte(payload))
		if err != nil {
			return nil, &llmError{msg: "the model endpoint streamed an event that is not JSON: " + err.Error()}
		}
		chunks = append(chunks, v)
		if onChunk != nil {
			onChunk(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &llmError{msg: "the model endpoint's stream broke off: " + err.Error()}
	}
	return chunks, nil
}
