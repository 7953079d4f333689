package local

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// maxNesting bounds how deep -r/-c files are followed (pip itself would
// recurse until its stack ends on a cycle).
const maxNesting = 32

// hashNested writes to h the path and content digest of every file the -r
// and -c lines of lines name, following the files' own -r/-c lines as pip
// does: a relative path in the top lines resolves against dir, one in a
// nested file against that file's folder. A URL is written as it is (pip
// fetches it at install time); a missing file is written as missing, so it
// appearing later changes the key.
func hashNested(h io.Writer, lines []string, dir string) {
	seen := map[string]bool{}
	var walk func(lines []string, dir string, depth int)
	walk = func(lines []string, dir string, depth int) {
		for _, ref := range nestedRefs(lines) {
			if strings.Contains(ref.path, "://") && !strings.HasPrefix(ref.path, "file:") {
				fmt.Fprintf(h, "%s-url %s\n", ref.opt, ref.path)
				continue
			}
			p := strings.TrimPrefix(strings.TrimPrefix(ref.path, "file://"), "file:")
			if !filepath.IsAbs(p) && dir != "" {
				p = filepath.Join(dir, p)
			}
			p = filepath.Clean(p)
			data, err := os.ReadFile(p)
			if err != nil {
				fmt.Fprintf(h, "%s-file %s missing\n", ref.opt, p)
				continue
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(h, "%s-file %s %x\n", ref.opt, p, sum)
			if seen[p] || depth >= maxNesting {
				continue
			}
			seen[p] = true
			walk(strings.Split(string(data), "\n"), filepath.Dir(p), depth+1)
		}
	}
	walk(lines, dir, 0)
}

type nestedRef struct {
	opt  string // "r" or "c"
	path string
}

var commentRe = regexp.MustCompile(`(^|\s+)#.*$`)

// nestedRefs returns the -r/--requirement and -c/--constraint values of
// requirements lines, after pip's own preprocessing: lines ending in a
// backslash continue on the next, and comments are dropped.
func nestedRefs(lines []string) []nestedRef {
	var joined []string
	cur := ""
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\")
			continue
		}
		joined = append(joined, cur+l)
		cur = ""
	}
	if cur != "" {
		joined = append(joined, cur)
	}
	var refs []nestedRef
	for _, l := range joined {
		t := strings.TrimSpace(commentRe.ReplaceAllString(l, ""))
		for _, o := range []struct{ flag, opt string }{
			{"--requirement", "r"}, {"--constraint", "c"}, {"-r", "r"}, {"-c", "c"},
		} {
			rest, ok := strings.CutPrefix(t, o.flag)
			if !ok {
				continue
			}
			long := strings.HasPrefix(o.flag, "--")
			switch {
			case rest == "":
				continue
			case rest[0] == '=' || rest[0] == ' ' || rest[0] == '\t':
				rest = strings.TrimLeft(rest, "= \t")
			case long:
				continue // --requirements-foo is another option
			}
			if rest = strings.TrimSpace(rest); rest != "" {
				refs = append(refs, nestedRef{opt: o.opt, path: rest})
			}
			break
		}
	}
	return refs
}

// fileDigest is the sha256 of a file's contents, or "unreadable".
func fileDigest(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unreadable"
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
