package azureml

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/connection"
	"github.com/pfz-cli/pfz/internal/fault"
)

// apiConnection is the api-version of the workspace connections (protocol §1.2 A6).
const apiConnection = "2023-04-01-preview"

// armConnection is a workspace connection as ARM lists it: the credentials'
// values are never read (no listsecrets call); the key names of a custom
// connection are.
type armConnection struct {
	Name       string `json:"name"`
	Properties struct {
		Category    string            `json:"category"`
		AuthType    string            `json:"authType"`
		Target      string            `json:"target,omitempty"`
		Metadata    map[string]string `json:"metadata,omitempty"`
		Credentials *struct {
			Keys map[string]any `json:"keys,omitempty"`
		} `json:"credentials,omitempty"`
	} `json:"properties"`
}

// categories maps ARM connection categories to promptflow connection types
// (and back, for create).
var categories = map[string]string{
	"AzureOpenAI":     connection.TypeAzureOpenAI,
	"OpenAI":          connection.TypeOpenAI,
	"CustomKeys":      connection.TypeCustom,
	"CognitiveSearch": connection.TypeCognitiveSearch,
	"Serp":            connection.TypeSerp,
	"Serverless":      connection.TypeServerless,
	"AIServices":      connection.TypeAzureAIServices,
}

// toConnection is the connection as pfz shows it: settings as they are,
// every secret as its name with a masked value.
func (a armConnection) toConnection() *connection.Connection {
	p := a.Properties
	typ, ok := categories[p.Category]
	switch {
	case ok:
	case p.Category == "CognitiveService" && strings.EqualFold(p.Metadata["Kind"], "Form Recognizer"):
		typ = connection.TypeFormRecognizer
	case p.Category == "CognitiveService":
		typ = connection.TypeAzureContentSafety
	default:
		typ = p.Category // shown as the workspace names it
	}
	c := &connection.Connection{Name: a.Name, Type: typ, Configs: map[string]string{}, Secrets: map[string]string{}}
	switch typ {
	case connection.TypeCustom:
		for k, v := range p.Metadata {
			c.Configs[k] = v
		}
		if p.Credentials != nil {
			for k := range p.Credentials.Keys {
				c.Secrets[k] = connection.Redacted
			}
		}
	default:
		switch typ {
		case connection.TypeAzureContentSafety, connection.TypeFormRecognizer, connection.TypeAzureAIServices:
			c.Endpoint = p.Target
		case connection.TypeOpenAI:
			c.BaseURL = p.Target
		default:
			c.APIBase = p.Target
		}
		for k, v := range p.Metadata {
			switch strings.ToLower(k) {
			case "apiversion", "api_version":
				c.APIVersion = v
			case "apitype", "api_type":
				c.APIType = v
			case "organization":
				c.Organization = v
			default:
				c.Configs[k] = v
			}
		}
		switch strings.ToLower(p.AuthType) {
		case "apikey", "customkeys":
			c.APIKey = connection.Redacted
		case "aad":
			c.AuthMode = "meid_token"
		}
	}
	if len(c.Configs) == 0 {
		c.Configs = nil
	}
	if len(c.Secrets) == 0 {
		c.Secrets = nil
	}
	return c
}

func (w *Workspace) connectionsURL() string { return w.armBase() + w.wsPath() + "/connections" }

// Connections lists the workspace's connections (ARM A6), secrets masked.
func (w *Workspace) Connections(ctx context.Context) ([]*connection.Connection, error) {
	var out []*connection.Connection
	next := w.connectionsURL()
	query := url.Values{"api-version": {apiConnection}}
	for next != "" {
		resp, err := w.c.do(ctx, call{method: http.MethodGet, url: next, query: query, scope: w.cloud.armScope()})
		if err != nil {
			return nil, w.fail(err, "listing the connections of workspace %s", w.opts.Workspace)
		}
		var page struct {
			Value    []armConnection `json:"value"`
			NextLink string          `json:"nextLink"`
		}
		if err := resp.json(&page); err != nil {
			return nil, w.fail(err, "reading the connections of workspace %s", w.opts.Workspace)
		}
		for _, a := range page.Value {
			out = append(out, a.toConnection())
		}
		next, query = page.NextLink, nil
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Connection reads one workspace connection, secrets masked.
func (w *Workspace) Connection(ctx context.Context, name string) (*connection.Connection, error) {
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: w.connectionsURL() + "/" + url.PathEscape(name),
		query: url.Values{"api-version": {apiConnection}}, scope: w.cloud.armScope()})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, fault.Wrap(fault.NotFound, err, "connection %q not found in workspace %s", name, w.opts.Workspace).
				WithHint("list the workspace's connections with `pfz connection list --target azureml`")
		}
		return nil, w.fail(err, "getting connection %s", name)
	}
	var a armConnection
	if err := resp.json(&a); err != nil {
		return nil, w.fail(err, "reading connection %s", name)
	}
	return a.toConnection(), nil
}

