package connection

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
)

// Store keeps connections under PFZ_HOME/connections, one folder per
// connection: <name>/connection.json holds the connection with its secrets
// redacted, <name>/secrets.json (mode 0600) the secret values. A name is one
// folder and nothing else, so no name can reach another connection's files
// (the old flat layout, <name>.json beside <name>.secrets.json, let a
// connection named "foo.secrets" overwrite foo's secrets; it is migrated on
// first use). Both files carry the same revision, so a connection whose two
// files were not both written (a killed pfz) is detected, never mixed.
//
// Legal names are those of an Azure ML workspace connection: letters,
// digits, '_', '-' and '.', starting with a letter, digit or '_', at most
// 200 characters; and, as Azure resource names are, unique ignoring case
// ("Foo" cannot be created beside "foo"), so the store behaves the same on
// case-insensitive file systems.
type Store struct {
	home string
	now  func() time.Time
}

// NewStore returns the connection store of PFZ_HOME.
func NewStore(home string) *Store { return &Store{home: home, now: time.Now} }

type recordFile struct {
	Revision   string     `json:"revision"`
	Connection Connection `json:"connection"`
}

type secretsFile struct {
	Revision string            `json:"revision"`
	APIKey   string            `json:"api_key,omitempty"`
	Secrets  map[string]string `json:"secrets,omitempty"`
}

// File names inside a connection's folder.
const (
	recordName  = "connection.json"
	secretsName = "secrets.json"
	// orphanSecretsName keeps secrets the migration found beside a record
	// of another revision.
	orphanSecretsName = "secrets.orphan.json"
)

