package prompty

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Python's re and str methods treat more than ASCII as whitespace; the
// rules below must split exactly where promptflow's do.
const (
	pyWS    = `\t\n\v\f\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	ws      = `[` + pyWS + `]`
	nonWS   = `[^` + pyWS + `]`
	rolesRE = `system|user|assistant|function|tool`
)

// Roles are the chat roles promptflow accepts.
var Roles = []string{"system", "user", "assistant", "function", "tool"}

// ciRoles spells the role alternatives case-insensitively as Python's re
// does (which also lets ſ stand for s and ı, İ for i).
func ciRoles() string {
	var b strings.Builder
	for i, r := range Roles {
		if i > 0 {
			b.WriteByte('|')
		}
		for _, c := range r {
			switch c {
			case 's':
				b.WriteString("[sSſ]")
			case 'i':
				b.WriteString("[iIıİ]")
			default:
				fmt.Fprintf(&b, "[%c%c]", c, c-'a'+'A')
			}
		}
	}
	return b.String()
}

var (
	// A role line: "system:", "# User :" … alone on its line.
	roleSepRE = regexp.MustCompile(`(?m)^` + ws + `*#?` + ws + `*(` + ciRoles() + `)` + ws + `*:` + ws + `*\n`)
	nameRE    = regexp.MustCompile(`(?s)\n*#{0,2}` + ws + `*name` + ws + `*:` + ws + `*\n+` + ws + `*(` + nonWS + `+)` + ws + `*\n*#{0,2}` + ws + `*content` + ws + `*:` + ws + `*\n?(.*)`)
	toolIDRE  = regexp.MustCompile(`(?s)\n*#{0,2}` + ws + `*tool_call_id` + ws + `*:` + ws + `*\n+` + ws + `*(` + nonWS + `+)` + ws + `*\n*#{0,2}` + ws + `*content` + ws + `*:` + ws + `*\n?(.*)`)
	toolsRE   = regexp.MustCompile(`(?s)\n*#{0,2}` + ws + `*tool_calls` + ws + `*:` + ws + `*\n+` + ws + `*(\[.*?\])` + ws + `*$`)
	imageRE   = regexp.MustCompile(`!\[(` + ws + `*image` + ws + `*)\]\(\{\{(` + ws + `*[^` + pyWS + `{}]+` + ws + `*)\}\}\)`)
)

func pyStrip(s string) string {
	return strings.TrimFunc(s, isPySpace)
}

func isPySpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1c && r <= 0x20, r == 0x85, r == 0xa0, r == 0x1680,
		r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// PreprocessTemplate turns markdown images of an input, ![image]({{x}}), into
// the input on a line of its own, as promptflow does before rendering.
func PreprocessTemplate(t string) string {
	return imageRE.ReplaceAllString(t, "\n{{$2}}\n")
}

// Escape is the role escaping promptflow applies to the inputs of a chat
// prompt, so that text such as "user:" inside an input cannot start a
// message: each role word found on a role line of an escaped input is
// replaced in every escaped input by a random id before rendering, and put
// back in the parsed messages. One implementation serves prompty flows and
// prompt and llm nodes; Scope says which values each looks into.
type Escape struct {
	ids   []string // in the order found
	roles map[string]string
}

// Scope is which values of an input promptflow escapes.
type Scope int

const (
	// Strings: the input itself when it is a string (promptflow's prompty).
	Strings Scope = iota
	// Dicts: strings, also inside dicts at any depth (promptflow's prompt
	// tool and OpenAI chat: lists are left as they are).
	Dicts
	// ChatLists: strings inside dicts and lists at any depth (promptflow's
	// Azure OpenAI chat and vision tools, whose lists are ChatInputLists).
	ChatLists
)

// NewEscape finds the role lines in the string values of inputs (in the
// order of names) and returns the inputs with the role words replaced
// (promptflow's prompty).
func NewEscape(names []string, inputs map[string]any) (*Escape, map[string]any) {
	e := &Escape{roles: map[string]string{}}
	return e, e.Inputs(Strings, names, inputs)
}

// Inputs finds the role lines in the named inputs within scope (in the
// order of names), adding each new role word to e, and returns inputs with
// the named ones escaped; the others are returned as they are.
func (e *Escape) Inputs(scope Scope, names []string, inputs map[string]any) map[string]any {
	if e.roles == nil {
		e.roles = map[string]string{}
	}
	seen := map[string]bool{}
	for _, role := range e.roles {
		seen[role] = true
	}
	for _, k := range names {
		if v, ok := inputs[k]; ok {
			e.find(scope, v, seen)
		}
	}
	out := make(map[string]any, len(inputs))
	for k, v := range inputs {
		out[k] = v
	}
	if len(e.ids) == 0 {
		return out
	}
	for _, k := range names {
		if v, ok := inputs[k]; ok {
			out[k] = e.escape(scope, v)
		}
	}
	return out
}

