// Package azureml is the azureml target: it implements workspace.Workspace
// against a real Azure Machine Learning workspace — ARM (workspace,
// datastores), the flow service (BulkRuns, FlowSessions, TraceSessions), run
// history, index, metric, data and content services — and uploads snapshots
// and data to the datastore's blob container with azblob (protocol.md §1–§4).
// Every endpoint can be pointed elsewhere (sovereign clouds, private links,
// test servers). What a command learns about a workspace is kept on disk for
// a few minutes (Options.CacheDir; cache.go lists the files), the storage
// credential in a 0600 file of its own. It must not import cobra, viper,
// internal/config or internal/auth, and never reads the environment: Options
// carries everything.
package azureml

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/pfz-cli/pfz/internal/auth"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/netpolicy"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Options configure the azureml target.
type Options struct {
	Subscription, ResourceGroup, Workspace string
	Cloud                                  string // AzureCloud (default), AzureChinaCloud, AzureUSGovernment
	ARMEndpoint                            string // overrides the cloud's resource manager URL
	ServiceEndpoint                        string // overrides the base taken from the workspace discoveryUrl
	BlobEndpoint                           string // blob account URL template with {account}, e.g. http://127.0.0.1:10000/{account}
	FileEndpoint                           string // file share account URL template with {account}
	Credential                             azcore.TokenCredential
	CacheDir                               string // workspace cache and session records; "" disables both
	HTTPClient                             *http.Client
	// CACertFile adds a PEM CA bundle to the system roots (from SSL_CERT_FILE
	// via internal/config) for HTTPS endpoints behind a private CA.
	CACertFile string
	UserAgent  string
	Now        func() time.Time
	Debug      io.Writer // request/response log with secrets redacted
	// Warn receives warnings that do not fail the command (a cache that
	// could not be saved); nil discards them.
	Warn io.Writer
	// WorkspaceCacheTTL is how long the workspace lookup is reused from disk;
	// 0 means 10 minutes, a negative value disables the cache.
	WorkspaceCacheTTL time.Duration
	// StorageCredentialTTL is how long a storage credential from listSecrets
	// is reused from its own 0600 file; 0 means WorkspaceCacheTTL, a negative
	// value disables that file. A credential storage refuses is dropped and
	// listed again once.
	StorageCredentialTTL time.Duration
	// PollInterval is the wait between polls of a session operation; 0 means 5 s.
	PollInterval time.Duration
	// UploadConcurrency caps the files uploaded at once; 0 means 32. The
	// upload's memory budget (96 MB of file contents) applies either way.
	UploadConcurrency int
	// Network is how long every call waits and how often it is retried
	// (zero fields take netpolicy's defaults). It applies to HTTPClient too.
	Network netpolicy.Policy
}

// Workspace is the azureml target.
type Workspace struct {
	opts  Options
	cloud Cloud
	c     *client

	infoMu sync.Mutex
	info   *wsInfo

	dsMu  sync.Mutex
	ds    map[string]*datastore // datastores with credentials
	descs map[string]*datastore // datastore descriptions (no credentials)
	def   *datastore            // the default datastore's description

	cacheMu  sync.Mutex // read-modify-write of the cache files
	warnOnce sync.Once  // one warning per command for failed cache writes

	traceMu   sync.Mutex
	traceConf *string // TraceSessions' configuration, once known

	// putMu lets one asset upload its files at a time, so concurrent
	// uploads' byte progress never interleaves; checks run in parallel.
	putMu sync.Mutex

	sleep func(context.Context, time.Duration) error
}

var _ workspace.Workspace = (*Workspace)(nil)

// New checks the options and returns the target. It makes no network call:
// the workspace is looked up (or read from the cache) on first use.
func New(ctx context.Context, opts Options) (*Workspace, error) {
	var missing []string
	if opts.Subscription == "" {
		missing = append(missing, "subscription")
	}
	if opts.ResourceGroup == "" {
		missing = append(missing, "resource group")
	}
	if opts.Workspace == "" {
		missing = append(missing, "workspace")
	}
	if len(missing) > 0 {
		return nil, fault.New(fault.Usage, "the azureml target needs a %s", strings.Join(missing, ", ")).
			WithHint("pass --subscription, --resource-group and --workspace-name, set them with `pfz config set`, or add .azureml/config.json")
	}
	if opts.Credential == nil {
		return nil, fault.New(fault.Auth, "no Azure credential").WithHint("%s", auth.SignInHint)
	}
	cl, err := CloudByName(opts.Cloud)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WorkspaceCacheTTL == 0 {
		opts.WorkspaceCacheTTL = 10 * time.Minute
	}
	if opts.StorageCredentialTTL == 0 {
		opts.StorageCredentialTTL = opts.WorkspaceCacheTTL
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "pfz"
	}
	opts.Network = opts.Network.WithDefaults()
	hc := opts.HTTPClient
	if hc != nil {
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		c := *hc
		c.Transport = opts.Network.Wrap(next)
		hc = &c
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Parallel uploads go to one storage host; Go keeps only 2 idle
		// connections per host by default, so the rest would be torn down and
		// dialled (with TLS) again for every file.
		tr.MaxIdleConnsPerHost = maxUploadWorkers + 8
		if opts.CACertFile != "" {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			pem, err := os.ReadFile(opts.CACertFile)
			if err != nil {
				return nil, fault.Wrap(fault.Usage, err, "reading the CA bundle %s", opts.CACertFile)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fault.New(fault.Usage, "%s holds no PEM certificate", opts.CACertFile)
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		hc = opts.Network.Client(tr)
	}
	w := &Workspace{opts: opts, cloud: cl, ds: map[string]*datastore{}, descs: map[string]*datastore{}, sleep: sleepCtx}
	w.c = &client{hc: hc, cred: opts.Credential, userAgent: opts.UserAgent, debug: &debugLog{w: opts.Debug}, net: opts.Network, sleep: sleepCtx}
	_ = ctx
	return w, nil
}

// Target names the target.
func (w *Workspace) Target() string { return workspace.TargetAzureML }

// Sessions returns the compute sessions API.
func (w *Workspace) Sessions() workspace.Sessions { return &sessions{w: w} }

// Runs returns the runs API.
func (w *Workspace) Runs() workspace.Runs { return &runs{w: w} }

// wsPath is the ARM path of the workspace ({WS} in protocol.md).
func (w *Workspace) wsPath() string {
	return "/subscriptions/" + w.opts.Subscription + "/resourceGroups/" + w.opts.ResourceGroup +
		"/providers/Microsoft.MachineLearningServices/workspaces/" + w.opts.Workspace
}

func (w *Workspace) armBase() string {
	if w.opts.ARMEndpoint != "" {
		return strings.TrimRight(w.opts.ARMEndpoint, "/")
	}
	return w.cloud.ARM
}

// serviceBase is the flow/history/index base URL, ending in "/".
func (w *Workspace) serviceBase(ctx context.Context) (string, error) {
	if w.opts.ServiceEndpoint != "" {
		return strings.TrimRight(w.opts.ServiceEndpoint, "/") + "/", nil
	}
	info, err := w.workspaceInfo(ctx)
	if err != nil {
		return "", err
	}
	return info.serviceBase()
}

// svc returns the URL of a workspace-scoped service path:
// svc(ctx, "flow/api", "BulkRuns/submit").
func (w *Workspace) svc(ctx context.Context, service, rest string) (string, error) {
	base, err := w.serviceBase(ctx)
	if err != nil {
		return "", err
	}
	u := base + service + w.wsPath()
	if rest != "" {
		u += "/" + rest
	}
	return u, nil
}
