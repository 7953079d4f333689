package flowcmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Tester prepares a flow to run single lines in its session; the local
// workspace implements it.
type Tester interface {
	TestFlow(ctx context.Context, sub *workspace.Submission, sink executor.Sink, rep workspace.Reporter) (executor.LineRunner, error)
}

// TestOptions are the inputs of `flow test`.
type TestOptions struct {
	IO      *iostreams.IOStreams
	Getenv  func(string) string
	WorkDir string
	// Open returns the local workspace's tester: flow test always runs the
	// flow on this machine, whatever the target.
	Open func(ctx context.Context) (Tester, error)
	// Alias is the user part of the session id (the OS user).
	Alias func() (string, error)

	Path        string   // flow folder or file ("." when empty)
	Inputs      []string // KEY=VALUE
	InputFile   string   // a .json object or the first line of a .jsonl
	Node        string
	Variant     string
	Init        []string
	Env         []string
	Interactive bool
	Format      string // -o: json (the default) or yaml
}

// NewCmdTest returns `flow test`.
func NewCmdTest(f *cmdutil.Factory, runF func(context.Context, *TestOptions) error) *cobra.Command {
	opts := &TestOptions{IO: f.IOStreams, Getenv: f.Getenv, WorkDir: f.WorkDir, Alias: cmdutil.OSUserAlias}
	opts.Open = func(ctx context.Context) (Tester, error) {
		cfg, err := f.ConfigFor(config.KeyHome, config.KeyPython)
		if err != nil {
			return nil, err
		}
		open := f.Backends[workspace.TargetLocal]
		if open == nil {
			return nil, fault.New(fault.Unsupported, "this build of pfz has no local target")
		}
		ws, err := open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		t, ok := ws.(Tester)
		if !ok {
			return nil, fault.New(fault.Unsupported, "the local target cannot test flows")
		}
		return t, nil
	}
	cmd := &cobra.Command{
		Use:   "test [FLOW] [--inputs KEY=VALUE... | --input FILE] [--node NAME] [--variant ${NODE.VARIANT}] [--init KEY=VALUE...] [--interactive]",
		Short: "Run one line through a flow in its session",
		Long: `Run one line through a flow (DAG or flex) on this machine, in the flow's
local session (started when it is not running, and kept for the next test
and run). The outputs are printed on stdout as one JSON document; each
node's status, duration and, for llm nodes, token counts go to stderr, with
what the flow's code prints. A flex flow's generator output streams to
stderr as it is produced.

Inputs missing from --inputs take the flow's defaults; with no inputs
given, a flex flow uses its sample.inputs and a .prompty file its sample.
--node runs one node of a DAG flow: --inputs then give the flow inputs it
reads (name=... or inputs.name=...), the outputs of the nodes it reads
(node.output=...) or its own inputs by name. --interactive is a chat loop for chat flows: each answer is added to
chat_history for the next question; an empty line or end of input ends it.`,
		Example: `  pfz flow test
  pfz flow test ./my_flow --inputs question="What is prompt flow?"
  pfz flow test ./my_flow --input sample.json -o yaml
  pfz flow test chat.prompty --inputs question="What is prompt flow?"
  pfz flow test ./my_flow --node summarize --inputs fetch.output="some text"
  pfz flow test ./my_flex_flow --init model=gpt-4o --inputs text=hello
  pfz flow test ./chat_flow --interactive`,
		Args: cmdutil.MaximumArgs(1, "the flow folder or file"),
		RunE: func(c *cobra.Command, args []string) error {
			path, err := flowPath(args, "flow", opts.Path)
			if err != nil {
				return err
			}
			opts.Path = path
			opts.Format = f.Global.Output
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runTest(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	pathFlag(cmd, "flow", &opts.Path)
	fl.StringArrayVar(&opts.Inputs, "inputs", nil, "flow inputs as `KEY=VALUE`...")
	fl.StringVar(&opts.InputFile, "input", "", "flow inputs from a `FILE`: a .json object or the first line of a .jsonl")
	fl.StringVar(&opts.Node, "node", "", "run only the node `NAME` (DAG flows)")
	fl.StringVar(&opts.Variant, "variant", "", "the node variant `${NODE.VARIANT}` to use")
	fl.StringArrayVar(&opts.Init, "init", nil, "flex flow __init__ arguments: `KEY=VALUE`... or one .json/.jsonl file")
	fl.StringArrayVar(&opts.Env, "environment-variables", nil, "environment variables `KEY=VALUE`... or a .env file")
	fl.BoolVar(&opts.Interactive, "interactive", false, "chat with a chat flow, keeping chat_history")
	for _, n := range []string{"inputs", "init", "environment-variables"} {
		cmdutil.MarkNargs(cmd, n, false)
	}
	return cmd
}

func runTest(ctx context.Context, opts *TestOptions) error {
	format := opts.Format
	if format == "" || format == config.OutputTable {
		format = config.OutputJSON
	}
	if opts.Interactive && opts.Node != "" {
		return fault.New(fault.Usage, "--interactive and --node cannot be used together").
			WithHint("test the node alone, or chat with the whole flow")
	}
	if len(opts.Inputs) > 0 && opts.InputFile != "" {
		return fault.New(fault.Usage, "give --inputs or --input, not both").
			WithHint("put every input in the file, or all of them after --inputs")
	}
	inputs, err := testInputs(opts)
	if err != nil {
		return err
	}
	sub, err := resolveForTest(ctx, opts)
	if err != nil {
		return err
	}
	tester, err := opts.Open(ctx)
	if err != nil {
		return err
	}
	sink := &testSink{w: opts.IO.ErrOut, cs: opts.IO.ColorScheme()}
	rep := cmdutil.NewReporter(opts.IO)
	rep.DropLogs = true
	lr, err := tester.TestFlow(ctx, sub, sink, rep)
	rep.Stop()
	if err != nil {
		return err
	}
	defer lr.Close()
	if opts.Interactive {
		return chat(ctx, opts, lr, sink, inputs)
	}
	var onChunk func(any)
	if opts.Node == "" {
		onChunk = sink.chunk
	}
	res := lr.Line(ctx, executor.LineTest{Inputs: inputs, Node: opts.Node, OnChunk: onChunk})
	sink.endStream()
	if res.Status != executor.StatusCompleted {
		return lineFailure(res)
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s %s in %s\n", opts.IO.ColorScheme().Green("✓"), testedWhat(opts), ms(res.End.Sub(res.Start)))
	out := res.Outputs // in the flow's order, as promptflow prints them
	if out == nil {
		out = pyjson.Object{}
	}
	return cmdutil.WriteDocument(opts.IO.Out, format, "", out)
}

// ms shows a duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func testedWhat(opts *TestOptions) string {
	if opts.Node != "" {
		return "node " + opts.Node
	}
	return "the flow"
}

// lineFailure is the error of a failed line: its message, the traceback's
// last line as the hint.
func lineFailure(res executor.LineResult) error {
	e := res.Error
	if e == nil {
		return fault.New(fault.Failed, "the line ended %s", res.Status)
	}
	kind := fault.Failed
	if e.Code == executor.CodeInput {
		kind = fault.Validation
	}
	fe := fault.New(kind, "%s", e.Message)
	if e.Traceback != "" {
		fe.Hint = "the traceback is above; it ends with: " + lastLine(e.Traceback)
	}
	return fe
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// resolveForTest resolves the flow as `run create` does (snapshot, session
// id, init, variant, environment variables), without data.
func resolveForTest(ctx context.Context, opts *TestOptions) (*workspace.Submission, error) {
	path := opts.Path
	if path == "" {
		path = "."
	}
	flags := runspec.Flags{Flow: path, Variant: opts.Variant, Init: opts.Init, EnvironmentVariables: opts.Env,
		EnvironmentVariablesGiven: len(opts.Env) > 0}
	spec, ds, err := runspec.Load(runspec.LoadOptions{Flags: flags, CWD: opts.WorkDir, LookupEnv: lookupEnv(opts.Getenv), SingleLine: true})
	printDiags(opts.IO, ds)
	if err != nil {
		return nil, err
	}
	alias, err := opts.Alias()
	if err != nil {
		return nil, err
	}
	sub, _, rds, err := spec.Resolve(ctx, runspec.ResolveOptions{UserAlias: alias, SingleLine: true})
	printDiags(opts.IO, rds)
	if err != nil {
		return nil, err
	}
	return sub, nil
}

func printDiags(ios *iostreams.IOStreams, ds diag.List) {
	for _, d := range ds {
		if d.Severity == diag.Info {
			continue
		}
		fmt.Fprintln(ios.ErrOut, cmdutil.FormatDiagnostic(ios.ColorScheme(), d))
	}
}

// testInputs reads --inputs or --input.
func testInputs(opts *TestOptions) (map[string]any, error) {
	if opts.InputFile != "" {
		return readInputFile(filepath.Join(opts.WorkDir, opts.InputFile), opts.InputFile)
	}
	kvs, err := cmdutil.ParseKeyValues(cmdutil.KVFlag{Name: "--inputs", Example: "question=\"What is prompt flow?\""}, opts.Inputs)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, kv := range kvs {
		out[kv.Key] = kv.Value
	}
	return out, nil
}

func readInputFile(path, shown string) (map[string]any, error) {
	if filepath.IsAbs(shown) {
		path = shown
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fault.Wrap(fault.Usage, err, "cannot read the input file %s", shown).
			WithHint("give a .json file holding an object of inputs, or a .jsonl file (its first line is used)")
	}
	if strings.EqualFold(filepath.Ext(path), ".jsonl") {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				b = line
				break
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fault.New(fault.Usage, "the input file %s must hold a JSON object of inputs", shown).
			WithHint("for example {\"question\": \"What is prompt flow?\"}")
	}
	return m, nil
}

func chunkText(c any) string {
	if s, ok := c.(string); ok {
		return s
	}
	b, _ := pyjson.Marshal(c)
	return string(b)
}

// testSink prints node runs and what the flow's code prints on stderr.
type testSink struct {
	mu sync.Mutex
	w  io.Writer
	cs iostreams.ColorScheme
	// open is set while streamed chunks end without a newline; the next
	// line printed starts on a line of its own.
	open bool
}

// chunk prints one streamed item as it arrives.
func (s *testSink) chunk(c any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := chunkText(c)
	fmt.Fprint(s.w, t)
	if t != "" {
		s.open = !strings.HasSuffix(t, "\n")
	}
}

func (s *testSink) endStream() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newline()
}

// newline ends an open stream; the caller holds mu.
func (s *testSink) newline() {
	if s.open {
		fmt.Fprintln(s.w)
		s.open = false
	}
}

func (s *testSink) LineStarted(int)              {}
func (s *testSink) LineDone(executor.LineResult) {}
func (s *testSink) Metric(name string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newline()
	b, _ := pyjson.Marshal(v) // a NaN metric prints NaN
	fmt.Fprintf(s.w, "metric %s = %s\n", name, b)
}

func (s *testSink) NodeRun(r executor.NodeRunRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newline()
	mark := s.cs.Green("✓")
	switch r.Status {
	case executor.StatusFailed:
		mark = s.cs.Red("✗")
	case executor.StatusBypassed:
		mark = "-"
	}
	line := fmt.Sprintf("%s %s  %s  %s", mark, r.Node, r.Status, ms(r.End.Sub(r.Start)))
	if t := r.Tokens; t != nil {
		line += fmt.Sprintf("  tokens: %d prompt + %d completion = %d", t.PromptTokens, t.CompletionTokens, t.TotalTokens)
	}
	fmt.Fprintln(s.w, line)
	if r.Error != nil && r.Error.Traceback != "" {
		fmt.Fprintln(s.w, strings.TrimRight(r.Error.Traceback, "\n"))
	}
}

func (s *testSink) Log(e executor.LogEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newline()
	if e.Node == "" {
		if e.Stream == "pfz" {
			return
		}
		fmt.Fprintln(s.w, e.Text)
		return
	}
	fmt.Fprintf(s.w, "[%s] %s\n", e.Node, e.Text)
}

// ---- interactive chat

// chatShape is how a chat flow takes a question and history and gives an answer.
type chatShape struct {
	input, history, output string
}

func chatShapeOf(f *flow.Flow) (chatShape, error) {
	var cs chatShape
	for _, in := range f.Inputs {
		switch {
		case in.IsChatHistory != nil && *in.IsChatHistory, in.IsChatHistory == nil && in.Name == "chat_history":
			cs.history = in.Name
		case in.IsChatInput:
			cs.input = in.Name
		}
	}
	if cs.input == "" {
		// A flex flow: the one input besides chat_history without a default.
		var cands []string
		for _, in := range f.Inputs {
			if in.Name != cs.history && !in.HasDefault {
				cands = append(cands, in.Name)
			}
		}
		if len(cands) == 1 {
			cs.input = cands[0]
		}
	}
	for _, o := range f.Outputs {
		if o.IsChatOutput {
			cs.output = o.Name
		}
	}
	if cs.output == "" && len(f.Outputs) == 1 {
		cs.output = f.Outputs[0].Name
	}
	if cs.input == "" || cs.history == "" {
		return cs, fault.New(fault.Usage, "%s is not a chat flow: it needs a chat input and a chat_history input", f.File).
			WithHint("mark them with is_chat_input: true and is_chat_history: true (a flex flow takes a chat_history parameter), or test without --interactive")
	}
	return cs, nil
}

func chat(ctx context.Context, opts *TestOptions, lr executor.LineRunner, sink *testSink, base map[string]any) error {
	cs, err := chatShapeOf(lr.Flow())
	if err != nil {
		return err
	}
	ios := opts.IO
	fmt.Fprintf(ios.ErrOut, "Chat with %s: type a question, an empty line (or end of input) ends the chat.\n", filepath.Base(lr.Flow().Dir))
	in := bufio.NewScanner(ios.In)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	history := []any{}
	for {
		fmt.Fprint(ios.ErrOut, "User: ")
		if !in.Scan() {
			fmt.Fprintln(ios.ErrOut)
			return in.Err()
		}
		q := strings.TrimSpace(in.Text())
		if q == "" {
			return nil
		}
		inputs := map[string]any{}
		for k, v := range base {
			inputs[k] = v
		}
		inputs[cs.input] = q
		inputs[cs.history] = history
		fmt.Fprint(ios.Out, "Bot: ")
		streamed := false
		res := lr.Line(ctx, executor.LineTest{Inputs: inputs, OnChunk: func(c any) {
			streamed = true
			fmt.Fprint(ios.Out, chunkText(c))
		}})
		if res.Status != executor.StatusCompleted {
			fmt.Fprintln(ios.Out)
			return lineFailure(res)
		}
		answer := answerOf(res.Outputs, cs.output)
		if !streamed {
			fmt.Fprint(ios.Out, chunkText(answer))
		}
		fmt.Fprintln(ios.Out)
		outKey := cs.output
		if outKey == "" {
			outKey = "output"
		}
		if k := lr.Flow().Kind; k == flow.KindFlex || k == flow.KindPrompty {
			// promptflow keeps a flex flow's and a prompty's history as
			// OpenAI messages, a DAG flow's as inputs and outputs.
			history = append(history,
				map[string]any{"role": "user", "content": q},
				map[string]any{"role": "assistant", "content": answer})
		} else {
			history = append(history, map[string]any{
				"inputs":  map[string]any{cs.input: q},
				"outputs": map[string]any{outKey: answer},
			})
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func answerOf(out pyjson.Object, key string) any {
	if key != "" {
		if v, ok := out.Get(key); ok {
			return v
		}
	}
	if v, ok := out.Get("output"); ok {
		return v
	}
	if len(out) == 1 {
		return out[0].Value
	}
	return out
}
