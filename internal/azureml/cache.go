package azureml

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/atomicfile"
)

// Disk caches, per workspace, under Options.CacheDir/azureml:
//
//	workspaces/<id>.json       the workspace GET (wsInfo)
//	workspaces/<id>.meta.json  the default datastore's name, datastore
//	                           descriptions and the TraceSessions answer
//	secrets/<id>.json          storage credentials from listSecrets (0600)
//
// Each entry is used for Options.WorkspaceCacheTTL (storage credentials for
// Options.StorageCredentialTTL) and then fetched again. Only the secrets file
// ever holds a secret; it is written 0600 in a 0700 folder, holds each
// credential with the account and the identity that listed it, and loses an
// entry when storage refuses it, when it is older than its TTL, or when
// another identity asks. Two processes writing at once may lose one's
// update: the cost is a round trip next time, never a wrong answer, since
// every entry carries its own time.

// cacheID names a workspace's cache files.
func (w *Workspace) cacheID() string {
	h := sha256.Sum256([]byte(strings.ToLower(w.armBase() + "|" + w.opts.Subscription + "|" + w.opts.ResourceGroup + "|" + w.opts.Workspace)))
	return hex.EncodeToString(h[:8])
}

func (w *Workspace) metaPath() string {
	if w.opts.CacheDir == "" || w.opts.WorkspaceCacheTTL < 0 {
		return ""
	}
	return filepath.Join(w.opts.CacheDir, "azureml", "workspaces", w.cacheID()+".meta.json")
}

func (w *Workspace) secretPath() string {
	if w.opts.CacheDir == "" || w.opts.StorageCredentialTTL < 0 {
		return ""
	}
	return filepath.Join(w.opts.CacheDir, "azureml", "secrets", w.cacheID()+".json")
}

// metaFile holds what pfz learnt about a workspace that is no secret.
type metaFile struct {
	DefaultDatastore   string                 `json:"default_datastore,omitempty"`
	DefaultFetchedAt   time.Time              `json:"default_datastore_fetched_at,omitempty"`
	Datastores         map[string]cachedStore `json:"datastores,omitempty"`
	TraceConfiguration *traceRec              `json:"trace_sessions,omitempty"`
}

type cachedStore struct {
	Datastore datastore `json:"datastore"`
	FetchedAt time.Time `json:"fetched_at"`
}

type traceRec struct {
	Configuration string    `json:"trace_cosmos_configuration"`
	FetchedAt     time.Time `json:"fetched_at"`
}

func (w *Workspace) fresh(at time.Time, ttl time.Duration) bool {
	age := w.opts.Now().Sub(at)
	return !at.IsZero() && age >= 0 && age < ttl
}

func (w *Workspace) readMeta() metaFile {
	var m metaFile
	if p := w.metaPath(); p != "" {
		if data, err := os.ReadFile(p); err == nil {
			_ = json.Unmarshal(data, &m)
		}
	}
	return m
}

// updateMeta applies f to the meta file and writes it back; a failure to
// write only costs a round trip later.
func (w *Workspace) updateMeta(f func(*metaFile)) {
	p := w.metaPath()
	if p == "" {
		return
	}
	w.cacheMu.Lock()
	defer w.cacheMu.Unlock()
	m := w.readMeta()
	f(&m)
	w.cacheWritten(atomicfile.WriteJSON(p, m, atomicfile.Options{}))
}

// cachedDefault returns the default datastore's description from disk.
func (w *Workspace) cachedDefault() *datastore {
	m := w.readMeta()
	if m.DefaultDatastore == "" || !w.fresh(m.DefaultFetchedAt, w.opts.WorkspaceCacheTTL) {
		return nil
	}
	e, ok := m.Datastores[m.DefaultDatastore]
	if !ok || !w.fresh(e.FetchedAt, w.opts.WorkspaceCacheTTL) {
		return nil
	}
	d := e.Datastore
	return &d
}

func (w *Workspace) cachedDatastore(name string) *datastore {
	e, ok := w.readMeta().Datastores[name]
	if !ok || !w.fresh(e.FetchedAt, w.opts.WorkspaceCacheTTL) {
		return nil
	}
	d := e.Datastore
	return &d
}

