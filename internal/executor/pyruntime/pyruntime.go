// Package pyruntime holds pfz's built-in Python runtime: the worker main loop
// that runs python tool nodes, and a standard-library-only stand-in for the
// parts of promptflow that flow code imports (promptflow.core.tool,
// promptflow.tool, log_metric, ToolProvider, the connection classes). The
// files are embedded in the binary and written once into a cache folder named
// after their content hash. The worker puts the stand-in last on sys.path, and
// only when no real promptflow is installed, so a real one always wins.
package pyruntime

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

//go:embed all:py
var files embed.FS

// Runtime is an installed copy of the runtime.
type Runtime struct {
	Dir    string // the installed folder
	Worker string // the worker script: python <Worker> <flow dir>
}

// Hash is the content hash of the embedded runtime (12 hex digits).
func Hash() string {
	h := sha256.New()
	var names []string
	_ = fs.WalkDir(files, "py", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := files.ReadFile(n)
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Install writes the runtime under cacheDir (once per content hash) and
// returns where it is. Concurrent installs are safe: each writes a private
// temporary folder and renames it into place; the loser discards its copy.
func Install(cacheDir string) (*Runtime, error) {
	if cacheDir == "" {
		return nil, errors.New("pyruntime: no cache folder given")
	}
	dir := filepath.Join(cacheDir, "pfz-pyruntime-"+Hash())
	rt := &Runtime{Dir: dir, Worker: filepath.Join(dir, "pfz_worker.py")}
	if st, err := os.Stat(rt.Worker); err == nil && st.Mode().IsRegular() {
		return rt, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("pyruntime: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".pfz-pyruntime-*")
	if err != nil {
		return nil, fmt.Errorf("pyruntime: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(files, "py", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("py", filepath.FromSlash(p))
		dst := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if path.Base(p) == ".gitignore" {
			return nil
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return nil, fmt.Errorf("pyruntime: write runtime: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(rt.Worker); serr == nil {
			return rt, nil // another process installed it first
		}
		return nil, fmt.Errorf("pyruntime: install into %s: %w", dir, err)
	}
	return rt, nil
}
