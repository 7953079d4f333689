package auth

import (
	"context"
	"sort"
	"strconv"
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

// GetToken returns the cached token for the scopes, or fetches one. A
// request with claims (a claims challenge) always goes to the credential, and
// the token it returns serves later requests without claims too.
func (c *Cache) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if o.Claims != "" {
		return c.fetch(ctx, o)
	}
	k := cacheKey(o)
	c.mu.Lock()
	tok, ok := c.toks[k]
	c.mu.Unlock()
	if ok && tok.ExpiresOn.Sub(c.now()) > refreshMargin {
		return tok, nil
	}
	return c.fetch(ctx, o)
}

func (c *Cache) fetch(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.inner.GetToken(ctx, o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	plain := o
	plain.Claims = ""
	c.mu.Lock()
	c.toks[cacheKey(plain)] = tok
	c.mu.Unlock()
	return tok, nil
}

// Renew fetches a new token for a request the service refused with 401,
// bypassing this cache and, where the credential keeps one, the credential's
// own: a managed identity, a service principal or a workload identity
// (MSAL) would otherwise hand back the very token the service refused. Claims
// from the 401's challenge are passed on as they are; without them the
// credential is asked for a token not valid before now, the claims request
// of Entra's continuous access evaluation, which MSAL answers without its
// cache. The Azure CLI and azd get the claims only when the service sent some
// (they answer them with the login command to run).
func (c *Cache) Renew(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.Invalidate(o.Scopes...)
	if ch, ok := c.inner.(*chain); ok {
		tok, err := ch.renew(ctx, o, c.now())
		if err != nil {
			return azcore.AccessToken{}, err
		}
		plain := o
		plain.Claims = ""
		c.mu.Lock()
		c.toks[cacheKey(plain)] = tok
		c.mu.Unlock()
		return tok, nil
	}
	if o.Claims == "" {
		o.Claims = freshTokenClaims(c.now())
	}
	return c.fetch(ctx, o)
}

// freshTokenClaims asks for a token issued no earlier than now.
func freshTokenClaims(now time.Time) string {
	return `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(now.Unix(), 10) + `"}}}`
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
