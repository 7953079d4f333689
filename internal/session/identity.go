// Package session owns what identifies a compute session and what it runs on:
// the flow lineage id, the environment hash and the session id exactly as
// pfazure derives them (protocol.md §3.6; the hash is over pyjson's
// Python-compatible JSON), the run and experiment names pfazure generates, and the catalog of
// VM sizes. It is pure apart from reading the flow folder's ancestors (to
// find a git work tree) and the network interfaces (MACNode). It imports
// only fault, pyjson, requirements and suggest from pfz.
package session

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/requirements"
)

// RequirementsKey is the environment key whose file promptflow replaces by the
// file's lines before hashing.
const RequirementsKey = "python_requirements_txt"

// UnknownUser is the alias pfazure uses when the token cannot be read.
const UnknownUser = "unknown_user"

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// ID is the session id: the first 48 hex digits of
// sha256("{userAlias}_{lineageID}_{envHash}").
func ID(userAlias, lineageID, envHash string) string {
	return sha256Hex(userAlias + "_" + lineageID + "_" + envHash)[:48]
}

// EnvironmentHash is sha256(json.dumps(env, sort_keys=True)) as hex, where env
// is the resolved environment (see ResolveEnvironment): usually a map with
// "image" and the requirement lines. A value Python's json cannot encode is an
// error (pfazure fails the submit in that case too).
func EnvironmentHash(env any) (string, error) {
	b, err := pyjson.Dumps(env)
	if err != nil {
		return "", fmt.Errorf("cannot hash the flow environment: %w", err)
	}
	return sha256Hex(string(b)), nil
}

// ResolveEnvironment turns the flow's environment into what pfazure hashes
// (Flow._resolve_environment): dict(environment), with python_requirements_txt
// replaced by the file's lines (requirements.SplitLines). env is the value of
// the "environment" key of flow.dag.yaml as decoded YAML; pass
// map[string]any{} when the key is absent and nil when it is present but
// empty, since Python hashes those differently ("{}" versus "null").
// readFile reads a path relative to the snapshot folder (the flow folder with
// additional_includes merged), as Python's os.path.join(flow_dir, path) does.
//
// Like pfazure, a failure does not stop the work: the error is a warning
// ("Failed to resolve environment due to …") and the returned value is what
// Python would hash at that point (e.g. the path string left in place).
func ResolveEnvironment(env any, readFile func(name string) ([]byte, error)) (any, error) {
	m, err := pyDict(env)
	if err != nil {
		return env, warnf(err)
	}
	var key any = RequirementsKey
	val, ok := m[key]
	if !ok {
		return plainKeys(m), nil
	}
	name, isStr := val.(string)
	if !isStr {
		return plainKeys(m), warnf(fmt.Errorf("expected str, bytes or os.PathLike object, not %s", pyTypeName(val)))
	}
	data, err := readFile(name)
	if err != nil {
		return plainKeys(m), warnf(err)
	}
	lines, err := requirements.SplitLines(data)
	if err != nil {
		return plainKeys(m), warnf(err)
	}
	list := make([]any, len(lines))
	for i, l := range lines {
		list[i] = l
	}
	m[key] = list
	return plainKeys(m), nil
}

// DirReader returns a readFile for ResolveEnvironment that reads names the
// way Python's open(os.path.join(dir, name)) does: relative to dir, or as
// given when absolute.
func DirReader(dir string) func(name string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return os.ReadFile(name)
	}
}

func warnf(err error) error {
	return fmt.Errorf("Failed to resolve environment due to %v.", err) //nolint:errorlint,staticcheck // pfazure's message; the cause is text in it, its kind is not this error's
}

// pyDict is Python's dict(x) for what YAML can produce: a mapping is copied;
// a list of 2-element lists (or 2-character strings) becomes a mapping; an
// empty string is an empty mapping; anything else fails as in Python.
func pyDict(x any) (map[any]any, error) {
	out := map[any]any{}
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			out[k] = e
		}
	case map[any]any:
		for k, e := range v {
			out[k] = e
		}
	case map[string]string:
		for k, e := range v {
			out[k] = e
		}
	case []any:
		for i, el := range v {
			var k, e any
			switch p := el.(type) {
			case []any:
				if len(p) != 2 {
					return nil, fmt.Errorf("dictionary update sequence element #%d has length %d; 2 is required", i, len(p))
				}
				k, e = p[0], p[1]
			case string:
				r := []rune(p)
				if len(r) != 2 {
					return nil, fmt.Errorf("dictionary update sequence element #%d has length %d; 2 is required", i, len(r))
				}
				k, e = string(r[0]), string(r[1])
			default:
				return nil, fmt.Errorf("cannot convert dictionary update sequence element #%d to a sequence", i)
			}
			switch k.(type) {
			case []any, map[string]any, map[any]any:
				return nil, fmt.Errorf("unhashable type: '%s'", pyTypeName(k))
			}
			out[k] = e
		}
	case string:
		if v != "" {
			return nil, errors.New("dictionary update sequence element #0 has length 1; 2 is required")
		}
	default:
		return nil, fmt.Errorf("'%s' object is not iterable", pyTypeName(x))
	}
	return out, nil
}

