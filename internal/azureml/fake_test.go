package azureml

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeCred returns fixed JWTs per scope; never real Azure.
type fakeCred struct {
	mu      sync.Mutex
	calls   atomic.Int32
	gen     int
	claims  map[string]any
	invalid []string
}

func jwtFor(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func (f *fakeCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := map[string]any{"upn": "jane.doe@contoso.com", "oid": "11111111-2222-3333-4444-555555555555", "tid": "t", "gen": f.gen}
	for k, v := range f.claims {
		c[k] = v
	}
	if len(o.Scopes) > 0 {
		c["aud"] = o.Scopes[0]
	}
	return azcore.AccessToken{Token: jwtFor(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Invalidate makes the next token differ, like auth.Cache after a 401.
func (f *fakeCred) Invalidate(scopes ...string) {
	f.mu.Lock()
	f.gen++
	f.invalid = append(f.invalid, scopes...)
	f.mu.Unlock()
}

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }
