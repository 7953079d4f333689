package executor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
)

// promptTemplate is a compiled jinja2 template of a prompt or llm node,
// rendered as promptflow does: trim_blocks on, trailing newline kept.
type promptTemplate struct {
	t *exec.Template
}

func newEnvironment() *exec.Environment {
	return &exec.Environment{
		Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables),
		Filters:           builtins.Filters,
		Tests:             builtins.Tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           builtins.Methods,
	}
}

func compileTemplate(name, src string) (pt *promptTemplate, err error) {
	// A bug in the template engine must fail the node, not the process.
	defer func() {
		if p := recover(); p != nil {
			pt, err = nil, fmt.Errorf("template %s: the template engine failed: %v", name, p)
		}
	}()
	cfg := config.New()
	cfg.TrimBlocks = true
	cfg.KeepTrailingNewline = true
	name = "/" + strings.TrimLeft(name, "/")
	mem, err := loaders.NewMemoryLoader(map[string]string{name: src})
	if err != nil {
		return nil, err
	}
	t, err := exec.NewTemplate(name, cfg, mem, newEnvironment())
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, templateErr(err, src))
	}
	return &promptTemplate{t: t}, nil
}

// templateErr drops the template source gonja repeats in its parse errors.
func templateErr(err error, src string) error {
	msg := strings.ReplaceAll(err.Error(), "'"+src+"'", "")
	return fmt.Errorf("%s", msg)
}

func (p *promptTemplate) render(vars map[string]any) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("the template engine failed: %v", r)
		}
	}()
	ctx := make(map[string]any, len(vars))
	for k, v := range vars {
		ctx[k] = plain(v)
	}
	return p.t.ExecuteToString(exec.NewContext(ctx))
}

// plain turns json.Number into int64 or float64 so templates can compute
// with numbers read from data or returned by tools.
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