// CreateConnection creates or replaces a workspace connection (ARM PUT) of
// the types the Azure ML SDK creates: azure_open_ai, open_ai, custom,
// cognitive_search, serp. The secrets go only into the request body.
func (w *Workspace) CreateConnection(ctx context.Context, c *connection.Connection) (*connection.Connection, error) {
	type creds struct {
		Key  string            `json:"key,omitempty"`
		Keys map[string]string `json:"keys,omitempty"`
	}
	props := map[string]any{}
	meta := map[string]string{}
	switch c.Type {
	case connection.TypeAzureOpenAI, connection.TypeCognitiveSearch:
		props["category"] = map[string]string{connection.TypeAzureOpenAI: "AzureOpenAI", connection.TypeCognitiveSearch: "CognitiveSearch"}[c.Type]
		props["target"] = c.APIBase
		if c.APIVersion != "" {
			meta["ApiVersion"] = c.APIVersion
		}
		if c.APIType != "" {
			meta["ApiType"] = c.APIType
		}
		props["authType"], props["credentials"] = "ApiKey", creds{Key: c.APIKey}
	case connection.TypeOpenAI:
		props["category"], props["target"] = "OpenAI", c.BaseURL
		if c.Organization != "" {
			meta["organization"] = c.Organization
		}
		props["authType"], props["credentials"] = "ApiKey", creds{Key: c.APIKey}
	case connection.TypeSerp:
		props["category"], props["authType"], props["credentials"] = "Serp", "ApiKey", creds{Key: c.APIKey}
	case connection.TypeCustom:
		props["category"], props["authType"], props["target"] = "CustomKeys", "CustomKeys", "_"
		for k, v := range c.Configs {
			meta[k] = v
		}
		props["credentials"] = creds{Keys: c.Secrets}
	default:
		return nil, fault.New(fault.Unsupported, "pfz cannot create a %s connection in a workspace", c.Type).
			WithHint("create it in the studio (Prompt flow → Connections), or use a type pfz creates there: azure_open_ai, open_ai, custom, cognitive_search, serp")
	}
	if len(meta) > 0 {
		props["metadata"] = meta
	}
	_, err := w.c.do(ctx, call{method: http.MethodPut, url: w.connectionsURL() + "/" + url.PathEscape(c.Name),
		query: url.Values{"api-version": {apiConnection}}, scope: w.cloud.armScope(), idempotent: true,
		body: map[string]any{"properties": props}})
	if err != nil {
		return nil, w.fail(err, "creating connection %s in workspace %s", c.Name, w.opts.Workspace)
	}
	return c.Redact(), nil
}

// DeleteConnection deletes a workspace connection.
func (w *Workspace) DeleteConnection(ctx context.Context, name string) error {
	_, err := w.c.do(ctx, call{method: http.MethodDelete, url: w.connectionsURL() + "/" + url.PathEscape(name),
		query: url.Values{"api-version": {apiConnection}}, scope: w.cloud.armScope(), idempotent: true})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return fault.Wrap(fault.NotFound, err, "connection %q not found in workspace %s", name, w.opts.Workspace)
		}
		return w.fail(err, "deleting connection %s", name)
	}
	return nil
}

// checkConnections makes sure every connection a run's --connections names
// exists in the workspace, before anything is uploaded: a missing one would
// otherwise fail each line in the service after the run started.
func (w *Workspace) checkConnections(ctx context.Context, overrides map[string]map[string]string) error {
	names := map[string][]string{} // connection → nodes naming it
	for node, kv := range overrides {
		if name := kv["connection"]; name != "" {
			names[name] = append(names[name], node)
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		_, err := w.Connection(ctx, name)
		if fault.Is(err, fault.NotFound) {
			nodes := names[name]
			sort.Strings(nodes)
			return fault.Wrap(fault.Validation, err, "--connections names connection %q (node %s), which workspace %s does not have", name, strings.Join(nodes, ", "), w.opts.Workspace).
				WithHint("list the workspace's connections with `pfz connection list --target azureml`, or create it with `pfz connection create --target azureml`")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
