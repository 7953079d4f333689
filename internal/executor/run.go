package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pfz-cli/pfz/internal/dataset"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/prompty"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

const defaultLineTimeout = 600 * time.Second

// node is a prepared node of the run.
type node struct {
	def      flow.Node
	deps     []string // nodes it reads (inputs and activate.when)
	tmpl     string   // the Jinja2 template of a prompt or llm node
	src      ToolSource
	info     *ToolInfo
	connArgs map[string]bool // python parameters that take a connection
}

type runner struct {
	cfg   Config
	f     *flow.Flow
	dir   string
	nodes map[string]*node
	order []string // line nodes, topological
	aggs  []string // aggregation nodes, topological
	pool  *Pool
	// renderOnly: the workers only render templates (no python nodes), so
	// lines need not wait for a free worker.
	renderOnly bool
	env        []string // the workers' environment
	timeout    time.Duration
	http       *http.Client
	sink       *lockedSink

	connMu sync.Mutex
	conns  map[string]map[string]string

	// values kept for aggregation nodes, by line number
	aggMu     sync.Mutex
	aggInputs map[int]map[string]any // line -> ref string -> value
	aggRefs   []flow.Value           // the references aggregation nodes read from lines
	metrics   pyjson.Object

	// entry runs the lines of a flow that is not a DAG (flex; prompty plugs
	// in the same way); nil for a DAG flow. entryOutputs keeps the completed
	// lines' outputs when the entry aggregates them.
	entry        lineEntry
	entryOutputs map[int]pyjson.Object
	// mapAllInputs makes every flow input read the data column of its name,
	// defaults or not (flex flows).
	mapAllInputs bool
	batch        bool // a run over data, not a single line

	// prompty calls from python code, prepared and waiting for their
	// rendered text, by token (prompty.go)
	ptyMu      sync.Mutex
	ptyPending map[string]*promptyPending
	ptySeq     atomic.Int64
}

// Run executes the flow over every data line and then its aggregation nodes.
// The error is non-nil only when the run could not start or read its data
// (a *fault.Error); failed lines are reported through the Sink and the
// Summary. As in promptflow, a run whose lines fail (even all of them) ends
// Completed with the failed lines counted and the first one's error in
// Summary.Error; a canceled ctx ends it Canceled.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	sum := &Summary{Start: time.Now()}
	r, err := prepare(ctx, cfg, true)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fault.Wrap(fault.Interrupted, ctx.Err(), "the run was canceled while starting")
		}
		return nil, err
	}
	defer r.close()
	if r.pool != nil {
		sum.Python = r.pool.Info()
	}
	if err := r.runLines(ctx, sum); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		sum.Status = StatusCanceled
	} else {
		r.runAggregation(ctx, sum)
		sum.Status = StatusCompleted
		if ctx.Err() != nil {
			sum.Status = StatusCanceled
		}
	}
	sum.End = time.Now()
	return sum, nil
}

// Supports says whether the local executor can run the flow, from the flow
// file alone: callers check it before they create a session or record a
// run, so a flow that cannot run here costs nothing. The error is a
// *fault.Error (Unsupported or Validation) with a hint.
func Supports(f *flow.Flow) error {
	if f == nil {
		return errors.New("executor: no flow")
	}
	switch f.Kind {
	case "", flow.KindDAG:
		if f.Language == "csharp" {
			return fault.New(fault.Unsupported, "local runs of C# flows are not supported").
				WithHint("run this flow with --target azureml")
		}
		for _, n := range f.Nodes {
			defs := []flow.Node{n}
			if nv := f.Variants[n.Name]; n.UseVariants && nv != nil {
				defs = defs[:0]
				for _, v := range nv.Variants {
					defs = append(defs, v.Node)
				}
			}
			for _, d := range defs {
				if err := supportedNode(n.Name, &d); err != nil {
					return err
				}
			}
		}
		return nil
	case flow.KindFlex:
		if strings.TrimSpace(f.Entry) == "" {
			return fault.New(fault.Validation, "the flex flow %s has no entry", f.File).
				WithHint("add `entry: <module>:<function or class>` to the flow file")
		}
		if f.Language != "" && f.Language != "python" {
			return fault.New(fault.Unsupported, "local runs of %s flex flows are not supported", f.Language).
				WithHint("run this flow with --target azureml")
		}
		return nil
	case flow.KindPrompty:
		if f.Prompty == nil {
			return fault.New(fault.Validation, "the prompty file %s could not be read", f.File).
				WithHint("`pfz flow validate %s` says what is wrong", f.File)
		}
		return nil
	}
	return fault.New(fault.Unsupported, "local runs of %s flows are not supported yet", f.Kind).
		WithHint("run a DAG (flow.dag.yaml), flex (flow.flex.yaml) or prompty flow locally, or use --target azureml")
}

