package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flexmeta"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Options changes what Build leaves out.
type Options struct {
	// IgnoreToolsJSON leaves out .promptflow/flow.tools.json. pfazure does so
	// when it submits a run of a flow that is not C#; `flow create` keeps it.
	IgnoreToolsJSON bool
	// FlexSignature, when set, reads a flex flow's entry signature, which
	// is then written into the snapshot's flow.flex.yaml (flexmeta.Apply).
	FlexSignature SignatureFunc
	// FlowContent, when set, is the flow file's content: the file is not on
	// disk (a flex flow made from --flow module:function, as promptflow's
	// SDK makes one) and lands at the snapshot root under the flow file's name.
	FlowContent []byte
}

// SignatureFunc reads the signature of entry, whose module is under dir.
type SignatureFunc func(ctx context.Context, dir, entry string) (*flexmeta.Signature, error)

// Diagnostic codes reported by Build (and, as error text, by ListDir). They
// are stable: tests and other packages match on them.
const (
	CodeIncludeEmpty        = "include-empty"        // error: an additional_includes entry is blank
	CodeIncludeNotFound     = "include-not-found"    // error: the include does not exist (names it as written and resolved)
	CodeIncludeHoldsFlow    = "include-holds-flow"   // error: the include is the file-system root, the flow folder or a folder above it
	CodeIncludeUnresolvable = "include-unresolvable" // error: the include's path cannot be resolved (permissions, link loop)
	CodeIncludeConflict     = "include-conflict"     // error: two sources put different content at one path
	CodeIncludeAbsolute     = "include-absolute"     // warning: an absolute include makes the flow depend on this machine
	CodeIncludeRenamed      = "include-renamed"      // warning: the include is a symlink and lands under its target's name
	CodeIncludeIgnored      = "include-ignored"      // warning: the ignore rules leave the include out
	CodeSymlinkOutside      = "symlink-outside"      // error: a symlink's target is outside the flow folder and the includes
	CodeSymlinkBroken       = "symlink-broken"       // error: a symlink's target does not exist
	CodeSymlinkLoop         = "symlink-loop"         // error: a symlink loops back to a folder that holds it
	CodeUnreadable          = "unreadable"           // error: a file or folder cannot be read
	CodeSpecialFile         = "special-file"         // warning: a device, socket or pipe is left out
	CodeIgnorePattern       = "ignore-pattern"       // warning: a line of .amlignore/.gitignore cannot be used
	CodeFlowFileIgnored     = "flow-file-ignored"    // error: the ignore rules leave out the flow file itself
	CodeRequirementsIgnored = "requirements-ignored" // warning: requirements.txt is there but ignored, so it is not added to the flow
	CodeRequirementsMissing = "requirements-missing" // warning: python_requirements_txt names a file the snapshot does not hold
	CodeEmptySnapshot       = "empty-snapshot"       // error: nothing is left to upload
	CodeTooManyFiles        = "too-many-files"       // error: more than a million entries
	CodeFlowYAMLPatch       = "flow-yaml-patch"      // error: the flow YAML cannot be patched
)

const requirementsFile = "requirements.txt"

// builtinIgnores are the patterns pfazure's PromptflowIgnoreFile puts before
// the user's; toolsJSON is put after them, so no "!" line can bring it back.
const (
	builtinIgnores = ".git\n.runs\n__pycache__\n"
	toolsJSON      = ".promptflow/flow.tools.json\n"
)

// include is one additional_includes entry once resolved.
type include struct {
	idx      int
	written  string
	pos      flow.Pos
	resolved string // physical path (parts that do not exist kept as written)
	name     string // the name it lands under at the snapshot root
	isDir    bool
	zipFrom  string // the folder to zip, for the .zip rule
}

