package snapshot

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IgnoreRules is a parsed ignore file (.amlignore or .gitignore syntax) rooted
// at one folder. Matching follows git's rules (gitignore(5)), not those of the
// pathspec library pfazure vendors; the two differ in a few corners, see
// Match. The zero value ignores nothing.
type IgnoreRules struct {
	patterns []pattern
}

// PatternError is a line of an ignore file that cannot be used. The line is
// skipped; the rest of the file still applies.
type PatternError struct {
	Source string // file the line came from, as given to ParseIgnore
	Line   int    // 1-based
	Text   string // the line as written
	Reason string
}

func (e PatternError) Error() string {
	return fmt.Sprintf("%s:%d: ignore pattern %q %s", e.Source, e.Line, e.Text, e.Reason)
}

// pattern is one usable line of an ignore file.
type pattern struct {
	source  string
	line    int
	text    string
	negate  bool
	dirOnly bool
	// segs are the slash-separated parts to match against a path's parts; a nil
	// entry stands for a "**" part. Unanchored patterns start with a "**" part.
	segs     [][]token
	starStar int // how many "**" parts, to decide whether matching needs a memo
}

// tokKind is the kind of one element of a compiled path segment.
type tokKind uint8

const (
	tokLit  tokKind = iota // one exact character
	tokAny                 // ?: one character
	tokStar                // *: any run of characters within the segment
	tokSet                 // [...]: one character from a set
)

type token struct {
	kind tokKind
	r    rune
	set  *charSet
}

// charSet is a bracket expression.
type charSet struct {
	negate bool
	ranges []runeRange
	named  []func(rune) bool
}

type runeRange struct{ lo, hi rune }

func (s *charSet) has(r rune) bool {
	in := false
	for _, rg := range s.ranges {
		if r >= rg.lo && r <= rg.hi {
			in = true
			break
		}
	}
	if !in {
		for _, f := range s.named {
			if f(r) {
				in = true
				break
			}
		}
	}
	return in != s.negate
}

// ParseIgnore reads ignore-file content. source names the file in errors and
// in the pattern reported by Why. Lines that cannot be used are returned as
// PatternErrors and skipped.
func ParseIgnore(source string, content []byte) (*IgnoreRules, []PatternError) {
	r := &IgnoreRules{}
	errs := r.add(source, string(content))
	return r, errs
}

// add appends the lines of text as patterns; later patterns win over earlier.
func (r *IgnoreRules) add(source, text string) []PatternError {
	var errs []PatternError
	// A UTF-8 byte order mark is an editor artefact, not part of a pattern.
	text = strings.TrimPrefix(text, "\uFEFF")
	for i, line := range strings.Split(text, "\n") {
		p, ok, reason := parsePattern(strings.TrimSuffix(line, "\r"))
		if reason != "" {
			errs = append(errs, PatternError{Source: source, Line: i + 1, Text: strings.TrimSuffix(line, "\r"), Reason: reason})
			continue
		}
		if !ok {
			continue
		}
		p.source, p.line = source, i+1
		r.patterns = append(r.patterns, p)
	}
	return errs
}

// parsePattern compiles one line. ok is false for blank lines and comments;
// reason is set when the line is unusable.
func parsePattern(line string) (p pattern, ok bool, reason string) {
	p.text = line
	line = trimTrailingSpace(line)
	if line == "" || line[0] == '#' {
		return p, false, ""
	}
	if line[0] == '!' {
		p.negate = true
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") && !escapedAt(line, len(line)-1) {
		p.dirOnly = true
		line = line[:len(line)-1]
	}
	// A slash at the start or in the middle anchors the pattern to the folder
	// of the ignore file; otherwise it matches at any depth.
	anchored := strings.Contains(line, "/")
	line = strings.TrimPrefix(line, "/")
	if line == "" {
		// "/", "!" and "!/" match nothing in git either.
		return p, false, ""
	}
	parts := strings.Split(line, "/")
	if !anchored && parts[0] != "**" {
		p.segs = append(p.segs, nil)
		p.starStar++
	}
	for i, part := range parts {
		if part == "**" {
			if i > 0 && parts[i-1] == "**" {
				continue // a/**/**/b is a/**/b
			}
			p.segs = append(p.segs, nil)
			p.starStar++
			continue
		}
		toks, err := compileSegment(part)
		if err != "" {
			return p, false, err
		}
		p.segs = append(p.segs, toks)
	}
	return p, true, ""
}

// trimTrailingSpace drops trailing spaces and tabs unless escaped with a
// backslash, as git does.
func trimTrailingSpace(s string) string {
	end := len(s)
	for end > 0 && (s[end-1] == ' ' || s[end-1] == '\t') && !escapedAt(s, end-1) {
		end--
	}
	return s[:end]
}