// prepare readies a run; batch is false for single lines (flow test),
// which may run a flow that has no inputs.
func prepare(ctx context.Context, cfg Config, batch bool) (*runner, error) {
	if err := Supports(cfg.Flow); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, f: cfg.Flow, dir: cfg.Dir, nodes: map[string]*node{}, conns: map[string]map[string]string{},
		aggInputs: map[int]map[string]any{}, batch: batch}
	if r.dir == "" {
		r.dir = r.f.Dir
	}
	r.sink = &lockedSink{s: cfg.Sink}
	r.http = cfg.HTTPClient
	if r.http == nil {
		r.http = &http.Client{Timeout: 10 * time.Minute}
	}
	var err error
	if r.env, err = r.environment(ctx); err != nil {
		return nil, err
	}
	r.timeout = cfg.LineTimeout
	if r.timeout <= 0 {
		r.timeout = defaultLineTimeout
		for _, kv := range r.env {
			if v, ok := strings.CutPrefix(kv, "PF_LINE_TIMEOUT_SEC="); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
					r.timeout = time.Duration(n) * time.Second
				}
			}
		}
	}
	switch r.f.Kind {
	case flow.KindFlex:
		err = r.prepareFlex(ctx)
	case flow.KindPrompty:
		err = r.preparePrompty(ctx)
	default:
		err = r.prepareDAG(ctx)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *runner) prepareDAG(ctx context.Context) error {
	for _, n := range r.f.Nodes {
		if n.UseVariants && len(r.f.Variants) > 0 {
			f, err := r.f.WithVariant(r.cfg.Variant)
			if err != nil {
				return err
			}
			r.f = f
			break
		}
	}
	if len(r.f.Inputs) == 0 && r.batch {
		return fault.New(fault.Validation, "The input for flow cannot be empty in batch mode. Please review your flow and provide valid inputs.").
			WithHint("add an inputs: section to the flow")
	}
	if err := r.graph(); err != nil {
		return err
	}
	needPython, pyNodes := false, false
	for _, n := range r.nodes {
		switch n.def.Type {
		case flow.ToolPython:
			needPython, pyNodes = true, true
		case flow.ToolPrompt, flow.ToolLLM, flow.ToolCustomLLM: // templates render in python
			needPython = true
		}
	}
	r.renderOnly = needPython && !pyNodes
	if needPython {
		if err := r.startPool(ctx); err != nil {
			return err
		}
	}
	return r.loadTools(ctx)
}

// startPool uses the configured pool or starts the run's own.
func (r *runner) startPool(ctx context.Context) error {
	if r.pool != nil {
		return nil
	}
	if r.cfg.Pool != nil {
		r.pool = r.cfg.Pool
		return nil
	}
	workers := r.cfg.Workers
	if workers <= 0 {
		workers = 1
	}
	pool, err := NewPool(ctx, PoolConfig{
		Python: r.cfg.Python, Dir: r.dir, Env: r.env, Size: workers, MemLimitMB: r.cfg.MemLimitMB,
		RuntimeDir: r.cfg.RuntimeDir,
		Log: func(stream, text string) {
			r.sink.Log(LogEntry{Time: time.Now(), Line: -1, Stream: stream, Text: text})
		},
	})
	if err != nil {
		return err
	}
	r.pool = pool
	return nil
}

func (r *runner) close() {
	if r.pool != nil && r.pool != r.cfg.Pool {
		r.pool.Close()
	}
}

func (r *runner) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if r.cfg.Log != nil {
		fmt.Fprintln(r.cfg.Log, msg)
	}
	r.sink.Log(LogEntry{Time: time.Now(), Line: -1, Stream: "pfz", Text: msg})
}

