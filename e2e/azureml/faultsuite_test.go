package azureml_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/netpolicy"
	"github.com/pfz-cli/pfz/internal/testutil/fakews"
	"github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/testutil/silent"
)

// The fault suite: every fault of the fault layer (fakews.Fault) on every
// leg of a run — the submit, the polling of run history, the blob uploads
// (Azurite behind the fake's blob proxy), the managed identity token
// requests, the resource manager, and a session setup's operation polls —
// through the built binary. Each case asserts a time bound
// derived from the configured timeouts (never a performance claim), the
// documented exit code, the number of runs the workspace holds (exactly one
// when the command succeeds: a retried submit never makes a second run),
// that an upload that failed is uploaded by the next command (nothing is
// taken as uploaded that is not), and that no partial file is left in
// PFZ_HOME or the flow folder. The table of docs/reliability.md is this
// table's outcome; PFZ_UPDATE_DOCS=1 rewrites it.

// The network policy the suite runs with: short, so hangs cost seconds, yet
// long enough that a loaded CI machine (Azurite, the race detector, other
// packages' tests) never makes a healthy request look silent.
const (
	suiteAnswer  = 5 * time.Second
	suiteConnect = 3 * time.Second
	suiteMaxWait = 2 * time.Second
)

// suiteBound is the longest a faulty command may take: every try of a call
// silent for the answer timeout and every wait at its cap, plus generous
// room for the process, the flow's files and a loaded CI machine.
func suiteBound() time.Duration {
	tries := time.Duration(netpolicy.DefaultMaxRetries + 1)
	return tries*(suiteAnswer+suiteMaxWait) + 45*time.Second
}

func suiteEnv(h *harness) {
	h.env["PFZ_NETWORK_ANSWER_TIMEOUT"] = suiteAnswer.String()
	h.env["PFZ_NETWORK_CONNECT_TIMEOUT"] = suiteConnect.String()
	h.env["PFZ_NETWORK_MAX_RETRY_WAIT"] = suiteMaxWait.String()
}

type leg struct {
	name   string
	path   string
	method string
}

var (
	legSubmit = leg{"submit", "/BulkRuns/submit$", "POST"}
	legPoll   = leg{"polling (run stream)", "/rundata$", ""}
	legUpload = leg{"upload", `/LocalUpload/.*/hello/greet\.py$`, "PUT"}
	legToken  = leg{"token request", "^/msi/token$", ""}
	legARM    = leg{"resource manager (datastores)", "/datastores$", "GET"}
	legSessOp = leg{"session operation polling", "/operations/", "GET"}
)

type faultCase struct {
	leg   leg
	fault fakews.Fault
	code  int    // the exit code
	runs  int    // runs in the workspace afterwards
	say   string // stderr must contain this
	what  string // the outcome, for the table
}

