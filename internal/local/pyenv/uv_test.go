package pyenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	for name, tc := range map[string]struct {
		env  []string
		want bool
	}{
		"nothing":                     {[]string{"HOME=" + home}, false},
		"neutral pip settings":        {[]string{"HOME=" + home, "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1"}, false},
		"an index":                    {[]string{"HOME=" + home, "PIP_INDEX_URL=http://127.0.0.1/simple"}, true},
		"find-links":                  {[]string{"HOME=" + home, "PIP_FIND_LINKS=/wheels"}, true},
		"a config file in HOME":       {[]string{"HOME=" + withConf}, true},
		"config file /dev/null":       {[]string{"HOME=" + withConf, "PIP_CONFIG_FILE=" + os.DevNull}, false},
		"another config file (named)": {[]string{"HOME=" + home, "PIP_CONFIG_FILE=/etc/mine.conf"}, true},
	} {
		if _, err := os.Stat("/etc/pip.conf"); err == nil && !tc.want {
			continue // this machine has a global pip.conf
		}
		if got := pipConfigured(tc.env); got != tc.want {
			t.Errorf("%s: pipConfigured = %v, want %v", name, got, tc.want)
		}
	}
}

func TestFindUV(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "PFZ_UV" {
				return v
			}
			return ""
		}
	}
	if got := FindUV(env("off")); got != "" {
		t.Errorf("PFZ_UV=off: %q", got)
	}
	if got := FindUV(env("/opt/uv/bin/uv")); got != "/opt/uv/bin/uv" {
		t.Errorf("PFZ_UV=path: %q", got)
	}
}

// With uv the environment has pip (so packages list works) and the
// requirements install from the same index pip would use; a private feed
// (secrets in the request's environment) goes through pip.
func TestUVCreatesAndInstalls(t *testing.T) {
	uv := uvtool.Path(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("SKIPPED LOUDLY: python3 is missing")
	}
	idx := pyindex.Start(t, pyindex.Options{},
		pyindex.Dist{Name: "pfz-a", Version: "1.0", Requires: []string{"pfz-dep>=0.3"}},
		pyindex.Dist{Name: "pfz-dep", Version: "0.3"})
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
	if r.useUV(InstallRequest{Env: []string{"PFZ_PIP_PRIVATE_TOKEN=x"}}) {
		t.Error("a private feed must go through pip (it expands ${VAR} from the environment)")
	}
}
