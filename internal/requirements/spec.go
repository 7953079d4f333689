package requirements

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// Spec is one version clause of a requirement, such as ">=" "1.0".
type Spec struct {
	Op      string `json:"op"`
	Version string `json:"version"`
}

// Requirement is one requirement line of a requirements file (or a spec given
// to Add). Fields that the line does not have are empty.
type Requirement struct {
	// Name is the project name as written; for a URL, a path or an editable it
	// is the name pip derives (wheel file name or #egg=), possibly empty.
	Name string `json:"name"`
	// Normalized is Name normalized as PEP 503 says (lower case, runs of -_.
	// replaced by one -), the key pip and package indexes use.
	Normalized string   `json:"normalized"`
	Extras     []string `json:"extras,omitempty"`
	// Specifier is the version specifier with the spaces removed, e.g.
	// ">=1.0,<2"; Specs the same clause by clause.
	Specifier string `json:"specifier,omitempty"`
	Specs     []Spec `json:"specs,omitempty"`
	// URL is the target of "name @ url", a direct URL or path line, or the
	// value of -e/--editable.
	URL    string `json:"url,omitempty"`
	Marker string `json:"marker,omitempty"`
	// Editable is set for -e/--editable lines.
	Editable bool `json:"editable,omitempty"`
	// Local is set when the requirement points at this machine: a path, a
	// file: URL or an archive file name. A compute session cannot install it.
	Local bool `json:"local,omitempty"`
	// Options are per-requirement options as written (--hash=…,
	// --config-settings=…, --global-option=…).
	Options []string `json:"options,omitempty"`
	// Text is the requirement as written, without options or comment.
	Text   string `json:"text"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`

	direct bool // written as a bare URL, path or editable, not "name @ url"
}

// String renders the requirement in a canonical form: normalized extras in
// sorted order, specifier without spaces, "; " before the marker.
func (r Requirement) String() string {
	if r.direct {
		s := r.URL
		if r.Editable {
			s = "-e " + s
		}
		if r.Marker != "" {
			s += "; " + r.Marker
		}
		return s
	}
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		ex := append([]string(nil), r.Extras...)
		sort.Strings(ex)
		b.WriteString("[" + strings.Join(ex, ",") + "]")
	}
	if r.URL != "" {
		b.WriteString(" @ " + r.URL)
		if r.Marker != "" {
			b.WriteString(" ")
		}
	} else {
		b.WriteString(r.Specifier)
	}
	if r.Marker != "" {
		b.WriteString("; " + r.Marker)
	}
	return b.String()
}

// key identifies what the requirement asks for, ignoring spelling: the
// normalized name, extras, specifier, URL and marker.
func (r Requirement) key() string {
	n := r
	n.Name = r.Normalized
	return n.String()
}

// Normalize returns name normalized as PEP 503 says.
func Normalize(name string) string {
	return strings.ToLower(normRE.ReplaceAllString(name, "-"))
}

var normRE = regexp.MustCompile(`[-_.]+`)

// specError is a parse failure at a byte offset of the parsed text.
type specError struct {
	at  int
	msg string
}

func (e *specError) Error() string { return e.msg }

const specHint = `write NAME[EXTRAS] SPECIFIER; MARKER, for example: requests[socks]>=2.31,<3; python_version >= "3.9"`

// ParseSpec parses one requirement as it may appear on a requirements line
// (without pip options): a PEP 508 requirement, a URL, or a path. A path or
// file: URL parses, with Local set; Add refuses it. The error is a
// *fault.Error of kind Validation with a hint.
func ParseSpec(s string) (Requirement, error) {
	t := strings.TrimFunc(s, isPySpace)
	if t == "" {
		return Requirement{}, fault.New(fault.Validation, "empty requirement").WithHint("%s", specHint)
	}
	if strings.HasPrefix(t, "-") {
		return Requirement{}, fault.New(fault.Validation, "invalid requirement %q: %s is an option, not a requirement", t, strings.Fields(t)[0]).
			WithHint("%s", specHint)
	}
	r, err := parseRequirement(t)
	if err != nil {
		return Requirement{}, fault.New(fault.Validation, "invalid requirement %q: %s", t, err.Error()).WithHint("%s", specHint)
	}
	return r, nil
}

