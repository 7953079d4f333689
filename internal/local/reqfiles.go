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
			if !filepath.IsAbs(p) {
				if dir == "" { // no folder to resolve it in: never pfz's own working folder
					fmt.Fprintf(h, "%s-file %s unresolved\n", ref.opt, p)
					continue
				}
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

// logicalLines joins the lines a trailing backslash continues, as pip reads
// a requirements file before anything else.
func logicalLines(lines []string) []string {
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
	return joined
}

// nestedRefOf is the -r/--requirement or -c/--constraint value of one
// logical line (its comment dropped, as pip drops it), when it has one:
// `-r f`, `-r=f`, `-rf`, `--requirement f`, `--requirement=f`.
func nestedRefOf(line string) (nestedRef, bool) {
	t := strings.TrimSpace(commentRe.ReplaceAllString(line, ""))
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
			return nestedRef{opt: o.opt, path: rest}, true
		}
		return nestedRef{}, false
	}
	return nestedRef{}, false
}

// nestedRefs returns the -r and -c values of requirements lines, after
// pip's own preprocessing (continuations joined, comments dropped).
func nestedRefs(lines []string) []nestedRef {
	var refs []nestedRef
	for _, l := range logicalLines(lines) {
		if ref, ok := nestedRefOf(l); ok {
			refs = append(refs, ref)
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
