package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pfz-cli/pfz/internal/fault"
)

func jwt(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

type fakeCred struct {
	tok   string
	err   error
	exp   time.Time
	calls atomic.Int32
}

func (f *fakeCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.calls.Add(1)
	if f.err != nil {
		return azcore.AccessToken{}, f.err
	}
	return azcore.AccessToken{Token: f.tok, ExpiresOn: f.exp}, nil
}

func TestAlias(t *testing.T) {
	tests := []struct {
		claims map[string]any
		want   string
	}{
		{map[string]any{"upn": "jane.doe@contoso.com", "email": "x@y", "oid": "o1"}, "jane.doe"},
		{map[string]any{"email": "bob@contoso.com", "oid": "o1"}, "bob"},
		{map[string]any{"oid": "0000-1111"}, "0000-1111"},
		{map[string]any{}, "unknown_user"},
		{map[string]any{"upn": "noat"}, "noat"},
	}
	for _, tt := range tests {
		c, err := ParseClaims(jwt(tt.claims))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Alias(); got != tt.want {
			t.Errorf("Alias(%v) = %q, want %q", tt.claims, got, tt.want)
		}
	}
}

func TestUserAliasFallsBackOnUnreadableToken(t *testing.T) {
	got, err := UserAlias(context.Background(), &fakeCred{tok: "opaque", exp: time.Now().Add(time.Hour)})
	if err != nil || got != "unknown_user" {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err = UserAlias(context.Background(), &fakeCred{err: errors.New("boom")})
	if err == nil {
		t.Fatal("want the credential's error")
	}
}

func TestStatusNeverReturnsToken(t *testing.T) {
	tok := jwt(map[string]any{"tid": "t1", "oid": "o1", "upn": "jane@contoso.com"})
	info, err := Status(context.Background(), &fakeCred{tok: tok, exp: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Credential: "custom", TenantID: "t1", ObjectID: "o1", UPN: "jane@contoso.com", Alias: "jane"}
	if info != want {
		t.Fatalf("got %+v want %+v", info, want)
	}
	b, _ := json.Marshal(info)
	if strings.Contains(string(b), tok) || strings.Contains(string(b), "eyJ") {
		t.Fatal("token leaked into Info")
	}
}

func TestCacheKeepsTokenPerScopeUntilNearExpiry(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	inner := &fakeCred{tok: "t", exp: now.Add(time.Hour)}
	c := NewCache(inner, func() time.Time { return now })
	ctx := context.Background()
	arm := policy.TokenRequestOptions{Scopes: []string{ARMScope}}
	ml := policy.TokenRequestOptions{Scopes: []string{"https://ml.azure.com/.default"}}
	for i := 0; i < 3; i++ {
		if _, err := c.GetToken(ctx, arm); err != nil {
			t.Fatal(err)
		}
	}
	if n := inner.calls.Load(); n != 1 {
		t.Fatalf("inner called %d times for one scope, want 1", n)
	}
	if _, err := c.GetToken(ctx, ml); err != nil {
		t.Fatal(err)
	}
	if n := inner.calls.Load(); n != 2 {
		t.Fatalf("a second scope must fetch its own token; calls=%d", n)
	}
	now = now.Add(56 * time.Minute) // 4 minutes left: inside the refresh margin
	if _, err := c.GetToken(ctx, arm); err != nil {
		t.Fatal(err)
	}
	if n := inner.calls.Load(); n != 3 {
		t.Fatalf("a token about to expire must be refreshed; calls=%d", n)
	}
	c.Invalidate(ARMScope)
	if _, err := c.GetToken(ctx, arm); err != nil {
		t.Fatal(err)
	}
	if n := inner.calls.Load(); n != 4 {
		t.Fatalf("Invalidate must force a new token; calls=%d", n)
	}
}

func TestChainOrderAndUsed(t *testing.T) {
	unavailable := &member{name: "first", cred: &fakeCred{err: errors.New("Azure CLI not found on path")}}
	ok := &member{name: "second", cred: &fakeCred{tok: jwt(map[string]any{"oid": "o"}), exp: time.Now().Add(time.Hour)}}
	ch := &chain{members: []member{*unavailable, *ok}}
	c := NewCache(ch, nil)
	info, err := Status(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if info.Credential != "second" {
		t.Fatalf("credential = %q, want second", info.Credential)
	}
}

func TestChainStopsOnConfiguredFailure(t *testing.T) {
	bad := member{name: "environment (client secret)", cred: &fakeCred{err: errors.New("AADSTS7000215: Invalid client secret")}}
	later := &fakeCred{tok: "x", exp: time.Now().Add(time.Hour)}
	ch := &chain{members: []member{bad, {name: "Azure CLI", cred: later}}}
	_, err := ch.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{ARMScope}})
	if err == nil || fault.KindOf(err) != fault.Auth {
		t.Fatalf("want auth error, got %v", err)
	}
	if later.calls.Load() != 0 {
		t.Fatal("a failing configured credential must not fall through to another identity")
	}
	if !strings.Contains(err.Error(), "Invalid client secret") {
		t.Fatalf("error should say why: %v", err)
	}
}

func TestNewCredentialModes(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	sp := map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}
	tests := []struct {
		name     string
		opts     Options
		wantErr  fault.Kind
		wantCred string
	}{
		{"env sp", Options{Mode: "environment", Env: env(sp)}, -1, "environment (client secret)"},
		{"env missing", Options{Mode: "environment", Env: env(nil)}, fault.Auth, ""},
		{"workload file", Options{Mode: "workload-identity", Env: env(map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_FEDERATED_TOKEN_FILE": "/nonexistent"})}, -1, "workload identity (token file)"},
		{"workload github", Options{Mode: "workload-identity", Env: env(map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://127.0.0.1/x?a=b", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "r"})}, -1, "workload identity (GitHub Actions OIDC)"},
		{"workload gitlab", Options{Mode: "workload-identity", Env: env(map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_FEDERATED_TOKEN": "jwt"})}, -1, "workload identity (GitLab/CI OIDC token)"},
		{"workload missing", Options{Mode: "workload-identity", Env: env(nil)}, fault.Auth, ""},
		{"managed uai", Options{Mode: "managed-identity", ClientID: "cid", Env: env(nil)}, -1, "managed identity (client id cid)"},
		{"cli", Options{Mode: "azure-cli", Env: env(nil)}, -1, "Azure CLI"},
		{"azd", Options{Mode: "azd", Env: env(nil)}, -1, "Azure Developer CLI"},
		{"default", Options{Env: env(sp)}, -1, "default"},
		{"bad mode", Options{Mode: "telepathy"}, fault.Usage, ""},
		{"bad cloud", Options{Cloud: "Mars"}, fault.Usage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, info, err := NewCredential(tt.opts)
			if tt.wantErr >= 0 {
				if err == nil || fault.KindOf(err) != tt.wantErr {
					t.Fatalf("want kind %v, got %v", tt.wantErr, err)
				}
				if fault.HintOf(err) == "" {
					t.Error("error without a hint")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Credential != tt.wantCred {
				t.Errorf("Credential = %q, want %q", info.Credential, tt.wantCred)
			}
			if _, ok := cred.(*Cache); !ok {
				t.Error("credential is not cached per scope")
			}
		})
	}
}

func TestDefaultChainMembers(t *testing.T) {
	names := func(env map[string]string) []string {
		cred, _, err := NewCredential(Options{Env: func(k string) string { return env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range cred.(*Cache).inner.(*chain).members {
			out = append(out, m.name)
		}
		return out
	}
	got := strings.Join(names(map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "IDENTITY_ENDPOINT": "http://127.0.0.1:1"}), ",")
	want := "environment (client secret),managed identity (client id c),Azure CLI,Azure Developer CLI"
	if got != want {
		t.Fatalf("chain = %s\nwant   %s", got, want)
	}
	if got := strings.Join(names(nil), ","); got != "Azure CLI,Azure Developer CLI" {
		t.Fatalf("bare chain = %s (managed identity must need a platform endpoint)", got)
	}
}

func FuzzParseClaims(f *testing.F) {
	f.Add(jwt(map[string]any{"upn": "a@b", "oid": "o"}))
	f.Add("a.b.c")
	f.Add("")
	f.Add("x.eyJ1cG4iOjF9.y")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClaims(s)
		if err == nil && c.Alias() == "" {
			t.Fatal("empty alias")
		}
	})
}

// The hint when no credential works lists every auth.mode value with what it
// needs, and does not send the user back to `pfz auth status`.
func TestSignInHintListsEveryMode(t *testing.T) {
	ch := &chain{members: []member{{name: "Azure CLI", cred: &fakeCred{err: errors.New("Azure CLI not found on path")}}}}
	_, err := ch.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{ARMScope}})
	hint := fault.HintOf(err)
	for _, m := range Modes {
		if !strings.Contains(hint, m+" ") {
			t.Errorf("hint does not name auth.mode %s: %s", m, hint)
		}
	}
	for _, need := range []string{"az login", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "pfz config set auth.mode"} {
		if !strings.Contains(hint, need) {
			t.Errorf("hint lacks %q: %s", need, hint)
		}
	}
	if strings.Contains(hint, "pfz auth status") {
		t.Errorf("hint is circular: %s", hint)
	}
}