// Build lists what a run of f ships: the flow folder merged with its
// additional_includes (pfazure's rules: each include lands at the root under
// its last path component; folders merge), less what the ignore rules leave
// out, plus the flow YAML as pfazure patches it (additional_includes removed;
// environment.python_requirements_txt added when requirements.txt is there and
// the key is not). It computes the Azure ML content hash of that tree as if it
// had been copied, reading each file once and writing nothing.
//
// Where pfazure silently lets a later include overwrite a file, Build reports a
// conflict unless the two files are identical. Symlinks are followed only when
// their target stays inside the flow folder or an included path.
//
// Problems in the user's files come back as diagnostics with the place they
// concern; when any is an error, the snapshot is nil and the error is a
// validation fault. Other errors (a cancelled context) come back as is.
func Build(ctx context.Context, f *flow.Flow, opts Options) (*workspace.Snapshot, diag.List, error) {
	if f == nil || f.Dir == "" || f.Path == "" {
		return nil, nil, fault.New(fault.Usage, "no flow to build a snapshot of").WithHint("load the flow first")
	}
	flowFileDiag := f.File
	if flowFileDiag == "" {
		flowFileDiag = f.Path
	}
	dir, err := filepath.Abs(f.Dir)
	if err != nil {
		return nil, nil, fault.Wrap(fault.Failed, err, "cannot locate the flow folder %s", f.Dir)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, nil, fault.New(fault.Validation, "flow folder %s cannot be read", dir).
			WithHint("check that the folder exists and that you can read it")
	}
	dirReal, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, fault.Wrap(fault.Validation, err, "cannot resolve the flow folder %s", dir)
	}
	flowPath, err := filepath.Abs(f.Path)
	if err != nil {
		return nil, nil, fault.Wrap(fault.Failed, err, "cannot locate the flow file %s", f.Path)
	}
	flowRel, err := filepath.Rel(dir, flowPath)
	if err != nil || !filepath.IsLocal(flowRel) {
		return nil, nil, fault.New(fault.Usage, "flow file %s is not inside its folder %s", f.Path, dir)
	}
	flowRel = filepath.ToSlash(flowRel)

	w := &walker{ctx: ctx, origins: map[int]origin{-1: {desc: "the flow folder", file: dir}},
		conflictHint: "rename one of them, or drop one include; pfazure would silently keep whichever it copies last, so pfz refuses to guess"}

	// Resolve the includes first: their physical paths are roots that
	// symlinks may point into, and one may bring the root ignore file.
	var incs []*include
	if f.Kind != flow.KindPrompty {
		incs = resolveIncludes(w, f, dir, dirReal, flowFileDiag)
	}
	w.allowed = []string{dirReal}
	for _, inc := range incs {
		if inc.zipFrom != "" {
			w.allowed = append(w.allowed, inc.zipFrom)
		} else {
			w.allowed = append(w.allowed, inc.resolved)
		}
	}

	ownIgnore := rootIgnoreFile(dir)
	effIgnore := effectiveIgnoreFile(dir, incs)
	rootRules := w.loadRules(builtinIgnores, effIgnore, opts.IgnoreToolsJSON)
	flowSrc := &source{origin: -1, root: rootRules}
	if ownIgnore != "" && ownIgnore != effIgnore {
		// An include brought the root ignore file; pfazure still applies the
		// flow folder's own while copying the flow folder.
		flowSrc.local = w.loadRules("", ownIgnore, false)
	}

	root := newDir("", -1, dir)
	if err := w.walkInto(flowSrc, root, dir, dirReal, "", "", nil); err != nil {
		return nil, w.diags, walkErr(err, w.diags)
	}
	for _, inc := range incs {
		if err := w.mergeInclude(root, rootRules, inc); err != nil {
			return nil, w.diags, walkErr(err, w.diags)
		}
	}

	if opts.FlowContent != nil && !strings.Contains(flowRel, "/") {
		root.children[flowRel] = &node{name: flowRel, abs: flowPath, content: opts.FlowContent, hasContent: true,
			size: int64(len(opts.FlowContent)), origin: -1, shown: flowPath}
	}
	flowNode := lookup(root, flowRel)
	if flowNode == nil || flowNode.dir {
		why := rootRules.Why(flowRel, false)
		if why == "" {
			why = flowSrc.local.Why(flowRel, false)
		}
		msg := fmt.Sprintf("the flow file %s is left out of the snapshot", flowRel)
		if why != "" {
			msg += " by " + why
		}
		w.problem(CodeFlowFileIgnored, flowFileDiag, msg, "remove the pattern that matches it from .amlignore/.gitignore, or add a \"!\" line for it")
	}

	addReq := w.requirements(f, root, rootRules, dir, flowFileDiag)
	dropIncludes := f.Kind != flow.KindPrompty && len(f.AdditionalIncludes) > 0
	if flowNode != nil && !flowNode.dir && f.Kind != flow.KindPrompty && (addReq != "" || dropIncludes) {
		src, err := flowNode.content, error(nil)
		if !flowNode.hasContent {
			src, err = os.ReadFile(flowNode.abs)
		}
		if err == nil {
			var patched []byte
			patched, err = PatchFlowYAML(src, addReq, dropIncludes)
			if err == nil {
				flowNode.content, flowNode.hasContent, flowNode.size = patched, true, int64(len(patched))
			}
		}
		if err != nil {
			w.add(diag.Diagnostic{Severity: diag.Error, Code: CodeFlowYAMLPatch, File: flowFileDiag,
				Message: fmt.Sprintf("cannot prepare the flow YAML for upload: %v", err), Hint: fault.HintOf(err)})
		}
	}

	if flowNode != nil && !flowNode.dir && f.Kind == flow.KindFlex && opts.FlexSignature != nil && !w.diags.HasErrors() {
		if err := addSignature(ctx, flowNode, dir, f.Entry, opts.FlexSignature); err != nil {
			if ctx.Err() != nil {
				return nil, w.diags, ctx.Err()
			}
			w.add(diag.Diagnostic{Severity: diag.Error, Code: CodeFlowYAMLPatch, File: flowFileDiag,
				Message: fmt.Sprintf("cannot write the entry's signature into the flow file: %v", err), Hint: fault.HintOf(err)})
		}
	}

	if w.diags.HasErrors() {
		return nil, w.diags, validationErr(w.diags)
	}
	entries := flatten(root)
	if len(entries) == 0 {
		w.problem(CodeEmptySnapshot, dir, "nothing is left to upload: the flow folder and its includes hold no file that is not ignored",
			"check .amlignore/.gitignore in the flow folder")
		return nil, w.diags, validationErr(w.diags)
	}
	sum, bad, err := hashTree(ctx, root)
	if err != nil {
		return nil, w.diags, err
	}
	for _, b := range bad {
		w.problem(CodeUnreadable, b.path, fmt.Sprintf("cannot read %s: %v", b.path, unwrapPathError(b.err)),
			"fix the file's permissions, or exclude it in .amlignore")
	}
	if w.diags.HasErrors() {
		return nil, w.diags, validationErr(w.diags)
	}

	files := make([]workspace.FileRef, len(entries))
	for i, e := range entries {
		files[i] = workspace.FileRef{Rel: e.rel, Abs: e.n.abs, Size: e.n.size}
		if e.n.hasContent {
			files[i].Content = e.n.content
		}
	}
	folder := filepath.Base(dir)
	return &workspace.Snapshot{
		Root:     dir,
		Folder:   folder,
		FlowFile: flowRel,
		Hash:     sum,
		BlobPath: "LocalUpload/" + sum + "/" + folder + "/" + flowRel,
		Files:    files,
	}, w.diags, nil
}

