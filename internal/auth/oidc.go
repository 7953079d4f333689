package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// githubAssertion fetches the job's OIDC token from the GitHub Actions token
// service (the ACTIONS_ID_TOKEN_REQUEST_* variables a job with
// `id-token: write` receives) for Entra's token-exchange audience.
func githubAssertion(hc policy.Transporter, reqURL, reqToken string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		u, err := url.Parse(reqURL)
		if err != nil {
			return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
		}
		q := u.Query()
		q.Set("audience", federatedAudience)
		u.RawQuery = q.Encode()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+reqToken)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("GitHub OIDC token request: %w", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GitHub OIDC token request: HTTP %d (does the job have `permissions: id-token: write`?)", resp.StatusCode)
		}
		var out struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
			return "", fmt.Errorf("GitHub OIDC token response has no value")
		}
		return out.Value, nil
	}
}
