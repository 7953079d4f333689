// Package pyindex is a PEP 503 "simple" package index for tests: it builds
// tiny pure-Python wheels in Go (a wheel is a zip with the module files and
// a .dist-info folder holding METADATA, WHEEL and RECORD) and serves them on
// 127.0.0.1, optionally only to requests that carry a token (HTTP Basic with
// the token as user name or password, or Bearer). pip can install from it
// without the internet. Test support only; never imported by pfz itself.
package pyindex

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Dist is one distribution (one wheel) the index serves.
type Dist struct {
	Name    string
	Version string
	// Requires are Requires-Dist values, e.g. "pfz-dep-a>=1.0".
	Requires []string
	// Files are the wheel's importable files by path; when empty the wheel
	// holds <module>/__init__.py with __version__ set, where module is the
	// normalized name with underscores.
	Files map[string]string
}

// Options configure a Server.
type Options struct {
	// Token, when set, is required on every request: Basic auth whose user
	// name or password equals it, or "Bearer <token>".
	Token string
	// Files are wheels served as they are (file name → bytes), e.g. a real
	// wheel downloaded once from PyPI; the project is the name before the
	// first "-".
	Files map[string][]byte
}

// Request is what the server saw of one request; it never keeps credentials.
type Request struct {
	Method     string
	Path       string
	HadAuth    bool
	Authorized bool
}

// Server is a running index.
type Server struct {
	srv   *httptest.Server
	opts  Options
	files map[string][]byte   // wheel file name → bytes
	projs map[string][]string // normalized project → wheel file names

	mu   sync.Mutex
	reqs []Request
}

// Start builds the wheels, starts the index on 127.0.0.1 and stops it when
// the test ends.
func Start(t testing.TB, opts Options, dists ...Dist) *Server {
	t.Helper()
	s, err := New(opts, dists...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New builds the wheels and starts the index on 127.0.0.1; Close stops it.
func New(opts Options, dists ...Dist) (*Server, error) {
	s := &Server{opts: opts, files: map[string][]byte{}, projs: map[string][]string{}}
	for _, d := range dists {
		name, data, err := BuildWheel(d)
		if err != nil {
			return nil, err
		}
		if _, dup := s.files[name]; dup {
			return nil, fmt.Errorf("pyindex: %s is listed twice", name)
		}
		s.files[name] = data
		p := Normalize(d.Name)
		s.projs[p] = append(s.projs[p], name)
	}
	for name, data := range opts.Files {
		if _, dup := s.files[name]; dup {
			return nil, fmt.Errorf("pyindex: %s is listed twice", name)
		}
		proj, _, _ := strings.Cut(name, "-")
		s.files[name] = data
		p := Normalize(proj)
		s.projs[p] = append(s.projs[p], name)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pyindex: listen on 127.0.0.1: %w", err)
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	s.srv.Start()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the index URL to give pip (--index-url), without credentials.
func (s *Server) URL() string { return s.srv.URL + "/simple/" }

// URLWithUserinfo is the index URL with "userinfo@" before the host, as a
// requirements file writes a private feed: URLWithUserinfo("{private}").
func (s *Server) URLWithUserinfo(userinfo string) string {
	return strings.Replace(s.URL(), "://", "://"+userinfo+"@", 1)
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

var normRe = regexp.MustCompile(`[-_.]+`)

// Normalize is the PEP 503 project name normalization.
func Normalize(name string) string { return strings.ToLower(normRe.ReplaceAllString(name, "-")) }

func (s *Server) authorized(r *http.Request) (had, ok bool) {
	h := r.Header.Get("Authorization")
	if s.opts.Token == "" {
		return h != "", true
	}
	if h == "" {
		return false, false
	}
	eq := func(a string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(s.opts.Token)) == 1 }
	if tok, found := strings.CutPrefix(h, "Bearer "); found {
		return true, eq(tok)
	}
	if u, p, found := r.BasicAuth(); found {
		return true, eq(u) || eq(p)
	}
	return true, false
}

// ServeHTTP serves /simple/, /simple/<project>/ and /files/<wheel>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	had, ok := s.authorized(r)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, HadAuth: had, Authorized: ok})
	s.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="pyindex"`)
		http.Error(w, "401 token required", http.StatusUnauthorized)
		return
	}
	path := r.URL.Path
	switch {
	case path == "/simple" || path == "/simple/":
		s.root(w)
	case strings.HasPrefix(path, "/simple/"):
		proj := strings.Trim(strings.TrimPrefix(path, "/simple/"), "/")
		if n := Normalize(proj); n != proj {
			http.Redirect(w, r, "/simple/"+n+"/", http.StatusMovedPermanently)
			return
		}
		s.project(w, proj)
	case strings.HasPrefix(path, "/files/"):
		data, found := s.files[strings.TrimPrefix(path, "/files/")]
		if !found {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) root(w http.ResponseWriter) {
	names := make([]string, 0, len(s.projs))
	for p := range s.projs {
		names = append(names, p)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><body>\n")
	for _, p := range names {
		fmt.Fprintf(&b, "<a href=\"/simple/%s/\">%s</a>\n", html.EscapeString(p), html.EscapeString(p))
	}
	b.WriteString("</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

func (s *Server) project(w http.ResponseWriter, proj string) {
	files, found := s.projs[proj]
	if !found {
		http.Error(w, "404 no such project", http.StatusNotFound)
		return
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><body>\n")
	for _, f := range files {
		sum := sha256.Sum256(s.files[f])
		fmt.Fprintf(&b, "<a href=\"/files/%s#sha256=%s\">%s</a>\n", html.EscapeString(f), hex.EncodeToString(sum[:]), html.EscapeString(f))
	}
	b.WriteString("</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// zipTime is fixed so a wheel's bytes, and so its hash, never change.
var zipTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// BuildWheel returns the file name and bytes of a py3-none-any wheel for d.
func BuildWheel(d Dist) (string, []byte, error) {
	if d.Name == "" || d.Version == "" {
		return "", nil, fmt.Errorf("pyindex: a dist needs a name and a version (got %q %q)", d.Name, d.Version)
	}
	under := strings.ReplaceAll(Normalize(d.Name), "-", "_")
	info := under + "-" + d.Version + ".dist-info"
	files := d.Files
	if len(files) == 0 {
		files = map[string]string{under + "/__init__.py": fmt.Sprintf("__version__ = %q\n", d.Version)}
	}
	var meta strings.Builder
	fmt.Fprintf(&meta, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", d.Name, d.Version)
	for _, r := range d.Requires {
		fmt.Fprintf(&meta, "Requires-Dist: %s\n", r)
	}
	entries := map[string]string{
		info + "/METADATA": meta.String(),
		info + "/WHEEL":    "Wheel-Version: 1.0\nGenerator: pfz-pyindex\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	for p, c := range files {
		entries[p] = c
	}
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	add := func(p, content string) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(content))
		return err
	}
	for _, p := range paths {
		if err := add(p, entries[p]); err != nil {
			return "", nil, err
		}
		sum := sha256.Sum256([]byte(entries[p]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(entries[p]))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	if err := add(info+"/RECORD", record.String()); err != nil {
		return "", nil, err
	}
	if err := zw.Close(); err != nil {
		return "", nil, err
	}
	return under + "-" + d.Version + "-py3-none-any.whl", buf.Bytes(), nil
}