var vcsSchemes = map[string]bool{}

func init() {
	for _, v := range []string{"git", "hg", "svn", "bzr"} {
		vcsSchemes[v] = true
		for _, s := range []string{"http", "https", "ssh", "file", "git", "svn", "ftp", "sftp", "static"} {
			vcsSchemes[v+"+"+s] = true
		}
	}
}

// urlScheme returns the scheme pip's is_url accepts (http, https, file, ftp,
// or a VCS scheme), lower-cased, or "".
func urlScheme(s string) string {
	i := strings.Index(s, ":")
	if i < 0 {
		return ""
	}
	sc := strings.ToLower(s[:i])
	switch {
	case sc == "http" || sc == "https" || sc == "file" || sc == "ftp":
		return sc
	case vcsSchemes[sc]:
		return sc
	}
	return ""
}

// looksLikePath is pip's _looks_like_path, with both separators accepted so a
// Windows path written on Linux is still recognised.
func looksLikePath(s string) bool {
	return strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".")
}

var archiveExts = []string{".whl", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma", ".zip", ".tar.gz", ".tgz", ".tar"}

func isArchive(s string) bool {
	l := strings.ToLower(s)
	for _, e := range archiveExts {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	return false
}

// parseRequirement classifies a requirement as pip's install_req_from_line
// does (URL, path, then PEP 508) and parses it.
func parseRequirement(t string) (Requirement, error) {
	r := Requirement{Text: t}
	if sc := urlScheme(t); sc != "" {
		r.direct = true
		u, marker := t, ""
		if i := strings.Index(t, "; "); i >= 0 {
			u, marker = strings.TrimRightFunc(t[:i], isPySpace), strings.TrimSpace(t[i+2:])
			if err := checkMarker(marker); err != nil {
				return r, fmt.Errorf("bad marker: %v", err) //nolint:errorlint // the caller's errors.As must find this error's position, not the inner one's
			}
		}
		r.URL, r.Marker = u, marker
		r.Local = sc == "file" || strings.HasSuffix(sc, "+file")
		r.Name = nameFromURL(u)
		r.Normalized = Normalize(r.Name)
		return r, nil
	}
	base := t
	if i := strings.Index(t, ";"); i >= 0 {
		base = strings.TrimRightFunc(t[:i], isPySpace)
	}
	noExtras := base
	if i := strings.LastIndex(base, "["); i > 0 && strings.HasSuffix(base, "]") {
		noExtras = base[:i]
	}
	if looksLikePath(base) || isArchive(noExtras) {
		// "name @ url" with a slash in the URL is still PEP 508, as in pip.
		if at := strings.Index(base, "@"); at < 0 || looksLikePath(base[:at]) {
			r.URL, r.direct = base, true
			if base != t {
				r.Marker = strings.TrimSpace(t[strings.Index(t, ";")+1:])
				if err := checkMarker(r.Marker); err != nil {
					return r, fmt.Errorf("bad marker: %v", err) //nolint:errorlint // the caller's errors.As must find this error's position, not the inner one's
				}
			}
			r.Local = true
			r.Name = nameFromURL(noExtras)
			r.Normalized = Normalize(r.Name)
			return r, nil
		}
	}
	if err := parsePEP508(t, &r); err != nil {
		if looksLikePath(base) {
			return r, fmt.Errorf("%v; it looks like a path", err) //nolint:errorlint // the caller's errors.As must find this error's position, not the inner one's
		}
		return r, err
	}
	if r.URL != "" {
		if sc := urlScheme(r.URL); sc == "file" || strings.HasSuffix(sc, "+file") {
			r.Local = true
		}
	}
	return r, nil
}

var eggRE = regexp.MustCompile(`[#&]egg=([^&]*)`)

// nameFromURL derives the project name pip would use for a URL or a path: the
// #egg= fragment, or the distribution part of a wheel or sdist file name.
func nameFromURL(u string) string {
	if m := eggRE.FindStringSubmatch(u); m != nil {
		n := m[1]
		if i := strings.Index(n, "["); i >= 0 {
			n = n[:i]
		}
		return n
	}
	p := u
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.ReplaceAll(p, `\`, "/")
	file := path.Base(strings.TrimRight(p, "/"))
	l := strings.ToLower(file)
	if strings.HasSuffix(l, ".whl") {
		if i := strings.Index(file, "-"); i > 0 {
			return file[:i]
		}
		return ""
	}
	for _, e := range archiveExts {
		if strings.HasSuffix(l, e) {
			stem := file[:len(file)-len(e)]
			// An sdist is name-version; the version starts at the last '-'
			// followed by a digit.
			for i := len(stem) - 1; i > 0; i-- {
				if stem[i] == '-' && i+1 < len(stem) && stem[i+1] >= '0' && stem[i+1] <= '9' {
					return stem[:i]
				}
			}
			return ""
		}
	}
	return ""
}

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`)
	opRE    = regexp.MustCompile(`^(===|~=|==|!=|<=|>=|<|>)`)
	pre     = `(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?`
	post    = `(?:(?:-[0-9]+)|(?:[-_.]?(?:post|rev|r)[-_.]?[0-9]*))?`
	dev     = `(?:[-_.]?dev[-_.]?[0-9]*)?`
	local   = `(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)`
	verEqRE = regexp.MustCompile(`(?i)^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*` + pre + post + dev + `(?:` + local + `|\.\*)?`)
	verCoRE = regexp.MustCompile(`(?i)^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)+` + pre + post + dev)
	verRE   = regexp.MustCompile(`(?i)^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*` + pre + post + dev)
	arbRE   = regexp.MustCompile(`^[^\s;)]*`)
)

type scanner struct {
	s string
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *scanner) rest() string { return p.s[p.i:] }

func (p *scanner) errf(format string, args ...any) error {
	return &specError{at: p.i, msg: fmt.Sprintf(format, args...)}
}

// parsePEP508 parses a dependency specifier (PEP 508 as packaging implements
// it): name, extras, then either "@ url" or a version specifier, then an
// optional "; marker".
func parsePEP508(t string, r *Requirement) error {
	p := &scanner{s: t}
	p.ws()
	name := nameRE.FindString(p.rest())
	if name == "" {
		return p.errf("expected a package name at %q", abbrev(p.rest()))
	}
	r.Name, r.Normalized = name, Normalize(name)
	p.i += len(name)
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '[' {
		p.i++
		for {
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ']' && len(r.Extras) == 0 {
				break
			}
			ex := nameRE.FindString(p.rest())
			if ex == "" {
				return p.errf("expected an extra name at %q", abbrev(p.rest()))
			}
			r.Extras = append(r.Extras, Normalize(ex))
			p.i += len(ex)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			break
		}
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return p.errf("expected ']' to close the extras")
		}
		p.i++
		p.ws()
	}
	if p.i < len(p.s) && p.s[p.i] == '@' {
		p.i++
		p.ws()
		start := p.i
		for p.i < len(p.s) && !isPySpace(rune(p.s[p.i])) {
			p.i++
		}
		r.URL = p.s[start:p.i]
		if r.URL == "" {
			return p.errf("expected a URL after '@'")
		}
		if !strings.Contains(r.URL, ":") && !strings.HasPrefix(r.URL, "/") {
			return &specError{at: start, msg: fmt.Sprintf("invalid URL %q", r.URL)}
		}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] != ';' {
			return p.errf("expected end or ';' after the URL")
		}
	} else {
		if err := parseSpecifier(p, r); err != nil {
			return err
		}
	}
	p.ws()
	if p.i < len(p.s) {
		if p.s[p.i] != ';' {
			return p.errf("expected a version specifier, ';' or end, found %q", abbrev(p.rest()))
		}
		p.i++
		m := strings.TrimSpace(p.rest())
		if err := checkMarker(m); err != nil {
			return &specError{at: p.i, msg: "bad marker: " + err.Error()}
		}
		r.Marker = m
	}
	return nil
}

