package pyenv

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"testing"
)

// A failed install names the installer that failed, so the user is not told
// pip failed when uv ran.
func TestRunInstallNamesTheInstaller(t *testing.T) {
	for _, what := range []string{"pip install", "uv pip install"} {
		ctx := context.Background()
		cmd := exec.CommandContext(ctx, "sh", "-c", "echo 'ERROR: No matching distribution found for nosuchpkg'; exit 3")
		err := runInstall(ctx, cmd, t.TempDir(), what, io.Discard)
		var pe *PipError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: err = %v, want a *PipError", what, err)
		}
		want := map[string]string{"pip install": "pip", "uv pip install": "uv"}[what]
		if pe.Tool != want || pe.ExitCode != 3 {
			t.Errorf("%s: Tool %q exit %d, want %q exit 3", what, pe.Tool, pe.ExitCode, want)
		}
	}
}
