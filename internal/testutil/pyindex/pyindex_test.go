package pyindex

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestBuildWheel(t *testing.T) {
	name, data, err := BuildWheel(Dist{Name: "Pfz.Demo-Pkg", Version: "1.2.0", Requires: []string{"pfz-dep>=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if name != "pfz_demo_pkg-1.2.0-py3-none-any.whl" {
		t.Errorf("name %s", name)
	}
	_, again, _ := BuildWheel(Dist{Name: "Pfz.Demo-Pkg", Version: "1.2.0", Requires: []string{"pfz-dep>=1"}})
	if !bytes.Equal(data, again) {
		t.Error("wheel bytes are not reproducible")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		contents[f.Name] = string(b)
	}
	info := "pfz_demo_pkg-1.2.0.dist-info/"
	if !strings.Contains(contents[info+"METADATA"], "Name: Pfz.Demo-Pkg\nVersion: 1.2.0\nRequires-Dist: pfz-dep>=1\n") {
		t.Errorf("METADATA:\n%s", contents[info+"METADATA"])
	}
	if !strings.Contains(contents[info+"WHEEL"], "Tag: py3-none-any") {
		t.Errorf("WHEEL:\n%s", contents[info+"WHEEL"])
	}
	// RECORD must list every other file with its urlsafe sha256 and size.
	lines := strings.Split(strings.TrimSpace(contents[info+"RECORD"]), "\n")
	if len(lines) != len(contents) {
		t.Fatalf("RECORD has %d lines for %d files", len(lines), len(contents))
	}
	for _, l := range lines {
		parts := strings.Split(l, ",")
		if parts[0] == info+"RECORD" {
			if parts[1] != "" || parts[2] != "" {
				t.Errorf("RECORD lists its own hash: %s", l)
			}
			continue
		}
		sum := sha256.Sum256([]byte(contents[parts[0]]))
		if parts[1] != "sha256="+base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Errorf("bad hash in %s", l)
		}
	}
	if contents["pfz_demo_pkg/__init__.py"] != "__version__ = \"1.2.0\"\n" {
		t.Errorf("module: %q", contents["pfz_demo_pkg/__init__.py"])
	}
	if _, _, err := BuildWheel(Dist{Name: "x"}); err == nil {
		t.Error("a dist without a version built")
	}
}

func get(t *testing.T, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeSimpleIndex(t *testing.T) {
	s := Start(t, Options{}, Dist{Name: "pfz-a", Version: "1.0"}, Dist{Name: "pfz-a", Version: "2.0"}, Dist{Name: "pfz_b", Version: "0.1"})
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s is not on 127.0.0.1", s.URL())
	}
	code, body := get(t, s.URL(), nil)
	if code != 200 || !strings.Contains(body, `href="/simple/pfz-a/"`) || !strings.Contains(body, `href="/simple/pfz-b/"`) {
		t.Fatalf("root %d:\n%s", code, body)
	}
	code, body = get(t, s.URL()+"pfz-a/", nil)
	_, wheel, _ := BuildWheel(Dist{Name: "pfz-a", Version: "2.0"})
	sum := sha256.Sum256(wheel)
	if code != 200 || !strings.Contains(body, "pfz_a-2.0-py3-none-any.whl#sha256="+hex.EncodeToString(sum[:])) {
		t.Fatalf("project page %d:\n%s", code, body)
	}
	code, body = get(t, strings.TrimSuffix(s.URL(), "/simple/")+"/files/pfz_a-2.0-py3-none-any.whl", nil)
	if code != 200 || body != string(wheel) {
		t.Fatalf("file %d", code)
	}
	// Non-normalized names redirect to the normalized page.
	if code, _ := get(t, s.URL()+"PFZ_B/", nil); code != 200 {
		t.Errorf("non-normalized name: %d", code)
	}
	if code, _ := get(t, s.URL()+"nope/", nil); code != 404 {
		t.Errorf("unknown project: %d", code)
	}
}

func TestTokenRequired(t *testing.T) {
	const tok = "s3cret-token"
	s := Start(t, Options{Token: tok}, Dist{Name: "pfz-private", Version: "1.0"})
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"none", "", 401},
		{"wrong basic", basic("x", "y"), 401},
		{"token as user", basic(tok, ""), 200},
		{"token as password", basic("user", tok), 200},
		{"bearer", "Bearer " + tok, 200},
		{"wrong bearer", "Bearer nope", 401},
	}
	for _, tt := range tests {
		hdr := map[string]string{}
		if tt.auth != "" {
			hdr["Authorization"] = tt.auth
		}
		if code, _ := get(t, s.URL()+"pfz-private/", hdr); code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(tests) || reqs[0].HadAuth || reqs[0].Authorized || !reqs[2].Authorized {
		t.Errorf("requests %+v", reqs)
	}
	if got := s.URLWithUserinfo("{private}"); !strings.HasPrefix(got, "http://{private}@127.0.0.1:") {
		t.Errorf("URLWithUserinfo = %s", got)
	}
}
