package flow_test

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

// The conformance test checks flow validation against promptflow's own
// fixture corpus (../shared/conformance/promptflow, MANIFEST.tsv). How each
// expect code of pfazure-surface.md §6 is treated:
//
//	V, V-rt, V-env, V (chat-test X), N/A+V   a flow: Check must give no error
//	X-exec, X-cli, X-cli (…) / X-exec (run)  a flow: Check must give an error with one of
//	                                         the codes in wantCodes (the right kind)
//	X-exec (batch)                           as X-exec, validated with Batch: true
//	?                                        judged here (judged below), else skipped
//	N/A                                      not a flow: Resolve on the folder must fail
//	artefact                                 a run record: its snapshot/flow.dag.yaml, if any, is a V flow
//	data, support                            not flows: skipped
//	rows under runs/ ending in .yaml         run.yml files: internal/runspec checks them; skipped
//
// A fixture folder without a default flow file (wrong_flows/source_file_missing)
// has each of its *.yaml files checked. Code files that MANIFEST lists as
// omitted count as present (ValidateOptions.Exists), wherever they are
// referenced from (additional_includes reach into other fixtures).
//
// The flows are validated in promptflow's test environment: the connections
// and package tools that its CI has (testEnv below). Checks that need that
// knowledge are off in pfz unless the caller supplies it, so the table also
// shows the result without it (the "offline" column), for information.

// wantCodes names, for each fixture expected to fail, the diagnostic codes
// that are the right kind of error.
var wantCodes = map[string][]string{
	"wrong_flows/aggregation_activate_reference_non_aggregation": {flow.CodeAggActivateRef},
	"wrong_flows/assistant_package_tool_wrong_source_type":       {flow.CodeAssistantSourceType},
	"wrong_flows/assistant_package_tool_wrong_tool":              {flow.CodeUnknownTool},
	"wrong_flows/assistant_python_tool_wrong_path":               {flow.CodeAssistantToolFile},
	"wrong_flows/flow_input_reference_invalid":                   {flow.CodeUnknownInputRef},
	"wrong_flows/flow_llm_with_wrong_conn":                       {flow.CodeConnectionType},
	"wrong_flows/flow_output_reference_invalid":                  {flow.CodeEmptyOutputRef},
	"wrong_flows/invalid_activate_config":                        {flow.CodeInvalidActivate},
	"wrong_flows/invalid_connection":                             {flow.CodeConnectionMissing},
	"wrong_flows/node_circular_dependency":                       {flow.CodeNodeCycle},
	"wrong_flows/node_missing_type_or_source":                    {flow.CodeMissingNodeType, flow.CodeMissingSource},
	"wrong_flows/node_reference_not_found":                       {flow.CodeUnknownNodeRef},
	"wrong_flows/nodes_cycle":                                    {flow.CodeNodeCycle},
	"wrong_flows/nodes_cycle_with_activate":                      {flow.CodeNodeCycle},
	"wrong_flows/nodes_names_duplicated":                         {flow.CodeDuplicateNode},
	"wrong_flows/non_aggregation_reference_aggregation":          {flow.CodeAggregationRef},
	"wrong_flows/outputs_reference_not_valid":                    {flow.CodeUnknownNodeRef},
	"wrong_flows/outputs_with_invalid_flow_inputs_ref":           {flow.CodeUnknownInputRef},
	"wrong_flows/source_file_missing":                            {flow.CodeSourceNotFound},
	"wrong_flows/tool_type_missing":                              {flow.CodeMissingNodeType},
	"wrong_flows/wrong_api":                                      {flow.CodeUnknownLLMAPI},
	"wrong_flows/wrong_module":                                   {flow.CodeInvalidModule},
	"wrong_flows/wrong_node_reference":                           {flow.CodeUnknownNodeRef},
	"wrong_flows/wrong_package_in_package_tools":                 {flow.CodeUnknownTool},
	"wrong_flows/wrong_tool_in_package_tools":                    {flow.CodeUnknownTool},
	"flows/llm_tool_with_duplicated_inputs":                      {flow.CodeTemplateConflict},
	"flows/prompt_tool_with_duplicated_inputs":                   {flow.CodeTemplateConflict},
	"flows/no_inputs_outputs":                                    {flow.CodeNoInputs},
	"flows/web_classification_invalid":                           {flow.CodeMissingInputType, flow.CodeMissingOutputType},
	"flows/web_classification_with_invalid_additional_include":   {flow.CodeIncludeNotFound},
}

