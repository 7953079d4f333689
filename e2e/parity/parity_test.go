// Package parity is the differential suite: promptflow 1.18.5 (the reference,
// in a cached virtual environment, internal/testutil/pfref) and the built pfz
// (local target) run the same flows over the same data — the corpus in
// testdata/parity — and every line's status, inputs and outputs and every
// run's metrics must agree, unless testdata/parity/known-differences.yaml
// lists the difference with its reason. A known difference that no longer
// occurs fails the suite too, so the list stays honest. docs/parity.md's
// feature table is generated from the same data (`make parity-table`).
//
// promptflow runs in its own HOME with telemetry and tracing off; both
// sides' OpenAI connections point at their own fake OpenAI server on
// 127.0.0.1. Cases run two at a time. PFZ_E2E_BIN names a pfz built
// beforehand; otherwise the test builds one. With CI=true a missing Python
// fails the suite; elsewhere it skips loudly.
package parity

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/testutil/fakeopenai"
	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/pfref"
	"github.com/pfz-cli/pfz/internal/testutil/pfzbin"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

var (
	update    = flag.Bool("update", false, "rewrite the generated part of docs/parity.md")
	onlyCases = flag.String("cases", "", "run only the cases whose names match this regular expression (the table is then not checked)")
)

func corpusDir() string { return filepath.Join(shared.RepoRoot(), "testdata", "parity") }
func docPath() string   { return filepath.Join(shared.RepoRoot(), "docs", "parity.md") }

// TestTable checks the corpus files and that docs/parity.md's table is what
// they say (the differential suite proves they say what happens). It needs
// no Python, so a stale table fails everywhere.
func TestTable(t *testing.T) {
	c, known, err := loadCorpus(corpusDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := checkDoc(docPath(), renderTable(c, expectedOutcomes(c, known)), *update); err != nil {
		t.Fatal(err)
	}
}

func TestParity(t *testing.T) {
	if testing.Short() {
		need.ByDesign(t, "-short: the differential suite runs promptflow")
	}
	c, known, err := loadCorpus(corpusDir())
	if err != nil {
		t.Fatal(err)
	}
	if *onlyCases != "" {
		re, err := regexp.Compile(*onlyCases)
		if err != nil {
			t.Fatalf("-cases: %v", err)
		}
		keep := map[string]bool{}
		for i := len(c.Cases) - 1; i >= 0; i-- { // a kept case keeps the case it runs after
			if cs := c.Cases[i]; re.MatchString(cs.Name) || keep[cs.Name] {
				keep[cs.Name], keep[cs.After] = true, true
			}
		}
		c.Cases = slices.DeleteFunc(c.Cases, func(cs Case) bool { return !keep[cs.Name] })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	start := time.Now()
	ref, err := pfref.Install(ctx)
	if err != nil {
		pfref.Unavailable(t, err)
	}
	t.Logf("promptflow %s ready in %s (%s)", pfref.Version, time.Since(start).Round(time.Second), ref.Dir)
	bin := buildPfz(t)

	// The work folder (both sides' homes, corpus copies and command logs)
	// stays when the suite fails, for the post-mortem.
	work, err := os.MkdirTemp("", "pfz-parity-") //nolint:usetesting // kept when the suite fails (t.TempDir is always removed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept for inspection: %s (logs/ has every command's output)", work)
			return
		}
		if err := os.RemoveAll(work); err != nil {
			t.Logf("removing %s: %v", work, err)
		}
	})
	pfFake, pfzFake := fakeopenai.New(t, "pf-key-parity"), fakeopenai.New(t, "pfz-key-parity")
	pf := setupPF(ctx, t, ref, work, pfFake)
	pfz := setupPfz(ctx, t, bin, work, pfzFake)

	// Cases run two at a time (each side's run of one case is one job).
	// A case that runs after another waits for that case's run on its own
	// side; the earlier case's job was handed out first, so it is running
	// or done.
	type job struct {
		s      side
		cs     *Case
		res    *Result
		err    error
		elapse time.Duration
		done   chan struct{}
		after  *job
	}
	var jobs []*job
	bySide := map[string]*job{}
	for i := range c.Cases {
		for _, s := range []side{pf, pfz} {
			j := &job{s: s, cs: &c.Cases[i], done: make(chan struct{})}
			if a := c.Cases[i].After; a != "" {
				j.after = bySide[s.name()+"/"+a]
			}
			bySide[s.name()+"/"+c.Cases[i].Name] = j
			jobs = append(jobs, j)
		}
	}
	next := make(chan *job)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if j.after != nil {
					<-j.after.done
				}
				t0 := time.Now()
				runYML := filepath.Join(work, j.s.name(), "corpus", filepath.FromSlash(j.cs.Run))
				j.res, j.err = j.s.run(ctx, j.cs, runYML, "parity_"+j.cs.Name)
				j.elapse = time.Since(t0)
				close(j.done)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	t.Logf("%d cases run by both sides in %s", len(c.Cases), time.Since(start).Round(time.Second))

	outcomes := make([]Outcome, 0, len(c.Cases))
	allAgree := true
	for i := range c.Cases {
		cs := &c.Cases[i]
		pfJob, pfzJob := jobs[2*i], jobs[2*i+1]
		o := Outcome{Case: cs}
		ok := t.Run(cs.Name, func(t *testing.T) {
			t.Logf("promptflow %s, pfz %s", pfJob.elapse.Round(time.Millisecond), pfzJob.elapse.Round(time.Millisecond))
			if pfJob.err != nil || pfzJob.err != nil {
				t.Fatalf("the harness could not run the case:\npromptflow: %v\npfz: %v", pfJob.err, pfzJob.err)
			}
			o.Known = checkCase(t, cs, known, compare(pfJob.res, pfzJob.res))
		})
		allAgree = allAgree && ok
		outcomes = append(outcomes, o)
	}
	if *onlyCases != "" {
		return
	}
	checkFakeUse(t, pfFake, pfzFake)
	if !allAgree {
		return
	}
	if err := checkDoc(docPath(), renderTable(c, outcomes), *update); err != nil {
		t.Error(err)
	}
}

