package snapshot

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/ctxio"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// hashSeed starts every Azure ML content hash (protocol.md §4.3).
const hashSeed = "Initialize for october 2021 AML CLI version"

// node is one entry of a merged tree, as if the tree had been copied.
type node struct {
	name     string
	dir      bool
	children map[string]*node

	// A file's bytes come from content when hasContent, else from abs.
	abs        string
	content    []byte
	hasContent bool
	size       int64

	// origin says which tree put the entry here: -1 for the flow folder, else
	// the index of the additional include. shown is the source path for
	// messages (the path as reached, before following links).
	origin int
	shown  string
	// placeholder marks an excluded folder kept only for its name in the
	// hash; it never has children.
	placeholder bool
}

func newDir(name string, origin int, shown string) *node {
	return &node{name: name, dir: true, children: map[string]*node{}, origin: origin, shown: shown}
}

// sortedChildren orders a folder's entries the way Azure ML's hash walks them:
// by the lower-cased path, which within one folder is the lower-cased name.
// Names equal but for case keep a fixed order (Python would keep the order
// the file system listed them in, which is not stable).
func (n *node) sortedChildren() []*node {
	out := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	keys := make(map[*node]string, len(out))
	for _, c := range out {
		keys[c] = pyLower(c.name)
	}
	sort.Slice(out, func(i, j int) bool {
		ki, kj := keys[out[i]], keys[out[j]]
		if ki != kj {
			return ki < kj
		}
		return out[i].name < out[j].name
	})
	return out
}

// pyLower lower-cases like Python's str.lower for the sort key. Go's
// strings.ToLower uses the simple case mapping; Python's full mapping differs
// for U+0130 (İ), which becomes "i̇". Python's final-sigma rule is not
// reproduced; it only changes the order of names ending in Σ.
func pyLower(s string) string {
	if !strings.ContainsRune(s, '\u0130') {
		return strings.ToLower(s)
	}
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}

// fileError is a file the hash could not read.
type fileError struct {
	path string
	err  error
}

