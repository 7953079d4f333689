package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/pyenv"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// The environment cache: one built Python environment per distinct
// environment (base interpreter, image, requirement lines), under
// PFZ_HOME/envs/<key>/env. Sessions stay one per flow (their ids are
// pfazure's), but a serverless session's environment is a copy of the cached
// one: the second flow with the same environment starts in the time a copy
// takes instead of venv+pip's. Each session owns its copy, so `packages
// install` in one session never changes another's. A cached environment
// unused for envCacheKeep is deleted by maintenance.

// envsKind is the store folder of the environment cache.
const envsKind store.Kind = "envs"

// envCacheKeep is how long an unused cached environment is kept.
const envCacheKeep = 7 * 24 * time.Hour

// cachedEnv is envs/<key>/env.json, written once the environment is complete.
type cachedEnv struct {
	Schema       int      `json:"schema"`
	Env          envInfo  `json:"env"`
	Image        string   `json:"image,omitempty"`
	Requirements []string `json:"requirements,omitempty"`
	// Builder names the tools that built it (pyenv.Runner.Builder).
	Builder   string    `json:"builder,omitempty"`
	CreatedOn time.Time `json:"created_on"`
	LastUsed  time.Time `json:"last_used"`
}

func (s *Sessions) envCacheDir(key string) string { return s.st.Dir(envsKind, key) }

func (s *Sessions) envCacheRecord(key string) string {
	return filepath.Join(s.envCacheDir(key), "env.json")
}