// graph indexes the nodes, their dependencies and a topological order.
func (r *runner) graph() error {
	for _, n := range r.f.Nodes {
		if _, dup := r.nodes[n.Name]; dup {
			return fault.New(fault.Validation, "node %q appears more than once in the flow", n.Name).
				WithHint("rename or remove one of the nodes named %s", n.Name)
		}
		nd := &node{def: n}
		seen := map[string]bool{}
		add := func(v flow.Value) {
			v = refOf(v)
			if v.Kind == flow.RefNode && !seen[v.Name] {
				seen[v.Name] = true
				nd.deps = append(nd.deps, v.Name)
			}
		}
		for _, in := range n.Inputs {
			add(in.Value)
		}
		if n.Activate != nil && n.Activate.When != nil {
			add(*n.Activate.When)
		}
		r.nodes[n.Name] = nd
	}
	for _, nd := range r.nodes {
		for _, d := range nd.deps {
			dn, ok := r.nodes[d]
			if !ok {
				return fault.New(fault.Validation, "node %q references a non-existent node %q", nd.def.Name, d).
					WithHint("check the ${%s…} references of node %s", d, nd.def.Name)
			}
			if !nd.def.Aggregation && dn.def.Aggregation {
				return fault.New(fault.Validation, "non-aggregation node %q cannot reference aggregation node %q", nd.def.Name, d).
					WithHint("only aggregation nodes may read the outputs of aggregation nodes")
			}
		}
	}
	// Kahn's algorithm in file order.
	done := map[string]bool{}
	var order []string
	for len(order) < len(r.f.Nodes) {
		progressed := false
		for _, n := range r.f.Nodes {
			if done[n.Name] {
				continue
			}
			ready := true
			for _, d := range r.nodes[n.Name].deps {
				if !done[d] {
					ready = false
					break
				}
			}
			if ready {
				done[n.Name] = true
				order = append(order, n.Name)
				progressed = true
			}
		}
		if !progressed {
			var left []string
			for _, n := range r.f.Nodes {
				if !done[n.Name] {
					left = append(left, n.Name)
				}
			}
			sort.Strings(left)
			return fault.New(fault.Validation, "node circular dependency among %s", strings.Join(left, ", ")).
				WithHint("break the cycle: one of these nodes must not read the others")
		}
	}
	for _, name := range order {
		if r.nodes[name].def.Aggregation {
			r.aggs = append(r.aggs, name)
		} else {
			r.order = append(r.order, name)
		}
	}
	// References aggregation nodes read from lines.
	seen := map[string]bool{}
	for _, name := range r.aggs {
		n := r.nodes[name].def
		vals := make([]flow.Value, 0, len(n.Inputs)+1)
		for _, in := range n.Inputs {
			vals = append(vals, refOf(in.Value))
		}
		if n.Activate != nil && n.Activate.When != nil {
			vals = append(vals, refOf(*n.Activate.When))
		}
		for _, v := range vals {
			if v.Kind == flow.RefLiteral || (v.Kind == flow.RefNode && r.nodes[v.Name].def.Aggregation) {
				continue
			}
			if k := refKey(v); !seen[k] {
				seen[k] = true
				r.aggRefs = append(r.aggRefs, v)
			}
		}
	}
	return nil
}

// refOf classifies a value that was built by hand (Kind empty).
func refOf(v flow.Value) flow.Value {
	if v.Kind == "" {
		return flow.ParseRef(v.Raw)
	}
	return v
}

func refKey(v flow.Value) string {
	return string(v.Kind) + ":" + v.Name + "." + v.Section + "." + v.Path
}

var connRef = regexp.MustCompile(`^\$\{([^.]+)\.([^.]+)\}$`)

