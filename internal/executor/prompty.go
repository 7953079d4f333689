package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/prompty"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// A prompty flow is one call per line: the line's inputs go through the
// prompty's signature (sample, defaults, images), the template is rendered
// with the engine of prompt nodes and split into messages as promptflow
// does, and the request goes out through the llm node's client. A dict
// answer (json_object) gives one output per key; any other answer is the
// output named "output", as promptflow names a function's plain return.

// promptyEntry is a prepared prompty flow.
type promptyEntry struct {
	p *prompty.Prompty
}

// preparePrompty loads the prompty with the run's environment (its
// ${env:…} references read it).
func (r *runner) preparePrompty(ctx context.Context) error {
	p, err := prompty.Load(r.f.Prompty, r.promptyOptions(r.dir))
	if err != nil {
		return fault.Wrap(fault.Validation, err, "prompty %s", filepath.Base(r.f.Path)).
			WithHint("fix the front matter; `pfz flow validate %s` checks it offline", r.f.File)
	}
	r.entry = &promptyEntry{p: p}
	// The template renders with Jinja2 in a python worker.
	r.renderOnly = true
	return r.startPool(ctx)
}

func (e *promptyEntry) aggregates() bool { return false }

func (e *promptyEntry) aggregate(context.Context, *runner, *Summary, map[int]pyjson.Object) {}

// promptyOptions are what a prompty in dir reads from the run: its
// environment (for ${env:…}), files and images.
func (r *runner) promptyOptions(dir string) prompty.Options {
	env := map[string]string{}
	for _, kv := range r.env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return prompty.Options{
		Getenv:     func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile:   os.ReadFile,
		Dir:        dir,
		WorkDir:    r.dir,
		FetchImage: r.fetchImage,
	}
}