// isImageRef reports whether v is an image reference ({"data:image/png;path":
// …}): it is an image, not text, to promptflow, and is never escaped.
func isImageRef(v map[string]any) bool {
	if len(v) != 1 {
		return false
	}
	for k := range v {
		return imageRefKeyRE.MatchString(k)
	}
	return false
}

var imageRefKeyRE = regexp.MustCompile(`^data:image/[^;]+;(base64|path|url)$`)

func (e *Escape) find(scope Scope, v any, seen map[string]bool) {
	switch x := v.(type) {
	case string:
		for _, m := range roleSepRE.FindAllStringSubmatch(x, -1) {
			if role := m[1]; !seen[role] {
				seen[role] = true
				id := uuid4()
				e.ids = append(e.ids, id)
				e.roles[id] = role
			}
		}
	case map[string]any:
		if scope >= Dicts && !isImageRef(x) {
			for _, k := range sortedKeys(x) {
				e.find(scope, x[k], seen)
			}
		}
	case pyjson.Object: // a dict from the data or a node, in its order
		if scope >= Dicts && !isImageRef(x.Map()) {
			for _, m := range x {
				e.find(scope, m.Value, seen)
			}
		}
	case []any:
		if scope >= ChatLists {
			for _, item := range x {
				e.find(scope, item, seen)
			}
		}
	}
}

