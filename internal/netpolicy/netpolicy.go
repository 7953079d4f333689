// Package netpolicy is how pfz waits on the network: one policy of timeouts
// and retries that every Azure call follows (ARM, the flow service, run
// history, blob storage and token requests), and the HTTP transport that
// enforces it.
//
// The transport gives a connection and a TLS handshake ConnectTimeout each,
// and a request AnswerTimeout of silence: no response headers, no response
// body bytes and no request body bytes taken for that long ends the request
// with a *NoAnswerError naming the host. Silence is measured, not total time,
// so a large upload or download that keeps moving is never cut off. After
// NoticeAfter of silence the transport tells Notify what it waits for.
//
// Retries: at most MaxRetries, waits growing from RetryDelay, and a
// Retry-After is honoured only up to MaxRetryDelay: a service that asks for
// longer ends the call at once with an error that says so (azcore does the
// same with the same options), so no call waits unboundedly. A request that
// got no answer is not retried: a service that accepted the connection and
// said nothing for AnswerTimeout is not expected to answer the next one.
// Every wait ends when the context does (Ctrl-C).
//
// It imports nothing from pfz and never reads the environment.
package netpolicy

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Defaults of Policy.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultAnswerTimeout  = 60 * time.Second
	DefaultMaxRetries     = 3
	DefaultRetryDelay     = 800 * time.Millisecond
	DefaultMaxRetryDelay  = 60 * time.Second
	DefaultNoticeAfter    = 2 * time.Second
)

// Policy is how long pfz waits and how often it retries.
type Policy struct {
	// ConnectTimeout bounds the TCP connection and, separately, the TLS
	// handshake of one request.
	ConnectTimeout time.Duration
	// AnswerTimeout is the longest silence of one request: waiting for the
	// response headers, between response body bytes, and between request
	// body bytes the server takes.
	AnswerTimeout time.Duration
	// MaxRetries is how often a failed call is tried again.
	MaxRetries int
	// RetryDelay is the first wait between tries; each wait doubles it.
	RetryDelay time.Duration
	// MaxRetryDelay caps every wait; a Retry-After above it is not waited
	// for: the call fails at once, saying how long the service asked for.
	MaxRetryDelay time.Duration
	// NoticeAfter is the silence after which Notify is told about a request.
	NoticeAfter time.Duration
	// Notify, when set, hears once about each request that has waited
	// NoticeAfter without an answer. It may be called from many goroutines.
	Notify func(Wait)
}

// Wait is a request pfz is waiting on.
type Wait struct {
	Host   string        // host:port
	Op     string        // what is asked, e.g. "POST BulkRuns/submit"
	Waited time.Duration // silence so far
}

// Default returns the policy with every default.
func Default() Policy { return Policy{}.WithDefaults() }

// WithDefaults fills the zero fields with the defaults.
func (p Policy) WithDefaults() Policy {
	if p.ConnectTimeout <= 0 {
		p.ConnectTimeout = DefaultConnectTimeout
	}
	if p.AnswerTimeout <= 0 {
		p.AnswerTimeout = DefaultAnswerTimeout
	}
	if p.MaxRetries == 0 {
		p.MaxRetries = DefaultMaxRetries
	} else if p.MaxRetries < 0 {
		p.MaxRetries = 0
	}
	if p.RetryDelay <= 0 {
		p.RetryDelay = DefaultRetryDelay
	}
	if p.MaxRetryDelay <= 0 {
		p.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if p.NoticeAfter <= 0 {
		p.NoticeAfter = DefaultNoticeAfter
	}
	return p
}

// AzcoreRetry is the policy as azcore's retry options, for the SDK clients
// (azblob, azidentity). TryTimeout stays 0 (none): the transport's silence
// limit bounds each try without cutting off a long transfer that moves.
func (p Policy) AzcoreRetry() policy.RetryOptions {
	p = p.WithDefaults()
	retries := p.MaxRetries
	if retries == 0 {
		retries = -1 // azcore reads 0 as "its default"
	}
	return policy.RetryOptions{MaxRetries: int32(retries), RetryDelay: p.RetryDelay, MaxRetryDelay: p.MaxRetryDelay}
}

// Backoff is the wait before try attempt+2 (attempt counts from 0) without
// a Retry-After: RetryDelay doubled per attempt, ±20% jitter so clients do
// not retry in step, capped at MaxRetryDelay.
func (p Policy) Backoff(attempt int) time.Duration {
	p = p.WithDefaults()
	d := time.Duration(float64(p.RetryDelay) * math.Pow(2, float64(attempt)))
	d = time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
	if d > p.MaxRetryDelay || d < 0 {
		d = p.MaxRetryDelay
	}
	return d
}

// Delay is the wait before the next try after a response with headers h.
// With a Retry-After (retry-after-ms, x-ms-retry-after-ms, Retry-After in
// seconds or as a date) above MaxRetryDelay it returns a *TooLongError: the
// call must not be retried.
func (p Policy) Delay(attempt int, h http.Header) (time.Duration, error) {
	p = p.WithDefaults()
	d, ok := RetryAfter(h)
	if !ok {
		return p.Backoff(attempt), nil
	}
	if d > p.MaxRetryDelay {
		return 0, &TooLongError{Asked: d, Max: p.MaxRetryDelay}
	}
	return d, nil
}

// TooLongError is a Retry-After longer than the policy waits.
type TooLongError struct {
	Asked, Max time.Duration
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("the service asked to retry after %s, longer than pfz waits (%s)", Round(e.Asked), Round(e.Max))
}

// RetryAfter reads the headers azure-core honours, in its order of
// preference: retry-after-ms, x-ms-retry-after-ms, Retry-After.
func RetryAfter(h http.Header) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	for _, k := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := h.Get(k); v != "" {
			if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
				return seconds(ms / 1000), true
			}
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return seconds(s), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0), true
		}
	}
	return 0, false
}

// seconds converts without overflowing: a huge Retry-After stays huge.
func seconds(s float64) time.Duration {
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// Sleep waits d or until ctx ends, whichever is first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Round shows a duration as a person reads it: 2s, 1m30s, 27h46m40s, 300ms.
func Round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Second).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.String()
}