// environment merges the flow's and the run's environment variables over the
// base environment and resolves ${conn.key} references.
func (r *runner) environment(ctx context.Context) ([]string, error) {
	vars := map[string]string{}
	for k, v := range r.f.EnvironmentVariables {
		vars[k] = v
	}
	for k, v := range r.cfg.Env {
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := append([]string(nil), r.cfg.BaseEnv...)
	for _, k := range keys {
		v := vars[k]
		if m := connRef.FindStringSubmatch(v); m != nil {
			conn, err := r.connection(ctx, m[1])
			if err != nil {
				return nil, fault.Wrap(fault.Validation, err, "environment variable %s refers to connection %s", k, m[1]).
					WithHint("create the connection, or override %s in the run's environment_variables", k)
			}
			val, ok := conn[m[2]]
			if !ok {
				return nil, fault.New(fault.Validation, "environment variable %s refers to key %q, which connection %s does not have", k, m[2], m[1]).
					WithHint("check the key name in ${%s.<key>}", m[1])
			}
			v = val
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

func (r *runner) connection(ctx context.Context, name string) (map[string]string, error) {
	r.connMu.Lock()
	defer r.connMu.Unlock()
	if c, ok := r.conns[name]; ok {
		return c, nil
	}
	if r.cfg.Connections == nil {
		return nil, fault.New(fault.NotFound, "connection %s is not found (no connection store)", name).
			WithHint("create it with `pfz connection create`")
	}
	c, err := r.cfg.Connections.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	r.conns[name] = c
	return c, nil
}

// loadTools reads templates and inspects python tools once per run.
func (r *runner) loadTools(ctx context.Context) error {
	for _, name := range append(append([]string(nil), r.order...), r.aggs...) {
		nd := r.nodes[name]
		n := nd.def
		switch n.Type {
		case flow.ToolPython:
			switch {
			case n.Source.Type == "package":
				nd.src = ToolSource{Tool: n.Source.Tool}
			case n.Source.Path != "":
				nd.src = ToolSource{Path: r.sourcePath(n.Source.Path)}
				if _, err := os.Stat(nd.src.Path); err != nil {
					return fault.New(fault.Validation, "Node source path '%s' is invalid on node '%s'.", n.Source.Path, n.Name).
						WithHint("the path is relative to the flow folder %s", r.dir)
				}
			default:
				return fault.New(fault.Validation, "python node %q has no source", n.Name).
					WithHint("add source: {type: code, path: <file>.py}")
			}
			info, terr, err := r.pool.Inspect(ctx, nd.src)
			if err != nil {
				return fault.Wrap(fault.Failed, err, "load the tool of node %s", n.Name)
			}
			if terr != nil && terr.Type == "PackageToolNotFoundError" {
				// As promptflow says it, not the AttributeError of a half-found module.
				return fault.New(fault.Validation, "Node '%s': %s", n.Name, terr.Message).
					WithHint("add the package that provides %s to the flow's requirements.txt (the session installs it; promptflow.tools.* come with promptflow-tools), or fix the tool id", n.Source.Tool)
			}
			if terr != nil {
				return fault.New(fault.Validation, "Failed to load python module of node '%s' from %s: (%s) %s", n.Name, sourceName(nd.src), terr.Type, terr.Message).
					WithHint("%s", lastLine(terr.Traceback))
			}
			nd.info = info
			nd.connArgs = map[string]bool{}
			for _, p := range append(append([]ToolParam(nil), info.Params...), info.InitParams...) {
				if p.Connection {
					nd.connArgs[p.Name] = true
				}
			}
			if err := r.checkConnections(ctx, nd); err != nil {
				return err
			}
		case flow.ToolPrompt, flow.ToolLLM, flow.ToolCustomLLM:
			if err := supportedNode(n.Name, &n); err != nil {
				return err
			}
			if n.Source.Path == "" {
				return fault.New(fault.Validation, "%s node %q has no template", n.Type, n.Name).
					WithHint("add source: {type: code, path: <file>.jinja2}")
			}
			p := r.sourcePath(n.Source.Path)
			b, err := os.ReadFile(p)
			if err != nil {
				return fault.New(fault.Validation, "Node source path '%s' is invalid on node '%s'.", n.Source.Path, n.Name).
					WithHint("the path is relative to the flow folder %s", r.dir)
			}
			terr, err := r.pool.CheckTemplate(ctx, string(b))
			if err != nil {
				return fault.Wrap(fault.Failed, err, "check the template of node %s", n.Name)
			}
			if terr != nil && terr.Type == "JinjaMissingError" {
				return fault.New(fault.Failed, "node %s: %s", n.Name, terr.Message).
					WithHint("prompt and llm nodes need Jinja2 in the session")
			}
			if terr != nil {
				return fault.New(fault.Validation, "the template of node %s (%s): %s", n.Name, n.Source.Path, terr.Message).
					WithHint("fix the jinja2 syntax in %s", n.Source.Path)
			}
			nd.tmpl = string(b)
			if isVision(&n) {
				// as promptflow's vision tools: ![image]({{x}}) puts the
				// image on a line of its own
				nd.tmpl = prompty.PreprocessTemplate(nd.tmpl)
			}
			if n.Type != flow.ToolPrompt {
				connName := llmConnection(&n)
				if connName == "" {
					return fault.New(fault.Validation, "%s node %q has no connection", n.Type, n.Name).
						WithHint("add connection: <name> to the node (an AzureOpenAI or OpenAI connection)")
				}
				conn, err := r.connection(ctx, connName)
				if err != nil {
					return fault.Wrap(fault.Validation, err, "connection %s of node %s", connName, n.Name).
						WithHint("create the connection with `pfz connection create`, or pass --connections %s.connection=<name>", n.Name)
				}
				if t := connType(conn); t != "azureopenai" && t != "openai" {
					return fault.New(fault.Validation, "Connection type %s is not supported for LLM.", conn["type"]).
						WithHint("node %s needs an AzureOpenAI or OpenAI connection", n.Name)
				}
			}
		default:
			return fault.New(fault.Unsupported, "node %q has type %q, which local runs do not support", n.Name, n.Type).
				WithHint("local runs support python, prompt and llm nodes; use --target azureml for this flow")
		}
	}
	return nil
}

// supportedNode refuses a node (or variant) local runs cannot run: not a
// python, prompt or llm node, nor a custom_llm node of the vision tools.
func supportedNode(name string, n *flow.Node) error {
	switch {
	case n.Type == flow.ToolPython, n.Type == flow.ToolPrompt, n.Type == flow.ToolLLM, isVision(n):
		return nil
	case n.Type == flow.ToolCustomLLM:
		return fault.New(fault.Unsupported, "node %q is a custom_llm node of tool %q, which local runs do not support", name, n.Source.Tool).
			WithHint("local runs support the custom_llm tools %s; use --target azureml for this flow", strings.Join(slices.Sorted(maps.Keys(visionTools)), ", "))
	}
	return fault.New(fault.Unsupported, "node %q has type %q, which local runs do not support", name, n.Type).
		WithHint("local runs support python, prompt, llm and vision (custom_llm) nodes; use --target azureml for this flow")
}

// checkConnections resolves the connections a python node names literally,
// so that a missing one refuses the whole run before any line, as in
// promptflow ("Connection 'x' is not found."), instead of failing each line.
func (r *runner) checkConnections(ctx context.Context, nd *node) error {
	for _, in := range nd.def.Inputs {
		if !nd.connArgs[in.Name] {
			continue
		}
		v := refOf(in.Value)
		name, ok := v.Raw.(string)
		if v.Kind != flow.RefLiteral || !ok || name == "" {
			continue
		}
		if _, err := r.connection(ctx, name); err != nil {
			if fault.Is(err, fault.NotFound) {
				return fault.New(fault.Validation, "Connection '%s' is not found.", name).
					WithHint("create it with `pfz connection create`, or pass --connections %s.%s=<name>", nd.def.Name, in.Name)
			}
			return fault.Wrap(fault.Validation, err, "connection %s of node %s", name, nd.def.Name).
				WithHint("check the connection with `pfz connection show -n %s`", name)
		}
	}
	return nil
}

func (r *runner) sourcePath(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(r.dir, filepath.FromSlash(rel))
}

func sourceName(s ToolSource) string {
	if s.Path != "" {
		return s.Path
	}
	return s.Tool
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// ---- lines

type lineJob struct {
	n       int
	sources map[string]map[string]any
}

func (r *runner) concurrency() int {
	if r.cfg.Concurrency > 0 {
		return r.cfg.Concurrency
	}
	w := r.cfg.Workers
	if w <= 0 {
		w = 1
	}
	if r.pool != nil && !r.renderOnly {
		return r.pool.Size()
	}
	// Renders are short; llm calls run in Go without holding a worker.
	return max(2*w, 4)
}

func (r *runner) runLines(ctx context.Context, sum *Summary) error {
	jobs := make(chan lineJob, r.concurrency())
	var mu sync.Mutex
	var firstErr *LineError
	firstErrLine := -1
	var wg sync.WaitGroup
	for i := 0; i < r.concurrency(); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				res := r.runLine(ctx, job)
				mu.Lock()
				sum.Total++
				switch res.Status {
				case StatusCompleted:
					sum.Completed++
				case StatusCanceled:
					sum.Canceled++
				default:
					sum.Failed++
					if firstErr == nil || res.LineNumber < firstErrLine {
						firstErr, firstErrLine = res.Error, res.LineNumber
					}
				}
				mu.Unlock()
			}
		}()
	}
	readErr := r.feed(ctx, jobs)
	close(jobs)
	wg.Wait()
	if readErr != nil {
		return readErr
	}
	if sum.Total == 0 && ctx.Err() == nil {
		return fault.New(fault.Validation, "the run has no input lines").
			WithHint("check that the data has rows (and, for an evaluation run, that the referenced run has completed lines)")
	}
	sum.Error = firstErr
	return nil
}

// feed reads the data (or the parent's lines) and queues one job per line.
func (r *runner) feed(ctx context.Context, jobs chan<- lineJob) error {
	send := func(j lineJob) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if r.cfg.Data == "" {
		if r.cfg.Parent == nil {
			return fault.New(fault.Validation, "the run has neither data nor a referenced run").
				WithHint("give --data, or --run for an evaluation run")
		}
		lines, err := r.cfg.Parent.LineNumbers(ctx)
		if err != nil {
			return fault.Wrap(fault.Failed, err, "read the referenced run's lines")
		}
		for _, n := range lines {
			src, ok, err := r.parentSources(ctx, n)
			if err != nil {
				return err
			}
			if ok && !send(lineJob{n: n, sources: src}) {
				return nil
			}
		}
		return nil
	}
	rd, err := dataset.Open(ctx, r.cfg.Data)
	if err != nil {
		return err
	}
	defer rd.Close()
	for {
		row, n, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		src := map[string]map[string]any{"data": row}
		if r.cfg.Parent != nil {
			psrc, ok, err := r.parentSources(ctx, n)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			for k, v := range psrc {
				src[k] = v
			}
		}
		if !send(lineJob{n: n, sources: src}) {
			return nil
		}
	}
}

func (r *runner) parentSources(ctx context.Context, n int) (map[string]map[string]any, bool, error) {
	in, out, ok, err := r.cfg.Parent.Line(ctx, n)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, nil
		}
		return nil, false, fault.Wrap(fault.Failed, err, "read line %d of the referenced run", n)
	}
	if !ok {
		return nil, false, nil
	}
	return map[string]map[string]any{"run.outputs": out, "run.inputs": in}, true, nil
}

