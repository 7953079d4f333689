package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/fault"
)

// WriteFile replaces path atomically (atomicfile.Write): a process killed
// at any point leaves either the old file or the new one, never a mix; at
// worst a temp file stays behind for CleanTemp.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return writeFile(path, data, perm, nil)
}

// writeFile takes a hook that runs after the temp file is written and before
// the rename; tests use it to die halfway.
func writeFile(path string, data []byte, perm fs.FileMode, beforeRename func(tmp string) error) error {
	return atomicfile.Write(path, data, atomicfile.Options{Perm: perm, DirPerm: dirPerm, BeforeRename: beforeRename})
}

// WriteJSON writes v as indented JSON, atomically (see WriteFile).
func WriteJSON(path string, v any, perm fs.FileMode) error {
	return atomicfile.WriteJSON(path, v, atomicfile.Options{Perm: perm, DirPerm: dirPerm})
}

// ErrNotExist is matched (errors.Is) by ReadJSON errors for missing files.
var ErrNotExist = fs.ErrNotExist

// CorruptError is a state file that exists but cannot be decoded. Atomic
// writes make this unlikely (a hand edit, a full disk on another tool); the
// hint says how to get out.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is damaged: %v", e.Path, e.Err)
}
func (e *CorruptError) Unwrap() error { return e.Err }

// ReadJSON decodes path into v. A missing file gives an error matching
// ErrNotExist; an undecodable one a *CorruptError inside a fault.Error.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fault.Wrap(fault.Failed, err, "cannot read %s", path)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &fault.Error{Kind: fault.Failed, Err: &CorruptError{Path: path, Err: err},
			Hint: "move the file away (pfz then treats the entity as missing) or restore it; pfz writes it atomically, so another program changed it"}
	}
	return nil
}

// CheckSchema refuses a record written by a newer pfz (its schema version
// above known): reading it as this version would misread fields, and
// saving it back would drop what this version does not know.
func CheckSchema(path string, schema, known int) error {
	if schema <= known {
		return nil
	}
	return fault.New(fault.Failed, "%s has schema version %d; this pfz reads versions up to %d", path, schema, known).
		WithHint("a newer pfz wrote it: use that version (or newer), or move the file's folder away to make pfz forget it")
}

// IsTemp reports whether a file name is one of WriteFile's temp files.
func IsTemp(name string) bool { return atomicfile.IsTemp(name) }

// staleAfter bounds how long a temp file of a live pid is kept: a write
// takes milliseconds, so an old one belongs to a reused pid.
const staleAfter = time.Hour

// CleanTemp removes the temp files in dir (not below it) that a dead
// writer left behind. It returns the paths it removed.
func CleanTemp(dir string, now time.Time) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", dir)
	}
	var removed []string
	for _, e := range ents {
		if e.IsDir() || !IsTemp(e.Name()) {
			continue
		}
		if !tempIsStale(e, now) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err == nil {
			removed = append(removed, p)
		}
	}
	return removed, nil
}

func tempIsStale(e fs.DirEntry, now time.Time) bool {
	pid, ok := atomicfile.TempPID(e.Name())
	if !ok || !Alive(pid) {
		return true
	}
	info, err := e.Info()
	return err == nil && now.Sub(info.ModTime()) > staleAfter
}
