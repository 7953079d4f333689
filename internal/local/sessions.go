package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/pyenv"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// DefaultIdleTime is how long a session started from the command line may
// stay unused before it is deleted, unless its spec says otherwise.
const DefaultIdleTime = session.DefaultIdleTime

// Options configure NewSessions. Only Home is required.
type Options struct {
	// Home is PFZ_HOME.
	Home string
	// Python is the base interpreter (PFZ_PYTHON); empty finds python3 on PATH.
	Python string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// PrivateToken returns the token that replaces {private} in private
	// feed URLs, for the session's identity. On local the command line reads
	// it from PFZ_PRIVATE_FEED_TOKEN. Nil or "" makes such lines an error.
	PrivateToken func(ctx context.Context, id workspace.Identity) (string, error)
	// PipIndexURL, when set, is pip's --index-url (tests: a 127.0.0.1 index).
	PipIndexURL string
	// PipNoCache passes --no-cache-dir to pip.
	PipNoCache bool
	// UV is the uv executable that creates environments and installs
	// requirements where it installs what pip does (pyenv.Runner.UV); ""
	// uses venv and pip unless ProvideUV gives one.
	UV string
	// ProvideUV, when UV is empty, finds or installs the uv at first need
	// (uvsetup.Resolver.UV); nil means venv and pip.
	ProvideUV func(ctx context.Context, python string) string
	// Env is the environment of Python and pip processes; nil inherits pfz's.
	Env []string
	// Debug receives pip's and venv's output as it happens (--debug), with
	// secrets masked; nil sends it only to the session's log file (and to
	// the Reporter as log events when StartOptions.Debug is set).
	Debug io.Writer
	// Detach starts a separate pfz process that finishes a start or reset
	// (it calls Sessions.Build for the session) and returns its pid; it
	// makes --no-wait possible. Nil makes NoWait an Unsupported error.
	Detach func(ctx context.Context, sessionID string) (pid int, err error)
	// Runtime, when set, is pfz's built-in runtime, listed among the base
	// packages (it is not a pip distribution, so pip does not list it).
	Runtime *workspace.Package
}

// Sessions is the local target's workspace.Sessions.
type Sessions struct {
	st   *store.Store
	opts Options
	now  func() time.Time
	env  envTool
	// crashAt, set by tests, stops a re-key at a named point as a killed
	// process would: nothing after it runs, no cleanup either.
	crashAt func(point string) bool
}

var _ workspace.Sessions = (*Sessions)(nil)

// envTool is what sessions need of Python; tests replace it to exercise the
// state machine without building real environments.
type envTool interface {
	// Interpreter resolves the base interpreter, so a start fails before it
	// records anything when there is no Python.
	Interpreter() (string, error)
	Create(ctx context.Context, dir string, log io.Writer) (*pyenv.Info, error)
	Install(ctx context.Context, python string, req pyenv.InstallRequest, log io.Writer) error
	List(ctx context.Context, python string) ([]pyenv.Dist, error)
	// Builder names the tools that build an environment (uv and its
	// version, or venv and pip); private: the requirements use a private
	// feed.
	Builder(ctx context.Context, private bool) string
	// EnsureJinja makes Jinja2 importable in the environment (prompt and
	// llm nodes render with it), keeping downloaded wheels in wheelDir.
	EnsureJinja(ctx context.Context, python, wheelDir string, log io.Writer) (pyenv.JinjaSource, error)
}

// NewSessions opens the sessions of the local workspace under opts.Home.
func NewSessions(opts Options) (*Sessions, error) {
	return newSessions(opts, &pyenv.Runner{Python: opts.Python, Env: opts.Env, IndexURL: opts.PipIndexURL, NoCache: opts.PipNoCache, UV: opts.UV, ProvideUV: opts.ProvideUV})
}

func newSessions(opts Options, env envTool) (*Sessions, error) {
	st, err := store.New(opts.Home)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Sessions{st: st, opts: opts, now: now, env: env}, nil
}