func (e *Escape) escape(scope Scope, v any) any {
	switch x := v.(type) {
	case string:
		for _, id := range e.ids {
			x = strings.ReplaceAll(x, e.roles[id], id)
		}
		return x
	case map[string]any:
		if scope < Dicts || isImageRef(x) {
			return v
		}
		m := make(map[string]any, len(x))
		for k, item := range x {
			m[k] = e.escape(scope, item)
		}
		return m
	case pyjson.Object:
		if scope < Dicts || isImageRef(x.Map()) {
			return v
		}
		o := make(pyjson.Object, len(x))
		for i, m := range x {
			o[i] = pyjson.Member{Key: m.Key, Value: e.escape(scope, m.Value)}
		}
		return o
	case []any:
		if scope < ChatLists {
			return v
		}
		s := make([]any, len(x))
		for i, item := range x {
			s[i] = e.escape(scope, item)
		}
		return s
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EscapeFrom is the escaping a mapping of ids to role words describes (one
// carried on from an upstream prompt node's render).
func EscapeFrom(mapping map[string]string) *Escape {
	e := &Escape{roles: map[string]string{}}
	e.Merge(mapping)
	return e
}

// Merge adds the ids of mapping (id -> role word) to e.
func (e *Escape) Merge(mapping map[string]string) {
	if e.roles == nil {
		e.roles = map[string]string{}
	}
	ids := make([]string, 0, len(mapping))
	for id := range mapping {
		if _, ok := e.roles[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		e.ids = append(e.ids, id)
		e.roles[id] = mapping[id]
	}
}

// Mapping is e as ids -> role words (nil when nothing was escaped).
func (e *Escape) Mapping() map[string]string {
	if e == nil || len(e.ids) == 0 {
		return nil
	}
	m := make(map[string]string, len(e.ids))
	for _, id := range e.ids {
		m[id] = e.roles[id]
	}
	return m
}

// Empty reports whether nothing is escaped.
func (e *Escape) Empty() bool { return e == nil || len(e.ids) == 0 }

// Unescape puts the role words back into s.
func (e *Escape) Unescape(s string) string { return e.unescape(s) }

func (e *Escape) unescape(s string) string {
	if e == nil {
		return s
	}
	for _, id := range e.ids {
		s = strings.ReplaceAll(s, id, e.roles[id])
	}
	return s
}

func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Message is one chat message: role, content (a string, or a list of text
// and image_url parts when the message holds images) and the optional name,
// tool_call_id and tool_calls.
type Message map[string]any

// messageKeyOrder is the order promptflow sets a message's keys in; a
// message marshals in it, so Python code that prints one sees the same text.
var messageKeyOrder = []string{"role", "name", "tool_call_id", "tool_calls", "content"}

// MarshalJSON writes the keys in promptflow's order.
func (m Message) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	write := func(k string, v any) error {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		return nil
	}
	seen := map[string]bool{}
	for _, k := range messageKeyOrder {
		if v, ok := m[k]; ok {
			seen[k] = true
			if err := write(k, v); err != nil {
				return nil, err
			}
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if err := write(k, m[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ChatError is a prompt that cannot be split into messages.
type ChatError struct{ Msg string }

func (e *ChatError) Error() string { return e.Msg }

// ParseChat splits a rendered chat prompt into messages exactly as
// promptflow's prompty does. images maps each image's placeholder text (as
// rendered) to its image_url part value.
func ParseChat(rendered string, images map[string]ImageURL, esc *Escape) ([]Message, error) {
	chunks := splitRoles(rendered)
	var msgs []Message
	for _, chunk := range chunks {
		var last Message
		if len(msgs) > 0 {
			last = msgs[len(msgs)-1]
		}
		_, hasContent := last["content"]
		_, hasCalls := last["tool_calls"]
		if last != nil && last["role"] == "tool" && !hasContent {
			m := toolIDRE.FindStringSubmatch(chunk)
			if m == nil {
				return nil, &ChatError{"Failed to parse tool role prompt. Please make sure the prompt follows the format: 'tool_call_id:\\ntool_call_id\\ncontent:\\ntool_content'. 'tool_call_id' is required if role is tool, and it should be the tool call that this message is responding to. See more details in https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages"}
			}
			last["tool_call_id"] = m[1]
			last["content"] = contentOf(m[2], images)
			continue
		}
		if last != nil && last["role"] == "assistant" {
			if m := toolsRE.FindStringSubmatch(chunk); m != nil {
				if calls, err := pyLiteral(m[1]); err == nil {
					last["tool_calls"] = calls
					continue
				}
			}
		}
		if last != nil && !hasContent && !hasCalls {
			if m := nameRE.FindStringSubmatch(chunk); m != nil {
				last["name"] = m[1]
				last["content"] = contentOf(m[2], images)
			} else if last["role"] == "function" {
				return nil, &ChatError{"Failed to parse function role prompt. Please make sure the prompt follows the format: 'name:\\nfunction_name\\ncontent:\\nfunction_content'. 'name' is required if role is function, and it should be the name of the function whose response is in the content. May contain a-z, A-Z, 0-9, and underscores, with a maximum length of 64 characters. See more details in https://platform.openai.com/docs/api-reference/chat/create#chat/create-name or view sample 'How to use functions with chat models' in our gallery."}
			} else {
				last["content"] = contentOf(chunk, images)
			}
			continue
		}
		if pyStrip(chunk) == "" {
			continue
		}
		role := pyLowerRole(pyStrip(chunk))
		if !validRole(role) {
			quoted := make([]string, len(Roles))
			for i, r := range Roles {
				quoted[i] = "'" + r + ":\\n'"
			}
			return nil, &ChatError{fmt.Sprintf("The Chat API requires a specific format for prompt definition, and the prompt should include separate lines as role delimiters: %s. Current parsed role '%s' does not meet the requirement. If you intend to use the Completion API, please select the appropriate API type and deployment name. If you do intend to use the Chat API, please refer to the guideline at https://aka.ms/pfdoc/chat-prompt or view the samples in our gallery that contain 'Chat' in the name.",
				strings.Join(quoted, ","), esc.unescape(role))}
		}
		msgs = append(msgs, Message{"role": role})
	}
	if esc != nil && len(esc.ids) > 0 {
		for _, m := range msgs {
			for k, v := range m {
				m[k] = esc.unescapeValue(v)
			}
		}
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return msgs, nil
}

func (e *Escape) unescapeValue(v any) any {
	switch x := v.(type) {
	case string:
		return e.unescape(x)
	case []any:
		for _, item := range x {
			if m, ok := item.(map[string]any); ok {
				if t, ok := m["text"].(string); ok {
					m["text"] = e.unescape(t)
				}
			}
		}
	}
	return v
}

// splitRoles is Python's re.split with one group: text, role, text, role, …
func splitRoles(s string) []string {
	locs := roleSepRE.FindAllStringSubmatchIndex(s, -1)
	out := make([]string, 0, 2*len(locs)+1)
	prev := 0
	for _, l := range locs {
		out = append(out, s[prev:l[0]], s[l[2]:l[3]])
		prev = l[1]
	}
	return append(out, s[prev:])
}

// pyLowerRole lower-cases a role word as str.lower does for the words
// that can reach it: ASCII letters map down; ſ, ı stay as they are and İ
// becomes two runes, so any non-ASCII letter leaves an invalid role.
func pyLowerRole(s string) string {
	b := []rune(s)
	for i, r := range b {
		switch {
		case r >= 'A' && r <= 'Z':
			b[i] = r + 'a' - 'A'
		case r == 'İ':
			return strings.ToLower(string(b[:i])) + "i̇" + strings.ToLower(string(b[i+1:]))
		}
	}
	return string(b)
}

func validRole(r string) bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// ImageURL is the image_url value of an image part: url and detail.
type ImageURL struct {
	URL    string
	Detail string
}

// contentOf is a message's content: the stripped text, or, when a line is an
// image placeholder, a list of text parts (one per non-blank line, as is)
// and image_url parts.
func contentOf(s string, images map[string]ImageURL) any {
	s = pyStrip(s)
	if len(images) == 0 {
		return s
	}
	var parts []any
	hasImage := false
	for _, line := range strings.Split(s, "\n") {
		key := pyStrip(line)
		if img, ok := images[key]; ok {
			parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]any{"url": img.URL, "detail": img.Detail}})
			hasImage = true
		} else if key == "" {
			continue
		} else {
			parts = append(parts, map[string]any{"type": "text", "text": line})
		}
	}
	if !hasImage {
		return s
	}
	return parts
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