// checkCase fails the test for each divergence no known difference covers and
// for each known difference (or place of one) that did not occur, and returns
// the known differences that did.
func checkCase(t *testing.T, cs *Case, known []*Known, divs []Divergence) []*Known {
	t.Helper()
	var mine []*Known
	for _, k := range known {
		if k.Case == cs.Name {
			mine = append(mine, k)
		}
	}
	used := map[*Known]map[int]bool{}
	var unexplained []string
	for _, d := range divs {
		found := false
		for _, k := range mine {
			for i, p := range k.pats {
				if p.MatchString(d.At) {
					found = true
					if used[k] == nil {
						used[k] = map[int]bool{}
					}
					used[k][i] = true
				}
			}
		}
		if found {
			t.Logf("known: %s", d)
		} else {
			unexplained = append(unexplained, d.String())
		}
	}
	if len(unexplained) > 0 {
		t.Errorf("pfz differs from promptflow %s (%s):\n  %s\nfix pfz, or list the difference in testdata/parity/known-differences.yaml with its reason; a start:\n%s",
			pfref.Version, cs.Run, strings.Join(unexplained, "\n  "), skeleton(cs, unexplainedDivs(divs, mine)))
	}
	var occurred []*Known
	for _, k := range mine {
		var gone []string
		for i, g := range k.At {
			if !used[k][i] {
				gone = append(gone, g)
			}
		}
		if k.Varies && len(gone) < len(k.At) {
			gone = nil // any place is enough
		}
		switch {
		case len(gone) == len(k.At):
			t.Errorf("known difference %q (%s) no longer occurs: pfz now agrees with promptflow there; remove this entry from testdata/parity/known-differences.yaml", strings.Join(k.At, ", "), oneLine(k.What))
		case len(gone) > 0:
			t.Errorf("known difference %q: no divergence at %q any more; remove those places from the entry in testdata/parity/known-differences.yaml", oneLine(k.What), strings.Join(gone, ", "))
			occurred = append(occurred, k)
		default:
			occurred = append(occurred, k)
		}
	}
	return occurred
}

// checkFakeUse makes sure each side called its own fake OpenAI server when a
// case that needs it ran: an llm output that matches without a call would
// mean the comparison proved nothing.
func checkFakeUse(t *testing.T, pfFake, pfzFake *fakeopenai.Server) {
	if len(pfFake.Requests()) == 0 {
		t.Errorf("promptflow never called its fake OpenAI server: the llm cases compared nothing")
	}
	if len(pfzFake.Requests()) == 0 {
		t.Errorf("pfz never called its fake OpenAI server: the llm cases compared nothing")
	}
	t.Logf("fake OpenAI requests: promptflow %d, pfz %d", len(pfFake.Requests()), len(pfzFake.Requests()))
}

