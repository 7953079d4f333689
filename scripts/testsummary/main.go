// Command testsummary reads `go test -json` events on stdin and prints what a
// person wants from `make test`: one line per package (as plain `go test`
// prints), the full output of every failed test, and at the end every skipped
// test with the reason it gave. Skips are otherwise invisible in `go test`
// output without -v, and a cached result replays them silently.
//
// Skips by design (need.ByDesign: a condition CI lacks on purpose, such as
// running as root) are listed apart from the others (a missing part, which
// fails instead when CI=true).
//
// It exits 1 when a test or package failed, when the input ends without a
// result for a package that started (a crash of go test itself), or, with
// CI=true, when a test skipped other than by design (a skip that should have
// failed: CI has every part), or when the tests created one of pfz's
// folders in the real user's home (every test must give pfz a PFZ_HOME,
// PFZ_CONFIG_DIR or HOME of its own).
//
// `testsummary -- go test -json ./...` runs the command itself, after it has
// noted which of those folders exist (so no test can run before it looks),
// and also exits 1 when the command fails. Reading stdin instead, the caller
// should use pipefail so that go test's own exit code counts.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/config"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
	// ImportPath names the package of build-output and build-fail events.
	ImportPath string
}

type key struct{ pkg, test string }

// Skip is one skipped test and its reason.
type Skip struct {
	Package, Test, Reason string
}

// byDesignPrefix starts the message of a skip by design
// (need.ByDesignPrefix; a test checks that they agree).
const byDesignPrefix = "SKIPPED BY DESIGN: "

type summary struct {
	out      io.Writer
	ci       bool             // CI=true: only skips by design are allowed
	output   map[key][]string // output lines per test (and per package: test "")
	skips    []Skip
	failed   int
	passed   int
	packages map[string]string // package -> its result action
	started  []string
	// buildFailed lists the packages that did not compile.
	buildFailed []string
}

func newSummary(out io.Writer, ci bool) *summary {
	return &summary{out: out, ci: ci, output: map[key][]string{}, packages: map[string]string{}}
}

func (s *summary) add(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "start":
		s.started = append(s.started, e.Package)
	case "output":
		s.output[k] = append(s.output[k], e.Output)
	case "build-output":
		fmt.Fprint(s.out, e.Output)
	case "build-fail":
		s.buildFailed = append(s.buildFailed, e.ImportPath)
	case "run":
	case "pass", "fail", "skip":
		if e.Test == "" {
			s.packageDone(e)
			return
		}
		switch e.Action {
		case "pass":
			s.passed++
		case "fail":
			s.failed++
			s.printOutput(k)
		case "skip":
			s.skips = append(s.skips, Skip{Package: e.Package, Test: e.Test, Reason: reason(s.output[k])})
		}
		delete(s.output, k)
	}
}

func (s *summary) packageDone(e event) {
	k := key{e.Package, ""}
	s.packages[e.Package] = e.Action
	switch e.Action {
	case "fail":
		// Package-level output: a panic, a build error, TestMain's words;
		// go test's own result lines are left out for the one below.
		for _, l := range s.output[k] {
			if t := strings.TrimSpace(l); t == "FAIL" || t == "PASS" || strings.HasPrefix(t, "FAIL\t"+e.Package) {
				continue
			}
			fmt.Fprint(s.out, l)
		}
		fmt.Fprintf(s.out, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(s.out, "?   \t%s\t[no test files]\n", e.Package)
	default:
		cached := ""
		for _, l := range s.output[k] {
			if strings.Contains(l, "(cached)") {
				cached = " (cached)"
			}
		}
		fmt.Fprintf(s.out, "ok  \t%s\t%.3fs%s\n", e.Package, e.Elapsed, cached)
	}
	delete(s.output, k)
}

func (s *summary) printOutput(k key) {
	for _, l := range s.output[k] {
		fmt.Fprint(s.out, l)
	}
}

// reason is what a skipped test said: its output without the framework's
// own "=== RUN"/"--- SKIP" lines, file:line prefixes kept.
func reason(lines []string) string {
	var words []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		words = append(words, t)
	}
	if len(words) == 0 {
		return "(no reason given)"
	}
	return strings.Join(words, " ")
}