// Start creates the session for spec, or returns it when it already runs.
func (s *Sessions) Start(ctx context.Context, spec workspace.SessionSpec, opts workspace.StartOptions) (*workspace.Session, error) {
	want, err := s.newRecord(spec)
	if err != nil {
		return nil, err
	}
	if opts.NoWait && s.opts.Detach == nil {
		return nil, errNoDetach()
	}
	if _, err := s.env.Interpreter(); err != nil {
		return nil, err
	}
	s.repair(ctx)
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	id := want.Spec.ID

	lk, busy, err := s.lockSession(ctx, id, opts.NoWait)
	if err != nil {
		return nil, err
	}
	if busy {
		return s.busyView(id, want), nil
	}
	defer lk.Unlock()

	cur, err := s.load(id)
	switch {
	case err == nil && cur.Status == workspace.SessionRunning:
		_ = s.touch(id)
		cur.LastUsed = s.now()
		view := cur.toSession()
		view.Message = differences(cur, want)
		return view, nil
	case err != nil && !fault.Is(err, fault.NotFound):
		var ce *store.CorruptError
		if !errors.As(err, &ce) {
			return nil, err
		}
		// A damaged record is replaced by the new start.
	}
	if want.ComputeType == workspace.ComputeComputeInstance {
		if err := s.checkCompute(want); err != nil {
			return nil, err
		}
	}
	now := s.now()
	want.Status, want.PID, want.StartedAt = workspace.SessionStarting, os.Getpid(), now
	want.Op = opStart
	want.CreatedOn, want.LastUsed = now, now
	if err := s.save(want); err != nil {
		return nil, err
	}
	if opts.NoWait {
		return s.detach(ctx, want)
	}
	view, err := s.build(ctx, want, opts)
	if err != nil {
		return nil, err
	}
	if msg := s.retireOlder(ctx, want, reporterOf(opts)); msg != "" {
		view.Message = joinMsg(view.Message, msg)
	}
	return view, nil
}

// retireOlder stops the flow's other sessions once rec, the session of the
// flow's current environment, runs: a flow binds to one compute session, and
// one built for an environment the flow no longer has (another image, other
// requirements) would only take room until its idle time ends. A session
// that a run uses, or that another process holds, is left and reported.
// What it did is reported and returned as a message for the session view.
func (s *Sessions) retireOlder(ctx context.Context, rec *record, rep workspace.Reporter) string {
	ids, err := s.st.List(store.Sessions)
	if err != nil {
		return ""
	}
	var msgs []string
	for _, id := range ids {
		if id == rec.Spec.ID {
			continue
		}
		old, err := s.load(id)
		if err != nil || old.Spec.FlowDir == "" || cleanDir(old.Spec.FlowDir) != rec.Spec.FlowDir || old.Spec.UserAlias != rec.Spec.UserAlias {
			continue
		}
		msg := s.retire(ctx, old, rec.Spec.ID)
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: msg})
		msgs = append(msgs, msg)
	}
	return strings.Join(msgs, "; ")
}

// retire stops one older session of a flow, if nothing holds it.
func (s *Sessions) retire(ctx context.Context, old *record, newID string) string {
	id := old.Spec.ID
	left := fmt.Sprintf("session %s, built for this flow's previous environment, is in use and was left running; it is deleted after %s unused (`pfz session list` shows it)",
		id, time.Duration(old.IdleTimeSeconds)*time.Second)
	lk, ok, err := s.st.TryLock(store.Sessions, id)
	if err != nil || !ok {
		return left
	}
	defer lk.Unlock()
	use, ok, err := s.st.TryExclusiveUse(store.Sessions, id)
	if err != nil || !ok {
		return left
	}
	defer use.Unlock()
	if err := s.remove(ctx, old, false); err != nil {
		return fmt.Sprintf("session %s, built for this flow's previous environment, could not be stopped (%v); `pfz session list` shows it", id, err)
	}
	return fmt.Sprintf("stopped session %s, built for this flow's previous environment (image or requirements); the flow now runs in session %s", id, newID)
}

// Build finishes a start or reset that a detached process was handed (see
// Options.Detach): it waits for the session lock and builds the session if
// it is still Starting.
func (s *Sessions) Build(ctx context.Context, id string, opts workspace.StartOptions) (*workspace.Session, error) {
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := store.CheckName(id); err != nil {
		return nil, err
	}
	lk, err := s.st.Lock(ctx, store.Sessions, id)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	rec, err := s.load(id)
	if err != nil {
		return nil, err
	}
	if rec.Status != workspace.SessionStarting {
		return rec.toSession(), nil
	}
	rec.PID = os.Getpid()
	if err := s.save(rec); err != nil {
		return nil, err
	}
	return s.build(ctx, rec, opts)
}

