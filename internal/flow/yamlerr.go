package flow

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/diag"
)

// YAMLError turns an error from decoding data with yaml.v3 into a diagnostic
// of file: the line and column of the mistake (yaml.v3 names only a line,
// often the start of the enclosing block) and a hint for the usual causes
// (tabs, an unclosed quote, a colon in a plain value, bad indentation, bytes
// that are not UTF-8). Code is CodeYAMLSyntax; callers with codes of their
// own replace it. run.yml and connection files share it with the flow file.
func YAMLError(file string, data []byte, err error) diag.Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	core := strings.TrimSpace(yamlLineRE.ReplaceAllString(msg, ""))
	p, hint := explainYAML(core, msg, data)
	return diag.Diagnostic{
		Severity: diag.Error, Code: CodeYAMLSyntax, File: file, Line: p.Line, Column: p.Column,
		Message: "invalid YAML: " + core, Hint: hint,
	}
}

// SafeDecode decodes the next document; a panic inside yaml.v3 on hostile
// input becomes an error, so no parser of user YAML can crash pfz.
func SafeDecode(dec *yaml.Decoder, n *yaml.Node) error { return safeDecode(dec, n) }

const genericYAMLHint = "fix the YAML at that line: check indentation, a missing colon or an unclosed quote or bracket"

var undefinedAliasRE = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)

// explainYAML finds where the error is and what to say about it.
func explainYAML(core, msg string, data []byte) (Pos, string) {
	if p, ok := firstInvalidUTF8(data); ok && strings.Contains(core, "UTF-8") {
		return p, "save the file as UTF-8 text; the byte at this position is not UTF-8 (was it saved in another encoding, or is it not a text file?)"
	}
	if strings.Contains(core, "control characters are not allowed") || strings.Contains(core, "invalid Unicode character") {
		if p, r, ok := firstControl(data); ok {
			return p, fmt.Sprintf("remove the control character U+%04X at this position; YAML allows only tabs, line breaks and printable characters", r)
		}
	}
	if m := undefinedAliasRE.FindStringSubmatch(core); m != nil {
		if p, ok := findText(data, "*"+m[1]); ok {
			return p, fmt.Sprintf("define the anchor &%s before this alias uses it, or remove the alias *%s", m[1], m[1])
		}
	}
	p := syntaxPos(msg, data)
	lines := strings.SplitAfter(string(data), "\n")
	line := ""
	if p.Line >= 1 && p.Line <= len(lines) {
		line = strings.TrimRight(lines[p.Line-1], "\r\n")
	}
	// A tab in the indentation is the most common cause of several messages.
	if indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]; strings.Contains(indent, "\t") {
		return Pos{Line: p.Line, Column: strings.IndexByte(line, '\t') + 1},
			"YAML indentation must use spaces, not tabs: replace the tab at the start of this line with spaces"
	}
	switch {
	case strings.Contains(core, "found unexpected end of stream"):
		// yaml.v3 may name the end of the file; the quote opened on the
		// last line above that leaves one unbalanced.
		for l := min(p.Line, len(lines)); l >= 1; l-- {
			if col := openQuote(strings.TrimRight(lines[l-1], "\r\n")); col > 0 {
				return Pos{Line: l, Column: col}, "the quoted text that starts here is never closed: add the closing quote"
			}
		}
		return p, "a quote, [ or { opened here is never closed"
	case strings.Contains(core, "mapping values are not allowed"):
		if i := strings.Index(line[max(p.Column-1, 0):], ": "); i >= 0 && p.Column > 0 {
			if j := strings.Index(line[p.Column-1+i+2:], ": "); j >= 0 {
				at := p.Column - 1 + i + 2 + j
				return Pos{Line: p.Line, Column: utf8.RuneCountInString(line[:at]) + 1}, "the value holds \": \"; put it in quotes (key: \"a: b\"), or fix the indentation if it is meant as a nested key"
			}
		}
		return p, "a value that holds \": \" must be quoted (key: \"a: b\"); otherwise check the indentation of this line"
	case strings.Contains(core, "did not find expected node content"), strings.Contains(core, "did not find expected ',' or"):
		for l := min(p.Line, len(lines)); l >= 1 && l >= p.Line-1; l-- {
			if col := openBracket(strings.TrimRight(lines[l-1], "\r\n")); col > 0 {
				return Pos{Line: l, Column: col}, "the [ or { that starts here is never closed, or its items are not separated by commas"
			}
		}
		if strings.Contains(core, "did not find expected ',' or") {
			return p, "a [ or { list opened here is not closed, or its items are not separated by commas"
		}
		return p, "check the indentation of this line: keys of one mapping line up, and list items start with \"- \" at the same column"
	case strings.Contains(core, "did not find expected key"):
		return p, "check the indentation of this line: keys of one mapping line up, and list items start with \"- \" at the same column"
	case strings.Contains(core, "could not find expected ':'"):
		return p, "each line of a mapping is key: value; quote text that spans lines, or fix the indentation"
	case strings.Contains(core, "found character that cannot start any token"):
		return p, "a plain value cannot start with @ or `; put the value in quotes"
	case strings.Contains(core, "did not find expected <document start>"):
		return p, "text follows the end of the document on this line: quote the whole value, or fix the indentation"
	}
	return p, genericYAMLHint
}

