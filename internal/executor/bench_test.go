package executor

// Benchmarks the lead publishes (run one at a time, e.g.
//   go test -run '^$' -bench PythonLines -benchtime 1x ./internal/executor/):
//   BenchmarkPythonLines      lines/s of a trivial python node over 10,000 lines (target ≥ 1,000/s on 2 cores)
//   BenchmarkLineOverhead     executor cost per line of a one-prompt-node flow (renders in the worker)
//   BenchmarkRender           one Jinja2 render in a started worker, round trip included
//   BenchmarkTimeToFirstLine  ms from Run to the first finished line on a started pool (target < 300 ms)
//   BenchmarkSleepingNode     run time of a 10 ms node ÷ (lines × 10 ms ÷ workers) (target ≤ 1.3)
//   BenchmarkPeakRSS1GB       peak RSS of the Go process over a 1 GB jsonl (target < 300 MB)

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/flow"
)

type discardSink struct {
	first atomic.Int64 // unix nanos of the first LineDone
	done  atomic.Int64
	fail  atomic.Int64
	tool  atomic.Int64 // nanoseconds the tools reported (output "out" in seconds)
}

func (s *discardSink) LineStarted(int) {}
func (s *discardSink) LineDone(r LineResult) {
	s.first.CompareAndSwap(0, time.Now().UnixNano())
	s.done.Add(1)
	if r.Status != StatusCompleted {
		s.fail.Add(1)
	}
	if n, ok := r.Outputs.Map()["out"].(interface{ Float64() (float64, error) }); ok {
		if f, err := n.Float64(); err == nil {
			s.tool.Add(int64(f * 1e9))
		}
	}
}
func (s *discardSink) NodeRun(NodeRunRecord) {}
func (s *discardSink) Log(LogEntry)          {}
func (s *discardSink) Metric(string, any)    {}

// benchFlow writes a one-node flow into a temp folder and returns it parsed.
func benchFlow(b *testing.B, nodeYAML string, files map[string]string) *flow.Flow {
	b.Helper()
	dir := b.TempDir()
	files["flow.dag.yaml"] = "inputs:\n  text:\n    type: string\noutputs:\n  out:\n    type: string\n    reference: ${n.output}\nnodes:\n" + nodeYAML
	writeFiles(b, dir, files)
	f, ds, err := flow.Load(dir)
	if err != nil || ds.HasErrors() {
		b.Fatal(err, ds)
	}
	return f
}

const pyNode = "- name: n\n  type: python\n  source:\n    type: code\n    path: t.py\n  inputs:\n    text: ${inputs.text}\n"
const promptNode = "- name: n\n  type: prompt\n  source:\n    type: code\n    path: t.jinja2\n  inputs:\n    text: ${inputs.text}\n"

func writeLines(b *testing.B, n int, text func(i int) string) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "data.jsonl")
	fh, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "{\"text\": %q}\n", text(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	fh.Close()
	return p
}

func runBench(b *testing.B, cfg Config) (*Summary, *discardSink, time.Duration) {
	b.Helper()
	sink := &discardSink{}
	cfg.Sink = sink
	start := time.Now()
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if sum.Failed > 0 {
		b.Fatalf("%d lines failed", sum.Failed)
	}
	return sum, sink, time.Since(start)
}

func BenchmarkPythonLines(b *testing.B) {
	py := testPython(b)
	f := benchFlow(b, pyNode, map[string]string{"t.py": "from promptflow.core import tool\n@tool\ndef t(text: str) -> str:\n    return text\n"})
	data := writeLines(b, 10000, func(i int) string { return "line " + strconv.Itoa(i) })
	rt := filepath.Join(b.TempDir(), "rt")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum, _, d := runBench(b, Config{Flow: f, Python: py, Workers: 2, Data: data, RuntimeDir: rt})
		b.ReportMetric(float64(sum.Completed)/d.Seconds(), "lines/s")
	}
}

// BenchmarkDictLines: a python node returns a dict (nested dicts and
// lists, 1 KB as JSON) that a second python node reads: what crossing
// Go<->Python costs for structured values (dict order and tuples kept).
func BenchmarkDictLines(b *testing.B) {
	py := testPython(b)
	const mk = "- name: mk\n  type: python\n  source:\n    type: code\n    path: mk.py\n  inputs:\n    text: ${inputs.text}\n"
	const rd = "- name: n\n  type: python\n  source:\n    type: code\n    path: t.py\n  inputs:\n    d: ${mk.output}\n"
	f := benchFlow(b, mk+rd, map[string]string{
		"mk.py": "from promptflow.core import tool\n@tool\ndef mk(text: str) -> dict:\n" +
			"    return {'text': text, 'n': 1, 'score': 0.5, 'meta': {'model': 'm', 'tags': ['a', 'b']}, " +
			"'docs': [{'id': i, 'title': 'doc %d' % i, 'body': 'some text ' * 8} for i in range(5)]}\n",
		"t.py": "from promptflow.core import tool\n@tool\ndef t(d: dict) -> str:\n    return d['text']\n",
	})
	data := writeLines(b, 5000, func(i int) string { return "line " + strconv.Itoa(i) })
	rt := filepath.Join(b.TempDir(), "rt")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum, _, d := runBench(b, Config{Flow: f, Python: py, Workers: 2, Data: data, RuntimeDir: rt})
		b.ReportMetric(float64(sum.Completed)/d.Seconds(), "lines/s")
	}
}

