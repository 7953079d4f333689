// Package auth owns how pfz obtains Azure credentials: the documented default
// chain and the explicit modes of auth.mode, a per-scope token cache, the
// identity shown by `pfz auth status`, and the user alias of protocol §3.6.
// It is the only package besides internal/config that reads the environment
// (Azure's own variables such as AZURE_CLIENT_ID), always through Options.Env
// so tests can pass a fake one. It never prints or logs a token.
package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/netpolicy"
)

// Modes accepted by auth.mode. ModeDefault is the chain documented on Chain.
const (
	ModeDefault          = "default"
	ModeEnvironment      = "environment"       // service principal from AZURE_* variables
	ModeWorkloadIdentity = "workload-identity" // federated token: file, GitHub or GitLab OIDC
	ModeManagedIdentity  = "managed-identity"  // IMDS / App Service / Azure ML compute
	ModeAzureCLI         = "azure-cli"         // `az account get-access-token`
	ModeAzureDevCLI      = "azd"               // `azd auth token`
)

// Modes lists every accepted auth.mode value, in the default chain's order.
var Modes = []string{ModeDefault, ModeEnvironment, ModeWorkloadIdentity, ModeManagedIdentity, ModeAzureCLI, ModeAzureDevCLI}

// Chain documents the default chain (shown by `pfz auth status` and help).
const Chain = "environment service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH) → " +
	"workload identity (AZURE_FEDERATED_TOKEN_FILE, GitHub Actions OIDC, or a GitLab id_token in AZURE_FEDERATED_TOKEN) → " +
	"managed identity (when IDENTITY_ENDPOINT or MSI_ENDPOINT is set; on a plain VM use auth.mode=managed-identity) → " +
	"Azure CLI → Azure Developer CLI"

// SignInHint says what to do when no credential gives a token: each
// auth.mode value and what it needs, so the user can pick one.
const SignInHint = "sign in with `az login` (or `azd auth login`), or choose a credential with `pfz config set auth.mode MODE` (or PFZ_AUTH_MODE=MODE): " +
	"environment needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH; " +
	"workload-identity needs AZURE_FEDERATED_TOKEN_FILE (or a CI's OIDC token) with AZURE_TENANT_ID and AZURE_CLIENT_ID; " +
	"managed-identity needs an Azure VM or compute with an identity (AZURE_CLIENT_ID picks a user-assigned one); " +
	"azure-cli needs `az login`; azd needs `azd auth login`; default (the default) tries them in that order"

// ARMScope is the scope of the token every ARM and *.api.azureml.ms call carries
// in AzureCloud; ScopeFor gives it for another cloud.
const ARMScope = "https://management.azure.com/.default"

// Options selects and configures the credential.
type Options struct {
	Mode     string // one of Modes; "" means ModeDefault
	TenantID string // overrides AZURE_TENANT_ID
	ClientID string // overrides AZURE_CLIENT_ID (service principal, workload or user-assigned managed identity)
	Cloud    string // AzureCloud (default), AzureChinaCloud, AzureUSGovernment
	// Env reads an environment variable; nil means os.Getenv.
	Env func(string) string
	// Now is the clock of the token cache; nil means time.Now.
	Now func() time.Time
	// Transport, when set, carries the identity service's HTTP traffic
	// (tests); otherwise a client with Network's timeouts does.
	Transport policy.Transporter
	// Network is the one network policy of pfz: token requests get its
	// timeouts and retries like every other call, and each credential of
	// the chain gets at most MemberTimeout for one token.
	Network netpolicy.Policy
}

// MemberTimeout bounds one credential's attempt at a token: a connection
// and a silent answer; a developer CLI gets at most azidentity's 10 s.
func (o Options) MemberTimeout() time.Duration {
	p := o.Network.WithDefaults()
	return p.ConnectTimeout + p.AnswerTimeout
}

// Info says who pfz acts as. It never holds a token.
type Info struct {
	Credential string `json:"credential"`
	TenantID   string `json:"tenant_id,omitempty"`
	ObjectID   string `json:"object_id,omitempty"`
	UPN        string `json:"upn,omitempty"`
	Alias      string `json:"alias,omitempty"`
	Chain      string `json:"chain,omitempty"` // the default chain, when it was used
}

func (o Options) env(k string) string {
	if o.Env != nil {
		return o.Env(k)
	}
	return os.Getenv(k)
}

