package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without a folder to resolve them in, relative -r/-c paths are keyed as
// unresolved: never read from pfz's own working folder, where a file of
// the same name has nothing to do with the flow.
func TestHashNestedWithoutFolder(t *testing.T) {
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "base.txt"), []byte("six\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	var b strings.Builder
	hashNested(&b, []string{"-r base.txt"}, "")
	if got := b.String(); got != "r-file base.txt unresolved\n" {
		t.Errorf("hashNested = %q", got)
	}
	b.Reset()
	hashNested(&b, []string{"-rbase.txt"}, wd)
	if got := b.String(); !strings.HasPrefix(got, "r-file "+filepath.Join(wd, "base.txt")+" ") || strings.Contains(got, "missing") {
		t.Errorf("hashNested with a folder = %q", got)
	}
}