func parseSpecifier(p *scanner, r *Requirement) error {
	paren := false
	if p.i < len(p.s) && p.s[p.i] == '(' {
		paren = true
		p.i++
		p.ws()
	}
	for {
		op := opRE.FindString(p.rest())
		if op == "" {
			if len(r.Specs) > 0 {
				return p.errf("expected a version operator after ','")
			}
			break
		}
		p.i += len(op)
		p.ws()
		vstart := p.i
		var re *regexp.Regexp
		switch op {
		case "===":
			re = arbRE
		case "==", "!=":
			re = verEqRE
		case "~=":
			re = verCoRE
		default:
			re = verRE
		}
		v := re.FindString(p.rest())
		if v == "" {
			return p.errf("invalid version after %q: %q", op, abbrev(p.rest()))
		}
		p.i += len(v)
		if op != "===" && p.i < len(p.s) && isVersionChar(p.s[p.i]) {
			return &specError{at: vstart, msg: fmt.Sprintf("invalid version after %q: %q", op, abbrev(p.s[vstart:]))}
		}
		r.Specs = append(r.Specs, Spec{Op: op, Version: v})
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			p.ws()
			continue
		}
		break
	}
	if paren {
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return p.errf("expected ')' to close the version specifier")
		}
		p.i++
	}
	parts := make([]string, len(r.Specs))
	for i, s := range r.Specs {
		parts[i] = s.Op + s.Version
	}
	r.Specifier = strings.Join(parts, ",")
	return nil
}

