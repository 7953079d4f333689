// Package requirements owns requirements.txt as a compute session uses it:
// parsing with pip's rules (comments, line continuations, options, -r/-c,
// index URLs, markers, the {private} feed placeholder), checks with positions
// and hints (pinned promptflow, local wheels and paths, unknown options), and
// edits that keep the user's comments, order and line endings. It is pure: it
// reads a file only in Load and never writes one. It imports only diag and
// fault.
package requirements

import (
	"errors"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
)

// File is a parsed requirements file. The zero value is an empty file.
type File struct {
	name    string
	data    []byte
	segs    []segment
	entries []entry
	pos     *posIndex
}

type entryKind int

const (
	kindRequirement entryKind = iota
	kindOptions
)

// entry is one logical line: one or more physical lines joined by trailing
// backslashes, with the comment removed.
type entry struct {
	kind        entryKind
	first, last int  // segment indices
	text        mstr // the logical line after comment removal and strip
	args        mstr // the requirement part (kindRequirement)
	argsAnchor  int  // where to point when args is empty (an editable option with no value)
	editable    bool // args came from -e/--editable
	req         Requirement
	reqErr      *specError
	opts        []option
	comment     int // file offset where the comment starts in the last segment, or -1
	swallowed   int // first segment that a comment on a continued line swallows, or -1
}

// option is one pip option on a line, or a stray positional word.
type option struct {
	name       string // canonical long name, e.g. "--index-url"; as written if unknown
	token      string // the whole word as written (after shlex)
	value      string
	hasValue   bool
	valOffs    []int // file offset of each byte of value
	off        int   // file offset of the option word
	known      bool
	positional bool
	problem    string // syntax problem found while reading it
}

func (o option) valOff() int {
	if len(o.valOffs) > 0 {
		return o.valOffs[0]
	}
	return o.off
}

type optSpec struct {
	long, short string
	takesValue  bool
	perReq      bool
}

// The options pip accepts in requirements files (pip/_internal/req/req_file.py
// SUPPORTED_OPTIONS and SUPPORTED_OPTIONS_REQ).
var optSpecs = []optSpec{
	{"--index-url", "-i", true, false},
	{"--extra-index-url", "", true, false},
	{"--no-index", "", false, false},
	{"--constraint", "-c", true, false},
	{"--requirement", "-r", true, false},
	{"--editable", "-e", true, false},
	{"--find-links", "-f", true, false},
	{"--no-binary", "", true, false},
	{"--only-binary", "", true, false},
	{"--prefer-binary", "", false, false},
	{"--require-hashes", "", false, false},
	{"--pre", "", false, false},
	{"--trusted-host", "", true, false},
	{"--use-feature", "", true, false},
	{"--global-option", "", true, true},
	{"--config-settings", "", true, true},
	{"--hash", "", true, true},
}

func lookupOpt(name string) *optSpec {
	for i := range optSpecs {
		if optSpecs[i].long == name || (optSpecs[i].short != "" && optSpecs[i].short == name) {
			return &optSpecs[i]
		}
	}
	return nil
}

// IndexURL is a package index named by -i/--index-url or --extra-index-url.
type IndexURL struct {
	URL string `json:"url"`
	// Extra is set for --extra-index-url.
	Extra bool `json:"extra,omitempty"`
	// HasPrivate is set when the URL holds the {private} placeholder, which
	// the session replaces with a token from its identity.
	HasPrivate bool `json:"has_private,omitempty"`
	Line       int  `json:"line,omitempty"`
	Column     int  `json:"column,omitempty"`
}

// Include is a nested requirements (-r) or constraints (-c) file.
type Include struct {
	Path       string `json:"path"`
	Constraint bool   `json:"constraint,omitempty"`
	Line       int    `json:"line,omitempty"`
	Column     int    `json:"column,omitempty"`
}

// Diagnostic codes.
const (
	CodeEncoding         = "requirements-encoding"
	CodeInvalid          = "requirements-invalid"
	CodeOptionSyntax     = "requirements-option-syntax"
	CodeUnknownOption    = "requirements-unknown-option"
	CodeIgnoredOption    = "requirements-ignored-option"
	CodeLocalPath        = "requirements-local-path"
	CodePinnedPromptflow = "requirements-pinned-promptflow"
	CodeDuplicate        = "requirements-duplicate"
	CodeCredentials      = "requirements-credentials-in-url"
	CodeInsecurePrivate  = "requirements-insecure-private-feed"
	CodeIncludeOutside   = "requirements-include-outside"
	CodeSwallowedLine    = "requirements-swallowed-line"
)

