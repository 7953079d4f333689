package requirements

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/suggest"
)

// Requirements returns the requirement lines that parsed, in file order,
// editable ones included.
func (f *File) Requirements() []Requirement {
	var out []Requirement
	for _, e := range f.entries {
		if e.kind == kindRequirement && e.reqErr == nil {
			out = append(out, e.req)
		}
	}
	return out
}

// IndexURLs returns the package indexes named by -i/--index-url and
// --extra-index-url, in file order.
func (f *File) IndexURLs() []IndexURL {
	var out []IndexURL
	for _, e := range f.entries {
		if e.kind != kindOptions {
			continue
		}
		for _, o := range e.opts {
			if !o.hasValue || (o.name != "--index-url" && o.name != "--extra-index-url") {
				continue
			}
			line, col := f.pos.pos(o.valOff())
			out = append(out, IndexURL{
				URL: o.value, Extra: o.name == "--extra-index-url",
				HasPrivate: strings.Contains(o.value, PrivatePlaceholder),
				Line:       line, Column: col,
			})
		}
	}
	return out
}

// Includes returns the nested files named by -r/--requirement and
// -c/--constraint, in file order. Paths are as written (pip resolves them
// from this file's folder).
func (f *File) Includes() []Include {
	var out []Include
	for _, e := range f.entries {
		if e.kind != kindOptions {
			continue
		}
		for _, o := range e.opts {
			if !o.hasValue || (o.name != "--requirement" && o.name != "--constraint") {
				continue
			}
			line, col := f.pos.pos(o.valOff())
			out = append(out, Include{Path: o.value, Constraint: o.name == "--constraint", Line: line, Column: col})
		}
	}
	return out
}

// customImageHint is what the compute-session guide tells users to do with
// local wheels and paths.
const customImageHint = "requirements.txt cannot install local wheels or paths in a compute session: build them into a custom base image " +
	"and set environment.image in flow.dag.yaml, then reset the session (compute-session guide: \"Change the base image\")"

// pinnedPackages are the packages the session base image already has; the
// compute-session guide says not to pin them.
var pinnedPackages = map[string]bool{"promptflow": true, "promptflow-tools": true}

// Check reports what would go wrong in a compute session: pinned promptflow
// or promptflow-tools (warning), local wheels, paths and editable paths
// (error, with the custom base image hint), unknown or misplaced options,
// duplicate requirements, and credentials written into index URLs.
// Syntax errors are Parse's diagnostics and are not repeated here.
func (f *File) Check() diag.List {
	var ds diag.List
	seen := map[string]int{}
	for _, e := range f.entries {
		if e.swallowed >= 0 {
			line, _ := f.pos.pos(f.segs[e.swallowed].start)
			prev, _ := f.pos.pos(f.segs[e.swallowed-1].start)
			ds = append(ds, f.diagAt(f.segs[e.swallowed].start, diag.Warning, CodeSwallowedLine,
				fmt.Sprintf("pip reads line %d as part of the comment on line %d, because that line ends with a backslash", line, prev),
				"remove the trailing backslash from the commented line"))
		}
		for _, o := range e.opts {
			d := f.checkOption(e, o)
			ds = append(ds, d...)
			if !o.known && !o.positional {
				break // pip rejects the whole line; nothing after it matters
			}
		}
		if e.kind != kindRequirement || e.reqErr != nil {
			continue
		}
		r := e.req
		at := e.argAt(0)
		if r.Local {
			what := "local path"
			switch {
			case r.Editable:
				what = "editable local path"
			case strings.HasSuffix(strings.ToLower(r.URL), ".whl"):
				what = "local wheel"
			case strings.HasPrefix(strings.ToLower(r.URL), "file:"):
				what = "file: URL"
			case isArchive(r.URL):
				what = "local archive"
			}
			ds = append(ds, f.diagAt(at, diag.Error, CodeLocalPath,
				fmt.Sprintf("%s %s is not supported in a compute session", what, quote(r.URL)), customImageHint))
			continue
		}
		if pinnedPackages[r.Normalized] && (r.Specifier != "" || r.URL != "") {
			pin, how := r.Specifier, "pinned"
			if pin == "" {
				pin = "@ " + r.URL
			} else if r.Specs[0].Op != "==" && r.Specs[0].Op != "===" || len(r.Specs) > 1 {
				how = "version-constrained"
			}
			ds = append(ds, f.diagAt(at, diag.Warning, CodePinnedPromptflow,
				fmt.Sprintf("%s is %s (%s), but the session base image already includes it", r.Normalized, how, pin),
				fmt.Sprintf("remove the version and write just %s, or build a custom base image with the version you need", r.Normalized)))
		}
		if r.Normalized != "" && r.Marker == "" {
			if prev, ok := seen[r.Normalized]; ok {
				ds = append(ds, f.diagAt(at, diag.Warning, CodeDuplicate,
					fmt.Sprintf("%s is required again (first on line %d)", r.Normalized, prev),
					"keep one line per package; pip fails when the two versions conflict"))
			} else {
				seen[r.Normalized] = r.Line
			}
		}
	}
	return ds
}

