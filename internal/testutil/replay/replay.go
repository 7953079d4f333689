// Package replay serves vcrpy recordings (conformance/recordings/*.yaml) from
// a 127.0.0.1 httptest server so a test can check that pfz sends the same
// requests as the recorded pfazure session: method, host, path and query
// after the recording sanitizer's substitutions (protocol.md, "Reading the
// recordings"). Every request the client sends is kept for assertions. Test
// support only.
package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// Interaction is one recorded request and its response.
type Interaction struct {
	Index      int
	Method     string
	URI        string
	Key        string // normalised method host path?query
	ReqBody    string
	ReqHeader  map[string][]string
	Status     int
	RespHeader http.Header
	RespBody   []byte
	Used       int
}

// Cassette is a loaded recording.
type Cassette struct {
	Name         string
	Interactions []*Interaction
}

type rawCassette struct {
	Interactions []struct {
		Request struct {
			Body    any                 `yaml:"body"`
			Headers map[string][]string `yaml:"headers"`
			Method  string              `yaml:"method"`
			URI     string              `yaml:"uri"`
		} `yaml:"request"`
		Response struct {
			Body       map[string]any      `yaml:"body"`
			Content    string              `yaml:"content"`
			Headers    map[string][]string `yaml:"headers"`
			Status     map[string]any      `yaml:"status"`
			StatusCode int                 `yaml:"status_code"`
		} `yaml:"response"`
	} `yaml:"interactions"`
}

// Load reads a vcrpy YAML recording (both the requests and the httpx
// flavours of response).
func Load(path string) (*Cassette, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw rawCassette
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &Cassette{Name: path}
	for i, it := range raw.Interactions {
		in := &Interaction{Index: i, Method: strings.ToUpper(it.Request.Method), URI: it.Request.URI, ReqHeader: it.Request.Headers}
		switch b := it.Request.Body.(type) {
		case string:
			in.ReqBody = b
		case map[string]any:
			if s, ok := b["string"].(string); ok {
				in.ReqBody = s
			}
		}
		in.Status = it.Response.StatusCode
		if code, ok := it.Response.Status["code"].(int); ok {
			in.Status = code
		}
		if s, ok := it.Response.Body["string"].(string); ok {
			in.RespBody = []byte(s)
		} else {
			in.RespBody = []byte(it.Response.Content)
		}
		in.RespHeader = http.Header{}
		for k, vs := range it.Response.Headers {
			for _, v := range vs {
				in.RespHeader.Add(k, v)
			}
		}
		u, err := url.Parse(in.URI)
		if err != nil {
			return nil, fmt.Errorf("%s #%d: %w", path, i, err)
		}
		in.Key = Key(in.Method, u)
		c.Interactions = append(c.Interactions, in)
	}
	return c, nil
}

const (
	zeroWS   = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/00000/providers/Microsoft.MachineLearningServices/workspaces/00000"
	zeroHash = "000000000000000000000000000000000000"
)

var (
	reWS   = regexp.MustCompile(`(?i)/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+`)
	reHash = regexp.MustCompile(`(LocalUpload|az-ml-artifacts)/[0-9a-f]{32}(/|$|")`)
	// Query parameters the sanitizer drops or a SAS adds.
	ignoredQuery = map[string]bool{"api-version": true, "sv": true, "sr": true, "sig": true, "skoid": true, "sktid": true,
		"skt": true, "ske": true, "sks": true, "skv": true, "st": true, "se": true, "sp": true, "rscd": true, "spr": true,
		"srt": true, "ss": true, "sip": true, "si": true}
)

// Key normalises a request the way the recordings were sanitized.
func Key(method string, u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	p := u.Path
	if dp, err := url.PathUnescape(u.EscapedPath()); err == nil {
		p = dp
	}
	p = reWS.ReplaceAllString(p, zeroWS)
	p = reHash.ReplaceAllString(p, "${1}/"+zeroHash+"${2}")
	if strings.HasSuffix(host, ".blob.core.windows.net") {
		host = "fake_account_name.blob.core.windows.net"
		// The container segment: the sanitizer renamed it.
		rest := strings.TrimPrefix(p, "/")
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = "/fake-container-name" + rest[i:]
		} else if rest != "" {
			p = "/fake-container-name"
		}
	}
	q := u.Query()
	var keys []string
	for k := range q {
		if !ignoredQuery[strings.ToLower(k)] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, k+"="+v)
		}
	}
	key := method + " " + host + p
	if len(parts) > 0 {
		key += "?" + strings.Join(parts, "&")
	}
	return key
}