func faultCases() []faultCase {
	huge := 100000 * time.Second
	var out []faultCase
	// submit: a run is created exactly once, or not at all with a reason.
	out = append(out,
		faultCase{legSubmit, fakews.Fault{Status: 429, RetryAfter: huge, Times: 1}, 1, 0, "longer than pfz waits", "fails at once: the wait asked for is longer than network.max_retry_wait; no run"},
		faultCase{legSubmit, fakews.Fault{Status: 429, RetryAfter: time.Second, Times: 1}, 0, 1, "", "waits 1 s, checks run history, submits again: one run"},
		faultCase{legSubmit, fakews.Fault{Status: 503, Times: 1}, 0, 1, "", "checks run history, submits again: one run"},
		faultCase{legSubmit, fakews.Fault{Status: 503}, 1, 0, "503", "gives up after 3 submits, each after checking run history; no run"},
		faultCase{legSubmit, fakews.Fault{Reset: true, Times: 1}, 0, 1, "", "checks run history, submits again: one run"},
		faultCase{legSubmit, fakews.Fault{Truncate: true, Times: 1}, 0, 1, "", "the run was made; run history says so and pfz does not submit again: one run"},
		faultCase{legSubmit, fakews.Fault{Garbage: true, Times: 1}, 0, 1, "", "the answer's body is not read: one run"},
		faultCase{legSubmit, fakews.Fault{Hang: true, Times: 1}, 0, 1, "", "no answer after network.answer_timeout; checks run history, submits again: one run"},
		faultCase{legSubmit, fakews.Fault{Hang: true}, 1, 0, "no answer from 127.0.0.1", "exit 1 naming the host after 3 silent submits; no run"},
	)
	// polling: `run stream` of a run that exists.
	out = append(out,
		faultCase{legPoll, fakews.Fault{Status: 429, RetryAfter: huge, Times: 1}, 1, 1, "longer than pfz waits", "fails at once, saying how long the service asked for"},
		faultCase{legPoll, fakews.Fault{Status: 503, Times: 2}, 0, 1, "", "retried; follows the run to its end"},
		faultCase{legPoll, fakews.Fault{Reset: true, Times: 1}, 0, 1, "", "retried (a read); follows the run to its end"},
		faultCase{legPoll, fakews.Fault{Truncate: true, Times: 1}, 0, 1, "", "retried (a read); follows the run to its end"},
		faultCase{legPoll, fakews.Fault{Garbage: true, Times: 1}, 1, 1, "unexpected JSON", "exit 1: the service answered with something that is not its JSON"},
		faultCase{legPoll, fakews.Fault{Hang: true}, 1, 1, "no answer from 127.0.0.1", "exit 1 naming the host after network.answer_timeout"},
	)
	// uploads: the snapshot's greet.py.
	out = append(out,
		faultCase{legUpload, fakews.Fault{Status: 429, RetryAfter: huge, Times: 1}, 1, 0, "429", "fails at once (azcore, same policy); no run; the next run create uploads the file"},
		faultCase{legUpload, fakews.Fault{Status: 503, Times: 1}, 0, 1, "", "retried: one run"},
		faultCase{legUpload, fakews.Fault{Reset: true, Times: 1}, 0, 1, "", "retried: one run"},
		faultCase{legUpload, fakews.Fault{Truncate: true, Times: 1}, 0, 1, "", "retried: one run"},
		faultCase{legUpload, fakews.Fault{Garbage: true, Times: 1}, 0, 1, "", "the blob was stored; its answer's body is not read: one run"},
		faultCase{legUpload, fakews.Fault{Hang: true, Times: 1}, 1, 0, "no answer from 127.0.0.1", "exit 1 naming the host after network.answer_timeout; no run; the next run create uploads the file"},
	)
	// token requests: the managed identity endpoint.
	out = append(out,
		faultCase{legToken, fakews.Fault{Status: 429, RetryAfter: huge, Times: 1}, 4, 0, "could not get an Azure token", "exit 4 at once (azidentity, same policy); no run"},
		faultCase{legToken, fakews.Fault{Status: 503, Times: 1}, 0, 1, "", "retried: one run"},
		faultCase{legToken, fakews.Fault{Reset: true, Times: 1}, 0, 1, "", "retried: one run"},
		faultCase{legToken, fakews.Fault{Truncate: true, Times: 1}, 0, 1, "", "retried: one run"},
		faultCase{legToken, fakews.Fault{Garbage: true, Times: 1}, 4, 0, "could not get an Azure token", "exit 4: the token answer is unreadable; no run"},
		faultCase{legToken, fakews.Fault{Hang: true}, 1, 0, "managed identity (system-assigned) did not answer", "exit 1 naming the credential and the host; no run"},
	)
	// the resource manager: the datastore lookup before the uploads.
	out = append(out,
		faultCase{legARM, fakews.Fault{Status: 429, RetryAfter: huge, Times: 1}, 1, 0, "longer than pfz waits", "fails at once, saying how long the service asked for; no run"},
		faultCase{legARM, fakews.Fault{Status: 429, RetryAfter: time.Second, Times: 2}, 0, 1, "", "waits 1 s twice: one run"},
		faultCase{legARM, fakews.Fault{Hang: true}, 1, 0, "no answer from 127.0.0.1", "exit 1 naming the host after network.answer_timeout; no run"},
	)
	// session start: the azure-asyncoperation polls of the setup.
	out = append(out,
		faultCase{legSessOp, fakews.Fault{Status: 429, RetryAfter: huge, Times: 1}, 1, 0, "longer than pfz waits", "fails at once; the session goes on being set up (session show)"},
		faultCase{legSessOp, fakews.Fault{Status: 503, Times: 2}, 0, 0, "", "retried; the session is Running"},
		faultCase{legSessOp, fakews.Fault{Hang: true}, 1, 0, "no answer from 127.0.0.1", "exit 1 naming the host after network.answer_timeout"},
	)
	return out
}