// PrivatePlaceholder is what a private feed URL holds where the session puts
// a token (compute-session guide: -i https://{private}@feed).
const PrivatePlaceholder = "{private}"

// Load reads and parses a requirements file. The error is for a file that
// cannot be read; problems inside the file are diagnostics.
func Load(path string) (*File, diag.List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fault.Wrap(fault.Validation, err, "cannot read requirements file %s", path).
			WithHint("check environment.python_requirements_txt in flow.dag.yaml; the path is relative to the flow folder")
	}
	f, d := Parse(path, data)
	return f, d, nil
}

// Parse parses requirements file contents. file names the file in
// diagnostics. It never fails: syntax problems come back as diagnostics, and
// the file still round-trips through Bytes.
func Parse(file string, data []byte) (*File, diag.List) {
	f := &File{name: file, data: append([]byte(nil), data...)}
	f.pos = newPosIndex(f.data)
	f.segs = splitSegments(f.data)
	var ds diag.List
	if !utf8.Valid(f.data) {
		ds = append(ds, f.diagAt(firstInvalid(f.data), diag.Error, CodeEncoding,
			"requirements file is not valid UTF-8",
			"save the file as UTF-8; pip and promptflow read it as UTF-8"))
	}
	f.entries = f.logicalLines()
	for i := range f.entries {
		e := &f.entries[i]
		f.parseEntry(e)
		if e.reqErr != nil && utf8.ValidString(e.text.s) {
			hint := specHint
			if e.editable {
				hint = editableHint
			}
			ds = append(ds, f.diagAt(e.argAt(e.reqErr.at), diag.Error, CodeInvalid,
				"invalid requirement "+quote(e.args.s)+": "+e.reqErr.msg, hint))
		}
		for _, o := range e.opts {
			if o.problem != "" {
				ds = append(ds, f.diagAt(o.off, diag.Error, CodeOptionSyntax, o.problem, optionHint(o)))
			}
		}
	}
	return f, ds
}

func optionHint(o option) string {
	if s := lookupOpt(o.name); s != nil && s.takesValue {
		return "write it as " + s.long + " VALUE or " + s.long + "=VALUE"
	}
	return "see pip's requirements file format"
}

func quote(s string) string {
	return "\"" + strings.ReplaceAll(s, "\"", "\\\"") + "\""
}

func (f *File) diagAt(off int, sev diag.Severity, code, msg, hint string) diag.Diagnostic {
	line, col := f.pos.pos(off)
	return diag.Diagnostic{Severity: sev, Code: code, File: f.name, Line: line, Column: col, Message: msg, Hint: hint}
}

