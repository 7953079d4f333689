package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

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
	// Escape names the variables that are flow inputs: role lines in them
	// are escaped as promptflow escapes them (chat llm and prompt nodes).
	Escape []string
	// Results are the escaped forms of upstream prompt outputs among Vars.
	Results map[string]promptResult
	// LLM: render for a chat llm node (the text is the escaped render).
	LLM bool
	// ChatList: list inputs are promptflow's ChatInputList (Azure OpenAI
	// chat): printed one item per line, roles in their items escaped.
	ChatList bool
}

// promptResult is a render's outcome: Text is what the node outputs (a
// prompt node) or what pfz parses into messages (a chat llm node, escaped);
// Escaped and Mapping (uuid -> role word) carry the role escaping on.
type promptResult struct {
	Text    string            `json:"text"`
	Escaped string            `json:"escaped,omitempty"`
	Mapping map[string]string `json:"mapping,omitempty"`
}

// unescape puts the role words back into s.
func (p promptResult) unescape(s string) string {
	for id, role := range p.Mapping {
		s = strings.ReplaceAll(s, id, role)
	}
	return s
}

// RenderPrompt renders a prompt or llm node's template in a worker, with
// promptflow's role escaping.
func (p *Pool) renderPrompt(ctx context.Context, req promptRender) (promptResult, *ToolError, error) {
	msg := map[string]any{"op": "render_prompt", "template": req.Template, "inputs": req.Vars, "llm": req.LLM}
	if req.ChatList {
		msg["chat_list"] = true
	}
	if len(req.Escape) > 0 {
		msg["escape"] = req.Escape
	}
	if len(req.Results) > 0 {
		msg["results"] = req.Results
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
// returned by tools compare as numbers.
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
	}
	return v
}

// chatMessage is one message of a chat prompt.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	Name    string `json:"name,omitempty"`
}

var (
	chatRoles     = []string{"system", "user", "assistant", "function", "tool"}
	roleSeparator = regexp.MustCompile(`(?im)^[ \t]*#?[ \t]*(system|user|assistant|function|tool)[ \t]*:[ \t]*\r?\n`)
	nameContent   = regexp.MustCompile(`(?s)^\s*name:\s*(.*?)\s*\n\s*content:\s*\n(.*)$`)
)

// parseChat splits a rendered chat prompt into messages at role lines
// ("system:", "# user:", …), as promptflow's parse_chat does. Text before the
// first role line must be blank.
func parseChat(s string) ([]chatMessage, error) {
	locs := roleSeparator.FindAllStringSubmatchIndex(s, -1)
	head := s
	if len(locs) > 0 {
		head = s[:locs[0][0]]
	}
	if strings.TrimSpace(head) != "" {
		return nil, fmt.Errorf("the chat prompt must start with a role line such as 'system:' or 'user:' "+
			"(one of %s, each alone on its line), but it starts with %q", strings.Join(chatRoles, ", "), firstLine(head))
	}
	msgs := make([]chatMessage, 0, len(locs))
	for i, loc := range locs {
		role := strings.ToLower(s[loc[2]:loc[3]])
		end := len(s)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := s[loc[1]:end]
		m := chatMessage{Role: role}
		if nc := nameContent.FindStringSubmatch(body); nc != nil {
			m.Name = nc[1]
			body = nc[2]
		} else if role == "function" {
			return nil, fmt.Errorf("a 'function:' message needs 'name:' and 'content:' lines")
		}
		m.Content = strings.TrimSpace(body)
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("the chat prompt has no role line: start it with 'system:' or 'user:' on a line of its own")
	}
	return msgs, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