func TestFaultSuite(t *testing.T) {
	var rows []string
	for _, fc := range faultCases() {
		name := fc.leg.name + "/" + fc.fault.Kind()
		if fc.fault.Times > 0 {
			name += fmt.Sprintf(" ×%d", fc.fault.Times)
		}
		ok := t.Run(name, func(t *testing.T) { runFaultCase(t, fc) })
		result := "as documented"
		if !ok {
			result = "**FAILED**"
		}
		times := "every request"
		if fc.fault.Times > 0 {
			times = fmt.Sprintf("first %d", fc.fault.Times)
			if fc.fault.Times == 1 {
				times = "first request"
			}
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %d | %d | %s | %s |", fc.leg.name, fc.fault.Kind(), times, fc.code, fc.runs, fc.what, result))
	}
	syncReliabilityDoc(t, "faults", "| leg | fault | on | exit | runs | what pfz does | result |\n|---|---|---|---|---|---|---|\n"+strings.Join(rows, "\n")+"\n")
}

func runFaultCase(t *testing.T, fc faultCase) {
	h := newHarness(t, fakews.Options{BlobProxy: true})
	suiteEnv(h)
	h.writeFlow("Ada", "Grace", "Linus")
	f := fc.fault
	f.Path, f.Method = fc.leg.path, fc.leg.method
	args := []string{"run", "create", "-f", "hello/run.yml", "--name", "faulty"}
	switch fc.leg {
	case legPoll:
		h.ok(args...)
		args = []string{"run", "stream", "-n", "faulty"}
	case legSessOp:
		args = []string{"session", "start", "--flow", "hello", "--vm-size", "Standard_E4ds_v4"}
	}
	in := h.fake.Inject(f)
	r := h.run(args...)
	checkFaultResult(t, h, r, fc.code, fc.say, suiteBound())
	if in.Hits() == 0 {
		t.Fatalf("the fault never fired:\n%s", r)
	}
	if n := h.fake.RunCount(); n != fc.runs {
		t.Fatalf("%d runs in the workspace, want %d\n%s", n, fc.runs, r)
	}
	if n := h.fake.Count("POST", "/BulkRuns/submit$"); fc.leg == legUpload && fc.code != 0 && n != 0 {
		t.Fatalf("submitted after a failed upload:\n%s", r)
	}
	if fc.code != 0 && fc.leg != legPoll && fc.leg != legSessOp {
		// Nothing was taken as uploaded that is not: the next command,
		// without faults, makes the run with every file in storage.
		h.fake.ClearFaults()
		h.ok("run", "create", "-f", "hello/run.yml", "--name", "again")
		blobs, err := h.fake.Blobs(t.Context(), "LocalUpload/")
		if err != nil {
			t.Fatal(err)
		}
		if !contains(suffixes(blobs, "/hello/"), "greet.py") {
			t.Fatalf("greet.py is not in storage after the next run create: %v", blobs)
		}
		if st, ok := h.fake.Run("again"); !ok || st.Lines != 3 {
			t.Fatalf("the next run: %+v %v", st, ok)
		}
	}
	noPartialFiles(t, h.home, h.work)
}

func checkFaultResult(t *testing.T, h *harness, r result, code int, say string, bound time.Duration) {
	t.Helper()
	if r.took > bound {
		t.Fatalf("took %s, more than the bound %s derived from the configured timeouts\n%s", r.took, bound, r)
	}
	if r.code != code {
		t.Fatalf("exit %d, want %d\n%s", r.code, code, r)
	}
	if say != "" && !strings.Contains(r.stderr, say) {
		t.Fatalf("stderr does not say %q\n%s", say, r)
	}
	if code != 0 && !strings.Contains(r.stderr, "error: ") {
		t.Fatalf("a failure must say why on stderr\n%s", r)
	}
}

// noPartialFiles fails on a temporary or partial file left under dirs.
func noPartialFiles(t *testing.T, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil //nolint:nilerr // a folder that is not there has no partial files
			}
			n := d.Name()
			if strings.HasPrefix(n, ".tmp") || strings.Contains(n, ".tmp-") || strings.HasSuffix(n, ".tmp") || strings.HasSuffix(n, ".partial") {
				t.Errorf("partial file left: %s", p)
			}
			return nil
		})
	}
}

