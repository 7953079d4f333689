package prompty

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Connection is the model endpoint a call goes to, in the shape of pfz's
// connection values: "type" (AzureOpenAI | OpenAI), "api_key", "api_base",
// "api_version", "base_url", "organization".
type Connection struct {
	Name   string // the connection's name, when one is named
	Values map[string]string
}

// ConnectionFunc looks up a pfz connection by name.
type ConnectionFunc func(name string) (map[string]string, error)

// Connection resolves model.configuration as promptflow does: a named
// connection (its own type wins), or the configuration's values with
// ${env:…} read, or, when it gives nothing but the deployment or model,
// the AZURE_OPENAI_* / OPENAI_* environment variables.
func (p *Prompty) Connection(lookup ConnectionFunc) (*Connection, error) {
	cfg := p.Configuration
	if name, _ := cfg["connection"].(string); name != "" {
		if lookup == nil {
			return nil, userErr("CoreError", "connection %s cannot be resolved here", name)
		}
		vals, err := lookup(name)
		if err != nil {
			return nil, err
		}
		c := &Connection{Name: name, Values: map[string]string{}}
		for k, v := range vals {
			c.Values[k] = v
		}
		switch connKind(vals["type"]) {
		case "azure", "openai":
		default:
			return nil, userErr("UnknownConnectionType", "Not Support connection type %s for embedding api. Connection type should be in [AzureOpenAI, OpenAI].", vals["type"])
		}
		return c, nil
	}
	typ, _ := cfg["type"].(string)
	vals := map[string]string{}
	for k, v := range cfg {
		if k == "type" || v == nil {
			continue
		}
		s := textOf(v)
		if m := envRE.FindStringSubmatch(s); m != nil {
			if ev, ok := p.opts.Getenv(m[1]); ok {
				s = ev
			} else {
				return nil, userErr("UserErrorException", "model.configuration.%s is %s, but the environment variable %s is not set", k, s, m[1])
			}
		}
		vals[k] = s
	}
	empty := true
	for k, v := range vals {
		if k != "azure_deployment" && k != "model" && v != "" {
			empty = false
		}
	}
	getenv := func(k string) string { v, _ := p.opts.Getenv(k); return v }
	switch connKind(typ) {
	case "azure":
		c := &Connection{Values: map[string]string{"type": "AzureOpenAI", "api_type": "azure", "api_version": "2024-02-01"}}
		if empty {
			base, okb := p.opts.Getenv("AZURE_OPENAI_ENDPOINT")
			key, okk := p.opts.Getenv("AZURE_OPENAI_API_KEY")
			if !okb || !okk {
				return nil, userErr("RequiredEnvironmentVariablesNotSetError", "Required environment variables ['AZURE_OPENAI_ENDPOINT', 'AZURE_OPENAI_API_KEY'] to build AzureOpenAIConnection not set.")
			}
			c.Values["api_base"], c.Values["api_key"] = base, key
			if v := getenv("OPENAI_API_VERSION"); v != "" {
				c.Values["api_version"] = v
			}
			return c, nil
		}
		for k, v := range vals {
			c.Values[k] = v
		}
		if _, ok := vals["api_base"]; !ok {
			c.Values["api_base"] = vals["azure_endpoint"]
		}
		if c.Values["api_base"] == "" {
			return nil, userErr("TypeError", "AzureOpenAIConnection needs api_base: set model.configuration.azure_endpoint")
		}
		return c, nil
	case "openai":
		c := &Connection{Values: map[string]string{"type": "OpenAI"}}
		if empty {
			key, ok := p.opts.Getenv("OPENAI_API_KEY")
			if !ok {
				return nil, userErr("RequiredEnvironmentVariablesNotSetError", "Required environment variables ['OPENAI_API_KEY'] to build OpenAIConnection not set.")
			}
			c.Values["api_key"] = key
			c.Values["base_url"] = getenv("OPENAI_BASE_URL")
			c.Values["organization"] = getenv("OPENAI_ORG_ID")
			return c, nil
		}
		for k, v := range vals {
			c.Values[k] = v
		}
		if b := c.Values["base_url"]; b == "" || b == "_" {
			c.Values["base_url"] = getenv("OPENAI_BASE_URL")
		}
		if _, ok := vals["api_key"]; !ok {
			return nil, userErr("TypeError", "OpenAIConnection.__init__() missing 1 required positional argument: 'api_key'")
		}
		return c, nil
	}
	return nil, userErr("UnknownConnectionType", "Not Support connection type %s for embedding api. Connection type should be in [AzureOpenAI, OpenAI].", pyRepr(typ))
}