func (s *Store) open(ctx context.Context) (*store.Store, error) {
	st, err := store.New(s.home)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

func (s *Store) paths(st *store.Store, name string) (dir, rec, sec string) {
	dir = filepath.Join(st.ConnectionsDir(), name)
	return dir, filepath.Join(dir, recordName), filepath.Join(dir, secretsName)
}

func checkName(name string) error {
	if !nameOK(name) {
		return fault.New(fault.Usage, "%q is not a connection name", name).
			WithHint("use letters, digits, '_', '-' and '.', starting with a letter, digit or '_'")
	}
	return nil
}

// Create stores the connection, replacing one of the same name (as
// promptflow's create does). It must pass Validate.
func (s *Store) Create(ctx context.Context, c *Connection) error {
	if ds := c.Validate(); ds.HasErrors() {
		return fault.Wrap(fault.Validation, ds.Err(), "connection %q is not valid", c.Name)
	}
	st, err := s.open(ctx)
	if err != nil {
		return err
	}
	lk, err := st.Lock(ctx, store.Connections, c.Name)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	if other, err := sameIgnoringCase(st, c.Name); err != nil {
		return err
	} else if other != "" {
		return fault.New(fault.Usage, "connection %q already exists as %q: connection names are unique ignoring case, as on Azure ML", c.Name, other).
			WithHint("use the name %s to replace it, or delete it first with `pfz connection delete -n %s`", other, other)
	}
	_, recPath, secPath := s.paths(st, c.Name)

	now := s.now().UTC().Truncate(time.Second)
	created := now
	var old recordFile
	if err := store.ReadJSON(recPath, &old); err == nil && old.Connection.CreatedDate != nil {
		created = *old.Connection.CreatedDate
	}
	rev, err := revision()
	if err != nil {
		return err
	}
	sec := secretsFile{Revision: rev, APIKey: c.APIKey, Secrets: c.Secrets}
	rec := recordFile{Revision: rev, Connection: *c.Redact()}
	rec.Connection.CreatedDate, rec.Connection.LastModifiedDate = &created, &now
	// Secrets first: a kill between the writes leaves the old record with
	// new secrets, which the revision check catches.
	if err := store.WriteJSON(secPath, sec, 0o600); err != nil {
		return err
	}
	return store.WriteJSON(recPath, rec, 0o600)
}

// Get returns the connection with its secret values, for the executor.
func (s *Store) Get(ctx context.Context, name string) (*Connection, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	st, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	_, recPath, secPath := s.paths(st, name)
	rec, err := readRecord(recPath, name)
	if err != nil {
		return nil, err
	}
	c := rec.Connection
	var sec secretsFile
	err = store.ReadJSON(secPath, &sec)
	switch {
	case errors.Is(err, store.ErrNotExist):
		sec = secretsFile{Revision: rec.Revision}
		if len(c.SecretKeys()) > 0 || c.APIKey != "" {
			return nil, damaged(name, secPath)
		}
	case err != nil:
		return nil, err
	}
	if sec.Revision != rec.Revision {
		return nil, damaged(name, secPath)
	}
	c.APIKey = sec.APIKey
	if sec.Secrets != nil {
		c.Secrets = sec.Secrets
	}
	return &c, nil
}

// Show returns the connection with secrets redacted.
func (s *Store) Show(ctx context.Context, name string) (*Connection, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	st, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	_, recPath, _ := s.paths(st, name)
	rec, err := readRecord(recPath, name)
	if err != nil {
		return nil, err
	}
	return rec.Connection.Redact(), nil
}

// List returns every connection, secrets redacted, sorted by name.
func (s *Store) List(ctx context.Context) ([]Connection, error) {
	st, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	names, err := st.List(store.Connections)
	if err != nil {
		return nil, err
	}
	out := []Connection{}
	for _, name := range names {
		_, recPath, _ := s.paths(st, name)
		rec, err := readRecord(recPath, name)
		if fault.Is(err, fault.NotFound) {
			continue // a folder a delete was removing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *rec.Connection.Redact())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes the connection and its secrets.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	st, err := s.open(ctx)
	if err != nil {
		return err
	}
	lk, err := st.Lock(ctx, store.Connections, name)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	dir, recPath, secPath := s.paths(st, name)
	if _, err := readRecord(recPath, name); fault.Is(err, fault.NotFound) {
		return err
	}
	// The record first: once it is gone the connection is gone; secrets
	// left by a kill after it are removed by the next create or delete.
	errRec := os.Remove(recPath)
	if errSec := os.Remove(secPath); errSec != nil && !errors.Is(errSec, os.ErrNotExist) {
		return fault.Wrap(fault.Failed, errSec, "cannot delete the secrets of connection %s", name).
			WithHint("delete %s by hand", secPath)
	}
	switch {
	case errors.Is(errRec, os.ErrNotExist):
		return notFound(name)
	case errRec != nil:
		return fault.Wrap(fault.Failed, errRec, "cannot delete connection %s", name)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot delete the folder of connection %s", name).WithHint("delete %s by hand", dir)
	}
	return nil
}

// readRecord reads a connection's record. On a case-insensitive file
// system "FOO" opens foo's folder: a record of another name is not found.
func readRecord(path, name string) (*recordFile, error) {
	var rec recordFile
	if err := store.ReadJSON(path, &rec); err != nil {
		if errors.Is(err, store.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, notFound(name)
		}
		return nil, err
	}
	if rec.Connection.Name != name {
		return nil, notFound(name)
	}
	return &rec, nil
}

// sameIgnoringCase returns the existing connection whose name equals name
// ignoring case but not exactly, or "".
func sameIgnoringCase(st *store.Store, name string) (string, error) {
	names, err := st.List(store.Connections)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if n != name && strings.EqualFold(n, name) {
			if _, err := os.Stat(filepath.Join(st.ConnectionsDir(), n, recordName)); err == nil {
				return n, nil
			}
		}
	}
	return "", nil
}

// migrationLock is the lock name the layout migration takes; it is not a
// legal connection name, so it never meets a connection's lock.
const migrationLock = "~layout"

// migrate moves a store of the flat layout (<name>.json and
// <name>.secrets.json side by side in connections/) to one folder per
// connection. Files are told apart by what they hold, not by their names:
// a record has a "connection" object whose name gives its folder; its
// secrets are <name>.secrets.json when that file holds secrets of the same
// revision. A record whose secrets were overwritten by a colliding record
// moves without them and reads as damaged (create it again), never with
// another connection's secrets.
func migrate(ctx context.Context, st *store.Store) error {
	dir := st.ConnectionsDir()
	if !hasFlatFiles(dir) {
		return nil
	}
	lk, err := st.Lock(ctx, store.Connections, migrationLock)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot read %s", dir)
	}
	type flat struct {
		Revision   string      `json:"revision"`
		Connection *Connection `json:"connection"`
	}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || store.IsTemp(n) || !strings.HasSuffix(n, ".json") {
			continue
		}
		var rec flat
		if err := store.ReadJSON(filepath.Join(dir, n), &rec); err != nil || rec.Connection == nil || !nameOK(rec.Connection.Name) || n != rec.Connection.Name+".json" {
			continue // a secrets file, or not pfz's
		}
		name := rec.Connection.Name
		to := filepath.Join(dir, name)
		if err := os.MkdirAll(to, 0o700); err != nil {
			return fault.Wrap(fault.Failed, err, "cannot migrate connection %s", name)
		}
		secFlat := filepath.Join(dir, name+".secrets.json")
		var sec secretsFile
		var probe flat
		if store.ReadJSON(secFlat, &sec) == nil && store.ReadJSON(secFlat, &probe) == nil && probe.Connection == nil {
			// Secrets of another revision (a write the old layout did not
			// finish) are not the record's, but they may be the only copy
			// of a key: they are kept beside it, 0600, never deleted.
			dest := secretsName
			if sec.Revision != rec.Revision {
				dest = orphanSecretsName
			}
			if err := os.Rename(secFlat, filepath.Join(to, dest)); err != nil {
				return fault.Wrap(fault.Failed, err, "cannot migrate the secrets of connection %s", name)
			}
		}
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(to, recordName)); err != nil {
			return fault.Wrap(fault.Failed, err, "cannot migrate connection %s", name)
		}
	}
	// What is left flat and holds secrets is secrets no record claims (a
	// kill between a delete's two removals): remove them, as the next
	// delete would have.
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		var probe flat
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".secrets.json") && store.ReadJSON(p, &probe) == nil && probe.Connection == nil {
			_ = os.Remove(p)
		}
	}
	return nil
}

func hasFlatFiles(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !store.IsTemp(e.Name()) {
			return true
		}
	}
	return false
}

func notFound(name string) error {
	return fault.New(fault.NotFound, "there is no connection %s", name).
		WithHint("`pfz connection list` shows the connections; `pfz connection create -f FILE` adds one")
}

func damaged(name, secPath string) error {
	return fault.New(fault.Failed, "the secrets of connection %s do not match its record (%s): a pfz process stopped while saving it", name, secPath).
		WithHint("create the connection again from its file: `pfz connection create -f FILE`")
}

func revision() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot make a revision id: %w", err)
	}
	return hex.EncodeToString(b), nil
}
