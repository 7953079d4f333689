package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pfz-cli/pfz/internal/executor/pyruntime"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// PoolConfig says how to start python workers.
type PoolConfig struct {
	Python string   // the interpreter (the session's venv python); "python3" when empty
	Dir    string   // the flow snapshot root: the workers' working folder and sys.path[0]
	Env    []string // the workers' whole environment, KEY=VALUE
	Size   int      // number of workers; 1 when <= 0
	// MemLimitMB stops a worker whose resident memory passes this many MB (the
	// call it was running fails, the worker is replaced); 0: no limit. Linux only.
	MemLimitMB int
	// RuntimeDir is the cache folder the embedded runtime is written to;
	// os.TempDir()/pfz-pyruntime when empty.
	RuntimeDir string
	// StartTimeout bounds one worker start (imports included); 60s when zero.
	StartTimeout time.Duration
	// Log receives worker output printed outside any call (may be nil).
	Log func(stream, text string)
}

// WorkerInfo describes the interpreter the workers run.
type WorkerInfo struct {
	Python            string `json:"python"`
	Promptflow        string `json:"promptflow"` // "real" or "builtin"
	PromptflowVersion string `json:"promptflow_version"`
}

// ToolSource names a python tool: a file in the snapshot or a package tool id.
type ToolSource struct {
	Path string `json:"path,omitempty"` // absolute, or relative to PoolConfig.Dir
	Tool string `json:"tool,omitempty"` // package tool: module.func or module.Class.method
}

// ToolParam is one parameter of a tool function.
type ToolParam struct {
	Name       string `json:"name"`
	Annotation string `json:"annotation"`
	Connection bool   `json:"connection"`
	HasDefault bool   `json:"has_default"`
	Kind       string `json:"kind"`
}

// ToolInfo is what Inspect learns about a tool.
type ToolInfo struct {
	Function   string      `json:"function"`
	Class      string      `json:"class"`
	Params     []ToolParam `json:"params"`
	InitParams []ToolParam `json:"init_params"`
}

// PyConnection is a resolved connection handed to a python tool parameter.
type PyConnection struct {
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Values     map[string]string `json:"values"`
	SecretKeys []string          `json:"secret_keys,omitempty"`
}

// CallRequest is one tool call.
type CallRequest struct {
	Source      ToolSource
	Inputs      map[string]any
	Connections map[string]PyConnection // by parameter name
	// OnLog receives each line the tool prints (stream "stdout" or "stderr").
	OnLog func(stream, text string)
	// OnCallback serves what the tool asks pfz during the call (a prompty
	// call); nil refuses.
	OnCallback Callback
}

// Metric is one log_metric call.
type Metric struct {
	Name      string `json:"name"`
	Value     any    `json:"value"`
	VariantID string `json:"variant_id,omitempty"`
}

