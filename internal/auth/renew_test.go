package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// claimsCred hands out a new token per call and records the claims asked for.
type claimsCred struct {
	mu     sync.Mutex
	n      int
	claims []string
	err    func(policy.TokenRequestOptions) error
}

func (c *claimsCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.claims = append(c.claims, o.Claims)
	if c.err != nil {
		if err := c.err(o); err != nil {
			return azcore.AccessToken{}, err
		}
	}
	c.n++
	return azcore.AccessToken{Token: "tok" + strconv.Itoa(c.n), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestRenewBypassesTheCacheAndServesLaterRequests(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	inner := &claimsCred{}
	c := NewCache(inner, func() time.Time { return now })
	ctx := context.Background()
	arm := policy.TokenRequestOptions{Scopes: []string{ARMScope}}
	first, _ := c.GetToken(ctx, arm)
	tok, err := c.Renew(ctx, arm)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token == first.Token {
		t.Fatal("Renew returned the refused token")
	}
	want := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, now.Unix())
	if got := inner.claims[len(inner.claims)-1]; got != want {
		t.Fatalf("claims sent to the credential = %q, want %q", got, want)
	}
	var parsed map[string]any
	if err := json.Unmarshal([]byte(want), &parsed); err != nil {
		t.Fatalf("the claims are not JSON: %v", err)
	}
	again, _ := c.GetToken(ctx, arm)
	if again.Token != tok.Token || inner.n != 2 {
		t.Fatalf("the renewed token must serve later requests: got %s, %d fetches", again.Token, inner.n)
	}
	// Claims from a challenge go to the credential unchanged.
	challenge := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	if _, err := c.Renew(ctx, policy.TokenRequestOptions{Scopes: []string{ARMScope}, Claims: challenge}); err != nil {
		t.Fatal(err)
	}
	if got := inner.claims[len(inner.claims)-1]; got != challenge {
		t.Fatalf("challenge claims = %q", got)
	}
}

func TestChainRenewGivesMadeUpClaimsOnlyToMSALMembers(t *testing.T) {
	cliErr := errors.New("Azure CLI requires multifactor authentication or additional claims")
	for _, tt := range []struct {
		name       string
		msal       bool
		challenge  string
		wantClaims bool
	}{
		{"managed identity, no challenge", true, "", true},
		{"azure cli, no challenge", false, "", false},
		{"azure cli, challenge", false, `{"x":1}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inner := &claimsCred{err: func(o policy.TokenRequestOptions) error {
				if !tt.msal && o.Claims != "" && tt.challenge == "" {
					return cliErr
				}
				return nil
			}}
			c := NewCache(&chain{members: []member{{name: "m", cred: inner, msal: tt.msal}}}, nil)
			_, err := c.Renew(context.Background(), policy.TokenRequestOptions{Scopes: []string{ARMScope}, Claims: tt.challenge})
			if err != nil {
				t.Fatal(err)
			}
			if got := inner.claims[0] != ""; got != tt.wantClaims {
				t.Fatalf("claims sent = %q", inner.claims[0])
			}
		})
	}
}

// TestManagedIdentityRenewSkipsMSALCache drives azidentity's real managed
// identity credential (App Service source) against a token endpoint on
// 127.0.0.1: a plain second request is answered from MSAL's cache with the
// token the service refused; Renew gets a new one from the endpoint.
func TestManagedIdentityRenewSkipsMSALCache(t *testing.T) {
	var issued atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != "secret-header" {
			w.WriteHeader(401)
			return
		}
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"expires_on":"%d","resource":%q,"token_type":"Bearer","client_id":"c"}`,
			"mi-token-"+strconv.Itoa(int(n)), time.Now().Add(time.Hour).Unix(), r.URL.Query().Get("resource"))
	}))
	defer srv.Close()
	t.Setenv("IDENTITY_ENDPOINT", srv.URL)
	t.Setenv("IDENTITY_HEADER", "secret-header")
	t.Setenv("MSI_ENDPOINT", "")
	cred, _, err := NewCredential(Options{Mode: ModeManagedIdentity, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	c := cred.(*Cache)
	ctx := context.Background()
	arm := policy.TokenRequestOptions{Scopes: []string{ARMScope}}
	first, err := c.GetToken(ctx, arm)
	if err != nil {
		t.Fatal(err)
	}
	// What pfz did before: drop its own cache and ask again.
	c.Invalidate(ARMScope)
	same, _ := c.GetToken(ctx, arm)
	if same.Token != first.Token || issued.Load() != 1 {
		t.Fatalf("expected MSAL to answer from its cache (the bug Renew fixes): %s, %d issued", same.Token, issued.Load())
	}
	renewed, err := c.Renew(ctx, arm)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Token == first.Token || issued.Load() != 2 {
		t.Fatalf("Renew must fetch a new token from the endpoint: %s, %d issued", renewed.Token, issued.Load())
	}
	if later, _ := c.GetToken(ctx, arm); later.Token != renewed.Token {
		t.Fatalf("later requests got %s, want the renewed token", later.Token)
	}
}
