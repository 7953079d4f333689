package azureml

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/fault"
)

// ARM api-versions (protocol §1.2).
const (
	apiWorkspace = "2023-08-01-preview"
	apiDatastore = "2023-04-01-preview"
	apiCompute   = "2023-04-01"
)

// wsInfo is what pfz needs from the workspace GET (A1). It holds no secret,
// so it may be cached on disk.
type wsInfo struct {
	ID           string                 `json:"id"`
	Name         string                 `json:"name"`
	Location     string                 `json:"location"`
	Kind         string                 `json:"kind"`
	DiscoveryURL string                 `json:"discovery_url"`
	WorkspaceID  string                 `json:"workspace_id"`
	PrimaryUAI   string                 `json:"primary_user_assigned_identity,omitempty"`
	UAIs         map[string]uaiIdentity `json:"user_assigned_identities,omitempty"`
	FetchedAt    time.Time              `json:"fetched_at"`
}

type uaiIdentity struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

func (i *wsInfo) serviceBase() (string, error) {
	if i.DiscoveryURL == "" {
		return "", fault.New(fault.Failed, "workspace %s has no discoveryUrl", i.Name).
			WithHint("set the service endpoint override (service_endpoint / PFZ_SERVICE_ENDPOINT) to https://<region>.api.azureml.ms")
	}
	// The Python client keeps what comes before "discovery"; for a private-link
	// workspace the discovery URL carries more segments after it.
	base := strings.SplitN(i.DiscoveryURL, "discovery", 2)[0]
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base, nil
}

type armWorkspace struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	Kind     string `json:"kind"`
	Identity *struct {
		Type                   string                 `json:"type"`
		UserAssignedIdentities map[string]uaiIdentity `json:"userAssignedIdentities"`
	} `json:"identity"`
	Properties struct {
		DiscoveryURL                string `json:"discoveryUrl"`
		WorkspaceID                 string `json:"workspaceId"`
		PrimaryUserAssignedIdentity string `json:"primaryUserAssignedIdentity"`
	} `json:"properties"`
}

func (w *Workspace) cachePath() string {
	if w.opts.CacheDir == "" || w.opts.WorkspaceCacheTTL < 0 {
		return ""
	}
	return filepath.Join(w.opts.CacheDir, "azureml", "workspaces", w.cacheID()+".json")
}

// workspaceInfo returns the workspace lookup: from memory, from the disk cache
// when younger than the TTL, else from ARM.
func (w *Workspace) workspaceInfo(ctx context.Context) (*wsInfo, error) {
	w.infoMu.Lock()
	defer w.infoMu.Unlock()
	if w.info != nil {
		return w.info, nil
	}
	if p := w.cachePath(); p != "" {
		if data, err := os.ReadFile(p); err == nil {
			var info wsInfo
			if json.Unmarshal(data, &info) == nil && info.DiscoveryURL != "" {
				age := w.opts.Now().Sub(info.FetchedAt)
				if age >= 0 && age < w.opts.WorkspaceCacheTTL {
					w.info = &info
					return w.info, nil
				}
			}
		}
	}
	resp, err := w.c.do(ctx, call{
		method: http.MethodGet, url: w.armBase() + w.wsPath(),
		query: url.Values{"api-version": {apiWorkspace}}, scope: w.cloud.armScope(),
	})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, fault.Wrap(fault.NotFound, err, "workspace %s not found in resource group %s of subscription %s", w.opts.Workspace, w.opts.ResourceGroup, w.opts.Subscription).
				WithHint("check the names with `az ml workspace list -g %s`", w.opts.ResourceGroup)
		}
		return nil, w.fail(err, "getting workspace %s", w.opts.Workspace)
	}
	var aw armWorkspace
	if err := resp.json(&aw); err != nil {
		return nil, w.fail(err, "reading workspace %s", w.opts.Workspace)
	}
	info := &wsInfo{
		ID: aw.ID, Name: aw.Name, Location: aw.Location, Kind: aw.Kind,
		DiscoveryURL: aw.Properties.DiscoveryURL, WorkspaceID: aw.Properties.WorkspaceID,
		PrimaryUAI: aw.Properties.PrimaryUserAssignedIdentity, FetchedAt: w.opts.Now().UTC(),
	}
	if aw.Identity != nil {
		info.UAIs = aw.Identity.UserAssignedIdentities
	}
	w.info = info
	if p := w.cachePath(); p != "" {
		w.cacheWritten(atomicfile.WriteJSON(p, info, atomicfile.Options{}))
	}
	return info, nil
}