func walkErr(err error, diags diag.List) error {
	if errors.Is(err, errTooMany) {
		return validationErr(diags)
	}
	return err
}

func validationErr(diags diag.List) error {
	n := len(diags.Errors())
	return &fault.Error{Kind: fault.Validation, Msg: fmt.Sprintf("the flow snapshot has %d problem(s)", n),
		Hint: "fix the files named above; pfz uploads nothing until they are fixed", Err: diags.Err()}
}

// resolveIncludes resolves each additional_includes entry against the flow
// folder and checks it, adding diagnostics for the bad ones (which are left
// out of the result).
func resolveIncludes(w *walker, f *flow.Flow, dir, dirReal, flowFile string) []*include {
	var out []*include
	for i, inc := range f.AdditionalIncludes {
		d := func(sev diag.Severity, code, msg, hint string) {
			w.add(diag.Diagnostic{Severity: sev, Code: code, File: flowFile, Line: inc.Pos.Line, Column: inc.Pos.Column, Message: msg, Hint: hint})
		}
		written := inc.Path
		if strings.TrimSpace(written) == "" {
			d(diag.Error, CodeIncludeEmpty, "an additional_includes entry is empty", "remove the empty entry")
			continue
		}
		abs := written
		if !filepath.IsAbs(written) {
			// Not filepath.Join: it would clean "link/.." away before the link
			// is followed, and Python resolves the link first.
			abs = dir + string(filepath.Separator) + written
		} else {
			d(diag.Warning, CodeIncludeAbsolute, fmt.Sprintf("additional include %q is an absolute path, so the flow only builds on machines that have it", written),
				"use a path relative to the flow folder")
		}
		resolved, err := resolveLoose(abs)
		if err != nil {
			d(diag.Error, CodeIncludeUnresolvable, fmt.Sprintf("cannot resolve additional include %q: %v", written, unwrapPathError(err)),
				"check the path and the permissions of the folders along it")
			continue
		}
		shown := fmt.Sprintf("%q (resolved to %s)", written, resolved)
		if resolved == filepath.Dir(resolved) || within(dirReal, resolved) {
			what := "the flow folder itself or a folder that holds it"
			if resolved == filepath.Dir(resolved) {
				what = "the root of the file system"
			}
			d(diag.Error, CodeIncludeHoldsFlow, fmt.Sprintf("additional include %s is %s; the snapshot would copy the flow into itself", shown, what),
				"include the specific files or folders the flow needs")
			continue
		}
		it := &include{idx: i, written: written, pos: inc.Pos, resolved: resolved, name: filepath.Base(resolved)}
		st, err := os.Stat(resolved)
		switch {
		case err == nil:
			it.isDir = st.IsDir()
			if !st.IsDir() && !st.Mode().IsRegular() {
				d(diag.Error, CodeIncludeUnresolvable, fmt.Sprintf("additional include %s is not a regular file or folder", shown), "include files and folders only")
				continue
			}
		case errors.Is(err, fs.ErrNotExist):
			folder := strings.TrimSuffix(resolved, ".zip")
			if strings.HasSuffix(resolved, ".zip") && isDir(folder) {
				// The folder may itself be a link; walk its physical path.
				if it.zipFrom, err = filepath.EvalSymlinks(folder); err != nil {
					d(diag.Error, CodeIncludeUnresolvable, fmt.Sprintf("cannot resolve folder %s to zip for additional include %s: %v", folder, shown, err),
						"check the folder and its permissions")
					continue
				}
				if within(dirReal, it.zipFrom) {
					d(diag.Error, CodeIncludeHoldsFlow, fmt.Sprintf("additional include %s would zip %s, which holds the flow folder", shown, it.zipFrom),
						"include the specific files or folders the flow needs")
					continue
				}
				break
			}
			hint := "paths in additional_includes are relative to the flow folder " + dir + "; fix the path or remove the entry"
			if strings.HasSuffix(resolved, ".zip") {
				hint = "neither " + resolved + " nor a folder " + folder + " to zip exists; " + hint
			}
			d(diag.Error, CodeIncludeNotFound, fmt.Sprintf("additional include %s was not found", shown), hint)
			continue
		default:
			d(diag.Error, CodeIncludeUnresolvable, fmt.Sprintf("cannot read additional include %s: %v", shown, unwrapPathError(err)),
				"check the permissions of the path")
			continue
		}
		if want := filepath.Base(filepath.Clean(written)); want != it.name && want != ".." && want != "." {
			d(diag.Warning, CodeIncludeRenamed, fmt.Sprintf("additional include %s lands in the snapshot as %q, the name of its target, not %q", shown, it.name, want),
				"pfazure does the same; include the target by its own name to make this plain")
		}
		w.origins[i] = origin{desc: "additional include " + shown, file: flowFile, pos: diagPos{inc.Pos.Line, inc.Pos.Column}}
		out = append(out, it)
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// rootIgnoreFile returns the ignore file a folder's rules come from:
// .amlignore wins over .gitignore; "" when it has neither.
func rootIgnoreFile(dir string) string {
	for _, name := range []string{".amlignore", ".gitignore"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// effectiveIgnoreFile is the ignore file at the root of the merged tree: an
// include may bring a .amlignore or .gitignore the flow folder lacks.
func effectiveIgnoreFile(dir string, incs []*include) string {
	pick := func(name string) string {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
		found := ""
		for _, inc := range incs {
			if inc.name == name && !inc.isDir && inc.zipFrom == "" {
				found = inc.resolved
			}
		}
		return found
	}
	if p := pick(".amlignore"); p != "" {
		return p
	}
	return pick(".gitignore")
}

// loadRules builds rules from the built-in patterns, an ignore file and the
// tools-json pattern, reporting unreadable files and unusable lines.
func (w *walker) loadRules(builtin, file string, tools bool) *IgnoreRules {
	r := &IgnoreRules{}
	r.add("built-in", builtin)
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			w.problem(CodeUnreadable, file, fmt.Sprintf("cannot read ignore file %s: %v", file, unwrapPathError(err)),
				"fix its permissions: without it pfz cannot know what to leave out")
		} else {
			for _, e := range r.add(file, string(data)) {
				w.add(diag.Diagnostic{Severity: diag.Warning, Code: CodeIgnorePattern, File: e.Source, Line: e.Line,
					Message: fmt.Sprintf("ignore pattern %q %s; the line is skipped", e.Text, e.Reason),
					Hint:    "escape a trailing backslash as \\\\"})
			}
		}
	}
	if tools {
		r.add("built-in", toolsJSON)
	}
	return r
}

// mergeInclude adds one include to the merged tree.
func (w *walker) mergeInclude(root *node, rootRules *IgnoreRules, inc *include) error {
	o := w.origins[inc.idx]
	src := &source{origin: inc.idx, root: rootRules}
	ignoredWarn := func(why string) {
		w.add(diag.Diagnostic{Severity: diag.Warning, Code: CodeIncludeIgnored, File: o.file, Line: o.pos.line, Column: o.pos.col,
			Message: fmt.Sprintf("%s is left out of the snapshot by %s", o.desc, why),
			Hint:    "pfazure leaves it out too; remove the include or add a \"!\" line for it"})
	}
	switch {
	case inc.zipFrom != "":
		if why := rootRules.Why(inc.name, false); why != "" {
			ignoredWarn(why)
			return nil
		}
		stem := strings.TrimSuffix(inc.name, ".zip")
		src.local = w.loadRules("", rootIgnoreFile(inc.zipFrom), false)
		data, ok := w.zipFolder(src, inc.zipFrom, inc.zipFrom, stem)
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		n := &node{name: inc.name, content: data, hasContent: true, size: int64(len(data)), origin: inc.idx,
			shown: inc.zipFrom + " (zipped)"}
		w.place(src, root, inc.name, inc.name, false, n, n.shown)
	case inc.isDir:
		if why := rootRules.Why(inc.name, true); why != "" {
			ignoredWarn(why)
			return nil
		}
		src.local = w.loadRules("", rootIgnoreFile(inc.resolved), false)
		child, ok := w.place(src, root, inc.name, inc.name, true, nil, inc.resolved)
		if !ok {
			return nil
		}
		return w.walkInto(src, child, inc.resolved, inc.resolved, inc.name, "", nil)
	default:
		if why := rootRules.Why(inc.name, false); why != "" {
			ignoredWarn(why)
			return nil
		}
		st, err := os.Stat(inc.resolved)
		if err != nil {
			w.problem(CodeUnreadable, inc.resolved, fmt.Sprintf("cannot read %s: %v", inc.resolved, unwrapPathError(err)), "check its permissions")
			return nil
		}
		n := &node{name: inc.name, abs: inc.resolved, size: st.Size(), origin: inc.idx, shown: inc.resolved}
		w.place(src, root, inc.name, inc.name, false, n, inc.resolved)
	}
	return nil
}

// requirements decides whether the uploaded flow YAML gets
// environment.python_requirements_txt, and warns about requirements files the
// snapshot does not hold.
func (w *walker) requirements(f *flow.Flow, root *node, rootRules *IgnoreRules, dir, flowFile string) string {
	if f.Kind == flow.KindPrompty {
		return ""
	}
	if named := f.Environment.PythonRequirementsTxt; named != "" {
		rel := filepath.ToSlash(filepath.Clean(named))
		if n := lookup(root, rel); n == nil || n.dir {
			pos := f.Environment.Pos
			w.add(diag.Diagnostic{Severity: diag.Warning, Code: CodeRequirementsMissing, File: flowFile, Line: pos.Line, Column: pos.Column,
				Message: fmt.Sprintf("environment.python_requirements_txt names %q, which the snapshot does not hold (missing, or left out by the ignore rules)", named),
				Hint:    "add the file to the flow folder or to additional_includes; the session would start without these packages"})
		}
		return ""
	}
	if n := lookup(root, requirementsFile); n != nil && !n.dir {
		return requirementsFile
	}
	if st, err := os.Stat(filepath.Join(dir, requirementsFile)); err == nil && st.Mode().IsRegular() {
		why := rootRules.Why(requirementsFile, false)
		if why == "" {
			why = "the ignore rules"
		}
		w.warn(CodeRequirementsIgnored, filepath.Join(dir, requirementsFile),
			fmt.Sprintf("requirements.txt is left out of the snapshot by %s, so it is not added to the flow's environment", why),
			"remove the pattern, or set environment.python_requirements_txt to the file you mean")
	}
	return ""
}

// lookup finds the node at a slash-separated path.
func lookup(root *node, rel string) *node {
	n := root
	for _, p := range strings.Split(rel, "/") {
		if n == nil || !n.dir {
			return nil
		}
		n = n.children[p]
	}
	return n
}

func sortEntries(es []*fileEntry) {
	sort.Slice(es, func(i, j int) bool { return es[i].rel < es[j].rel })
}

// addSignature writes the flex entry's signature into the snapshot's copy
// of the flow file, as pfazure uploads it.
func addSignature(ctx context.Context, flowNode *node, dir, entry string, read SignatureFunc) error {
	src := flowNode.content
	if !flowNode.hasContent {
		var err error
		if src, err = os.ReadFile(flowNode.abs); err != nil {
			return err
		}
	}
	sig, err := read(ctx, dir, strings.TrimSpace(entry))
	if err != nil {
		return err
	}
	out, err := flexmeta.Apply(src, sig)
	if err != nil {
		return err
	}
	flowNode.content, flowNode.hasContent, flowNode.size = out, true, int64(len(out))
	return nil
}
