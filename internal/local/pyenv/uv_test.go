package pyenv

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/pyindex"
	"github.com/pfz-cli/pfz/internal/testutil/uvtool"
)

func TestPipConfigured(t *testing.T) {
	home := t.TempDir()
	withConf := t.TempDir()
	if err := os.MkdirAll(filepath.Join(withConf, ".config", "pip"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withConf, ".config", "pip", "pip.conf"), []byte("[global]\nindex-url = https://mirror/simple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The machine's own /etc/pip.conf is replaced by one the cases control.
	global := filepath.Join(t.TempDir(), "etc-pip.conf")
	defer func(old []string) { systemPipConfigs = old }(systemPipConfigs)
	systemPipConfigs = []string{global}
	for name, tc := range map[string]struct {
		env    []string
		global bool
		want   string
	}{
		"nothing":                     {env: []string{"HOME=" + home}},
		"neutral pip settings":        {env: []string{"HOME=" + home, "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_DEFAULT_TIMEOUT=60"}},
		"an index":                    {env: []string{"HOME=" + home, "PIP_INDEX_URL=http://127.0.0.1/simple"}, want: "PIP_INDEX_URL"},
		"find-links":                  {env: []string{"HOME=" + home, "PIP_FIND_LINKS=/wheels"}, want: "PIP_FIND_LINKS"},
		"a config file in HOME":       {env: []string{"HOME=" + withConf}, want: filepath.Join(withConf, ".config", "pip", "pip.conf")},
		"a machine-wide config file":  {env: []string{"HOME=" + home}, global: true, want: global},
		"config file /dev/null":       {env: []string{"HOME=" + withConf, "PIP_CONFIG_FILE=" + os.DevNull}, global: true},
		"another config file (named)": {env: []string{"HOME=" + home, "PIP_CONFIG_FILE=/etc/mine.conf"}, want: "PIP_CONFIG_FILE"},
	} {
		_ = os.Remove(global)
		if tc.global {
			if err := os.WriteFile(global, []byte("[global]\ncert = /x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got := pipConfiguredBy(tc.env); got != tc.want {
			t.Errorf("%s: pipConfiguredBy = %q, want %q", name, got, tc.want)
		}
	}
}

// The variables that may change what is installed are kept (values and
// all, for the caller to hash); output, cache and timeout settings are not.
func TestResolutionEnv(t *testing.T) {
	for name, tc := range map[string]struct {
		env, want []string
	}{
		"none":        {[]string{"HOME=/h", "PATH=/bin"}, nil},
		"neutral":     {[]string{"PIP_NO_INPUT=1", "UV_CACHE_DIR=/c", "PIP_DEFAULT_TIMEOUT=9", "UV_NO_PROGRESS=1"}, nil},
		"indexes":     {[]string{"UV_INDEX_URL=https://t@m/simple", "PIP_INDEX_URL=https://m/simple"}, []string{"PIP_INDEX_URL=https://m/simple", "UV_INDEX_URL=https://t@m/simple"}},
		"constraints": {[]string{"PIP_CONSTRAINT=/c.txt", "UV_CONSTRAINT=/c.txt", "PIPX_HOME=/p"}, []string{"PIP_CONSTRAINT=/c.txt", "UV_CONSTRAINT=/c.txt"}},
		"find-links":  {[]string{"PIP_FIND_LINKS=/w", "UV_FIND_LINKS=/w"}, []string{"PIP_FIND_LINKS=/w", "UV_FIND_LINKS=/w"}},
	} {
		if got := ResolutionEnv(tc.env); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

// With uv the environment has pip (so packages list works) and the
// requirements install from the same index pip would use; a private feed
// (secrets in the request's environment) goes through pip.
func TestUVCreatesAndInstalls(t *testing.T) {
	uv := uvtool.Path(t)
	need.Command(t, "python3", "the test runs pip and uv")
	idx := pyindex.Start(t, pyindex.Options{},
		pyindex.Dist{Name: "pfz-a", Version: "1.0", Requires: []string{"pfz-dep>=0.3"}},
		pyindex.Dist{Name: "pfz-dep", Version: "0.3"},
		// Stands in for Jinja2 (and MarkupSafe) in EnsureJinja.
		pyindex.Dist{Name: "Jinja2", Version: JinjaVersion, Files: map[string]string{
			"jinja2/__init__.py": "", "markupsafe/__init__.py": ""}})
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PIP_CONFIG_FILE=" + os.DevNull, "UV_CACHE_DIR=" + t.TempDir()}
	r := &Runner{UV: uv, IndexURL: idx.URL(), Env: env}
	ctx := context.Background()
	var log bytes.Buffer
	dir := filepath.Join(t.TempDir(), "env")
	info, err := r.Create(ctx, dir, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "creating the environment with "+uv) {
		t.Errorf("uv was not used:\n%s", log.String())
	}
	req := filepath.Join(t.TempDir(), "req.txt")
	if err := os.WriteFile(req, []byte("pfz-a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Install(ctx, info.Python, InstallRequest{File: req, Dir: filepath.Dir(req)}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "installing with "+uv) {
		t.Errorf("uv did not install:\n%s", log.String())
	}
	dists, err := r.List(ctx, info.Python)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, d := range dists {
		names[strings.ToLower(d.Name)] = d.Version
	}
	if names["pip"] == "" || names["pfz-a"] != "1.0" || names["pfz-dep"] != "0.3" {
		t.Errorf("installed %v", names)
	}
	// Jinja2: downloaded by pip into the wheel folder (kept for offline
	// sessions), installed from it by uv.
	src, err := r.EnsureJinja(ctx, info.Python, filepath.Join(t.TempDir(), "wheels"), &log)
	if err != nil || src != JinjaIndex {
		t.Fatalf("EnsureJinja: %s %v\n%s", src, err, log.String())
	}
	if !strings.Contains(log.String(), "installing "+jinjaReq+" with "+uv) || strings.Contains(log.String(), "trying pip") {
		t.Errorf("uv did not install Jinja2 from the wheels:\n%s", log.String())
	}
	if r.useUV(InstallRequest{Env: []string{"PFZ_PIP_PRIVATE_TOKEN=x"}}) {
		t.Error("a private feed must go through pip (it expands ${VAR} from the environment)")
	}
}

// uv gets pip's certificate bundle (PIP_CERT) as SSL_CERT_FILE unless one
// is set: behind a TLS-inspecting proxy it reaches the index pip reaches.
func TestUVCommandTrustsPipsCertificates(t *testing.T) {
	for name, tc := range map[string]struct {
		env  []string
		want string // the SSL_CERT_FILE uv sees, "" none
	}{
		"nothing":                 {[]string{"HOME=/h"}, ""},
		"pip's bundle":            {[]string{"PIP_CERT=/etc/ssl/proxy.pem"}, "/etc/ssl/proxy.pem"},
		"SSL_CERT_FILE wins":      {[]string{"PIP_CERT=/etc/ssl/proxy.pem", "SSL_CERT_FILE=/mine.pem"}, "/mine.pem"},
		"SSL_CERT_FILE, no pip's": {[]string{"SSL_CERT_FILE=/mine.pem"}, "/mine.pem"},
	} {
		r := &Runner{Env: tc.env}
		cmd := r.uvCommand(context.Background(), "/bin/uv", "venv")
		var got []string
		for _, kv := range cmd.Env {
			if v, ok := strings.CutPrefix(kv, "SSL_CERT_FILE="); ok {
				got = append(got, v)
			}
		}
		if strings.Join(got, "|") != tc.want {
			t.Errorf("%s: SSL_CERT_FILE %q, want %q", name, got, tc.want)
		}
	}
}