// buildPfz returns the pfz binary (PFZ_E2E_BIN, or one built for this
// test), and makes go test's cache key cover pfz's sources.
func buildPfz(t *testing.T) string {
	root := shared.RepoRoot()
	pfzbin.Track(t, root)
	bin := filepath.Join(t.TempDir(), pfzbin.Name())
	if err := pfzbin.Build(root, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// copyCorpus gives a side its own copy of testdata/parity (promptflow writes
// into flow folders; neither side may see the other's files), with the
// connection files' ${FAKE_OPENAI_URL} and ${FAKE_OPENAI_KEY} filled in.
func copyCorpus(t *testing.T, dst string, fake *fakeopenai.Server) {
	src := corpusDir()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Dir(rel) == "connections" {
			b = []byte(os.Expand(string(b), func(k string) string {
				switch k {
				case "FAKE_OPENAI_URL":
					return fake.URL
				case "FAKE_OPENAI_KEY":
					return fake.Key
				}
				return "${" + k + "}"
			}))
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func connectionFiles(t *testing.T, corpus string) []string {
	files, err := filepath.Glob(filepath.Join(corpus, "connections", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no connection files in %s: %v", corpus, err)
	}
	return files
}

func setupPF(ctx context.Context, t *testing.T, ref *pfref.Ref, work string, fake *fakeopenai.Server) *pfSide {
	root := filepath.Join(work, "promptflow")
	home := filepath.Join(root, "home")
	logDir := filepath.Join(work, "logs")
	for _, d := range []string{home, logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyCorpus(t, filepath.Join(root, "corpus"), fake)
	// One worker process per run: the lines are few and CPU is shared.
	env, err := ref.Env(home, "PF_WORKER_COUNT=1")
	if err != nil {
		t.Fatal(err)
	}
	s := &pfSide{pf: ref.PF, env: env, home: home, logDir: logDir}
	for _, f := range connectionFiles(t, filepath.Join(root, "corpus")) {
		c, err := runCommand(ctx, env, root, logDir, "pf-connection-"+filepath.Base(f), ref.PF, "connection", "create", "--file", f)
		if err != nil || c.code != 0 {
			t.Fatalf("pf connection create --file %s: %v\n%s", f, err, tail(c.stderr.String(), 3000))
		}
	}
	return s
}

func setupPfz(ctx context.Context, t *testing.T, bin, work string, fake *fakeopenai.Server) *pfzSide {
	root := filepath.Join(work, "pfz")
	home := filepath.Join(root, "home")
	logDir := filepath.Join(work, "logs")
	copyCorpus(t, filepath.Join(root, "corpus"), fake)
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PFZ_") || strings.HasPrefix(k, "AZURE_") || strings.HasPrefix(k, "PIP_") ||
			strings.HasPrefix(k, "PYTHON") || k == "VIRTUAL_ENV" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	userHome := filepath.Join(root, "userhome")
	if err := os.MkdirAll(userHome, 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PFZ_HOME="+home, "PFZ_CONFIG_DIR="+filepath.Join(root, "config"), "HOME="+userHome,
		"NO_COLOR=1", "PIP_CONFIG_FILE="+os.DevNull, "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1")
	s := &pfzSide{bin: bin, env: env, home: home, logDir: logDir}
	for _, f := range connectionFiles(t, filepath.Join(root, "corpus")) {
		c, err := runCommand(ctx, env, root, logDir, "pfz-connection-"+filepath.Base(f), bin,
			"connection", "create", "--target", "local", "-f", f)
		if err != nil || c.code != 0 {
			t.Fatalf("pfz connection create -f %s: %v\n%s", f, err, tail(c.stderr.String(), 3000))
		}
	}
	return s
}

func unexplainedDivs(divs []Divergence, known []*Known) []Divergence {
	var out []Divergence
	for _, d := range divs {
		if !slices.ContainsFunc(known, func(k *Known) bool { return k.matches(d.At) }) {
			out = append(out, d)
		}
	}
	return out
}

var lineNumber = regexp.MustCompile(`^line \d+`)

// skeleton is a known-differences.yaml entry for the divergences, places
// with the line number replaced by *, for the author to complete.
func skeleton(cs *Case, divs []Divergence) string {
	var at []string
	for _, d := range divs {
		g := lineNumber.ReplaceAllString(d.At, "line *")
		if !slices.Contains(at, g) {
			at = append(at, g)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "- case: %s\n  feature: %s\n  status: not yet\n  issue: 0\n  at:\n", cs.Name, strings.Join(cs.Features, "|"))
	for _, a := range at {
		fmt.Fprintf(&b, "  - %q\n", a)
	}
	b.WriteString("  what: >-\n    ...\n")
	return b.String()
}
