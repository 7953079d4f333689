package netpolicy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/testutil/silent"
)

// The servers below are real ones on 127.0.0.1 that misbehave: they accept
// the connection and then say nothing, stop in the middle of a body, or stop
// reading what is sent. Bounds are generous multiples of the configured
// timeouts, never performance claims.

func fast() Policy {
	return Policy{ConnectTimeout: 300 * time.Millisecond, AnswerTimeout: 300 * time.Millisecond, NoticeAfter: 100 * time.Millisecond}
}

// bound fails when d is beyond a generous multiple of the configured limit:
// a hang guard (without the limit the call would last until the test's own
// timeout), not a speed claim; the 30 s of room absorb a loaded machine
// running -race. What stopped the call is asserted by the error.
func bound(t *testing.T, d, limit time.Duration) {
	t.Helper()
	if d > 10*limit+30*time.Second {
		t.Fatalf("took %s; the configured limit is %s", d, limit)
	}
}

func hangUntilDone(t *testing.T) (chan struct{}, func()) {
	done := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(done) }) }
	t.Cleanup(stop)
	return done, stop
}

func TestSilenceEndsTheRequest(t *testing.T) {
	cases := []struct {
		name    string
		handler func(done chan struct{}) http.HandlerFunc
		body    io.Reader
		method  string
	}{
		{"no headers", func(done chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { <-done }
		}, nil, "GET"},
		{"truncated body that stalls", func(done chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000")
				_, _ = w.Write([]byte(`{"status": "Run`))
				w.(http.Flusher).Flush()
				<-done
			}
		}, nil, "GET"},
		{"server stops reading an upload", func(done chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.CopyN(io.Discard, r.Body, 1024)
				<-done
			}
		}, bytes.NewReader(make([]byte, 64<<20)), "PUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done, stop := hangUntilDone(t)
			srv := httptest.NewServer(tc.handler(done))
			defer srv.Close()
			defer stop()
			var waits []Wait
			var mu sync.Mutex
			p := fast()
			p.Notify = func(w Wait) { mu.Lock(); waits = append(waits, w); mu.Unlock() }
			hc := p.Client(nil)
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+"/flow/api/BulkRuns/submit", tc.body)
			began := time.Now()
			resp, err := hc.Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			bound(t, time.Since(began), p.AnswerTimeout)
			var na *NoAnswerError
			if !errors.As(err, &na) {
				t.Fatalf("want a NoAnswerError, got %v", err)
			}
			host := strings.TrimPrefix(srv.URL, "http://")
			if !strings.Contains(err.Error(), "no answer from "+host+" after ") || na.Op != tc.method+" BulkRuns/submit" {
				t.Fatalf("message %q op %q", err, na.Op)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(waits) != 1 || waits[0].Host != host || waits[0].Op != tc.method+" BulkRuns/submit" {
				t.Fatalf("notices %+v", waits)
			}
		})
	}
}

// A transfer that keeps moving is never cut off, however long it takes in
// total; nothing is announced while bytes flow.
func TestSteadyTransferIsNotSilence(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 8 {
			_, _ = w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			time.Sleep(250 * time.Millisecond)
		}
	}))
	defer srv.Close()
	// The whole transfer (2 s) outlasts the answer timeout; each gap
	// (250 ms) stays well inside the notice and the timeout, with room for
	// a loaded machine running -race.
	p := Policy{AnswerTimeout: 1200 * time.Millisecond, NoticeAfter: 900 * time.Millisecond}
	notified := false
	p.Notify = func(Wait) { notified = true }
	resp, err := p.Client(nil).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(data) != 80 {
		t.Fatalf("%d bytes, %v", len(data), err)
	}
	if notified {
		t.Fatal("a moving transfer was announced as a wait")
	}
}

// A TLS endpoint that accepts the connection and never speaks: the
// handshake gives up after ConnectTimeout, not Go's default of 10 s or the
// minutes the issue saw.
func TestTLSHandshakeTimeout(t *testing.T) {
	addr := silent.Listen(t)
	p := Policy{ConnectTimeout: 300 * time.Millisecond, AnswerTimeout: 10 * time.Second}
	began := time.Now()
	resp, err := p.Client(nil).Get("https://" + addr + "/")
	closeBody(resp)
	bound(t, time.Since(began), p.ConnectTimeout)
	var na *NoAnswerError
	if !errors.As(err, &na) || na.Phase != "TLS handshake" {
		t.Fatalf("want a TLS handshake NoAnswerError, got %v", err)
	}
}

// A deadline of the caller (a user's --timeout) that passes while the
// request is silent names the host too; one that passes while bytes flow
// stays a plain deadline.
func TestDeadlineInSilenceNamesTheHost(t *testing.T) {
	done, stop := hangUntilDone(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-done }))
	defer srv.Close()
	defer stop()
	p := Policy{AnswerTimeout: time.Minute, NoticeAfter: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/history/rundata", nil)
	resp, err := p.Client(nil).Do(req)
	closeBody(resp)
	var na *NoAnswerError
	if !errors.As(err, &na) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a NoAnswerError wrapping the deadline, got %v", err)
	}

	ctx2, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	req, _ = http.NewRequestWithContext(ctx2, "GET", srv.URL+"/history/rundata", nil)
	resp, err = p.Client(nil).Do(req)
	closeBody(resp)
	if errors.As(err, &na) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a deadline before NoticeAfter must stay a deadline, got %v", err)
	}
}

func TestDelay(t *testing.T) {
	p := Policy{MaxRetryDelay: 60 * time.Second}
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		name    string
		h       http.Header
		want    time.Duration
		tooLong bool
	}{
		{"seconds", h("Retry-After", "2"), 2 * time.Second, false},
		{"ms first", h("Retry-After", "30", "retry-after-ms", "1500"), 1500 * time.Millisecond, false},
		{"x-ms", h("x-ms-retry-after-ms", "250"), 250 * time.Millisecond, false},
		{"huge", h("Retry-After", "100000"), 0, true},
		{"absurd", h("Retry-After", "1e300"), 0, true},
		{"at the cap", h("Retry-After", "60"), 60 * time.Second, false},
		{"date far ahead", h("Retry-After", time.Now().Add(48*time.Hour).UTC().Format(http.TimeFormat)), 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := p.Delay(0, tc.h)
			var tl *TooLongError
			if tc.tooLong {
				if !errors.As(err, &tl) || !strings.Contains(err.Error(), "longer than pfz waits (1m0s)") {
					t.Fatalf("want TooLongError, got %v %v", d, err)
				}
				return
			}
			if err != nil || d != tc.want {
				t.Fatalf("got %v %v, want %v", d, err, tc.want)
			}
		})
	}
	for a := range 10 {
		if d, _ := p.Delay(a, nil); d <= 0 || d > p.MaxRetryDelay {
			t.Fatalf("backoff %d = %s", a, d)
		}
	}
}

// closeBody closes the body of a response the test expected not to get.
func closeBody(resp *http.Response) {
	if resp != nil {
		_ = resp.Body.Close()
	}
}
