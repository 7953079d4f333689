package local

import (
	"context"
	"strings"

	"github.com/pfz-cli/pfz/internal/connection"
	"github.com/pfz-cli/pfz/internal/executor"
)

// StoreConnections adapts the local connection store to what the executor
// asks for: a connection's values with its secrets, "type" as promptflow's
// class name (AzureOpenAIConnection, CustomConnection, …) and, for tools
// that tell configs from secrets, "__secret_keys__".
func StoreConnections(s *connection.Store) executor.ConnectionResolver {
	return storeResolver{s: s}
}

type storeResolver struct{ s *connection.Store }

func (r storeResolver) Resolve(ctx context.Context, name string) (map[string]string, error) {
	c, err := r.s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	out := c.Values()
	t := c.ClassName()
	if t == "" {
		t = c.Type
	}
	out["type"] = t
	if keys := c.SecretKeys(); len(keys) > 0 {
		out["__secret_keys__"] = strings.Join(keys, ",")
	}
	return out, nil
}
