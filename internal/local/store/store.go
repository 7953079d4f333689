// Package store owns the on-disk state of the local target under PFZ_HOME:
// where each entity lives (sessions/<id>/, runs/<name>/, computes/<name>/,
// connections/), per-entity file locks that keep concurrent pfz processes
// apart, atomic JSON writes (temp file + rename) and the recovery of what a
// killed process leaves behind. It knows nothing of what the entities mean.
//
// Layout:
//
//	PFZ_HOME/
//	  sessions/<id>/        one compute session (record + environment + logs)
//	  runs/<name>/          one run (owned by the local runs code)
//	  computes/<name>/      one local compute instance (shared environment)
//	  connections/          connection records and their secrets
//	  locks/<kind>/<name>.lock   exclusive lock of an entity
//	  locks/<kind>/<name>.use    shared "in use" lock (a run holds it)
//
// Lock files live apart from the entity folders and are never deleted: a
// lock file removed while another process waits on it would let two
// processes believe they each hold the lock.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/pfz-cli/pfz/internal/fault"
)

// Kind names a family of entities; it is also the folder under PFZ_HOME.
type Kind string

const (
	Sessions    Kind = "sessions"
	Runs        Kind = "runs"
	Computes    Kind = "computes"
	Connections Kind = "connections"
)

// dirPerm keeps PFZ_HOME private to its user: it holds logs and connections.
const dirPerm = 0o700

// Store is a handle on one PFZ_HOME. Handles are cheap and hold no open
// files; any number of them (in one process or many) may share a home.
type Store struct {
	home string
}

// New returns a store rooted at home, creating the folder if needed.
func New(home string) (*Store, error) {
	if home == "" {
		return nil, fault.New(fault.Usage, "PFZ_HOME is empty").
			WithHint("set PFZ_HOME to a folder pfz may write to, or unset it to use the default")
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fault.Wrap(fault.Usage, err, "PFZ_HOME %q is not a usable path", home)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot create PFZ_HOME %s", abs).
			WithHint("set PFZ_HOME to a folder pfz may write to")
	}
	return &Store{home: abs}, nil
}

// Home is the absolute PFZ_HOME.
func (s *Store) Home() string { return s.home }

// KindDir is the folder holding all entities of a kind.
func (s *Store) KindDir(k Kind) string { return filepath.Join(s.home, string(k)) }

// Dir is the folder of one entity. The name must pass CheckName.
func (s *Store) Dir(k Kind, name string) string { return filepath.Join(s.home, string(k), name) }

// SessionDir is sessions/<id>.
func (s *Store) SessionDir(id string) string { return s.Dir(Sessions, id) }

// RunDir is runs/<name>.
func (s *Store) RunDir(name string) string { return s.Dir(Runs, name) }

// ComputeDir is computes/<name>.
func (s *Store) ComputeDir(name string) string { return s.Dir(Computes, name) }

// ConnectionsDir is connections/.
func (s *Store) ConnectionsDir() string { return s.KindDir(Connections) }

// CheckName rejects names that are not a single safe path element, so an id
// from a flag can never reach outside its folder.
func CheckName(name string) error {
	switch {
	case name == "":
		return fault.New(fault.Usage, "the name is empty")
	case len(name) > 200:
		return fault.New(fault.Usage, "the name %.20q… is longer than 200 characters", name)
	case name == "." || name == ".." || strings.HasPrefix(name, "."):
		return fault.New(fault.Usage, "the name %q may not start with a dot", name)
	case strings.ContainsAny(name, `/\:*?"<>|`) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fault.New(fault.Usage, "the name %q has characters that cannot be a file name", name)
	}
	return nil
}

// List returns the names of the entities of a kind that have a folder,
// sorted. A missing kind folder is an empty list.
func (s *Store) List(k Kind) ([]string, error) {
	ents, err := os.ReadDir(s.KindDir(k))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", s.KindDir(k))
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && CheckName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Lock is a held entity lock. Unlock releases it; a process that dies
// releases its locks with it (the kernel drops them).
type Lock struct {
	fl   *flock.Flock
	what string
}

// Unlock releases the lock; calling it twice is harmless.
func (l *Lock) Unlock() error {
	if l == nil || l.fl == nil {
		return nil
	}
	err := l.fl.Unlock()
	_ = l.fl.Close()
	l.fl = nil
	return err
}

// retryDelay is how often a waiting process retries a busy lock; short,
// because locks are held for file writes or a session build.
const retryDelay = 25 * time.Millisecond

func (s *Store) lockPath(k Kind, name, ext string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	dir := filepath.Join(s.home, "locks", string(k))
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return "", fault.Wrap(fault.Failed, err, "cannot create the lock folder %s", dir)
	}
	return filepath.Join(dir, name+ext), nil
}

// Lock takes the exclusive lock of an entity, waiting while another
// process or handle holds it, until ctx ends.
func (s *Store) Lock(ctx context.Context, k Kind, name string) (*Lock, error) {
	return s.take(ctx, k, name, ".lock", false)
}

