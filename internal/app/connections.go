package app

import (
	"context"
	"os"
	"path/filepath"
	"sort"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/connection"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
)

// connStore adapts the local connection store to the command layer's
// ConnectionStore: strong-type fields show as configs, api_key as a secret.
type connStore struct {
	store   *connection.Store
	workDir string
	lookup  func(string) (string, bool)
}

func (s *connStore) List(ctx context.Context) ([]cmdutil.Connection, error) {
	list, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cmdutil.Connection, 0, len(list))
	for i := range list {
		out = append(out, toCmd(&list[i]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *connStore) Get(ctx context.Context, name string) (*cmdutil.Connection, error) {
	c, err := s.store.Show(ctx, name)
	if err != nil {
		return nil, err
	}
	out := toCmd(c)
	return &out, nil
}

func (s *connStore) Delete(ctx context.Context, name string) error { return s.store.Delete(ctx, name) }

func (s *connStore) Create(ctx context.Context, in cmdutil.Connection) (*cmdutil.Connection, error) {
	c, err := buildConnection(in, s.workDir, s.lookup)
	if err != nil {
		return nil, err
	}
	if err := s.store.Create(ctx, c); err != nil {
		return nil, err
	}
	out := toCmd(c.Redact())
	return &out, nil
}

// buildConnection makes the connection `connection create` asked for: the
// file (-f), then the flags, then ${env:VAR} values resolved.
func buildConnection(in cmdutil.Connection, workDir string, lookup func(string) (string, bool)) (*connection.Connection, error) {
	c := &connection.Connection{Name: in.Name, Type: in.Type}
	if in.File != "" {
		path := in.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(workDir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fault.Wrap(fault.Validation, err, "cannot read connection file %s", in.File).
				WithHint("check the path given to -f")
		}
		parsed, ds := connection.Parse(path, data)
		// A placeholder secret (api_key: "<user-input>") is what --secret
		// is for; the store checks again once the flags are applied.
		ds = withoutCode(ds, connection.CodePlaceholder)
		if ds.HasErrors() || parsed == nil {
			return nil, fault.Wrap(fault.Validation, ds.Err(), "connection file %s is not valid", in.File).
				WithHint("fix the lines named above")
		}
		c = parsed
		if in.Name != "" {
			c.Name = in.Name
		}
		if in.Type != "" {
			c.Type = in.Type
		}
	}
	for k, v := range in.Configs {
		if !c.Set(k, v) {
			return nil, fault.New(fault.Usage, "%q is not a setting of a %s connection", k, c.Type).
				WithHint("give secrets with --secret; `pfz connection create --help` lists the keys")
		}
	}
	for k, v := range in.Secrets {
		if !c.SetSecret(k, v) {
			return nil, fault.New(fault.Usage, "%q is not a secret of a %s connection", k, c.Type).
				WithHint("a %s connection keeps only api_key secret; give other keys with --set", c.Type)
		}
	}
	if ds := c.ResolveEnv(lookup); ds.HasErrors() {
		return nil, fault.Wrap(fault.Validation, ds.Err(), "connection %q refers to a missing environment variable", c.Name).
			WithHint("set the variable named above, or give the value directly")
	}
	return c, nil
}

// workspaceConnections is what the azureml target offers for connections.
type workspaceConnections interface {
	Connections(ctx context.Context) ([]*connection.Connection, error)
	Connection(ctx context.Context, name string) (*connection.Connection, error)
	CreateConnection(ctx context.Context, c *connection.Connection) (*connection.Connection, error)
	DeleteConnection(ctx context.Context, name string) error
}

// wsConnStore is the azureml target's connections: the workspace's, over
// ARM. Secrets are written, never read back: only their names are shown.
type wsConnStore struct {
	ws      workspaceConnections
	workDir string
	lookup  func(string) (string, bool)
}

func (s *wsConnStore) List(ctx context.Context) ([]cmdutil.Connection, error) {
	list, err := s.ws.Connections(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cmdutil.Connection, 0, len(list))
	for _, c := range list {
		out = append(out, toCmd(c))
	}
	return out, nil
}

func (s *wsConnStore) Get(ctx context.Context, name string) (*cmdutil.Connection, error) {
	c, err := s.ws.Connection(ctx, name)
	if err != nil {
		return nil, err
	}
	out := toCmd(c)
	return &out, nil
}

func (s *wsConnStore) Create(ctx context.Context, in cmdutil.Connection) (*cmdutil.Connection, error) {
	c, err := buildConnection(in, s.workDir, s.lookup)
	if err != nil {
		return nil, err
	}
	if ds := c.Validate(); ds.HasErrors() {
		return nil, fault.Wrap(fault.Validation, ds.Err(), "connection %q is not valid", c.Name)
	}
	made, err := s.ws.CreateConnection(ctx, c)
	if err != nil {
		return nil, err
	}
	out := toCmd(made)
	return &out, nil
}

func (s *wsConnStore) Delete(ctx context.Context, name string) error {
	return s.ws.DeleteConnection(ctx, name)
}

// toCmd flattens a (redacted) connection for printing.
func toCmd(c *connection.Connection) cmdutil.Connection {
	out := cmdutil.Connection{Name: c.Name, Type: c.Type, Configs: map[string]string{}, Secrets: map[string]string{}}
	secret := map[string]bool{}
	for _, k := range c.SecretKeys() {
		secret[k] = true
	}
	for k, v := range c.Values() {
		if secret[k] {
			out.Secrets[k] = connection.Redacted
		} else {
			out.Configs[k] = v
		}
	}
	for k := range c.Secrets {
		out.Secrets[k] = connection.Redacted
	}
	if len(out.Configs) == 0 {
		out.Configs = nil
	}
	if len(out.Secrets) == 0 {
		out.Secrets = nil
	}
	return out
}

func withoutCode(ds diag.List, code string) diag.List {
	var out diag.List
	for _, d := range ds {
		if d.Code != code {
			out = append(out, d)
		}
	}
	return out
}
