package runspec

import (
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file reads dotenv files the way python-dotenv's dotenv_values does,
// because pfazure loads `environment_variables: <file>` and
// `--environment-variables x.env` with it:
//
//   - blank lines and lines starting with # are skipped; `export ` before a key is ignored;
//   - a key is 'single quoted' or a run of characters other than =, # and whitespace;
//   - a value is 'single quoted' (only \\ and \' are escapes), "double quoted"
//     (\\ \' \" \a \b \f \n \r \t \v are escapes), both of which may span lines,
//     or unquoted (to the end of the line, less a " #comment" and trailing
//     whitespace; as in python-dotenv 1.2, `K=  # note` gives "# note");
//   - ${NAME} and ${NAME:-default} are expanded in every value from the
//     variables defined earlier in the file, then the process environment
//     (LoadOptions.LookupEnv), then the default, else the empty string;
//   - a line that does not parse is skipped with a warning.
//
// Differences, all deliberate: a key with no "=" (python-dotenv gives it the
// value None, which pfazure would send as null) is left out with a warning; a
// skipped line is reported at the line where its statement starts, not where
// the previous one ended; duplicate keys and references to undefined
// variables also warn. python-dotenv's PYTHON_DOTENV_DISABLED is not read.

type dotenvEntry struct {
	Key      string
	Value    string
	HasValue bool
	Line     int
}

type dotenvIssue struct {
	File    string
	Line    int
	Message string
	Hint    string
}

// isPySpace is Python's str whitespace (\s in a str regex), which is
// unicode.IsSpace plus the information separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// isHSpace is [^\S\r\n]: whitespace other than CR and LF.
func isHSpace(r rune) bool { return r != '\r' && r != '\n' && isPySpace(r) }

type dotenvReader struct {
	s   string
	pos int
}

func (r *dotenvReader) peek() (rune, int) {
	if r.pos >= len(r.s) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(r.s[r.pos:])
}

func (r *dotenvReader) skip(pred func(rune) bool) int {
	start := r.pos
	for r.pos < len(r.s) {
		c, w := utf8.DecodeRuneInString(r.s[r.pos:])
		if !pred(c) {
			break
		}
		r.pos += w
	}
	return r.pos - start
}

func (r *dotenvReader) line(pos int) int {
	return 1 + strings.Count(r.s[:pos], "\n") + countLoneCR(r.s[:pos])
}

// countLoneCR counts \r not followed by \n, which python-dotenv also treats as
// a line break.
func countLoneCR(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' && (i+1 >= len(s) || s[i+1] != '\n') {
			n++
		}
	}
	return n
}

// universalNewlines turns \r\n and lone \r into \n, as Python's text-mode
// open() does before python-dotenv sees the file.
func universalNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

var errDotenvSyntax = fmt.Errorf("syntax")

// parseDotenv splits src into bindings. bad lists the lines of statements
// that did not parse.
func parseDotenv(src string) (entries []dotenvEntry, bad []int) {
	r := &dotenvReader{s: strings.TrimPrefix(src, "\ufeff")}
	for r.pos < len(r.s) {
		r.skip(isPySpace)
		if r.pos >= len(r.s) {
			break
		}
		start := r.pos
		e, err := r.binding()
		if err != nil {
			bad = append(bad, r.line(start))
			// The rest of the line, with at most one line break (\r before \r\n).
			r.skip(func(c rune) bool { return c != '\r' && c != '\n' })
			if c, _ := r.peek(); c == '\r' || c == '\n' {
				r.pos++
			}
			continue
		}
		if e != nil {
			e.Line = r.line(start)
			entries = append(entries, *e)
		}
	}
	return entries, bad
}