// plainKeys returns a map[string]any when every key is a string, the common
// case, so callers can inspect the result easily.
func plainKeys(m map[any]any) any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		s, ok := k.(string)
		if !ok {
			return m
		}
		out[s] = v
	}
	return out
}

func pyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case float32, float64:
		return "float"
	case []any, []string:
		return "list"
	case map[string]any, map[any]any, map[string]string:
		return "dict"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return "int"
	case *big.Int:
		if x != nil {
			return "int"
		}
	}
	return fmt.Sprintf("%T", v)
}

// LineageID is the flow lineage id (promptflow get_flow_lineage_id): the
// sha256 hex of "{repo folder name}/{flow folder relative to the repo, posix}"
// when the flow folder is inside a git work tree, otherwise of
// "{nodeID()}/{absolute flow folder, posix}". flowDir may be the flow folder
// or a file in it. nodeID stands for Python's uuid.getnode(); nil means
// MACNode.
//
// The work tree is found without running git, the way GitPython's
// Repo(search_parent_directories=True) finds it: the nearest ancestor with a
// .git folder or a .git file ("gitdir: …", worktrees and submodules). One
// difference: pfazure falls back to the node id when GitPython cannot be
// imported (no git executable); pfz does not need git for this.
func LineageID(flowDir string, nodeID func() uint64) (string, error) {
	dir, err := resolveFlowDir(flowDir)
	if err != nil {
		return "", err
	}
	if root, ok := gitWorkTree(dir); ok {
		rel, err := filepath.Rel(root, dir)
		if err == nil {
			return sha256Hex(filepath.Base(root) + "/" + filepath.ToSlash(rel)), nil
		}
	}
	if nodeID == nil {
		nodeID = MACNode
	}
	return sha256Hex(fmt.Sprintf("%d/%s", nodeID(), filepath.ToSlash(dir))), nil
}

// resolveFlowDir is Path(p).resolve(), then the parent when it is not a
// folder. Like Python's non-strict resolve, a missing tail is kept as is.
func resolveFlowDir(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("cannot resolve flow folder %s: %w", p, err)
	}
	abs = evalSymlinksLenient(abs)
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		abs = filepath.Dir(abs)
	}
	return abs, nil
}

func evalSymlinksLenient(p string) string {
	var tail []string
	cur := p
	for {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(append([]string{r}, tail...)...)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		tail = append([]string{filepath.Base(cur)}, tail...)
		cur = parent
	}
}

// gitWorkTree walks up from dir to the work tree root GitPython would find.
func gitWorkTree(dir string) (string, bool) {
	for cur := dir; ; {
		if isGitDir(cur) {
			// dir is inside a git directory (a bare repository or .git itself).
			root := filepath.Dir(cur)
			bare, worktree := readCoreConfig(filepath.Join(cur, "config"))
			if worktree != "" {
				if !filepath.IsAbs(worktree) {
					worktree = filepath.Join(cur, worktree)
				}
				root = filepath.Clean(worktree)
			}
			if bare {
				return "", false
			}
			return root, true
		}
		dotgit := filepath.Join(cur, ".git")
		if st, err := os.Stat(dotgit); err == nil {
			if st.IsDir() && isGitDir(dotgit) {
				return cur, true
			}
			if st.Mode().IsRegular() && gitFileTarget(dotgit) {
				return cur, true
			}
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return "", false
		}
		cur = parent
	}
}

// isGitDir is GitPython's is_git_dir: objects/ and refs/ folders and a HEAD.
func isGitDir(d string) bool {
	for _, sub := range []string{"objects", "refs"} {
		if st, err := os.Stat(filepath.Join(d, sub)); err != nil || !st.IsDir() {
			return false
		}
	}
	head := filepath.Join(d, "HEAD")
	st, err := os.Lstat(head)
	if err != nil {
		return false
	}
	if st.Mode()&os.ModeSymlink != 0 {
		t, err := os.Readlink(head)
		return err == nil && strings.HasPrefix(t, "refs")
	}
	return st.Mode().IsRegular()
}

// gitFileTarget reports whether a .git file names a git directory (a
// submodule) or has the "gitdir: path" form of a linked worktree.
func gitFileTarget(dotgit string) bool {
	data, err := os.ReadFile(dotgit)
	if err != nil {
		return false
	}
	content := strings.TrimRight(string(data), " \t\r\n")
	if strings.HasPrefix(content, "gitdir: ") {
		p := content[len("gitdir: "):]
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(dotgit), p)
		}
		if isGitDir(p) {
			return true
		}
	}
	// find_worktree_git_dir: every line is "key: value" and one key is gitdir.
	found := false
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, _, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			return false
		}
		found = found || k == "gitdir"
	}
	return found
}

// readCoreConfig reads core.bare and core.worktree from a git config file.
func readCoreConfig(path string) (bare bool, worktree string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, ""
	}
	inCore := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			inCore = strings.EqualFold(strings.Trim(line, "[] \t"), "core")
			continue
		}
		if !inCore {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "bare":
			bare = strings.EqualFold(v, "true") || v == "1" || strings.EqualFold(v, "yes") || strings.EqualFold(v, "on")
		case "worktree":
			worktree = strings.Trim(v, `"`)
		}
	}
	return bare, worktree
}
