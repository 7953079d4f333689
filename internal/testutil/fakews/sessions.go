package fakews

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Session provisioning states (ComputeProperties.provisioningState).
const (
	stateCreating  = "Creating"
	stateUpdating  = "Updating"
	stateSucceeded = "Succeeded"
	stateFailed    = "Failed"
)

// session is one compute session.
type session struct {
	id           string
	vmSize       string
	idle         int64
	image        string
	requirements []string
	identity     string
	computeName  string
	state        string
	created      time.Time
	lastAlive    time.Time
	op           *operation // the operation in progress, if any
	fromRun      bool       // created by a SystemWait submit
}

// operation is one azure-asyncoperation of a session.
type operation struct {
	id, sessionID, action string
	pollsLeft             int
	failure               string // pip's message when the setup fails
	done                  bool
	status                string
}

// createSessionRequest is CreateFlowSessionRequest (protocol §2.4).
type createSessionRequest struct {
	PythonPipRequirements []string `json:"pythonPipRequirements"`
	BaseImage             string   `json:"baseImage"`
	Action                string   `json:"action"`
	VMSize                string   `json:"vmSize"`
	MaxIdleTimeSeconds    int64    `json:"maxIdleTimeSeconds"`
	Identity              string   `json:"identity"`
	ComputeName           string   `json:"computeName"`
}

// SessionState is what a test may check of a session.
type SessionState struct {
	ID           string
	Status       string // Starting, Running, Failed
	VMSize       string
	IdleSeconds  int64
	Image        string
	Requirements []string
	Identity     string
	ComputeName  string
	FromRun      bool
}

// Session returns a session's state; ok is false when there is none.
func (s *Server) Session(id string) (SessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return SessionState{}, false
	}
	return SessionState{ID: ss.id, Status: ss.status(), VMSize: ss.vmSize, IdleSeconds: ss.idle, Image: ss.image,
		Requirements: append([]string(nil), ss.requirements...), Identity: ss.identity, ComputeName: ss.computeName, FromRun: ss.fromRun}, true
}

// Sessions returns every session the workspace has, by id.
func (s *Server) Sessions() []SessionState {
	s.mu.Lock()
	ids := sortedKeys(s.sessions)
	s.mu.Unlock()
	var out []SessionState
	for _, id := range ids {
		if st, ok := s.Session(id); ok {
			out = append(out, st)
		}
	}
	return out
}

func (ss *session) status() string {
	switch ss.state {
	case stateSucceeded:
		return "Running"
	case stateFailed:
		return "Failed"
	}
	return "Starting"
}

// serveSessions answers FlowSessions/… (rest is what follows "FlowSessions/").
func (s *Server) serveSessions(w http.ResponseWriter, r *http.Request, rest string) {
	seg := strings.Split(rest, "/")
	id := seg[0]
	switch {
	case len(seg) == 1 && r.Method == http.MethodPost:
		s.postSession(w, r, id)
	case len(seg) == 1 && r.Method == http.MethodGet:
		s.getSession(w, id)
	case len(seg) == 1 && r.Method == http.MethodDelete:
		s.mu.Lock()
		ss, ok := s.sessions[id]
		if ok && ss.op != nil && !ss.op.done {
			s.mu.Unlock()
			writeJSON(w, 409, s.flowError(409, "UserError", "Conflict", "session "+id+" is busy with a "+ss.op.action+" operation"))
			return
		}
		delete(s.sessions, id)
		s.mu.Unlock()
		if !ok {
			writeJSON(w, 404, s.flowError(404, "UserError", "SessionNotFound", "Session "+id+" not found"))
			return
		}
		w.WriteHeader(http.StatusOK)
	case len(seg) == 2 && seg[1] == "pipPackages" && r.Method == http.MethodGet:
		s.mu.Lock()
		ss, ok := s.sessions[id]
		var text string
		if ok {
			text = pipFreeze(ss.requirements)
		}
		s.mu.Unlock()
		if !ok {
			writeJSON(w, 404, s.flowError(404, "UserError", "SessionNotFound", "Session "+id+" not found"))
			return
		}
		writeJSON(w, 200, text)
	case len(seg) == 6 && seg[2] == "locations" && seg[4] == "operations" && r.Method == http.MethodGet:
		s.pollOperation(w, seg[5])
	default:
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "no such FlowSessions API: "+r.Method+" "+rest))
	}
}

