// Package local_test drives the built pfz binary against the local target
// (sessions are Python environments under PFZ_HOME) with testscript: every
// .txtar file under testdata/ is one script, run in its own work folder with
// its own PFZ_HOME and PFZ_CONFIG_DIR. README.md lists the commands scripts
// have beyond testscript's own.
//
// The binary is built once in TestMain and put first on PATH (PFZ_E2E_BIN
// names a binary built beforehand instead). pip never reaches the internet:
// PIP_INDEX_URL points every script at a PEP 503 index
// (internal/testutil/pyindex) served by this process on 127.0.0.1; a second
// index on 127.0.0.1 wants a token, for the private feed scripts.
//
// A Python environment costs seconds, so scripts that only read runs of the
// examples share one PFZ_HOME (the `shared-home` command): its sessions and
// runs are made once, by the first script that asks.
//
// The test binary doubles as two small helpers, chosen by environment
// variable: PFZ_E2E_PRINTENV writes its environment to a file (how a custom
// command learns a script's exact environment, which testscript keeps to
// itself), PFZ_E2E_REPLAY prints the saved output of a background pfz (how
// `pfz-wait` hands it to the stdout and stderr commands).
package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmespath/go-jmespath"
	"github.com/rogpeppe/go-internal/testscript"
	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/testutil/fakeopenai"
	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/pfzbin"
	"github.com/pfz-cli/pfz/internal/testutil/pyindex"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
	"github.com/pfz-cli/pfz/internal/testutil/uvtool"
)

const (
	envPrintEnv = "PFZ_E2E_PRINTENV"
	envReplay   = "PFZ_E2E_REPLAY"
)

// privateToken is what the private index accepts; scripts check it never
// shows up anywhere.
const privateToken = "pfz-e2e-tok-7c1d9a0e5b"

// openaiKey is the key the fake OpenAI server accepts (fakeopenai.Scripted
// answers); scripts read the server's URL from $OPENAI_URL.
const openaiKey = "sk-e2e-openai-3f9b2c"

var suite struct {
	bin      string // the built pfz
	binDir   string
	buildErr error
	python   string // why Python cannot be used; "" when it can
	public   *pyindex.Server
	private  *pyindex.Server
	// withUV is the public index plus uv's real wheel (the one pfz
	// installs for itself); uvErr says why it could not be made.
	withUV *pyindex.Server
	uvErr  error
	openai *fakeopenai.Server
	hang   net.Listener // a package index that accepts and never answers
	tmp    string

	sharedOnce sync.Once
	sharedHome string
	sharedErr  error

	scripts  atomic.Int64 // scripts started (setup calls)
	examples struct {
		sync.Mutex
		ran map[string]string // example folder → a run of its run.yml that completed
	}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(envReplay); dir != "" {
		os.Exit(replay(dir))
	}
	if path := os.Getenv(envPrintEnv); path != "" {
		b, _ := json.Marshal(os.Environ())
		if err := os.WriteFile(path, b, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(setupAndRun(m))
}

func setupAndRun(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "pfz-e2e-local-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }() // a temp folder: what cannot be removed is the system's to clean
	suite.tmp = tmp
	suite.binDir = filepath.Join(tmp, "bin")
	suite.bin = filepath.Join(suite.binDir, pfzbin.Name())
	suite.buildErr = pfzbin.Build(shared.RepoRoot(), suite.bin)
	suite.python = checkPython()

	suite.public, err = pyindex.New(pyindex.Options{}, publicDists()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer suite.public.Close()
	if name, data, err := uvtool.WheelFile(); err != nil {
		suite.uvErr = err
	} else if suite.withUV, err = pyindex.New(pyindex.Options{Files: map[string][]byte{name: data}}, publicDists()...); err != nil {
		suite.uvErr = err
	} else {
		defer suite.withUV.Close()
	}
	suite.private, err = pyindex.New(pyindex.Options{Token: privateToken}, privateDists()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer suite.private.Close()
	suite.openai, err = fakeopenai.Start(openaiKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer suite.openai.Close()
	suite.hang, err = hangingServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = suite.hang.Close() }()
	suite.openai.SetReply(fakeopenai.Scripted)
	return m.Run()
}

// publicDists are the wheels of the open index every script's pip uses.
func publicDists() []pyindex.Dist {
	return []pyindex.Dist{
		{Name: "pfz-greeting", Version: "1.0.0", Files: map[string]string{
			"pfz_greeting/__init__.py": "__version__ = '1.0.0'\n\ndef shout(s):\n    return s.upper() + '!'\n",
		}},
		{Name: "pfz-greeting", Version: "2.0.0", Files: map[string]string{
			"pfz_greeting/__init__.py": "__version__ = '2.0.0'\n\ndef shout(s):\n    return s.upper() + '!!'\n",
		}},
		{Name: "pfz-top", Version: "1.2.0", Requires: []string{"pfz-dep-a>=1.0"}},
		{Name: "pfz-dep-a", Version: "1.0.1"},
		{Name: "pfz-extra", Version: "0.3.0"},
		// A stand-in for PyPI's python-slugify, which examples/slugify-titles
		// installs: same name, version and module, the few lines it needs.
		{Name: "python-slugify", Version: "8.0.4", Files: map[string]string{
			"slugify/__init__.py": "import re\n\n__version__ = '8.0.4'\n\n" +
				"def slugify(text):\n    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')\n",
		}},
	}
}

// privateDists are the wheels only the token opens.
func privateDists() []pyindex.Dist {
	return []pyindex.Dist{{Name: "pfz-secret-pkg", Version: "0.1.0"}}
}

func checkPython() string {
	py, err := exec.LookPath("python3")
	if err != nil {
		return "python3 is not on PATH: the local target's sessions need it"
	}
	if out, err := exec.Command(py, "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
		return "python3 has no working venv/ensurepip: " + strings.TrimSpace(string(out))
	}
	return ""
}

// TestScripts runs every script; when all of them ran and passed, it also
// checks that each folder of examples/ had a run of its run.yml complete
// (see noteExampleRun), so an example that stops working fails a test.
func TestScripts(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run after the parallel scripts have ended.
	t.Cleanup(func() {
		if n := int(suite.scripts.Load()); n != len(scripts) || t.Failed() || t.Skipped() || suite.python != "" {
			t.Logf("every example runs: not checked (%d of %d scripts ran, failed %v)", n, len(scripts), t.Failed())
			return
		}
		checkEveryExampleRan(t, filepath.Join(shared.RepoRoot(), "examples"))
	})
	runScripts(t, testscript.Params{Dir: "testdata"})
}

// checkEveryExampleRan fails for each folder of examples/ that no script
// (nor the shared home) ran to a Completed run.
func checkEveryExampleRan(t *testing.T, root string) {
	suite.examples.Lock()
	defer suite.examples.Unlock()
	missing, err := missingExamples(root, suite.examples.ran)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Errorf("examples/%s: no script ran its run.yml to a completed run: add `pfz run create -f $EXAMPLES/%s/run.yml -n NAME` to one", m, m)
	}
	if len(missing) == 0 {
		t.Logf("every example ran its run.yml to a completed run (example: run): %v", suite.examples.ran)
	}
}

// missingExamples lists the folders of root not in ran.
func missingExamples(root string, ran map[string]string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, e := range entries {
		if _, ok := ran[e.Name()]; e.IsDir() && !ok {
			missing = append(missing, e.Name())
		}
	}
	return missing, nil
}

// noteExampleRun remembers an example whose run.yml ran: after a
// successful `pfz run create -f $EXAMPLES/<name>/run.yml -n RUN` (not a dry
// run), it asks pfz, in the same PFZ_HOME, whether RUN completed.
func noteExampleRun(args []string, env []string) error {
	example, name := exampleOf(args, filepath.Join(shared.RepoRoot(), "examples"))
	if example == "" {
		return nil
	}
	cmd := exec.Command(suite.bin, "run", "show", "-n", name, "-o", "json", "--query", "status")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("pfz run show -n %s: %w", name, err)
	}
	var status string
	if err := json.Unmarshal(out, &status); err != nil {
		return fmt.Errorf("pfz run show -n %s --query status: %q: %w", name, out, err)
	}
	if status == "Completed" {
		suite.examples.Lock()
		defer suite.examples.Unlock()
		if suite.examples.ran == nil {
			suite.examples.ran = map[string]string{}
		}
		suite.examples.ran[example] = name
	}
	return nil
}

// exampleOf returns the example folder (under examples) whose run.yml the
// pfz arguments run, not as a dry run, and the run's name; "" when they run
// none or give no name.
func exampleOf(args []string, examples string) (example, name string) {
	if len(args) < 2 || args[0] != "run" || args[1] != "create" || slices.Contains(args, "--dry-run") {
		return "", ""
	}
	var file string
	for i := 2; i+1 < len(args); i++ {
		switch args[i] {
		case "-f", "--file":
			file = args[i+1]
		case "-n", "--name":
			name = args[i+1]
		}
	}
	rel, err := filepath.Rel(examples, file)
	dir := filepath.Dir(rel) // one name, inside examples/
	if file == "" || name == "" || err != nil || filepath.Base(rel) != "run.yml" ||
		dir != filepath.Base(dir) || dir == "." || dir == ".." {
		return "", ""
	}
	return dir, name
}

// pfzEnv is the environment a check of the script's state runs pfz in: the
// script's PFZ_HOME, PFZ_CONFIG_DIR and HOME.
func pfzEnv(ts *testscript.TestScript) []string {
	return append(cleanEnv(), "NO_COLOR=1", "PFZ_HOME="+ts.Getenv("PFZ_HOME"),
		"PFZ_CONFIG_DIR="+ts.Getenv("PFZ_CONFIG_DIR"), "HOME="+ts.Getenv("HOME"))
}

func runScripts(t *testing.T, p testscript.Params) {
	if suite.buildErr != nil {
		t.Fatal(suite.buildErr)
	}
	pfzbin.Track(t, shared.RepoRoot())
	p.Setup = setup
	p.Cmds = commands()
	p.RequireExplicitExec = true
	p.RequireUniqueNames = true
	p.UpdateScripts = false
	testscript.Run(t, p)
}

// setup gives each script its own PFZ_HOME, PFZ_CONFIG_DIR and HOME, pfz on
// PATH, and pip pointed at the test index only.
func setup(env *testscript.Env) error {
	suite.scripts.Add(1)
	work := env.WorkDir
	privURL := suite.private.URL()
	hostport := strings.TrimSuffix(strings.TrimPrefix(privURL, "http://"), "/simple/")
	pathList := suite.binDir + string(os.PathListSeparator) + env.Getenv("PATH")
	vars := map[string]string{
		"PATH":           pathList,
		"HOME":           filepath.Join(work, ".home"),
		"PFZ_HOME":       filepath.Join(work, ".pfzhome"),
		"PFZ_CONFIG_DIR": filepath.Join(work, ".pfzconfig"),
		"NO_COLOR":       "1",
		"EXAMPLES":       filepath.Join(shared.RepoRoot(), "examples"),
		// pip: the test index and nothing else, no user config, no cache.
		"PIP_INDEX_URL":                 suite.public.URL(),
		"PIP_CONFIG_FILE":               os.DevNull,
		"PIP_NO_INPUT":                  "1",
		"PIP_DISABLE_PIP_VERSION_CHECK": "1",
		"PIP_NO_CACHE_DIR":              "1",
		"PRIVATE_HOSTPORT":              hostport,
		"PRIVATE_TOKEN":                 privateToken,
		"OPENAI_URL":                    suite.openai.URL,
		"HANG_INDEX_URL":                "http://" + suite.hang.Addr().String() + "/simple/",
		"OPENAI_KEY":                    openaiKey,
		// venv and pip, as without uv; uv_provision.txtar turns it on.
		"PFZ_UV": "off",
	}
	if suite.withUV != nil {
		vars["UV_WHEEL_INDEX_URL"] = suite.withUV.URL()
	}
	for k, v := range vars {
		env.Setenv(k, v)
	}
	if err := os.MkdirAll(filepath.Join(work, ".home"), 0o755); err != nil {
		return err
	}
	env.Values[stateKey{}] = &scriptState{bg: map[string]*bgCmd{}, code: -1, t: env.T()}
	return nil
}

// hangingServer accepts connections on 127.0.0.1 and never answers, holding
// them until it is closed: pip waits on it, so a script can interrupt an
// install while pip runs.
func hangingServer() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln, nil
}

type stateKey struct{}

// scriptState is what custom commands remember within one script.
type scriptState struct {
	code int // exit code of the last pfz command
	t    testscript.T
	bg   map[string]*bgCmd
}

type bgCmd struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

func commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"pfz":           cmdPfz,
		"pfz-wait":      cmdPfzWait,
		"pfz-kill":      cmdPfzKill,
		"exitcode":      cmdExitCode,
		"eventually":    cmdEventually,
		"json1":         cmdJSON1,
		"yaml1":         cmdYAML1,
		"jsonpath":      cmdJSONPath,
		"setenv-from":   cmdSetenvFrom,
		"need-python":   cmdNeedPython,
		"need-uv-wheel": cmdNeedUVWheel,
		"shared-home":   cmdSharedHome,
		"mode":          cmdMode,
		"nowhere":       cmdNowhere,
		"sleep":         cmdSleep,
		"lines":         cmdLines,
		"envsubst":      cmdEnvsubst,
		"gone":          cmdGone,
		"await":         cmdAwait,
	}
}

// pfz ARGS... [&NAME&] runs the built binary; `! pfz` expects a non-zero
// exit code (check which with exitcode). With a trailing &NAME& it runs in
// the background until pfz-wait NAME or pfz-kill NAME.
func cmdPfz(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "&") && strings.HasSuffix(args[n-1], "&") && len(args[n-1]) > 2 {
		name := strings.Trim(args[n-1], "&")
		if _, dup := st.bg[name]; dup {
			ts.Fatalf("background pfz %q already exists", name)
		}
		b := &bgCmd{done: make(chan struct{})}
		b.cmd = exec.Command(suite.bin, args[:n-1]...)
		b.cmd.Dir = ts.MkAbs(".")
		b.cmd.Env = scriptEnv(ts)
		b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
		// Children that outlive a killed pfz may hold its output pipes;
		// its exit, not theirs, ends the command.
		b.cmd.WaitDelay = 2 * time.Second
		ts.Check(b.cmd.Start())
		st.bg[name] = b
		go func() {
			err := b.cmd.Wait()
			b.code = exitCodeOf(err)
			close(b.done)
		}()
		ts.Defer(func() {
			select {
			case <-b.done:
			default:
				_ = b.cmd.Process.Kill()
				<-b.done
			}
		})
		return
	}
	err := ts.Exec(suite.bin, args...)
	st.code = exitCodeOf(err)
	if st.code < 0 {
		ts.Fatalf("pfz did not run: %v", err)
	}
	if neg && st.code == 0 {
		ts.Fatalf("pfz succeeded, want a failure")
	}
	if !neg && st.code != 0 {
		ts.Fatalf("pfz failed with exit code %d", st.code)
	}
	if !neg {
		ts.Check(noteExampleRun(args, pfzEnv(ts)))
	}
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() < 0 {
			return 137 // killed by a signal
		}
		return ee.ExitCode()
	}
	return -1
}

// pfz-wait NAME waits for a background pfz; afterwards stdout, stderr and
// exitcode apply to it. `! pfz-wait` expects a non-zero exit code.
func cmdPfzWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: pfz-wait NAME")
	}
	st := state(ts)
	b, ok := st.bg[args[0]]
	if !ok {
		ts.Fatalf("no background pfz %q", args[0])
	}
	select {
	case <-b.done:
	case <-time.After(3 * time.Minute):
		ts.Fatalf("background pfz %q still runs after 3 minutes", args[0])
	}
	delete(st.bg, args[0])
	// Replay its output through the test binary, so the stdout and stderr
	// commands see it as they see any command's.
	dir := ts.MkAbs(filepath.Join(".bg", args[0]))
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(filepath.Join(dir, "stdout"), b.stdout.Bytes(), 0o644))
	ts.Check(os.WriteFile(filepath.Join(dir, "stderr"), b.stderr.Bytes(), 0o644))
	ts.Setenv(envReplay, dir)
	_ = ts.Exec(os.Args[0])
	ts.Setenv(envReplay, "")
	st.code = b.code
	if neg != (b.code != 0) {
		ts.Fatalf("background pfz %q ended with exit code %d", args[0], b.code)
	}
}

// pfz-kill NAME kills a background pfz with SIGKILL and waits for it.
// pfz-kill -INT NAME interrupts it as Ctrl-C does, -TERM sends SIGTERM;
// pfz-wait then sees how it ended.
func cmdPfzKill(ts *testscript.TestScript, neg bool, args []string) {
	var sig os.Signal
	if len(args) == 2 {
		switch args[0] {
		case "-INT":
			sig = os.Interrupt
		case "-TERM":
			sig = syscall.SIGTERM
		}
		if sig != nil {
			args = args[1:]
		}
	}
	if len(args) != 1 || neg {
		ts.Fatalf("usage: pfz-kill [-INT|-TERM] NAME")
	}
	st := state(ts)
	b, ok := st.bg[args[0]]
	if !ok {
		ts.Fatalf("no background pfz %q", args[0])
	}
	if sig != nil {
		ts.Check(b.cmd.Process.Signal(sig))
		return
	}
	ts.Check(b.cmd.Process.Kill())
	<-b.done
	delete(st.bg, args[0])
	ts.Logf("killed background pfz %q (pid %d)", args[0], b.cmd.Process.Pid)
}

