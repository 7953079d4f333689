package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPackagesInstallKeepsTheSessionFindable: the session id covers the
// requirement lines, so `packages install` hands the backend the spec
// session start builds from the saved file, and every later command (each
// computing the id afresh from the flow) finds the session there.
func TestPackagesInstallKeepsTheSessionFindable(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	flowDir := e.copyFlow("hello")
	e.cd(flowDir)
	e.run("session", "start").expect(t, 0, nil, nil)
	before := e.ws.Started[0].ID

	r := e.run("packages", "install", "tiktoken==0.7.0", "-o", "json")
	r.expect(t, 0, []string{`"installed": true`, `"previous_session_id": "` + before + `"`}, nil)
	var res struct {
		Session struct{ ID string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	next := res.Session.ID
	if next == before || !hex48.MatchString(next) {
		t.Fatalf("session after install %q (before %s)", next, before)
	}
	if len(e.ws.Installed) != 1 {
		t.Fatalf("installs %+v", e.ws.Installed)
	}
	in := e.ws.Installed[0]
	if in.ID != next || strings.Join(in.Requirements, "|") != "tiktoken==0.7.0" || len(in.EnvHash) != 64 ||
		in.EnvHash == e.ws.Started[0].EnvHash || in.LineageID != e.ws.Started[0].LineageID ||
		in.RequirementsFile != filepath.Join(flowDir, "requirements.txt") {
		t.Errorf("next spec %+v", in)
	}
	if !slices.Contains(e.ws.Calls, "session.install "+before+" -> "+next) {
		t.Errorf("calls %q", e.ws.Calls)
	}

	// Each of these derives the id from the saved file, as pfazure would.
	e.run("session", "show", "-o", "json", "--query", "id").expect(t, 0, []string{`"` + next + `"`}, []string{})
	e.run("packages", "list").expect(t, 0, nil, nil)
	e.run("session", "list", "-o", "json", "--query", "[].id").expect(t, 0, []string{next}, nil)
	e.run("run", "create", "-f", "run.yml").expect(t, 0, nil, nil)
	if n := len(e.ws.Submitted); n != 1 || e.ws.Submitted[0].Session.ID != next {
		t.Errorf("run create submitted with session %+v", e.ws.Submitted)
	}

	// Installing the file as it is keeps the id.
	e.run("packages", "install").expect(t, 0, []string{next}, nil)
	if last := e.ws.Calls[len(e.ws.Calls)-1]; last != "session.install "+next {
		t.Errorf("last call %q", last)
	}
	// --save-only changes the file, not the session.
	calls := len(e.ws.Calls)
	e.run("packages", "install", "requests", "--save-only").expect(t, 0, nil, nil)
	if len(e.ws.Calls) != calls {
		t.Errorf("save-only called the workspace: %q", e.ws.Calls[calls:])
	}
}

// A session that already runs with the edited requirements (the file was
// edited by hand and the session started) gets the install, even though the
// flow's session before the edit does not exist.
func TestPackagesInstallIntoASessionOfTheEditedFile(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	flowDir := e.copyFlow("hello")
	e.cd(flowDir)
	req := filepath.Join(flowDir, "requirements.txt")
	write := func(s string) {
		if err := os.WriteFile(req, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tiktoken==0.7.0\nrequests\n")
	e.run("session", "start").expect(t, 0, nil, nil)
	edited := e.ws.Started[0].ID
	write("tiktoken==0.7.0\n")

	e.run("packages", "install", "requests").expect(t, 0, []string{edited}, nil)
	if last := e.ws.Calls[len(e.ws.Calls)-1]; last != "session.install "+edited {
		t.Errorf("calls %q", e.ws.Calls)
	}

	// No session at all: saved, said, exit 0, nothing installed.
	e.run("session", "stop").expect(t, 0, nil, nil)
	r := e.run("packages", "install", "numpy", "-o", "json")
	r.expect(t, 0, []string{`"installed": false`, `"changed": true`}, []string{"no running session", "pfz session start --flow"})
	if strings.Contains(r.stdout, `"session"`) {
		t.Errorf("a session in the result:\n%s", r.stdout)
	}
	if data, _ := os.ReadFile(req); string(data) != "tiktoken==0.7.0\nrequests\nnumpy\n" {
		t.Errorf("requirements.txt = %q", data)
	}
	if len(e.ws.Installed) != 1 {
		t.Errorf("installed %d times", len(e.ws.Installed))
	}
}

// The guide's shared requirements pattern: python_requirements_txt names
// requirements.txt, which additional_includes bring in from the parent
// folder. Every session and packages command finds it as run create does,
// and packages install writes to the included file and says so.
func TestRequirementsThroughAdditionalIncludes(t *testing.T) {
	e := newEnv(t)
	e.chdir()
	flowDir := e.copyFlow("hello")
	shared := filepath.Join(e.workDir, "requirements.txt")
	if err := os.WriteFile(shared, []byte("tiktoken==0.7.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dag := filepath.Join(flowDir, "flow.dag.yaml")
	text, err := os.ReadFile(dag)
	if err != nil {
		t.Fatal(err)
	}
	text = append(text, "environment:\n  python_requirements_txt: requirements.txt\nadditional_includes:\n- ../requirements.txt\n"...)
	if err := os.WriteFile(dag, text, 0o644); err != nil {
		t.Fatal(err)
	}

	e.run("session", "start", "--flow", flowDir).expect(t, 0, nil, nil)
	started := e.ws.Started[0]
	if strings.Join(started.Requirements, "|") != "tiktoken==0.7.0" || started.RequirementsFile != shared {
		t.Fatalf("session spec %+v", started)
	}
	// run create derives the same session id from the same snapshot.
	r := e.run("run", "create", "--flow", flowDir, "--data", filepath.Join(flowDir, "data.jsonl"),
		"--column-mapping", "name=${data.name}", "--dry-run", "-o", "json", "--query", "session.session_id")
	r.expect(t, 0, []string{`"` + started.ID + `"`}, nil)
	e.run("session", "show", "--flow", flowDir).expect(t, 0, nil, nil)
	e.run("packages", "list", "--flow", flowDir).expect(t, 0, nil, nil)

	e.run("packages", "install", "requests", "--flow", flowDir, "--save-only").
		expect(t, 0, nil, []string{"saved " + shared + ", the requirements file additional_includes bring into"})
	got, err := os.ReadFile(shared)
	if err != nil || !strings.Contains(string(got), "requests") {
		t.Errorf("the included file: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(flowDir, "requirements.txt")); !os.IsNotExist(err) {
		t.Errorf("a requirements.txt was written into the flow folder: %v", err)
	}
}

// One requirements check on every path: a pinned promptflow is a warning and
// a local wheel an error in flow validate, run create (dry run too) and the
// session and packages commands alike.
func TestRequirementsRulesOnEveryPath(t *testing.T) {
	for _, tc := range []struct {
		name, text, code string
		exit             int
	}{
		{"pinned promptflow", "promptflow==1.10.0\n", "requirements-pinned-promptflow", 0},
		{"local wheel", "./wheels/mytool-0.1-py3-none-any.whl\n", "requirements-local-path", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.chdir()
			flowDir := e.copyFlow("hello")
			if err := os.WriteFile(filepath.Join(flowDir, "requirements.txt"), []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"flow", "validate", flowDir},
				{"run", "create", "-f", filepath.Join(flowDir, "run.yml"), "--dry-run"},
				{"run", "create", "-f", filepath.Join(flowDir, "run.yml")},
				{"session", "start", "--flow", flowDir},
				{"packages", "install", "--flow", flowDir, "--save-only", "requests"},
			} {
				r := e.run(args...)
				both := r.stdout + r.stderr
				if r.code != tc.exit || !strings.Contains(both, tc.code) {
					t.Errorf("pfz %s: exit %d (want %d), %s named: %v\n%s", strings.Join(args, " "), r.code, tc.exit, tc.code, strings.Contains(both, tc.code), both)
				}
			}
		})
	}
}