// ToolError is an exception raised by a tool.
type ToolError struct {
	Type      string `json:"type"`
	Module    string `json:"module"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
}

func (e *ToolError) Error() string { return "(" + e.Type + ") " + e.Message }

// CallResult is the outcome of a call that reached the tool. Error is set when
// the tool raised; Metrics holds what it logged either way.
type CallResult struct {
	Output  any
	Metrics []Metric
	Error   *ToolError
}

// WorkerError is a failure of the worker process itself (it died, was killed,
// or used too much memory); the worker has been discarded and is replaced on
// the next call.
type WorkerError struct {
	Reason string
	Stderr string // the last lines the worker wrote on stderr
}

func (e *WorkerError) Error() string {
	if e.Stderr == "" {
		return e.Reason
	}
	return e.Reason + "\n" + e.Stderr
}

// Pool is a set of long-lived python workers. Calls are served by whichever
// worker is idle; a worker that crashes, hangs past its call's context or
// passes the memory limit is killed and replaced. Safe for concurrent use.
type Pool struct {
	cfg    PoolConfig
	rt     *pyruntime.Runtime
	idle   chan *worker
	info   WorkerInfo
	closed atomic.Bool
	stop   chan struct{}

	mu  sync.Mutex
	all map[*worker]bool
}

// NewPool installs the runtime and starts cfg.Size workers, returning once
// all are ready. A worker that cannot start is a run-level failure.
func NewPool(ctx context.Context, cfg PoolConfig) (*Pool, error) {
	if cfg.Size <= 0 {
		cfg.Size = 1
	}
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.RuntimeDir == "" {
		cfg.RuntimeDir = filepath.Join(os.TempDir(), "pfz-pyruntime")
	}
	if cfg.Dir != "" {
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, err
		}
		cfg.Dir = abs
	}
	rt, err := pyruntime.Install(cfg.RuntimeDir)
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "install pfz's python runtime").
			WithHint("check that %s is writable", cfg.RuntimeDir)
	}
	p := &Pool{cfg: cfg, rt: rt, idle: make(chan *worker, cfg.Size), stop: make(chan struct{}), all: map[*worker]bool{}}
	type started struct {
		w   *worker
		err error
	}
	ch := make(chan started, cfg.Size)
	for i := 0; i < cfg.Size; i++ {
		go func() {
			w, err := p.spawn(ctx)
			ch <- started{w, err}
		}()
	}
	var firstErr error
	for i := 0; i < cfg.Size; i++ {
		s := <-ch
		if s.err != nil {
			if firstErr == nil {
				firstErr = s.err
			}
			continue
		}
		p.info = s.w.info
		p.idle <- s.w
	}
	if firstErr != nil {
		p.Close()
		return nil, firstErr
	}
	if cfg.MemLimitMB > 0 && runtime.GOOS == "linux" {
		go p.watchMemory()
	}
	return p, nil
}

// Size is the number of workers.
func (p *Pool) Size() int { return p.cfg.Size }

// Info describes the interpreter.
func (p *Pool) Info() WorkerInfo { return p.info }

// Close stops every worker.
func (p *Pool) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	close(p.stop)
	p.mu.Lock()
	ws := make([]*worker, 0, len(p.all))
	for w := range p.all {
		ws = append(ws, w)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); w.shutdown() }()
	}
	wg.Wait()
	return nil
}

// Inspect loads a tool and describes its parameters.
func (p *Pool) Inspect(ctx context.Context, src ToolSource) (*ToolInfo, *ToolError, error) {
	var info ToolInfo
	res, err := p.do(ctx, map[string]any{"op": "inspect", "source": src}, hooks{}, &info)
	if err != nil {
		return nil, nil, err
	}
	if res.Error != nil {
		return nil, res.Error, nil
	}
	return &info, nil, nil
}

// Call runs a tool. err is a *WorkerError, a context error, or a start failure;
// an exception raised by the tool is in CallResult.Error.
func (p *Pool) Call(ctx context.Context, req CallRequest) (*CallResult, error) {
	msg := map[string]any{"op": "call", "source": req.Source, "inputs": req.Inputs}
	if len(req.Connections) > 0 {
		msg["connections"] = req.Connections
	}
	return p.do(ctx, msg, hooks{onLog: req.OnLog, onCallback: req.OnCallback}, nil)
}

// hooks receive what a call produces before its response.
type hooks struct {
	onLog   func(stream, text string) // each printed line
	onChunk func(chunk any)           // each item a streamed generator yields
	// onCallback serves the worker's callbacks (see Callback); nil refuses them.
	onCallback Callback
}

// Callback serves a request the python worker makes during a call (name
// says which, args are its JSON). The result goes back as JSON; an error
// goes back as an exception of the error's type (a *CallbackError names it).
type Callback func(ctx context.Context, name string, args json.RawMessage) (any, error)

// CallbackError is an exception a callback raises in the worker.
type CallbackError struct {
	Type    string
	Message string
}

func (e *CallbackError) Error() string { return e.Message }

func (p *Pool) do(ctx context.Context, msg map[string]any, h hooks, result any) (*CallResult, error) {
	if p.closed.Load() {
		return nil, errors.New("python worker pool is closed")
	}
	var w *worker
	select {
	case w = <-p.idle:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if w == nil || w.isDead() {
		if w != nil {
			p.forget(w)
		}
		nw, err := p.spawn(ctx)
		if err != nil {
			p.idle <- nil // keep the slot; the next caller tries again
			return nil, err
		}
		w = nw
	}
	res, err := w.call(ctx, msg, h, result)
	if err != nil {
		w.kill()
		p.forget(w)
		p.idle <- nil
		return nil, err
	}
	p.idle <- w
	return res, nil
}

func (p *Pool) forget(w *worker) {
	p.mu.Lock()
	delete(p.all, w)
	p.mu.Unlock()
}

func (p *Pool) watchMemory() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	limit := int64(p.cfg.MemLimitMB) << 20
	page := int64(os.Getpagesize())
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		ws := make([]*worker, 0, len(p.all))
		for w := range p.all {
			ws = append(ws, w)
		}
		p.mu.Unlock()
		for _, w := range ws {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(w.pid) + "/statm")
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) < 2 {
				continue
			}
			rss, _ := strconv.ParseInt(f[1], 10, 64)
			if rss*page > limit {
				w.failWith(fmt.Sprintf("python worker used more than %d MB of memory and was stopped", p.cfg.MemLimitMB))
			}
		}
	}
}

// ---- one worker process

const (
	endMarkPrefix = "\x1epfz-end-"
	maxLogLine    = 16 << 10 // longer printed lines are cut
	maxCallLog    = 4 << 20  // output beyond this per call is dropped (and counted)
)

type worker struct {
	cmd          *exec.Cmd
	pid          int
	info         WorkerInfo
	reqW         *os.File
	resp         chan []byte // response lines; closed when the worker's fd 4 closes
	marks        chan int    // ids of calls whose end mark arrived (one per stream)
	exit         chan struct{}
	waitErr      error
	marksPerCall int

	mu       sync.Mutex
	onLog    func(stream, text string)
	logged   int
	dropped  int
	poolLog  func(stream, text string)
	tail     []string // last stderr lines, for crash reports
	reason   string   // why the worker was killed, when pfz killed it
	nextID   int
	deadFlag atomic.Bool
}

func (p *Pool) spawn(ctx context.Context) (*worker, error) {
	if p.closed.Load() {
		return nil, errors.New("python worker pool is closed")
	}
	w, err := startWorker(ctx, p.cfg, p.rt)
	if err != nil {
		return nil, err
	}
	// Close may have run while Python started: it sets closed before it
	// lists the workers under mu, so a worker added here is either in its
	// list or sees closed and is stopped now, never left running.
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		w.shutdown()
		return nil, errors.New("python worker pool is closed")
	}
	p.all[w] = true
	p.mu.Unlock()
	return w, nil
}

// workerPipes are the four pipes between pfz and a worker: requests (fd 3),
// responses (fd 4), stdout and stderr. Whatever was opened is closed on
// every failure before the worker runs.
type workerPipes struct {
	reqR, reqW, respR, respW, outR, outW, errR, errW *os.File
}

func openWorkerPipes() (*workerPipes, error) {
	p := &workerPipes{}
	for _, pair := range [][2]**os.File{{&p.reqR, &p.reqW}, {&p.respR, &p.respW}, {&p.outR, &p.outW}, {&p.errR, &p.errW}} {
		r, w, err := os.Pipe()
		if err != nil {
			p.closeAll()
			return nil, fault.Wrap(fault.Failed, err, "cannot open the pipes to a python worker").
				WithHint("the process may be out of file descriptors (ulimit -n)")
		}
		*pair[0], *pair[1] = r, w
	}
	return p, nil
}

// closeChild closes the ends the child process holds, once it started.
func (p *workerPipes) closeChild() {
	for _, f := range []*os.File{p.reqR, p.respW, p.outW, p.errW} {
		if f != nil {
			_ = f.Close()
		}
	}
}

func (p *workerPipes) closeAll() {
	p.closeChild()
	for _, f := range []*os.File{p.reqW, p.respR, p.outR, p.errR} {
		if f != nil {
			_ = f.Close()
		}
	}
}

func startWorker(ctx context.Context, cfg PoolConfig, rt *pyruntime.Runtime) (*worker, error) {
	pipes, err := openWorkerPipes()
	if err != nil {
		return nil, err
	}
	// Not exec.CommandContext: the worker outlives the context that started it.
	cmd := exec.Command(cfg.Python, rt.Worker, cfg.Dir)
	cmd.Dir = cfg.Dir
	cmd.Env = workerEnv(cfg.Env)
	cmd.Stdout, cmd.Stderr = pipes.outW, pipes.errW
	cmd.ExtraFiles = []*os.File{pipes.reqR, pipes.respW} // fd 3 and fd 4
	setProcessGroup(cmd)
	reqW, respR, stdout, stderr := pipes.reqW, pipes.respR, pipes.outR, pipes.errR
	w := &worker{
		cmd: cmd, reqW: reqW, resp: make(chan []byte, 1), marks: make(chan int, 16),
		exit: make(chan struct{}), poolLog: cfg.Log, marksPerCall: 2,
	}
	if err := cmd.Start(); err != nil {
		pipes.closeAll()
		return nil, fault.Wrap(fault.Failed, err, "start python %s", cfg.Python).
			WithHint("check that the session's python exists; `pfz session reset` recreates the environment")
	}
	pipes.closeChild()
	w.pid = cmd.Process.Pid
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); defer stdout.Close(); w.readLog("stdout", stdout) }()
	go func() { defer readers.Done(); defer stderr.Close(); w.readLog("stderr", stderr) }()
	go w.readResponses(respR)
	go func() {
		readers.Wait() // Wait closes the pipes; let the readers finish first
		w.waitErr = cmd.Wait()
		w.deadFlag.Store(true)
		close(w.exit)
	}()

	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	select {
	case line, ok := <-w.resp:
		if ok {
			var hello struct {
				Ready bool `json:"ready"`
				WorkerInfo
			}
			if json.Unmarshal(line, &hello) == nil && hello.Ready {
				w.info = hello.WorkerInfo
				return w, nil
			}
		}
		w.kill()
		<-w.exit
		return nil, startErr(cfg, w, "the python worker did not start")
	case <-w.exit:
		return nil, startErr(cfg, w, "the python worker exited while starting")
	case <-sctx.Done():
		w.kill()
		<-w.exit
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, startErr(cfg, w, fmt.Sprintf("the python worker did not start within %s", cfg.StartTimeout))
	}
}

func startErr(cfg PoolConfig, w *worker, msg string) error {
	w.mu.Lock()
	tail := strings.Join(w.tail, "\n")
	w.mu.Unlock()
	e := fault.New(fault.Failed, "%s (%s)", msg, cfg.Python)
	if tail != "" {
		e.Msg += ":\n" + tail
	}
	return e.WithHint("pfz needs Python 3.8 or later in the session; check that the session environment works (`pfz session reset` rebuilds it)")
}

func workerEnv(env []string) []string {
	out := make([]string, 0, len(env)+2)
	has := map[string]bool{}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok {
			has[k] = true
		}
		out = append(out, kv)
	}
	// Tool output must not fail on a C locale.
	if !has["PYTHONIOENCODING"] {
		out = append(out, "PYTHONIOENCODING=utf-8")
	}
	return out
}

func (w *worker) isDead() bool { return w.deadFlag.Load() }

func (w *worker) readResponses(r *os.File) {
	defer close(w.resp)
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && err == nil {
			w.resp <- line
		}
		if err != nil {
			return
		}
	}
}

// readLog forwards printed lines to the current call, cutting very long lines
// and dropping output past maxCallLog, and watches for end marks.
func (w *worker) readLog(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	var cur []byte
	cut := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if room := maxLogLine - len(cur); room > 0 {
				n := min(room, len(chunk))
				cur = append(cur, chunk[:n]...)
				cut += len(chunk) - n
			} else {
				cut += len(chunk)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(cur) > 0 || cut > 0 {
			w.emit(stream, cur, cut)
		}
		cur, cut = cur[:0], 0
		if err != nil {
			return
		}
	}
}

func (w *worker) emit(stream string, line []byte, cut int) {
	line = bytes.TrimRight(line, "\r\n")
	if i := bytes.Index(line, []byte(endMarkPrefix)); i >= 0 {
		before := line[:i]
		if len(before) > 0 {
			w.emit(stream, before, 0)
		}
		id, _ := strconv.Atoi(string(bytes.TrimSpace(line[i+len(endMarkPrefix):])))
		select {
		case w.marks <- id:
		default: // nobody waits for it (a call gave up on its marks)
		}
		return
	}
	text := string(line)
	if cut > 0 {
		text += fmt.Sprintf(" … [%d more bytes cut]", cut)
	}
	w.mu.Lock()
	if stream == "stderr" {
		w.tail = append(w.tail, text)
		if len(w.tail) > 20 {
			w.tail = w.tail[len(w.tail)-20:]
		}
	}
	fn := w.onLog
	if fn != nil {
		if w.logged >= maxCallLog {
			w.dropped += len(text) + 1
			fn = nil
		} else {
			w.logged += len(text) + 1
		}
	} else {
		fn = w.poolLog
	}
	w.mu.Unlock()
	if fn != nil {
		fn(stream, text)
	}
}

type response struct {
	ID      int             `json:"id"`
	OK      bool            `json:"ok"`
	Output  anyValue        `json:"output"`
	Result  json.RawMessage `json:"result"`
	Error   *ToolError      `json:"error"`
	Metrics []Metric        `json:"metrics"`
	// Consumed says how many items the call read of each generator it
	// was sent: [id, count] pairs (pyjson.Sent).
	Consumed [][2]int `json:"consumed"`
	Chunk    anyValue `json:"chunk"` // one streamed item; the response is still to come
	// Callback asks pfz for something during the call (a prompty call from
	// user code); pfz answers on the request pipe and the call goes on.
	Callback string   `json:"callback"`
	Args     anyValue `json:"args"`
}

// anyValue is a value of the response that may be absent: Set tells
// "chunk": null (a None chunk) from no chunk. It is read with
// pyjson.DecodeWire: dict order, tuples and generators inside containers
// are kept, and NaN and the infinities (marked by pyjson.Unmarshal of the
// whole response) come back as they were.
type anyValue struct {
	V   any
	Set bool
}

func (c *anyValue) UnmarshalJSON(b []byte) error {
	c.Set = true
	v, err := pyjson.DecodeWire(b)
	c.V = v
	return err
}

// raw is the value as Python's JSON text.
func (c *anyValue) raw() json.RawMessage {
	b, err := pyjson.Marshal(c.V)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func (w *worker) call(ctx context.Context, msg map[string]any, h hooks, result any) (*CallResult, error) {
	w.mu.Lock()
	w.nextID++
	id := w.nextID
	w.onLog, w.logged, w.dropped = h.onLog, 0, 0
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		if w.dropped > 0 && w.onLog != nil {
			w.onLog("stderr", fmt.Sprintf("[pfz] %d bytes of output were dropped (more than %d MB printed)", w.dropped, maxCallLog>>20))
		}
		w.onLog = nil
		w.mu.Unlock()
	}()
	wired := make(map[string]any, len(msg)+1)
	var sent pyjson.Sent
	for k, v := range msg {
		wired[k] = pyjson.Wire(v, &sent) // tuples, generators: see pyjson.TagKey
	}
	wired["id"] = id
	data, err := pyjson.Marshal(wired)
	if err != nil {
		return nil, fmt.Errorf("encode tool inputs: %w", err)
	}
	data = append(data, '\n')
	werr := make(chan error, 1)
	go func() { _, err := w.reqW.Write(data); werr <- err }()

	var resp *response
	marks := 0
	for resp == nil || marks < w.marksPerCall {
		var grace <-chan time.Time
		if resp != nil {
			// The response is in; end marks only order the printed lines.
			grace = time.After(2 * time.Second)
		}
		select {
		case err := <-werr:
			if err != nil {
				return nil, w.deathError()
			}
			werr = nil
		case line, ok := <-w.resp:
			if !ok {
				return nil, w.deathError()
			}
			var r response
			if err := pyjson.Unmarshal(line, &r); err != nil || r.ID != id {
				w.failWith("the python worker sent an unexpected reply")
				return nil, w.deathError()
			}
			if r.Callback != "" {
				if err := w.answerCallback(ctx, id, h.onCallback, r.Callback, r.Args.raw()); err != nil {
					return nil, w.deathError()
				}
				continue
			}
			if r.Chunk.Set {
				if h.onChunk != nil {
					h.onChunk(r.Chunk.V)
				}
				continue
			}
			resp = &r
		case mid := <-w.marks:
			if mid == id {
				marks++
			}
		case <-grace:
			marks = w.marksPerCall
		case <-w.exit:
			return nil, w.deathError()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	sent.Consumed(resp.Consumed)
	res := &CallResult{Metrics: resp.Metrics}
	if !resp.OK {
		res.Error = resp.Error
		if res.Error == nil {
			res.Error = &ToolError{Type: "Exception", Message: "the tool failed without an error message"}
		}
		return res, nil
	}
	if result != nil && len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return nil, err
		}
	}
	res.Output = resp.Output.V
	return res, nil
}

// answerCallback runs a callback and writes its answer on the request pipe,
// where the worker waits for it.
func (w *worker) answerCallback(ctx context.Context, id int, cb Callback, name string, args json.RawMessage) error {
	reply := map[string]any{"id": id, "callback_reply": true, "ok": true}
	var res any
	err := fmt.Errorf("this call cannot ask pfz for %s", name)
	if cb != nil {
		res, err = cb(ctx, name, args)
	}
	if err != nil {
		ce := &CallbackError{Type: "Exception", Message: err.Error()}
		errors.As(err, &ce)
		reply["ok"] = false
		reply["error"] = map[string]string{"type": ce.Type, "message": ce.Message}
	} else {
		reply["result"] = res
	}
	data, merr := pyjson.Marshal(reply)
	if merr != nil {
		data, _ = json.Marshal(map[string]any{"id": id, "callback_reply": true, "ok": false,
			"error": map[string]string{"type": "Exception", "message": "pfz could not encode the answer: " + merr.Error()}})
	}
	_, werr := w.reqW.Write(append(data, '\n'))
	return werr
}

// decodeJSON reads a model endpoint's JSON (NaN and the infinities
// included) into Go maps, the form package prompty reads.
func decodeJSON(b []byte) (any, error) {
	var v any
	err := pyjson.Unmarshal(b, &v)
	return v, err
}

func (w *worker) failWith(reason string) {
	w.mu.Lock()
	if w.reason == "" {
		w.reason = reason
	}
	w.mu.Unlock()
	w.kill()
}

func (w *worker) deathError() error {
	select {
	case <-w.exit:
	case <-time.After(2 * time.Second):
		w.kill()
		<-w.exit
	}
	w.mu.Lock()
	reason := w.reason
	tail := strings.Join(w.tail, "\n")
	w.mu.Unlock()
	if reason == "" {
		reason = "the python worker exited unexpectedly"
		if w.waitErr != nil {
			reason += " (" + w.waitErr.Error() + ")"
		}
	}
	return &WorkerError{Reason: reason, Stderr: tail}
}

func (w *worker) kill() {
	w.deadFlag.Store(true)
	killProcessGroup(w.cmd)
}

func (w *worker) shutdown() {
	_ = w.reqW.Close() // EOF on fd 3 ends the worker's loop
	select {
	case <-w.exit:
	case <-time.After(2 * time.Second):
		w.kill()
		<-w.exit
	}
}
