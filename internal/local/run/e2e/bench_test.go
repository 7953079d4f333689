package e2e

// End-to-end benchmarks of the local target: runs submitted through
// local.Workspace in the started shared session, so they include what a
// `pfz run create` pays on top of the executor (record, snapshot, session
// check, worker start, line and node records, logs). Run one at a time:
//
//	go test -run '^$' -bench '^BenchmarkLocalPythonLines$' -benchtime 3x ./internal/local/run/e2e/
//
//	BenchmarkLocalPythonLines     lines/s of a trivial python node over 10,000 lines
//	BenchmarkLocalTimeToFirstLine ms from Submit to the first finished line (session running)
//	BenchmarkLocalSleepingNode    run time of a 10 ms node ÷ (lines × 10 ms ÷ workers)
//	BenchmarkLocalPeakRSS1GB      peak RSS of the pfz process over a 1 GB jsonl

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/runspec"
	part "github.com/pfz-cli/pfz/internal/testutil/need"
	"github.com/pfz-cli/pfz/internal/workspace"
)

const trivialPy = "from promptflow.core import tool\n\n@tool\ndef t(text: str) -> str:\n    return text\n"

func benchFlow(b *testing.B, node string, files map[string]string, lines int, text func(int) string) (dir, data string) {
	b.Helper()
	files["flow.dag.yaml"] = "inputs:\n  text:\n    type: string\noutputs:\n  out:\n    type: string\n    reference: ${n.output}\nnodes:\n" + node
	dir = writeFlow(b, files)
	data = filepath.Join(b.TempDir(), "data.jsonl")
	f, err := os.Create(data)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := 0; i < lines; i++ {
		fmt.Fprintf(w, "{\"text\": %q}\n", text(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return dir, data
}

const pyNode = "- name: n\n  type: python\n  source:\n    type: code\n    path: t.py\n  inputs:\n    text: ${inputs.text}\n"
const promptNode = "- name: n\n  type: prompt\n  source:\n    type: code\n    path: t.jinja2\n  inputs:\n    text: ${inputs.text}\n"

// timed records when the first line finished and when the run started running.
type timed struct {
	mu        sync.Mutex
	firstLine time.Time
	running   time.Time
}

func (t *timed) Report(e workspace.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if e.Kind == workspace.EventLines && e.Done > 0 && t.firstLine.IsZero() {
		t.firstLine = now
	}
	if e.Kind == workspace.EventRunStatus && strings.HasSuffix(e.Message, ": Running") && t.running.IsZero() {
		t.running = now
	}
}

// submitBench resolves a run (untimed, as `run create` does before it
// submits) and submits it; the duration and start are the Submit call's.
func submitBench(b *testing.B, e *env, dir, data, prefix string, i int, rep workspace.Reporter) (*workspace.Run, time.Duration, time.Time) {
	b.Helper()
	b.StopTimer()
	sub := onSharedSession(b, resolve(b, runspec.Flags{Flow: dir, Data: data, Name: fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano(), i)}, dir))
	b.StartTimer()
	start := time.Now()
	r, err := e.ws.Runs().Submit(context.Background(), sub, rep)
	d := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if r.Status != workspace.RunCompleted || r.LinesFailed > 0 {
		b.Fatalf("run %s: %s, %d failed", r.Name, r.Status, r.LinesFailed)
	}
	return r, d, start
}

func BenchmarkLocalPythonLines(b *testing.B) {
	e := need(b)
	helloRun(b)
	dir, data := benchFlow(b, pyNode, map[string]string{"t.py": trivialPy}, 10000, func(i int) string { return "line " + strconv.Itoa(i) })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, d, _ := submitBench(b, e, dir, data, "bench_lines", i, nil)
		b.ReportMetric(float64(r.LinesCompleted)/d.Seconds(), "lines/s")
		b.ReportMetric(float64(d.Microseconds())/float64(r.LinesCompleted), "µs/line")
	}
}

func BenchmarkLocalTimeToFirstLine(b *testing.B) {
	e := need(b)
	helloRun(b)
	dir, data := benchFlow(b, pyNode, map[string]string{"t.py": trivialPy}, 1, func(int) string { return "x" })
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t := &timed{}
		_, _, start := submitBench(b, e, dir, data, "bench_first", i, t)
		total += t.firstLine.Sub(start)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/first-line")
}

func BenchmarkLocalSleepingNode(b *testing.B) {
	e := need(b)
	helloRun(b)
	const lines = 400
	dir, data := benchFlow(b, pyNode, map[string]string{"t.py": "import time\nfrom promptflow.core import tool\n\n@tool\ndef t(text: str) -> str:\n    time.sleep(0.01)\n    return text\n"},
		lines, func(i int) string { return strconv.Itoa(i) })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := &timed{}
		r, d, _ := submitBench(b, e, dir, data, "bench_sleep", i, t)
		workers, _ := strconv.Atoi(r.Properties["pfz.workers"])
		ideal := time.Duration(lines) * 10 * time.Millisecond / time.Duration(workers)
		b.ReportMetric(d.Seconds()/ideal.Seconds(), "×ideal")
		b.ReportMetric(r.EndTime.Sub(t.running).Seconds()/ideal.Seconds(), "×ideal-from-running")
		b.ReportMetric(float64(workers), "workers")
	}
}

// peakRSS reads the process's peak resident set (VmHWM) in MB.
func peakRSS(b *testing.B) float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		part.Missing(b, "no /proc/self/status on this OS: %v", err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

func BenchmarkLocalPeakRSS1GB(b *testing.B) {
	e := need(b)
	helloRun(b)
	row := strings.Repeat("abcdefghij", 1000) // 10 kB a line
	dir, data := benchFlow(b, promptNode, map[string]string{"t.jinja2": "{{ text[:20] }}"}, 100_000, func(int) string { return row })
	// Reset the high-water mark so writing the data does not count.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, d, _ := submitBench(b, e, dir, data, "bench_rss", i, nil)
		b.ReportMetric(peakRSS(b), "MB-peak-RSS")
		b.ReportMetric(float64(r.LinesCompleted)/d.Seconds(), "lines/s")
		b.StopTimer()
		if err := os.RemoveAll(runs(e).Dir(r.Name)); err != nil { // 2 GB of records
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
