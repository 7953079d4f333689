package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's command reference names every command.
func TestReadmeNamesEveryCommand(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.ReplaceAll(string(data), `\|`, "|")
	for _, p := range commandPaths(t) {
		if len(p) == 0 {
			continue
		}
		if len(p) == 1 && (p[0] == "help") {
			continue
		}
		cmd := "pfz " + strings.Join(p, " ")
		// Alternatives are written `pfz config set\|get`, so accept the
		// group followed by the name anywhere in a `|` list.
		group := "pfz " + strings.Join(p[:len(p)-1], " ")
		alt := regexp.MustCompile(regexp.QuoteMeta(group) + ` ([\w-]+\|)*` + regexp.QuoteMeta(p[len(p)-1]) + `\b`)
		if !strings.Contains(readme, cmd) && !alt.MatchString(readme) {
			t.Errorf("README.md does not mention %q", cmd)
		}
	}
}

// The README's first set-up command works from the repository root.
func TestReadmeMainJob(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "go run ./cmd/pfz run create --dry-run -f examples/hello-python/run.yml"
	if !strings.Contains(string(data), cmd) {
		t.Fatalf("README.md no longer says %q; update this test with it", cmd)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.cd(root)
	args := strings.Fields(strings.TrimPrefix(cmd, "go run ./cmd/pfz "))
	e.run(args...).expect(t, 0, []string{"snapshot\t", "session\t"}, nil)
	e.run(append(args, "-o", "json")...).expect(t, 0, []string{`"session_id"`, `"blob_path"`}, nil)
}
