package pyenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// createUV makes the environment with `uv venv --seed` (pip in it, as venv
// puts it there: packages list and pip-based tools keep working). ok is
// false when uv failed; the folder is then removed and venv takes over.
func (r *Runner) createUV(ctx context.Context, uv, base, version, dir string, log io.Writer) (*Info, bool) {
	fmt.Fprintf(log, "pfz: creating the environment with %s\n", uv)
	cmd := r.uvCommand(ctx, uv, "venv", "--no-config", "--seed", "--python", base, dir)
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

// uvCommand is a uv process. uv trusts its own certificate roots, not
// pip's: where pip is told which certificates to trust (PIP_CERT, e.g. a
// TLS-inspecting proxy's bundle) and uv is not (SSL_CERT_FILE), uv gets
// the same bundle, so that it reaches the index pip reaches.
func (r *Runner) uvCommand(ctx context.Context, uv string, args ...string) *exec.Cmd {
	cmd := r.command(ctx, uv, args...)
	var cert string
	for _, kv := range cmd.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "SSL_CERT_FILE":
			return cmd
		case "PIP_CERT":
			cert = v
		}
	}
	if cert != "" {
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+cert)
	}
	return cmd
}

// uv returns the uv to use, "" for venv and pip: UV, else what ProvideUV
// gives (asked once; again only after an interrupted attempt). base is the
// base interpreter, "" to resolve it.
func (r *Runner) uv(ctx context.Context, base string) string {
	r.uvMu.Lock()
	defer r.uvMu.Unlock()
	if r.UV != "" || r.uvDone || r.ProvideUV == nil {
		return r.UV
	}
	if base == "" {
		b, err := r.Interpreter()
		if err != nil {
			return ""
		}
		base = b
	}
	r.UV = r.ProvideUV(ctx, base)
	r.uvDone = r.UV != "" || ctx.Err() == nil
	return r.UV
}

// knownUV is the uv chosen so far, without choosing one.
func (r *Runner) knownUV() string {
	r.uvMu.Lock()
	defer r.uvMu.Unlock()
	return r.UV
}

// installer returns the uv that installs req, or "" for pip: uv reads no
// pip configuration, and pip expands ${VAR} in requirements files from
// req.Env. Why pip is used although there is a uv goes to log.
func (r *Runner) installer(ctx context.Context, req InstallRequest, log io.Writer) string {
	if len(req.Env) > 0 {
		return ""
	}
	if by := pipConfiguredBy(r.environ()); by != "" {
		if log != nil && r.knownUV() != "" {
			fmt.Fprintf(log, "pfz: installing with pip, not uv: %s configures pip and uv would not read it\n", by)
		}
		return ""
	}
	return r.uv(ctx, "")
}

// useUV reports whether uv installs req (tests).
func (r *Runner) useUV(req InstallRequest) bool {
	return r.installer(context.Background(), req, nil) != ""
}

// Builder names the tools that build an environment whose requirements
// need a private feed (private) or not: "uv 0.9.30 venv, uv 0.9.30 pip" or
// "venv, pip". The environment cache keys on it, so an environment built by
// one installer is not handed on as another's.
func (r *Runner) Builder(ctx context.Context, private bool) string {
	uv := r.uv(ctx, "")
	create, install := "venv", "pip"
	if uv != "" {
		create = r.versionOf(ctx, uv) + " venv"
		if !private && !pipConfigured(r.environ()) {
			install = r.versionOf(ctx, uv) + " pip"
		}
	}
	return create + ", " + install
}

// versionOf is `uv --version` of uv (asked once), or uv's path when it does
// not answer.
func (r *Runner) versionOf(ctx context.Context, uv string) string {
	r.uvMu.Lock()
	defer r.uvMu.Unlock()
	if r.uvVersion == "" {
		out, err := r.command(ctx, uv, "--version").Output()
		r.uvVersion = strings.TrimSpace(string(out))
		if err != nil || r.uvVersion == "" {
			r.uvVersion = uv
		}
	}
	return r.uvVersion
}

func (r *Runner) environ() []string {
	if r.Env != nil {
		return r.Env
	}
	return os.Environ()
}