func isVersionChar(c byte) bool {
	return c == '.' || c == '*' || c == '+' || c == '!' || c == '-' || c == '_' ||
		(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func abbrev(s string) string {
	if len(s) > 30 {
		return s[:30] + "…"
	}
	return s
}

var markerVarRE = regexp.MustCompile(`^(?:python_version|python_full_version|os[._]name|sys[._]platform|platform_(?:release|system)|platform[._](?:version|machine|python_implementation)|python_implementation|implementation_(?:name|version)|extra|dependency_groups)\b`)

// checkMarker validates an environment marker against PEP 508's grammar.
func checkMarker(m string) error {
	if strings.TrimSpace(m) == "" {
		return fmt.Errorf("empty marker after ';'")
	}
	p := &scanner{s: m}
	if err := markerOr(p); err != nil {
		return err
	}
	p.ws()
	if p.i < len(p.s) {
		return fmt.Errorf("unexpected %q", abbrev(p.rest()))
	}
	return nil
}

func keyword(p *scanner, kw string) bool {
	if !strings.HasPrefix(p.rest(), kw) {
		return false
	}
	end := p.i + len(kw)
	if end < len(p.s) && (isVersionChar(p.s[end]) && p.s[end] != '.') {
		return false
	}
	p.i = end
	return true
}

func markerOr(p *scanner) error {
	for {
		if err := markerAnd(p); err != nil {
			return err
		}
		p.ws()
		if !keyword(p, "or") {
			return nil
		}
	}
}

func markerAnd(p *scanner) error {
	for {
		if err := markerAtom(p); err != nil {
			return err
		}
		p.ws()
		if !keyword(p, "and") {
			return nil
		}
	}
}

func markerAtom(p *scanner) error {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		if err := markerOr(p); err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return fmt.Errorf("expected ')' in marker")
		}
		p.i++
		return nil
	}
	if err := markerVar(p); err != nil {
		return err
	}
	p.ws()
	switch {
	case keyword(p, "in"):
	case keyword(p, "not"):
		p.ws()
		if !keyword(p, "in") {
			return fmt.Errorf("expected 'in' after 'not' in marker")
		}
	default:
		op := opRE.FindString(p.rest())
		if op == "" {
			return fmt.Errorf("expected a comparison operator in marker at %q", abbrev(p.rest()))
		}
		p.i += len(op)
	}
	p.ws()
	return markerVar(p)
}

func markerVar(p *scanner) error {
	p.ws()
	if p.i < len(p.s) && (p.s[p.i] == '\'' || p.s[p.i] == '"') {
		q := p.s[p.i]
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return fmt.Errorf("unterminated string in marker")
		}
		p.i += end + 2
		return nil
	}
	v := markerVarRE.FindString(p.rest())
	if v == "" {
		return fmt.Errorf("expected a marker variable or a quoted string at %q", abbrev(p.rest()))
	}
	p.i += len(v)
	return nil
}