func (r *runner) fetchImage(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("Error code: %d. Error message: %s.", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	return data, nil
}

// name names the prompty's call in node records and errors.
func (e *promptyEntry) name(r *runner) string {
	if e.p.Spec.Name != "" {
		return e.p.Spec.Name
	}
	return strings.TrimSuffix(filepath.Base(r.f.Path), filepath.Ext(r.f.Path))
}

// line runs a prompty flow's line and returns its outputs.
func (e *promptyEntry) line(ctx context.Context, r *runner, st *lineState) (pyjson.Object, *LineError) {
	name := e.name(r)
	start := time.Now()
	given := make(map[string]any, len(st.inputs))
	for k, v := range st.inputs {
		given[k] = v
	}
	var lerr *LineError
	for _, in := range r.f.Inputs {
		if v, ok := given[in.Name]; ok {
			if given[in.Name], lerr = typedInput(in.Name, in.Type, v, st.n); lerr != nil {
				return nil, lerr
			}
		}
	}
	out, usage, lerr := e.call(ctx, r, given)
	rec := NodeRunRecord{Node: name, Line: st.n, Status: StatusCompleted, Inputs: st.inputs, Output: out, Tokens: usage, Start: start, End: time.Now()}
	if lerr != nil {
		lerr.Node = name
		lerr.Message = fmt.Sprintf("Execution failure in '%s': %s", name, lerr.Message)
		rec.Status, rec.Error, rec.Output = StatusFailed, lerr, nil
	}
	r.sink.NodeRun(rec)
	if lerr != nil {
		return nil, lerr
	}
	if m, ok := pyjson.AsObject(out); ok && e.p.Response != "all" {
		return m, nil
	}
	return pyjson.Object{{Key: "output", Value: out}}, nil
}

// call is one call of the prompty with the given input values; usage is
// what the model call used, when the endpoint said.
func (e *promptyEntry) call(ctx context.Context, r *runner, given map[string]any) (out any, usage *TokenUsage, lerr *LineError) {
	p := e.p
	call, err := p.ResolveInputs(ctx, given)
	if err != nil {
		return nil, nil, promptyError(err)
	}
	vars := call.Inputs
	var esc *prompty.Escape
	if p.API != "completion" {
		esc, vars = prompty.NewEscape(call.Names, call.Inputs)
	}
	text, err := e.render(ctx, r, prompty.PreprocessTemplate(p.Spec.Template), vars)
	if err != nil {
		return nil, nil, &LineError{Code: CodeExecution, Type: "JinjaTemplateError", Message: err.Error()}
	}
	msgs, prompt, err := e.messages(call, esc, text)
	if err != nil {
		return nil, nil, promptyError(err)
	}
	var onChunk func(any)
	if e.p.Streaming() && r.cfg.OnChunk != nil {
		// Each text as promptflow's generator yields it, as it arrives.
		var st prompty.Stream
		onChunk = func(c any) {
			if t, ok := st.Text(c); ok {
				r.cfg.OnChunk(t)
			}
		}
	}
	resp, usage, lerr := e.send(ctx, r, msgs, prompt, onChunk)
	if lerr != nil {
		return nil, nil, lerr
	}
	out, err = p.FormatResponse(resp)
	if err != nil {
		return nil, usage, promptyError(err)
	}
	return out, usage, nil
}

// messages is the rendered template as the call sends it: the chat
// messages, or the completion prompt.
func (e *promptyEntry) messages(call *prompty.Call, esc *prompty.Escape, rendered string) ([]prompty.Message, string, error) {
	if e.p.API == "completion" {
		return nil, rendered, nil
	}
	msgs, err := prompty.ParseChat(rendered, call.Images, esc)
	return msgs, "", err
}

// send makes the call through the llm node's client: the response JSON, or
// the chunks of a streamed answer.
func (e *promptyEntry) send(ctx context.Context, r *runner, messages []prompty.Message, prompt string, onChunk func(any)) (any, *TokenUsage, *LineError) {
	p := e.p
	conn, err := p.Connection(func(name string) (map[string]string, error) { return r.connection(ctx, name) })
	if err != nil {
		var ue *prompty.UserError
		if errors.As(err, &ue) {
			return nil, nil, promptyError(err)
		}
		return nil, nil, &LineError{Code: CodeConnection, Message: fmt.Sprintf("connection %s: %v", p.Configuration["connection"], err)}
	}
	req, err := p.Request(conn, messages, prompt)
	if err != nil {
		return nil, nil, promptyError(err)
	}
	lr := &llmRequest{api: p.API, conn: conn.Values, connName: conn.Name, deployment: p.Model, model: p.Model,
		body: req.Body, headers: req.Headers, query: req.Query, raw: true, onChunk: onChunk}
	if lr.connName == "" {
		lr.connName = "(model.configuration)"
	}
	resp, err := callLLM(ctx, r.http, lr)
	if err != nil {
		msg := err.Error()
		var le *llmError
		if errors.As(err, &le) && le.hint != "" {
			msg += " (" + le.hint + ")"
		}
		return nil, nil, &LineError{Code: CodeLLM, Type: "LLMError", Message: msg}
	}
	return resp, lr.usage, nil
}

func promptyError(err error) *LineError {
	le := &LineError{Code: CodeToolError, Message: err.Error()}
	var ue *prompty.UserError
	var ce *prompty.ChatError
	switch {
	case errors.As(err, &ue):
		le.Type = ue.Type
		le.Message = fmt.Sprintf("(%s) %s", ue.Type, ue.Msg)
	case errors.As(err, &ce):
		le.Type = "ChatAPIInvalidRoleError"
		le.Message = ce.Msg
	}
	return le
}

// render renders the prompty's template with the session's Jinja2, as
// prompt nodes are rendered (docs/jinja.md).
func (e *promptyEntry) render(ctx context.Context, r *runner, text string, vars map[string]any) (string, error) {
	out, terr, err := r.pool.Render(ctx, text, vars)
	if err != nil {
		return "", fmt.Errorf("render the prompty template: %w", err)
	}
	if terr != nil {
		return "", errors.New(terr.Message)
	}
	return out, nil
}

// Prompty calls from Python code (promptflow.core.Prompty in pfz's built-in
// promptflow) come to pfz as two callbacks of the running call, so the call
// goes through the same code and client as a prompty flow's:
//
//	prompty.prepare {path, model, extra, inputs} -> {token, api, template, inputs}
//	    the prompty is read and loaded, its inputs resolved and escaped; the
//	    worker renders template with inputs with its Jinja2;
//	prompty.call {token, rendered, dry, abort} -> {output} or {stream: [texts]}
//	    the rendered text is split into messages and sent (dry: only the
//	    messages or prompt are returned; abort: the render failed, forget it).

type promptyPending struct {
	p    *prompty.Prompty
	call *prompty.Call
	esc  *prompty.Escape
}

type promptyPrepareArgs struct {
	Path   string         `json:"path"`
	Model  map[string]any `json:"model"`
	Extra  map[string]any `json:"extra"`
	Inputs map[string]any `json:"inputs"`
}

type promptyCallArgs struct {
	Token    string `json:"token"`
	Rendered string `json:"rendered"`
	Dry      bool   `json:"dry"`
	Abort    bool   `json:"abort"` // the worker could not render: forget the call
}

// promptyCallbacks serves the prompty callbacks of one python call; done,
// deferred by the caller when the call returns (also when its worker died
// between a prepare and its call), forgets the calls it prepared that never
// came back.
func (r *runner) promptyCallbacks() (cb Callback, done func()) {
	var mu sync.Mutex
	var mine []string
	cb = func(ctx context.Context, name string, args json.RawMessage) (any, error) {
		out, err := r.promptyCallback(ctx, name, args)
		if m, ok := out.(map[string]any); ok && name == "prompty.prepare" {
			if token, ok := m["token"].(string); ok {
				mu.Lock()
				mine = append(mine, token)
				mu.Unlock()
			}
		}
		return out, err
	}
	done = func() {
		mu.Lock()
		defer mu.Unlock()
		r.ptyMu.Lock()
		for _, token := range mine {
			delete(r.ptyPending, token)
		}
		r.ptyMu.Unlock()
		mine = nil
	}
	return cb, done
}

// promptyCallback serves one prompty callback of a python call.
func (r *runner) promptyCallback(ctx context.Context, name string, args json.RawMessage) (any, error) {
	switch name {
	case "prompty.prepare":
		var a promptyPrepareArgs
		if err := pyjson.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return r.promptyPrepare(ctx, a)
	case "prompty.call":
		var a promptyCallArgs
		if err := pyjson.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		r.ptyMu.Lock()
		pend := r.ptyPending[a.Token]
		delete(r.ptyPending, a.Token)
		r.ptyMu.Unlock()
		if a.Abort {
			return nil, nil
		}
		if pend == nil {
			return nil, &CallbackError{Type: "UserErrorException", Message: "the prompty call was not prepared"}
		}
		e := &promptyEntry{p: pend.p}
		msgs, prompt, err := e.messages(pend.call, pend.esc, a.Rendered)
		if err != nil {
			return nil, callbackError(err)
		}
		if a.Dry {
			if pend.p.API == "completion" {
				return prompt, nil
			}
			return msgs, nil
		}
		resp, _, lerr := e.send(ctx, r, msgs, prompt, nil)
		if lerr != nil {
			return nil, &CallbackError{Type: orType(lerr.Type, "LLMError"), Message: lerr.Message}
		}
		if chunks, ok := resp.([]any); ok && pend.p.Streaming() {
			// Python gets a generator of the texts, as from promptflow.
			return map[string]any{"stream": prompty.StreamTexts(chunks)}, nil
		}
		out, err := pend.p.FormatResponse(resp)
		if err != nil {
			return nil, callbackError(err)
		}
		return map[string]any{"output": out}, nil
	}
	return nil, &CallbackError{Type: "NotImplementedError", Message: "pfz does not serve " + name}
}

func orType(t, def string) string {
	if t == "" {
		return def
	}
	return t
}

func callbackError(err error) error {
	var ue *prompty.UserError
	if errors.As(err, &ue) {
		return &CallbackError{Type: ue.Type, Message: ue.Msg}
	}
	var ce *prompty.ChatError
	if errors.As(err, &ce) {
		return &CallbackError{Type: "ChatAPIInvalidRoleError", Message: ce.Msg}
	}
	return err
}

func (r *runner) promptyPrepare(ctx context.Context, a promptyPrepareArgs) (any, error) {
	path := a.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &CallbackError{Type: "UserErrorException", Message: fmt.Sprintf("Source %s does not exist", filepath.ToSlash(path))}
	}
	spec, ds := prompty.Parse(path, data)
	if ds.HasErrors() {
		return nil, &CallbackError{Type: "UserErrorException", Message: ds.Err().Error()}
	}
	opts := r.promptyOptions(filepath.Dir(path))
	opts.Model, opts.Extra = a.Model, a.Extra
	p, err := prompty.Load(spec, opts)
	if err != nil {
		return nil, callbackError(err)
	}
	call, err := p.ResolveInputs(ctx, a.Inputs)
	if err != nil {
		return nil, callbackError(err)
	}
	tmpl := prompty.PreprocessTemplate(spec.Template)
	vars := call.Inputs
	var esc *prompty.Escape
	if p.API != "completion" {
		esc, vars = prompty.NewEscape(call.Names, call.Inputs)
	}
	token := fmt.Sprintf("p%d", r.ptySeq.Add(1))
	r.ptyMu.Lock()
	if r.ptyPending == nil {
		r.ptyPending = map[string]*promptyPending{}
	}
	r.ptyPending[token] = &promptyPending{p: p, call: call, esc: esc}
	r.ptyMu.Unlock()
	return map[string]any{"token": token, "api": p.API, "template": tmpl, "inputs": vars}, nil
}
