package azureml

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pfz-cli/pfz/internal/auth"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/netpolicy"
)

// HTTPError is a non-2xx answer of a service, with what its error envelope
// said (protocol §6).
type HTTPError struct {
	Method    string
	URL       string // without query
	Status    int
	Code      string // top-level code (UserError, AuthorizationFailed, …)
	InnerCode string // most specific inner code (FlowNotFound, …)
	Message   string
	RequestID string
	Body      string // redacted, truncated
	Header    http.Header
	// Throttle is set when the service asked for a wait longer than pfz's
	// network policy allows (a *netpolicy.TooLongError).
	Throttle error
}

func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	s += ": " + msg
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	if e.Throttle != nil {
		s += "; " + e.Throttle.Error()
	}
	return s
}

// TransportError is a request that got no answer.
type TransportError struct {
	Method, URL string
	Err         error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err)
}
func (e *TransportError) Unwrap() error { return e.Err }

func newHTTPError(method, u string, r *response) *HTTPError {
	e := &HTTPError{Method: method, URL: redactURL(stripQuery(u)), Status: r.status, Header: r.header}
	e.RequestID = firstHeader(r.header, "x-ms-request-id", "x-request-id", "x-ms-client-request-id")
	var env struct {
		Error *struct {
			Code       string          `json:"code"`
			Message    string          `json:"message"`
			InnerError json.RawMessage `json:"innerError"`
		} `json:"error"`
		Correlation *struct {
			Request string `json:"request"`
		} `json:"correlation"`
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if json.Unmarshal(r.body, &env) == nil {
		if env.Error != nil {
			e.Code, e.Message = env.Error.Code, env.Error.Message
			e.InnerCode = innermost(env.Error.InnerError)
		} else {
			e.Code, e.Message = env.Code, env.Message
		}
		if env.Correlation != nil && env.Correlation.Request != "" && e.RequestID == "" {
			e.RequestID = env.Correlation.Request
		}
	}
	if e.Code == "" {
		e.Code = r.header.Get("x-ms-error-code")
	}
	if e.Message == "" && len(r.body) > 0 && !strings.HasPrefix(strings.TrimSpace(string(r.body)), "{") {
		e.Message = truncate(strings.TrimSpace(string(r.body)), 300)
	}
	e.Body = truncate(redactText(string(r.body)), 2000)
	return e
}

func innermost(raw json.RawMessage) string {
	code := ""
	for len(raw) > 0 && string(raw) != "null" {
		var ie struct {
			Code       string          `json:"code"`
			InnerError json.RawMessage `json:"innerError"`
		}
		if json.Unmarshal(raw, &ie) != nil {
			break
		}
		if ie.Code != "" {
			code = ie.Code
		}
		raw = ie.InnerError
	}
	return code
}

func firstHeader(h http.Header, keys ...string) string {
	for _, k := range keys {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// statusOf returns the HTTP status of err, 0 when it is not an *HTTPError.
func statusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// fail turns a service error into the fault the user sees. what says what pfz
// was doing ("getting run x"); scope names the workspace for auth hints.
func (w *Workspace) fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var na *netpolicy.NoAnswerError
	if errors.As(err, &na) {
		// A service that stops answering is a failure (exit 1), also when
		// a --timeout passed meanwhile: nothing says the work goes on.
		if na.Phase != "" {
			return fault.Wrap(fault.Failed, na, "%s", what).
				WithHint("the endpoint took no connection or TLS handshake; check the endpoint settings (`pfz config list --sources`), the network and proxy, or raise network.connect_timeout (`pfz help environment`)")
		}
		return fault.Wrap(fault.Failed, na, "%s", what).
			WithHint("the service accepted the connection but did not answer; check its status, the network and proxy, or raise network.answer_timeout (`pfz help environment`)")
	}
	if errors.Is(err, context.Canceled) {
		return fault.Wrap(fault.Interrupted, err, "%s: interrupted", what)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fault.Wrap(fault.Timeout, err, "%s: timed out", what)
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		if fe.Msg == "" {
			fe.Msg = what
		}
		return err
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusUnauthorized:
			// 401 is about the token itself (expired, revoked, wrong tenant or
			// audience), even after pfz fetched a new one; roles are a 403.
			return fault.Wrap(fault.Auth, err, "%s: the service refused the Azure token of %s, also after a new token was fetched", what, w.c.principalName()).
				WithHint("check the credential with `pfz auth status`: it must sign in to the tenant of subscription %s (for the Azure CLI, run `az login` again; for a managed identity, check AZURE_CLIENT_ID), and the machine's clock must be right",
					w.opts.Subscription)
		case http.StatusForbidden:
			return fault.Wrap(fault.Auth, err, "%s: %s is not allowed to do this on workspace %s", what, w.c.principalName(), w.opts.Workspace).
				WithHint("assign the AzureML Data Scientist role on workspace %s (resource group %s) to %s; role assignments can take a few minutes to apply",
					w.opts.Workspace, w.opts.ResourceGroup, w.c.principalName())
		case http.StatusNotFound:
			return fault.Wrap(fault.NotFound, err, "%s: not found", what)
		case http.StatusTooManyRequests:
			if he.Throttle != nil {
				return fault.Wrap(fault.Failed, err, "%s: the service is throttling requests", what).WithHint("try again later")
			}
			return fault.Wrap(fault.Failed, err, "%s: the service is throttling requests", what).WithHint("wait a minute and try again")
		}
		if he.Status >= 500 {
			return fault.Wrap(fault.Failed, err, "%s: the service failed", what).
				WithHint("try again; if it persists, quote request id %s to Azure support", orDash(he.RequestID))
		}
		return fault.Wrap(fault.Failed, err, "%s", what)
	}
	var te *TransportError
	if errors.As(err, &te) {
		return fault.Wrap(fault.Failed, err, "%s: no answer from the service", what).
			WithHint("check the network, proxy and endpoint settings (`pfz config list --sources`)")
	}
	return fault.Wrap(fault.Failed, err, "%s", what)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// credentialFault wraps a credential failure as an auth fault.
func credentialFault(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	return fault.Wrap(fault.Auth, err, "could not get an Azure token").
		WithHint("%s", auth.SignInHint)
}

// principalOf names the identity of a JWT for error messages, without
// trusting or verifying it.
func principalOf(token string) string {
	c := claimsOf(token)
	for _, k := range []string{"upn", "email", "preferred_username", "unique_name"} {
		if v, _ := c[k].(string); v != "" {
			return v
		}
	}
	oid, _ := c["oid"].(string)
	if app, _ := c["appid"].(string); app != "" {
		return fmt.Sprintf("application %s (object id %s)", app, oid)
	}
	if oid != "" {
		return "object id " + oid
	}
	return ""
}

func claimsOf(token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}
