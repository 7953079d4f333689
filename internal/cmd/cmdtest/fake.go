// Package cmdtest is test support for command-level tests: an in-memory
// fake of workspace.Workspace that records what commands ask of it. It is
// imported by tests only and never ships in the binary.
package cmdtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Workspace is a fake target. Its fields may be set before use; calls are
// recorded in Calls.
type Workspace struct {
	Name string // target name, default "local"

	mu           sync.Mutex
	Calls        []string
	SessionByID  map[string]*workspace.Session
	PackagesByID map[string]*workspace.PackageList
	RunByName    map[string]*workspace.Run
	DetailsByRun map[string][]workspace.LineDetail
	MetricsByRun map[string]pyjson.Object
	LogsByRun    map[string][]string // successive log texts returned by Logs
	// Statuses are successive statuses Get returns for a run (then the last).
	StatusesByRun map[string][]string
	Submitted     []*workspace.Submission
	Started       []workspace.SessionSpec
	// InstalledByID holds the requirement lines of each install, keyed by
	// the id Install was called with (the session before the edit).
	InstalledByID map[string][]string
	// Installed are the next specs Install was given, in order.
	Installed []workspace.SessionSpec
	Edits     []workspace.SessionEdit
	StartOpts []workspace.StartOptions
	// Err, when set, is returned by every call.
	Err error
}

// New returns an empty fake workspace for target.
func New(target string) *Workspace {
	return &Workspace{
		Name:          target,
		SessionByID:   map[string]*workspace.Session{},
		PackagesByID:  map[string]*workspace.PackageList{},
		RunByName:     map[string]*workspace.Run{},
		DetailsByRun:  map[string][]workspace.LineDetail{},
		MetricsByRun:  map[string]pyjson.Object{},
		LogsByRun:     map[string][]string{},
		StatusesByRun: map[string][]string{},
		InstalledByID: map[string][]string{},
	}
}

// Target returns the target name.
func (w *Workspace) Target() string { return w.Name }

// Sessions returns the fake's sessions API.
func (w *Workspace) Sessions() workspace.Sessions { return (*sessions)(w) }

// Runs returns the fake's runs API.
func (w *Workspace) Runs() workspace.Runs { return (*runs)(w) }

func (w *Workspace) record(format string, args ...any) {
	w.Calls = append(w.Calls, fmt.Sprintf(format, args...))
}

type sessions Workspace
type runs Workspace

var _ workspace.Workspace = (*Workspace)(nil)

func notFound(what, id string) error {
	return fault.New(fault.NotFound, "%s %s not found", what, id)
}

func (s *sessions) w() *Workspace { return (*Workspace)(s) }

func (s *sessions) Start(_ context.Context, spec workspace.SessionSpec, opts workspace.StartOptions) (*workspace.Session, error) {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("session.start %s", spec.ID)
	if w.Err != nil {
		return nil, w.Err
	}
	w.Started = append(w.Started, spec)
	w.StartOpts = append(w.StartOpts, opts)
	if opts.Reporter != nil {
		opts.Reporter.Report(workspace.Event{Kind: workspace.EventStatus, Message: "Starting session"})
	}
	status := workspace.SessionRunning
	if opts.NoWait {
		status = workspace.SessionStarting
	}
	sess := &workspace.Session{
		ID: spec.ID, Target: w.Name, Status: status, FlowDir: spec.FlowDir, ComputeType: spec.ComputeType,
		Compute: spec.ComputeName, VMSize: spec.VMSize, IdleTimeSeconds: int64(spec.IdleTime / time.Second),
		Identity: spec.Identity, Image: spec.Image, Requirements: spec.Requirements,
	}
	w.SessionByID[spec.ID] = sess
	cp := *sess
	return &cp, nil
}

func (s *sessions) Get(_ context.Context, id string) (*workspace.Session, error) {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("session.get %s", id)
	if w.Err != nil {
		return nil, w.Err
	}
	sess, ok := w.SessionByID[id]
	if !ok {
		return nil, notFound("session", id)
	}
	cp := *sess
	return &cp, nil
}