// logicalLines joins continuation lines and drops comments the way pip's
// join_lines and ignore_comments do.
func (f *File) logicalLines() []entry {
	var out []entry
	var pending []mstr // pieces of a continued line, joined once at its end
	inCont := false
	pendingFirst := 0
	join := func(parts []mstr) mstr {
		n := 0
		for _, p := range parts {
			n += len(p.s)
		}
		var b strings.Builder
		b.Grow(n)
		off := make([]int, 0, n)
		for _, p := range parts {
			b.WriteString(p.s)
			off = append(off, p.off...)
		}
		return mstr{s: b.String(), off: off}
	}
	swallowed := -1
	emit := func(first, last int, m mstr) {
		seg := f.segs[last]
		e := entry{first: first, last: last, comment: -1, swallowed: swallowed}
		swallowed = -1
		if cs := commentStart(f.lineText(last)); cs >= 0 {
			e.comment = seg.start + cs
		}
		if c := commentStart(m.s); c >= 0 {
			m = m.slice(0, c)
		}
		e.text = m.trim()
		if e.text.s == "" && e.swallowed < 0 {
			return
		}
		out = append(out, e)
	}
	for i, seg := range f.segs {
		line := fromData(f.data, seg.start, seg.end)
		if !strings.HasSuffix(line.s, `\`) || isCommentLine(line.s) {
			if isCommentLine(line.s) {
				// pip prefixes a space so the comment still matches later.
				line = mstr{s: " ", off: []int{seg.start}}.cat(line)
			}
			if inCont {
				emit(pendingFirst, i, join(append(pending, line)))
				pending, inCont = nil, false
			} else {
				emit(i, i, line)
			}
			continue
		}
		if !inCont {
			pendingFirst, inCont = i, true
		}
		if swallowed < 0 && commentStart(line.s) >= 0 && i+1 < len(f.segs) {
			swallowed = i + 1
		}
		pending = append(pending, line.stripChar('\\'))
	}
	if inCont {
		emit(pendingFirst, len(f.segs)-1, join(pending))
	}
	return out
}

func (f *File) lineText(i int) string {
	return string(f.data[f.segs[i].start:f.segs[i].end])
}

// parseEntry splits a logical line into requirement and options as pip's
// break_args_options does (tokens split on single spaces; the requirement
// ends at the first token that starts with '-').
func (f *File) parseEntry(e *entry) {
	s := e.text.s
	argEnd, optStart := len(s), len(s)
	for i := 0; i < len(s); {
		if s[i] == '-' {
			argEnd, optStart = i, i
			if i > 0 {
				argEnd = i - 1
			}
			break
		}
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			break
		}
		i += j + 1
	}
	e.opts = f.parseOptions(e.text.slice(optStart, len(s)))
	editable := false
	switch args := e.text.slice(0, argEnd); {
	case args.s != "":
		e.kind, e.args = kindRequirement, args
	default:
		e.kind = kindOptions
		for _, o := range e.opts {
			if o.name == "--editable" && o.hasValue {
				e.kind, e.args, editable = kindRequirement, mstr{s: o.value, off: o.valOffs}, true
				e.argsAnchor, e.editable = o.valOff(), true
				break
			}
		}
	}
	if e.kind != kindRequirement {
		return
	}
	var r Requirement
	if editable {
		r = Requirement{Text: e.args.s, URL: e.args.s, Editable: true, direct: true}
		e.reqErr = classifyEditable(&r)
	} else {
		var err error
		r, err = parseRequirement(strings.TrimRightFunc(e.args.s, isPySpace))
		if err != nil {
			var se *specError
			if !errors.As(err, &se) {
				se = &specError{at: 0, msg: err.Error()}
			}
			e.reqErr = se
		}
	}
	if e.reqErr != nil {
		return
	}
	r.Line, r.Column = f.pos.pos(e.argAt(0))
	for _, o := range e.opts {
		if o.known && lookupOpt(o.name) != nil && lookupOpt(o.name).perReq {
			r.Options = append(r.Options, o.token)
		}
	}
	e.req = r
}

const editableHint = "write -e git+https://host/org/repo.git#egg=name (a VCS URL); a compute session cannot install local paths, so build those into a custom base image"

// argAt is the file offset of byte i of the requirement part; an empty
// editable value ("--editable=") has no bytes, so it points at the option.
func (e *entry) argAt(i int) int {
	if len(e.args.off) == 0 {
		return e.argsAnchor
	}
	return e.args.at(i)
}

// classifyEditable applies pip's parse_editable: a local path or file: URL,
// or a VCS URL; anything else is an error.
func classifyEditable(r *Requirement) *specError {
	u := r.URL
	base := u
	if i := strings.LastIndex(base, "["); i > 0 && strings.HasSuffix(base, "]") {
		base = base[:i]
	}
	sc := urlScheme(u)
	switch {
	case strings.TrimSpace(u) == "":
		return &specError{at: 0, msg: "--editable needs a path to a local project or a VCS URL"}
	case sc == "file" || strings.HasSuffix(sc, "+file"):
		r.Local = true
	case sc != "" && strings.Contains(sc, "+"):
	case sc == "":
		r.Local = true
		base = strings.TrimRight(strings.ReplaceAll(base, `\`, "/"), "/")
		r.Name = nameFromURL(u)
		if r.Name == "" {
			r.Name = base[strings.LastIndex(base, "/")+1:]
		}
	default:
		return &specError{at: 0, msg: u + " is not a valid editable requirement: it should be a path to a local project or a VCS URL (beginning with git+, hg+, svn+ or bzr+)"}
	}
	if r.Name == "" {
		r.Name = nameFromURL(u)
	}
	r.Normalized = Normalize(r.Name)
	return nil
}

// parseOptions reads the options part of a line the way pip does: shlex
// splitting, then optparse with unique-prefix matching of long options.
func (f *File) parseOptions(m mstr) []option {
	if m.s == "" {
		return nil
	}
	toks, problem := shlexSplit(m)
	if problem != "" {
		// shlex fails before optparse sees anything.
		return []option{{name: "shlex", token: m.s, off: m.at(0), problem: problem, known: true}}
	}
	var out []option
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.s == "--" {
			break
		}
		if !strings.HasPrefix(t.s, "-") || t.s == "-" {
			out = append(out, option{positional: true, token: t.s, off: t.off})
			continue
		}
		o := option{token: t.s, off: t.off}
		var spec *optSpec
		var inline []int // offsets of an inline value
		hasInline := false
		if strings.HasPrefix(t.s, "--") {
			name := t.s
			if k := strings.IndexByte(name, '='); k >= 0 {
				name, hasInline = name[:k], true
				o.value, inline = t.s[k+1:], t.offs[k+1:]
			}
			spec = matchLong(name)
			o.name = name
		} else {
			o.name = t.s[:2]
			spec = lookupOpt(o.name)
			if len(t.s) > 2 {
				hasInline = true
				o.value, inline = t.s[2:], t.offs[2:]
			}
		}
		if spec == nil {
			out = append(out, o)
			continue
		}
		o.known, o.name = true, spec.long
		switch {
		case spec.takesValue && hasInline:
			o.hasValue, o.valOffs = true, inline
		case spec.takesValue && i+1 < len(toks):
			i++
			o.value, o.hasValue, o.valOffs = toks[i].s, true, toks[i].offs
		case spec.takesValue:
			o.problem = o.token + " option requires a value"
		case hasInline:
			o.problem = o.name + " option does not take a value"
		}
		out = append(out, o)
	}
	return out
}

// matchLong resolves a long option, accepting a unique prefix as optparse does.
func matchLong(name string) *optSpec {
	if s := lookupOpt(name); s != nil {
		return s
	}
	var found *optSpec
	for i := range optSpecs {
		if strings.HasPrefix(optSpecs[i].long, name) && len(name) > 2 {
			if found != nil {
				return nil
			}
			found = &optSpecs[i]
		}
	}
	return found
}

// token is one shlex word with the file offset of each of its bytes.
type token struct {
	s    string
	off  int
	offs []int
}

// shlexSplit is shlex.split in POSIX mode: space, tab, CR and LF separate;
// single quotes are literal; double quotes allow \" and \\; a backslash
// outside quotes escapes the next character.
func shlexSplit(m mstr) ([]token, string) {
	var toks []token
	var cur *token
	start := func(i int) {
		if cur == nil {
			cur = &token{off: m.at(i)}
		}
	}
	var buf []byte
	add := func(i int) {
		buf = append(buf, m.s[i])
		cur.offs = append(cur.offs, m.at(i))
	}
	flush := func() {
		cur.s = string(buf)
		toks = append(toks, *cur)
		cur, buf = nil, buf[:0]
	}
	s := m.s
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if cur != nil {
				flush()
			}
		case c == '\'':
			start(i)
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return toks, "No closing quotation"
			}
			for k := i + 1; k < i+1+j; k++ {
				add(k)
			}
			i += j + 1
		case c == '"':
			start(i)
			k := i + 1
			for ; k < len(s) && s[k] != '"'; k++ {
				if s[k] == '\\' && k+1 < len(s) && (s[k+1] == '"' || s[k+1] == '\\') {
					k++
				}
				add(k)
			}
			if k >= len(s) {
				return toks, "No closing quotation"
			}
			i = k
		case c == '\\':
			start(i)
			if i+1 >= len(s) {
				return toks, "No escaped character"
			}
			i++
			add(i)
		default:
			start(i)
			add(i)
		}
	}
	if cur != nil {
		flush()
	}
	return toks, ""
}