// TryLock takes the exclusive lock of an entity if it is free; ok reports
// whether it was taken.
func (s *Store) TryLock(k Kind, name string) (l *Lock, ok bool, err error) {
	return s.try(k, name, ".lock", false)
}

// Use takes the shared "in use" lock of an entity (many holders at once),
// waiting while someone holds it exclusively (see TryExclusiveUse).
func (s *Store) Use(ctx context.Context, k Kind, name string) (*Lock, error) {
	return s.take(ctx, k, name, ".use", true)
}

// TryExclusiveUse takes the "in use" lock exclusively if nobody uses the
// entity; ok false means some process holds it shared. Deleting an entity
// takes it so that nothing deletes what a live run still uses.
func (s *Store) TryExclusiveUse(k Kind, name string) (l *Lock, ok bool, err error) {
	return s.try(k, name, ".use", false)
}

func (s *Store) take(ctx context.Context, k Kind, name, ext string, shared bool) (*Lock, error) {
	p, err := s.lockPath(k, name, ext)
	if err != nil {
		return nil, err
	}
	fl := flock.New(p, flock.SetPermissions(0o600))
	try := fl.TryLockContext
	if shared {
		try = fl.TryRLockContext
	}
	ok, err := try(ctx, retryDelay)
	if err != nil || !ok {
		_ = fl.Close()
		what := strings.TrimSuffix(string(k), "s") + " " + name
		if ctxErr := ctx.Err(); ctxErr != nil {
			kind := fault.Interrupted
			if errors.Is(ctxErr, context.DeadlineExceeded) {
				kind = fault.Timeout
			}
			return nil, fault.Wrap(kind, ctxErr, "gave up waiting for another pfz process to release %s", what).
				WithHint("another pfz command is working on %s; wait for it, or find it with the lock file %s", what, p)
		}
		return nil, fault.Wrap(fault.Failed, err, "cannot lock %s", what).
			WithHint("check that %s is writable", filepath.Dir(p))
	}
	return &Lock{fl: fl, what: p}, nil
}

func (s *Store) try(k Kind, name, ext string, shared bool) (*Lock, bool, error) {
	p, err := s.lockPath(k, name, ext)
	if err != nil {
		return nil, false, err
	}
	fl := flock.New(p, flock.SetPermissions(0o600))
	var ok bool
	if shared {
		ok, err = fl.TryRLock()
	} else {
		ok, err = fl.TryLock()
	}
	if err != nil {
		_ = fl.Close()
		return nil, false, fault.Wrap(fault.Failed, err, "cannot lock %s", p)
	}
	if !ok {
		_ = fl.Close()
		return nil, false, nil
	}
	return &Lock{fl: fl, what: p}, true, nil
}

// EnsureDir creates an entity folder (and its parents) with private permissions.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot create %s", dir)
	}
	return nil
}

// RemoveAll deletes a folder tree. Python environments can hold read-only
// files; those are made writable first so the removal frees the disk.
func RemoveAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, werr error) error {
		if werr == nil {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot delete %s", dir).
			WithHint("delete the folder by hand; nothing else refers to it")
	}
	return nil
}

// Discard deletes a folder tree crash-safely: it is first renamed into
// PFZ_HOME/trash (one atomic step, after which the entity is gone), then
// removed. A process killed during the removal leaves only trash, which
// Recover deletes.
func (s *Store) Discard(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	trash := filepath.Join(s.home, "trash")
	if err := os.MkdirAll(trash, dirPerm); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot create %s", trash)
	}
	dst := filepath.Join(trash, fmt.Sprintf("%s-%d-%d", filepath.Base(dir), os.Getpid(), time.Now().UnixNano()))
	if err := os.Rename(dir, dst); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot delete %s", dir).
			WithHint("delete the folder by hand; pfz keeps no other reference to it")
	}
	return RemoveAll(dst)
}

// Recover removes the temp files that killed writers left in the entity
// folders (one level: the entity's own files) and the trash of interrupted
// deletions. Entity-specific repair, such as a session stuck in Starting,
// is the owner's job. It returns what it removed.
func (s *Store) Recover(now time.Time) ([]string, error) {
	var removed []string
	trash := filepath.Join(s.home, "trash")
	if ents, err := os.ReadDir(trash); err == nil {
		for _, e := range ents {
			p := filepath.Join(trash, e.Name())
			if RemoveAll(p) == nil {
				removed = append(removed, p)
			}
		}
	}
	dirs := []string{s.ConnectionsDir()}
	for _, k := range []Kind{Sessions, Runs, Computes} {
		names, err := s.List(k)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			dirs = append(dirs, s.Dir(k, n))
		}
	}
	for _, d := range dirs {
		r, err := CleanTemp(d, now)
		if err != nil {
			return removed, err
		}
		removed = append(removed, r...)
	}
	return removed, nil
}