func (o Options) cloudConfig() (cloud.Configuration, error) {
	switch strings.ToLower(o.Cloud) {
	case "", "azurecloud", "public", "azurepubliccloud":
		return cloud.AzurePublic, nil
	case "azurechinacloud", "china":
		return cloud.AzureChina, nil
	case "azureusgovernment", "usgov", "azureusgovernmentcloud":
		return cloud.AzureGovernment, nil
	}
	return cloud.Configuration{}, fault.New(fault.Usage, "unknown cloud %q", o.Cloud).
		WithHint("use one of AzureCloud, AzureChinaCloud, AzureUSGovernment")
}

// NewCredential builds the credential for opts.Mode wrapped in a per-scope
// token cache. Info.Credential names the mode; Status says which member of the
// default chain answered once a token was fetched.
func NewCredential(opts Options) (azcore.TokenCredential, Info, error) {
	cc, err := opts.cloudConfig()
	if err != nil {
		return nil, Info{}, err
	}
	opts.Network = opts.Network.WithDefaults()
	co := azcore.ClientOptions{Cloud: cc, Retry: opts.Network.AzcoreRetry()}
	if opts.Transport != nil {
		co.Transport = opts.Transport
	} else {
		co.Transport = opts.Network.Client(nil)
	}
	mode := strings.ToLower(strings.TrimSpace(opts.Mode))
	if mode == "" {
		mode = ModeDefault
	}
	var members []member
	switch mode {
	case ModeDefault:
		if m, why, ok, err := pfazureRule(opts, co); ok {
			if err != nil {
				return nil, Info{}, err
			}
			ch := &chain{members: []member{m}}
			return NewCache(ch, opts.Now), Info{Credential: m.name, Chain: "chosen by pfazure's rule: " + why}, nil
		}
		for _, build := range []func(Options, azcore.ClientOptions) (member, error){buildEnvironment, buildWorkload, buildManagedFromEnv, buildCLI, buildAzd} {
			if m, err := build(opts, co); err == nil {
				members = append(members, m)
			}
		}
	case ModeEnvironment, "env", "service-principal":
		m, err := buildEnvironment(opts, co)
		if err != nil {
			return nil, Info{}, err
		}
		members = append(members, m)
	case ModeWorkloadIdentity, "workload":
		m, err := buildWorkload(opts, co)
		if err != nil {
			return nil, Info{}, err
		}
		members = append(members, m)
	case ModeManagedIdentity, "managed", "msi":
		m, err := buildManaged(opts, co)
		if err != nil {
			return nil, Info{}, err
		}
		members = append(members, m)
	case ModeAzureCLI, "cli", "az":
		m, err := buildCLI(opts, co)
		if err != nil {
			return nil, Info{}, err
		}
		members = append(members, m)
	case ModeAzureDevCLI, "azure-developer-cli":
		m, err := buildAzd(opts, co)
		if err != nil {
			return nil, Info{}, err
		}
		members = append(members, m)
	default:
		return nil, Info{}, fault.New(fault.Usage, "unknown auth.mode %q", opts.Mode).
			WithHint("use one of %s", strings.Join(Modes, ", "))
	}
	if len(members) == 0 {
		return nil, Info{}, fault.New(fault.Auth, "no credential is available").WithHint("%s", SignInHint)
	}
	ch := &chain{members: members, timeout: opts.MemberTimeout()}
	info := Info{Credential: mode}
	if mode == ModeDefault {
		info.Chain = Chain
	} else {
		info.Credential = members[0].name
	}
	return NewCache(ch, opts.Now), info, nil
}

// member is one credential of a chain, with the name Status shows. msal
// marks the azidentity credentials built on MSAL, which keep their own token
// cache and skip it for a request with claims.
type member struct {
	name string
	cred azcore.TokenCredential
	msal bool
	cli  bool // a developer CLI run as a process (az, azd)
}

// cliTimeout is azidentity's own bound on a developer CLI, kept for the CLI
// members (a chain bound of a minute would let a hung az wait longer).
const cliTimeout = 10 * time.Second

// chain tries its members in order and remembers which one answered, which
// azidentity's ChainedTokenCredential does not tell.
type chain struct {
	members []member
	timeout time.Duration // of one member's attempt; 0 means none
	mu      sync.Mutex
	used    string
}

func (c *chain) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return c.get(ctx, func(member) policy.TokenRequestOptions { return o })
}