// cacheWritten reports a failed cache write on the warning stream, once per
// command: a cache that cannot be saved costs only a lookup next time, but
// the full disk behind it is worth knowing about.
func (w *Workspace) cacheWritten(err error) {
	if err == nil || w.opts.Warn == nil {
		return
	}
	w.warnOnce.Do(func() {
		fmt.Fprintf(w.opts.Warn, "warning: %v (pfz looks it up again next time)\n", err)
	})
}

// datastore is a datastore with, once resolved, its credentials. The
// credentials are never written anywhere but the secrets cache (cache.go)
// and never logged; the exported fields are the description, cached with the
// workspace.
type datastore struct {
	Name      string `json:"name"`
	Type      string `json:"type"` // AzureBlob, AzureDataLakeGen2, AzureFile, …
	Account   string `json:"account"`
	Container string `json:"container"`
	Suffix    string `json:"suffix,omitempty"` // storage endpoint suffix
	Protocol  string `json:"protocol,omitempty"`
	CredType  string `json:"credentials_type"` // AccountKey, Sas, None, ServicePrincipal, Certificate
	IsDefault bool   `json:"is_default"`

	key       string // account key
	sas       string // SAS query string
	fromCache bool   // key or sas came from the secrets cache
}

type armDatastore struct {
	Name       string `json:"name"`
	Properties struct {
		DatastoreType string `json:"datastoreType"`
		AccountName   string `json:"accountName"`
		ContainerName string `json:"containerName"`
		Filesystem    string `json:"filesystem"`
		FileShareName string `json:"fileShareName"`
		Endpoint      string `json:"endpoint"`
		Protocol      string `json:"protocol"`
		IsDefault     bool   `json:"isDefault"`
		Credentials   struct {
			CredentialsType string `json:"credentialsType"`
		} `json:"credentials"`
	} `json:"properties"`
}

func (a armDatastore) toDatastore() *datastore {
	p := a.Properties
	d := &datastore{Name: a.Name, Type: p.DatastoreType, Account: p.AccountName, Container: p.ContainerName,
		Suffix: p.Endpoint, Protocol: p.Protocol, CredType: p.Credentials.CredentialsType, IsDefault: p.IsDefault}
	if d.Container == "" {
		d.Container = p.Filesystem
	}
	if d.Container == "" {
		d.Container = p.FileShareName
	}
	return d
}

// defaultDatastore is A2: the first datastore of the isDefault listing,
// from memory or the disk cache when fresh. Its description also serves A3
// for the same datastore.
func (w *Workspace) defaultDatastore(ctx context.Context) (*datastore, error) {
	w.dsMu.Lock()
	defer w.dsMu.Unlock()
	if w.def != nil {
		d := *w.def
		return &d, nil
	}
	if d := w.cachedDefault(); d != nil {
		w.def, w.descs[d.Name] = d, d
		c := *d
		return &c, nil
	}
	resp, err := w.c.do(ctx, call{
		method: http.MethodGet, url: w.armBase() + w.wsPath() + "/datastores",
		query: url.Values{"api-version": {apiDatastore}, "count": {"30"}, "isDefault": {"true"}, "orderByAsc": {"false"}},
		scope: w.cloud.armScope(),
	})
	if err != nil {
		return nil, w.fail(err, "getting the default datastore of workspace %s", w.opts.Workspace)
	}
	var list struct {
		Value []armDatastore `json:"value"`
	}
	if err := resp.json(&list); err != nil {
		return nil, w.fail(err, "reading the datastores of workspace %s", w.opts.Workspace)
	}
	if len(list.Value) == 0 {
		return nil, fault.New(fault.Failed, "workspace %s has no default datastore", w.opts.Workspace).
			WithHint("set a default blob datastore: `az ml datastore update` or the studio's Data page")
	}
	d := list.Value[0].toDatastore()
	w.def, w.descs[d.Name] = d, d
	w.rememberDatastore(d, true)
	c := *d
	return &c, nil
}

// getDatastore is A3.
func (w *Workspace) getDatastore(ctx context.Context, name string) (*datastore, error) {
	resp, err := w.c.do(ctx, call{
		method: http.MethodGet, url: w.armBase() + w.wsPath() + "/datastores/" + url.PathEscape(name),
		query: url.Values{"api-version": {apiDatastore}}, scope: w.cloud.armScope(),
	})
	if err != nil {
		return nil, w.fail(err, "getting datastore %s", name)
	}
	var a armDatastore
	if err := resp.json(&a); err != nil {
		return nil, w.fail(err, "reading datastore %s", name)
	}
	return a.toDatastore(), nil
}

