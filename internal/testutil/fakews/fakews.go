// Package fakews is a stateful fake Azure Machine Learning workspace served
// over real HTTP on 127.0.0.1, for the azureml target's tests: ARM (workspace,
// datastores, listSecrets, VM sizes and usages), the flow service
// (FlowSessions with azure-asyncoperation polling, BulkRuns, TraceSessions),
// run history, index, metric, data and content services, and a managed
// identity token endpoint. Blobs live in a real blob service (Azurite): runs
// read the uploaded snapshot and data from it to decide their lines, and write
// their artifacts back for download. Every request is recorded (for the
// round-trip benchmark) and faults can be injected by path and method.
//
// Sessions go Starting → Running (one azure-asyncoperation at a time per
// session); runs go NotStarted → Running → Completed, or Failed when the test
// says so, one step per run-history read or per Options.RunStep of time. The
// wire shapes follow the shared protocol.md. Test support only: nothing
// here ships in the binary.
package fakews

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Audiences the fake checks tokens against (AzureCloud).
const (
	ARMAudience = "https://management.azure.com"
	MLAudience  = "https://ml.azure.com"
)

// Datastore names the fake serves.
const (
	BlobDatastore       = "workspaceblobstore"
	WorkingDirDatastore = "workspaceworkingdirectory"
)

// Storage is the blob account behind workspaceblobstore: an Azurite instance.
type Storage struct {
	Endpoint  string // http://127.0.0.1:<port> (the account is the first path segment)
	Account   string
	Key       string // base64 account key, handed out by listSecrets
	Container string // default "azureml-blobstore-fake"
}

// User is who the issued tokens say the caller is.
type User struct {
	UPN      string // default jane.doe@contoso.com
	ObjectID string
	TenantID string
}

// Quota is one VM family's vCPU usage and limit in the region.
type Quota struct {
	Used, Limit int64
}

// Options shape the fake. Zero values give a working default workspace.
type Options struct {
	Subscription  string // default 00000000-0000-0000-0000-000000000000
	ResourceGroup string // default rg
	Workspace     string // default ws
	WorkspaceID   string // default a fixed GUID
	Location      string // default eastus
	Kind          string // default Default
	// PrimaryUAI and UAIs are the workspace's user-assigned identities
	// (resource id → client id); one is made up when both are empty.
	PrimaryUAI string
	UAIs       map[string]string

	Storage Storage
	// BlobProxy puts a recording, fault-injecting proxy in front of Storage;
	// BlobTemplate then points at it, so blob traffic is counted too.
	BlobProxy bool
	// BlobLatency delays every proxied blob request, standing in for the
	// round trip to a storage account in an Azure region (loopback has none).
	BlobLatency time.Duration
	// TLS serves HTTPS with httptest's certificate (see CACertPEM).
	TLS bool

	// SessionPolls is how many polls of a session operation answer
	// InProgress before it ends; 0 means the first poll ends it.
	SessionPolls int
	// RunReads is how many run-history reads a run spends in NotStarted and
	// again in Running (default 1).
	RunReads int
	// RunStep, when positive, also moves a run on one state per RunStep.
	RunStep time.Duration
	// TraceConfiguration is TraceSessions' traceCosmosConfiguration (default None).
	TraceConfiguration string
	// Quotas by VM family (default: 24 free vCPUs in every family).
	Quotas map[string]Quota

	User User
	// IdentityHeader is the X-IDENTITY-HEADER secret of the token endpoint;
	// random when empty.
	IdentityHeader string
	TokenLifetime  time.Duration // default 1 h
	Now            func() time.Time
}

// Server is a running fake workspace.
type Server struct {
	opts  Options
	srv   *httptest.Server
	proxy *httptest.Server
	blobs *blobStore

	quit     chan struct{} // closed by Close: hung requests end
	quitOnce sync.Once

	mu       sync.Mutex
	reqs     []*Request
	faults   []*Injected
	tokens   map[string]*token
	issued   int
	runs     map[string]*run
	runOrder []string
	sessions map[string]*session
	ops      map[string]*operation
	failRuns map[string][]int
	failSess map[string]string
	// conns are the workspace connections: name → properties, secrets included.
	conns map[string]map[string]any
	// share is the file share of workspaceworkingdirectory: path → entry;
	// flows the Flows API's flows by id.
	share map[string]*shareEntry
	flows map[string]*wsFlow
}