// lineState is the state of one line while its nodes run.
type lineState struct {
	n        int
	inputs   map[string]any
	mu       sync.Mutex
	outputs  map[string]any
	bypassed map[string]bool
	// prompts holds the role-escaped form of prompt node outputs that
	// carry escaping, for the llm nodes they feed (promptflow's PromptResult).
	prompts map[string]promptResult
}

func (r *runner) runLine(ctx context.Context, job lineJob) (res LineResult) {
	if r.cfg.Reuse != nil {
		prev, nodes, ok, err := r.cfg.Reuse.Line(ctx, job.n)
		if ok && err == nil {
			return r.replayLine(prev, nodes)
		}
		if err != nil {
			res = LineResult{LineNumber: job.n, Status: StatusFailed, Start: time.Now(),
				Error: &LineError{Code: CodeExecution, Message: fmt.Sprintf("cannot read line %d of the resumed run: %v", job.n, err)}}
			res.End = res.Start
			r.sink.LineStarted(job.n)
			r.sink.LineDone(res)
			return res
		}
	}
	res = LineResult{LineNumber: job.n, Start: time.Now()}
	r.sink.LineStarted(job.n)
	defer func() {
		res.End = time.Now()
		r.sink.LineDone(res)
	}()
	inputs, lerr := r.flowInputs(job)
	res.Inputs = inputs
	if lerr != nil {
		res.Status, res.Error = StatusFailed, lerr
		return res
	}
	lctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	st := &lineState{n: job.n, inputs: inputs.Map(), outputs: map[string]any{}, bypassed: map[string]bool{}}
	if r.entry != nil {
		res.Outputs, lerr = r.entry.line(lctx, r, st)
	} else {
		lerr = r.runNodes(lctx, st, r.order, nil)
	}
	if lerr != nil {
		res.Status, res.Error = StatusFailed, lerr
		switch {
		case ctx.Err() != nil:
			res.Status = StatusCanceled
			res.Error = &LineError{Code: CodeCanceled, Message: "the run was canceled"}
		case errors.Is(lctx.Err(), context.DeadlineExceeded):
			res.Error = &LineError{Code: CodeTimeout, Node: lerr.Node,
				Message: fmt.Sprintf("Line %d execution timeout for exceeding %d seconds", job.n, int(r.timeout.Seconds()))}
		}
		return res
	}
	if r.entry != nil {
		res.Status = StatusCompleted
		r.keepEntryOutput(job.n, res.Outputs)
		return res
	}
	// The outputs in the flow's order, as promptflow records them.
	res.Outputs = make(pyjson.Object, 0, len(r.f.Outputs))
	for _, o := range r.f.Outputs {
		ref := flow.ParseRef(o.Reference)
		if ref.Kind == flow.RefNode {
			if nd, ok := r.nodes[ref.Name]; ok && nd.def.Aggregation {
				continue // promptflow drops outputs that reference aggregation nodes
			}
		}
		v, err := st.resolve(ref)
		if err != nil {
			res.Status = StatusFailed
			res.Error = &LineError{Code: CodeExecution, Message: fmt.Sprintf("flow output %s: %v", o.Name, err)}
			return res
		}
		if g, ok := v.(*pyjson.Generator); ok {
			v = g.Joined() // what the nodes that read it left of it
		}
		if g := pyjson.FirstGenerator(v); g != nil {
			// A node may pass a dict holding a generator on; a flow output
			// cannot hold one (promptflow's words).
			res.Status = StatusFailed
			res.Error = &LineError{Code: CodeToolError, Type: unserializableType, Message: fmt.Sprintf(
				"The output '%s' for flow is incorrect. The output value is not JSON serializable. JSON dump failed: (TypeError) %v. "+
					"Please verify your flow output and make sure the value serializable.", o.Name, g.Unserializable())}
			return res
		}
		res.Outputs.Set(o.Name, v)
	}
	res.Status = StatusCompleted
	r.keepForAggregation(st)
	return res
}