func (s *Server) postSession(w http.ResponseWriter, r *http.Request, id string) {
	var req createSessionRequest
	if err := readJSON(r, &req); err != nil {
		writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "invalid request body: "+err.Error()))
		return
	}
	if len(id) == 0 || len(id) > 64 {
		writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "session id must have 1 to 64 characters"))
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	ss, exists := s.sessions[id]
	if exists && ss.op != nil && !ss.op.done {
		s.mu.Unlock()
		writeJSON(w, 409, s.flowError(409, "UserError", "Conflict", "session "+id+" is busy with a "+ss.op.action+" operation"))
		return
	}
	switch req.Action {
	case "Install", "Reset", "":
		if req.Action == "" {
			req.Action = "Install"
		}
		ss = &session{id: id, created: now, state: stateCreating}
		if exists && req.Action == "Install" {
			old := s.sessions[id]
			ss.created = old.created
		}
		ss.vmSize, ss.idle, ss.image, ss.requirements = req.VMSize, req.MaxIdleTimeSeconds, req.BaseImage, req.PythonPipRequirements
		ss.identity, ss.computeName = req.Identity, req.ComputeName
		if ss.vmSize == "" && ss.computeName == "" {
			ss.vmSize = "Standard_E4ds_v4"
		}
		s.sessions[id] = ss
	case "Update":
		if !exists {
			s.mu.Unlock()
			writeJSON(w, 404, s.flowError(404, "UserError", "SessionNotFound", "Session "+id+" not found"))
			return
		}
		ss.state = stateUpdating
		if req.PythonPipRequirements != nil {
			ss.requirements = req.PythonPipRequirements
		}
		if req.MaxIdleTimeSeconds > 0 {
			ss.idle = req.MaxIdleTimeSeconds
		}
		ss.identity = req.Identity
		if req.BaseImage != "" {
			ss.image = req.BaseImage
		}
	case "Delete":
		delete(s.sessions, id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	default:
		s.mu.Unlock()
		writeJSON(w, 400, s.flowError(400, "UserError", "BadArgument", "unknown action "+req.Action))
		return
	}
	ss.lastAlive = now
	op := &operation{id: newUUID(),
		sessionID: id, action: req.Action, pollsLeft: s.opts.SessionPolls}
	for _, k := range []string{id, "*"} {
		if msg, ok := s.failSess[k]; ok {
			op.failure = msg
			delete(s.failSess, k)
			break
		}
	}
	ss.op = op
	s.ops[op.id] = op
	s.mu.Unlock()
	w.Header().Set("azure-asyncoperation", s.URL()+"/flow/api"+s.WorkspacePath()+"/FlowSessions/"+id+"/"+req.Action+
		"/locations/"+s.opts.Location+"/operations/"+op.id+"?api-version=2021-03-01-preview&type=location")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// pollOperation answers InProgress pollsLeft times, then ends the operation.
func (s *Server) pollOperation(w http.ResponseWriter, opID string) {
	s.mu.Lock()
	op, ok := s.ops[opID]
	if !ok {
		s.mu.Unlock()
		writeJSON(w, 404, s.flowError(404, "UserError", "NotFound", "operation "+opID+" not found"))
		return
	}
	if !op.done && op.pollsLeft > 0 {
		op.pollsLeft--
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"status": "InProgress"})
		return
	}
	if !op.done {
		op.done = true
		op.status = "Succeeded"
		if op.failure != "" {
			op.status = "Failed"
		}
		if ss, ok := s.sessions[op.sessionID]; ok && ss.op == op {
			if op.failure != "" {
				ss.state = stateFailed
			} else {
				ss.state = stateSucceeded
			}
			ss.lastAlive = s.opts.Now()
		}
	}
	status, failure := op.status, op.failure
	s.mu.Unlock()
	if status == "Failed" {
		// The service puts pip's JSON error text in error.message (protocol §2.3).
		inner, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "UserError", "message": failure}})
		writeJSON(w, 200, map[string]any{"status": "Failed", "error": map[string]any{"code": "UserError", "message": string(inner)}})
		return
	}
	writeJSON(w, 200, map[string]any{"status": "Succeeded"})
}