// escapedAt reports whether the byte at i is preceded by an odd number of
// backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// compileSegment turns one slash-free glob into tokens. Consecutive stars
// inside a segment ("a**b") are an ordinary star, as git documents.
func compileSegment(seg string) ([]token, string) {
	var toks []token
	for i := 0; i < len(seg); {
		c := seg[i]
		switch c {
		case '\\':
			if i+1 >= len(seg) {
				return nil, "ends with a lone backslash"
			}
			r, w := decodeRune(seg[i+1:])
			toks = append(toks, token{kind: tokLit, r: r})
			i += 1 + w
		case '*':
			if len(toks) == 0 || toks[len(toks)-1].kind != tokStar {
				toks = append(toks, token{kind: tokStar})
			}
			i++
		case '?':
			toks = append(toks, token{kind: tokAny})
			i++
		case '[':
			set, w := compileSet(seg[i:])
			if set == nil {
				// No closing bracket: the '[' is an ordinary character.
				toks = append(toks, token{kind: tokLit, r: '['})
				i++
				continue
			}
			toks = append(toks, token{kind: tokSet, set: set})
			i += w
		default:
			r, w := decodeRune(seg[i:])
			toks = append(toks, token{kind: tokLit, r: r})
			i += w
		}
	}
	return toks, ""
}

// posixClass returns the test for a [:name:] class git's wildmatch knows.
func posixClass(name string) func(rune) bool {
	switch name {
	case "alnum":
		return func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	case "alpha":
		return unicode.IsLetter
	case "blank":
		return func(r rune) bool { return r == ' ' || r == '\t' }
	case "cntrl":
		return unicode.IsControl
	case "digit":
		return unicode.IsDigit
	case "graph":
		return func(r rune) bool { return unicode.IsGraphic(r) && !unicode.IsSpace(r) }
	case "lower":
		return unicode.IsLower
	case "print":
		return unicode.IsPrint
	case "punct":
		return unicode.IsPunct
	case "space":
		return unicode.IsSpace
	case "upper":
		return unicode.IsUpper
	case "xdigit":
		return func(r rune) bool { return strings.ContainsRune("0123456789abcdefABCDEF", r) }
	}
	return nil
}

// compileSet parses a bracket expression starting at s[0] == '['. It returns
// nil when the bracket is not closed.
func compileSet(s string) (*charSet, int) {
	set := &charSet{}
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		set.negate = true
		i++
	}
	first := true
	for i < len(s) {
		if s[i] == ']' && !first {
			return set, i + 1
		}
		first = false
		if strings.HasPrefix(s[i:], "[:") {
			if end := strings.Index(s[i+2:], ":]"); end >= 0 {
				name := s[i+2 : i+2+end]
				if f := posixClass(name); f != nil {
					set.named = append(set.named, f)
					i += 2 + end + 2
					continue
				}
			}
		}
		lo, w := setChar(s[i:])
		if w == 0 {
			return nil, 0
		}
		i += w
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			hi, w2 := setChar(s[i+1:])
			if w2 == 0 {
				return nil, 0
			}
			i += 1 + w2
			if hi < lo {
				// An empty range matches nothing; keep the set valid.
				continue
			}
			set.ranges = append(set.ranges, runeRange{lo, hi})
			continue
		}
		set.ranges = append(set.ranges, runeRange{lo, lo})
	}
	return nil, 0
}

// setChar reads one possibly escaped character of a bracket expression.
func setChar(s string) (rune, int) {
	if s[0] == '\\' {
		if len(s) < 2 {
			return 0, 0
		}
		r, w := decodeRune(s[1:])
		return r, 1 + w
	}
	return decodeRune(s)
}

// invalidByte maps a byte that is not valid UTF-8 to a value outside Unicode,
// so different invalid bytes stay different and equal bytes stay equal.
const invalidByte = 0x110000

func decodeRune(s string) (rune, int) {
	r, w := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && w <= 1 {
		return invalidByte + rune(s[0]), 1
	}
	return r, w
}

// Match reports whether the rules exclude rel (slash-separated, relative to
// the rules' folder), looking at rel alone: the last pattern that matches
// decides, and a "!" pattern re-includes. isDir says whether rel is a folder;
// patterns ending in "/" only match folders.
//
// Callers walking a tree stop at an excluded folder, which is how git's rule
// "a file cannot be re-included when its parent folder is excluded" holds;
// Ignored applies that rule to a single path. pfazure's pathspec matcher
// differs here: it never knows whether a path is a folder, so "build/" leaves
// the folder name "build" in the hash while dropping its files, and a "!"
// pattern can re-include files under an excluded folder in uploads.
func (r *IgnoreRules) Match(rel string, isDir bool) bool {
	p := r.why(rel, isDir)
	return p != nil && !p.negate
}

