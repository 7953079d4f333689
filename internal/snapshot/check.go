package snapshot

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/requirements"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// View answers questions about the files of a built snapshot by their slash
// path in it, so checks see what a run would ship: a file the ignore rules
// leave out is missing, a file an include brings in is there. Paths that
// leave the snapshot (../x) go to the disk under the flow folder.
type View struct {
	dir   string
	byRel map[string]workspace.FileRef
	dirs  map[string]bool
	ok    bool // a snapshot was built
}

// NewView indexes snap; dir is the flow folder. A nil snap (it could not be
// built) gives a View that answers from the disk.
func NewView(snap *workspace.Snapshot, dir string) View {
	v := View{dir: dir, byRel: map[string]workspace.FileRef{}, dirs: map[string]bool{}}
	if snap == nil {
		return v
	}
	v.ok = true
	for _, f := range snap.Files {
		v.byRel[f.Rel] = f
		for d := path.Dir(f.Rel); d != "." && d != "/"; d = path.Dir(d) {
			v.dirs[d] = true
		}
	}
	return v
}

// File returns the snapshot's file at rel.
func (v View) File(rel string) (workspace.FileRef, bool) {
	f, ok := v.byRel[path.Clean(filepath.ToSlash(rel))]
	return f, ok
}

// Exists reports whether rel is a file or folder of the snapshot.
func (v View) Exists(rel string) bool {
	c := path.Clean(filepath.ToSlash(rel))
	if !v.ok || !filepath.IsLocal(filepath.FromSlash(c)) {
		_, err := os.Stat(filepath.Join(v.dir, filepath.FromSlash(rel)))
		return err == nil
	}
	if c == "." {
		return true
	}
	_, isFile := v.byRel[c]
	return isFile || v.dirs[c]
}

// ReadFile reads the snapshot's file at rel (generated content included).
func (v View) ReadFile(rel string) ([]byte, error) {
	c := path.Clean(filepath.ToSlash(rel))
	if ref, ok := v.byRel[c]; ok {
		if ref.Content != nil {
			return ref.Content, nil
		}
		return os.ReadFile(ref.Abs)
	}
	if v.ok && filepath.IsLocal(filepath.FromSlash(c)) {
		// Python's wording: promptflow reads the file and fails so.
		return nil, fmt.Errorf("[Errno 2] No such file or directory: '%s'", filepath.Join(v.dir, filepath.FromSlash(rel)))
	}
	return os.ReadFile(filepath.Join(v.dir, filepath.FromSlash(rel)))
}

// Check builds f's snapshot and validates f against it, so that
// `flow validate` and `run create` find the same problems and report each
// once: the snapshot reports additional_includes and the requirements file,
// Validate the rest, with files looked up in the snapshot (vopts.Exists and
// ReadFile are set from it when nil). The error is Build's.
func Check(ctx context.Context, f *flow.Flow, opts Options, vopts flow.ValidateOptions) (*workspace.Snapshot, View, diag.List, error) {
	snap, ds, err := Build(ctx, f, opts)
	view := NewView(snap, f.Dir)
	if vopts.Exists == nil {
		vopts.Exists = view.Exists
	}
	if vopts.ReadFile == nil {
		vopts.ReadFile = view.ReadFile
	}
	// When Build got as far as the includes it has reported them and the
	// requirements file; Validate would only say it again in other words.
	vopts.SnapshotChecked = snap != nil || len(ds) > 0
	ds = append(ds, f.Validate(vopts)...)
	if snap != nil {
		ds = append(ds, checkRequirements(f, view)...)
	}
	ds.Sort()
	return snap, view, ds, err
}

// checkRequirements runs the requirements rules (requirements.File.Check:
// a pinned promptflow or promptflow-tools, a local wheel or folder, options)
// on the snapshot's requirements file, the one the session installs: so
// that validate and run create say what session and packages commands say.
func checkRequirements(f *flow.Flow, view View) diag.List {
	name := f.Environment.PythonRequirementsTxt
	if name == "" {
		name = requirementsFile
	}
	ref, ok := view.File(name)
	if !ok {
		return nil // a missing file is the flow's own finding
	}
	data, err := view.ReadFile(name)
	if err != nil {
		return nil
	}
	shown := ref.Abs
	if ref.Content != nil || shown == "" {
		shown = filepath.Join(f.Dir, filepath.FromSlash(name))
	}
	file, ds := requirements.Parse(shown, data)
	return append(ds, file.Check()...)
}
