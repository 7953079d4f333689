package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// NoAnswerError is a request that met AnswerTimeout (or ConnectTimeout) of
// silence, or whose context deadline passed while it had been silent for
// NoticeAfter or more.
type NoAnswerError struct {
	Host  string
	Op    string
	After time.Duration // the silence
	Phase string        // "connect", "TLS handshake" or "" (waiting for the answer)
	Err   error         // the context's error when its deadline ended the wait
}

func (e *NoAnswerError) Error() string {
	what := e.Op
	if e.Phase != "" {
		what = e.Phase
	}
	return fmt.Sprintf("no answer from %s after %s (%s)", e.Host, Round(e.After), what)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// NonRetriable tells azcore's retry policy not to try again.
func (e *NoAnswerError) NonRetriable() {}

// Transport returns base (http.DefaultTransport's settings when nil) with
// the policy's connect and handshake timeouts, wrapped so that silence ends a
// request after AnswerTimeout. base is cloned, never changed.
func (p Policy) Transport(base *http.Transport) http.RoundTripper {
	p = p.WithDefaults()
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	d := &net.Dialer{Timeout: p.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr.DialContext = d.DialContext
	tr.TLSHandshakeTimeout = p.ConnectTimeout
	return &watchdog{next: tr, p: p}
}

// Client is an *http.Client over Transport(base).
func (p Policy) Client(base *http.Transport) *http.Client {
	return &http.Client{Transport: p.Transport(base)}
}

// Wrap puts the silence limit (not the connect timeouts) around any
// transport, for callers that bring their own (tests, custom dialers).
func (p Policy) Wrap(next http.RoundTripper) http.RoundTripper {
	return &watchdog{next: next, p: p.WithDefaults()}
}

type opKey struct{}

// WithOp names what requests made with ctx do ("submitting run x"), for
// the notice and the error; without it they are named by method and path.
func WithOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

func opOf(req *http.Request) string {
	if op, ok := req.Context().Value(opKey{}).(string); ok && op != "" {
		return op
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return req.Method + " " + strings.Join(parts, "/")
}

type watchdog struct {
	next http.RoundTripper
	p    Policy
}

func (w *watchdog) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	g := &guard{p: w.p, host: req.URL.Host, op: opOf(req), cancel: cancel, parent: req.Context()}
	g.start()
	r := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &body{rc: req.Body, g: g, request: true}
		if req.GetBody != nil {
			r.GetBody = func() (io.ReadCloser, error) {
				rc, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				return &body{rc: rc, g: g, request: true}, nil
			}
		}
	}
	resp, err := w.next.RoundTrip(r)
	if err != nil {
		err = g.explain(err)
		g.release()
		return nil, err
	}
	g.touch()
	resp.Body = &body{rc: resp.Body, g: g}
	return resp, nil
}

// guard watches one request's silence.
type guard struct {
	p      Policy
	host   string
	op     string
	cancel context.CancelCauseFunc
	parent context.Context

	mu       sync.Mutex
	last     time.Time   // last sign of life
	timer    *time.Timer // fires at last+AnswerTimeout
	notice   *time.Timer // fires at last+NoticeAfter
	noticed  bool
	fired    *NoAnswerError
	finished bool
}

func (g *guard) start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = time.Now()
	g.timer = time.AfterFunc(g.p.AnswerTimeout, g.expire)
	if g.p.Notify != nil {
		g.notice = time.AfterFunc(g.p.NoticeAfter, g.tell)
	}
}

// touch records progress: the silence starts again.
func (g *guard) touch() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finished || g.fired != nil {
		return
	}
	g.last = time.Now()
	g.timer.Reset(g.p.AnswerTimeout)
	if g.notice != nil && !g.noticed {
		g.notice.Reset(g.p.NoticeAfter)
	}
}

// stop ends the watch: the answer is complete.
func (g *guard) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finished {
		return
	}
	g.finished = true
	g.timer.Stop()
	if g.notice != nil {
		g.notice.Stop()
	}
}

// release stops the watch and frees the request's context. It waits for
// Close: cancelling at the body's EOF could race the transport putting the
// connection back in its pool, and lose the connection.
func (g *guard) release() {
	g.stop()
	g.cancel(nil)
}

func (g *guard) expire() {
	g.mu.Lock()
	if g.finished || g.fired != nil {
		g.mu.Unlock()
		return
	}
	g.fired = &NoAnswerError{Host: g.host, Op: g.op, After: time.Since(g.last)}
	err := g.fired
	g.mu.Unlock()
	g.cancel(err)
}

func (g *guard) tell() {
	g.mu.Lock()
	if g.finished || g.fired != nil || g.noticed {
		g.mu.Unlock()
		return
	}
	g.noticed = true
	w := Wait{Host: g.host, Op: g.op, Waited: time.Since(g.last)}
	g.mu.Unlock()
	g.p.Notify(w)
}

// explain turns the error of a request into a *NoAnswerError when silence
// (or a deadline met in silence) ended it; other errors pass unchanged.
func (g *guard) explain(err error) error {
	if err == nil {
		return nil
	}
	g.mu.Lock()
	fired, silent := g.fired, time.Since(g.last)
	g.mu.Unlock()
	if fired != nil {
		return fired
	}
	if errors.Is(g.parent.Err(), context.DeadlineExceeded) && silent >= g.p.NoticeAfter {
		return &NoAnswerError{Host: g.host, Op: g.op, After: silent, Err: g.parent.Err()}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && g.parent.Err() == nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			return &NoAnswerError{Host: g.host, Op: g.op, After: g.p.ConnectTimeout, Phase: "connect"}
		}
		if strings.Contains(err.Error(), "TLS handshake timeout") {
			return &NoAnswerError{Host: g.host, Op: g.op, After: g.p.ConnectTimeout, Phase: "TLS handshake"}
		}
	}
	return err
}

// body reports progress of a request or response body to its guard; a
// response body ends the guard at EOF or Close.
type body struct {
	rc      io.ReadCloser
	g       *guard
	request bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.g.touch()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, b.g.explain(err)
	}
	if errors.Is(err, io.EOF) {
		if b.request {
			b.g.touch() // the request is sent: the wait for the answer begins
		} else {
			b.g.stop()
		}
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	if !b.request {
		b.g.release()
	}
	return err
}