// Request is one request the fake (or its blob proxy) answered.
type Request struct {
	Kind   string // arm, flow, history, index, metric, data, content, discovery, token, blob
	Method string
	Path   string
	Query  string
	Status int  // 0 for a connection reset, or while it is still being answered
	Fault  bool // answered by an injected fault
	At     time.Time
}

func (r Request) String() string {
	s := r.Method + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	return fmt.Sprintf("%s → %d", s, r.Status)
}

// Fault is a rule that answers matching requests with an error instead of
// serving them.
type Fault struct {
	Path       string        // regular expression on the URL path; "" matches every path
	Method     string        // "" matches every method
	Status     int           // the status to answer, with the service's error envelope
	RetryAfter time.Duration // sent as Retry-After (seconds, rounded up) and retry-after-ms
	Times      int           // how many matching requests it takes; 0 means all of them
	Reset      bool          // close the connection with a TCP reset instead of answering
	// ExpireTokens expires every token issued so far (as ExpireTokens does)
	// and then serves the request as usual, so the request itself meets the
	// expiry: a server-side expiry at a chosen moment of a command.
	ExpireTokens bool
	// Hang reads the request and then never answers (until the client gives
	// up or the fake closes): a service that accepts connections but is dead.
	Hang bool
	// Truncate serves the request (its effect happens) and then cuts the
	// answer: the headers promise the whole body, half of it is sent, and
	// the connection is closed.
	Truncate bool
	// Garbage serves the request (its effect happens) and answers its
	// status with a body that is not what the service sends (an HTML page
	// of a proxy in between).
	Garbage bool
}

// Kind names the fault for tables: "429 Retry-After 100000s", "hang", ...
func (f Fault) Kind() string {
	switch {
	case f.Hang:
		return "hang"
	case f.Reset:
		return "connection reset"
	case f.Truncate:
		return "truncated body"
	case f.Garbage:
		return "garbage body"
	case f.ExpireTokens:
		return "token expiry"
	}
	s := strconv.Itoa(f.Status)
	if f.Status == 0 {
		s = "503"
	}
	if f.RetryAfter > 0 {
		s += fmt.Sprintf(" Retry-After %ds", int64((f.RetryAfter+time.Second-1)/time.Second))
	}
	return s
}

// Injected is an injected fault; Hits says how often it fired.
type Injected struct {
	f    Fault
	re   *regexp.Regexp
	hits int
	s    *Server
}

// Hits is how many requests the fault has answered.
func (i *Injected) Hits() int {
	i.s.mu.Lock()
	defer i.s.mu.Unlock()
	return i.hits
}