// SanitizeJSON applies the recording sanitizer's body rewrites to a request
// body: runtimeName, sessionId, flowLineageId, computeName, runExperimentName
// and upload hashes.
func SanitizeJSON(body []byte) []byte {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return body
	}
	repl := map[string]any{"runtimeName": "fake-runtime-name", "sessionId": strings.Repeat("0", 48),
		"flowLineageId": strings.Repeat("0", 64), "computeName": "fake-compute", "runExperimentName": ""}
	for k, v := range repl {
		if _, ok := m[k]; ok {
			m[k] = v
		}
	}
	out, _ := json.Marshal(m)
	return reHash.ReplaceAll(out, []byte("${1}/"+zeroHash+"${2}"))
}

// Request is one request the client sent.
type Request struct {
	Method  string
	URL     string // as the client built it (original host)
	Key     string
	Header  http.Header
	Body    []byte
	Matched *Interaction // nil when nothing matched
	Handled string       // the name of the Tolerate rule that answered, if any
}

// Rule answers requests the recording lacks; name says why in test output.
type Rule struct {
	Name    string
	Match   func(r *Request) bool
	Respond func(w http.ResponseWriter, r *Request)
}

// Server replays one cassette.
type Server struct {
	t     testing.TB
	cas   *Cassette
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []*Request
	rules []Rule
}

// New starts a server for the cassette; it stops with the test.
func New(t testing.TB, cas *Cassette) *Server {
	s := &Server{t: t, cas: cas}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// Tolerate adds a rule for a request the recording does not have.
func (s *Server) Tolerate(r Rule) { s.mu.Lock(); s.rules = append(s.rules, r); s.mu.Unlock() }

// Client returns an HTTP client that sends every request, whatever its host,
// to this server on 127.0.0.1 — no traffic leaves the machine.
func (s *Server) Client() *http.Client {
	target, _ := url.Parse(s.srv.URL)
	return &http.Client{Transport: redirect{target: target, base: s.srv.Client().Transport}}
}

type redirect struct {
	target *url.URL
	base   http.RoundTripper
}

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set("X-Replay-Url", req.URL.String())
	out.URL.Scheme = r.target.Scheme
	out.URL.Host = r.target.Host
	out.Host = r.target.Host
	resp, err := r.base.RoundTrip(out)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request) {
	orig := hr.Header.Get("X-Replay-Url")
	u, err := url.Parse(orig)
	if err != nil || orig == "" {
		http.Error(w, "replay: request without X-Replay-Url", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(hr.Body)
	hr.Header.Del("X-Replay-Url")
	req := &Request{Method: hr.Method, URL: orig, Key: Key(hr.Method, u), Header: hr.Header.Clone(), Body: body}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	in := s.pick(req)
	if in != nil {
		in.Used++
		req.Matched = in
	}
	var rule *Rule
	if in == nil {
		for i := range s.rules {
			if s.rules[i].Match(req) {
				rule = &s.rules[i]
				req.Handled = rule.Name
				break
			}
		}
	}
	s.mu.Unlock()
	switch {
	case in != nil:
		for k, vs := range in.RespHeader {
			switch strings.ToLower(k) {
			case "content-length", "transfer-encoding", "content-encoding", "connection":
				continue
			}
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(in.Status)
		if hr.Method != http.MethodHead {
			_, _ = w.Write(in.RespBody) // an error: the client went away
		}
	case rule != nil:
		rule.Respond(w, req)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-ms-error-code", "ReplayNoMatch")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"code":"ReplayNoMatch","message":"no recorded interaction for %s"}}`, strings.ReplaceAll(req.Key, `"`, `'`))
	}
}

// pick chooses the recorded interaction for a request: same key, the best
// body match, unused ones first, else the last one used (polls repeat).
func (s *Server) pick(req *Request) *Interaction {
	var cands []*Interaction
	for _, in := range s.cas.Interactions {
		if in.Key == req.Key {
			cands = append(cands, in)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	score := func(in *Interaction) int {
		sc := 0
		if in.Used == 0 {
			sc += 1
		}
		if len(req.Body) > 0 && in.ReqBody != "" {
			if runIDOf([]byte(in.ReqBody)) != "" && runIDOf([]byte(in.ReqBody)) == runIDOf(req.Body) {
				sc += 4
			}
			if jsonEqual(SanitizeJSON(req.Body), SanitizeJSON([]byte(in.ReqBody))) {
				sc += 8
			}
		}
		return sc
	}
	best := cands[0]
	for _, in := range cands[1:] {
		if score(in) > score(best) {
			best = in
		}
	}
	return best
}

func runIDOf(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	s, _ := m["runId"].(string)
	return s
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// Requests returns what the client sent, in order.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.reqs...)
}

// Unmatched returns requests that neither a recording nor a rule answered.
func (s *Server) Unmatched() []*Request {
	var out []*Request
	for _, r := range s.Requests() {
		if r.Matched == nil && r.Handled == "" {
			out = append(out, r)
		}
	}
	return out
}

// Unused returns recorded interactions no request matched.
func (s *Server) Unused() []*Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Interaction
	for _, in := range s.cas.Interactions {
		if in.Used == 0 {
			out = append(out, in)
		}
	}
	return out
}