// envKey names the environment a serverless session needs, from everything
// that decides its contents: the base interpreter (its resolved path, size
// and time, so an upgraded Python makes a new key), the image, the tools that
// build it (uv and its version, or venv and pip), the requirement lines, the
// contents of the files their -r/-c lines name (followed as pip follows
// them), the folder relative paths resolve against (only when a line may
// name one), the index, the PIP_* and UV_* variables that change what is
// installed and the pip configuration files. Values go into the hash only:
// an index URL with a token in it is never written down.
func (s *Sessions) envKey(ctx context.Context, rec *record, base string) string {
	h := sha256.New()
	fmt.Fprintf(h, "pfz-env/2\n")
	if real, err := filepath.EvalSymlinks(base); err == nil {
		base = real
	}
	fmt.Fprintf(h, "python %s\n", base)
	if st, err := os.Stat(base); err == nil {
		fmt.Fprintf(h, "python-file %d %d\n", st.Size(), st.ModTime().UnixNano())
	}
	fmt.Fprintf(h, "image %s\nindex %s\n", rec.Spec.Image, s.opts.PipIndexURL)
	lines := meaningful(rec.Spec.Requirements)
	fmt.Fprintf(h, "builder %s\n", s.env.Builder(ctx, needsPrivate(lines)))
	for _, l := range lines {
		fmt.Fprintf(h, "req %s\n", strings.TrimSpace(l))
	}
	dir := requirementsDir(rec)
	if namesPaths(lines) {
		fmt.Fprintf(h, "dir %s\n", dir)
	}
	hashNested(h, lines, dir)
	environ := s.opts.Env
	if environ == nil {
		environ = os.Environ()
	}
	for _, kv := range pyenv.ResolutionEnv(environ) {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(h, "env %s %x\n", k, sha256.Sum256([]byte(v)))
	}
	for _, f := range pyenv.PipConfigFiles(environ) {
		fmt.Fprintf(h, "pip-config %s %s\n", f, fileDigest(f))
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// namesPaths reports whether a requirement line may name a local file or
// folder (-r/-c files, -e, ./pkg, a wheel path, file: URLs), which makes the
// environment depend on the requirements file's folder too.
func namesPaths(lines []string) bool {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "-") || strings.HasPrefix(t, ".") || strings.HasPrefix(t, "/") ||
			strings.Contains(t, "file:") || strings.Contains(t, ".whl") || strings.Contains(t, string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// serverlessEnv gives a serverless session its environment in dir: a copy of
// the cached environment for its key, built first when there is none (or
// again when fresh: a reset asks for a clean environment).
func (s *Sessions) serverlessEnv(ctx context.Context, rec *record, fresh bool, lg *logSink, rep workspace.Reporter) (envInfo, error) {
	dir := filepath.Join(s.st.SessionDir(rec.Spec.ID), "env")
	// The session's own copy always starts from nothing: a new session, a
	// reset, or a retry after a failure whose environment is suspect.
	if err := s.st.Discard(dir); err != nil {
		return envInfo{}, err
	}
	base, err := s.env.Interpreter()
	if err != nil {
		return envInfo{}, err
	}
	key := s.envKey(ctx, rec, base)
	lk, err := s.st.Lock(ctx, envsKind, key)
	if err != nil {
		return envInfo{}, err
	}
	defer lk.Unlock()
	c, ok := s.loadCachedEnv(key)
	if ok && !fresh {
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("Copying the Python environment another session built with the same Python and requirements (%s)", key[:12])})
		fmt.Fprintf(lg, "pfz: copying the cached environment %s\n", c.Env.Dir)
	} else {
		if c, err = s.buildCachedEnv(ctx, rec, key, lg, rep); err != nil {
			return envInfo{}, err
		}
	}
	env, err := cloneEnv(c.Env, dir)
	if err != nil {
		_ = s.st.Discard(dir)
		return envInfo{}, err
	}
	c.LastUsed = s.now()
	if err := store.WriteJSON(s.envCacheRecord(key), c, 0o600); err != nil {
		return envInfo{}, err
	}
	return env, nil
}

// loadCachedEnv returns the complete cached environment of key, if any.
func (s *Sessions) loadCachedEnv(key string) (*cachedEnv, bool) {
	var c cachedEnv
	if err := store.ReadJSON(s.envCacheRecord(key), &c); err != nil {
		return nil, false
	}
	if !fileExists(c.Env.Python) {
		return nil, false
	}
	// An environment built without Jinja2 (offline, and the base interpreter
	// had none to copy) is not handed on: the next session tries again.
	if pyenv.JinjaSource(c.Env.Jinja) == pyenv.JinjaNotLoaded {
		return nil, false
	}
	return &c, true
}

// buildCachedEnv creates the environment of key and installs the session's
// requirements in it; env.json is written only when both succeeded, so a
// failed or killed build is never copied.
func (s *Sessions) buildCachedEnv(ctx context.Context, rec *record, key string, lg *logSink, rep workspace.Reporter) (*cachedEnv, error) {
	cdir := s.envCacheDir(key)
	if err := s.st.Discard(cdir); err != nil {
		return nil, err
	}
	if err := store.EnsureDir(cdir); err != nil {
		return nil, err
	}
	env, err := s.createEnv(ctx, filepath.Join(cdir, "env"), lg, rep)
	if err == nil {
		tmp := *rec
		tmp.Env = env
		err = s.install(ctx, &tmp, rec.Spec.Requirements, lg, rep)
	}
	if err != nil {
		_ = s.st.Discard(cdir)
		return nil, err
	}
	now := s.now()
	lines := meaningful(rec.Spec.Requirements)
	c := &cachedEnv{Schema: recordSchema, Env: env, Image: rec.Spec.Image, Requirements: lines,
		Builder: s.env.Builder(ctx, needsPrivate(lines)), CreatedOn: now, LastUsed: now}
	if err := store.WriteJSON(s.envCacheRecord(key), c, 0o600); err != nil {
		_ = s.st.Discard(cdir)
		return nil, err
	}
	return c, nil
}

// cloneEnv copies the environment src into dst and points its scripts
// (console scripts' #! lines, activate*, pyvenv.cfg) at dst. Symbolic links
// are copied as links (a venv's python links to the base interpreter).
func cloneEnv(src envInfo, dst string) (envInfo, error) {
	if err := copyTree(src.Dir, dst); err != nil {
		return envInfo{}, fault.Wrap(fault.Failed, err, "cannot copy the Python environment %s to %s", src.Dir, dst).
			WithHint("check the free space under PFZ_HOME; `pfz session reset` tries again")
	}
	if err := fixScripts(dst, src.Dir); err != nil {
		return envInfo{}, err
	}
	cfg := filepath.Join(dst, "pyvenv.cfg")
	if data, err := os.ReadFile(cfg); err == nil && strings.Contains(string(data), src.Dir) {
		if err := store.WriteFile(cfg, []byte(strings.ReplaceAll(string(data), src.Dir, dst)), 0o644); err != nil {
			return envInfo{}, err
		}
	}
	out := src
	out.Dir = dst
	out.Python = pyenv.VenvPython(dst)
	if rel, err := filepath.Rel(src.Dir, src.Python); err == nil && !strings.HasPrefix(rel, "..") {
		out.Python = filepath.Join(dst, rel)
	}
	return out, nil
}

// copyTree copies the folder src to dst (which must not exist): folders,
// regular files with their permission bits, and symbolic links as links
// (a link into src is made to point into dst).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if filepath.IsAbs(link) {
				if r, ok := rebase(link, src, dst); ok {
					link = r
				}
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, devices: nothing a venv holds
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if perm&0o200 == 0 {
		return os.Chmod(dst, perm)
	}
	return nil
}

// pruneEnvCache deletes cached environments unused for envCacheKeep (and
// folders a killed build left without env.json, once nobody holds their
// lock). It never waits for a lock.
func (s *Sessions) pruneEnvCache(now time.Time) []string {
	keys, err := s.st.List(envsKind)
	if err != nil {
		return nil
	}
	var removed []string
	for _, key := range keys {
		var c cachedEnv
		err := store.ReadJSON(s.envCacheRecord(key), &c)
		if err == nil && now.Sub(c.LastUsed) < envCacheKeep {
			continue
		}
		lk, ok, lerr := s.st.TryLock(envsKind, key)
		if lerr != nil || !ok {
			continue
		}
		if s.st.Discard(s.envCacheDir(key)) == nil {
			removed = append(removed, s.envCacheDir(key))
		}
		_ = lk.Unlock()
	}
	return removed
}
