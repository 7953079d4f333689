package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func TestPfazureCredentialRules(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string // member name
		wantWhy string
		wantErr string
	}{
		{name: "PF_USE_AZURE_CLI_CREDENTIAL", env: map[string]string{"PF_USE_AZURE_CLI_CREDENTIAL": "True", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, want: "Azure CLI", wantWhy: "PF_USE_AZURE_CLI_CREDENTIAL=true"},
		{name: "DEFAULT_IDENTITY_CLIENT_ID", env: map[string]string{"DEFAULT_IDENTITY_CLIENT_ID": "abc"}, want: "managed identity (client id abc)", wantWhy: "DEFAULT_IDENTITY_CLIENT_ID"},
		{name: "IS_IN_CI_PIPELINE", env: map[string]string{"IS_IN_CI_PIPELINE": "true"}, want: "Azure CLI", wantWhy: "IS_IN_CI_PIPELINE=true"},
		{name: "OBO first", env: map[string]string{"AZUREML_OBO_ENABLED": "1", "OBO_ENDPOINT": "http://127.0.0.1:1/obo", "PF_USE_AZURE_CLI_CREDENTIAL": "true"}, want: "Azure ML on-behalf-of (OBO_ENDPOINT)", wantWhy: "AZUREML_OBO_ENABLED"},
		{name: "OBO without endpoint", env: map[string]string{"AZUREML_OBO_ENABLED": "1"}, wantErr: "OBO_ENDPOINT is not"},
		{name: "PF_USE_AZURE_CLI_CREDENTIAL=false is the chain", env: map[string]string{"PF_USE_AZURE_CLI_CREDENTIAL": "false"}, want: "Azure CLI,Azure Developer CLI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, info, err := NewCredential(Options{Env: func(k string) string { return tt.env[k] }})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range cred.(*Cache).inner.(*chain).members {
				names = append(names, m.name)
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Errorf("members = %s, want %s", got, tt.want)
			}
			if !strings.Contains(info.Chain, tt.wantWhy) {
				t.Errorf("info.Chain = %q, want it to name %q", info.Chain, tt.wantWhy)
			}
		})
	}
}

func TestAzureMLOBOToken(t *testing.T) {
	var gotResource string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotResource = r.URL.Query().Get("resource")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok", "expires_on": "4102444800"})
	}))
	defer srv.Close()
	env := map[string]string{"AZUREML_OBO_ENABLED": "true", "OBO_ENDPOINT": srv.URL + "/obo"}
	cred, _, err := NewCredential(Options{Env: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{ARMScope}})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token != "tok" || !tok.ExpiresOn.Equal(time.Unix(4102444800, 0)) {
		t.Fatalf("token = %+v", tok)
	}
	if gotResource != "https://management.azure.com" {
		t.Fatalf("resource = %q", gotResource)
	}
}

func TestParseMSIToken(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tt := range []struct {
		body string
		exp  int64
		ok   bool
	}{
		{`{"access_token":"a","expires_on":2000}`, 2000, true},
		{`{"access_token":"a","expires_on":"2000"}`, 2000, true},
		{`{"access_token":"a","expires_in":"60"}`, 1060, true},
		{`{"access_token":"a"}`, 0, false},
		{`{"expires_on":2000}`, 0, false},
		{`garbage`, 0, false},
	} {
		tok, err := parseMSIToken([]byte(tt.body), now)
		if (err == nil) != tt.ok || (tt.ok && tok.ExpiresOn.Unix() != tt.exp) {
			t.Errorf("%s: tok=%v err=%v", tt.body, tok.ExpiresOn, err)
		}
	}
}