// finish prints the skipped tests and returns the exit code.
func (s *summary) finish() int {
	code := 0
	for _, p := range s.started {
		if _, ok := s.packages[p]; !ok {
			s.printOutput(key{p, ""})
			fmt.Fprintf(s.out, "FAIL\t%s\t(no result: go test stopped before the package finished)\n", p)
			code = 1
		}
	}
	for _, a := range s.packages {
		if a == "fail" {
			code = 1
		}
	}
	if s.failed > 0 || len(s.buildFailed) > 0 {
		code = 1
	}
	fmt.Fprintf(s.out, "\n%d tests passed, %d failed, %d skipped", s.passed, s.failed, len(s.skips))
	if len(s.buildFailed) > 0 {
		fmt.Fprintf(s.out, "; %d package(s) did not build: %s", len(s.buildFailed), strings.Join(s.buildFailed, ", "))
	}
	fmt.Fprintln(s.out)
	if len(s.skips) == 0 {
		return code
	}
	var missing, byDesign []Skip
	for _, sk := range s.skips {
		if strings.Contains(sk.Reason, byDesignPrefix) {
			byDesign = append(byDesign, sk)
		} else {
			missing = append(missing, sk)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(s.out, "skipped tests and why (with CI=true a missing part fails instead):\n")
		for _, g := range group(missing) {
			fmt.Fprintf(s.out, "  %s %s: %s\n", shortPkg(g.Package), g.Test, g.Reason)
		}
	}
	if len(byDesign) > 0 {
		fmt.Fprintf(s.out, "skipped by design (conditions CI lacks on purpose):\n")
		for _, g := range group(byDesign) {
			fmt.Fprintf(s.out, "  %s %s: %s\n", shortPkg(g.Package), g.Test, g.Reason)
		}
	}
	if s.ci && len(missing) > 0 {
		fmt.Fprintf(s.out, "FAIL: CI=true and %d test(s) skipped other than by design: in CI a missing part must fail "+
			"(internal/testutil/need.Missing), and only a condition CI lacks on purpose may skip (need.ByDesign)\n", len(missing))
		code = 1
	}
	return code
}

// group sorts the skips and folds those of one package that give the same
// reason (a table of subtests skipped for one missing part) into one line.
func group(skips []Skip) []Skip {
	sorted := slices.Clone(skips)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Package != sorted[j].Package {
			return sorted[i].Package < sorted[j].Package
		}
		return sorted[i].Test < sorted[j].Test
	})
	type gk struct{ pkg, reason string }
	var order []gk
	tests := map[gk][]string{}
	for _, sk := range sorted {
		k := gk{sk.Package, sk.Reason}
		if _, ok := tests[k]; !ok {
			order = append(order, k)
		}
		tests[k] = append(tests[k], sk.Test)
	}
	out := make([]Skip, 0, len(order))
	for _, k := range order {
		names := tests[k]
		text := strings.Join(names, ", ")
		if len(names) > 3 {
			text = fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
		}
		out = append(out, Skip{Package: k.pkg, Test: text, Reason: k.reason})
	}
	return out
}

func shortPkg(p string) string {
	return strings.TrimPrefix(p, "github.com/pfz-cli/pfz/")
}

// homeGuard remembers which of pfz's folders of the user running the tests
// existed before them, to report one a test created.
type homeGuard struct {
	dirs    []string
	existed map[string]bool
}

// newHomeGuard looks at pfz's default home and configuration folders (as
// HOME and the XDG variables place them) and at the PFZ_HOME and
// PFZ_CONFIG_DIR of the environment, when set.
func newHomeGuard(getenv func(string) string) *homeGuard {
	defaults := func(k string) string {
		if strings.HasPrefix(k, "PFZ_") {
			return ""
		}
		return getenv(k)
	}
	g := &homeGuard{existed: map[string]bool{}}
	for _, d := range []string{config.DefaultHome(defaults), config.Dir(defaults), getenv("PFZ_HOME"), getenv(config.EnvConfigDir)} {
		if d == "" || slices.Contains(g.dirs, d) {
			continue
		}
		g.dirs = append(g.dirs, d)
		_, err := os.Lstat(d)
		g.existed[d] = err == nil
	}
	return g
}

// created lists the folders that exist now and did not before.
func (g *homeGuard) created() []string {
	var out []string
	for _, d := range g.dirs {
		if _, err := os.Lstat(d); err == nil && !g.existed[d] {
			out = append(out, d)
		}
	}
	return out
}

func run(in io.Reader, out io.Writer, ci bool, guard *homeGuard) int {
	s := newSummary(out, ci)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (go vet or the go command's own words): pass it on.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		s.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testsummary: reading go test output: %v\n", err)
		return 1
	}
	code := s.finish()
	if made := guard.created(); len(made) > 0 {
		fmt.Fprintf(out, "FAIL: the tests created %s in the real user's home: a test ran pfz without a PFZ_HOME, "+
			"PFZ_CONFIG_DIR or HOME of its own (a temp folder); find it and give it one, then remove the folder\n",
			strings.Join(made, " and "))
		code = 1
	}
	return code
}

func main() {
	// The guard looks before reading: the tests run while go test's
	// output streams in.
	guard := newHomeGuard(os.Getenv)
	ci := os.Getenv("CI") == "true"
	if len(os.Args) > 2 && os.Args[1] == "--" {
		os.Exit(runCommand(os.Args[2:], os.Stdout, os.Stderr, ci, guard))
	}
	os.Exit(run(os.Stdin, os.Stdout, ci, guard))
}

// runCommand starts argv (go test -json …) once the guard has looked, reads
// its output as run does, and fails when either the tests or the command
// failed.
func runCommand(argv []string, out, errOut io.Writer, ci bool, guard *homeGuard) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = errOut
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(out, "testsummary: %v\n", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(out, "testsummary: cannot start %s: %v\n", argv[0], err)
		return 1
	}
	code := run(pipe, out, ci, guard)
	if err := cmd.Wait(); err != nil {
		fmt.Fprintf(out, "testsummary: %s: %v\n", strings.Join(argv, " "), err)
		code = 1
	}
	return code
}
