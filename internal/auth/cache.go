package auth

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// refreshMargin: a token with less than this left is fetched again, as the
// Python client does (protocol §1.3: 300 s).
const refreshMargin = 5 * time.Minute

// Cache is a TokenCredential that keeps one token per scope set (and tenant
// and claims) until it is about to expire. Safe for concurrent use.
type Cache struct {
	inner azcore.TokenCredential
	now   func() time.Time
	mu    sync.Mutex
	toks  map[string]azcore.AccessToken
}

// NewCache wraps cred; now nil means time.Now.
func NewCache(cred azcore.TokenCredential, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{inner: cred, now: now, toks: map[string]azcore.AccessToken{}}
}

func cacheKey(o policy.TokenRequestOptions) string {
	s := append([]string(nil), o.Scopes...)
	sort.Strings(s)
	return strings.Join(s, " ") + "|" + o.TenantID + "|" + o.Claims
}

// GetToken returns the cached token for the scopes, or fetches one.
func (c *Cache) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	k := cacheKey(o)
	c.mu.Lock()
	tok, ok := c.toks[k]
	c.mu.Unlock()
	if ok && tok.ExpiresOn.Sub(c.now()) > refreshMargin {
		return tok, nil
	}
	tok, err := c.inner.GetToken(ctx, o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	c.mu.Lock()
	c.toks[k] = tok
	c.mu.Unlock()
	return tok, nil
}

// Invalidate drops the cached token for the scopes, so the next GetToken
// fetches a new one (after a 401).
func (c *Cache) Invalidate(scopes ...string) {
	k := cacheKey(policy.TokenRequestOptions{Scopes: scopes})
	c.mu.Lock()
	delete(c.toks, k)
	c.mu.Unlock()
}

// Used names the default-chain member that produced the last token, or "".
func (c *Cache) Used() string {
	if ch, ok := c.inner.(*chain); ok {
		return ch.Used()
	}
	return ""
}
