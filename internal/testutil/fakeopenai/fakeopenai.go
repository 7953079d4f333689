// Package fakeopenai is a fake OpenAI and Azure OpenAI server on 127.0.0.1 for
// tests: chat and completion endpoints in both URL shapes, key checks, a
// scripted or echoing reply (a reply "TOOL_CALL name {json args}" answers
// with a tool call), streamed answers (server-sent events) for requests with
// stream: true, recorded requests and fault injection (a number of failing
// answers with a status and Retry-After). Test support only.
package fakeopenai

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Request is one request the server received.
type Request struct {
	API        string // "chat" or "completion"
	Flavor     string // "azure" or "openai"
	Deployment string // azure deployment from the URL
	APIVersion string // azure api-version query
	Body       map[string]any
	Header     http.Header
}

// Messages returns the chat messages of a chat request.
func (r Request) Messages() []map[string]any {
	var out []map[string]any
	list, _ := r.Body["messages"].([]any)
	for _, m := range list {
		if mm, ok := m.(map[string]any); ok {
			out = append(out, mm)
		}
	}
	return out
}

// ReplyFunc computes the assistant text for a request.
type ReplyFunc func(Request) string

// Server is a running fake.
type Server struct {
	URL string // http://127.0.0.1:port (azure api_base; openai base_url is URL+"/v1")
	Key string // the accepted api key

	srv *httptest.Server

	mu       sync.Mutex
	reply    ReplyFunc
	requests []Request
	faults   []fault
}

type fault struct {
	status     int
	retryAfter string
}

// Echo answers "echo: " followed by the last user message (chat; a content
// of parts written out by contentText) or the prompt (completion).
func Echo(r Request) string {
	if r.API == "completion" {
		p, _ := r.Body["prompt"].(string)
		return "echo: " + p
	}
	msgs := r.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i]["role"] == "user" {
			return "echo: " + contentText(msgs[i]["content"])
		}
	}
	return "echo:"
}

// contentText is a message's content as text: the string, or a list of
// parts each written out (text parts as they are, an image part as
// [image_url <url> <detail>]), so an echo shows every part a request sent.
func contentText(c any) string {
	parts, ok := c.([]any)
	if !ok {
		s, _ := c.(string)
		return s
	}
	var b strings.Builder
	for _, p := range parts {
		pm, _ := p.(map[string]any)
		switch pm["type"] {
		case "text":
			t, _ := pm["text"].(string)
			b.WriteString(t)
		case "image_url":
			iu, _ := pm["image_url"].(map[string]any)
			fmt.Fprintf(&b, "[image_url %v %v]", iu["url"], iu["detail"])
		default:
			fmt.Fprintf(&b, "[%v]", pm["type"])
		}
	}
	return b.String()
}

// Scripted answers with the text after "REPLY " on the last line of the
// prompt (or of any message) that starts with it, so a test's prompt says
// what the model answers (JSON, say); without such a line it answers a
// request for a JSON object (response_format json_object) with
// {"answer": <Echo's text>, "confidence": "high"} and echoes any other.
func Scripted(r Request) string {
	var texts []string
	if r.API == "completion" {
		p, _ := r.Body["prompt"].(string)
		texts = append(texts, p)
	}
	for _, m := range r.Messages() {
		switch c := m["content"].(type) {
		case string:
			texts = append(texts, c)
		case []any:
			for _, part := range c {
				if pm, ok := part.(map[string]any); ok {
					if t, ok := pm["text"].(string); ok {
						texts = append(texts, t)
					}
				}
			}
		}
	}
	reply, found := "", false
	for _, t := range texts {
		for _, line := range strings.Split(t, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "REPLY "); ok {
				reply, found = rest, true
			}
		}
	}
	if found {
		return reply
	}
	if rf, ok := r.Body["response_format"].(map[string]any); ok && rf["type"] == "json_object" {
		b, _ := json.Marshal(map[string]any{"answer": Echo(r), "confidence": "high"})
		return string(b)
	}
	return Echo(r)
}

