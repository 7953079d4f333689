package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Prompt and llm templates are Jinja2 and are rendered by the session's own
// Jinja2 in a python worker (pfz_render.py), with promptflow's settings:
// trim_blocks on, the trailing newline kept, the sandboxed environment unless
// PF_USE_SANDBOX_FOR_JINJA=false. A renderer written in Go printed Python
// values differently (None, tuples, big integers, dict order, str methods, …);
// docs/jinja.md has the measurements behind the choice.

// CheckTemplate compiles a Jinja2 template in a worker. A syntax error is a
// *ToolError (type JinjaTemplateError); a session without Jinja2 is one of
// type JinjaMissingError.
func (p *Pool) CheckTemplate(ctx context.Context, text string) (*ToolError, error) {
	res, err := p.do(ctx, map[string]any{"op": "template", "template": text}, hooks{}, nil)
	if err != nil {
		return nil, err
	}
	return res.Error, nil
}

// Render renders a Jinja2 template with the given variables in a worker.
// An error raised while rendering is a *ToolError.
func (p *Pool) Render(ctx context.Context, text string, vars map[string]any) (string, *ToolError, error) {
	res, err := p.do(ctx, map[string]any{"op": "render", "template": text, "inputs": vars}, hooks{}, nil)
	if err != nil {
		return "", nil, err
	}
	if res.Error != nil {
		return "", res.Error, nil
	}
	s, ok := res.Output.(string)
	if !ok {
		return "", nil, fmt.Errorf("the python worker rendered a %T, not text", res.Output)
	}
	return s, nil, nil
}

// promptRender is one render of a prompt or llm node's template.
type promptRender struct {
	Template string
	Vars     map[string]any
	// Escaped are Vars with the role words escaped (prompty.Escape), when
	// any were: a chat llm node renders them, a prompt node renders both.
	Escaped map[string]any
	// LLM: render for a chat llm node (the text is the escaped render).
	LLM bool
	// ChatList: list inputs are promptflow's ChatInputList (Azure OpenAI
	// chat, vision): printed one item per line.
	ChatList bool
	// Images: return the images among Vars (vision nodes).
	Images bool
}

// promptResult is a render's outcome: Text is what the node outputs (a
// prompt node) or what pfz parses into messages (a chat llm node, escaped);
// Escaped (a prompt node's escaped render) and Mapping (uuid -> role word)
// carry the role escaping on to the llm nodes a prompt node feeds.
type promptResult struct {
	Text    string            `json:"text"`
	Escaped string            `json:"escaped,omitempty"`
	Mapping map[string]string `json:"mapping,omitempty"`
	// Images maps each image among the inputs, as printed in Text, to its
	// image_url: its source URL, or a data: URL of its bytes.
	Images map[string]string `json:"images,omitempty"`
}

// renderPrompt renders a prompt or llm node's template in a worker.
func (p *Pool) renderPrompt(ctx context.Context, req promptRender) (promptResult, *ToolError, error) {
	msg := map[string]any{"op": "render_prompt", "template": req.Template, "inputs": req.Vars, "llm": req.LLM}
	if req.Escaped != nil {
		msg["escaped"] = req.Escaped
	}
	if req.ChatList {
		msg["chat_list"] = true
	}
	if req.Images {
		msg["images"] = true
	}
	var out promptResult
	res, err := p.do(ctx, msg, hooks{}, nil)
	if err != nil {
		return out, nil, err
	}
	if res.Error != nil {
		return out, res.Error, nil
	}
	b, err := pyjson.Marshal(res.Output)
	if err == nil {
		err = pyjson.Unmarshal(b, &out)
	}
	if err != nil {
		return out, nil, fmt.Errorf("the python worker's render is not a render: %w", err)
	}
	return out, nil, nil
}

// plain turns json.Number into int64 or float64 so values read from data or
// returned by tools compare as numbers; a dict compares without its order,
// as Python's == compares dicts.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return f
		}
		return string(x)
	case pyjson.Object:
		return plain(x.Map())
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = plain(e)
		}
		return s
	case pyjson.Tuple:
		return pyjson.Tuple(plain([]any(x)).([]any))
	}
	return v
}