func replay(dir string) int {
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	if _, err := os.Stdout.Write(out); err != nil {
		return 1
	}
	if _, err := os.Stderr.Write(errOut); err != nil {
		return 1
	}
	return 0
}

// scriptEnv is the script's whole environment, read back through the test
// binary (testscript keeps it private).
func scriptEnv(ts *testscript.TestScript) []string {
	f := ts.MkAbs(filepath.Join(".tmp", "pfz-e2e-env.json"))
	ts.Setenv(envPrintEnv, f)
	err := ts.Exec(os.Args[0])
	ts.Setenv(envPrintEnv, "")
	ts.Check(err)
	b, err := os.ReadFile(f)
	ts.Check(err)
	var all, env []string
	ts.Check(json.Unmarshal(b, &all))
	for _, kv := range all {
		if !strings.HasPrefix(kv, envPrintEnv+"=") && !strings.HasPrefix(kv, envReplay+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// exitcode N checks the exit code of the last pfz (or pfz-wait).
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := state(ts).code
	if (got == want) == neg {
		ts.Fatalf("exit code %d, want %s%d", got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// eventually DURATION REGEXP ARGS... reruns `pfz ARGS` until its stdout
// matches REGEXP (exit code ignored), or fails after DURATION.
func cmdEventually(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || neg {
		ts.Fatalf("usage: eventually DURATION REGEXP PFZ_ARGS...")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	re, err := regexp.Compile("(?m)" + args[1]) // multi-line, as the stdout command matches
	ts.Check(err)
	env := scriptEnv(ts)
	deadline := time.Now().Add(d)
	var last string
	for tries := 1; ; tries++ {
		cmd := exec.Command(suite.bin, args[2:]...)
		cmd.Dir = ts.MkAbs(".")
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		_ = cmd.Run()
		if re.Match(out.Bytes()) {
			ts.Logf("matched after %d tries", tries)
			return
		}
		last = "stdout:\n" + out.String() + "stderr:\n" + errOut.String()
		if time.Now().After(deadline) {
			ts.Fatalf("pfz %s: no stdout matching %q within %s; last try:\n%s%s", strings.Join(args[2:], " "), args[1], d, last, bgReport(ts))
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// bgReport says how the background pfz commands that already ended did,
// for failure messages.
func bgReport(ts *testscript.TestScript) string {
	var b strings.Builder
	for name, bg := range state(ts).bg {
		select {
		case <-bg.done:
			fmt.Fprintf(&b, "\nbackground pfz %q ended with exit code %d\nstdout:\n%sstderr:\n%s", name, bg.code, bg.stdout.String(), bg.stderr.String())
		default:
			fmt.Fprintf(&b, "\nbackground pfz %q still runs", name)
		}
	}
	return b.String()
}

// json1 FILE checks that FILE (or stdout) holds exactly one JSON document.
func cmdJSON1(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: json1 stdout|FILE")
	}
	err := oneJSON(ts.ReadFile(args[0]))
	if (err == nil) == neg {
		ts.Fatalf("json1 %s: %v", args[0], err)
	}
}

func oneJSON(s string) error {
	dec := json.NewDecoder(strings.NewReader(s))
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("more than one JSON document (or trailing text)")
	}
	return nil
}

// yaml1 FILE checks that FILE (or stdout) holds exactly one YAML document.
func cmdYAML1(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: yaml1 stdout|FILE")
	}
	dec := yaml.NewDecoder(strings.NewReader(ts.ReadFile(args[0])))
	var v any
	err := dec.Decode(&v)
	if err == nil {
		var w any
		if e := dec.Decode(&w); !errors.Is(e, io.EOF) {
			err = fmt.Errorf("more than one YAML document")
		}
	}
	if err == nil && v == nil {
		err = fmt.Errorf("empty YAML")
	}
	if (err == nil) == neg {
		ts.Fatalf("yaml1 %s: %v", args[0], err)
	}
}

// jsonpath FILE EXPR WANT checks a JMESPath expression over the JSON in FILE
// (or stdout): a string result is compared as is, anything else as compact
// JSON. `! jsonpath` expects a different value.
func cmdJSONPath(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonpath stdout|FILE EXPR WANT")
	}
	got := evalJSON(ts, args[0], args[1])
	if (got == args[2]) == neg {
		ts.Fatalf("jsonpath %s: got %s, want %s%s", args[1], got, map[bool]string{true: "not ", false: ""}[neg], args[2])
	}
}

func evalJSON(ts *testscript.TestScript, file, expr string) string {
	var doc any
	if err := json.Unmarshal([]byte(ts.ReadFile(file)), &doc); err != nil {
		ts.Fatalf("%s is not JSON: %v", file, err)
	}
	v, err := jmespath.Search(expr, doc)
	if err != nil {
		ts.Fatalf("jmespath %q: %v", expr, err)
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	ts.Check(err)
	return string(b)
}

// setenv-from VAR FILE [EXPR] sets VAR to FILE's trimmed content, or to a
// JMESPath expression over its JSON.
func cmdSetenvFrom(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 || neg {
		ts.Fatalf("usage: setenv-from VAR stdout|FILE [EXPR]")
	}
	v := strings.TrimSpace(ts.ReadFile(args[1]))
	if len(args) == 3 {
		v = evalJSON(ts, args[1], args[2])
	}
	ts.Setenv(args[0], v)
}

// need-python skips the script loudly when there is no usable Python (and
// fails it when CI=true).
func cmdNeedPython(ts *testscript.TestScript, neg bool, args []string) {
	if suite.python == "" {
		return
	}
	need.Missing(state(ts).t, "%s", suite.python)
}

// need-uv-wheel skips the script loudly when uv's wheel could not be had
// for $UV_WHEEL_INDEX_URL (and fails it when CI=true).
func cmdNeedUVWheel(ts *testscript.TestScript, neg bool, args []string) {
	if suite.uvErr == nil {
		return
	}
	need.Missing(state(ts).t, "%v", suite.uvErr)
}

// shared-home switches the script to the shared PFZ_HOME, where the three
// examples have run once: runs shared_hello, shared_classify (variant
// detailed) and shared_eval (eval-accuracy over shared_classify). Scripts
// there may add runs with names of their own but must not stop sessions
// or depend on what `run list` holds.
func cmdSharedHome(ts *testscript.TestScript, neg bool, args []string) {
	cmdNeedPython(ts, false, nil)
	suite.sharedOnce.Do(func() { suite.sharedHome, suite.sharedErr = makeSharedHome() })
	if suite.sharedErr != nil {
		ts.Fatalf("shared PFZ_HOME: %v", suite.sharedErr)
	}
	ts.Setenv("PFZ_HOME", suite.sharedHome)
}

func makeSharedHome() (string, error) {
	home := filepath.Join(suite.tmp, "shared-home")
	ex := filepath.Join(shared.RepoRoot(), "examples")
	env := append(cleanEnv(),
		"PFZ_HOME="+home, "PFZ_CONFIG_DIR="+filepath.Join(suite.tmp, "shared-config"),
		"HOME="+filepath.Join(suite.tmp, "shared-userhome"), "NO_COLOR=1",
		"PIP_INDEX_URL="+suite.public.URL(), "PIP_CONFIG_FILE="+os.DevNull, "PIP_NO_INPUT=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_CACHE_DIR=1", "PFZ_UV=off")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, suite.bin, args...)
		cmd.Env, cmd.Dir = env, ex
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("pfz %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		for i, a := range args {
			if a == "-f" {
				args[i+1] = filepath.Join(ex, args[i+1])
			}
		}
		return noteExampleRun(args, env)
	}
	// hello and classify build their sessions side by side; eval needs
	// classify's run.
	errs := make(chan error, 1)
	go func() { errs <- run("run", "create", "-f", "hello-python/run.yml", "-n", "shared_hello") }()
	err := run("run", "create", "-f", "classify-reviews/run.yml", "-n", "shared_classify")
	if err == nil {
		err = run("run", "create", "-f", "eval-accuracy/run.yml", "--run", "shared_classify", "-n", "shared_eval")
	}
	return home, errors.Join(err, <-errs)
}

// cleanEnv is this process's environment without pip, Python or pfz
// settings of the machine.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIP_") || strings.HasPrefix(k, "PYTHON") || strings.HasPrefix(k, "PFZ_") ||
			strings.HasPrefix(k, "AZURE_") || strings.HasPrefix(k, "AZUREML_") || k == "VIRTUAL_ENV" || k == "HOME" ||
			k == "PF_USE_AZURE_CLI_CREDENTIAL" || k == "DEFAULT_IDENTITY_CLIENT_ID" || k == "IS_IN_CI_PIPELINE" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// mode PERM FILE checks a file's permission bits (Unix only).
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode PERM FILE")
	}
	if runtime.GOOS == "windows" {
		return
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); (uint64(got) == want) == neg {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

// nowhere [-except=SUFFIX] TEXT DIR... fails when TEXT appears in any file
// (or file name) under the DIRs, the last stdout or the last stderr; files
// whose names end in SUFFIX (where the secret belongs) are left out.
func cmdNowhere(ts *testscript.TestScript, neg bool, args []string) {
	except := ""
	if len(args) > 0 && strings.HasPrefix(args[0], "-except=") {
		except, args = strings.TrimPrefix(args[0], "-except="), args[1:]
	}
	if len(args) < 2 || neg {
		ts.Fatalf("usage: nowhere [-except=SUFFIX] TEXT DIR...")
	}
	text := []byte(args[0])
	if len(text) < 6 {
		ts.Fatalf("nowhere: %q is too short to search for", args[0])
	}
	for _, f := range []string{"stdout", "stderr"} {
		if bytes.Contains([]byte(ts.ReadFile(f)), text) {
			ts.Fatalf("%q appears in %s", args[0], f)
		}
	}
	files := 0
	for _, dir := range args[1:] {
		root := ts.MkAbs(dir)
		if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.Contains(p, args[0]) {
				return fmt.Errorf("%q appears in the path %s", args[0], p)
			}
			if !d.Type().IsRegular() || (except != "" && strings.HasSuffix(p, except)) {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			if bytes.Contains(b, text) {
				return fmt.Errorf("%q appears in %s", args[0], p)
			}
			return nil
		})
		ts.Check(err)
	}
	ts.Logf("searched %d files", files)
}

// sleep DURATION pauses the script.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// lines N FILE checks that FILE (or stdout) has N non-empty lines.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: lines N stdout|FILE")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	n := 0
	for _, l := range strings.Split(ts.ReadFile(args[1]), "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	if (n == want) == neg {
		ts.Fatalf("%s has %d non-empty lines, want %d", args[1], n, want)
	}
}

// envsubst SRC DST writes SRC to DST with $VAR and ${VAR} replaced by the
// script's variables (for files that need a port or a path).
func cmdEnvsubst(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: envsubst SRC DST")
	}
	out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
}

// gone DURATION PIDFILE... waits until the processes whose ids the files
// hold have ended (Unix; a zombie counts as ended), or fails after
// DURATION.
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: gone DURATION PIDFILE...")
	}
	if runtime.GOOS == "windows" {
		return
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	var pids []int
	for _, f := range args[1:] {
		pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(f)))
		ts.Check(err)
		pids = append(pids, pid)
	}
	deadline := time.Now().Add(d)
	for {
		var alive []int
		for _, pid := range pids {
			if processAlive(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			// They are this script's; do not leave them behind.
			for _, pid := range alive {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
			}
			ts.Fatalf("processes %v still ran %s later (now killed)", alive, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil || p.Signal(syscall.Signal(0)) != nil {
		return false
	}
	// On Linux a zombie still answers signal 0; its state says it ended.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return false
		}
	}
	return true
}

// await DURATION FILE... waits until the files exist, or fails after
// DURATION.
func cmdAwait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: await DURATION FILE...")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	deadline := time.Now().Add(d)
	for _, f := range args[1:] {
		for {
			if _, err := os.Stat(ts.MkAbs(f)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s does not exist after %s%s", f, d, bgReport(ts))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