func (r *dotenvReader) binding() (*dotenvEntry, error) {
	// export prefix: "export" and at least one horizontal space.
	if strings.HasPrefix(r.s[r.pos:], "export") {
		save := r.pos
		r.pos += len("export")
		if r.skip(isHSpace) == 0 {
			r.pos = save
		}
	}
	var key string
	isComment := false
	switch c, _ := r.peek(); c {
	case '#':
		isComment = true
	case '\'':
		end := strings.IndexByte(r.s[r.pos+1:], '\'')
		if end <= 0 { // no closing quote, or an empty key
			return nil, errDotenvSyntax
		}
		key = r.s[r.pos+1 : r.pos+1+end]
		r.pos += end + 2
	default:
		start := r.pos
		r.skip(func(c rune) bool { return c != '=' && c != '#' && !isPySpace(c) })
		if r.pos == start {
			return nil, errDotenvSyntax
		}
		key = r.s[start:r.pos]
	}
	r.skip(isHSpace)
	var value string
	hasValue := false
	if c, _ := r.peek(); c == '=' && !isComment {
		r.pos++
		r.skip(isHSpace)
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		value, hasValue = v, true
	}
	// Optional comment, then the end of the line.
	save := r.pos
	r.skip(isHSpace)
	if c, _ := r.peek(); c == '#' {
		r.skip(func(c rune) bool { return c != '\r' && c != '\n' })
	} else {
		r.pos = save
	}
	r.skip(isHSpace)
	switch {
	case strings.HasPrefix(r.s[r.pos:], "\r\n"):
		r.pos += 2
	case strings.HasPrefix(r.s[r.pos:], "\n"), strings.HasPrefix(r.s[r.pos:], "\r"):
		r.pos++
	case r.pos >= len(r.s):
	default:
		return nil, errDotenvSyntax
	}
	if isComment {
		return nil, nil
	}
	return &dotenvEntry{Key: key, Value: value, HasValue: hasValue}, nil
}

func (r *dotenvReader) value() (string, error) {
	c, _ := r.peek()
	switch c {
	case '\'', '"':
		content, err := r.quoted(byte(c))
		if err != nil {
			return "", err
		}
		return decodeEscapes(content, c == '"'), nil
	case -1, '\n', '\r':
		return "", nil
	}
	start := r.pos
	r.skip(func(c rune) bool { return c != '\r' && c != '\n' })
	part := r.s[start:r.pos]
	return strings.TrimRightFunc(cutInlineComment(part), isPySpace), nil
}

// quoted reads a quoted value the way the regex '((?:\\'|[^'])*)' matches:
// it closes at the first quote that is not part of a backslash-quote pair or,
// failing that, at the quote of the last such pair.
func (r *dotenvReader) quoted(q byte) (string, error) {
	start := r.pos + 1
	lastPair := -1
	for i := start; i < len(r.s); {
		if r.s[i] == '\\' && i+1 < len(r.s) && r.s[i+1] == q {
			lastPair = i
			i += 2
			continue
		}
		if r.s[i] == q {
			r.pos = i + 1
			return r.s[start:i], nil
		}
		i++
	}
	if lastPair >= 0 {
		r.pos = lastPair + 2
		return r.s[start : lastPair+1], nil
	}
	return "", errDotenvSyntax
}

// cutInlineComment removes the first run of whitespace followed by # and
// everything after it.
func cutInlineComment(s string) string {
	for i, c := range s {
		if !isPySpace(c) {
			continue
		}
		j := i
		for j < len(s) {
			c2, w := utf8.DecodeRuneInString(s[j:])
			if !isPySpace(c2) {
				break
			}
			j += w
		}
		if j < len(s) && s[j] == '#' {
			return s[:i]
		}
	}
	return s
}

func decodeEscapes(s string, double bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		n := s[i+1]
		var out byte
		ok := true
		switch n {
		case '\\':
			out = '\\'
		case '\'':
			out = '\''
		default:
			if !double {
				ok = false
				break
			}
			switch n {
			case '"':
				out = '"'
			case 'a':
				out = '\a'
			case 'b':
				out = '\b'
			case 'f':
				out = '\f'
			case 'n':
				out = '\n'
			case 'r':
				out = '\r'
			case 't':
				out = '\t'
			case 'v':
				out = '\v'
			default:
				ok = false
			}
		}
		if !ok {
			b.WriteByte(s[i])
			continue
		}
		b.WriteByte(out)
		i++
	}
	return b.String()
}

