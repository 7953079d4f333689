package requirements

import (
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// Bytes returns the file contents: exactly the parsed input while nothing was
// added, and the edited text after Add.
func (f *File) Bytes() []byte { return append([]byte(nil), f.data...) }

// Lines returns the lines as promptflow puts them into the session
// environment (protocol §3.6: open(path).read().splitlines()). For a file that
// is not valid UTF-8 promptflow keeps the path instead; use SplitLines to see
// that case.
func (f *File) Lines() []string {
	out := make([]string, len(f.segs))
	for i, s := range f.segs {
		out[i] = string(f.data[s.start:s.end])
	}
	return out
}

// Render returns the contents with every {private} in an index or find-links
// URL replaced by token, for handing to pip at install time. The token is
// percent-encoded where a URL's user-info part needs it (":" is kept, so
// "user:secret" works). Nothing here writes the result anywhere.
func (f *File) Render(token string) []byte {
	esc := escapeUserinfo(token)
	type repl struct{ start, end int }
	var rs []repl
	for _, e := range f.entries {
		for _, o := range e.opts {
			if !o.hasValue || (o.name != "--index-url" && o.name != "--extra-index-url" && o.name != "--find-links") {
				continue
			}
			for k := 0; ; {
				i := strings.Index(o.value[k:], PrivatePlaceholder)
				if i < 0 {
					break
				}
				i += k
				k = i + len(PrivatePlaceholder)
				a, b := o.valOffs[i], o.valOffs[k-1]
				if b-a == len(PrivatePlaceholder)-1 {
					rs = append(rs, repl{a, b + 1})
				}
			}
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
	var b strings.Builder
	last := 0
	for _, r := range rs {
		if r.start < last {
			continue
		}
		b.Write(f.data[last:r.start])
		b.WriteString(esc)
		last = r.end
	}
	b.Write(f.data[last:])
	return []byte(b.String())
}

func escapeUserinfo(s string) string {
	const keep = "-._~!$&'()*+,;=:"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Add adds a requirement, or upgrades the one with the same PEP 503 name in
// place: its line keeps its position, indentation, trailing comment and
// per-requirement options except --hash (hashes name the files of the old
// version). Later lines for the same package are removed so pip does not see
// two conflicting versions. A new package goes at the end, in the file's line
// ending style. changed is false when the file already says exactly this.
// An invalid spec, an option or a local path is a *fault.Error (Validation)
// with a hint.
func (f *File) Add(spec string) (changed bool, err error) {
	r, err := ParseSpec(spec)
	if err != nil {
		return false, err
	}
	if r.Local {
		return false, fault.New(fault.Validation, "cannot add %q: it is a local path", strings.TrimSpace(spec)).WithHint("%s", customImageHint)
	}
	text := strings.TrimFunc(spec, isPySpace)
	var matches []int
	for i, e := range f.entries {
		if e.kind != kindRequirement || e.reqErr != nil {
			continue
		}
		if (r.Normalized != "" && e.req.Normalized == r.Normalized) || (r.Normalized == "" && e.req.URL == r.URL) {
			matches = append(matches, i)
		}
	}
	if len(matches) == 0 {
		f.reparse(f.appendLine(text))
		return true, nil
	}
	first := f.entries[matches[0]]
	if len(matches) == 1 && !first.req.Editable && first.req.key() == r.key() {
		return false, nil
	}
	replace := map[int]string{} // first segment -> new text (with terminator)
	drop := map[int]bool{}
	replace[first.first] = f.replacement(first, text)
	for s := first.first + 1; s <= first.last; s++ {
		drop[s] = true
	}
	for _, m := range matches[1:] {
		e := f.entries[m]
		for s := e.first; s <= e.last; s++ {
			drop[s] = true
		}
	}
	var b strings.Builder
	for i, s := range f.segs {
		switch {
		case drop[i]:
		case replace[i] != "":
			b.WriteString(replace[i])
		default:
			b.Write(f.data[s.start:s.next])
		}
	}
	f.reparse([]byte(b.String()))
	return true, nil
}

// replacement builds the new physical line for entry e: its indentation, the
// new requirement, the per-requirement options worth keeping, its comment and
// the terminator of its last line.
func (f *File) replacement(e entry, text string) string {
	firstLine := f.lineText(e.first)
	indent := firstLine[:len(firstLine)-len(strings.TrimLeftFunc(firstLine, isPySpace))]
	var b strings.Builder
	b.WriteString(indent)
	b.WriteString(text)
	for _, o := range e.opts {
		if o.known && o.name != "--hash" && lookupOpt(o.name) != nil && lookupOpt(o.name).perReq {
			b.WriteString(" " + shellQuote(o.token))
		}
	}
	last := f.segs[e.last]
	if e.comment >= 0 {
		c := string(f.data[e.comment:last.end])
		if c != "" && !isPySpace(rune(c[0])) {
			b.WriteString(" ")
		}
		b.WriteString(c)
	}
	term := string(f.data[last.end:last.next])
	if term == "" && e.last < len(f.segs)-1 {
		term = "\n"
	}
	b.WriteString(term)
	return b.String()
}

func shellQuote(s string) string {
	if !strings.ContainsAny(s, " \t'\"\\") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// appendLine returns the contents with text added as a new last line.
func (f *File) appendLine(text string) []byte {
	term := "\n"
	for _, s := range f.segs {
		if t := string(f.data[s.end:s.next]); t == "\n" || t == "\r\n" || t == "\r" {
			term = t
			break
		}
	}
	out := append([]byte(nil), f.data...)
	if n := len(f.segs); n > 0 {
		last := f.segs[n-1]
		if last.next == last.end {
			out = append(out, term...)
		}
		if lt := f.lineText(n - 1); strings.HasSuffix(lt, `\`) && !isCommentLine(lt) {
			// An empty line ends the dangling continuation, so the new
			// requirement is not glued onto it.
			out = append(out, term...)
		}
	}
	out = append(out, text...)
	return append(out, term...)
}

func (f *File) reparse(data []byte) {
	nf, _ := Parse(f.name, data)
	*f = *nf
}
