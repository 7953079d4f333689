// Package atomicfile replaces files atomically: the data goes to a temp file
// in the target's folder, is synced, and is renamed over the target. Every
// pfz writer of state (the local store, the azureml caches and session
// records, the configuration file, a flow's requirements file) goes through
// it, so a full disk or a kill leaves either the old file or the new one and
// every write error reaches the caller.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// TempMarker sits in every temp file name: ".<base>.tmp-<pid>-<random>".
// The pid lets recovery (store.CleanTemp) tell a live writer's file from a
// dead one's.
const TempMarker = ".tmp-"

// Options tune a write. The zero value writes mode 0600 and creates missing
// folders with mode 0700.
type Options struct {
	// Perm is the file's mode; 0 means 0600.
	Perm fs.FileMode
	// DirPerm is the mode of folders created on the way; 0 means 0700.
	DirPerm fs.FileMode
	// BeforeRename runs after the temp file is complete and before the
	// rename; tests use it to die halfway. Its error aborts the write.
	BeforeRename func(tmp string) error
}

// Error is a failed write: the step that failed, the path and the cause.
// Write returns it inside a fault.Error (kind Failed, with a hint about free
// space), so callers can return it as it is.
type Error struct {
	Op   string // "create", "write", "sync", "close", "rename", "mkdir", "encode", "remove"
	Path string
	Err  error
}

func (e *Error) Error() string { return e.What() + ": " + e.Err.Error() }

// What says what failed without the cause: "cannot write <path>".
func (e *Error) What() string {
	switch e.Op {
	case "rename":
		return "cannot replace " + e.Path
	case "encode":
		return "cannot encode " + e.Path
	case "mkdir":
		return "cannot create " + e.Path
	case "remove":
		return "cannot remove the replaced folder " + e.Path
	}
	return "cannot write " + e.Path
}

func (e *Error) Unwrap() error { return e.Err }

// Write replaces path with data atomically (see the package doc). A failure
// at any step removes the temp file and returns an *Error.
func Write(path string, data []byte, o Options) error {
	return wrap(write(path, data, o))
}

func wrap(err error) error {
	var ae *Error
	if !errors.As(err, &ae) {
		return err
	}
	fe := &fault.Error{Kind: fault.Failed, Err: ae}
	if ae.Op != "encode" {
		fe.Hint = "check the free space and permissions of " + filepath.Dir(ae.Path)
	}
	return fe
}

func write(path string, data []byte, o Options) error {
	if o.Perm == 0 {
		o.Perm = 0o600
	}
	if o.DirPerm == 0 {
		o.DirPerm = 0o700
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, o.DirPerm); err != nil {
		return &Error{Op: "mkdir", Path: dir, Err: err}
	}
	f, err := os.CreateTemp(dir, "."+base+TempMarker+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return &Error{Op: "create", Path: path, Err: err}
	}
	tmp := f.Name()
	fail := func(op string, err error) error {
		_ = f.Close()
		_ = os.Remove(tmp)
		return &Error{Op: op, Path: path, Err: err}
	}
	if err := f.Chmod(o.Perm); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fail("write", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return &Error{Op: "close", Path: path, Err: err}
	}
	if o.BeforeRename != nil {
		if err := o.BeforeRename(tmp); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return &Error{Op: "rename", Path: path, Err: err}
	}
	SyncDir(dir)
	return nil
}

// WriteJSON writes v as indented JSON with a final newline, atomically. A
// value that cannot be encoded is an error and leaves path untouched.
func WriteJSON(path string, v any, o Options) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return wrap(&Error{Op: "encode", Path: path, Err: err})
	}
	return Write(path, append(data, '\n'), o)
}

// SyncDir makes a rename in dir durable where the platform allows it;
// failure only weakens durability after a power cut, so it is ignored.
func SyncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// IsTemp reports whether a file name is one of Write's temp files.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, TempMarker)
}

// TempPID returns the pid recorded in a temp file's name, or false.
func TempPID(name string) (int, bool) {
	i := strings.LastIndex(name, TempMarker)
	if !IsTemp(name) || i < 0 {
		return 0, false
	}
	pidText, _, _ := strings.Cut(name[i+len(TempMarker):], "-")
	pid, err := strconv.Atoi(pidText)
	return pid, err == nil
}

// StageDir makes an empty folder beside dest for a download that replaces
// dest with ReplaceDir once complete; name is the entity, for the folder's
// name ("."+name+".download-*"), so a leftover one is recognisable.
func StageDir(dest, name string) (string, error) {
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", wrap(&Error{Op: "mkdir", Path: parent, Err: err})
	}
	tmp, err := os.MkdirTemp(parent, "."+name+".download-*")
	if err != nil {
		return "", wrap(&Error{Op: "create", Path: parent, Err: err})
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return "", wrap(&Error{Op: "create", Path: tmp, Err: err})
	}
	return tmp, nil
}