func BenchmarkLineOverhead(b *testing.B) {
	f := benchFlow(b, promptNode, map[string]string{"t.jinja2": "{{text}}"})
	const lines = 20000
	data := writeLines(b, lines, func(i int) string { return "line " + strconv.Itoa(i) })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _, d := runBench(b, Config{Flow: f, Workers: 2, Data: data, Python: testPython(b), RuntimeDir: filepath.Join(b.TempDir(), "rt")})
		b.ReportMetric(float64(d.Microseconds())/lines, "µs/line")
	}
}

// BenchmarkRender: one render of a prompt template by Jinja2 in a started
// worker, round trip included (the classify example's detailed prompt).
func BenchmarkRender(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "flows", "classify", "detailed.jinja2"))
	if err != nil {
		b.Fatal(err)
	}
	pool, err := NewPool(context.Background(), PoolConfig{Python: testPython(b), Dir: b.TempDir(), Size: 1, RuntimeDir: filepath.Join(b.TempDir(), "rt")})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	vars := map[string]any{"review": "The battery died after two days and support never answered.", "labels": []any{"positive", "negative"}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, terr, err := pool.Render(context.Background(), string(src), vars); err != nil || terr != nil {
			b.Fatal(err, terr)
		}
	}
}

func BenchmarkTimeToFirstLine(b *testing.B) {
	py := testPython(b)
	f := benchFlow(b, pyNode, map[string]string{"t.py": "from promptflow.core import tool\n@tool\ndef t(text: str) -> str:\n    return text\n"})
	data := writeLines(b, 1, func(int) string { return "x" })
	pool, err := NewPool(context.Background(), PoolConfig{Python: py, Dir: f.Dir, Size: 2, RuntimeDir: filepath.Join(b.TempDir(), "rt")})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		_, sink, _ := runBench(b, Config{Flow: f, Workers: 2, Data: data, Pool: pool})
		total += time.Unix(0, sink.first.Load()).Sub(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-line")
}

func BenchmarkSleepingNode(b *testing.B) {
	py := testPython(b)
	f := benchFlow(b, pyNode, map[string]string{"t.py": "import time\nfrom promptflow.core import tool\n@tool\ndef t(text: str) -> float:\n    t0 = time.perf_counter()\n    time.sleep(0.01)\n    return time.perf_counter() - t0\n"})
	const lines, workers = 400, 2
	data := writeLines(b, lines, func(i int) string { return strconv.Itoa(i) })
	rt := filepath.Join(b.TempDir(), "rt")
	pool, err := NewPool(context.Background(), PoolConfig{Python: py, Dir: f.Dir, Size: workers, RuntimeDir: rt})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ideal := time.Duration(lines) * 10 * time.Millisecond / workers
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, sink, d := runBench(b, Config{Flow: f, Workers: workers, Data: data, Pool: pool})
		b.ReportMetric(d.Seconds()/ideal.Seconds(), "×ideal")
		// time.sleep(0.01) itself often takes 11-16 ms on a VM; this ratio
		// uses what the sleeps really took, so it shows pfz's own overhead.
		b.ReportMetric(d.Seconds()/(float64(sink.tool.Load())/1e9/workers), "×slept")
	}
}

// peakRSS reads the process's peak resident set (VmHWM) in MB.
func peakRSS(b *testing.B) float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status on this OS")
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

func BenchmarkPeakRSS1GB(b *testing.B) {
	f := benchFlow(b, promptNode, map[string]string{"t.jinja2": "{{ text[:20] }}"})
	row := strings.Repeat("abcdefghij", 1000) // 10 kB per line
	data := writeLines(b, 100_000, func(i int) string { return row })
	// Reset the high-water mark so writing the file does not count.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum, _, d := runBench(b, Config{Flow: f, Workers: 2, Data: data})
		b.ReportMetric(peakRSS(b), "MB-peak-RSS")
		b.ReportMetric(float64(sum.Completed)/d.Seconds(), "lines/s")
	}
}
