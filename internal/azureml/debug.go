package azureml

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// debugLog writes requests and responses for --debug with every secret
// removed: tokens, account keys, SAS signatures.
type debugLog struct {
	mu sync.Mutex
	w  io.Writer
}

var secretHeaders = map[string]bool{
	"authorization": true, "aml-user-token": true, "x-ms-copy-source-authorization": true,
	"cookie": true, "set-cookie": true, "x-ms-encryption-key": true,
}

var (
	reSig     = regexp.MustCompile(`(?i)([?&](?:sig|se|skoid|sktid|skt|ske|sks|skv)=)[^&"'\s]+`)
	reJSONKey = regexp.MustCompile(`(?i)("(?:key|keys|sasToken|token|accessToken|access_token|password|secret|clientSecret|connectionString|primaryKey|secondaryKey|api_key|apiKey)"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	reBearer  = regexp.MustCompile(`(?i)bearer\s+[A-Za-z0-9\-_.=]+`)
	reJWT     = regexp.MustCompile(`eyJ[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*`)
	reAccKey  = regexp.MustCompile(`(?i)(AccountKey=)[^;"\s]+`)
)

// redactText removes secrets from a body or message.
func redactText(s string) string {
	s = reSig.ReplaceAllString(s, "${1}REDACTED")
	s = reJSONKey.ReplaceAllString(s, `${1}"REDACTED"`)
	s = reBearer.ReplaceAllString(s, "Bearer REDACTED")
	s = reJWT.ReplaceAllString(s, "REDACTED-JWT")
	s = reAccKey.ReplaceAllString(s, "${1}REDACTED")
	return s
}

func redactURL(u string) string { return reSig.ReplaceAllString(u, "${1}REDACTED") }

func (d *debugLog) enabled() bool { return d != nil && d.w != nil }

func (d *debugLog) printf(format string, args ...any) {
	if !d.enabled() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, format, args...)
}

func headerLines(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if secretHeaders[strings.ToLower(k)] || strings.HasPrefix(strings.ToLower(k), "x-ms-meta-") && strings.Contains(strings.ToLower(k), "key") {
			v = "REDACTED"
		}
		fmt.Fprintf(&b, "  %s: %s\n", k, redactText(v))
	}
	return b.String()
}

func (d *debugLog) request(req *http.Request, body []byte) {
	if !d.enabled() {
		return
	}
	d.printf("> %s %s\n%s", req.Method, redactURL(req.URL.String()), headerLines(req.Header))
	if len(body) > 0 {
		d.printf("  body: %s\n", truncate(redactText(string(body)), 4000))
	}
}

func (d *debugLog) response(resp *http.Response, body []byte, took time.Duration) {
	if !d.enabled() {
		return
	}
	d.printf("< %d %s (%s)\n%s", resp.StatusCode, redactURL(resp.Request.URL.String()), took.Round(time.Millisecond), headerLines(resp.Header))
	if len(body) > 0 {
		d.printf("  body: %s\n", truncate(redactText(string(body)), 4000))
	}
}

func (d *debugLog) failure(req *http.Request, err error) {
	d.printf("! %s %s: %s\n", req.Method, redactURL(req.URL.String()), redactText(err.Error()))
}