// hashTree computes the Azure ML content hash of the tree under root (root's
// own name is not hashed). It reads every file once. Files that cannot be read
// are collected and hashing goes on, so one run reports them all; the hash is
// then meaningless and must not be used.
func hashTree(ctx context.Context, root *node) (string, []fileError, error) {
	h := md5.New()
	h.Write([]byte(hashSeed))
	buf := make([]byte, 64<<10)
	var bad []fileError
	var walk func(n *node) error
	walk = func(n *node) error {
		for _, c := range n.sortedChildren() {
			h.Write([]byte(c.name))
			if c.dir {
				if err := walk(c); err != nil {
					return err
				}
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := hashFileInto(ctx, h, c, buf); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				bad = append(bad, fileError{path: c.shown, err: err})
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(h.Sum(nil)), bad, nil
}

// errChanged says a file's size differs from when it was listed.
var errChanged = errors.New("the file changed while pfz was reading it")

func hashFileInto(ctx context.Context, h hash.Hash, n *node, buf []byte) error {
	if n.hasContent {
		h.Write(n.content)
		return nil
	}
	f, err := os.Open(n.abs)
	if err != nil {
		return err
	}
	defer f.Close()
	// ctxio.Reader also hides os.File's WriterTo, which would ignore buf.
	got, err := io.CopyBuffer(h, struct{ io.Reader }{ctxio.Reader(ctx, f)}, buf)
	if err != nil {
		return err
	}
	if got != n.size {
		return errChanged
	}
	return nil
}

// Hash returns the Azure ML content hash of a file set laid out by each
// FileRef's Rel, as Azure ML hashes a folder holding exactly those files
// (protocol.md §4.3). Content, when set, stands for the file's bytes; Size
// must match what is read from Abs, else the file changed since it was listed.
//
// A folder is seen only through the files under it: Azure ML also hashes the
// names of folders left empty (or emptied by ignore rules), which a file list
// cannot show. Build hashes its own tree and keeps those names.
func Hash(ctx context.Context, files []workspace.FileRef) (string, error) {
	root, err := treeFromFiles(files)
	if err != nil {
		return "", err
	}
	sum, bad, err := hashTree(ctx, root)
	if err != nil {
		return "", err
	}
	if len(bad) > 0 {
		return "", readFault(bad)
	}
	return sum, nil
}

// treeFromFiles rebuilds the folder tree a file list describes.
func treeFromFiles(files []workspace.FileRef) (*node, error) {
	root := newDir("", 0, "")
	for _, f := range files {
		parts, err := splitRel(f.Rel)
		if err != nil {
			return nil, err
		}
		dir := root
		for i, p := range parts {
			c := dir.children[p]
			last := i == len(parts)-1
			switch {
			case c == nil && last:
				c = &node{name: p, abs: f.Abs, size: f.Size, shown: f.Abs}
				if f.Content != nil {
					c.content, c.hasContent, c.size = f.Content, true, int64(len(f.Content))
				}
				if c.shown == "" {
					c.shown = f.Rel
				}
				dir.children[p] = c
			case c == nil:
				c = newDir(p, 0, "")
				dir.children[p] = c
			case last || !c.dir:
				return nil, fault.New(fault.Validation, "the file list names %q twice, or both as a file and as a folder", f.Rel).
					WithHint("this is a bug in the caller: each path may appear once")
			}
			dir = c
		}
	}
	return root, nil
}

// splitRel checks a slash-separated relative path and returns its parts. It
// refuses anything that could leave the root it is joined to.
func splitRel(rel string) ([]string, error) {
	bad := func(why string) error {
		return fault.New(fault.Validation, "unsafe path %q in a file list: %s", rel, why).
			WithHint("paths must be relative, slash-separated and stay inside their folder")
	}
	if rel == "" {
		return nil, bad("it is empty")
	}
	if strings.HasPrefix(rel, "/") {
		return nil, bad("it is absolute")
	}
	if strings.ContainsRune(rel, 0) {
		return nil, bad("it contains a NUL byte")
	}
	parts := strings.Split(rel, "/")
	for _, p := range parts {
		switch p {
		case "":
			return nil, bad("it has an empty part")
		case ".", "..":
			return nil, bad("it has a . or .. part")
		}
	}
	return parts, nil
}

// readFault turns unreadable files into one error that names them.
func readFault(bad []fileError) error {
	var b strings.Builder
	for i, e := range bad {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %v", e.path, unwrapPathError(e.err))
	}
	return fault.New(fault.Validation, "cannot read %d file(s): %s", len(bad), b.String()).
		WithHint("check the files' permissions, or exclude them with .amlignore")
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// HashFile returns the Azure ML content hash of one file (a data file upload,
// protocol.md §4.2): the seed followed by the file's bytes, name not included.
// A symlink is followed.
//
// Only a regular file is read: a named pipe, a device (/dev/zero, /dev/stdin)
// or a socket is refused before it is opened (opening a pipe would block,
// and /dev/zero never ends). The read stops when ctx is done.
func HashFile(ctx context.Context, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fault.Wrap(fault.Validation, unwrapPathError(err), "cannot read %s", path).
			WithHint("check that the file exists and is readable")
	}
	if st.IsDir() {
		return "", fault.New(fault.Usage, "%s is a folder, not a file", path).
			WithHint("hash a folder with ListDir and Hash")
	}
	if err := ctxio.CheckRegular(path, st); err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fault.Wrap(fault.Validation, unwrapPathError(err), "cannot read %s", path).
			WithHint("check that the file exists and is readable")
	}
	defer f.Close()
	h := md5.New()
	h.Write([]byte(hashSeed))
	if _, err := io.Copy(h, ctxio.Reader(ctx, f)); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fault.Wrap(fault.Failed, unwrapPathError(err), "cannot read %s", path)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
