package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/pfz-cli/pfz/internal/fault"
)

// pfazure's credential rules (promptflow-azure's get_credentials_for_cli):
// in the default mode, before the chain, these variables pick one credential,
// the first that is set:
//
//	AZUREML_OBO_ENABLED (any value)       Azure ML on-behalf-of (OBO_ENDPOINT)
//	PF_USE_AZURE_CLI_CREDENTIAL=true      Azure CLI
//	DEFAULT_IDENTITY_CLIENT_ID=<id>       managed identity with that client id
//	IS_IN_CI_PIPELINE=true                Azure CLI
//
// so that a pipeline set up for pfazure authenticates pfz the same way.
const PfazureRules = "AZUREML_OBO_ENABLED → Azure ML on-behalf-of; PF_USE_AZURE_CLI_CREDENTIAL=true → Azure CLI; " +
	"DEFAULT_IDENTITY_CLIENT_ID → managed identity with that client id; IS_IN_CI_PIPELINE=true → Azure CLI"

// pfazureRule returns the credential pfazure's variables select, with the
// variable that selected it, or ok=false when none is set.
func pfazureRule(o Options, co azcore.ClientOptions) (m member, why string, ok bool, err error) {
	switch {
	case o.env("AZUREML_OBO_ENABLED") != "":
		m, err = buildAzureMLOBO(o, co)
		return m, "AZUREML_OBO_ENABLED is set", true, err
	case strings.EqualFold(o.env("PF_USE_AZURE_CLI_CREDENTIAL"), "true"):
		m, err = buildCLI(o, co)
		return m, "PF_USE_AZURE_CLI_CREDENTIAL=true", true, err
	case o.env("DEFAULT_IDENTITY_CLIENT_ID") != "":
		mo := o
		mo.ClientID = o.env("DEFAULT_IDENTITY_CLIENT_ID")
		m, err = buildManaged(mo, co)
		return m, "DEFAULT_IDENTITY_CLIENT_ID is set", true, err
	case o.env("IS_IN_CI_PIPELINE") == "true":
		m, err = buildCLI(o, co)
		return m, "IS_IN_CI_PIPELINE=true", true, err
	}
	return member{}, "", false, nil
}

// azureMLOBO is the on-behalf-of credential of Azure ML compute: a GET of
// $OBO_ENDPOINT?resource=<resource>, answered as a managed identity endpoint
// answers.
type azureMLOBO struct {
	endpoint string
	pl       runtime.Pipeline
}

func buildAzureMLOBO(o Options, co azcore.ClientOptions) (member, error) {
	ep := o.env("OBO_ENDPOINT")
	if ep == "" {
		return member{}, fault.New(fault.Auth, "AZUREML_OBO_ENABLED is set but OBO_ENDPOINT is not").
			WithHint("the Azure ML on-behalf-of credential works only on Azure ML compute, which sets OBO_ENDPOINT; unset AZUREML_OBO_ENABLED elsewhere")
	}
	pl := runtime.NewPipeline("pfz-auth", "", runtime.PipelineOptions{}, &policy.ClientOptions{Transport: co.Transport, Retry: co.Retry})
	return member{name: "Azure ML on-behalf-of (OBO_ENDPOINT)", cred: &azureMLOBO{endpoint: ep, pl: pl}}, nil
}

func (c *azureMLOBO) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(o.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("Azure ML on-behalf-of: one scope expected, got %d", len(o.Scopes)) //nolint:staticcheck // "Azure ML" is a name
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.endpoint)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("Azure ML on-behalf-of: OBO_ENDPOINT: %w", err) //nolint:staticcheck // "Azure ML" is a name
	}
	q := req.Raw().URL.Query()
	q.Set("resource", strings.TrimSuffix(o.Scopes[0], "/.default"))
	req.Raw().URL.RawQuery = q.Encode()
	resp, err := c.pl.Do(req)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("Azure ML on-behalf-of: %w", err) //nolint:staticcheck // "Azure ML" is a name
	}
	defer resp.Body.Close()
	body, err := runtime.Payload(resp)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("Azure ML on-behalf-of: %w", err) //nolint:staticcheck // "Azure ML" is a name
	}
	if resp.StatusCode != http.StatusOK {
		return azcore.AccessToken{}, fmt.Errorf("Azure ML on-behalf-of: OBO_ENDPOINT answered %s", resp.Status) //nolint:staticcheck // "Azure ML" is a name
	}
	return parseMSIToken(body, time.Now())
}

// parseMSIToken reads a managed identity endpoint's answer: access_token and
// expires_on (epoch seconds, as a number or a string) or expires_in.
func parseMSIToken(body []byte, now time.Time) (azcore.AccessToken, error) {
	var r struct {
		AccessToken string          `json:"access_token"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.AccessToken == "" {
		return azcore.AccessToken{}, fmt.Errorf("Azure ML on-behalf-of: the answer holds no access_token") //nolint:staticcheck // "Azure ML" is a name
	}
	num := func(raw json.RawMessage) (int64, bool) {
		s := strings.Trim(string(raw), `"`)
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && len(raw) > 0
	}
	tok := azcore.AccessToken{Token: r.AccessToken}
	if n, ok := num(r.ExpiresOn); ok {
		tok.ExpiresOn = time.Unix(n, 0)
	} else if n, ok := num(r.ExpiresIn); ok {
		tok.ExpiresOn = now.Add(time.Duration(n) * time.Second)
	} else {
		return azcore.AccessToken{}, fmt.Errorf("Azure ML on-behalf-of: the answer holds no expires_on or expires_in") //nolint:staticcheck // "Azure ML" is a name
	}
	return tok, nil
}

// String keeps the credential out of logs by accident.
func (c *azureMLOBO) String() string { return "auth.azureMLOBO" }