// Ignored is Match for a path whose parent folders have not been checked: it
// is excluded when any parent folder is.
func (r *IgnoreRules) Ignored(rel string, isDir bool) bool {
	if r == nil || len(r.patterns) == 0 {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && i > 0 && r.Match(rel[:i], true) {
			return true
		}
	}
	return r.Match(rel, isDir)
}

// Why returns "file:line: pattern" of the pattern that decides rel, or "" when
// none matches or the deciding pattern re-includes it.
func (r *IgnoreRules) Why(rel string, isDir bool) string {
	p := r.why(rel, isDir)
	if p == nil || p.negate {
		return ""
	}
	return fmt.Sprintf("%s:%d: %s", p.source, p.line, p.text)
}

// matchAsPathspec is Match for a folder as pfazure's pathspec matcher sees
// it: it is given the folder's path without a trailing slash, so patterns that
// end in "/" never match the folder itself (only what is inside).
func (r *IgnoreRules) matchAsPathspec(rel string) bool {
	p := r.find(rel, false)
	return p != nil && !p.negate
}

func (r *IgnoreRules) why(rel string, isDir bool) *pattern {
	return r.find(rel, isDir)
}

// find returns the last pattern matching rel. Patterns ending in "/" are
// tried only when dirOnly is true.
func (r *IgnoreRules) find(rel string, dirOnly bool) *pattern {
	if r == nil || len(r.patterns) == 0 || rel == "" {
		return nil
	}
	parts := splitPath(rel)
	for i := len(r.patterns) - 1; i >= 0; i-- {
		p := &r.patterns[i]
		if p.dirOnly && !dirOnly {
			continue
		}
		if p.matchParts(parts) {
			return p
		}
	}
	return nil
}

// splitPath splits rel into its parts, each as runes so globs see characters.
func splitPath(rel string) [][]rune {
	var parts [][]rune
	for _, s := range strings.Split(rel, "/") {
		rs := make([]rune, 0, len(s))
		for i := 0; i < len(s); {
			r, w := decodeRune(s[i:])
			rs = append(rs, r)
			i += w
		}
		parts = append(parts, rs)
	}
	return parts
}

// matchParts matches the whole path. A "**" part matches zero or more parts,
// except at the end, where it matches one or more ("foo/**" is what is inside
// foo, not foo itself).
func (p *pattern) matchParts(parts [][]rune) bool {
	if p.starStar < 2 {
		return matchFrom(p.segs, parts, 0, 0, nil)
	}
	// Several "**" parts can retry the same (pattern, path) positions many
	// times; remembering failures keeps matching polynomial.
	memo := make([]bool, (len(p.segs)+1)*(len(parts)+1))
	return matchFrom(p.segs, parts, 0, 0, memo)
}

func matchFrom(segs [][]token, parts [][]rune, si, pi int, failed []bool) bool {
	if failed != nil && failed[si*(len(parts)+1)+pi] {
		return false
	}
	ok := matchStep(segs, parts, si, pi, failed)
	if !ok && failed != nil {
		failed[si*(len(parts)+1)+pi] = true
	}
	return ok
}

func matchStep(segs [][]token, parts [][]rune, si, pi int, failed []bool) bool {
	for si < len(segs) {
		if segs[si] == nil {
			if si == len(segs)-1 {
				return pi < len(parts)
			}
			for k := pi; k <= len(parts); k++ {
				if matchFrom(segs, parts, si+1, k, failed) {
					return true
				}
			}
			return false
		}
		if pi >= len(parts) || !matchGlob(segs[si], parts[pi]) {
			return false
		}
		si++
		pi++
	}
	return pi == len(parts)
}

// matchGlob matches one segment. With '*' as the only variable-length token,
// backtracking to the last star is enough and stays O(len(toks)*len(s)).
func matchGlob(toks []token, s []rune) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case tokStar:
				starT, starS = ti, si
				ti++
				continue
			case tokAny:
				ti++
				si++
				continue
			case tokLit:
				if t.r == s[si] {
					ti++
					si++
					continue
				}
			case tokSet:
				if s[si] < invalidByte && t.set.has(s[si]) {
					ti++
					si++
					continue
				}
			}
		}
		if starT < 0 {
			return false
		}
		starS++
		ti, si = starT+1, starS
	}
	for ti < len(toks) && toks[ti].kind == tokStar {
		ti++
	}
	return ti == len(toks)
}
