package pyenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pfz-cli/pfz/internal/testutil/need"
)

// TestEnsureJinjaOffline: with no index to reach and no wheels cached, a new
// environment gets the base interpreter's Jinja2, which pip then lists; a
// second call finds it present.
func TestEnsureJinjaOffline(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import jinja2, markupsafe, venv").Run() != nil {
		need.Missing(t, "python3 with jinja2 and venv is needed for this test")
	}
	r := &Runner{Python: py, IndexURL: "http://127.0.0.1:9/simple", NoCache: true,
		Env: append(os.Environ(), "PIP_CONFIG_FILE="+os.DevNull)}
	ctx := context.Background()
	var log bytes.Buffer
	info, err := r.Create(ctx, filepath.Join(t.TempDir(), "env"), &log)
	if err != nil {
		t.Fatal(err)
	}
	wheels := filepath.Join(t.TempDir(), "wheels")
	src, err := r.EnsureJinja(ctx, info.Python, wheels, &log)
	if err != nil || src != JinjaBaseCopy {
		t.Fatalf("EnsureJinja = %q, %v\n%s", src, err, log.String())
	}
	dists, err := r.List(ctx, info.Python)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, d := range dists {
		found[d.Name] = true
	}
	if !found["Jinja2"] || !found["MarkupSafe"] {
		t.Errorf("pip list after the copy: %+v", dists)
	}
	if src, err := r.EnsureJinja(ctx, info.Python, wheels, &log); err != nil || src != JinjaPresent {
		t.Errorf("second EnsureJinja = %q, %v", src, err)
	}
}

// TestEnsureJinjaNowhere: no index, no wheels, a base interpreter without
// Jinja2: the error names each way that was tried.
func TestEnsureJinjaNowhere(t *testing.T) {
	py := need.Command(t, "python3", "the test creates environments")
	ctx := context.Background()
	var log bytes.Buffer
	env := append(os.Environ(), "PIP_CONFIG_FILE="+os.DevNull)
	base := &Runner{Python: py, Env: env}
	info, err := base.Create(ctx, filepath.Join(t.TempDir(), "base"), &log)
	if err != nil {
		t.Fatal(err)
	}
	// The bare environment is the "base interpreter": it has no Jinja2.
	r := &Runner{Python: info.Python, IndexURL: "http://127.0.0.1:9/simple", NoCache: true, Env: env}
	target, err := r.Create(ctx, filepath.Join(t.TempDir(), "env"), &log)
	if err != nil {
		t.Fatal(err)
	}
	src, err := r.EnsureJinja(ctx, target.Python, filepath.Join(t.TempDir(), "wheels"), &log)
	if err == nil || src != JinjaNotLoaded {
		t.Fatalf("EnsureJinja = %q, %v", src, err)
	}
	for _, want := range []string{"from the package index", "from the base interpreter", "no usable Jinja2"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