func pyRepr(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// connKind folds the spellings of the two connection types.
func connKind(t string) string {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(t, "Connection"), "_", "")) {
	case "azureopenai":
		return "azure"
	case "openai":
		return "openai"
	}
	return ""
}

var envRE = regexpMust(`^\$\{env:(.*)\}$`)

// Request is what a call sends: the JSON body (parameters, model, messages
// or prompt) and the extra headers.
type Request struct {
	API     string
	Body    map[string]any
	Headers map[string]string
	// Query holds extra_query parameters.
	Query map[string]string
}

// Request builds the call's request as promptflow's
// prepare_open_ai_request_params and the OpenAI client do. messages is
// []Message for chat, prompt the rendered text for completion.
func (p *Prompty) Request(conn *Connection, messages []Message, prompt string) (*Request, error) {
	r := &Request{API: p.API, Body: map[string]any{}, Headers: map[string]string{}, Query: map[string]string{}}
	for k, v := range p.Parameters {
		switch k {
		case "extra_headers":
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				return nil, userErr("TypeError", "extra_headers must be a mapping")
			}
			for hk, hv := range m {
				r.Headers[hk] = textOf(hv)
			}
		case "extra_query":
			m, _ := v.(map[string]any)
			for qk, qv := range m {
				r.Query[qk] = textOf(qv)
			}
		case "extra_body", "timeout":
		default:
			r.Body[k] = v
		}
	}
	if connKind(conn.Values["type"]) == "azure" {
		r.Headers["ms-azure-ai-promptflow-called-from"] = "promptflow-core"
	}
	if p.Model != "" {
		r.Body["model"] = p.Model
	}
	if p.API == "completion" {
		r.Body["prompt"] = prompt
	} else {
		r.Body["messages"] = messages
	}
	if tools, ok := p.Parameters["tools"]; ok {
		if err := validateTools(tools); err != nil {
			return nil, err
		}
		tc, err := validateChoice(p.Parameters["tool_choice"], "tool_choice")
		if err != nil {
			return nil, err
		}
		r.Body["tool_choice"] = tc
	} else if fns, ok := p.Parameters["functions"]; ok {
		if l, ok := fns.([]any); !ok || len(l) == 0 {
			return nil, userErr("ChatAPIInvalidFunctions", "functions cannot be an empty list.")
		}
		fc, err := validateChoice(p.Parameters["function_call"], "function_call")
		if err != nil {
			return nil, err
		}
		r.Body["function_call"] = fc
	}
	if eb, ok := p.Parameters["extra_body"].(map[string]any); ok {
		for k, v := range eb {
			r.Body[k] = v
		}
	}
	return r, nil
}

