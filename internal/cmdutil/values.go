package cmdutil

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// StripQuotes removes one pair of matching outer quotes, as pfazure does for
// KEY=VALUE tokens.
func StripQuotes(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// KV is one KEY=VALUE pair in the order given.
type KV struct {
	Key   string
	Value string
}

// KVFlag describes a KEY=VALUE flag for ParseKeyValues' messages.
type KVFlag struct {
	Name    string // the flag as typed, e.g. "--set"
	Example string // one valid item, e.g. "api_base=https://x.openai.azure.com/"
	// Secret marks a flag whose values are secrets: an item is never echoed
	// in an error, only its position.
	Secret bool
}

// ParseKeyValues splits KEY=VALUE tokens the way pfazure does: outer quotes
// are stripped from the token and from the value, the split is at the first
// "=".
func ParseKeyValues(flag KVFlag, items []string) ([]KV, error) {
	out := make([]KV, 0, len(items))
	for i, it := range items {
		k, v, ok := strings.Cut(StripQuotes(it), "=")
		if !ok || k == "" {
			shown := fmt.Sprintf("got %q", it)
			if flag.Secret {
				shown = fmt.Sprintf("item %d is not KEY=VALUE (it is not shown: %s values are secrets)", i+1, flag.Name)
			}
			return nil, fault.New(fault.Usage, "%s expects KEY=VALUE [KEY=VALUE ...], %s", flag.Name, shown).
				WithHint("write each item as KEY=VALUE, e.g. %s %s", flag.Name, flag.Example)
		}
		out = append(out, KV{Key: k, Value: StripQuotes(v)})
	}
	return out, nil
}

// KeyValueMap merges pairs into a map; a later key wins.
func KeyValueMap(kvs []KV) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// ParseIdentity reads --identity: user (the default), managed (the
// workspace's primary user-assigned identity) or managed:CLIENT_ID.
func ParseIdentity(s string) (workspace.Identity, error) {
	typ, clientID, hasID := strings.Cut(strings.TrimSpace(s), ":")
	switch strings.ToLower(typ) {
	case "user", "user_identity":
		if hasID {
			return workspace.Identity{}, fault.New(fault.Usage, "--identity %q: a user identity takes no client id", s).
				WithHint("use --identity managed:CLIENT_ID for a user-assigned managed identity")
		}
		return workspace.Identity{Type: "user_identity"}, nil
	case "managed":
		if hasID && strings.TrimSpace(clientID) == "" {
			return workspace.Identity{}, fault.New(fault.Usage, "--identity %q: the client id after \"managed:\" is empty", s).
				WithHint("use --identity managed for the workspace's primary identity")
		}
		return workspace.Identity{Type: "managed", ClientID: strings.TrimSpace(clientID)}, nil
	}
	return workspace.Identity{}, fault.New(fault.Usage, "--identity must be user, managed or managed:CLIENT_ID, got %q", s).
		WithHint("e.g. --identity managed:00000000-0000-0000-0000-000000000000")
}

// ParseDuration reads a positive duration such as 90m or 1h30m. A bare
// number is rejected with a hint rather than guessed at.
func ParseDuration(flag, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fault.New(fault.Usage, "%s %q has no unit", flag, s).
			WithHint("add a unit: %ss, %sm or %sh", s, s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fault.New(fault.Usage, "%s %q is not a duration", flag, s).
			WithHint("use a duration such as 30m, 1h or 1h30m")
	}
	if d <= 0 {
		return 0, fault.New(fault.Usage, "%s must be positive, got %s", flag, s)
	}
	return d, nil
}

// ParseSeconds reads a timeout given as whole seconds (pfazure's spelling,
// "600") or as a duration ("10m").
func ParseSeconds(flag, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return 0, fault.New(fault.Usage, "%s must be positive, got %s", flag, s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fault.New(fault.Usage, "%s %q is neither seconds nor a positive duration", flag, s).
			WithHint("e.g. %s 600 or %s 10m", flag, flag)
	}
	return d, nil
}