func (s *sessions) List(_ context.Context, f workspace.SessionFilter) ([]workspace.Session, error) {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("session.list %s", f.FlowDir)
	if w.Err != nil {
		return nil, w.Err
	}
	var out []workspace.Session
	for _, sess := range w.SessionByID {
		if f.FlowDir == "" || sess.FlowDir == f.FlowDir {
			out = append(out, *sess)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *sessions) Edit(_ context.Context, id string, e workspace.SessionEdit, opts workspace.StartOptions) (*workspace.Session, error) {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("session.edit %s", id)
	if w.Err != nil {
		return nil, w.Err
	}
	sess, ok := w.SessionByID[id]
	if !ok {
		return nil, notFound("session", id)
	}
	w.Edits = append(w.Edits, e)
	if e.VMSize != nil {
		sess.VMSize = *e.VMSize
	}
	if e.IdleTime != nil {
		sess.IdleTimeSeconds = int64(*e.IdleTime / time.Second)
	}
	if e.Identity != nil {
		sess.Identity = *e.Identity
	}
	cp := *sess
	return &cp, nil
}

func (s *sessions) Reset(_ context.Context, id string, _ workspace.StartOptions) (*workspace.Session, error) {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("session.reset %s", id)
	if w.Err != nil {
		return nil, w.Err
	}
	sess, ok := w.SessionByID[id]
	if !ok {
		return nil, notFound("session", id)
	}
	cp := *sess
	return &cp, nil
}

func (s *sessions) Stop(_ context.Context, id string) error {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("session.stop %s", id)
	if w.Err != nil {
		return w.Err
	}
	if _, ok := w.SessionByID[id]; !ok {
		return notFound("session", id)
	}
	delete(w.SessionByID, id)
	return nil
}

func (s *sessions) Packages(_ context.Context, id string) (*workspace.PackageList, error) {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("session.packages %s", id)
	if w.Err != nil {
		return nil, w.Err
	}
	if _, ok := w.SessionByID[id]; !ok {
		return nil, notFound("session", id)
	}
	if p, ok := w.PackagesByID[id]; ok {
		cp := *p
		return &cp, nil
	}
	return &workspace.PackageList{SessionID: id, PythonVersion: "3.11.9"}, nil
}

// Install files the session under next.ID, as the backends do: a session
// already there gets the packages instead, and id is left alone.
func (s *sessions) Install(_ context.Context, id string, next workspace.SessionSpec, _ workspace.StartOptions) (*workspace.Session, error) {
	w := s.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	if next.ID == "" {
		next.ID = id
	}
	if next.ID == id {
		w.record("session.install %s", id)
	} else {
		w.record("session.install %s -> %s", id, next.ID)
	}
	if w.Err != nil {
		return nil, w.Err
	}
	msg := ""
	if _, ok := w.SessionByID[next.ID]; ok && next.ID != id {
		msg = fmt.Sprintf("session %s already served the new requirements, so the packages were installed there", next.ID)
	} else if sess, ok := w.SessionByID[id]; ok {
		delete(w.SessionByID, id)
		sess.ID = next.ID
		w.SessionByID[next.ID] = sess
		if pl, ok := w.PackagesByID[id]; ok && next.ID != id {
			delete(w.PackagesByID, id)
			pl.SessionID = next.ID
			w.PackagesByID[next.ID] = pl
		}
	}
	sess, ok := w.SessionByID[next.ID]
	if !ok {
		return nil, notFound("session", id)
	}
	w.InstalledByID[id] = next.Requirements
	w.Installed = append(w.Installed, next)
	sess.Requirements = next.Requirements
	sess.Image = next.Image
	cp := *sess
	cp.Message = msg
	return &cp, nil
}

func (r *runs) w() *Workspace { return (*Workspace)(r) }

func (r *runs) Submit(_ context.Context, sub *workspace.Submission, rep workspace.Reporter) (*workspace.Run, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.submit %s", sub.Name)
	if w.Err != nil {
		return nil, w.Err
	}
	w.Submitted = append(w.Submitted, sub)
	if rep != nil {
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: "Submitting run " + sub.Name})
	}
	run := &workspace.Run{Name: sub.Name, DisplayName: sub.DisplayName, Status: workspace.RunNotStarted, Target: w.Name, SessionID: sub.Session.ID}
	if _, ok := w.RunByName[sub.Name]; !ok {
		w.RunByName[sub.Name] = run
	}
	cp := *w.RunByName[sub.Name]
	return &cp, nil
}

