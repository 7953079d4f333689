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
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
)

// Store keeps connections under PFZ_HOME/connections: <name>.json holds the
// connection with its secrets redacted, <name>.secrets.json (mode 0600) the
// secret values. Both carry the same revision, so a connection whose two
// files were not both written (a killed pfz) is detected, never mixed.
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

func (s *Store) open() (*store.Store, error) { return store.New(s.home) }

func (s *Store) paths(st *store.Store, name string) (rec, sec string) {
	dir := st.ConnectionsDir()
	return filepath.Join(dir, name+".json"), filepath.Join(dir, name+".secrets.json")
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
	st, err := s.open()
	if err != nil {
		return err
	}
	lk, err := st.Lock(ctx, store.Connections, c.Name)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	recPath, secPath := s.paths(st, c.Name)

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
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	recPath, secPath := s.paths(st, name)
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
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	recPath, _ := s.paths(st, name)
	rec, err := readRecord(recPath, name)
	if err != nil {
		return nil, err
	}
	return rec.Connection.Redact(), nil
}

// List returns every connection, secrets redacted, sorted by name.
func (s *Store) List(ctx context.Context) ([]Connection, error) {
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(st.ConnectionsDir())
	if errors.Is(err, os.ErrNotExist) {
		return []Connection{}, nil
	}
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", st.ConnectionsDir())
	}
	out := []Connection{}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || store.IsTemp(n) || !strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".secrets.json") {
			continue
		}
		name := strings.TrimSuffix(n, ".json")
		rec, err := readRecord(filepath.Join(st.ConnectionsDir(), n), name)
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
	st, err := s.open()
	if err != nil {
		return err
	}
	lk, err := st.Lock(ctx, store.Connections, name)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	recPath, secPath := s.paths(st, name)
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
	return nil
}

func readRecord(path, name string) (*recordFile, error) {
	var rec recordFile
	if err := store.ReadJSON(path, &rec); err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return nil, notFound(name)
		}
		return nil, err
	}
	return &rec, nil
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