// judged gives the verdict for rows whose expect is "?", with the reason.
var judged = map[string]struct {
	expect, why string
	codes       []string
}{
	"wrong_flows/node_condition_conflict": {"X", "`skip` is ignored (legacy-skip warning), but the fixture ships no test.py, so the node's tool cannot load", []string{flow.CodeSourceNotFound}},
	"wrong_flows/wrong_provider":          {"V", "the provider is taken from the connection's type at run time; pfz only warns (unknown-llm-provider)", nil},
}

// disagreements are the rows where pfz knowingly differs from the corpus,
// with the reason. The test fails on any disagreement not listed here, and on
// a listed one that no longer disagrees.
var disagreements = map[string]string{
	"flows/flow-with_tool_settings": "output `result` references node hello_world, which the flow does not have; upstream only generates tool " +
		"metadata from this fixture and never runs it, the executor would reject it (OutputReferenceNotFound)",
	"flows/llm_tool_non_existing_connection": "V-rt because the run fails on the missing connection; with the workspace's connections known, " +
		"pfz reports that before submitting (like wrong_flows/invalid_connection, which the corpus marks X-exec)",
	"flows/meta_files": "the fixture ships no grade.py or calculate_accuracy.py (MANIFEST lists none as omitted); upstream only reads " +
		"its YAML, and running it would fail with InvalidSource",
	"flows/unordered_nodes": "the fixture ships no test.py (MANIFEST lists none as omitted); upstream only sorts its nodes " +
		"(test_flow_validator), running it would fail with InvalidSource",
	"flows/unordered_nodes_with_activate": "as unordered_nodes: no test.py in the fixture; used only for node ordering upstream",
	"flows/unordered_nodes_with_skip":     "as unordered_nodes: no test.py in the fixture; used only for node ordering upstream",
}

// testEnv models promptflow's CI environment: its connections
// (dev-connections.json) and the package tools installed there
// (promptflow-tools, the test package my_tool_package, the C# sample).
var testConnections = map[string]string{
	"azure_open_ai_connection":      "AzureOpenAI",
	"open_ai_connection":            "OpenAI",
	"aoai_assistant_connection":     "AzureOpenAI",
	"custom_connection":             "Custom",
	"custom_strong_type_connection": "Custom",
	"serp_connection":               "Serp",
}

var testTools = map[string]bool{
	"promptflow.tools.serpapi.SerpAPI.search":                               true,
	"promptflow.tools.azure_translator.get_translation":                     true,
	"promptflow.tools.azure_content_safety.analyze_text":                    true,
	"promptflow.tools.azure_detect.get_language":                            true,
	"promptflow.tools.embedding.embedding":                                  true,
	"promptflow.tools.open_model_llm.OpenModelLLM.call":                     true,
	"promptflow.tools.openai_gpt4v.OpenAI.chat":                             true,
	"promptflow.tools.azure_openai_gpt4v.AzureOpenAI.chat":                  true,
	"my_tool_package.tools.my_tool_1.my_tool":                               true,
	"my_tool_package.tools.my_tool_2.MyTool.my_tool":                        true,
	"my_tool_package.tools.tool_with_custom_strong_type_connection.my_tool": true,
	"communicate.Communication.say_hello":                                   true,
	"(Basic)Basic.Flow.HelloWorld":                                          true,
}

type manifestRow struct {
	fixture, expect string
	omitted         []string
}