func (w *Workspace) rememberDatastore(d *datastore, isDefault bool) {
	now := w.opts.Now().UTC()
	pub := *d
	pub.key, pub.sas, pub.fromCache = "", "", false
	w.updateMeta(func(m *metaFile) {
		if m.Datastores == nil {
			m.Datastores = map[string]cachedStore{}
		}
		m.Datastores[d.Name] = cachedStore{Datastore: pub, FetchedAt: now}
		if isDefault {
			m.DefaultDatastore, m.DefaultFetchedAt = d.Name, now
		}
	})
}

func (w *Workspace) cachedTrace() (string, bool) {
	t := w.readMeta().TraceConfiguration
	if t == nil || !w.fresh(t.FetchedAt, w.opts.WorkspaceCacheTTL) {
		return "", false
	}
	return t.Configuration, true
}

func (w *Workspace) rememberTrace(conf string) {
	now := w.opts.Now().UTC()
	w.updateMeta(func(m *metaFile) {
		m.TraceConfiguration = &traceRec{Configuration: conf, FetchedAt: now}
	})
}

// secretFile is the storage credential cache. Note says what the file is to
// whoever finds it.
type secretFile struct {
	Note       string                 `json:"note"`
	Datastores map[string]cachedCreds `json:"datastores"`
}

const secretNote = "pfz: storage credentials of workspace datastores from listSecrets, reused for a short time; safe to delete"

type cachedCreds struct {
	Account   string    `json:"account"`
	Container string    `json:"container"`
	Principal string    `json:"principal"` // tenant/object id of the identity that listed them
	Key       string    `json:"key,omitempty"`
	SAS       string    `json:"sas,omitempty"`
	FetchedAt time.Time `json:"fetched_at"`
}

func (w *Workspace) readSecrets() secretFile {
	var f secretFile
	if p := w.secretPath(); p != "" {
		if data, err := os.ReadFile(p); err == nil {
			_ = json.Unmarshal(data, &f)
		}
	}
	return f
}

// updateSecrets keeps the file 0600 in a 0700 folder;
// expired entries are dropped whenever it is written.
func (w *Workspace) updateSecrets(f func(*secretFile)) {
	p := w.secretPath()
	if p == "" {
		return
	}
	w.cacheMu.Lock()
	defer w.cacheMu.Unlock()
	s := w.readSecrets()
	if s.Datastores == nil {
		s.Datastores = map[string]cachedCreds{}
	}
	f(&s)
	for name, c := range s.Datastores {
		if !w.fresh(c.FetchedAt, w.opts.StorageCredentialTTL) {
			delete(s.Datastores, name)
		}
	}
	if len(s.Datastores) == 0 {
		_ = os.Remove(p)
		return
	}
	s.Note = secretNote
	w.cacheWritten(atomicfile.WriteJSON(p, s, atomicfile.Options{Perm: 0o600}))
}

// principalKey identifies the identity pfz acts as, from its ARM token, so a
// credential listed by one identity is never used by another.
func (w *Workspace) principalKey(ctx context.Context) string {
	tok, err := w.c.token(ctx, w.cloud.armScope())
	if err != nil {
		return ""
	}
	c := claimsOf(tok)
	tid, _ := c["tid"].(string)
	oid, _ := c["oid"].(string)
	if oid == "" {
		return ""
	}
	return tid + "/" + oid
}

// cachedSecret fills d's key or SAS from the secrets file when an entry for
// the same account and container, listed by this identity, is fresh.
func (w *Workspace) cachedSecret(ctx context.Context, d *datastore) bool {
	if w.secretPath() == "" {
		return false
	}
	c, ok := w.readSecrets().Datastores[d.Name]
	if !ok || !w.fresh(c.FetchedAt, w.opts.StorageCredentialTTL) || c.Account != d.Account || c.Container != d.Container ||
		(c.Key == "" && c.SAS == "") {
		return false
	}
	if p := w.principalKey(ctx); p == "" || p != c.Principal {
		return false
	}
	d.key, d.sas, d.fromCache = c.Key, c.SAS, true
	return true
}

func (w *Workspace) rememberSecret(ctx context.Context, d *datastore) {
	if w.secretPath() == "" || (d.key == "" && d.sas == "") {
		return
	}
	p := w.principalKey(ctx)
	if p == "" {
		return
	}
	now := w.opts.Now().UTC()
	w.updateSecrets(func(s *secretFile) {
		s.Datastores[d.Name] = cachedCreds{Account: d.Account, Container: d.Container, Principal: p, Key: d.key, SAS: d.sas, FetchedAt: now}
	})
}

func (w *Workspace) forgetSecret(name string) {
	w.updateSecrets(func(s *secretFile) { delete(s.Datastores, name) })
}