func (s *Server) getSession(w http.ResponseWriter, id string) {
	s.mu.Lock()
	ss, ok := s.sessions[id]
	var body map[string]any
	if ok {
		body = s.sessionJSON(ss)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 404, s.flowError(404, "UserError", "SessionNotFound", "Session "+id+" not found"))
		return
	}
	writeJSON(w, 200, body)
}

// sessionJSON is GetTrainingSessionDto; callers hold s.mu.
func (s *Server) sessionJSON(ss *session) map[string]any {
	compute := map[string]any{
		"id":       s.WorkspacePath() + "/computes/serverless-" + ss.id[:min(8, len(ss.id))],
		"name":     "serverless-" + ss.id[:min(8, len(ss.id))],
		"type":     "Microsoft.MachineLearningServices/workspaces/computes",
		"location": s.opts.Location,
		"properties": map[string]any{
			"createdOn": ss.created.UTC().Format(time.RFC3339), "modifiedOn": ss.lastAlive.UTC().Format(time.RFC3339),
			"computeType": "ComputeInstance", "computeLocation": s.opts.Location, "provisioningState": ss.state,
			"isAttachedCompute": false, "disableLocalAuth": true,
		},
	}
	if ss.computeName != "" {
		compute["name"] = ss.computeName
	}
	if ss.identity != "" {
		cid := s.opts.UAIs[ss.identity]
		compute["identity"] = map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{
			ss.identity: map[string]any{"principalId": "p-" + cid, "clientId": cid}}}
	}
	return map[string]any{
		"properties": map[string]any{
			"sessionId": ss.id, "subscriptionId": s.opts.Subscription, "resourceGroupName": s.opts.ResourceGroup,
			"workspaceName": s.opts.Workspace, "existingUserComputeInstanceName": ss.computeName,
			"userObjectId": s.opts.User.ObjectID, "userTenantId": s.opts.User.TenantID,
			"vmSize": ss.vmSize, "maxIdleTimeSeconds": ss.idle, "lastAliveTime": ss.lastAlive.UTC().Format(time.RFC3339Nano),
			"application": map[string]any{"name": "promptflow-runtime", "type": "Runtime", "image": ss.image,
				"pythonPipRequirements": ss.requirements, "port": 8080},
		},
		"compute": compute,
	}
}

// pipFreeze is the session's package list: the base image's packages, then
// what the requirements name (pinned versions kept, others made up).
func pipFreeze(requirements []string) string {
	pkgs := map[string]string{
		"promptflow": "1.17.1", "promptflow-core": "1.17.1", "promptflow-devkit": "1.17.1",
		"promptflow-tools": "1.4.0", "requests": "2.32.3", "openai": "1.51.2", "pydantic": "2.9.2",
	}
	for _, line := range requirements {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "-") {
			continue
		}
		name, ver := line, "1.0.0"
		for _, op := range []string{"==", ">=", "~=", "<=", ">", "<"} {
			if i := strings.Index(line, op); i > 0 {
				name = strings.TrimSpace(line[:i])
				if op == "==" || op == ">=" || op == "~=" {
					ver = strings.TrimSpace(strings.SplitN(line[i+len(op):], ",", 2)[0])
				}
				break
			}
		}
		if i := strings.IndexAny(name, "[; "); i > 0 {
			name = name[:i]
		}
		pkgs[strings.ToLower(name)] = ver
	}
	var b strings.Builder
	for _, n := range sortedKeys(pkgs) {
		b.WriteString(n + "==" + pkgs[n] + "\n")
	}
	return b.String()
}
