package snapshot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinkHops bounds symlink chains, as the kernel's ELOOP does.
const maxLinkHops = 255

var errLinkLoop = errors.New("too many levels of symbolic links")

// resolveLoose returns the physical path of abs, following symlinks one part
// at a time so that ".." after a link goes to the link target's parent, as
// Python's Path.resolve() does. Parts that do not exist are kept as written
// (cleaned), so a missing include can still be reported as resolved.
func resolveLoose(abs string) (string, error) {
	hops := 0
	return resolveParts(filepath.VolumeName(abs)+string(filepath.Separator), splitParts(abs), &hops)
}

func splitParts(p string) []string {
	p = p[len(filepath.VolumeName(p)):]
	var out []string
	for _, s := range strings.Split(filepath.ToSlash(p), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func resolveParts(cur string, parts []string, hops *int) (string, error) {
	for i, part := range parts {
		switch part {
		case ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		st, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return filepath.Join(append([]string{next}, parts[i+1:]...)...), nil
		}
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		*hops++
		if *hops > maxLinkHops {
			return "", errLinkLoop
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			cur, err = resolveParts(filepath.VolumeName(target)+string(filepath.Separator), splitParts(target), hops)
		} else {
			cur, err = resolveParts(cur, splitParts(target), hops)
		}
		if err != nil {
			return "", err
		}
	}
	return cur, nil
}

// within reports whether path is root or inside it. Both must be clean and
// absolute.
func within(path, root string) bool {
	if path == root {
		return true
	}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		root += string(filepath.Separator)
	}
	return strings.HasPrefix(path, root)
}