func validateTools(v any) error {
	tools, ok := v.([]any)
	if !ok || len(tools) == 0 {
		return userErr("ChatAPIInvalidTools", "tools cannot be an empty list.")
	}
	for i, t := range tools {
		m, ok := t.(map[string]any)
		if !ok {
			return userErr("ChatAPIInvalidTools", "tool %d '%v' is not a dict.", i, t)
		}
		for _, key := range []string{"type", "function"} {
			if _, ok := m[key]; !ok {
				return userErr("ChatAPIInvalidTools", "tool %d does not have '%s' property.", i, key)
			}
		}
		fn, ok := m["function"].(map[string]any)
		if !ok {
			return userErr("ChatAPIInvalidTools", "function %d is not a dict.", i)
		}
		for _, key := range []string{"name", "parameters"} {
			if _, ok := fn[key]; !ok {
				return userErr("ChatAPIInvalidTools", "function %d does not have '%s' property.", i, key)
			}
		}
		params, ok := fn["parameters"].(map[string]any)
		if !ok {
			return userErr("ChatAPIInvalidTools", "function %d parameters should be described as a JSON Schema object.", i)
		}
		for _, key := range []string{"type", "properties"} {
			if _, ok := params[key]; !ok {
				return userErr("ChatAPIInvalidTools", "function %d parameters does not have '%s' property.", i, key)
			}
		}
		if params["type"] != "object" {
			return userErr("ChatAPIInvalidTools", "function %d parameters 'type' should be 'object'.", i)
		}
	}
	return nil
}

func validateChoice(v any, what string) (any, error) {
	switch x := v.(type) {
	case nil:
		return "auto", nil
	case string:
		if x == "auto" || x == "none" {
			return x, nil
		}
	case map[string]any:
		return x, nil
	}
	return nil, userErr("ChatAPIInvalidTools", "%s parameter '%v' must be a dict, but not %T.", what, v, v)
}

// FormatResponse turns the model's answer into the prompty's output as
// promptflow's format_llm_response does. resp is the response JSON, or the
// list of chunk JSONs of a streamed answer (stream: true). With response
// all: the whole response (the chunks of a streamed one). Otherwise the
// first choice's text or content (the whole message, as the OpenAI client
// dumps it, when it ends in a tool call; a streamed answer joined), parsed
// as JSON with response_format json_object and cut to the declared
// outputs.
func (p *Prompty) FormatResponse(resp any) (any, error) {
	if p.Response == "all" {
		return resp, nil
	}
	if chunks, ok := resp.([]any); ok {
		return p.formatChoice(joinStream(chunks))
	}
	m, _ := resp.(map[string]any)
	choices, _ := m["choices"].([]any)
	if len(choices) == 0 {
		return nil, userErr("IndexError", "list index out of range (the model answered no choices)")
	}
	first, _ := choices[0].(map[string]any)
	var content any
	if p.API == "completion" {
		content = first["text"]
	} else {
		msg, _ := first["message"].(map[string]any)
		switch first["finish_reason"] {
		case "tool_calls", "function_calls":
			return DumpedMessage(msg), nil
		}
		content = msg["content"]
	}
	return p.formatChoice(content)
}

// DumpedMessage is a chat message as promptflow returns it, the OpenAI
// Python client's model_dump: the client's fields in its order (absent ones
// null), a tool or function call's fields in theirs, then any extra fields
// the server sent (sorted: their order in the answer is not kept).
func DumpedMessage(msg map[string]any) pyjson.Object {
	out := dumped(msg, "content", "refusal", "role", "annotations", "audio", "function_call", "tool_calls")
	for i, m := range out {
		switch m.Key {
		case "function_call":
			if f, ok := m.Value.(map[string]any); ok {
				out[i].Value = dumped(f, "arguments", "name")
			}
		case "tool_calls":
			calls, ok := m.Value.([]any)
			if !ok {
				continue
			}
			dump := make([]any, len(calls))
			for j, c := range calls {
				dump[j] = c
				if cm, ok := c.(map[string]any); ok {
					call := dumped(cm, "id", "function", "type")
					if f, ok := cm["function"].(map[string]any); ok {
						call[1].Value = dumped(f, "arguments", "name")
					}
					dump[j] = call
				}
			}
			out[i].Value = dump
		}
	}
	return out
}