func (f *File) checkOption(e entry, o option) diag.List {
	var ds diag.List
	if o.problem != "" {
		return nil // reported by Parse
	}
	if o.positional {
		if e.kind == kindOptions {
			ds = append(ds, f.diagAt(o.off, diag.Warning, CodeIgnoredOption,
				fmt.Sprintf("pip ignores %s on an option line", quote(o.token)),
				"put each requirement and each option on its own line"))
		}
		return ds
	}
	if !o.known {
		hint := "the options pip accepts in requirements files are " + knownOptionList()
		if near := nearestOption(o.name); near != "" {
			hint = "did you mean " + near + "? " + hint
		}
		return append(ds, f.diagAt(o.off, diag.Error, CodeUnknownOption,
			fmt.Sprintf("unknown option %s: pip stops with \"no such option\"", o.name), hint))
	}
	spec := lookupOpt(o.name)
	editableLine := e.kind == kindRequirement && e.req.Editable
	switch {
	case e.kind == kindRequirement && !editableLine && !spec.perReq:
		ds = append(ds, f.diagAt(o.off, diag.Warning, CodeIgnoredOption,
			fmt.Sprintf("pip ignores %s on a requirement line", o.name),
			"put "+o.name+" on a line of its own"))
	case e.kind == kindOptions && spec.perReq:
		ds = append(ds, f.diagAt(o.off, diag.Warning, CodeIgnoredOption,
			fmt.Sprintf("%s applies to a requirement, but this line has none", o.name),
			"write it after the requirement on the same line, e.g. pkg==1.0 "+o.name+"=…"))
	case editableLine && o.name != "--editable" && !spec.perReq:
		ds = append(ds, f.diagAt(o.off, diag.Warning, CodeIgnoredOption,
			fmt.Sprintf("pip ignores %s on an editable line", o.name),
			"put "+o.name+" on a line of its own"))
	}
	if !o.hasValue {
		return ds
	}
	switch o.name {
	case "--index-url", "--extra-index-url", "--find-links":
		ds = append(ds, f.checkURL(o)...)
	case "--requirement", "--constraint":
		p := strings.ReplaceAll(o.value, `\`, "/")
		if urlScheme(p) == "" && (strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") ||
			(len(p) > 2 && p[1] == ':' && p[2] == '/')) {
			ds = append(ds, f.diagAt(o.valOff(), diag.Warning, CodeIncludeOutside,
				fmt.Sprintf("%s %s points outside the flow folder, which the compute session does not have", o.name, quote(o.value)),
				"list the file under additional_includes in flow.dag.yaml and refer to it by its name in the flow folder"))
		}
	}
	return ds
}

func (f *File) checkURL(o option) diag.List {
	v := o.value
	if o.name == "--find-links" && urlScheme(v) == "" {
		return diag.List{f.diagAt(o.valOff(), diag.Error, CodeLocalPath,
			fmt.Sprintf("--find-links %s points at a local folder, which the compute session does not have", quote(v)), customImageHint)}
	}
	if o.name == "--find-links" && strings.HasPrefix(strings.ToLower(v), "file:") {
		return diag.List{f.diagAt(o.valOff(), diag.Error, CodeLocalPath,
			fmt.Sprintf("--find-links %s is a file: URL, which the compute session cannot reach", quote(v)), customImageHint)}
	}
	u, err := url.Parse(strings.ReplaceAll(v, PrivatePlaceholder, "private"))
	if err != nil || u.User == nil {
		return nil
	}
	if strings.Contains(v, PrivatePlaceholder) {
		if u.Scheme != "https" {
			return diag.List{f.diagAt(o.valOff(), diag.Warning, CodeInsecurePrivate,
				fmt.Sprintf("%s sends the session's token over %s", o.name, u.Scheme),
				"use https://{private}@host/… so the token is encrypted in transit")}
		}
		return nil
	}
	if strings.HasPrefix(u.User.String(), "$") || strings.Contains(v, "${") {
		return nil // taken from an environment variable at install time
	}
	return diag.List{f.diagAt(o.valOff(), diag.Warning, CodeCredentials,
		fmt.Sprintf("%s %s has credentials written into the file", o.name, redactURL(u)),
		"do not commit secrets; for an Azure DevOps feed write https://{private}@host/… and give the session a user-assigned managed identity")}
}

// redactURL prints u with its user-info replaced by ***, so the secret never
// reaches output.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	s := c.String()
	if i := strings.Index(s, "://"); i >= 0 {
		return s[:i+3] + "***@" + s[i+3:]
	}
	return s
}

func knownOptionList() string {
	var names []string
	for _, s := range optSpecs {
		n := s.long
		if s.short != "" {
			n = s.short + "/" + n
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// nearestOption returns the long option name is likely a typo of: the
// nearest within three edits, or "".
func nearestOption(name string) string {
	longs := make([]string, 0, len(optSpecs))
	for _, s := range optSpecs {
		longs = append(longs, s.long)
	}
	if near := suggest.Nearest(name, longs, 1, 3); len(near) == 1 {
		return near[0]
	}
	return ""
}