// renew is GetToken for Cache.Renew: MSAL members get claims that make them
// skip their cache; the CLIs, which would answer any claims with "log in
// again", get only claims the service sent.
func (c *chain) renew(ctx context.Context, o policy.TokenRequestOptions, now time.Time) (azcore.AccessToken, error) {
	return c.get(ctx, func(m member) policy.TokenRequestOptions {
		if o.Claims == "" && m.msal {
			mo := o
			mo.Claims = freshTokenClaims(now)
			return mo
		}
		return o
	})
}

func (c *chain) get(ctx context.Context, opts func(member) policy.TokenRequestOptions) (azcore.AccessToken, error) {
	var msgs []string
	for _, m := range c.members {
		tok, hung, err := c.try(ctx, m, opts(m))
		if err == nil {
			c.mu.Lock()
			c.used = m.name
			c.mu.Unlock()
			return tok, nil
		}
		if ctx.Err() != nil {
			return azcore.AccessToken{}, ctx.Err()
		}
		if hung {
			// A credential whose token service hangs is not a sign-in
			// problem (exit 1, not 4); name it and stop, as the next one
			// would act as somebody else.
			return azcore.AccessToken{}, fault.Wrap(fault.Failed, err, "could not get an Azure token: %s did not answer", m.name).
				WithHint("the credential's token service did not answer; check the network to it, or choose another credential with auth.mode (%s)", strings.Join(Modes, ", "))
		}
		msgs = append(msgs, m.name+": "+firstLine(err.Error()))
		var unavailable interface{ credentialUnavailable() }
		if len(c.members) > 1 && !errors.As(err, &unavailable) && !isUnavailableText(err) {
			// A credential that is configured but fails (a wrong secret) must
			// not be hidden behind a later one acting as somebody else.
			break
		}
	}
	return azcore.AccessToken{}, fault.New(fault.Auth, "could not get an Azure token:\n  %s", strings.Join(msgs, "\n  ")).
		WithHint("%s", SignInHint)
}

// try asks one member for a token within the chain's bound. hung says the
// member's token service did not answer: its request met the network
// policy's silence limit (azidentity keeps only the text of some errors) or
// the member ran out of the chain's time.
func (c *chain) try(ctx context.Context, m member, o policy.TokenRequestOptions) (tok azcore.AccessToken, hung bool, err error) {
	limit := c.timeout
	if m.cli && limit > 0 {
		limit = min(limit, cliTimeout)
	}
	mctx := ctx
	if limit > 0 {
		var cancel context.CancelFunc
		mctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	tok, err = m.cred.GetToken(mctx, o)
	if err == nil || ctx.Err() != nil {
		return tok, false, err
	}
	var na *netpolicy.NoAnswerError
	if errors.As(err, &na) || strings.Contains(err.Error(), "no answer from ") {
		return tok, true, err
	}
	if mctx.Err() != nil {
		return tok, true, fmt.Errorf("no answer after %s: %w", netpolicy.Round(limit), err)
	}
	return tok, false, err
}

// Used names the member that last returned a token ("" before any).
func (c *chain) Used() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

func isUnavailableText(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "not found on path") || strings.Contains(s, "az login") ||
		strings.Contains(s, "azd auth login") || strings.Contains(s, "unavailable")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func (o Options) tenant() string {
	if o.TenantID != "" {
		return o.TenantID
	}
	return o.env("AZURE_TENANT_ID")
}

func (o Options) client() string {
	if o.ClientID != "" {
		return o.ClientID
	}
	return o.env("AZURE_CLIENT_ID")
}

func buildEnvironment(o Options, co azcore.ClientOptions) (member, error) {
	tenant, client := o.tenant(), o.client()
	secret := o.env("AZURE_CLIENT_SECRET")
	certPath := o.env("AZURE_CLIENT_CERTIFICATE_PATH")
	if tenant == "" || client == "" || (secret == "" && certPath == "") {
		return member{}, fault.New(fault.Auth, "the environment service principal is not configured").
			WithHint("set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)")
	}
	if secret != "" {
		c, err := azidentity.NewClientSecretCredential(tenant, client, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: co})
		if err != nil {
			return member{}, fault.Wrap(fault.Auth, err, "service principal")
		}
		return member{name: "environment (client secret)", cred: c, msal: true}, nil
	}
	data, err := os.ReadFile(certPath)
	if err != nil {
		return member{}, fault.Wrap(fault.Auth, err, "reading AZURE_CLIENT_CERTIFICATE_PATH")
	}
	var pw []byte
	if p := o.env("AZURE_CLIENT_CERTIFICATE_PASSWORD"); p != "" {
		pw = []byte(p)
	}
	certs, key, err := azidentity.ParseCertificates(data, pw)
	if err != nil {
		return member{}, fault.Wrap(fault.Auth, err, "parsing AZURE_CLIENT_CERTIFICATE_PATH")
	}
	c, err := azidentity.NewClientCertificateCredential(tenant, client, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: co})
	if err != nil {
		return member{}, fault.Wrap(fault.Auth, err, "service principal certificate")
	}
	return member{name: "environment (client certificate)", cred: c, msal: true}, nil
}

