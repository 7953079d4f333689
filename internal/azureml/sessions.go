package azureml

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// sessions manages compute sessions over the FlowSessions API (protocol §2).
type sessions struct{ w *Workspace }

// Session actions (SetupFlowSessionAction).
const (
	actionInstall = "Install"
	actionReset   = "Reset"
	actionUpdate  = "Update"
)

// sessionRequest is CreateFlowSessionRequest; nulls are omitted as msrest does.
type sessionRequest struct {
	PythonPipRequirements []string `json:"pythonPipRequirements,omitempty"`
	BaseImage             string   `json:"baseImage,omitempty"`
	Action                string   `json:"action"`
	VMSize                string   `json:"vmSize,omitempty"`
	MaxIdleTimeSeconds    int64    `json:"maxIdleTimeSeconds,omitempty"`
	Identity              string   `json:"identity,omitempty"`
	ComputeName           string   `json:"computeName,omitempty"`
}

// defaultIdle: a session started from the command line shuts down after an
// hour idle unless told otherwise (compute-session guide).
const defaultIdle = time.Hour

func (w *Workspace) sessionRequest(ctx context.Context, spec workspace.SessionSpec, action string) (*sessionRequest, error) {
	id, err := w.resolveIdentity(ctx, spec.Identity)
	if err != nil {
		return nil, err
	}
	idle := spec.IdleTime
	if idle <= 0 {
		idle = defaultIdle
	}
	req := &sessionRequest{
		PythonPipRequirements: spec.Requirements, BaseImage: spec.Image, Action: action,
		MaxIdleTimeSeconds: int64(idle / time.Second), Identity: id, ComputeName: spec.ComputeName,
	}
	if spec.ComputeType == workspace.ComputeComputeInstance {
		if spec.ComputeName == "" {
			return nil, fault.New(fault.Validation, "a compute-instance session needs the instance name").WithHint("pass --compute <instance name>")
		}
		// VM size and identity belong to the instance.
		req.Identity = ""
	} else {
		req.VMSize = spec.VMSize
	}
	return req, nil
}

func validSessionID(id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#% ") {
		return fault.New(fault.Validation, "invalid session id %q", id).WithHint("session ids are at most 64 characters without '/', '?', '#' or spaces")
	}
	return nil
}

// Start creates the session, or returns it when it already runs.
func (s *sessions) Start(ctx context.Context, spec workspace.SessionSpec, opts workspace.StartOptions) (*workspace.Session, error) {
	w := s.w
	if err := validSessionID(spec.ID); err != nil {
		return nil, err
	}
	if cur, err := s.Get(ctx, spec.ID); err == nil && cur.Status == workspace.SessionRunning && sameSpec(cur, spec) {
		return cur, nil
	} else if err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	if err := w.preflight(ctx, spec); err != nil {
		return nil, err
	}
	req, err := w.sessionRequest(ctx, spec, actionInstall)
	if err != nil {
		return nil, err
	}
	if err := w.saveRecord(spec); err != nil {
		report(opts.Reporter, "warning: could not record the session locally: "+err.Error())
	}
	return s.setup(ctx, spec.ID, w.serviceID(spec.ID), req, opts)
}

func sameSpec(cur *workspace.Session, spec workspace.SessionSpec) bool {
	if spec.VMSize != "" && !strings.EqualFold(cur.VMSize, spec.VMSize) {
		return false
	}
	return spec.Image == "" || cur.Image == "" || cur.Image == spec.Image
}

func report(rep workspace.Reporter, msg string) {
	if rep != nil {
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: msg})
	}
}