// firstInvalidUTF8 returns the position of the first byte that is not UTF-8.
func firstInvalidUTF8(data []byte) (Pos, bool) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return Pos{Line: line, Column: col}, true
		}
		line, col = advance(r, line, col)
		i += n
	}
	return Pos{}, false
}

// firstControl returns the position of the first character YAML forbids.
func firstControl(data []byte) (Pos, rune, bool) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if forbiddenInYAML(r) && !(i == 0 && r == 0xFEFF) {
			return Pos{Line: line, Column: col}, r, true
		}
		line, col = advance(r, line, col)
		i += n
	}
	return Pos{}, 0, false
}

func forbiddenInYAML(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
		return true
	}
	return false
}

func advance(r rune, line, col int) (int, int) {
	if r == '\n' {
		return line + 1, 1
	}
	return line, col + 1
}

// findText returns the position of the first occurrence of s.
func findText(data []byte, s string) (Pos, bool) {
	i := strings.Index(string(data), s)
	if i < 0 {
		return Pos{}, false
	}
	before := string(data[:i])
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return Pos{Line: line, Column: col}, true
}

// openQuote returns the 1-based column of a quote on line that starts a
// quoted value and is not closed on the line, or 0.
func openQuote(line string) int {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != '"' && c != '\'' {
			continue
		}
		// A quote starts a scalar only at the start of a value.
		prev := strings.TrimRight(line[:i], " ")
		if prev != "" && !strings.HasSuffix(prev, ":") && !strings.HasSuffix(prev, "-") &&
			!strings.HasSuffix(prev, "[") && !strings.HasSuffix(prev, "{") && !strings.HasSuffix(prev, ",") {
			continue
		}
		end := closingQuote(line[i+1:], c)
		if end < 0 {
			return utf8.RuneCountInString(line[:i]) + 1
		}
		i += end + 1
	}
	return 0
}

func closingQuote(s string, q byte) int {
	for i := 0; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case q == '\'' && s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

// openBracket returns the 1-based column of the last [ or { on line that the
// line does not close (quotes and comments aside), or 0.
func openBracket(line string) int {
	var open []int
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case '"', '\'':
			if end := closingQuote(line[i+1:], c); end >= 0 {
				i += end + 1
			} else {
				return 0
			}
		case '#':
			if i == 0 || line[i-1] == ' ' || line[i-1] == '\t' {
				i = len(line)
			}
		case '[', '{':
			open = append(open, i)
		case ']', '}':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) == 0 {
		return 0
	}
	return utf8.RuneCountInString(line[:open[len(open)-1]]) + 1
}
