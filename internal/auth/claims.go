package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pfz-cli/pfz/internal/fault"
)

// Claims are the token claims pfz reads (unverified: the token is only
// inspected, never trusted for a decision the service does not check again).
type Claims struct {
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	UPN               string `json:"upn"`
	Email             string `json:"email"`
	UniqueName        string `json:"unique_name"`
	PreferredUsername string `json:"preferred_username"`
	AppID             string `json:"appid"`
	Audience          any    `json:"aud"`
}

// ParseClaims decodes the payload of a JWT without checking its signature.
func ParseClaims(token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		return Claims{}, fault.New(fault.Auth, "the access token is not a JWT")
	}
	seg := parts[1]
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return Claims{}, fault.Wrap(fault.Auth, err, "the access token payload is not base64url")
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return Claims{}, fault.Wrap(fault.Auth, err, "the access token payload is not JSON")
	}
	return c, nil
}

// Alias is the user alias of protocol §3.6: upn, else email, up to '@';
// else the object id; else "unknown_user".
func (c Claims) Alias() string {
	for _, v := range []string{c.UPN, c.Email} {
		if v != "" {
			return strings.SplitN(v, "@", 2)[0]
		}
	}
	if c.ObjectID != "" {
		return c.ObjectID
	}
	return "unknown_user"
}

// Principal is how errors name the identity: upn (or another user name), else
// the application id, else the object id.
func (c Claims) Principal() string {
	for _, v := range []string{c.UPN, c.Email, c.PreferredUsername, c.UniqueName} {
		if v != "" {
			return v
		}
	}
	if c.AppID != "" {
		return "application " + c.AppID + " (object id " + c.ObjectID + ")"
	}
	if c.ObjectID != "" {
		return "object id " + c.ObjectID
	}
	return "the signed-in identity"
}

func armToken(ctx context.Context, cred azcore.TokenCredential, scope string) (Claims, error) {
	if scope == "" {
		scope = ARMScope
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return Claims{}, err
	}
	return ParseClaims(tok.Token)
}

// UserAlias returns the alias of protocol §3.6 from the ARM token's claims;
// "unknown_user" when the token cannot be read, as the Python client does.
func UserAlias(ctx context.Context, cred azcore.TokenCredential) (string, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ARMScope}})
	if err != nil {
		return "", err
	}
	c, err := ParseClaims(tok.Token)
	if err != nil {
		return "unknown_user", nil //nolint:nilerr // a token pfz cannot read still authenticates; pfazure names the user unknown_user then
	}
	return c.Alias(), nil
}

// Status fetches an ARM token and says who it belongs to. It never returns the
// token itself.
func Status(ctx context.Context, cred azcore.TokenCredential) (Info, error) {
	return status(ctx, cred, ARMScope)
}

func status(ctx context.Context, cred azcore.TokenCredential, scope string) (Info, error) {
	c, err := armToken(ctx, cred, scope)
	if err != nil {
		return Info{}, err
	}
	info := Info{Credential: "custom", TenantID: c.TenantID, ObjectID: c.ObjectID, UPN: c.UPN, Alias: c.Alias()}
	if info.UPN == "" {
		info.UPN = firstNonEmpty(c.Email, c.PreferredUsername, c.UniqueName)
	}
	if ca, ok := cred.(*Cache); ok {
		if u := ca.Used(); u != "" {
			info.Credential = u
		} else if ch, ok := ca.inner.(*chain); ok && len(ch.members) == 1 {
			info.Credential = ch.members[0].name
		}
	}
	return info, nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// ScopeFor is the ARM token scope of a cloud (AzureCloud when unknown).
func ScopeFor(cloudName string) string {
	switch strings.ToLower(cloudName) {
	case "azurechinacloud", "china":
		return "https://management.chinacloudapi.cn/.default"
	case "azureusgovernment", "usgov", "azureusgovernmentcloud":
		return "https://management.usgovcloudapi.net/.default"
	}
	return ARMScope
}

// StatusFor is Status with the ARM scope of another cloud.
func StatusFor(ctx context.Context, cred azcore.TokenCredential, scope string) (Info, error) {
	return status(ctx, cred, scope)
}