// New configures a fake; Start serves it.
func New(opts Options) *Server {
	if opts.Subscription == "" {
		opts.Subscription = "00000000-0000-0000-0000-000000000000"
	}
	if opts.ResourceGroup == "" {
		opts.ResourceGroup = "rg"
	}
	if opts.Workspace == "" {
		opts.Workspace = "ws"
	}
	if opts.WorkspaceID == "" {
		opts.WorkspaceID = "3e123da1-f9a5-4c91-9234-8d9ffbb39ff5"
	}
	if opts.Location == "" {
		opts.Location = "eastus"
	}
	if opts.Kind == "" {
		opts.Kind = "Default"
	}
	if opts.Storage.Container == "" {
		opts.Storage.Container = "azureml-blobstore-fake"
	}
	if opts.RunReads <= 0 {
		opts.RunReads = 1
	}
	if opts.TraceConfiguration == "" {
		opts.TraceConfiguration = "None"
	}
	if opts.User.UPN == "" {
		opts.User.UPN = "jane.doe@contoso.com"
	}
	if opts.User.ObjectID == "" {
		opts.User.ObjectID = "a1b2c3d4-0000-4000-8000-000000000001"
	}
	if opts.User.TenantID == "" {
		opts.User.TenantID = "72f988bf-0000-4000-8000-000000000002"
	}
	if opts.IdentityHeader == "" {
		opts.IdentityHeader = randomHex(16)
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PrimaryUAI == "" && len(opts.UAIs) == 0 {
		opts.PrimaryUAI = "/subscriptions/" + opts.Subscription + "/resourcegroups/" + opts.ResourceGroup +
			"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fake-uai"
		opts.UAIs = map[string]string{opts.PrimaryUAI: "c1d2e3f4-0000-4000-8000-000000000003"}
	}
	return &Server{opts: opts, quit: make(chan struct{}), tokens: map[string]*token{}, runs: map[string]*run{}, sessions: map[string]*session{},
		ops: map[string]*operation{}, failRuns: map[string][]int{}, failSess: map[string]string{}, conns: map[string]map[string]any{}}
}

// Start serves the fake on 127.0.0.1 and, with Storage set, creates the
// datastore's container.
func (s *Server) Start() error {
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if s.opts.TLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	if s.opts.Storage.Endpoint != "" {
		bs, err := newBlobStore(s.opts.Storage)
		if err != nil {
			s.Close()
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := bs.ensureContainer(ctx); err != nil {
			s.Close()
			return err
		}
		s.blobs = bs
		if s.opts.BlobProxy {
			s.proxy = httptest.NewServer(s.proxyHandler())
		}
	}
	return nil
}

// Close stops the fake (and its proxy).
func (s *Server) Close() {
	s.quitOnce.Do(func() { close(s.quit) })
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.srv != nil {
		s.srv.Close()
	}
}

// URL is the base URL of ARM and of the services (the discovery URL's base).
func (s *Server) URL() string { return s.srv.URL }

// TokenURL is the managed identity (App Service) token endpoint.
func (s *Server) TokenURL() string { return s.srv.URL + "/msi/token" }

// IdentityHeader is the secret the token endpoint wants in X-IDENTITY-HEADER.
func (s *Server) IdentityHeader() string { return s.opts.IdentityHeader }

// BlobTemplate is the blob endpoint template for the client
// (PFZ_BLOB_ENDPOINT): the proxy when there is one, else Azurite itself.
func (s *Server) BlobTemplate() string {
	if s.proxy != nil {
		return s.proxy.URL + "/{account}"
	}
	return strings.TrimRight(s.opts.Storage.Endpoint, "/") + "/{account}"
}

// Options returns the effective options (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// WorkspacePath is {WS} of protocol.md: the workspace's ARM path.
func (s *Server) WorkspacePath() string {
	return "/subscriptions/" + s.opts.Subscription + "/resourceGroups/" + s.opts.ResourceGroup +
		"/providers/Microsoft.MachineLearningServices/workspaces/" + s.opts.Workspace
}

// CACertPEM is the PEM certificate clients must trust with Options.TLS.
func (s *Server) CACertPEM() []byte {
	if !s.opts.TLS {
		return nil
	}
	return certPEM(s.srv.Certificate().Raw)
}

// HTTPClient is a client that trusts the fake (TLS or not).
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// ClientEnv is the environment that points pfz at the fake: endpoints,
// workspace, and the managed identity credential served by the fake's token
// endpoint (auth.mode=managed-identity, App Service flavour).
func (s *Server) ClientEnv() map[string]string {
	env := map[string]string{
		"PFZ_SUBSCRIPTION":   s.opts.Subscription,
		"PFZ_RESOURCE_GROUP": s.opts.ResourceGroup,
		"PFZ_WORKSPACE_NAME": s.opts.Workspace,
		"PFZ_TARGET":         "azureml",
		"PFZ_ARM_ENDPOINT":   s.URL(),
		"PFZ_AUTH_MODE":      "managed-identity",
		"IDENTITY_ENDPOINT":  s.TokenURL(),
		"IDENTITY_HEADER":    s.opts.IdentityHeader,
		"PFZ_FILE_ENDPOINT":  s.FileTemplate(),
	}
	if s.opts.Storage.Endpoint != "" {
		env["PFZ_BLOB_ENDPOINT"] = s.BlobTemplate()
	}
	return env
}

// Inject adds a fault rule; rules are tried in the order they were added.
func (s *Server) Inject(f Fault) *Injected {
	re := regexp.MustCompile(f.Path)
	in := &Injected{f: f, re: re, s: s}
	s.mu.Lock()
	s.faults = append(s.faults, in)
	s.mu.Unlock()
	return in
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Requests returns what was answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
	}
	return out
}

// ResetRequests forgets the recorded requests (between phases of a test).
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// RoundTrips counts the recorded requests that are workspace round trips:
// everything but token requests.
func (s *Server) RoundTrips() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Kind != "token" {
			n++
		}
	}
	return n
}

