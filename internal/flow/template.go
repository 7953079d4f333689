package flow

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode"
)

// Parameters of the built-in tools that a prompt template variable may not
// shadow: the executor passes node inputs both to the template and to the
// tool, and rejects a template variable that is also a tool parameter.
var (
	promptToolParams = []string{"template"}
	llmCommonParams  = []string{"prompt", "connection", "temperature", "top_p", "n", "stream", "stop",
		"max_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "user"}
	llmCompletionParams = []string{"suffix", "logprobs", "echo", "best_of"}
	llmChatParams       = []string{"function_call", "functions", "response_format", "seed", "tools", "tool_choice"}
)

func llmParams(n *Node) []string {
	ps := append([]string(nil), llmCommonParams...)
	if n.Provider == "OpenAI" {
		ps = append(ps, "model")
	} else {
		ps = append(ps, "deployment_name")
	}
	switch n.API {
	case "completion":
		ps = append(ps, llmCompletionParams...)
	case "chat":
		ps = append(ps, llmChatParams...)
	}
	return ps
}

func (v *validator) checkTemplate(n *Node, who string) {
	if n.Type != ToolLLM && n.Type != ToolPrompt {
		return
	}
	if n.Source.Type != "code" || n.Source.Path == "" {
		return
	}
	rel, ok := v.inside(n.Source.Path)
	if !ok {
		return
	}
	data := v.read(rel)
	if data == nil {
		return
	}
	params := promptToolParams
	tool := "the prompt tool"
	if n.Type == ToolLLM {
		params = llmParams(n)
		tool = fmt.Sprintf("the %s api", n.API)
		if n.Provider != "" {
			tool = fmt.Sprintf("%s.%s", n.Provider, n.API)
		}
	}
	var dup []string
	for _, name := range templateVars(string(data)) {
		if contains(params, name) {
			dup = append(dup, name)
		}
	}
	if len(dup) == 0 {
		return
	}
	v.errorf(CodeTemplateConflict, v.at(n, "source"), fmt.Sprintf("rename %s in %s (and the node input that feeds it)", strings.Join(dup, ", "), path.Base(rel)),
		"%s: template variables %s in %s have the names of parameters of %s", who, quoteList(dup), n.Source.Path, tool)
}

// jinjaWords are keywords, literals, tests and globals of Jinja that are not
// template inputs.
var jinjaWords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true, "if": true, "else": true, "elif": true,
	"endif": true, "for": true, "endfor": true, "set": true, "endset": true, "macro": true, "endmacro": true,
	"call": true, "endcall": true, "filter": true, "endfilter": true, "block": true, "endblock": true,
	"extends": true, "include": true, "import": true, "from": true, "as": true, "with": true, "endwith": true,
	"without": true, "context": true, "ignore": true, "missing": true, "recursive": true, "scoped": true,
	"true": true, "false": true, "none": true, "True": true, "False": true, "None": true,
	"loop": true, "super": true, "self": true, "varargs": true, "kwargs": true, "caller": true,
	"range": true, "dict": true, "lipsum": true, "cycler": true, "joiner": true, "namespace": true,
	"break": true, "continue": true, "do": true, "autoescape": true, "endautoescape": true, "trans": true,
	"endtrans": true, "pluralize": true,
}

// templateVars returns the names a Jinja template reads from its context,
// sorted: the roots of expressions in {{ }} and {% %}, without attribute
// names, filter and test names, keyword-argument names, keywords, and names
// the template binds itself (for targets, set, macro parameters). It is an
// approximation of jinja2.meta.find_undeclared_variables that errs towards
// reporting fewer names.
func templateVars(src string) []string {
	found := map[string]bool{}
	local := map[string]bool{}
	for _, blk := range jinjaBlocks(src) {
		toks := jinjaTokens(blk.body)
		if blk.stmt && len(toks) > 0 {
			switch toks[0].text {
			case "for":
				for i := 1; i < len(toks) && toks[i].text != "in"; i++ {
					if toks[i].ident {
						local[toks[i].text] = true
					}
				}
			case "set", "with":
				for i := 1; i < len(toks) && toks[i].text != "="; i++ {
					if toks[i].ident {
						local[toks[i].text] = true
					}
				}
			case "macro", "call":
				for _, t := range toks[1:] {
					if t.ident {
						local[t.text] = true
					}
				}
				continue
			case "raw", "endraw", "block", "endblock", "extends", "include", "import", "from":
				continue
			}
		}
		for i, t := range toks {
			if !t.ident || jinjaWords[t.text] {
				continue
			}
			if i > 0 {
				switch toks[i-1].text {
				case ".", "|", "is":
					continue
				}
				if toks[i-1].text == "not" && i > 1 && toks[i-2].text == "is" {
					continue
				}
			}
			if i+1 < len(toks) && toks[i+1].text == "=" {
				continue // keyword argument or set target
			}
			found[t.text] = true
		}
	}
	var out []string
	for name := range found {
		if !local[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

type jinjaBlock struct {
	body string
	stmt bool
}

// jinjaBlocks cuts the {{ }} and {% %} blocks out of a template, skipping
// {# #} comments and {% raw %} sections.
func jinjaBlocks(src string) []jinjaBlock {
	var out []jinjaBlock
	for {
		i := strings.Index(src, "{")
		if i < 0 || i+1 >= len(src) {
			return out
		}
		open := src[i : i+2]
		var closer string
		switch open {
		case "{{":
			closer = "}}"
		case "{%":
			closer = "%}"
		case "{#":
			closer = "#}"
		default:
			src = src[i+1:]
			continue
		}
		rest := src[i+2:]
		j := strings.Index(rest, closer)
		if j < 0 {
			return out
		}
		body := strings.Trim(rest[:j], "-+ \t\r\n")
		src = rest[j+2:]
		if open == "{#" {
			continue
		}
		if open == "{%" && (body == "raw" || strings.HasPrefix(body, "raw ")) {
			if k := strings.Index(src, "endraw"); k >= 0 {
				if e := strings.Index(src[k:], "%}"); e >= 0 {
					src = src[k+e+2:]
					continue
				}
			}
			return out
		}
		out = append(out, jinjaBlock{body: body, stmt: open == "{%"})
	}
}

type jinjaToken struct {
	text  string
	ident bool
}

// jinjaTokens splits an expression into identifiers, operators and
// punctuation; strings and numbers are dropped.
func jinjaTokens(s string) []jinjaToken {
	var out []jinjaToken
	r := []rune(s)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(r) && r[j] != c {
				if r[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
		case unicode.IsDigit(c):
			j := i
			for j < len(r) && (unicode.IsDigit(r[j]) || r[j] == '.' || r[j] == '_' || unicode.IsLetter(r[j])) {
				j++
			}
			i = j
		case c == '_' || unicode.IsLetter(c):
			j := i
			for j < len(r) && (r[j] == '_' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			out = append(out, jinjaToken{text: string(r[i:j]), ident: true})
			i = j
		case c == '=' && i+1 < len(r) && r[i+1] == '=':
			out = append(out, jinjaToken{text: "=="})
			i += 2
		case (c == '!' || c == '<' || c == '>') && i+1 < len(r) && r[i+1] == '=':
			out = append(out, jinjaToken{text: string(r[i : i+2])})
			i += 2
		default:
			out = append(out, jinjaToken{text: string(c)})
			i++
		}
	}
	return out
}