// replayLine reports a resumed run's completed line as it was recorded,
// without running it, and keeps what the aggregation reads from it: the
// entry's outputs, or the flow inputs and node outputs the aggregation
// nodes refer to.
func (r *runner) replayLine(prev *LineResult, nodes []NodeRunRecord) LineResult {
	r.sink.LineStarted(prev.LineNumber)
	for _, nr := range nodes {
		r.sink.NodeRun(nr)
	}
	if r.entry != nil {
		r.keepEntryOutput(prev.LineNumber, prev.Outputs)
	} else {
		st := &lineState{n: prev.LineNumber, inputs: prev.Inputs.Map(), outputs: map[string]any{}, bypassed: map[string]bool{}}
		for _, nr := range nodes {
			switch nr.Status {
			case StatusCompleted:
				st.outputs[nr.Node] = nr.Output
			case StatusBypassed:
				st.bypassed[nr.Node] = true
			}
		}
		r.keepForAggregation(st)
	}
	r.sink.LineDone(*prev)
	return *prev
}

// lineEntry runs whole lines of a flow kind that has no DAG nodes.
type lineEntry interface {
	// line runs one line with its flow inputs and returns its outputs.
	line(ctx context.Context, r *runner, st *lineState) (pyjson.Object, *LineError)
	// aggregates says whether aggregate wants the lines' outputs.
	aggregates() bool
	// aggregate runs once after the lines with the completed lines' outputs,
	// by line number; it records metrics and fills sum's aggregation fields.
	aggregate(ctx context.Context, r *runner, sum *Summary, outputs map[int]pyjson.Object)
}