// TestStreamTimeoutBoundsCallsInFlight: `run stream --timeout 3` against a
// service that stops answering, with the default (60 s) answer timeout,
// ends when --timeout passes — not after the answer timeout, and not after
// 100 s per try — with exit 1 naming the host (nothing says the run goes on).
func TestStreamTimeoutBoundsCallsInFlight(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	h.writeFlow("Ada")
	h.ok("run", "create", "-f", "hello/run.yml", "--name", "followed")
	h.fake.Inject(fakews.Fault{Path: "/rundata$", Hang: true})
	const timeout = 3 * time.Second
	r := h.run("run", "stream", "-n", "followed", "--timeout", "3")
	// Well under the default answer timeout (60 s): --timeout bounded it.
	checkFaultResult(t, h, r, 1, "no answer from 127.0.0.1", timeout+40*time.Second)
	if r.took >= netpolicy.DefaultAnswerTimeout {
		t.Fatalf("took %s: --timeout did not bound the call in flight", r.took)
	}
	// run show against the same dead service is bounded by the answer
	// timeout and says which host did not answer.
	h.env["PFZ_NETWORK_ANSWER_TIMEOUT"] = "5s"
	r = h.run("run", "show", "-n", "followed")
	checkFaultResult(t, h, r, 1, "no answer from 127.0.0.1", 5*time.Second+40*time.Second)
	if !strings.Contains(r.stderr, "after 5s") {
		t.Fatalf("the message must say how long pfz waited:\n%s", r)
	}
}

// TestWaitingIsAnnounced: after about 2 s without an answer pfz says on
// stderr which host and what it waits for.
func TestWaitingIsAnnounced(t *testing.T) {
	h := newHarness(t, fakews.Options{})
	suiteEnv(h)
	h.writeFlow("Ada")
	h.fake.Inject(fakews.Fault{Path: "/BulkRuns/submit$", Hang: true})
	r := h.run("run", "create", "-f", "hello/run.yml", "--name", "waits")
	if !strings.Contains(r.stderr, "waiting for 127.0.0.1:") || !strings.Contains(r.stderr, "to answer POST BulkRuns/submit (2s so far)") {
		t.Fatalf("no notice of the wait on stderr:\n%s", r)
	}
	checkFaultResult(t, h, r, 1, "no answer from 127.0.0.1", suiteBound())
}

// TestCtrlCDuringRetryAfter: Ctrl-C while pfz honours a Retry-After ends
// the command at once with exit 130, and no run is made.
func TestCtrlCDuringRetryAfter(t *testing.T) {
	if runtime.GOOS == "windows" {
		need.ByDesign(t, "no SIGINT to a child on Windows")
	}
	h := newHarness(t, fakews.Options{})
	h.writeFlow("Ada")
	h.env["PFZ_NETWORK_MAX_RETRY_WAIT"] = "5m"
	in := h.fake.Inject(fakews.Fault{Path: "/BulkRuns/submit$", Status: 429, RetryAfter: 4 * time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pfzBin, "run", "create", "-f", "hello/run.yml", "--name", "stopped")
	cmd.Dir, cmd.Env = h.work, h.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); in.Hits() == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // into the wait
	sent := time.Now()
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("want exit 130 after Ctrl-C, got %v\n%s", err, errb.String())
	}
	if took > 30*time.Second {
		t.Fatalf("Ctrl-C took %s to end the wait", took)
	}
	if h.fake.RunCount() != 0 {
		t.Fatal("a run was made")
	}
	noPartialFiles(t, h.home, h.work)
}

// syncReliabilityDoc keeps the generated section name of docs/reliability.md
// equal to body: with PFZ_UPDATE_DOCS=1 it rewrites the section, otherwise a
// difference fails the test.
func syncReliabilityDoc(t *testing.T, name, body string) {
	t.Helper()
	path := filepath.Join(repoRoot(), "docs", "reliability.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin (generated by e2e/azureml TestFaultSuite; PFZ_UPDATE_DOCS=1 rewrites it) -->\n", "<!-- "+name+":end -->"
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q section", path, begin, end)
	}
	if doc[i+len(begin):j] == body {
		return
	}
	if os.Getenv("PFZ_UPDATE_DOCS") == "1" {
		doc = doc[:i+len(begin)] + body + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/reliability.md's %s table is out of date; run the suite with PFZ_UPDATE_DOCS=1 and commit it:\n%s", name, body)
}

// TestSilentTLSEndpoint: an endpoint that accepts TCP connections and never
// says a word (no TLS handshake) ends the command after the connect timeout
// with exit 1, having said after 2 s what pfz waits for. Before, pfz waited
// 1m33s in silence.
func TestSilentTLSEndpoint(t *testing.T) {
	addr := silent.Listen(t)
	h := newHarness(t, fakews.Options{})
	h.env["PFZ_ARM_ENDPOINT"] = "https://" + addr
	h.env["PFZ_NETWORK_CONNECT_TIMEOUT"] = "4s"
	r := h.run("run", "list")
	checkFaultResult(t, h, r, 1, "no answer from "+addr+" after 4s (TLS handshake)", 4*time.Second+40*time.Second)
	if !strings.Contains(r.stderr, "waiting for "+addr) {
		t.Fatalf("no notice of the wait:\n%s", r)
	}
}
