package local_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The check TestScripts makes once every script ran: an example folder
// without a completed run is missing; files are not examples.
func TestMissingExamples(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"ran", "never-ran", "dry-run-only"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "README.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := missingExamples(root, map[string]string{"ran": "run_1"})
	if err != nil || !slices.Equal(got, []string{"dry-run-only", "never-ran"}) {
		t.Errorf("missingExamples = %v, %v", got, err)
	}
}

// What noteExampleRun counts as a run of an example's run.yml.
func TestExampleOf(t *testing.T) {
	ex := filepath.Join(string(filepath.Separator), "repo", "examples")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "create", "-f", ex + "/hello-python/run.yml", "-n", "r1", "--stream"}, "hello-python"},
		{[]string{"run", "create", "--name", "r1", "--file", ex + "/eval-accuracy/run.yml", "--run", "x"}, "eval-accuracy"},
		{[]string{"run", "create", "-f", ex + "/hello-python/run.yml", "-n", "r1", "--dry-run"}, ""},
		{[]string{"run", "create", "-f", ex + "/hello-python/run.yml"}, ""}, // no name to check
		{[]string{"run", "create", "--flow", ex + "/hello-python", "-n", "r1"}, ""},
		{[]string{"run", "create", "-f", ex + "/../other/run.yml", "-n", "r1"}, ""},
		{[]string{"run", "create", "-f", ex + "/a/b/run.yml", "-n", "r1"}, ""},
		{[]string{"run", "create", "-f", ex + "/run.yml", "-n", "r1"}, ""},
		{[]string{"flow", "test", ex + "/hello-python"}, ""},
	} {
		example, name := exampleOf(tc.args, ex)
		if example != tc.want || (example != "" && name != "r1") {
			t.Errorf("exampleOf(%q) = %q, %q, want %q", tc.args, example, name, tc.want)
		}
	}
}