func (r *runner) keepEntryOutput(n int, out pyjson.Object) {
	if !r.entry.aggregates() {
		return
	}
	r.aggMu.Lock()
	if r.entryOutputs == nil {
		r.entryOutputs = map[int]pyjson.Object{}
	}
	r.entryOutputs[n] = out
	r.aggMu.Unlock()
}

func (r *runner) keepForAggregation(st *lineState) {
	if len(r.aggRefs) == 0 {
		return
	}
	vals := make(map[string]any, len(r.aggRefs))
	for _, ref := range r.aggRefs {
		v, _ := st.resolve(ref)
		vals[refKey(ref)] = v
	}
	r.aggMu.Lock()
	r.aggInputs[st.n] = vals
	r.aggMu.Unlock()
}

// runNodes runs the named nodes of a line (or of the aggregation step) as
// soon as their dependencies are done; the first failure stops the rest.
func (r *runner) runNodes(ctx context.Context, st *lineState, names []string, agg map[string]any) *LineError {
	if len(names) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	member := make(map[string]bool, len(names))
	for _, n := range names {
		member[n] = true
	}
	pending := map[string]int{}
	waiters := map[string][]string{}
	for _, name := range names {
		for _, d := range r.nodes[name].deps {
			if member[d] {
				pending[name]++
				waiters[d] = append(waiters[d], name)
			}
		}
	}
	type done struct {
		name string
		err  *LineError
	}
	results := make(chan done, len(names))
	// Nodes that read the same generator take turns, in flow order: in
	// promptflow they share one live generator, so the first reader takes
	// the first items and the next one what it left. A reader holds the
	// generator's source while it runs; another ready reader waits in queue.
	busy := map[string]bool{}
	held := map[string][]string{}
	var queued []string
	running := 0
	start := func(name string) bool {
		srcs := r.generatorSources(st, name)
		for _, s := range srcs {
			if busy[s] {
				return false
			}
		}
		for _, s := range srcs {
			busy[s] = true
		}
		held[name] = srcs
		running++
		go func() { results <- done{name, r.runNode(ctx, st, r.nodes[name], agg)} }()
		return true
	}
	launch := func(name string) {
		if !start(name) {
			queued = append(queued, name)
		}
	}
	for _, name := range names {
		if pending[name] == 0 {
			launch(name)
		}
	}
	var first *LineError
	for running > 0 {
		d := <-results
		running--
		for _, s := range held[d.name] {
			delete(busy, s)
		}
		if d.err != nil {
			if first == nil {
				first = d.err
				cancel()
			}
			continue
		}
		if first != nil {
			continue
		}
		waiting := queued // ready earlier: their turn comes first
		queued = nil
		for _, name := range waiting {
			launch(name)
		}
		for _, w := range waiters[d.name] {
			pending[w]--
			if pending[w] == 0 {
				launch(w)
			}
		}
	}
	return first
}