func readManifest(t *testing.T, file string) []manifestRow {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 {
			continue
		}
		r := manifestRow{fixture: cols[0], expect: cols[1]}
		for _, o := range strings.Split(cols[2], ";") {
			if o = strings.TrimSpace(o); o != "" {
				r.omitted = append(r.omitted, o)
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

type verdict struct {
	fixture, expect, treat string
	env, offline           string // "ok" or what went wrong
	errors                 []string
	note                   string
}

func TestConformancePromptflowCorpus(t *testing.T) {
	root := shared.Path(t, "conformance", "promptflow")
	configs := filepath.Join(root, "test_configs")
	rows := readManifest(t, filepath.Join(root, "MANIFEST.tsv"))
	if len(rows) == 0 {
		t.Fatal("MANIFEST.tsv has no rows")
	}
	omitted := map[string]bool{}
	for _, r := range rows {
		for _, o := range r.omitted {
			omitted[path.Join(r.fixture, o)] = true
		}
	}
	options := func(fixtureDir string, batch, env bool) flow.ValidateOptions {
		o := flow.ValidateOptions{
			Batch: batch,
			Exists: func(rel string) bool {
				p := path.Join(fixtureDir, rel)
				if omitted[p] {
					return true
				}
				_, err := os.Stat(filepath.Join(configs, filepath.FromSlash(p)))
				return err == nil
			},
		}
		if env {
			o.Connection = func(name string) (string, bool) { typ, ok := testConnections[name]; return typ, ok }
			o.Tool = func(id string) bool { return testTools[id] }
		}
		return o
	}

	var table []verdict
	for _, r := range rows {
		v := verdict{fixture: r.fixture, expect: r.expect}
		abs := filepath.Join(configs, filepath.FromSlash(r.fixture))
		_, statErr := os.Stat(abs)
		expect := r.expect
		var codes []string
		batch := false
		switch {
		case strings.HasPrefix(r.fixture, "runs/") && strings.HasSuffix(r.fixture, ".yaml"),
			r.fixture == "runs/illegal":
			v.treat, v.note = "skip", "run.yml (internal/runspec)"
			table = append(table, v)
			continue
		case expect == "data" || expect == "support" || strings.HasPrefix(r.fixture, "datas/"):
			v.treat, v.note = "skip", "not a flow"
			table = append(table, v)
			continue
		case expect == "?":
			j, ok := judged[r.fixture]
			if !ok {
				v.treat, v.note = "skip", "outcome not asserted upstream and not a flow"
				table = append(table, v)
				continue
			}
			expect, codes, v.note = j.expect, j.codes, "judged: "+j.why
		case expect == "N/A":
			v.treat = "not-a-flow"
			if statErr != nil {
				v.env, v.offline, v.note = "ok", "ok", "absent from the corpus"
			} else if _, err := flow.Resolve(abs); err == nil {
				v.env, v.offline = "Resolve found a flow file", "Resolve found a flow file"
			} else {
				v.env, v.offline = "ok", "ok"
			}
			table = append(table, v)
			continue
		case expect == "artefact":
			abs = filepath.Join(abs, "snapshot")
			r.fixture = path.Join(r.fixture, "snapshot")
			if _, err := os.Stat(filepath.Join(abs, "flow.dag.yaml")); err != nil {
				v.treat, v.note = "skip", "run record without a snapshot flow"
				table = append(table, v)
				continue
			}
			expect = "V"
			v.note = "snapshot/flow.dag.yaml"
		case expect == "X-exec (batch)":
			expect, batch = "X", true
		case strings.HasPrefix(expect, "X"):
			expect = "X"
		case strings.HasPrefix(expect, "V"), expect == "N/A+V":
			expect = "V"
		default:
			t.Errorf("%s: unknown expect code %q; teach this test how to treat it", r.fixture, r.expect)
			continue
		}
		if statErr != nil {
			t.Errorf("%s: fixture listed in MANIFEST.tsv is missing: %v", r.fixture, statErr)
			continue
		}
		if expect == "X" && codes == nil {
			codes = wantCodes[strings.TrimSuffix(r.fixture, "/snapshot")]
			if codes == nil {
				t.Errorf("%s: expected to fail but wantCodes does not say which diagnostic is the right kind", r.fixture)
				continue
			}
		}
		v.treat = expect
		files := flowFiles(t, abs)
		for _, mode := range []bool{true, false} {
			result := "ok"
			for _, file := range files {
				_, ds, err := flow.Check(file, options(r.fixture, batch, mode))
				if err != nil {
					result = "load failed: " + err.Error()
					break
				}
				if mode {
					for _, d := range ds.Errors() {
						v.errors = append(v.errors, d.Code)
					}
				}
				if res := judge(expect, codes, ds); res != "ok" {
					result = filepath.Base(file) + ": " + res
					break
				}
			}
			if mode {
				v.env = result
			} else {
				v.offline = result
			}
		}
		table = append(table, v)
	}

	// Report.
	counts := map[string][2]int{}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-72s %-24s %-10s %-5s %-7s %s\n", "fixture", "expect", "treated", "env", "offline", "errors / note")
	for _, v := range table {
		c := counts[v.treat]
		if v.treat != "skip" {
			c[0]++
			if v.env == "ok" {
				c[1]++
			}
		}
		counts[v.treat] = c
		envMark, offMark := mark(v.env), mark(v.offline)
		detail := strings.Join(uniq(v.errors), ",")
		if v.note != "" {
			detail = strings.TrimPrefix(detail+"; "+v.note, "; ")
		}
		if why, known := disagreements[v.fixture]; known && v.env != "ok" {
			envMark = "≠"
			detail += " — known disagreement: " + why
		} else if v.env != "ok" && v.env != "" {
			detail += " [" + v.env + "]"
		}
		fmt.Fprintf(&b, "%-72s %-24s %-10s %-5s %-7s %s\n", v.fixture, v.expect, v.treat, envMark, offMark, detail)
	}
	checked, agreed, offAgreed := 0, 0, 0
	for _, v := range table {
		if v.treat == "skip" {
			continue
		}
		checked++
		if v.env == "ok" {
			agreed++
		}
		if v.offline == "ok" {
			offAgreed++
		}
	}
	treats := make([]string, 0, len(counts))
	for k := range counts {
		treats = append(treats, k)
	}
	sort.Strings(treats)
	fmt.Fprintf(&b, "\nrows %d, checked %d, agree %d (%.1f%%) in promptflow's test environment, %d known disagreements (≠, reasons above); %d agree without connection/tool knowledge\n",
		len(table), checked, agreed, 100*float64(agreed)/float64(max(checked, 1)), checked-agreed, offAgreed)
	for _, k := range treats {
		fmt.Fprintf(&b, "  %-10s %d checked, %d agree\n", k, counts[k][0], counts[k][1])
	}
	t.Log(b.String())

	for _, v := range table {
		if v.treat == "skip" {
			continue
		}
		why, known := disagreements[v.fixture]
		switch {
		case v.env != "ok" && !known:
			t.Errorf("%s (expect %s): disagrees: %s", v.fixture, v.expect, v.env)
		case v.env == "ok" && known:
			t.Errorf("%s: listed as a known disagreement (%s) but now agrees; remove it from the list", v.fixture, why)
		}
	}
}

// flowFiles returns the flow file of a fixture, or each YAML file of a folder
// that has none of the default names.
func flowFiles(t *testing.T, abs string) []string {
	t.Helper()
	if file, err := flow.Resolve(abs); err == nil {
		return []string{file}
	}
	var out []string
	entries, err := os.ReadDir(abs)
	if err != nil {
		t.Fatalf("%s: %v", abs, err)
	}
	for _, e := range entries {
		if ext := strings.ToLower(filepath.Ext(e.Name())); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			out = append(out, filepath.Join(abs, e.Name()))
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no flow file", abs)
	}
	return out
}

func judge(expect string, codes []string, ds diag.List) string {
	errs := ds.Errors()
	if expect == "V" {
		if len(errs) == 0 {
			return "ok"
		}
		return "unexpected error: " + errs[0].String()
	}
	for _, d := range errs {
		for _, c := range codes {
			if d.Code == c {
				return "ok"
			}
		}
	}
	if len(errs) == 0 {
		return "no error, want " + strings.Join(codes, " or ")
	}
	return fmt.Sprintf("errors %v, want %s", uniqCodes(errs), strings.Join(codes, " or "))
}

func uniqCodes(ds diag.List) []string {
	var codes []string
	for _, d := range ds {
		codes = append(codes, d.Code)
	}
	return uniq(codes)
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func mark(s string) string {
	switch s {
	case "ok":
		return "✓"
	case "":
		return "-"
	}
	return "✗"
}