// Count counts recorded requests by method ("" any) and path regexp.
func (s *Server) Count(method, pathRE string) int {
	re := regexp.MustCompile(pathRE)
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && re.MatchString(r.Path) {
			n++
		}
	}
	return n
}

// TokensIssued counts tokens the token endpoint handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// ExpireTokens makes every token issued so far expired: the next request
// carrying one gets 401 with an expiry challenge until a new one is fetched.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-time.Second)
	for _, t := range s.tokens {
		t.exp = past
	}
}

// FailRun makes the named run (submitted now or later) end Failed. With line
// numbers only those lines fail; without, every line does.
func (s *Server) FailRun(name string, lines ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lines == nil {
		lines = []int{}
	}
	s.failRuns[name] = lines
	if r, ok := s.runs[name]; ok && !r.terminal() {
		r.applyFailure(lines)
	}
}

// FailSessionSetup makes the next setup operation of the session end Failed
// with message (as pip would report it); id "*" means whichever session is
// set up next.
func (s *Server) FailSessionSetup(id, message string) {
	s.mu.Lock()
	s.failSess[id] = message
	s.mu.Unlock()
}

// classify names the service a path belongs to.
func classify(p string) string {
	switch {
	case p == "/msi/token":
		return "token"
	case strings.HasPrefix(p, "/discovery"):
		return "discovery"
	case strings.HasPrefix(p, "/subscriptions/"):
		return "arm"
	case strings.HasPrefix(p, "/flow/api/"):
		return "flow"
	case strings.HasPrefix(p, "/history/"):
		return "history"
	case strings.HasPrefix(p, "/index/"):
		return "index"
	case strings.HasPrefix(p, "/metric/"):
		return "metric"
	case strings.HasPrefix(p, "/data/"):
		return "data"
	case strings.HasPrefix(p, "/content/"):
		return "content"
	case strings.HasPrefix(p, "/files/"):
		return "files"
	}
	return "other"
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// arrive records a request as it arrives, so the log keeps the order in
// which the client sent them; done fills in the answer.
func (s *Server) arrive(kind string, r *http.Request) *Request {
	q := &Request{Kind: kind, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, At: time.Now()}
	s.mu.Lock()
	s.reqs = append(s.reqs, q)
	s.mu.Unlock()
	return q
}

func (s *Server) done(q *Request, status int, fault bool) {
	s.mu.Lock()
	q.Status, q.Fault = status, fault
	s.mu.Unlock()
}

// matchFault returns the fault that takes this request, counting the hit.
func (s *Server) matchFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.faults {
		if in.f.Method != "" && !strings.EqualFold(in.f.Method, r.Method) {
			continue
		}
		if !in.re.MatchString(r.URL.Path) {
			continue
		}
		if in.f.Times > 0 && in.hits >= in.f.Times {
			continue
		}
		in.hits++
		f := in.f
		return &f
	}
	return nil
}

// applyFault answers with the fault; it returns the status written (0 for a reset).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, kind string, f *Fault) int {
	_, _ = io.Copy(io.Discard, r.Body)
	if f.Reset {
		resetConn(w)
		return 0
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
		return 0
	}
	if f.RetryAfter > 0 {
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		w.Header().Set("retry-after-ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
	}
	status := f.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/`+s.opts.User.TenantID+
			`", error="invalid_token", error_description="The access token expiry UTC time is earlier than current UTC time."`)
	}
	if kind == "blob" {
		w.Header().Set("x-ms-error-code", "ServerBusy")
		w.WriteHeader(status)
		return status
	}
	msg := fmt.Sprintf("injected fault: %d %s", status, http.StatusText(status))
	if kind == "arm" {
		code := "InternalServerError"
		switch status {
		case http.StatusTooManyRequests:
			code = "TooManyRequests"
		case http.StatusUnauthorized:
			code = "ExpiredAuthenticationToken"
		case http.StatusForbidden:
			code = "AuthorizationFailed"
			if strings.Contains(r.URL.Path, "listSecrets") {
				msg = "The client '" + s.opts.User.UPN + "' with object id '" + s.opts.User.ObjectID +
					"' does not have authorization to perform action 'Microsoft.MachineLearningServices/workspaces/datastores/listSecrets/action'"
			}
		case http.StatusServiceUnavailable:
			code = "ServiceUnavailable"
		}
		writeJSON(w, status, armError(code, msg))
		return status
	}
	code := "ServiceError"
	switch status {
	case http.StatusTooManyRequests:
		code = "RequestThrottled"
	case http.StatusUnauthorized, http.StatusForbidden:
		code = "UserError"
	case http.StatusServiceUnavailable:
		code = "TransientError"
	}
	writeJSON(w, status, s.flowError(status, code, "", msg))
	return status
}

