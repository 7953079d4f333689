// Package connection owns prompt flow connections on the local target: the
// model of a connection YAML file ($schema, name, type, api_key, api_base,
// api_type, api_version, organization, configs, secrets …), parsing it with
// positions for diagnostics, and the store under PFZ_HOME/connections that
// keeps secrets in a separate 0600 file. What it shows is redacted; only Get
// returns secret values, for the executor.
package connection

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/suggest"
)

// Redacted is what a secret looks like in shown or listed connections.
const Redacted = "******"

// Connection is one prompt flow connection.
type Connection struct {
	Schema       string            `json:"$schema,omitempty" yaml:"$schema,omitempty"`
	Name         string            `json:"name" yaml:"name"`
	Type         string            `json:"type" yaml:"type"`
	Module       string            `json:"module,omitempty" yaml:"module,omitempty"`
	APIKey       string            `json:"api_key,omitempty" yaml:"api_key,omitempty"`
	APIBase      string            `json:"api_base,omitempty" yaml:"api_base,omitempty"`
	APIType      string            `json:"api_type,omitempty" yaml:"api_type,omitempty"`
	APIVersion   string            `json:"api_version,omitempty" yaml:"api_version,omitempty"`
	Organization string            `json:"organization,omitempty" yaml:"organization,omitempty"`
	BaseURL      string            `json:"base_url,omitempty" yaml:"base_url,omitempty"`
	Endpoint     string            `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	AuthMode     string            `json:"auth_mode,omitempty" yaml:"auth_mode,omitempty"`
	ResourceID   string            `json:"resource_id,omitempty" yaml:"resource_id,omitempty"`
	Configs      map[string]string `json:"configs,omitempty" yaml:"configs,omitempty"`
	Secrets      map[string]string `json:"secrets,omitempty" yaml:"secrets,omitempty"`

	CreatedDate      *time.Time `json:"created_date,omitempty" yaml:"created_date,omitempty"`
	LastModifiedDate *time.Time `json:"last_modified_date,omitempty" yaml:"last_modified_date,omitempty"`
}

// Connection types (the `type` key).
const (
	TypeAzureOpenAI        = "azure_open_ai"
	TypeOpenAI             = "open_ai"
	TypeCustom             = "custom"
	TypeServerless         = "serverless"
	TypeCognitiveSearch    = "cognitive_search"
	TypeSerp               = "serp"
	TypeAzureContentSafety = "azure_content_safety"
	TypeFormRecognizer     = "form_recognizer"
	TypeQdrant             = "qdrant"
	TypeWeaviate           = "weaviate"
	TypeAzureAIServices    = "azure_ai_services"
)

// typeInfo is what a type allows and needs.
type typeInfo struct {
	class    string   // the promptflow class name
	keys     []string // the type's own keys
	required []string // keys that must have a value
}

var types = map[string]typeInfo{
	TypeAzureOpenAI:        {"AzureOpenAIConnection", []string{"api_key", "api_base", "api_type", "api_version", "auth_mode", "resource_id"}, []string{"api_key", "api_base"}},
	TypeOpenAI:             {"OpenAIConnection", []string{"api_key", "organization", "base_url"}, []string{"api_key"}},
	TypeCustom:             {"CustomConnection", []string{"configs", "secrets"}, nil},
	TypeServerless:         {"ServerlessConnection", []string{"api_key", "api_base"}, []string{"api_key", "api_base"}},
	TypeCognitiveSearch:    {"CognitiveSearchConnection", []string{"api_key", "api_base", "api_version", "auth_mode"}, []string{"api_key", "api_base"}},
	TypeSerp:               {"SerpConnection", []string{"api_key"}, []string{"api_key"}},
	TypeAzureContentSafety: {"AzureContentSafetyConnection", []string{"api_key", "endpoint", "api_version", "api_type"}, []string{"api_key", "endpoint"}},
	TypeFormRecognizer:     {"FormRecognizerConnection", []string{"api_key", "endpoint", "api_version", "api_type"}, []string{"api_key", "endpoint"}},
	TypeQdrant:             {"QdrantConnection", []string{"api_key", "api_base"}, []string{"api_key", "api_base"}},
	TypeWeaviate:           {"WeaviateConnection", []string{"api_key", "api_base"}, []string{"api_key", "api_base"}},
	TypeAzureAIServices:    {"AzureAIServicesConnection", []string{"api_key", "endpoint", "auth_mode"}, []string{"api_key", "endpoint"}},
}

// commonKeys are valid in every connection file.
var commonKeys = []string{"$schema", "name", "type", "module", "created_date", "last_modified_date", "expiry_time", "description", "tags"}

// Types lists the known connection types, sorted.
func Types() []string {
	out := make([]string, 0, len(types))
	for t := range types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// ClassName is the promptflow class of the connection's type, e.g.
// AzureOpenAIConnection; "" for an unknown type.
func (c *Connection) ClassName() string { return types[c.Type].class }

// field returns the string field for a strong-type key, or nil.
func (c *Connection) field(key string) *string {
	switch key {
	case "api_key":
		return &c.APIKey
	case "api_base":
		return &c.APIBase
	case "api_type":
		return &c.APIType
	case "api_version":
		return &c.APIVersion
	case "organization":
		return &c.Organization
	case "base_url":
		return &c.BaseURL
	case "endpoint":
		return &c.Endpoint
	case "auth_mode":
		return &c.AuthMode
	case "resource_id":
		return &c.ResourceID
	case "$schema":
		return &c.Schema
	case "name":
		return &c.Name
	case "type":
		return &c.Type
	case "module":
		return &c.Module
	}
	return nil
}

// keyless reports whether the connection authenticates with Microsoft
// Entra ID instead of a key, so api_key may be empty.
func (c *Connection) keyless() bool { return strings.EqualFold(c.AuthMode, "meid_token") }

// Values is the flat key → value map the executor hands to tools: a strong
// type's set keys, or a custom connection's configs and secrets together.
func (c *Connection) Values() map[string]string {
	out := map[string]string{}
	if c.Type == TypeCustom {
		for k, v := range c.Configs {
			out[k] = v
		}
		for k, v := range c.Secrets {
			out[k] = v
		}
		return out
	}
	for _, k := range types[c.Type].keys {
		if p := c.field(k); p != nil && *p != "" {
			out[k] = *p
		}
	}
	return out
}

// SecretKeys are the keys of Values that are secret, sorted.
func (c *Connection) SecretKeys() []string {
	if c.Type == TypeCustom {
		keys := make([]string, 0, len(c.Secrets))
		for k := range c.Secrets {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	if c.APIKey != "" {
		return []string{"api_key"}
	}
	return nil
}

// Redact returns a copy with every secret value replaced by Redacted.
func (c *Connection) Redact() *Connection {
	out := *c
	if out.APIKey != "" {
		out.APIKey = Redacted
	}
	if c.Secrets != nil {
		out.Secrets = make(map[string]string, len(c.Secrets))
		for k := range c.Secrets {
			out.Secrets[k] = Redacted
		}
	}
	if c.Configs != nil {
		out.Configs = make(map[string]string, len(c.Configs))
		for k, v := range c.Configs {
			out.Configs[k] = v
		}
	}
	return &out
}

// ResolveEnv replaces values written as ${env:NAME} with the variable's
// value, as promptflow does when a connection is created. lookup is
// os.LookupEnv in the command layer. A missing variable is an error.
func (c *Connection) ResolveEnv(lookup func(string) (string, bool)) diag.List {
	var ds diag.List
	resolve := func(where string, v *string) {
		name, ok := envRef(*v)
		if !ok {
			return
		}
		val, found := lookup(name)
		if !found {
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Code: CodeMissingEnv,
				Message: fmt.Sprintf("%s refers to the environment variable %s, which is not set", where, name),
				Hint:    fmt.Sprintf("set %s, or write the value in the file", name)})
			return
		}
		*v = val
	}
	for _, k := range types[c.Type].keys {
		if p := c.field(k); p != nil {
			resolve(k, p)
		}
	}
	for _, m := range []struct {
		name string
		m    map[string]string
	}{{"configs", c.Configs}, {"secrets", c.Secrets}} {
		keys := make([]string, 0, len(m.m))
		for k := range m.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := m.m[k]
			resolve(m.name+"."+k, &v)
			m.m[k] = v
		}
	}
	return ds
}

func envRef(v string) (string, bool) {
	inner, ok := strings.CutPrefix(v, "${env:")
	if !ok || !strings.HasSuffix(inner, "}") {
		return "", false
	}
	name := strings.TrimSuffix(inner, "}")
	return name, name != ""
}

// Validate checks a connection built in code (Parse runs the same checks
// with positions): a valid name, a known type, the keys the type needs, no
// placeholder left in a secret.
func (c *Connection) Validate() diag.List {
	var ds diag.List
	for _, k := range c.validate() {
		ds = append(ds, k.d)
	}
	return ds
}

// keyed is a finding about one key ("secrets.x" for a custom secret), so
// Parse can place it at that key's line.
type keyed struct {
	key string
	d   diag.Diagnostic
}

func (c *Connection) validate() []keyed {
	var ds []keyed
	add := func(sev diag.Severity, code, key, msg, hint string) {
		ds = append(ds, keyed{key, diag.Diagnostic{Severity: sev, Code: code, Message: msg, Hint: hint}})
	}
	if c.Name == "" {
		add(diag.Error, CodeMissingKey, "name", "the connection has no name", "add `name: my_connection`")
	} else if !nameOK(c.Name) {
		add(diag.Error, CodeBadName, "name", fmt.Sprintf("%q is not a connection name: use letters, digits, '_', '-' and '.', starting with a letter, digit or '_'", c.Name), "")
	}
	info, known := types[c.Type]
	switch {
	case c.Type == "":
		add(diag.Error, CodeMissingKey, "type", "the connection has no type", "add `type:` with one of "+strings.Join(Types(), ", "))
	case !known:
		hint := "use one of " + strings.Join(Types(), ", ")
		if n := nearest(c.Type, Types()); n != "" {
			hint = "did you mean " + n + "?"
		}
		add(diag.Error, CodeUnknownType, "type", fmt.Sprintf("unknown connection type %q", c.Type), hint)
	}
	for _, k := range info.required {
		p := c.field(k)
		if p == nil || *p != "" || (k == "api_key" && c.keyless()) {
			continue
		}
		add(diag.Error, CodeMissingKey, k, fmt.Sprintf("a %s connection needs %s", c.Type, k), fmt.Sprintf("add `%s:`", k))
	}
	check := func(key, v string) {
		if isPlaceholder(v) {
			add(diag.Error, CodePlaceholder, key, fmt.Sprintf("%s is still the placeholder %s", key, v),
				"write the value, or ${env:NAME} to take it from an environment variable when the connection is created")
		}
	}
	check("api_key", c.APIKey)
	keys := make([]string, 0, len(c.Secrets))
	for k := range c.Secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		check("secrets."+k, c.Secrets[k])
	}
	return ds
}

func isPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) > 2 && strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">")
}

func nameOK(name string) bool {
	if len(name) == 0 || len(name) > 200 {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
		case (r == '-' || r == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

// nearest returns the candidate closest to s when it is a likely typo:
// within a third of its length in edits, and never fewer than two, so that
// short keys (kye → key) still get a guess.
func nearest(s string, candidates []string) string {
	if near := suggest.Nearest(s, candidates, 1, max(len(strings.ToLower(s))/3, 2)); len(near) == 1 {
		return near[0]
	}
	return ""
}

// Set sets a strong-type key (api_base, api_key, …) and reports whether the
// key is one; for a custom connection every key is a config.
func (c *Connection) Set(key, value string) bool {
	if c.Type == TypeCustom {
		if c.Configs == nil {
			c.Configs = map[string]string{}
		}
		c.Configs[key] = value
		return true
	}
	p := c.field(key)
	if p == nil || key == "name" || key == "type" || key == "$schema" {
		return false
	}
	*p = value
	return true
}

// SetSecret sets a secret: api_key on strong types, a secret on custom ones.
func (c *Connection) SetSecret(key, value string) bool {
	if c.Type == TypeCustom {
		if c.Secrets == nil {
			c.Secrets = map[string]string{}
		}
		c.Secrets[key] = value
		return true
	}
	if key != "api_key" {
		return false
	}
	c.APIKey = value
	return true
}