// generatorSources lists the nodes whose outputs name reads and that hold a
// generator now (they have run: name is ready).
func (r *runner) generatorSources(st *lineState, name string) []string {
	var out []string
	for _, in := range r.nodes[name].def.Inputs {
		v := refOf(in.Value)
		if v.Kind != flow.RefNode || slices.Contains(out, v.Name) {
			continue
		}
		st.mu.Lock()
		val, ok := st.outputs[v.Name]
		st.mu.Unlock()
		if ok && pyjson.HasGenerator(val) {
			out = append(out, v.Name)
		}
	}
	return out
}

// resolve reads a reference within a line.
func (st *lineState) resolve(v flow.Value) (any, error) {
	switch v.Kind {
	case flow.RefFlowInput:
		val, ok := st.inputs[v.Name]
		if !ok {
			return nil, fmt.Errorf("flow input %q is not defined", v.Name)
		}
		return val, nil
	case flow.RefNode:
		st.mu.Lock()
		out, ok := st.outputs[v.Name]
		byp := st.bypassed[v.Name]
		st.mu.Unlock()
		if byp {
			return nil, nil
		}
		if !ok {
			return nil, fmt.Errorf("node %q has no output", v.Name)
		}
		if v.Section != "" && v.Section != "output" {
			return nil, fmt.Errorf("unsupported reference section %q (only ${%s.output…})", v.Section, v.Name)
		}
		return navigate(out, v.Path, v.Name)
	}
	return pyjson.Plain(v.Raw), nil // a YAML float keeps being a float (1.0, NaN)
}

// navigate follows a dotted path into dicts (keys) and lists and tuples
// (indexes).
func navigate(v any, path, nodeName string) (any, error) {
	if path == "" {
		return v, nil
	}
	for _, p := range strings.Split(path, ".") {
		var items []any
		switch x := v.(type) {
		case pyjson.Object:
			e, ok := x.Get(p)
			if !ok {
				return nil, fmt.Errorf("the output of node %s has no property %q", nodeName, p)
			}
			v = e
			continue
		case map[string]any:
			e, ok := x[p]
			if !ok {
				return nil, fmt.Errorf("the output of node %s has no property %q", nodeName, p)
			}
			v = e
			continue
		case []any:
			items = x
		case pyjson.Tuple:
			items = x
		default:
			return nil, fmt.Errorf("the output of node %s has no property %q (it is %s)", nodeName, p, typeName(v))
		}
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("the output of node %s has no item %q", nodeName, p)
		}
		v = items[i]
	}
	return v, nil
}

// typeName names a value's kind for messages.
func typeName(v any) string {
	switch n := pyjson.TypeName(v); n {
	case "NoneType":
		return "None"
	case "str":
		return "a string"
	case "int":
		return "an int"
	default:
		return "a " + n
	}
}

type lockedSink struct {
	mu sync.Mutex
	s  Sink
}

func (l *lockedSink) LineStarted(n int) {
	if l.s == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.LineStarted(n)
}

func (l *lockedSink) LineDone(r LineResult) {
	if l.s == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.LineDone(r)
}

func (l *lockedSink) NodeRun(r NodeRunRecord) {
	if l.s == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.NodeRun(r)
}

func (l *lockedSink) Log(e LogEntry) {
	if l.s == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Log(e)
}

func (l *lockedSink) Metric(name string, v any) {
	if l.s == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Metric(name, v)
}