// setup posts a FlowSessions action to the service session sid and follows
// its async operation; id is the session as the flow knows it (see
// serviceID), and what the messages and the result name.
func (s *sessions) setup(ctx context.Context, id, sid string, req *sessionRequest, opts workspace.StartOptions) (*workspace.Session, error) {
	w := s.w
	u, err := w.flowURL(ctx, "FlowSessions/"+url.PathEscape(sid))
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, body: req, scope: w.cloud.armScope(), mlScope: w.cloud.mlScope(), idempotent: true})
	if err != nil {
		return nil, w.sessionFail(err, id, "%s of session %s", strings.ToLower(req.Action), id)
	}
	report(opts.Reporter, fmt.Sprintf("Session %s: %s accepted", id, req.Action))
	if resp.status == http.StatusAccepted {
		op := firstHeader(resp.header, "azure-asyncoperation")
		if op == "" {
			return nil, fault.New(fault.Failed, "the service accepted the %s of session %s but gave no operation to follow", req.Action, id).
				WithHint("check it with `pfz session show %s`", id)
		}
		if opts.NoWait {
			return &workspace.Session{ID: id, Target: workspace.TargetAzureML, Status: workspace.SessionStarting,
				Message: "started without waiting; follow it with `pfz session show " + id + "`"}, nil
		}
		if err := w.poll(ctx, id, op, opts); err != nil {
			return nil, err
		}
	}
	sess, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// poll follows an azure-asyncoperation URL (verbatim) until a terminal status.
