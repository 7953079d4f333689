package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// ListDir lists a data folder's files for upload and hashing, sorted by path.
// As for pfazure's data uploads, only the folder's own .amlignore (or else
// .gitignore) is applied; .git and the like are not left out. Symlinks are
// followed only when their target stays inside the folder. An empty folder is
// an error, as it is for Azure ML.
func ListDir(ctx context.Context, dir string) ([]workspace.FileRef, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot locate %s", dir)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fault.Wrap(fault.Validation, unwrapPathError(err), "cannot read data folder %s", abs).
			WithHint("check that the folder exists and that you can read it")
	}
	if !st.IsDir() {
		return nil, fault.New(fault.Usage, "%s is a file, not a folder", abs).WithHint("hash a single file with HashFile")
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fault.Wrap(fault.Validation, err, "cannot resolve data folder %s", abs)
	}
	w := &walker{ctx: ctx, allowed: []string{real}, origins: map[int]origin{-1: {desc: "the data folder", file: abs}}}
	src := &source{origin: -1, root: w.loadRules("", rootIgnoreFile(abs), false)}
	root := newDir("", -1, abs)
	if err := w.walkInto(src, root, abs, real, "", "", nil); err != nil && ctx.Err() != nil {
		return nil, err
	}
	if w.diags.HasErrors() {
		return nil, diagFault(fmt.Sprintf("cannot list data folder %s", abs), w.diags)
	}
	entries := flatten(root)
	if len(entries) == 0 {
		return nil, fault.New(fault.Validation, "data folder %s holds no file to upload", abs).
			WithHint("add the data files, or check the folder's .amlignore/.gitignore")
	}
	out := make([]workspace.FileRef, len(entries))
	for i, e := range entries {
		out[i] = workspace.FileRef{Rel: e.rel, Abs: e.n.abs, Size: e.n.size}
	}
	return out, nil
}

// diagFault folds error diagnostics into one validation error; the first
// hint given is kept.
func diagFault(msg string, diags diag.List) error {
	errs := diags.Errors()
	lines := make([]string, len(errs))
	hint := ""
	for i, d := range errs {
		lines[i] = d.Message
		if hint == "" {
			hint = d.Hint
		}
	}
	return &fault.Error{Kind: fault.Validation, Msg: msg + ": " + strings.Join(lines, "; "), Hint: hint, Err: diags.Err()}
}

// Materialize writes the snapshot's files into dest, which must be empty or
// not exist yet: the generated content where there is some, else a copy of the
// file on disk. Every path is checked before anything is written, and writes
// go through an os.Root, so no Rel and no symlink planted in dest can lead
// outside it. A file whose size changed since Build is an error: the copy
// would not be what the hash says.
func Materialize(ctx context.Context, s *workspace.Snapshot, dest string) error {
	if s == nil {
		return fault.New(fault.Usage, "no snapshot to write").WithHint("build the snapshot first")
	}
	seen := make(map[string]bool, len(s.Files))
	for _, f := range s.Files {
		if _, err := splitRel(f.Rel); err != nil {
			return err
		}
		if !filepath.IsLocal(filepath.FromSlash(f.Rel)) {
			return fault.New(fault.Validation, "unsafe path %q in the snapshot", f.Rel).
				WithHint("paths must stay inside the snapshot folder")
		}
		if seen[f.Rel] {
			return fault.New(fault.Validation, "the snapshot names %q twice", f.Rel)
		}
		seen[f.Rel] = true
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fault.Wrap(fault.Failed, unwrapPathError(err), "cannot create %s", dest)
	}
	if entries, err := os.ReadDir(dest); err != nil {
		return fault.Wrap(fault.Failed, unwrapPathError(err), "cannot read %s", dest)
	} else if len(entries) > 0 {
		return fault.New(fault.Usage, "%s is not empty", dest).WithHint("write the snapshot into a new folder")
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot open %s", dest)
	}
	defer func() { _ = root.Close() }() // the folder's handle: each file's own close is checked
	buf := make([]byte, 64<<10)
	for _, f := range s.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeOne(root, f, buf); err != nil {
			return fault.Wrap(fault.Failed, unwrapPathError(err), "cannot write %s into %s", f.Rel, dest).
				WithHint("check the source file %s and the free space in %s", f.Abs, dest)
		}
	}
	return nil
}

func writeOne(root *os.Root, f workspace.FileRef, buf []byte) error {
	name := filepath.FromSlash(f.Rel)
	if d := filepath.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	perm := os.FileMode(0o644)
	if f.Content == nil {
		if st, err := os.Stat(f.Abs); err == nil && st.Mode().Perm()&0o111 != 0 {
			perm = 0o755
		}
	}
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n := &node{abs: f.Abs, size: f.Size}
	if f.Content != nil {
		n.content, n.hasContent, n.size = f.Content, true, int64(len(f.Content))
	}
	err = copyChecked(out, n, buf)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errChanged) {
		return fmt.Errorf("%s changed since the snapshot was built", f.Abs)
	}
	return err
}