// neutral are the PIP_* and UV_* settings that do not change what is
// installed (output, caches, timeouts).
var neutral = map[string]bool{
	"PIP_NO_INPUT": true, "PIP_DISABLE_PIP_VERSION_CHECK": true, "PIP_NO_CACHE_DIR": true, "PIP_CACHE_DIR": true,
	"PIP_PROGRESS_BAR": true, "PIP_NO_COLOR": true, "PIP_QUIET": true, "PIP_VERBOSE": true,
	"PIP_DEFAULT_TIMEOUT": true, "PIP_TIMEOUT": true, "PIP_RETRIES": true, "PIP_ROOT_USER_ACTION": true,
	"UV_CACHE_DIR": true, "UV_NO_CACHE": true, "UV_NO_PROGRESS": true, "UV_HTTP_TIMEOUT": true,
	"UV_CONCURRENT_DOWNLOADS": true, "UV_CONCURRENT_BUILDS": true, "UV_CONCURRENT_INSTALLS": true,
	"UV_LINK_MODE": true, "UV_COLOR": true, "UV_NO_WRAP": true,
}

// ResolutionEnv returns the PIP_* and UV_* variables of environ that may
// change what pip or uv installs (indexes, find-links, constraints, ...),
// as NAME=value, sorted. Their values may hold credentials: callers hash
// them, never record them.
func ResolutionEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(k, "PIP_") || strings.HasPrefix(k, "UV_")) && !neutral[k] {
			out = append(out, kv)
		}
	}
	slices.Sort(out)
	return out
}

// pipConfigured reports whether pip would read a configuration uv does not.
func pipConfigured(environ []string) bool { return pipConfiguredBy(environ) != "" }

// pipConfiguredBy names what configures pip in a way uv would not follow: a
// PIP_* variable that changes what is installed (an index, find-links,
// constraints) or a pip configuration file; "" when nothing does.
func pipConfiguredBy(environ []string) string {
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var set []string
	for k, v := range vars {
		if !strings.HasPrefix(k, "PIP_") || neutral[k] {
			continue
		}
		if k == "PIP_CONFIG_FILE" && (v == os.DevNull || v == "") {
			continue
		}
		set = append(set, k)
	}
	if len(set) > 0 {
		slices.Sort(set)
		return strings.Join(set, ", ")
	}
	if files := PipConfigFiles(environ); len(files) > 0 {
		return files[0]
	}
	return ""
}

// systemPipConfigs are the machine-wide pip configuration files (tests
// point them elsewhere).
var systemPipConfigs = []string{"/etc/pip.conf", "/etc/xdg/pip/pip.conf"}

// PipConfigFiles returns the pip configuration files that exist and pip
// would read with environ (PIP_CONFIG_FILE=/dev/null: none).
func PipConfigFiles(environ []string) []string {
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	if vars["PIP_CONFIG_FILE"] == os.DevNull {
		return nil
	}
	var files []string
	if f := vars["PIP_CONFIG_FILE"]; f != "" {
		files = append(files, f)
	}
	if home := vars["HOME"]; home != "" {
		files = append(files, filepath.Join(home, ".pip", "pip.conf"), filepath.Join(home, ".config", "pip", "pip.conf"))
	}
	if x := vars["XDG_CONFIG_HOME"]; x != "" {
		files = append(files, filepath.Join(x, "pip", "pip.conf"))
	}
	if a := vars["APPDATA"]; a != "" {
		files = append(files, filepath.Join(a, "pip", "pip.ini"))
	}
	files = append(files, systemPipConfigs...)
	var found []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			found = append(found, f)
		}
	}
	return found
}

// installUV is Install with `uv pip install`. --index-strategy
// unsafe-best-match takes the best version across all indexes, as pip does
// (uv's default stops at the first index that has the name).
func (r *Runner) installUV(ctx context.Context, uv, python string, req InstallRequest, log io.Writer) error {
	args := []string{"pip", "install", "--no-config", "--python", python, "--index-strategy", "unsafe-best-match"}
	if r.NoCache {
		args = append(args, "--no-cache")
	}
	if r.IndexURL != "" {
		args = append(args, "--index-url", r.IndexURL)
	}
	args = append(args, "-r", req.File)
	fmt.Fprintf(log, "pfz: installing with %s\n", uv)
	return runInstall(ctx, r.uvCommand(ctx, uv, args...), req.Dir, "uv pip install", log)
}
