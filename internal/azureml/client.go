package azureml

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pfz-cli/pfz/internal/netpolicy"
)

// Retries follow protocol §1.4 with the one network policy of pfz
// (internal/netpolicy): a few status retries with exponential backoff from
// 0.8 s, Retry-After honoured up to its cap, 500 never retried for a POST (a
// retried submit would make the service answer 409 or, worse, run twice).

func retryableStatus(code int, method string) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests,
		code == http.StatusBadGateway, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return true
	case code == http.StatusInternalServerError:
		return method == http.MethodGet || method == http.MethodHead
	case code >= 506 && code <= 599:
		return true
	}
	return false
}

// tokenInvalidator and tokenRenewer are implemented by auth.Cache.
type tokenInvalidator interface{ Invalidate(scopes ...string) }

type tokenRenewer interface {
	Renew(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error)
}

// client sends the JSON calls of ARM and the *.api.azureml.ms services.
type client struct {
	hc        *http.Client
	cred      azcore.TokenCredential
	userAgent string
	debug     *debugLog
	net       netpolicy.Policy
	sleep     func(context.Context, time.Duration) error

	mu        sync.Mutex
	principal string // who the ARM token belongs to, for error hints
}

// call is one request.
type call struct {
	method  string
	url     string // absolute
	query   url.Values
	body    any    // marshalled as JSON unless []byte
	scope   string // token scope; "" sends no Authorization
	mlScope string // when set, the aml-user-token header carries a token of this scope
	accept  string
	header  map[string]string
	// idempotent lets a transport error be retried (GET/HEAD/PUT/DELETE are).
	idempotent bool
	// noRetry disables status retries (submit handles its own).
	noRetry bool
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("the service answered with unexpected JSON: %w", err)
	}
	return nil
}

var sleepCtx = netpolicy.Sleep

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (c *client) token(ctx context.Context, scope string) (string, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.principal == "" {
		c.principal = principalOf(tok.Token)
	}
	c.mu.Unlock()
	return tok.Token, nil
}

// renew replaces the token of scope after a 401. auth.Cache renews past
// every cache it can; another credential gets the challenge's claims, which
// azidentity credentials answer without their cache.
func (c *client) renew(ctx context.Context, scope, claims string) error {
	o := policy.TokenRequestOptions{Scopes: []string{scope}, Claims: claims}
	if r, ok := c.cred.(tokenRenewer); ok {
		_, err := r.Renew(ctx, o)
		return err
	}
	if inv, ok := c.cred.(tokenInvalidator); ok {
		inv.Invalidate(scope)
	}
	if claims == "" {
		return nil
	}
	_, err := c.cred.GetToken(ctx, o)
	return err
}

// challengeClaims returns the decoded claims of a WWW-Authenticate Bearer
// challenge (claims="<base64 JSON>", sent by continuous access evaluation and
// conditional access), or "" when there are none.
func challengeClaims(h http.Header) string {
	for _, v := range h.Values("WWW-Authenticate") {
		i := indexFold(v, `claims="`)
		if i < 0 {
			continue
		}
		rest := v[i+len(`claims="`):]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		enc := strings.TrimSpace(rest[:j])
		for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := e.DecodeString(enc); err == nil && json.Valid(b) {
				return string(b)
			}
		}
	}
	return ""
}

// indexFold is strings.Index ignoring ASCII case, on the bytes of s (lower-
// casing s first could change its length).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func (c *client) principalName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.principal == "" {
		return "the signed-in identity"
	}
	return c.principal
}

// do sends the call with retries and returns a 2xx response, or an *HTTPError.
func (c *client) do(ctx context.Context, cl call) (*response, error) {
	var payload []byte
	if cl.body != nil {
		switch b := cl.body.(type) {
		case []byte:
			payload = b
		default:
			var err error
			if payload, err = json.Marshal(b); err != nil {
				return nil, err
			}
		}
	}
	u := cl.url
	if len(cl.query) > 0 {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + cl.query.Encode()
	}
	idempotent := cl.idempotent || cl.method == http.MethodGet || cl.method == http.MethodHead ||
		cl.method == http.MethodPut || cl.method == http.MethodDelete
	reauthed := false
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, cl, u, payload)
		if err != nil {
			var na *netpolicy.NoAnswerError
			noAnswer := errors.As(err, &na)
			if ctx.Err() != nil && !noAnswer {
				return nil, ctx.Err()
			}
			var ce *credentialError
			if errors.As(err, &ce) {
				return nil, credentialFault(ce.err)
			}
			if !idempotent || cl.noRetry || noAnswer || attempt >= c.net.MaxRetries || !transient(err) {
				return nil, &TransportError{Method: cl.method, URL: redactURL(u), Err: err}
			}
			if err := c.sleep(ctx, c.net.Backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		if resp.status == http.StatusUnauthorized && !reauthed && cl.scope != "" {
			// A token expired, revoked or rotated on the service's side before
			// its stated expiry: fetch a new one, once. Either token may be the
			// one refused when two are sent.
			reauthed = true
			claims := challengeClaims(resp.header)
			if err := c.renew(ctx, cl.scope, claims); err != nil {
				return nil, credentialFault(err)
			}
			if cl.mlScope != "" {
				if err := c.renew(ctx, cl.mlScope, ""); err != nil {
					return nil, credentialFault(err)
				}
			}
			attempt--
			continue
		}
		if !cl.noRetry && attempt < c.net.MaxRetries && retryableStatus(resp.status, cl.method) {
			d, err := c.net.Delay(attempt, resp.header)
			if err != nil {
				he := newHTTPError(cl.method, u, resp)
				he.Throttle = err
				return nil, he
			}
			if err := c.sleep(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		return nil, newHTTPError(cl.method, u, resp)
	}
}

// retryWait is the wait before trying again a call that failed with err
// (an *HTTPError's Retry-After counts), or err joined with the policy's
// *netpolicy.TooLongError when the service asks for longer than pfz waits.
func (c *client) retryWait(attempt int, err error) (time.Duration, error) {
	var h http.Header
	var he *HTTPError
	if errors.As(err, &he) {
		h = he.Header
	}
	d, terr := c.net.Delay(attempt, h)
	if terr != nil {
		return 0, fmt.Errorf("%w; %w", err, terr)
	}
	return d, nil
}

func transient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection reset")
}

func (c *client) once(ctx context.Context, cl call, u string, payload []byte) (*response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, err
	}
	if cl.scope != "" {
		tok, err := c.token(ctx, cl.scope)
		if err != nil {
			return nil, authError(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if cl.mlScope != "" {
		tok, err := c.token(ctx, cl.mlScope)
		if err != nil {
			return nil, authError(err)
		}
		req.Header.Set("aml-user-token", tok)
	}
	req.Header.Set("x-ms-client-request-id", newRequestID())
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	} else if cl.method == http.MethodPost || cl.method == http.MethodPatch {
		req.ContentLength = 0
	}
	accept := cl.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	for k, v := range cl.header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	c.debug.request(req, payload)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.debug.failure(req, err)
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	c.debug.response(resp, data, time.Since(start))
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// authErrorMarker lets do() tell a credential failure (not retried) apart.
type credentialError struct{ err error }

func (e *credentialError) Error() string { return e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }

func authError(err error) error { return &credentialError{err} }