// ReplaceDir puts the complete folder staged in tmp (beside dest, as
// StageDir makes it) in dest's place, and removes the folder it replaced.
//
// Where the platform swaps two folders in one step (Linux's renameat2 with
// RENAME_EXCHANGE, on the file systems that have it), dest is at every
// moment the old folder or the new one. Elsewhere the old folder is renamed
// aside (".<dest>.old-<random>") and the new one renamed in: between the two
// renames dest does not exist (a reader sees it missing, never mixed), and
// when the second rename fails the old folder is renamed back.
//
// A folder aside is removed only once dest holds the new one, so the old and
// the new are never both lost: a crash between the renames leaves the old
// one aside, and the next ReplaceDir of dest removes it once it succeeds.
// When the old folder cannot be removed, ReplaceDir returns an error that
// says so (dest is replaced all the same) and leaves it aside for the next
// call to remove.
func ReplaceDir(tmp, dest string) error {
	return osDirs.replace(tmp, dest)
}

// dirOps are the file system calls ReplaceDir makes; tests replace them to
// fail where a real file system rarely does.
type dirOps struct {
	// exchange swaps two existing paths in one step, or returns
	// errNoExchange where the platform or file system cannot.
	exchange  func(a, b string) error
	rename    func(from, to string) error
	removeAll func(path string) error
}

var osDirs = dirOps{exchange: exchange, rename: os.Rename, removeAll: os.RemoveAll}

// errNoExchange: the swap is not available; ReplaceDir renames aside instead.
var errNoExchange = errors.New("exchange not supported")

// asidePrefix is the name prefix of dest's old folders, renamed aside.
func asidePrefix(dest string) string { return "." + filepath.Base(dest) + ".old-" }

func (o dirOps) replace(tmp, dest string) error {
	if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
		if err := o.rename(tmp, dest); err != nil {
			return wrap(&Error{Op: "rename", Path: dest, Err: err})
		}
		SyncDir(filepath.Dir(dest))
		return o.sweep(dest, "")
	}
	aside, err := asideName(dest)
	if err != nil {
		return wrap(&Error{Op: "rename", Path: dest, Err: err})
	}
	switch err := o.exchange(tmp, dest); {
	case err == nil:
		// tmp now holds the old folder: give it the name the next call
		// recognises before removing it.
		SyncDir(filepath.Dir(dest))
		if err := o.rename(tmp, aside); err != nil {
			aside = tmp
		}
	case errors.Is(err, errNoExchange):
		if err := o.rename(dest, aside); err != nil {
			return &fault.Error{Kind: fault.Failed, Err: &Error{Op: "rename", Path: dest, Err: err},
				Hint: "remove " + dest + " yourself and download again"}
		}
		if err := o.rename(tmp, dest); err != nil {
			if berr := o.rename(aside, dest); berr != nil {
				return &fault.Error{Kind: fault.Failed, Err: &Error{Op: "rename", Path: dest, Err: errors.Join(err, berr)},
					Hint: "the previous " + filepath.Base(dest) + " is in " + aside + ": rename it back to " + dest}
			}
			return wrap(&Error{Op: "rename", Path: dest, Err: err})
		}
		SyncDir(filepath.Dir(dest))
	default:
		return wrap(&Error{Op: "rename", Path: dest, Err: err})
	}
	return o.sweep(dest, aside)
}

// isAside reports whether name is exactly what asideName makes for dest
// (the prefix and 12 hex digits): the folder is the user's, and a name of
// theirs that only starts the same way is not pfz's to remove.
func isAside(name, dest string) bool {
	rest, ok := strings.CutPrefix(name, asidePrefix(dest))
	if !ok || len(rest) != 2*asideRandom {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil && strings.ToLower(rest) == rest
}

// asideRandom is how many random bytes an aside name carries.
const asideRandom = 6

// asideName is a new ".<dest>.old-<random>" path beside dest.
func asideName(dest string) (string, error) {
	var b [asideRandom]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(dest), asidePrefix(dest)+hex.EncodeToString(b[:])), nil
}

// sweep removes the old folder this call put aside (mine, when not "") and
// those earlier calls left; dest holds the new folder by now. What cannot be
// removed is reported and stays for the next call.
func (o dirOps) sweep(dest, mine string) error {
	parent := filepath.Dir(dest)
	olds := []string{}
	if mine != "" {
		olds = append(olds, mine)
	}
	if entries, err := os.ReadDir(parent); err == nil {
		for _, e := range entries {
			p := filepath.Join(parent, e.Name())
			if isAside(e.Name(), dest) && p != mine {
				olds = append(olds, p)
			}
		}
	}
	var errs []error
	var left []string
	for _, p := range olds {
		if err := o.removeAll(p); err != nil {
			errs = append(errs, err)
			left = append(left, p)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &fault.Error{Kind: fault.Failed,
		Err:  &Error{Op: "remove", Path: left[0], Err: errors.Join(errs...)},
		Hint: dest + " holds the new folder; remove " + strings.Join(left, ", ") + " yourself (the next replace of " + filepath.Base(dest) + " tries again)"}
}
