package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/netpolicy"
	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// Every credential of the chain gets a bounded wait, and the error names the
// credential that hung: a managed identity endpoint (a real HTTP server on
// 127.0.0.1 that accepts the request and never answers) and an Azure CLI
// that never returns (a real process on PATH that sleeps).
func TestHungCredentialIsBoundedAndNamed(t *testing.T) {
	net := netpolicy.Policy{ConnectTimeout: 300 * time.Millisecond, AnswerTimeout: 300 * time.Millisecond}
	limit := net.ConnectTimeout + net.AnswerTimeout

	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(done)

	bin := t.TempDir()
	if runtime.GOOS != "windows" {
		if err := os.WriteFile(filepath.Join(bin, "az"), []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name, mode, member string
		env                map[string]string
	}{
		{"managed identity endpoint hangs", ModeManagedIdentity, "managed identity (system-assigned)",
			map[string]string{"IDENTITY_ENDPOINT": srv.URL + "/msi/token", "IDENTITY_HEADER": "h"}},
		{"managed identity in the default chain hangs", ModeDefault, "managed identity (system-assigned)",
			map[string]string{"IDENTITY_ENDPOINT": srv.URL + "/msi/token", "IDENTITY_HEADER": "h"}},
		{"Azure CLI hangs", ModeAzureCLI, "Azure CLI", map[string]string{"PATH": bin}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mode == ModeAzureCLI {
				if runtime.GOOS == "windows" {
					need.ByDesign(t, "the fake az is a shell script")
				}
				t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH")) // azidentity runs az from PATH
			}
			for k, v := range tc.env {
				if k != "PATH" {
					t.Setenv(k, v) // azidentity reads the managed identity variables itself
				}
			}
			cred, _, err := NewCredential(Options{Mode: tc.mode, Network: net, Env: func(k string) string { return tc.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			_, err = cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{ARMScope}})
			took := time.Since(began)
			if took > 10*limit+30*time.Second {
				t.Fatalf("took %s; the bound is %s", took, limit)
			}
			if err == nil || !fault.Is(err, fault.Failed) {
				t.Fatalf("want a failure (exit 1), got %v (kind %v)", err, fault.KindOf(err))
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.member+" did not answer") || !strings.Contains(msg, "no answer") {
				t.Fatalf("the message must name %q and say it did not answer:\n%s", tc.member, msg)
			}
			if !strings.Contains(fault.HintOf(err), "auth.mode") {
				t.Fatalf("hint: %q", fault.HintOf(err))
			}
		})
	}
}
