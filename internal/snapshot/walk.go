package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pfz-cli/pfz/internal/diag"
)

// maxEntries bounds one tree. Symlinks inside the allowed roots may repeat a
// folder many times without a cycle; this stops a link farm from exhausting
// memory.
const maxEntries = 1 << 20

var errTooMany = errors.New("too many entries")

// origin describes where an entry of the merged tree came from, for messages.
type origin struct {
	desc string // `the flow folder` or `additional include "../x" (/abs/x)`
	file string // where to point a diagnostic (the flow file for includes)
	pos  diagPos
}

type diagPos struct{ line, col int }

// walker lists trees into one merged tree, applying ignore rules and the
// symlink policy, and collects what it finds wrong as diagnostics.
type walker struct {
	ctx     context.Context
	allowed []string // physical roots that symlink targets must stay inside
	origins map[int]origin
	diags   diag.List
	entries int
	// conflictHint is added to conflict diagnostics.
	conflictHint string
}

// source is one tree being merged: the flow folder or one include.
type source struct {
	origin int
	root   *IgnoreRules // rooted at the merged tree's root; sees merged paths
	local  *IgnoreRules // rooted at the source's own folder; sees paths inside it
}

func (w *walker) add(d diag.Diagnostic) { w.diags = append(w.diags, d) }

func (w *walker) problem(code, file, msg, hint string) {
	w.add(diag.Diagnostic{Severity: diag.Error, Code: code, File: file, Message: msg, Hint: hint})
}

func (w *walker) warn(code, file, msg, hint string) {
	w.add(diag.Diagnostic{Severity: diag.Warning, Code: code, File: file, Message: msg, Hint: hint})
}

// excluded applies both rule sets to an entry.
func (src *source) excluded(rel, local string, isDir bool) bool {
	return src.root.Match(rel, isDir) || (local != "" && src.local.Match(local, isDir))
}

// pathspecKeepsName reports whether pfazure's hash would still name an
// excluded folder: its matcher never sees a folder as one, so a folder excluded
// only by a "name/" pattern keeps its name in the hash while everything inside
// is left out. Build keeps such a folder as an empty placeholder so its hash
// agrees with pfazure's; no file comes from it.
func (src *source) pathspecKeepsName(rel, local string) bool {
	return !src.root.matchAsPathspec(rel) && (local == "" || !src.local.matchAsPathspec(local))
}

