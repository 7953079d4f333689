// Package redact owns masking secrets in what pfz shows or keeps: a value is
// masked whole when its name suggests a secret (OPENAI_API_KEY), and
// otherwise only its secret parts, found by their shape (a URL's password,
// a SAS signature, Password= in a connection string, a JWT, an sk- key).
// Dry runs print submissions through it and the local target records them
// through it, so both hide the same things.
package redact

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/pfz-cli/pfz/internal/workspace"
)

// Masked stands in for a secret in shown or recorded output.
const Masked = "***"

// SecretName reports whether a variable or setting name suggests a secret
// (OPENAI_API_KEY, db_password, SAS_TOKEN), whose whole value is then masked.
func SecretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"key", "secret", "token", "password", "passwd", "pwd", "credential", "sas", "signature", "connection_string", "connectionstring"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// connRef is a ${…} reference (${connection.key}, ${data.column}): the
// runtime resolves it, so it is no secret and shows where a value comes from.
var connRef = regexp.MustCompile(`^\$\{[^{}]+\}$`)

// Value returns value as it may be shown under name: masked whole when
// the name suggests a secret, else with the secret parts of the value
// masked, whatever the name: a URL's password and signature parameters
// (SAS tokens), Password=/AccountKey= parts of connection strings, bearer
// tokens (JWTs) and API keys written as sk-…. A ${…} reference is shown
// as it is.
func Value(name, value string) string {
	if value == "" || connRef.MatchString(value) {
		return value
	}
	if SecretName(name) {
		return Masked
	}
	return Text(value)
}

var (
	// Key=Value; parts of connection strings (ADO.NET, Azure Storage, Service Bus).
	connStringSecret = regexp.MustCompile(`(?i)\b(password|pwd|accountkey|sharedaccesskey|sharedaccesssignature|secret|apikey|api_key|access_token|token)=([^;]*)`)
	// A JSON Web Token: three base64url parts, the first two starting with {".
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`)
	// API keys written as sk-… (OpenAI and compatible services).
	skKeyRE = regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{16,}`)
	urlRE   = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)
)

// secretQuery are URL query parameters that carry credentials.
var secretQuery = map[string]bool{"sig": true, "signature": true, "sas": true, "token": true, "access_token": true, "code": true,
	"key": true, "api-key": true, "api_key": true, "apikey": true, "password": true, "secret": true, "client_secret": true}

// Text masks the secret parts of a value whose name says nothing (a data
// URL, a line of text).
func Text(value string) string {
	out := urlRE.ReplaceAllStringFunc(value, redactURL)
	out = connStringSecret.ReplaceAllStringFunc(out, func(m string) string {
		k, v, _ := strings.Cut(m, "=")
		if v == "" {
			return m
		}
		return k + "=" + Masked
	})
	out = jwtRE.ReplaceAllString(out, Masked)
	return skKeyRE.ReplaceAllString(out, Masked)
}

// redactSentinel marks masked URL parts until the URL is printed: "***"
// itself would be escaped by url.URL.String.
const redactSentinel = "PFZREDACTED7c1e"

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redactSentinel)
			changed = true
		}
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, v, hasValue := strings.Cut(p, "=")
			if hasValue && v != "" && secretQuery[strings.ToLower(k)] {
				parts[i] = k + "=" + redactSentinel
				changed = true
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if !changed {
		return s
	}
	return strings.ReplaceAll(u.String(), redactSentinel, Masked)
}

// Strings masks each value of m under its key; nil stays nil.
func Strings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = Value(k, v)
	}
	return out
}

// Values masks the strings in m at any depth (a model config's api_key in
// init kwargs, a column-mapping literal), each under the nearest key above
// it; nil stays nil.
func Values(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return anyValue("", m).(map[string]any)
}

func anyValue(name string, v any) any {
	switch t := v.(type) {
	case string:
		return Value(name, t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = anyValue(k, x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = anyValue(name, x)
		}
		return out
	}
	return v
}

// Submission is a copy of sub fit to show or keep: environment variables,
// connection overrides, init kwargs and column-mapping literals masked by
// Value, and a remote data URL by Text (a SAS URL carries its signature).
// sub itself is not changed.
func Submission(sub *workspace.Submission) *workspace.Submission {
	c := *sub
	c.EnvironmentVariables = Strings(sub.EnvironmentVariables)
	c.Init = Values(sub.Init)
	c.ColumnMapping = Values(sub.ColumnMapping)
	if sub.Data != nil && sub.Data.Remote != "" {
		d := *sub.Data
		d.Remote = Text(d.Remote)
		c.Data = &d
	}
	if sub.Connections != nil {
		c.Connections = make(map[string]map[string]string, len(sub.Connections))
		for node, kv := range sub.Connections {
			c.Connections[node] = Strings(kv)
		}
	}
	return &c
}
