package app

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/testutil/need"
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

// quickstartCommand is the pfz command `make quickstart` runs after the build.
const quickstartCommand = "run create -f examples/hello-python/run.yml --stream"

// The README's first command is `make quickstart`, which builds bin/pfz and
// runs quickstartCommand; the README advertises no `go install ...@latest`
// (the module is not published).
func TestReadmeFirstCommand(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```sh\nmake quickstart\n```") {
		t.Error("README.md no longer gives `make quickstart` as the first command; update this test")
	}
	if !strings.Contains(string(readme), "bin/pfz "+quickstartCommand) {
		t.Errorf("README.md does not say what make quickstart runs (bin/pfz %s)", quickstartCommand)
	}
	if strings.Contains(string(readme), "@latest") {
		t.Error("README.md advertises go install ...@latest, but the module is not published")
	}
	recipe := regexp.MustCompile(`(?m)^quickstart: build\n((?:\t.*\n)+)`).FindSubmatch(makefile)
	if recipe == nil {
		t.Fatal("Makefile has no `quickstart: build` target")
	}
	if !strings.Contains(string(recipe[1]), "$(BIN) "+quickstartCommand) {
		t.Errorf("make quickstart does not run $(BIN) %s:\n%s", quickstartCommand, recipe[1])
	}
}

// `make snapshot` without goreleaser says how to install it and exits 2.
func TestMakeSnapshotWithoutGoreleaser(t *testing.T) {
	mk := need.Command(t, "make", "the Makefile's snapshot target is tested")
	cmd := exec.Command(mk, "-s", "snapshot")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir()) // no goreleaser (and nothing else) on PATH
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 {
		t.Fatalf("make snapshot: exit %d (%v), want 2\n%s", code, err, out)
	}
	if !strings.Contains(string(out), "go install github.com/goreleaser/goreleaser/v2@latest") {
		t.Errorf("make snapshot does not say how to install goreleaser:\n%s", out)
	}
}

// The README's first run works from the repository root: on the real local
// target, in a real Python session.
func TestReadmeMainJob(t *testing.T) {
	need.Command(t, "python3", "the README's main job runs on the local target")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.cd(root)
	e.setup = func(f *cmdutil.Factory) { registerLocal(f, nil) } // the real local target
	args := strings.Fields(quickstartCommand)
	r := e.run(args...)
	r.expect(t, 0, []string{"Completed", "hello-python", "5/5"}, nil)
	var names []string
	list := e.run("run", "list", "-o", "json", "--query", "[].name")
	if err := json.Unmarshal([]byte(list.stdout), &names); err != nil || len(names) != 1 {
		t.Fatalf("run list: %v %q", err, list.stdout)
	}
	var details []map[string]any
	d := e.run("run", "show-details", "-n", names[0], "-o", "json")
	if err := json.Unmarshal([]byte(d.stdout), &details); err != nil {
		t.Fatalf("show-details: %v\n%s%s", err, d.stdout, d.stderr)
	}
	var got []string
	for _, row := range details {
		got = append(got, fmt.Sprint(row["outputs.message"]))
	}
	want := []string{"Hello, Ada!", "Good morning, Grace!", "Hi, Linus!", "Welcome, Margaret!", "Hello, stranger!"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("outputs.message = %q, want %q", got, want)
	}
	// The dry run of the same file prints the submission without running it.
	dry := append(args[:len(args)-1:len(args)-1], "--dry-run", "-o", "json")
	e.run(dry...).expect(t, 0, []string{`"session_id"`, `"blob_path"`}, nil)
}