// GitHub Actions and GitLab exchange their OIDC token for an Entra token with
// this audience (Entra's documented federated-credential audience).
const federatedAudience = "api://AzureADTokenExchange"

func buildWorkload(o Options, co azcore.ClientOptions) (member, error) {
	tenant, client := o.tenant(), o.client()
	missing := fault.New(fault.Auth, "workload identity is not configured").
		WithHint("set AZURE_TENANT_ID and AZURE_CLIENT_ID, and AZURE_FEDERATED_TOKEN_FILE, or run in GitHub Actions with `permissions: id-token: write`, or in GitLab with an id_token named AZURE_FEDERATED_TOKEN (aud %s)", federatedAudience)
	if tenant == "" || client == "" {
		return member{}, missing
	}
	if file := o.env("AZURE_FEDERATED_TOKEN_FILE"); file != "" {
		c, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: co, TenantID: tenant, ClientID: client, TokenFilePath: file,
		})
		if err != nil {
			return member{}, fault.Wrap(fault.Auth, err, "workload identity")
		}
		return member{name: "workload identity (token file)", cred: c, msal: true}, nil
	}
	var name string
	var assertion func(context.Context) (string, error)
	if reqURL, reqTok := o.env("ACTIONS_ID_TOKEN_REQUEST_URL"), o.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"); reqURL != "" && reqTok != "" {
		name = "workload identity (GitHub Actions OIDC)"
		assertion = githubAssertion(co.Transport, reqURL, reqTok)
	} else if tok := o.env("AZURE_FEDERATED_TOKEN"); tok != "" {
		name = "workload identity (GitLab/CI OIDC token)"
		assertion = func(context.Context) (string, error) { return tok, nil }
	} else {
		return member{}, missing
	}
	c, err := azidentity.NewClientAssertionCredential(tenant, client, assertion, &azidentity.ClientAssertionCredentialOptions{ClientOptions: co})
	if err != nil {
		return member{}, fault.Wrap(fault.Auth, err, "workload identity")
	}
	return member{name: name, cred: c, msal: true}, nil
}

func buildManagedFromEnv(o Options, co azcore.ClientOptions) (member, error) {
	// IMDS on a plain VM has no marker in the environment; probing it from
	// every laptop would add a network timeout to every command, so the default
	// chain uses managed identity only where the platform announces it.
	if o.env("IDENTITY_ENDPOINT") == "" && o.env("MSI_ENDPOINT") == "" {
		return member{}, errors.New("no managed identity endpoint")
	}
	return buildManaged(o, co)
}

func buildManaged(o Options, co azcore.ClientOptions) (member, error) {
	mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
	name := "managed identity (system-assigned)"
	if id := o.client(); id != "" {
		mo.ID = azidentity.ClientID(id)
		name = "managed identity (client id " + id + ")"
	}
	c, err := azidentity.NewManagedIdentityCredential(mo)
	if err != nil {
		return member{}, fault.Wrap(fault.Auth, err, "managed identity")
	}
	return member{name: name, cred: c, msal: true}, nil
}

func buildCLI(o Options, _ azcore.ClientOptions) (member, error) {
	c, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: o.TenantID})
	if err != nil {
		return member{}, fault.Wrap(fault.Auth, err, "Azure CLI credential")
	}
	return member{name: "Azure CLI", cred: c, cli: true}, nil
}

func buildAzd(o Options, _ azcore.ClientOptions) (member, error) {
	c, err := azidentity.NewAzureDeveloperCLICredential(&azidentity.AzureDeveloperCLICredentialOptions{TenantID: o.TenantID})
	if err != nil {
		return member{}, fault.Wrap(fault.Auth, err, "Azure Developer CLI credential")
	}
	return member{name: "Azure Developer CLI", cred: c, cli: true}, nil
}

// String keeps a credential out of logs by accident.
func (c *chain) String() string { return fmt.Sprintf("auth.chain(%d members)", len(c.members)) }
