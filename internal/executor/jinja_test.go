package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/fakeopenai"
)

// knownJinjaDiffs are the feature groups of testdata/flows/jinja that pfz
// renders differently from promptflow on purpose or for now, with what pfz
// renders (by line) and why. A fix makes the test fail until the entry goes.
var knownJinjaDiffs = map[string]struct {
	why string
	pfz []string
}{}

// TestJinjaFeatureGroups renders every feature group of testdata/flows/jinja
// (one prompt node each) and compares the text with what promptflow 1.18.5
// rendered for the same data (expected.jsonl; golden.py there says how it
// was made).
func TestJinjaFeatureGroups(t *testing.T) {
	cfg, sink := baseConfig(t, "jinja")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := readExpected(t, filepath.Join(cfg.Flow.Dir, "expected.jsonl"))
	if sum.Total != len(want) {
		t.Fatalf("ran %d lines, expected.jsonl has %d", sum.Total, len(want))
	}
	groups := map[string]bool{}
	for n, exp := range want {
		got := sink.lines[n]
		if got.Status != StatusCompleted {
			t.Fatalf("line %d: %s %+v", n, got.Status, got.Error)
		}
		for g, w := range exp {
			if g == "line_number" {
				continue
			}
			groups[g] = true
			out, _ := got.Outputs.Map()[g].(string)
			if d, ok := knownJinjaDiffs[g]; ok {
				if out == w {
					t.Errorf("group %s line %d now renders as promptflow does: drop it from knownJinjaDiffs and docs/jinja.md", g, n)
				} else if out != d.pfz[n] {
					t.Errorf("group %s line %d (a known difference: %s)\n got %q\nlisted %q", g, n, d.why, out, d.pfz[n])
				}
				continue
			}
			if out != w {
				t.Errorf("group %s line %d differs from promptflow:\n got %q\nwant %q", g, n, out, w)
			}
		}
	}
	names, _ := filepath.Glob(filepath.Join(cfg.Flow.Dir, "groups", "*.jinja2"))
	if len(groups) != len(names) || len(names) < 21 {
		t.Errorf("expected.jsonl covers %d groups, groups/ has %d templates (want >= 21): regenerate it (golden.py)", len(groups), len(names))
	}
	var missing []string
	for _, p := range names {
		if g := strings.TrimSuffix(filepath.Base(p), ".jinja2"); !groups[g] {
			missing = append(missing, g)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("groups without expected output: %v", missing)
	}
}

func readExpected(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for k, v := range raw {
			if s, ok := v.(string); ok {
				row[k] = s
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestChatRoleEscaping: role lines inside a flow input do not start chat
// messages of an llm node, directly (chat) or through a prompt node's output
// (chat2, where the prompt template's own role lines still split), and the
// messages sent are the ones promptflow 1.18.5 sent (expected_messages.json).
func TestChatRoleEscaping(t *testing.T) {
	srv := fakeopenai.New(t, "k")
	cfg, sink := baseConfig(t, "escape")
	cfg.Connections = mapResolver{"aoai": {"type": "AzureOpenAI", "api_key": "k", "api_base": srv.URL, "api_version": "2024-02-01"}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Completed != 1 {
		t.Fatalf("summary %+v: %+v", sum, sink.lines[0].Error)
	}
	var want map[string][]map[string]any
	b, err := os.ReadFile(filepath.Join(cfg.Flow.Dir, "expected_messages.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got := map[string][]map[string]any{}
	for _, r := range srv.Requests() {
		msgs := r.Messages()
		if len(msgs) > 0 && msgs[0]["content"] == "Summarize." {
			got["chat2"] = msgs
		} else {
			got["chat"] = msgs
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages differ from promptflow's (-promptflow +pfz):\n%s", diff)
	}
}

// TestRenderErrorMessage: a template that fails while rendering fails the
// line with promptflow's message (pf run create of the same template and
// data printed exactly this), and a syntax error refuses the run before any
// line, naming the template.
func TestRenderErrorMessage(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"t.jinja2":      "{{ q.b.c }}\n",
		"bad.jinja2":    "{% for x in %}\n",
		"data.jsonl":    `{"q": "x"}` + "\n",
		"flow.dag.yaml": "inputs:\n  q:\n    type: string\noutputs:\n  o:\n    type: string\n    reference: ${p.output}\nnodes:\n- name: p\n  type: prompt\n  source: {type: code, path: t.jinja2}\n  inputs: {q: \"${inputs.q}\"}\n",
	})
	f, ds, err := flow.Load(dir)
	if err != nil || ds.HasErrors() {
		t.Fatal(err, ds)
	}
	sink := newRecSink()
	cfg := Config{Flow: f, Python: testPython(t), Data: filepath.Join(dir, "data.jsonl"), Sink: sink, RuntimeDir: filepath.Join(t.TempDir(), "rt")}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	want := "Failed to render jinja template: UndefinedError: 'str object' has no attribute 'b'. Please modify your prompt to fix the issue."
	if e := sink.lines[0].Error; e == nil || e.Message != want || e.Type != "JinjaTemplateError" {
		t.Errorf("line error %+v\nwant message %q", e, want)
	}
	f.Nodes[0].Source.Path = "bad.jinja2"
	_, err = Run(context.Background(), Config{Flow: f, Python: testPython(t), Data: filepath.Join(dir, "data.jsonl"), Sink: newRecSink(), RuntimeDir: filepath.Join(t.TempDir(), "rt")})
	if err == nil || !strings.Contains(err.Error(), "bad.jinja2") || !strings.Contains(err.Error(), "TemplateSyntaxError") {
		t.Errorf("a broken template: %v", err)
	}
}