func (w *Workspace) poll(ctx context.Context, id, op string, opts workspace.StartOptions) error {
	pctx := ctx
	var cancel context.CancelFunc = func() {}
	if opts.Timeout > 0 {
		pctx, cancel = context.WithTimeout(ctx, opts.Timeout)
	}
	defer cancel()
	timedOut := func() error {
		return fault.New(fault.Timeout, "session %s is still being set up after %s", id, opts.Timeout).
			WithHint("it goes on in the service; follow it with `pfz session show %s`", id)
	}
	last := ""
	for {
		if err := w.sleep(pctx, w.opts.PollInterval); err != nil {
			if ctx.Err() == nil && pctx.Err() != nil {
				return timedOut()
			}
			return interrupted(ctx, id)
		}
		resp, err := w.c.do(pctx, call{method: http.MethodGet, url: op, scope: w.cloud.armScope(), accept: "*/*"})
		if err != nil {
			if ctx.Err() == nil && pctx.Err() != nil {
				return timedOut()
			}
			if ctx.Err() != nil {
				return interrupted(ctx, id)
			}
			return w.sessionFail(err, id, "following session %s", id)
		}
		var st struct {
			Status string `json:"status"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := resp.json(&st); err != nil {
			return w.fail(err, "following session %s", id)
		}
		if st.Status != last {
			last = st.Status
			if st.Status != "" {
				report(opts.Reporter, fmt.Sprintf("Session %s: %s", id, st.Status))
			}
		}
		switch st.Status {
		case "", "InProgress", "NotStarted", "Running":
			continue
		case "Succeeded":
			if st.Error != nil && st.Error.Message != "" {
				report(opts.Reporter, "warning: "+errorText(st.Error.Message))
			}
			return nil
		}
		msg := "no detail"
		if st.Error != nil && st.Error.Message != "" {
			msg = errorText(st.Error.Message)
		}
		return fault.New(fault.Failed, "setting up session %s ended %s: %s", id, st.Status, msg).
			WithHint("fix the cause (often requirements.txt or the base image) and run `pfz session reset %s`", id)
	}
}

func interrupted(ctx context.Context, id string) error {
	return fault.Wrap(fault.Interrupted, ctx.Err(), "stopped waiting for session %s", id).
		WithHint("its setup goes on in the service; follow it with `pfz session show %s`", id)
}

// errorText unwraps an error message that is itself JSON (protocol §2.3).
func errorText(msg string) string {
	var inner struct {
		Message string `json:"message"`
		Error   *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(msg), &inner) == nil {
		if inner.Error != nil && inner.Error.Message != "" {
			return inner.Error.Message
		}
		if inner.Message != "" {
			return inner.Message
		}
	}
	return msg
}

func (w *Workspace) sessionFail(err error, id, format string, args ...any) error {
	switch statusOf(err) {
	case http.StatusNotFound:
		return fault.Wrap(fault.NotFound, err, "session %s not found in workspace %s", id, w.opts.Workspace).
			WithHint("start it with `pfz session start`")
	case http.StatusConflict:
		return fault.Wrap(fault.Failed, err, "session %s is busy with another operation", id).
			WithHint("wait for it to finish (`pfz session show %s`) and try again", id)
	}
	return w.fail(err, format, args...)
}

type trainingSession struct {
	Properties *struct {
		SessionID                       string `json:"sessionId"`
		ExistingUserComputeInstanceName string `json:"existingUserComputeInstanceName"`
		UserObjectID                    string `json:"userObjectId"`
		VMSize                          string `json:"vmSize"`
		MaxIdleTimeSeconds              int64  `json:"maxIdleTimeSeconds"`
		LastAliveTime                   string `json:"lastAliveTime"`
		Application                     *struct {
			Image                 string   `json:"image"`
			PythonPipRequirements []string `json:"pythonPipRequirements"`
		} `json:"application"`
	} `json:"properties"`
	Compute *struct {
		Name     string `json:"name"`
		Identity *struct {
			Type                   string                 `json:"type"`
			UserAssignedIdentities map[string]uaiIdentity `json:"userAssignedIdentities"`
		} `json:"identity"`
		Properties *struct {
			CreatedOn         string `json:"createdOn"`
			ComputeType       string `json:"computeType"`
			ProvisioningState string `json:"provisioningState"`
			Status            string `json:"status"`
		} `json:"properties"`
	} `json:"compute"`
}

// Get reads one session.
func (s *sessions) Get(ctx context.Context, id string) (*workspace.Session, error) {
	w := s.w
	if err := validSessionID(id); err != nil {
		return nil, err
	}
	sid := w.serviceID(id)
	ts, err := s.fetch(ctx, sid)
	if sid != id && fault.Is(err, fault.NotFound) {
		// The service session behind the alias is gone (idle time, a stop
		// from the studio): forget it, and look for id itself.
		_ = w.dropRecord(id)
		sid = id
		ts, err = s.fetch(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	rec, _ := w.recordServing(id)
	out := toSession(id, ts, rec)
	if sid != id {
		out.ID = id
		out.Message = joinMsg(out.Message, aliasNote(sid))
	}
	return out, nil
}

// fetch reads a service session.
func (s *sessions) fetch(ctx context.Context, sid string) (*trainingSession, error) {
	w := s.w
	u, err := w.flowURL(ctx, "FlowSessions/"+url.PathEscape(sid))
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, scope: w.cloud.armScope()})
	if err != nil {
		return nil, w.sessionFail(err, sid, "getting session %s", sid)
	}
	var ts trainingSession
	if err := resp.json(&ts); err != nil {
		return nil, w.fail(err, "reading session %s", sid)
	}
	return &ts, nil
}

func toSession(id string, ts *trainingSession, rec *sessionRecord) *workspace.Session {
	out := &workspace.Session{ID: id, Target: workspace.TargetAzureML, Status: workspace.SessionRunning, ComputeType: workspace.ComputeServerless,
		Identity: workspace.Identity{Type: "user_identity"}}
	if p := ts.Properties; p != nil {
		if p.SessionID != "" {
			out.ID = p.SessionID
		}
		out.VMSize = p.VMSize
		out.IdleTimeSeconds = p.MaxIdleTimeSeconds
		if p.ExistingUserComputeInstanceName != "" {
			out.ComputeType = workspace.ComputeComputeInstance
			out.Compute = p.ExistingUserComputeInstanceName
		}
		if t := parseTime(p.LastAliveTime); t != nil {
			out.LastUsed = t
			if p.MaxIdleTimeSeconds > 0 {
				exp := t.Add(time.Duration(p.MaxIdleTimeSeconds) * time.Second)
				out.ExpiresAt = &exp
			}
		}
		if a := p.Application; a != nil {
			out.Image = a.Image
			out.Requirements = a.PythonPipRequirements
		}
	}
	if c := ts.Compute; c != nil {
		if out.Compute == "" {
			out.Compute = c.Name
		}
		if c.Properties != nil {
			out.CreatedOn = parseTime(c.Properties.CreatedOn)
			switch c.Properties.ProvisioningState {
			case "Creating", "Updating", "Accepted", "Unknown":
				out.Status = workspace.SessionStarting
			case "Failed", "Canceled":
				out.Status = workspace.SessionFailed
			case "Deleting":
				out.Status = workspace.SessionStopped
			}
		}
		if c.Identity != nil && len(c.Identity.UserAssignedIdentities) > 0 && out.ComputeType == workspace.ComputeServerless {
			for rid, u := range c.Identity.UserAssignedIdentities {
				out.Identity = workspace.Identity{Type: "managed", ClientID: u.ClientID, ResourceID: rid}
				break
			}
		}
	}
	if rec != nil {
		out.FlowDir = rec.Spec.FlowDir
		if rec.Spec.Identity.Type != "" {
			out.Identity = rec.Spec.Identity
		}
		if out.Image == "" {
			out.Image = rec.Spec.Image
		}
		if len(out.Requirements) == 0 {
			out.Requirements = rec.Spec.Requirements
		}
	}
	return out
}

// List returns the sessions pfz started for this user in this workspace (the
// service has no list of sessions), refreshed from the service; sessions the
// service no longer has are dropped from the record.
func (s *sessions) List(ctx context.Context, filter workspace.SessionFilter) ([]workspace.Session, error) {
	w := s.w
	recs, err := w.records()
	if err != nil {
		return nil, err
	}
	alias := ""
	if tok, err := w.c.token(ctx, w.cloud.armScope()); err == nil {
		alias = aliasOf(tok)
	}
	var out []workspace.Session
	for _, r := range recs {
		if alias != "" && r.Spec.UserAlias != "" && r.Spec.UserAlias != alias {
			continue
		}
		if filter.FlowDir != "" && !samePath(filter.FlowDir, r.Spec.FlowDir) {
			continue
		}
		sess, err := s.Get(ctx, r.Spec.ID)
		if fault.Is(err, fault.NotFound) {
			_ = w.dropRecord(r.Spec.ID)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *sess)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func samePath(a, b string) bool {
	ca, _ := filepath.Abs(a)
	cb, _ := filepath.Abs(b)
	return filepath.Clean(ca) == filepath.Clean(cb)
}

func aliasOf(tok string) string {
	c := claimsOf(tok)
	for _, k := range []string{"upn", "email"} {
		if v, _ := c[k].(string); v != "" {
			return strings.SplitN(v, "@", 2)[0]
		}
	}
	if v, _ := c["oid"].(string); v != "" {
		return v
	}
	return "unknown_user"
}

// specOf returns the spec a session was started with: the local record, or
// what the service says.
func (s *sessions) specOf(ctx context.Context, id string) (workspace.SessionSpec, *workspace.Session, error) {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return workspace.SessionSpec{}, nil, err
	}
	if rec, _ := s.w.record(id); rec != nil {
		spec := rec.Spec
		spec.IdleTime = time.Duration(rec.IdleSeconds) * time.Second
		return spec, cur, nil
	}
	spec := workspace.SessionSpec{ID: id, ComputeType: cur.ComputeType, VMSize: cur.VMSize, ComputeName: cur.Compute,
		Image: cur.Image, Requirements: cur.Requirements, Identity: cur.Identity,
		IdleTime: time.Duration(cur.IdleTimeSeconds) * time.Second}
	if spec.ComputeType != workspace.ComputeComputeInstance {
		spec.ComputeName = ""
	}
	return spec, cur, nil
}

// Edit changes a session: a new VM size resets it, idle time and identity
// change in place (Update).
func (s *sessions) Edit(ctx context.Context, id string, edit workspace.SessionEdit, opts workspace.StartOptions) (*workspace.Session, error) {
	w := s.w
	spec, cur, err := s.specOf(ctx, id)
	if err != nil {
		return nil, err
	}
	action := ""
	if edit.VMSize != nil && !strings.EqualFold(*edit.VMSize, cur.VMSize) {
		if spec.ComputeType == workspace.ComputeComputeInstance {
			return nil, fault.New(fault.Validation, "the VM size of a compute-instance session is the instance's own").
				WithHint("resize the compute instance %s, or start a serverless session", spec.ComputeName)
		}
		spec.VMSize = *edit.VMSize
		action = actionReset
		if err := w.preflight(ctx, spec); err != nil {
			return nil, err
		}
	}
	if edit.Compute != nil && *edit.Compute != spec.ComputeName {
		if spec.ComputeType != workspace.ComputeComputeInstance {
			return nil, session.ErrMoveServerless(id)
		}
		// The session moves: it is set up again on the other instance.
		spec.ComputeName = *edit.Compute
		action = actionReset
	}
	if edit.IdleTime != nil {
		spec.IdleTime = *edit.IdleTime
		if action == "" {
			action = actionUpdate
		}
	}
	if edit.Identity != nil {
		if spec.ComputeType == workspace.ComputeComputeInstance {
			return nil, fault.New(fault.Validation, "a compute-instance session uses the instance's identity").
				WithHint("assign a managed identity to compute instance %s instead", spec.ComputeName)
		}
		spec.Identity = *edit.Identity
		if action == "" {
			action = actionUpdate
		}
	}
	if action == "" {
		return nil, fault.New(fault.Usage, "nothing to change").WithHint("pass --vm-size, --idle-time, --identity or --compute")
	}
	req, err := w.sessionRequest(ctx, spec, action)
	if err != nil {
		return nil, err
	}
	_ = w.saveRecord(spec)
	return s.setup(ctx, id, w.serviceID(id), req, opts)
}

// Reset deletes and recreates the session with the same environment.
func (s *sessions) Reset(ctx context.Context, id string, opts workspace.StartOptions) (*workspace.Session, error) {
	spec, _, err := s.specOf(ctx, id)
	if err != nil {
		return nil, err
	}
	req, err := s.w.sessionRequest(ctx, spec, actionReset)
	if err != nil {
		return nil, err
	}
	return s.setup(ctx, id, s.w.serviceID(id), req, opts)
}

// Stop deletes the session.
func (s *sessions) Stop(ctx context.Context, id string) error {
	w := s.w
	if err := validSessionID(id); err != nil {
		return err
	}
	u, err := w.flowURL(ctx, "FlowSessions/"+url.PathEscape(w.serviceID(id)))
	if err != nil {
		return err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodDelete, url: u, scope: w.cloud.armScope()})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			_ = w.dropRecord(id)
		}
		return w.sessionFail(err, id, "stopping session %s", id)
	}
	if resp.status == http.StatusAccepted {
		if op := firstHeader(resp.header, "azure-asyncoperation"); op != "" {
			if err := w.poll(ctx, id, op, workspace.StartOptions{}); err != nil {
				return err
			}
		}
	}
	return w.dropRecord(id)
}

// Packages lists what the session has installed, each marked as coming from
// the base image or the requirements.
func (s *sessions) Packages(ctx context.Context, id string) (*workspace.PackageList, error) {
	w := s.w
	spec, _, err := s.specOf(ctx, id)
	if err != nil {
		return nil, err
	}
	u, err := w.flowURL(ctx, "FlowSessions/"+url.PathEscape(w.serviceID(id))+"/pipPackages")
	if err != nil {
		return nil, err
	}
	resp, err := w.c.do(ctx, call{method: http.MethodGet, url: u, scope: w.cloud.armScope()})
	if err != nil {
		return nil, w.sessionFail(err, id, "listing the packages of session %s", id)
	}
	return parsePipPackages(id, resp.body, spec.Requirements), nil
}

// parsePipPackages reads the pipPackages answer: a JSON string of
// `pip freeze` lines (or, tolerated, a JSON list of {name, version}).
func parsePipPackages(id string, body []byte, requirements []string) *workspace.PackageList {
	req := map[string]bool{}
	for _, line := range requirements {
		if n := requirementName(line); n != "" {
			req[n] = true
		}
	}
	out := &workspace.PackageList{SessionID: id, Packages: []workspace.Package{}}
	add := func(name, version string) {
		origin := workspace.OriginBase
		if req[normalizeName(name)] {
			origin = workspace.OriginRequirements
		}
		out.Packages = append(out.Packages, workspace.Package{Name: name, Version: version, Origin: origin})
	}
	var text string
	var list []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &list) == nil && list != nil {
		for _, p := range list {
			add(p.Name, p.Version)
		}
	} else {
		if json.Unmarshal(body, &text) != nil {
			text = string(body)
		}
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, version := line, ""
			for _, sep := range []string{"==", " @ ", "==="} {
				if i := strings.Index(line, sep); i > 0 {
					name, version = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+len(sep):])
					break
				}
			}
			if strings.HasPrefix(line, "python==") || strings.HasPrefix(line, "Python ") {
				out.PythonVersion = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(line, "python=="), "Python "))
				continue
			}
			add(name, version)
		}
	}
	sort.Slice(out.Packages, func(i, j int) bool {
		return normalizeName(out.Packages[i].Name) < normalizeName(out.Packages[j].Name)
	})
	return out
}

// requirementName is the distribution name of a requirements line ("" for
// options and comments).
func requirementName(line string) string {
	line = strings.TrimSpace(line)
	if i := strings.Index(line, "#"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	if line == "" || strings.HasPrefix(line, "-") {
		return ""
	}
	end := len(line)
	for i, r := range line {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			end = i
			break
		}
	}
	return normalizeName(line[:end])
}

func normalizeName(n string) string {
	n = strings.ToLower(n)
	return strings.NewReplacer("_", "-", ".", "-").Replace(n)
}

// Install updates the running service session in place with next's
// requirements (FlowSessions action Update, pythonPipRequirements = the
// whole file) and records that next.ID, the id the flow has from now on,
// is served by that service session, as the studio keeps one session
// through package installs. Every session command and run create then
// resolve next.ID to it (serviceID).
//
// This departs from pfazure, which knows nothing of installs: it derives
// next.ID from the new requirements and has the service start a new
// session for it at the next submit. pfz users on another machine, and
// pfazure, get that behaviour; the session pfz updated serves both its old
// id and next.ID until it ends (a stop, or its idle time), after which the
// alias is forgotten and next.ID is an ordinary session again.
//
// The alias is written before the Update is posted: the command has saved
// the requirements file already, so whatever the service does, the flow
// must find this session (and a retry of the install reaches it).
func (s *sessions) Install(ctx context.Context, id string, next workspace.SessionSpec, opts workspace.StartOptions) (*workspace.Session, error) {
	w := s.w
	partial := next.ID == ""
	if partial {
		next.ID = id
	}
	if err := validSessionID(next.ID); err != nil {
		return nil, err
	}
	target, note := id, ""
	if next.ID != id {
		if _, err := s.Get(ctx, next.ID); err == nil {
			target = next.ID
			note = fmt.Sprintf("session %s already served the new requirements, so the packages were installed there; "+
				"session %s was left as it is (`pfz session stop %s` deletes it)", next.ID, id, id)
		} else if !fault.Is(err, fault.NotFound) {
			return nil, err
		}
	}
	spec, _, err := s.specOf(ctx, target)
	if err != nil {
		return nil, err
	}
	sid := w.serviceID(target)
	if partial {
		spec.Requirements = next.Requirements
	} else {
		spec = withEnvironment(spec, next)
	}
	req, err := w.sessionRequest(ctx, spec, actionUpdate)
	if err != nil {
		return nil, err
	}
	if err := w.rekeyRecord(target, spec, sid); err != nil {
		report(opts.Reporter, "warning: could not record the session locally: "+err.Error())
	} else if target != next.ID {
		report(opts.Reporter, fmt.Sprintf("Session %s is now %s (the session id follows the requirements; service session %s serves it)", target, next.ID, sid))
	}
	sess, err := s.setup(ctx, next.ID, sid, req, opts)
	if err != nil {
		return nil, err
	}
	if note != "" {
		sess.Message = joinMsg(sess.Message, note)
	}
	return sess, nil
}