// Get returns one session.
func (s *Sessions) Get(ctx context.Context, id string) (*workspace.Session, error) {
	s.repair(ctx)
	rec, err := s.load(id)
	if err != nil {
		return nil, err
	}
	return rec.toSession(), nil
}

// List returns the local sessions, oldest first, narrowed to one flow
// folder when the filter names one.
func (s *Sessions) List(ctx context.Context, filter workspace.SessionFilter) ([]workspace.Session, error) {
	s.repair(ctx)
	ids, err := s.st.List(store.Sessions)
	if err != nil {
		return nil, err
	}
	want := cleanDir(filter.FlowDir)
	out := []workspace.Session{}
	for _, id := range ids {
		rec, err := s.load(id)
		if fault.Is(err, fault.NotFound) {
			continue // deleted meanwhile, or a folder without a record yet
		}
		if err != nil {
			out = append(out, workspace.Session{ID: id, Target: workspace.TargetLocal, Status: workspace.SessionFailed,
				Message: err.Error() + " (" + fault.HintOf(err) + ")"})
			continue
		}
		if want != "" && cleanDir(rec.Spec.FlowDir) != want {
			continue
		}
		out = append(out, *rec.toSession())
	}
	slices.SortStableFunc(out, func(a, b workspace.Session) int {
		if a.CreatedOn != nil && b.CreatedOn != nil && !a.CreatedOn.Equal(*b.CreatedOn) {
			return a.CreatedOn.Compare(*b.CreatedOn)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Edit changes a session: a new VM size rebuilds it (as Reset does); the
// idle time and identity change in place.
func (s *Sessions) Edit(ctx context.Context, id string, edit workspace.SessionEdit, opts workspace.StartOptions) (*workspace.Session, error) {
	if edit.VMSize == nil && edit.IdleTime == nil && edit.Identity == nil && edit.Compute == nil {
		return nil, fault.New(fault.Usage, "nothing to change").
			WithHint("give --vm-size, --idle-time, --identity or --compute")
	}
	s.repair(ctx)
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	rec, lk, err := s.lockAndLoad(ctx, id)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	if rec.Status == workspace.SessionStarting {
		return nil, fault.New(fault.Failed, "session %s is still starting", id).
			WithHint("wait for it (`pfz session show %s`), then edit it", id)
	}
	ci := rec.ComputeType == workspace.ComputeComputeInstance
	if edit.IdleTime != nil {
		secs, err := idleSeconds(*edit.IdleTime)
		if err != nil {
			return nil, err
		}
		rec.IdleTimeSeconds = secs
		rec.Spec.IdleTime = *edit.IdleTime
	}
	if edit.Identity != nil {
		ident, err := normIdentity(*edit.Identity)
		if err != nil {
			return nil, err
		}
		if ci && ident != rec.Identity {
			return nil, fault.New(fault.Usage, "session %s runs on compute instance %s, whose identity (%s) is the instance's", id, rec.Compute, identityText(rec.Identity)).
				WithHint("start the session on a serverless compute to choose its identity")
		}
		rec.Identity = ident
		rec.Spec.Identity = ident
	}
	if edit.Compute != nil && *edit.Compute != rec.Compute {
		if !ci {
			return nil, session.ErrMoveServerless(id)
		}
		// A local compute instance holds the environment its sessions share:
		// moving one is a stop and a start.
		return nil, fault.New(fault.Unsupported, "the local target does not move session %s from compute instance %s to %s", id, rec.Compute, *edit.Compute).
			WithHint("stop it (`pfz session stop`) and start it with `pfz session start --compute %s`", *edit.Compute)
	}
	resize := false
	if edit.VMSize != nil && !strings.EqualFold(*edit.VMSize, rec.VMSize) {
		if ci {
			return nil, fault.New(fault.Usage, "session %s runs on compute instance %s, whose VM size (%s) is the instance's", id, rec.Compute, rec.VMSize).
				WithHint("start the session on a serverless compute to choose its VM size")
		}
		size, err := lookupVMSize(*edit.VMSize)
		if err != nil {
			return nil, err
		}
		rec.VMSize, rec.VCPUs, rec.MemoryGB = size.Name, size.VCPUs, size.MemoryGB
		rec.Spec.VMSize = size.Name
		resize = true
	}
	if !resize {
		rec.Message = ""
		if err := s.save(rec); err != nil {
			return nil, err
		}
		return rec.toSession(), nil
	}
	// A new VM size resets the session, as on Azure ML.
	return s.restart(ctx, rec, opts)
}

// Reset deletes the session's environment and builds it again from the
// same spec (its requirements are those of the flow's requirements file
// when the session was started or last installed into).
func (s *Sessions) Reset(ctx context.Context, id string, opts workspace.StartOptions) (*workspace.Session, error) {
	s.repair(ctx)
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	rec, lk, err := s.lockAndLoad(ctx, id)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	return s.restart(ctx, rec, opts)
}

// restart rebuilds a locked session in place.
func (s *Sessions) restart(ctx context.Context, rec *record, opts workspace.StartOptions) (*workspace.Session, error) {
	if opts.NoWait && s.opts.Detach == nil {
		return nil, errNoDetach()
	}
	if _, err := s.env.Interpreter(); err != nil {
		return nil, err
	}
	use, err := s.exclusiveUse(rec.Spec.ID, "reset")
	if err != nil {
		return nil, err
	}
	use.Unlock()
	// The spec's requirements are what the session's id stands for; after a
	// failed install they differ from the lines last installed, and a reset
	// builds the former.
	if len(rec.Spec.Requirements) == 0 && len(rec.Requirements) > 0 {
		rec.Spec.Requirements = rec.Requirements
	}
	now := s.now()
	rec.Status, rec.PID, rec.StartedAt, rec.Op, rec.Message = workspace.SessionStarting, os.Getpid(), now, opReset, ""
	rec.LastUsed = now
	if err := s.save(rec); err != nil {
		return nil, err
	}
	if opts.NoWait {
		return s.detach(ctx, rec)
	}
	return s.build(ctx, rec, opts)
}

// Stop deletes the session and its environment; a local compute instance
// left without sessions is released too.
func (s *Sessions) Stop(ctx context.Context, id string) error {
	s.repair(ctx)
	rec, lk, err := s.lockAndLoad(ctx, id)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	use, err := s.exclusiveUse(id, "stop")
	if err != nil {
		return err
	}
	defer use.Unlock()
	return s.remove(ctx, rec, true)
}

// Python returns the interpreter of a running session and the limits its
// VM size sets: how many workers may run at once and each one's memory.
func (s *Sessions) Python(ctx context.Context, id string) (python string, workers int, memLimitMB int, err error) {
	rec, err := s.load(id)
	if err != nil {
		return "", 0, 0, err
	}
	if err := requireRunning(rec); err != nil {
		return "", 0, 0, err
	}
	if _, err := os.Stat(rec.Env.Python); err != nil {
		return "", 0, 0, fault.Wrap(fault.Failed, err, "the Python environment of session %s is missing", id).
			WithHint("`pfz session reset %s` rebuilds it", id)
	}
	workers, memLimitMB = vmSize{Name: rec.VMSize, VCPUs: rec.VCPUs, MemoryGB: rec.MemoryGB}.limits()
	return rec.Env.Python, workers, memLimitMB, nil
}

// Touch marks the session used now, which restarts its idle time.
func (s *Sessions) Touch(ctx context.Context, id string) error {
	if _, err := s.load(id); err != nil {
		return err
	}
	return s.touch(id)
}

func (s *Sessions) touch(id string) error {
	return store.WriteJSON(s.usedPath(id), used{LastUsed: s.now()}, 0o600)
}

// Acquire marks a running session in use until release is called: idle
// expiry, stop and reset leave it alone meanwhile. A process that dies
// releases it implicitly. Release also marks the session used.
func (s *Sessions) Acquire(ctx context.Context, id string) (release func(), err error) {
	rec, err := s.load(id)
	if err != nil {
		return nil, err
	}
	if err := requireRunning(rec); err != nil {
		return nil, err
	}
	l, err := s.st.Use(ctx, store.Sessions, id)
	if err != nil {
		return nil, err
	}
	_ = s.touch(id)
	return func() {
		_ = s.touch(id)
		_ = l.Unlock()
	}, nil
}

// --- helpers ---------------------------------------------------------------

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

func errNoDetach() error {
	return fault.New(fault.Unsupported, "--no-wait is not available for local sessions in this build").
		WithHint("start without --no-wait; a local start takes as long as pip needs")
}

// lockSession takes the session lock; with noWait it only tries and reports
// busy when another process holds it.
func (s *Sessions) lockSession(ctx context.Context, id string, noWait bool) (lk *store.Lock, busy bool, err error) {
	if !noWait {
		lk, err = s.st.Lock(ctx, store.Sessions, id)
		return lk, false, err
	}
	lk, ok, err := s.st.TryLock(store.Sessions, id)
	return lk, !ok && err == nil, err
}

// busyView is what a --no-wait start answers while another process works
// on the session.
func (s *Sessions) busyView(id string, want *record) *workspace.Session {
	if rec, err := s.load(id); err == nil {
		v := rec.toSession()
		v.Message = "another pfz process is working on this session"
		return v
	}
	v := want.toSession()
	v.Status = workspace.SessionStarting
	v.Message = "another pfz process is starting this session"
	return v
}

func (s *Sessions) lockAndLoad(ctx context.Context, id string) (*record, *store.Lock, error) {
	if _, err := s.load(id); err != nil {
		return nil, nil, err
	}
	lk, err := s.st.Lock(ctx, store.Sessions, id)
	if err != nil {
		return nil, nil, err
	}
	rec, err := s.load(id) // again: it may have changed while we waited
	if err != nil {
		_ = lk.Unlock()
		return nil, nil, err
	}
	return rec, lk, nil
}

// exclusiveUse fails when a run holds the session (see Acquire).
func (s *Sessions) exclusiveUse(id, verb string) (*store.Lock, error) {
	l, ok, err := s.st.TryExclusiveUse(store.Sessions, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.New(fault.Failed, "cannot %s session %s: a run is using it", verb, id).
			WithHint("wait for the run to end or cancel it (`pfz run cancel`), then try again")
	}
	return l, nil
}

func requireRunning(rec *record) error {
	switch rec.Status {
	case workspace.SessionRunning:
		return nil
	case workspace.SessionStarting:
		return fault.New(fault.Failed, "session %s is still starting", rec.Spec.ID).
			WithHint("wait for it: `pfz session show %s` shows when it runs", rec.Spec.ID)
	default:
		msg := ""
		if rec.Message != "" {
			msg = ": " + rec.Message
		}
		return fault.New(fault.Failed, "session %s is %s%s", rec.Spec.ID, rec.Status, msg).
			WithHint("`pfz session reset %s` rebuilds it; `pfz session stop %s` deletes it", rec.Spec.ID, rec.Spec.ID)
	}
}

// detach hands the build of a Starting record to another process.
func (s *Sessions) detach(ctx context.Context, rec *record) (*workspace.Session, error) {
	pid, err := s.opts.Detach(ctx, rec.Spec.ID)
	if err != nil {
		rec.Status, rec.PID, rec.Message = workspace.SessionFailed, 0, "could not start the background process: "+err.Error()
		if serr := s.save(rec); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, fault.Wrap(fault.Failed, err, "cannot start session %s in the background", rec.Spec.ID).
			WithHint("start it without --no-wait")
	}
	rec.PID = pid
	if err := s.save(rec); err != nil {
		return nil, err
	}
	return rec.toSession(), nil
}

var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// newRecord validates a spec and resolves its settings into a record.
func (s *Sessions) newRecord(spec workspace.SessionSpec) (*record, error) {
	if !idRe.MatchString(spec.ID) {
		return nil, fault.New(fault.Usage, "%q is not a session id (letters, digits, '-' and '_', at most 128)", spec.ID)
	}
	r := &record{Spec: spec, Status: workspace.SessionNotStarted}
	r.ComputeType = spec.ComputeType
	if r.ComputeType == "" {
		r.ComputeType = workspace.ComputeServerless
		if spec.ComputeName != "" {
			r.ComputeType = workspace.ComputeComputeInstance
		}
	}
	ident, err := normIdentity(spec.Identity)
	if err != nil {
		return nil, err
	}
	r.Identity = ident
	idle := spec.IdleTime
	if idle == 0 {
		idle = DefaultIdleTime
	}
	if r.IdleTimeSeconds, err = idleSeconds(idle); err != nil {
		return nil, err
	}
	sizeName := spec.VMSize
	switch r.ComputeType {
	case workspace.ComputeServerless:
		if spec.ComputeName != "" {
			return nil, fault.New(fault.Usage, "--compute %s names a compute instance, but the compute type is serverless", spec.ComputeName).
				WithHint("use --compute-type compute-instance with --compute, or leave --compute out")
		}
	case workspace.ComputeComputeInstance:
		if spec.ComputeName == "" {
			return nil, fault.New(fault.Usage, "a compute-instance session needs the name of the compute instance").
				WithHint("give --compute NAME; on local, the first session on a name creates that compute instance")
		}
		if !computeRe.MatchString(spec.ComputeName) {
			return nil, fault.New(fault.Usage, "%q is not a compute instance name (3 to 24 letters, digits and '-', starting with a letter)", spec.ComputeName)
		}
		r.Compute = spec.ComputeName
	default:
		return nil, fault.New(fault.Usage, "unknown compute type %q", spec.ComputeType).
			WithHint("use %s or %s", workspace.ComputeServerless, workspace.ComputeComputeInstance)
	}
	if sizeName == "" {
		sizeName = defaultVMSize
	}
	size, err := lookupVMSize(sizeName)
	if err != nil {
		return nil, err
	}
	r.VMSize, r.VCPUs, r.MemoryGB = size.Name, size.VCPUs, size.MemoryGB
	r.Spec.FlowDir = cleanDir(spec.FlowDir)
	return r, nil
}

var computeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{2,23}$`)

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// normIdentity accepts the spellings of run.yml and the flag and returns
// run.yml's: user_identity or managed (with an optional client id).
func normIdentity(id workspace.Identity) (workspace.Identity, error) {
	switch strings.ToLower(id.Type) {
	case "", "user", "user_identity":
		if id.ClientID != "" {
			return id, fault.New(fault.Usage, "a client id (%s) goes with a managed identity, not the user identity", id.ClientID).
				WithHint("use --identity managed:%s", id.ClientID)
		}
		return workspace.Identity{Type: "user_identity"}, nil
	case "managed", "managed_identity":
		if id.ClientID != "" && !guidRe.MatchString(id.ClientID) {
			return id, fault.New(fault.Usage, "the managed identity client id %q is not a GUID", id.ClientID).
				WithHint("copy the client id of the user-assigned managed identity from the portal, e.g. --identity managed:00000000-0000-0000-0000-000000000000")
		}
		return workspace.Identity{Type: "managed", ClientID: strings.ToLower(id.ClientID), ResourceID: id.ResourceID}, nil
	}
	return id, fault.New(fault.Usage, "unknown identity type %q", id.Type).
		WithHint("use user, managed or managed:CLIENT_ID")
}

func identityText(id workspace.Identity) string {
	if id.Type == "managed" && id.ClientID != "" {
		return "managed:" + id.ClientID
	}
	return id.Type
}

func idleSeconds(d time.Duration) (int64, error) {
	if d < time.Second {
		return 0, fault.New(fault.Usage, "idle time %s is too short: the session would be deleted at once", d).
			WithHint("give a duration such as 30m or 2h")
	}
	return int64(d / time.Second), nil
}

// differences says which requested settings a running session does not have.
func differences(cur, want *record) string {
	var d []string
	if want.Spec.VMSize != "" && !strings.EqualFold(cur.VMSize, want.VMSize) {
		d = append(d, fmt.Sprintf("VM size %s (asked %s)", cur.VMSize, want.VMSize))
	}
	if want.Spec.IdleTime != 0 && cur.IdleTimeSeconds != want.IdleTimeSeconds {
		d = append(d, fmt.Sprintf("idle time %ds (asked %ds)", cur.IdleTimeSeconds, want.IdleTimeSeconds))
	}
	if want.Spec.Identity.Type != "" && cur.Identity != want.Identity {
		d = append(d, fmt.Sprintf("identity %s (asked %s)", identityText(cur.Identity), identityText(want.Identity)))
	}
	if len(d) == 0 {
		return "already running"
	}
	return "already running with " + strings.Join(d, ", ") + "; `pfz session edit` changes them"
}

func cleanDir(dir string) string {
	if dir == "" {
		return ""
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return filepath.Clean(dir)
}

// meaningful drops blank lines and whole-line comments; what pip ignores
// need not be installed or compared.
func meaningful(lines []string) []string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}