// walkInto adds what is under the folder dirAbs (physical path dirReal) to
// into. rel is into's path in the merged tree ("" at the root) and local its
// path inside the source ("" at the source's root). stack holds the physical
// paths of the folders being walked, to stop symlink cycles.
func (w *walker) walkInto(src *source, into *node, dirAbs, dirReal, rel, local string, stack []string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(dirAbs)
	if err != nil {
		w.problem(CodeUnreadable, dirAbs, fmt.Sprintf("cannot list folder %s: %v", dirAbs, unwrapPathError(err)),
			"fix the folder's permissions, or exclude it in .amlignore")
		return nil
	}
	stack = append(stack, dirReal)
	for _, e := range entries {
		name := e.Name()
		abs := filepath.Join(dirAbs, name)
		crel, clocal := join(rel, name), join(local, name)
		real := filepath.Join(dirReal, name)
		mode := e.Type()
		var size int64
		var linkErr error
		if mode&fs.ModeSymlink != 0 {
			// Resolve quietly first: an ignored link is not an error, and
			// whether it is excluded can depend on whether it is a folder.
			real, linkErr = resolveLoose(abs)
			mode = 0
			if linkErr == nil {
				st, err := os.Stat(real)
				if err != nil {
					linkErr = err
				} else {
					mode, size = st.Mode().Type(), st.Size()
				}
			}
		}
		isDir := mode.IsDir()
		if src.excluded(crel, clocal, isDir) {
			if isDir && src.pathspecKeepsName(crel, clocal) {
				w.placeholder(into, name, src.origin, abs)
			}
			continue
		}
		if linkErr != nil {
			w.linkProblem(abs, linkErr)
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 && !w.allowedTarget(real) {
			target, _ := os.Readlink(abs)
			w.problem(CodeSymlinkOutside, abs,
				fmt.Sprintf("symlink %s points to %s (%s), outside the flow folder and its additional includes", abs, target, real),
				"pfz follows a symlink only when its target stays inside the flow folder or an included path: add the target to additional_includes, replace the link with a copy, or exclude it in .amlignore")
			continue
		}
		switch {
		case isDir:
			if containsPath(stack, real) {
				w.problem(CodeSymlinkLoop, abs, fmt.Sprintf("symlink %s points back to %s, which holds it: the folder would repeat forever", abs, real),
					"remove the link or exclude it in .amlignore")
				continue
			}
			child, ok := w.place(src, into, crel, name, true, nil, abs)
			if !ok {
				continue
			}
			if err := w.walkInto(src, child, abs, real, crel, clocal, stack); err != nil {
				return err
			}
		case mode.IsRegular():
			if e.Type()&fs.ModeSymlink == 0 {
				info, err := e.Info()
				if err != nil {
					w.problem(CodeUnreadable, abs, fmt.Sprintf("cannot read %s: %v", abs, unwrapPathError(err)),
						"fix the file's permissions, or exclude it in .amlignore")
					continue
				}
				size = info.Size()
			}
			f := &node{name: name, abs: abs, size: size, origin: src.origin, shown: abs}
			w.place(src, into, crel, name, false, f, abs)
		default:
			w.warn(CodeSpecialFile, abs, fmt.Sprintf("%s is not a regular file or folder (%v); it is left out of the snapshot", abs, mode),
				"exclude it in .amlignore to silence this warning")
		}
		if w.entries > maxEntries {
			w.problem(CodeTooManyFiles, dirAbs, fmt.Sprintf("the snapshot has more than %d entries", maxEntries),
				"exclude generated folders (virtual environments, node_modules, data) in .amlignore, or check for symlinks that repeat a folder")
			return errTooMany
		}
	}
	return nil
}

func (w *walker) linkProblem(abs string, err error) {
	target, _ := os.Readlink(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.problem(CodeSymlinkBroken, abs, fmt.Sprintf("symlink %s points to %s, which does not exist", abs, target),
			"fix or remove the link, or exclude it in .amlignore")
	case errors.Is(err, syscall.ELOOP) || errors.Is(err, errLinkLoop):
		w.problem(CodeSymlinkLoop, abs, fmt.Sprintf("symlink %s is part of a loop of links", abs),
			"fix or remove the link, or exclude it in .amlignore")
	default:
		w.problem(CodeUnreadable, abs, fmt.Sprintf("cannot follow symlink %s: %v", abs, unwrapPathError(err)),
			"fix the permissions along the link's target, or exclude it in .amlignore")
	}
}

func (w *walker) allowedTarget(real string) bool {
	for _, root := range w.allowed {
		if within(real, root) {
			return true
		}
	}
	return false
}

func containsPath(stack []string, p string) bool {
	for _, s := range stack {
		if s == p {
			return true
		}
	}
	return false
}

func join(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

// placeholder adds an empty folder that only names itself in the hash (see
// pathspecKeepsName). Anything real placed at its path later replaces it.
func (w *walker) placeholder(parent *node, name string, origin int, shown string) {
	if parent.children[name] != nil {
		return
	}
	d := newDir(name, origin, shown)
	d.placeholder = true
	parent.children[name] = d
}

// place puts an entry named name under parent (at merged path rel). A folder
// merges into a folder already there; a file equal to the one already there
// is dropped; anything else is a conflict. It returns the node to descend
// into for folders, and whether the entry was placed or merged.
func (w *walker) place(src *source, parent *node, rel, name string, isDir bool, f *node, shown string) (*node, bool) {
	old := parent.children[name]
	if old != nil && old.placeholder {
		old = nil
	}
	if old == nil {
		w.entries++
		if isDir {
			d := newDir(name, src.origin, shown)
			parent.children[name] = d
			return d, true
		}
		parent.children[name] = f
		return f, true
	}
	if old.dir && isDir {
		return old, true
	}
	if !old.dir && !isDir {
		same, err := sameContent(old, f)
		if err != nil {
			w.problem(CodeUnreadable, shown, fmt.Sprintf("cannot compare %s with %s: %v", shown, old.shown, unwrapPathError(err)),
				"fix the files' permissions")
			return nil, false
		}
		if same {
			return old, true
		}
	}
	w.conflict(src.origin, old, rel, isDir, shown)
	return nil, false
}

func (w *walker) conflict(newOrigin int, old *node, rel string, newIsDir bool, shown string) {
	oldO, newO := w.origins[old.origin], w.origins[newOrigin]
	what := func(dir bool) string {
		if dir {
			return "a folder"
		}
		return "a file"
	}
	var msg string
	if old.dir == newIsDir {
		msg = fmt.Sprintf("%s and %s both put %q in the snapshot, with different content (%s and %s)",
			oldO.desc, newO.desc, rel, old.shown, shown)
	} else {
		msg = fmt.Sprintf("%s puts %s at %q (%s), where %s already puts %s (%s)",
			newO.desc, what(newIsDir), rel, shown, oldO.desc, what(old.dir), old.shown)
	}
	w.add(diag.Diagnostic{Severity: diag.Error, Code: CodeIncludeConflict, File: newO.file,
		Line: newO.pos.line, Column: newO.pos.col, Message: msg, Hint: w.conflictHint})
}

// sameContent compares two files byte for byte, cheapest checks first.
func sameContent(a, b *node) (bool, error) {
	if a.size != b.size {
		return false, nil
	}
	if a.hasContent || b.hasContent {
		ra, err := a.open()
		if err != nil {
			return false, err
		}
		defer ra.Close()
		rb, err := b.open()
		if err != nil {
			return false, err
		}
		defer rb.Close()
		return sameReaders(ra, rb)
	}
	sa, errA := os.Stat(a.abs)
	sb, errB := os.Stat(b.abs)
	if errA == nil && errB == nil && os.SameFile(sa, sb) {
		return true, nil
	}
	ra, err := a.open()
	if err != nil {
		return false, err
	}
	defer ra.Close()
	rb, err := b.open()
	if err != nil {
		return false, err
	}
	defer rb.Close()
	return sameReaders(ra, rb)
}

func (n *node) open() (io.ReadCloser, error) {
	if n.hasContent {
		return io.NopCloser(bytes.NewReader(n.content)), nil
	}
	return os.Open(n.abs)
}

func sameReaders(a, b io.Reader) (bool, error) {
	bufA, bufB := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, errA := io.ReadFull(a, bufA)
		nb, errB := io.ReadFull(b, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		if errA != nil && !endA {
			return false, errA
		}
		if errB != nil && !endB {
			return false, errB
		}
		if endA || endB {
			return endA == endB, nil
		}
	}
}

// flatten lists the files of a tree, sorted by path.
func flatten(root *node) []*fileEntry {
	var out []*fileEntry
	var walk func(n *node, rel string)
	walk = func(n *node, rel string) {
		for _, c := range n.children {
			r := join(rel, c.name)
			if c.dir {
				walk(c, r)
				continue
			}
			out = append(out, &fileEntry{rel: r, n: c})
		}
	}
	walk(root, "")
	sortEntries(out)
	return out
}

type fileEntry struct {
	rel string
	n   *node
}