// resetConn closes the client's connection with a TCP reset (SO_LINGER 0).
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = raw.Close()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	kind := classify(r.URL.Path)
	q := s.arrive(kind, r)
	f := s.matchFault(r)
	switch {
	case f != nil && f.ExpireTokens:
		s.ExpireTokens()
	case f != nil && (f.Truncate || f.Garbage):
		s.serveCorrupted(w, r, q, f, func(w http.ResponseWriter) { s.route(w, r, kind) })
		return
	case f != nil:
		s.done(q, s.applyFault(w, r, kind, f), true)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	s.route(rec, r, kind)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	s.done(q, rec.status, false)
}

// serveCorrupted lets serve answer into a buffer (so the request has its
// effect) and then sends that answer truncated or replaced by garbage.
func (s *Server) serveCorrupted(w http.ResponseWriter, r *http.Request, q *Request, f *Fault, serve func(http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	serve(rec)
	res := rec.Result()
	body := rec.Body.Bytes()
	for k, v := range res.Header {
		if !strings.EqualFold(k, "Content-Length") {
			w.Header()[k] = v
		}
	}
	s.done(q, res.StatusCode, true)
	if f.Garbage {
		page := []byte("<html><body><h1>502 Bad Gateway</h1>garbage from a proxy \x00\xff</body></html>")
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(page)
		return
	}
	// Truncate: promise the whole body (at least a byte more than sent),
	// send half, and drop the connection.
	promised := max(len(body), 2)
	w.Header().Set("Content-Length", strconv.Itoa(promised))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body[:len(body)/2])
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, kind string) {
	switch kind {
	case "token":
		s.serveToken(w, r)
		return
	case "discovery":
		writeJSON(w, 200, map[string]any{"api": s.URL(), "catalog": s.URL(), "experimentation": s.URL(),
			"gallery": s.URL(), "history": s.URL(), "hyperdrive": s.URL(), "labeling": s.URL(),
			"modelmanagement": s.URL(), "pipelines": s.URL(), "studiocoreservices": s.URL()})
		return
	case "other":
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "no such API: "+r.URL.Path))
		return
	case "files":
		s.serveFiles(w, r) // shared key, not a bearer token
		return
	}
	if !s.authorize(w, r) {
		return
	}
	switch kind {
	case "arm":
		s.serveARM(w, r)
	case "flow":
		s.serveFlow(w, r)
	default:
		s.serveServices(w, r, kind)
	}
}

// wsRest strips prefix + {WS} from the path and returns the rest ("" for
// the workspace itself); ok is false for another workspace.
func (s *Server) wsRest(p, prefix string) (string, bool) {
	p = strings.TrimPrefix(p, prefix)
	ws := s.WorkspacePath()
	if len(p) < len(ws) || !strings.EqualFold(p[:len(ws)], ws) {
		return "", false
	}
	rest := p[len(ws):]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return strings.TrimPrefix(rest, "/"), true
}

// ---- tokens ----

type token struct {
	aud string
	exp time.Time
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) issue(resource string) (string, time.Time) {
	now := s.opts.Now()
	exp := now.Add(s.opts.TokenLifetime)
	aud := strings.TrimRight(resource, "/")
	claims := map[string]any{
		"aud": aud, "iss": "https://sts.windows.net/" + s.opts.User.TenantID + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"oid": s.opts.User.ObjectID, "tid": s.opts.User.TenantID, "upn": s.opts.User.UPN,
		"name": strings.SplitN(s.opts.User.UPN, "@", 2)[0], "jti": randomHex(8),
	}
	tok := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "." +
		base64.RawURLEncoding.EncodeToString([]byte("fakews-signature"))
	s.mu.Lock()
	s.tokens[tok] = &token{aud: aud, exp: exp}
	s.issued++
	s.mu.Unlock()
	return tok, exp
}