// expandDotenv resolves ${NAME} and ${NAME:-default} in every value, in file
// order, with the values defined so far winning over the process environment.
// It returns the final value of each key (first position, last value) and the
// references that found nothing.
func expandDotenv(entries []dotenvEntry, lookup func(string) (string, bool)) ([]dotenvEntry, []dotenvIssue) {
	defined := map[string]*dotenvEntry{}
	var order []string
	var issues []dotenvIssue
	for _, e := range entries {
		if e.HasValue {
			var missing []string
			e.Value, missing = expandVars(e.Value, func(name string) (string, bool) {
				if d, ok := defined[name]; ok {
					return d.Value, true
				}
				if lookup != nil {
					return lookup(name)
				}
				return "", false
			})
			for _, m := range missing {
				hint := "define it earlier in the file or in the environment, or write a default: ${" + m + ":-value}"
				if strings.Contains(m, ".") {
					hint = "a connection reference such as ${" + m + "} only survives in run.yml's environment_variables mapping; python-dotenv expands it in a .env file"
				}
				issues = append(issues, dotenvIssue{Line: e.Line,
					Message: fmt.Sprintf("%s: ${%s} is not defined and expands to an empty string", e.Key, m), Hint: hint})
			}
		}
		if prev, ok := defined[e.Key]; ok {
			issues = append(issues, dotenvIssue{Line: e.Line,
				Message: fmt.Sprintf("%s is defined again (first on line %d); the last value wins", e.Key, prev.Line)})
			prev.Value, prev.HasValue = e.Value, e.HasValue
			continue
		}
		cp := e
		defined[e.Key] = &cp
		order = append(order, e.Key)
	}
	out := make([]dotenvEntry, 0, len(order))
	for _, k := range order {
		out = append(out, *defined[k])
	}
	return out, issues
}

// expandVars replaces ${NAME} and ${NAME:-default}; NAME has no } or :.
func expandVars(v string, get func(string) (string, bool)) (string, []string) {
	if !strings.Contains(v, "${") {
		return v, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(v); {
		if !strings.HasPrefix(v[i:], "${") {
			b.WriteByte(v[i])
			i++
			continue
		}
		j := i + 2
		for j < len(v) && v[j] != '}' && v[j] != ':' {
			j++
		}
		name := v[i+2 : j]
		var def *string
		k := j
		if strings.HasPrefix(v[j:], ":-") {
			e := strings.IndexByte(v[j+2:], '}')
			if e < 0 {
				b.WriteByte(v[i])
				i++
				continue
			}
			d := v[j+2 : j+2+e]
			def = &d
			k = j + 2 + e
		}
		if k >= len(v) || v[k] != '}' {
			b.WriteByte(v[i])
			i++
			continue
		}
		if val, ok := get(name); ok {
			b.WriteString(val)
		} else if def != nil {
			b.WriteString(*def)
		} else {
			missing = append(missing, name)
		}
		i = k + 1
	}
	return b.String(), missing
}

// readDotenvFile parses a dotenv file. Keys without a value are left out
// (with an issue); the issues carry the file name.
func readDotenvFile(path string, lookup func(string) (string, bool)) ([]dotenvEntry, []dotenvIssue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	entries, issues := parseDotenvValues(string(data), lookup)
	for i := range issues {
		issues[i].File = path
	}
	return entries, issues, nil
}

// parseDotenvValues is parseDotenv + expandDotenv, keeping only keys with values.
func parseDotenvValues(src string, lookup func(string) (string, bool)) ([]dotenvEntry, []dotenvIssue) {
	raw, bad := parseDotenv(universalNewlines(src))
	var issues []dotenvIssue
	for _, l := range bad {
		issues = append(issues, dotenvIssue{Line: l,
			Message: fmt.Sprintf("python-dotenv could not parse the statement starting at line %d; it is skipped", l),
			Hint:    "write KEY=VALUE, quoting values that contain spaces or #"})
	}
	expanded, more := expandDotenv(raw, lookup)
	issues = append(issues, more...)
	out := expanded[:0]
	for _, e := range expanded {
		if !e.HasValue {
			issues = append(issues, dotenvIssue{Line: e.Line,
				Message: fmt.Sprintf("%s has no value; it is left out", e.Key),
				Hint:    "write " + e.Key + "= for an empty value"})
			continue
		}
		out = append(out, e)
	}
	sortIssues(issues)
	return out, issues
}

func sortIssues(is []dotenvIssue) {
	for i := 1; i < len(is); i++ {
		for j := i; j > 0 && is[j].Line < is[j-1].Line; j-- {
			is[j], is[j-1] = is[j-1], is[j]
		}
	}
}