// dumped is m with the fields first, in their order (null when absent),
// then m's other keys, sorted.
func dumped(m map[string]any, fields ...string) pyjson.Object {
	out := make(pyjson.Object, 0, len(fields)+len(m))
	for _, k := range fields {
		out = append(out, pyjson.Member{Key: k, Value: m[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(fields, k) {
			out = append(out, pyjson.Member{Key: k, Value: m[k]})
		}
	}
	return out
}

// joinStream joins a streamed chat answer as promptflow's format_stream:
// the content deltas of the first choice index that has content, up to the
// first chunk of another index.
func joinStream(chunks []any) string {
	return strings.Join(StreamTexts(chunks), "")
}

// Streaming reports whether the prompty's answer streams in chunks that a
// caller receives one by one (stream: true, response first, text format).
func (p *Prompty) Streaming() bool {
	return p.Parameters["stream"] == true && p.Response != "all" && !p.JSONFormat()
}

// StreamTexts are the texts a streamed answer yields, as promptflow's
// format_stream yields them (a streamed completion's text too, where
// promptflow fails).
func StreamTexts(chunks []any) []string {
	var out []string
	var st Stream
	for _, c := range chunks {
		if t, ok := st.Text(c); ok {
			out = append(out, t)
		}
	}
	return out
}

// Stream follows a streamed answer chunk by chunk: the content deltas of
// the first choice index that has content, up to the first chunk of
// another index.
type Stream struct {
	cur           any
	started, done bool
}

// Text is the text a chunk adds; ok is false when it adds none.
func (s *Stream) Text(chunk any) (string, bool) {
	m, _ := chunk.(map[string]any)
	choices, _ := m["choices"].([]any)
	if s.done || len(choices) == 0 {
		return "", false
	}
	ch, _ := choices[0].(map[string]any)
	delta, _ := ch["delta"].(map[string]any)
	text, _ := delta["content"].(string)
	if delta == nil {
		text, _ = ch["text"].(string)
	}
	if text == "" {
		return "", false
	}
	if !s.started {
		s.cur, s.started = ch["index"], true
	}
	if fmt.Sprint(ch["index"]) != fmt.Sprint(s.cur) {
		s.done = true
		return "", false
	}
	return text, true
}

// JSONFormat reports whether response_format asks for a JSON object.
func (p *Prompty) JSONFormat() bool {
	rf, ok := p.Parameters["response_format"].(map[string]any)
	return ok && rf["type"] == "json_object"
}

func (p *Prompty) formatChoice(content any) (any, error) {
	if !p.JSONFormat() {
		return content, nil
	}
	text, ok := content.(string)
	if !ok {
		return nil, userErr("TypeError", "the JSON object must be str, bytes or bytearray, not %T", content)
	}
	// json.loads keeps the model's key order; the declared outputs come
	// in their own order, as promptflow builds them.
	v, err := pyjson.Decode([]byte(text))
	if err != nil {
		return nil, userErr("JSONDecodeError", "the model's answer is not JSON although response_format is json_object: %v", err)
	}
	if len(p.Outputs) == 0 {
		return v, nil
	}
	obj, ok := v.(pyjson.Object)
	if !ok {
		return nil, userErr("InvalidOutputKeyError", "the model's JSON answer is not an object, so it has none of the outputs %v", p.Outputs)
	}
	out := make(pyjson.Object, 0, len(p.Outputs))
	for _, k := range p.Outputs {
		val, ok := obj.Get(k)
		if !ok {
			keys := make([]string, 0, len(obj))
			for _, m := range obj {
				keys = append(keys, "'"+m.Key+"'")
			}
			return nil, userErr("InvalidOutputKeyError", "Cannot find %s in response [%s]", k, strings.Join(keys, ", "))
		}
		out = append(out, pyjson.Member{Key: k, Value: val})
	}
	return out, nil
}

// DecodeResponse decodes a response body as FormatResponse wants it.
func DecodeResponse(data []byte) (map[string]any, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the response is not a JSON object")
	}
	return m, nil
}

// MarshalMessages is the JSON of messages (for tests and traces).
func MarshalMessages(ms []Message) string {
	b, _ := json.Marshal(ms)
	return string(b)
}