// serveToken is the App Service managed identity endpoint azidentity (MSAL)
// calls with IDENTITY_ENDPOINT and IDENTITY_HEADER set.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-IDENTITY-HEADER") != s.opts.IdentityHeader {
		writeJSON(w, 401, map[string]any{"error": "invalid_request", "error_description": "missing or wrong X-IDENTITY-HEADER"})
		return
	}
	res := r.URL.Query().Get("resource")
	if res == "" {
		writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "resource is required"})
		return
	}
	tok, exp := s.issue(res)
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_on": strconv.FormatInt(exp.Unix(), 10),
		"resource": res, "token_type": "Bearer", "client_id": "fakews-client"})
}

// authorize checks the bearer token (and the aml-user-token where the real
// service wants one). It answers 401 itself when they are wrong.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	deny := func(desc string) bool {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		if classify(r.URL.Path) == "arm" {
			code := "InvalidAuthenticationToken"
			if strings.Contains(desc, "expired") {
				code = "ExpiredAuthenticationToken"
			}
			writeJSON(w, 401, armError(code, desc))
		} else {
			writeJSON(w, 401, s.flowError(401, "UserError", "AuthenticationFailed", desc))
		}
		return false
	}
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") {
		return deny("the request has no bearer token")
	}
	if msg := s.checkToken(strings.TrimPrefix(h, "Bearer "), ARMAudience); msg != "" {
		return deny(msg)
	}
	if needsUserToken(r) {
		if msg := s.checkToken(r.Header.Get("aml-user-token"), MLAudience); msg != "" {
			return deny("aml-user-token: " + msg)
		}
	}
	return true
}

// needsUserToken: the calls PY sends aml-user-token on (protocol §1.3).
func needsUserToken(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/flow/api/") {
		return false
	}
	p := r.URL.Path
	if strings.HasSuffix(p, "/BulkRuns/submit") {
		return true
	}
	i := strings.Index(p, "/FlowSessions/")
	return i >= 0 && !strings.Contains(p[i+len("/FlowSessions/"):], "/")
}

func (s *Server) checkToken(tok, aud string) string {
	if tok == "" {
		return "no token"
	}
	s.mu.Lock()
	t, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok {
		return "the token was not issued by this workspace's identity endpoint"
	}
	if t.aud != aud {
		return "the token's audience " + t.aud + " is not " + aud
	}
	if !s.opts.Now().Before(t.exp) {
		return "The access token has expired"
	}
	return ""
}

// Credential is an azcore credential that fetches tokens from the fake's
// token endpoint over HTTP, as the managed identity credential does. Wrap it
// in auth.NewCache to get pfz's caching and invalidation.
func (s *Server) Credential() azcore.TokenCredential { return &credential{s: s} }

type credential struct{ s *Server }

func (c *credential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(o.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("fakews credential: want one scope, got %v", o.Scopes)
	}
	u := c.s.TokenURL() + "?" + url.Values{"api-version": {"2019-08-01"}, "resource": {strings.TrimSuffix(o.Scopes[0], "/.default")}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	req.Header.Set("X-IDENTITY-HEADER", c.s.opts.IdentityHeader)
	resp, err := c.s.HTTPClient().Do(req)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresOn   string `json:"expires_on"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return azcore.AccessToken{}, fmt.Errorf("fakews credential: token endpoint answered %d", resp.StatusCode)
	}
	secs, _ := strconv.ParseInt(out.ExpiresOn, 10, 64)
	return azcore.AccessToken{Token: out.AccessToken, ExpiresOn: time.Unix(secs, 0)}, nil
}

// ---- responses ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-request-id", randomHex(16))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func armError(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg, "target": nil, "details": []any{}, "additionalInfo": []any{}}}
}

// flowError is the flow service / run history envelope (protocol §6.1).
func (s *Server) flowError(status int, code, inner, msg string) map[string]any {
	var innerErr any
	if inner != "" {
		innerErr = map[string]any{"code": inner, "innerError": nil}
	}
	return map[string]any{
		"error": map[string]any{"code": code, "severity": nil, "message": msg, "messageFormat": msg,
			"messageParameters": map[string]any{}, "referenceCode": nil, "detailsUri": nil, "target": nil,
			"details": []any{}, "innerError": innerErr, "additionalInfo": nil},
		"correlation": map[string]any{"operation": randomHex(16), "request": randomHex(8)},
		"environment": s.opts.Location, "location": s.opts.Location,
		"time": s.opts.Now().UTC().Format(time.RFC3339Nano), "componentName": "fakews", "statusCode": status,
	}
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