func (r *runs) Get(_ context.Context, name string) (*workspace.Run, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.get %s", name)
	if w.Err != nil {
		return nil, w.Err
	}
	run, ok := w.RunByName[name]
	if !ok {
		return nil, notFound("run", name)
	}
	if st := w.StatusesByRun[name]; len(st) > 0 {
		run.Status = st[0]
		if len(st) > 1 {
			w.StatusesByRun[name] = st[1:]
		}
	}
	cp := *run
	return &cp, nil
}

func (r *runs) List(_ context.Context, o workspace.ListOptions) ([]workspace.Run, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.list max=%d archived-only=%t include-archived=%t", o.MaxResults, o.ArchivedOnly, o.IncludeArchived)
	if w.Err != nil {
		return nil, w.Err
	}
	var out []workspace.Run
	for _, run := range w.RunByName {
		switch {
		case o.ArchivedOnly && !run.IsArchived, !o.ArchivedOnly && !o.IncludeArchived && run.IsArchived:
			continue
		}
		out = append(out, *run)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if o.MaxResults > 0 && len(out) > o.MaxResults {
		out = out[:o.MaxResults]
	}
	return out, nil
}

func (r *runs) Cancel(_ context.Context, name string) error {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.cancel %s", name)
	if w.Err != nil {
		return w.Err
	}
	run, ok := w.RunByName[name]
	if !ok {
		return notFound("run", name)
	}
	run.Status = workspace.RunCancelRequested
	return nil
}

func (r *runs) Details(_ context.Context, name string, max int) ([]workspace.LineDetail, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.details %s max=%d", name, max)
	if w.Err != nil {
		return nil, w.Err
	}
	d := w.DetailsByRun[name]
	if max > 0 && len(d) > max {
		d = d[:max]
	}
	return d, nil
}

func (r *runs) Metrics(_ context.Context, name string) (pyjson.Object, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.metrics %s", name)
	if w.Err != nil {
		return nil, w.Err
	}
	return w.MetricsByRun[name], nil
}

func (r *runs) Logs(_ context.Context, name string) (string, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.Err != nil {
		return "", w.Err
	}
	l := w.LogsByRun[name]
	if len(l) == 0 {
		return "", nil
	}
	if len(l) > 1 {
		w.LogsByRun[name] = l[1:]
	}
	return l[0], nil
}

func (r *runs) Update(_ context.Context, name string, u workspace.RunUpdate) (*workspace.Run, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.update %s", name)
	if w.Err != nil {
		return nil, w.Err
	}
	run, ok := w.RunByName[name]
	if !ok {
		return nil, notFound("run", name)
	}
	if u.DisplayName != nil {
		run.DisplayName = *u.DisplayName
	}
	if u.Description != nil {
		run.Description = *u.Description
	}
	for k, v := range u.Tags {
		if run.Tags == nil {
			run.Tags = map[string]string{}
		}
		run.Tags[k] = v
	}
	if u.Archived != nil {
		run.IsArchived = *u.Archived
	}
	cp := *run
	return &cp, nil
}

func (r *runs) Download(_ context.Context, name, dir string, overwrite bool) (string, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.download %s overwrite=%t", name, overwrite)
	if w.Err != nil {
		return "", w.Err
	}
	if _, ok := w.RunByName[name]; !ok {
		return "", notFound("run", name)
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return "", err
	}
	return path, nil
}

func (r *runs) Visualize(_ context.Context, names []string) (string, error) {
	w := r.w()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record("run.visualize %v", names)
	if w.Err != nil {
		return "", w.Err
	}
	return "file:///tmp/visualize.html", nil
}
