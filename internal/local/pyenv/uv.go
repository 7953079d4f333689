package pyenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// createUV makes the environment with `uv venv --seed` (pip in it, as venv
// puts it there: packages list and pip-based tools keep working). ok is
// false when uv failed; the folder is then removed and venv takes over.
func (r *Runner) createUV(ctx context.Context, base, version, dir string, log io.Writer) (*Info, bool) {
	fmt.Fprintf(log, "pfz: creating the environment with %s\n", r.UV)
	cmd := r.command(ctx, r.UV, "venv", "--no-config", "--seed", "--python", base, dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil || ctx.Err() != nil {
		fmt.Fprintf(log, "pfz: uv venv failed (%v); using python -m venv\n", err)
		_ = os.RemoveAll(dir)
		return nil, false
	}
	py := VenvPython(dir)
	if _, err := os.Stat(py); err != nil {
		_ = os.RemoveAll(dir)
		return nil, false
	}
	return &Info{Python: py, Version: version, Base: base}, true
}

// useUV reports whether uv installs req as pip would: uv reads no pip
// configuration and pip expands ${VAR} in requirements files from req.Env.
func (r *Runner) useUV(req InstallRequest) bool {
	if r.UV == "" || len(req.Env) > 0 {
		return false
	}
	return !pipConfigured(r.environ())
}

func (r *Runner) environ() []string {
	if r.Env != nil {
		return r.Env
	}
	return os.Environ()
}

// pipNeutral are the PIP_* settings that do not change what pip installs.
var pipNeutral = map[string]bool{
	"PIP_NO_INPUT": true, "PIP_DISABLE_PIP_VERSION_CHECK": true, "PIP_NO_CACHE_DIR": true,
	"PIP_PROGRESS_BAR": true, "PIP_NO_COLOR": true, "PIP_QUIET": true, "PIP_VERBOSE": true,
}

// pipConfigured reports whether pip would read a configuration uv does not:
// a PIP_* variable that changes what is installed (an index, find-links,
// constraints) or a pip configuration file.
func pipConfigured(environ []string) bool {
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	for k, v := range vars {
		if !strings.HasPrefix(k, "PIP_") || pipNeutral[k] {
			continue
		}
		if k == "PIP_CONFIG_FILE" && (v == os.DevNull || v == "") {
			continue
		}
		return true
	}
	if vars["PIP_CONFIG_FILE"] == os.DevNull {
		return false
	}
	var files []string
	if home := vars["HOME"]; home != "" {
		files = append(files, filepath.Join(home, ".pip", "pip.conf"), filepath.Join(home, ".config", "pip", "pip.conf"))
	}
	if x := vars["XDG_CONFIG_HOME"]; x != "" {
		files = append(files, filepath.Join(x, "pip", "pip.conf"))
	}
	if a := vars["APPDATA"]; a != "" {
		files = append(files, filepath.Join(a, "pip", "pip.ini"))
	}
	files = append(files, "/etc/pip.conf", "/etc/xdg/pip/pip.conf")
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// installUV is Install with `uv pip install`. --index-strategy
// unsafe-best-match takes the best version across all indexes, as pip does
// (uv's default stops at the first index that has the name).
func (r *Runner) installUV(ctx context.Context, python string, req InstallRequest, log io.Writer) error {
	args := []string{"pip", "install", "--no-config", "--python", python, "--index-strategy", "unsafe-best-match"}
	if r.NoCache {
		args = append(args, "--no-cache")
	}
	if r.IndexURL != "" {
		args = append(args, "--index-url", r.IndexURL)
	}
	args = append(args, "-r", req.File)
	fmt.Fprintf(log, "pfz: installing with %s\n", r.UV)
	return runInstall(ctx, r.command(ctx, r.UV, args...), req.Dir, "uv pip install", log)
}

// FindUV returns the uv to use: PFZ_UV (a path, or "off" for none), else
// uv on PATH, else "".
func FindUV(getenv func(string) string) string {
	switch v := getenv("PFZ_UV"); v {
	case "off", "0", "false":
		return ""
	case "":
		p, err := exec.LookPath("uv")
		if err != nil {
			return ""
		}
		return p
	default:
		return v
	}
}