// New starts a fake on 127.0.0.1 that accepts key and echoes; it stops when
// the test ends.
func New(t testing.TB, key string) *Server {
	t.Helper()
	s, err := Start(key)
	if err != nil {
		t.Fatalf("fakeopenai: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake on 127.0.0.1 that accepts key and echoes, for callers
// without a testing.TB (a TestMain); Close stops it.
func Start(key string) (*Server, error) {
	s := &Server{Key: key, reply: Echo}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(s.handle)}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetReply changes how the server answers.
func (s *Server) SetReply(f ReplyFunc) {
	s.mu.Lock()
	s.reply = f
	s.mu.Unlock()
}

// FailNext makes the next n requests fail with status (and a Retry-After
// header when retryAfter is not empty).
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	for i := 0; i < n; i++ {
		s.faults = append(s.faults, fault{status, retryAfter})
	}
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		apiError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	req := Request{Header: r.Header.Clone()}
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/openai/deployments/"):
		req.Flavor = "azure"
		rest := strings.TrimPrefix(path, "/openai/deployments/")
		dep, op, _ := strings.Cut(rest, "/")
		req.Deployment, req.APIVersion = dep, r.URL.Query().Get("api-version")
		path = "/" + op
		if r.Header.Get("api-key") != s.Key {
			apiError(w, http.StatusUnauthorized, "Access denied due to invalid subscription key or wrong API endpoint.")
			return
		}
		if req.APIVersion == "" {
			apiError(w, http.StatusNotFound, "Resource not found")
			return
		}
	default:
		req.Flavor = "openai"
		path = strings.TrimPrefix(path, "/v1")
		if r.Header.Get("Authorization") != "Bearer "+s.Key {
			apiError(w, http.StatusUnauthorized, "Incorrect API key provided.")
			return
		}
	}
	switch path {
	case "/chat/completions":
		req.API = "chat"
	case "/completions":
		req.API = "completion"
	default:
		apiError(w, http.StatusNotFound, "unknown path "+r.URL.Path)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req.Body); err != nil {
		apiError(w, http.StatusBadRequest, "body is not JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var f *fault
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	reply := s.reply
	s.mu.Unlock()
	if f != nil {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		apiError(w, f.status, fmt.Sprintf("injected failure %d", f.status))
		return
	}
	if req.Flavor == "openai" && req.Body["model"] == nil {
		apiError(w, http.StatusBadRequest, "you must provide a model parameter")
		return
	}
	text := reply(req)
	usage := map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
	if req.Body["stream"] == true {
		stream(w, req.API, text)
		return
	}
	var resp map[string]any
	if req.API == "chat" {
		if req.Body["messages"] == nil {
			apiError(w, http.StatusBadRequest, "'messages' is a required property")
			return
		}
		msg, finish := map[string]any{"role": "assistant", "content": text}, "stop"
		if call, ok := strings.CutPrefix(text, "TOOL_CALL "); ok {
			name, args, _ := strings.Cut(call, " ")
			msg, finish = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
				"id": "call_fake_1", "type": "function", "function": map[string]any{"name": name, "arguments": args}}}}, "tool_calls"
		}
		resp = map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "model": "fake",
			"choices": []any{map[string]any{"index": 0, "finish_reason": finish, "message": msg}},
			"usage":   usage,
		}
	} else {
		resp = map[string]any{
			"id": "cmpl-fake", "object": "text_completion", "model": "fake",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "text": text}},
			"usage":   usage,
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// stream answers as server-sent events, the text in chunks of up to four
// bytes (a first chat chunk carries the role), then [DONE].
func stream(w http.ResponseWriter, api, text string) {
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(v map[string]any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		if api == "chat" {
			return map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake",
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		}
		t, _ := delta["content"].(string)
		return map[string]any{"id": "cmpl-fake", "object": "text_completion", "model": "fake",
			"choices": []any{map[string]any{"index": 0, "text": t, "finish_reason": finish}}}
	}
	if api == "chat" {
		send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	}
	for rest := text; rest != ""; {
		n := min(4, len(rest))
		send(chunk(map[string]any{"content": rest[:n]}, nil))
		rest = rest[n:]
	}
	send(chunk(map[string]any{}, "stop"))
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "code": fmt.Sprint(status)}})
}