// describeDatastore is A3 unless the description is known: from the default
// listing of this process, or from the disk cache. Callers hold dsMu.
func (w *Workspace) describeDatastore(ctx context.Context, name string) (*datastore, error) {
	if d, ok := w.descs[name]; ok {
		c := *d
		return &c, nil
	}
	if d := w.cachedDatastore(name); d != nil {
		w.descs[name] = d
		c := *d
		return &c, nil
	}
	d, err := w.getDatastore(ctx, name)
	if err != nil {
		return nil, err
	}
	w.descs[name] = d
	w.rememberDatastore(d, false)
	c := *d
	return &c, nil
}

// datastoreWithSecrets is A3 + A4, once per datastore and process; the
// description and the credential come from the disk caches when fresh. The
// datastore must be a blob datastore.
func (w *Workspace) datastoreWithSecrets(ctx context.Context, name string) (*datastore, error) {
	return w.datastoreOfKind(ctx, name, "AzureBlob", "AzureDataLakeGen2")
}

// datastoreOfKind is datastoreWithSecrets for a datastore of one of kinds.
func (w *Workspace) datastoreOfKind(ctx context.Context, name string, kinds ...string) (*datastore, error) {
	w.dsMu.Lock()
	defer w.dsMu.Unlock()
	if d, ok := w.ds[name]; ok {
		return d, nil
	}
	d, err := w.describeDatastore(ctx, name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(kinds, d.Type) {
		if kinds[0] == "AzureFile" {
			return nil, fault.New(fault.Failed, "datastore %s is of type %s, not a file share", name, d.Type)
		}
		return nil, fault.New(fault.Failed, "datastore %s is of type %s; pfz uploads only to blob datastores", name, d.Type).
			WithHint("make a blob datastore the workspace default")
	}
	switch d.CredType {
	case "AccountKey", "Sas":
		if w.cachedSecret(ctx, d) {
			break
		}
		if err := w.listSecrets(ctx, d); err != nil {
			return nil, err
		}
		w.rememberSecret(ctx, d)
	case "None", "":
		// Identity-based datastore: the user's own token goes to storage.
	default:
		return nil, fault.New(fault.Unsupported, "datastore %s uses %s credentials, which pfz cannot upload with", name, d.CredType).
			WithHint("use an account-key, SAS or identity-based blob datastore")
	}
	w.ds[name] = d
	return d, nil
}

// listSecrets is A4.
func (w *Workspace) listSecrets(ctx context.Context, d *datastore) error {
	name := d.Name
	resp, err := w.c.do(ctx, call{
		method: http.MethodPost, url: w.armBase() + w.wsPath() + "/datastores/" + url.PathEscape(name) + "/listSecrets",
		query: url.Values{"api-version": {apiDatastore}}, scope: w.cloud.armScope(), idempotent: true,
	})
	if err != nil {
		if he := statusOf(err); he == http.StatusForbidden {
			return fault.Wrap(fault.Auth, err, "reading the credentials of datastore %s: %s may not list its secrets", name, w.c.principalName()).
				WithHint("assign the AzureML Data Scientist role on workspace %s to %s, or switch the datastore to identity-based access and grant Storage Blob Data Contributor", w.opts.Workspace, w.c.principalName())
		}
		return w.fail(err, "reading the credentials of datastore %s", name)
	}
	var sec struct {
		SecretsType string `json:"secretsType"`
		Key         string `json:"key"`
		SasToken    string `json:"sasToken"`
	}
	if err := resp.json(&sec); err != nil {
		return w.fail(err, "reading the credentials of datastore %s", name)
	}
	d.key, d.sas, d.fromCache = sec.Key, strings.TrimPrefix(sec.SasToken, "?"), false
	return nil
}

// dropCredentials forgets a datastore's credential that storage refused, in
// memory and on disk, unless another upload already replaced it.
func (w *Workspace) dropCredentials(stale *datastore) {
	w.dsMu.Lock()
	defer w.dsMu.Unlock()
	if cur, ok := w.ds[stale.Name]; ok && cur == stale {
		delete(w.ds, stale.Name)
		w.forgetSecret(stale.Name)
	}
}
