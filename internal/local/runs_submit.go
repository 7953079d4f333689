package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pfz-cli/pfz/internal/dataset"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/human"
	"github.com/pfz-cli/pfz/internal/local/run"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/redact"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// defaultLineTimeout is the executor's when neither the submission nor
// PF_LINE_TIMEOUT_SEC says otherwise; it is recorded with the run.
const defaultLineTimeout = 600 * time.Second

// errCancelRequested is the cause of a run stopped by `run cancel`.
var errCancelRequested = errors.New("the run was canceled")

// errRecording stops a run whose results can no longer be written (a full
// disk): running on would compute lines that are then lost.
var errRecording = errors.New("the run's results cannot be recorded")

// Submit records the run and executes it in this process, in the flow's
// session: the session is started on the spot when it is not running (and
// the next run of the same flow and environment reuses it). It returns
// when the run has ended, reporting status changes, finished lines and log
// lines to rep meanwhile. A run that ran but ended Failed or Canceled is
// returned without error; an error means the run could not run (it is then
// recorded as Failed, unless it could not be recorded at all).
func (r *Runs) Submit(ctx context.Context, sub *workspace.Submission, rep workspace.Reporter) (*workspace.Run, error) {
	if rep == nil {
		rep = workspace.NopReporter{}
	}
	var prev *resumed
	if sub != nil && sub.ResumeFrom != "" {
		full, p, err := r.resumeSubmission(ctx, sub)
		if err != nil {
			return nil, err
		}
		defer p.Close()
		sub, prev = full, p
	}
	if err := checkLocalSubmission(sub); err != nil {
		return nil, err
	}
	var parent *parentRun
	if sub.Run != "" {
		p, err := r.openParent(ctx, sub.Run)
		if err != nil {
			return nil, err
		}
		defer func() { _ = p.Close() }() // only read
		parent = p
	}
	if err := checkRunnable(sub); err != nil {
		return nil, err
	}
	now := r.now()
	rec := newRunRecord(sub, now)
	if prev != nil {
		rec.Flow = prev.flow // what it was made from, as the resumed run says
	}
	hold, err := r.createRun(ctx, rec, sub)
	if err != nil {
		return nil, err
	}
	defer hold.Unlock()
	rep.Report(workspace.Event{Kind: workspace.EventSubmitted, Message: rec.Name})
	x := &execution{r: r, sub: sub, rec: rec, dir: r.st.RunDir(rec.Name), rep: rep, parent: parent, prev: prev}
	return x.run(ctx)
}

func checkLocalSubmission(sub *workspace.Submission) error {
	switch {
	case sub == nil:
		return fault.New(fault.Usage, "nothing to submit")
	case sub.FlowRemote:
		return fault.New(fault.Unsupported, "the local target cannot run the remote flow %s", sub.Flow).
			WithHint("pass a local flow folder to --flow, or use --target azureml")
	case sub.Data != nil && sub.Data.Local == "" && sub.Data.Remote != "":
		return fault.New(fault.Unsupported, "the local target cannot read the remote data %s", sub.Data.Remote).
			WithHint("download the data and pass the local file or folder to --data, or use --target azureml")
	case sub.Snapshot == nil:
		return fault.New(fault.Validation, "the submission of run %s has no snapshot of the flow", sub.Name).
			WithHint("resolve the run (runspec.Resolve) before submitting it")
	case sub.Session.ID == "":
		return fault.New(fault.Validation, "the submission of run %s has no session id", sub.Name).
			WithHint("resolve the run (runspec.Resolve) before submitting it")
	case (sub.Data == nil || sub.Data.Local == "") && sub.Run == "":
		return fault.New(fault.Validation, "run %s has neither data nor a referenced run", sub.Name).
			WithHint("give --data, or --run for an evaluation run")
	}
	if sub.Name == "" {
		return fault.New(fault.Usage, "the run has no name").WithHint("give --name")
	}
	// The local target sizes the session from pfz's catalog: an unknown
	// size stops the run before anything is recorded.
	if size := sub.Session.VMSize; size != "" {
		if _, err := session.LookupVMSize(size); err != nil {
			return err
		}
	}
	if err := store.CheckName(sub.Name); err != nil {
		return fault.Wrap(fault.Usage, err, "%q cannot be a run name", sub.Name).
			WithHint("use letters, digits, '_' and '-'")
	}
	return nil
}

// checkRunnable refuses a flow the local executor cannot run before a
// session is started or a run recorded: nothing is spent on it.
func checkRunnable(sub *workspace.Submission) error {
	f, _, err := submissionFlow(sub)
	if err != nil {
		return err
	}
	return executor.Supports(f)
}

// submissionFlow reads the flow a submission names. A flow file that exists
// only in the snapshot (the flow.flex.yaml made for --flow module:function)
// is read from there.
func submissionFlow(sub *workspace.Submission) (*flow.Flow, diag.List, error) {
	if _, err := os.Stat(sub.Flow); err != nil && sub.Snapshot != nil {
		for _, fr := range sub.Snapshot.Files {
			if fr.Rel == sub.Snapshot.FlowFile && fr.Content != nil && filepath.Base(sub.Flow) == filepath.Base(fr.Rel) {
				f, ds := flow.Parse(sub.Flow, fr.Content)
				return f, ds, nil
			}
		}
	}
	return flow.Load(sub.Flow)
}

// DisplayName resolves the macros ${variant_id}, ${run} and ${timestamp}
// in a display name (the name when empty), as pfazure's service and local
// promptflow do.
func DisplayName(sub *workspace.Submission, now time.Time) string {
	d := sub.DisplayName
	if d == "" {
		d = sub.Name
	}
	if sub.Run != "" {
		d = strings.ReplaceAll(d, "${run}", sub.Run)
	}
	d = strings.ReplaceAll(d, "${timestamp}", now.Format("200601021504"))
	v := session.DefaultVariant
	if sub.Variant != "" {
		if _, id, err := flow.ParseVariant(sub.Variant); err == nil {
			v = id
		}
	}
	return strings.ReplaceAll(d, "${variant_id}", v)
}

func newRunRecord(sub *workspace.Submission, now time.Time) *run.Record {
	rec := &run.Record{
		Name:           sub.Name,
		DisplayName:    DisplayName(sub, now),
		Description:    sub.Description,
		Tags:           sub.Tags,
		Status:         workspace.RunNotStarted,
		CreatedOn:      now,
		PID:            os.Getpid(),
		Flow:           sub.Flow,
		ExperimentName: sub.ExperimentName,
		Parent:         sub.Run,
		ResumeFrom:     sub.ResumeFrom,
		Variant:        sub.Variant,
		ColumnMapping:  redact.Values(sub.ColumnMapping), // the record is shown and downloaded
		Runtime:        sub.Runtime,
		UserAlias:      sub.Session.UserAlias,
		SessionID:      sub.Session.ID,
		LineageID:      sub.Session.LineageID,
		EnvHash:        sub.Session.EnvHash,
	}
	if sub.Data != nil {
		rec.Data = sub.Data.Local
	}
	if s := sub.Snapshot; s != nil {
		rec.SnapshotHash = s.Hash
		rec.DefinitionFile = s.FlowFile
		rec.FlowName = filepath.Base(s.Root)
	}
	if rec.FlowName == "" || rec.FlowName == "." {
		rec.FlowName = filepath.Base(filepath.Dir(sub.Flow))
	}
	rec.LineTimeoutSeconds = int(lineTimeoutOf(sub) / time.Second)
	return rec
}

// lineTimeoutOf is the line timeout the executor will apply.
func lineTimeoutOf(sub *workspace.Submission) time.Duration {
	if sub.LineTimeout > 0 {
		return sub.LineTimeout
	}
	if v, ok := sub.EnvironmentVariables["PF_LINE_TIMEOUT_SEC"]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return defaultLineTimeout
}

// createRun makes the run folder (its name must be new), takes the run's
// use lock for the life of the run and writes the first record. The
// returned lock is released when the run ends.
func (r *Runs) createRun(ctx context.Context, rec *run.Record, sub *workspace.Submission) (*store.Lock, error) {
	name := rec.Name
	lk, err := r.st.Lock(ctx, store.Runs, name)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	if err := store.EnsureDir(r.st.KindDir(store.Runs)); err != nil {
		return nil, err
	}
	dir := r.st.RunDir(name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return nil, fault.Wrap(fault.Failed, err, "cannot create %s", dir)
		}
		if _, lerr := os.Lstat(filepath.Join(dir, run.RecordFile)); lerr == nil || !r.isDebris(name) {
			return nil, fault.New(fault.Usage, "a run named %s already exists", name).
				WithHint("run names are unique: give another --name (or leave it out for a generated one); `pfz run show -n %s` shows the existing run", name)
		}
		if err := r.st.Discard(dir); err != nil {
			return nil, err
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, fault.Wrap(fault.Failed, err, "cannot create %s", dir)
		}
	}
	hold, err := r.st.Use(ctx, store.Runs, name)
	if err != nil {
		_ = os.Remove(dir)
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = hold.Unlock()
			_ = r.st.Discard(dir)
		}
	}()
	// Recorded with its secrets masked, as a dry run prints it: the record
	// is shown and downloaded.
	if err := store.WriteJSON(filepath.Join(dir, run.SubmissionFile), redact.Submission(sub), 0o600); err != nil {
		return nil, err
	}
	if err := run.Save(dir, rec); err != nil {
		return nil, err
	}
	ok = true
	return hold, nil
}

// isDebris reports whether a record-less run folder has no live owner; the
// caller holds the run lock.
func (r *Runs) isDebris(name string) bool {
	use, ok, err := r.st.TryExclusiveUse(store.Runs, name)
	if err != nil || !ok {
		return false
	}
	_ = use.Unlock()
	return true
}

// execution is one run being executed by this process.
type execution struct {
	r      *Runs
	sub    *workspace.Submission
	dir    string
	rep    workspace.Reporter
	parent *parentRun
	prev   *resumed // the run resumed (--resume-from), if any
	w      *run.Writer
	total  atomic.Int64 // data lines, once counted (0: not yet)
	stop   context.CancelCauseFunc

	recMu  sync.Mutex
	recErr error // the first failure to write the run's files

	mu          sync.Mutex
	rec         *run.Record // the owner's copy; see save
	dirty       bool
	metrics     pyjson.Object // as they were logged
	running     bool
	lastEvent   time.Time
	lastLogged  time.Time
	done        int64
	failed      int64
	elapsedLine time.Duration // summed durations of completed lines
}

func (x *execution) name() string { return x.rec.Name }

// run drives the run from Preparing to its end.
func (x *execution) run(ctx context.Context) (*workspace.Run, error) {
	w, err := run.NewWriter(x.dir)
	if err != nil {
		// The run cannot record anything: err says why, whatever finish can
		// still write.
		_ = x.finish(workspace.RunFailed, &workspace.RunError{Code: "RecordError", Message: err.Error()})
		return nil, err
	}
	x.w = w
	defer run.Unreserve(x.dir)
	if err := run.Reserve(x.dir); err != nil {
		x.recorded(err)
		return nil, x.finishUnrecorded()
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	x.stop = cancel
	x.setStatus(workspace.RunPreparing)
	stop := x.watch(runCtx, cancel)
	sum, err := x.execute(runCtx)
	stop()

	if x.recordingFailed() != nil {
		return nil, x.finishUnrecorded()
	}
	switch {
	case err != nil && (ctx.Err() != nil || errors.Is(context.Cause(runCtx), errCancelRequested)):
		x.logf("WARNING", "Run %s was canceled before its lines started: %v", x.name(), err)
		if x.finish(workspace.RunCanceled, nil) != nil {
			return nil, x.finishUnrecorded()
		}
		if ctx.Err() != nil {
			return nil, x.interrupted(ctx)
		}
		return x.view(), nil
	case err != nil:
		x.logf("ERROR", "Run %s failed to start: %s", x.name(), runErrText(err))
		if ferr := x.finish(workspace.RunFailed, &workspace.RunError{Code: codeOf(err), Message: runErrText(err)}); ferr != nil {
			return nil, x.finishUnrecorded()
		}
		return nil, err
	}
	x.summarize(sum)
	// As in promptflow, failed lines do not fail the run: it ends Completed
	// with the failed lines counted and, as its error, the first one's.
	status := workspace.RunCompleted
	if sum.Status == executor.StatusCanceled {
		status = workspace.RunCanceled
	}
	var rerr *workspace.RunError
	if sum.Error != nil && sum.Failed > 0 {
		first := sum.Error.Message
		if sum.Error.Node != "" && !strings.Contains(first, sum.Error.Node) {
			first = fmt.Sprintf("node %s: %s", sum.Error.Node, first)
		}
		rerr = &workspace.RunError{Code: "UserError", Details: sum.Error.Traceback,
			Message: fmt.Sprintf("Failed to run %d/%d lines. First error message is: %s", sum.Failed, sum.Total, first)}
	}
	if x.finish(status, rerr) != nil {
		return nil, x.finishUnrecorded()
	}
	if status == workspace.RunCanceled && ctx.Err() != nil {
		return nil, x.interrupted(ctx)
	}
	return x.view(), nil
}

// recorded notes a failure to write the run's files. The first one stops
// the run: lines computed after it could not be kept.
func (x *execution) recorded(err error) {
	if err == nil {
		return
	}
	x.recMu.Lock()
	first := x.recErr == nil
	if first {
		x.recErr = err
	}
	x.recMu.Unlock()
	if first && x.stop != nil {
		x.stop(errRecording)
	}
}

func (x *execution) recordingFailed() error {
	x.recMu.Lock()
	defer x.recMu.Unlock()
	return x.recErr
}

// finishUnrecorded ends a run whose files could not all be written: the
// lines file is cut back to whole records, the counts are taken from what
// it keeps (never from what was computed), the run is marked Failed where
// the record can still be saved, and the command fails with the cause.
func (x *execution) finishUnrecorded() error {
	cause := x.recordingFailed()
	if x.w != nil {
		_ = x.w.Close()
		x.w = nil
	}
	run.Unreserve(x.dir)
	_, _ = run.Repair(x.dir)
	completed, failed, _ := run.CountKept(x.dir)
	msg := fmt.Sprintf("the run's results could not be recorded (%v); %d lines are kept in %s", cause, completed+failed, filepath.Join(x.dir, run.LinesFile))
	x.mu.Lock()
	x.done, x.failed = completed+failed, failed
	now := x.r.now()
	x.rec.Status, x.rec.EndTime, x.rec.PID = workspace.RunFailed, now, 0
	x.rec.Error = &workspace.RunError{Code: "RecordError", Message: msg}
	if x.rec.StartTime.IsZero() {
		x.rec.StartTime = x.rec.CreatedOn
	}
	x.mu.Unlock()
	e := fault.Wrap(fault.Failed, cause, "run %s failed: its results could not be recorded; %d lines are kept", x.name(), completed+failed)
	if err := x.save(); err != nil {
		e.Hint = fmt.Sprintf("free space under %s; the run's record could not be updated either (%v), so `pfz run show -n %s` reports it ended with its process", x.dir, err, x.name())
	} else {
		e.Hint = fmt.Sprintf("free space under %s, then run the flow again; `pfz run show-details -n %s` lists the lines kept", x.dir, x.name())
	}
	x.rep.Report(workspace.Event{Kind: workspace.EventRunStatus, Message: fmt.Sprintf("run %s: %s", x.name(), workspace.RunFailed)})
	return e
}

func (x *execution) interrupted(ctx context.Context) error {
	kind := fault.Interrupted
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		kind = fault.Timeout
	}
	why := "interrupted"
	if kind == fault.Timeout {
		why = "its time ran out"
	}
	// The cause (context canceled) says nothing a user can act on.
	return fault.New(kind, "run %s was canceled: %s", x.name(), why).
		WithHint("`pfz run show-details -n %s` lists the lines it finished", x.name())
}

func (x *execution) view() *workspace.Run {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rec.View(x.dir)
}

func runErrText(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Hint != "" {
		return err.Error() + " (" + fe.Hint + ")"
	}
	return err.Error()
}

func codeOf(err error) string {
	var le *executor.LineError
	if errors.As(err, &le) && le.Code != "" {
		return le.Code
	}
	switch fault.KindOf(err) {
	case fault.Validation, fault.Usage:
		return "UserError"
	case fault.Timeout:
		return "Timeout"
	}
	return "SystemError"
}

// execute prepares the snapshot, the session and the flow, then runs the executor.
func (x *execution) execute(ctx context.Context) (*executor.Summary, error) {
	sub := x.sub
	snapDir := filepath.Join(x.dir, run.SnapshotDir)
	if err := snapshot.Materialize(ctx, sub.Snapshot, snapDir); err != nil {
		return nil, err
	}
	x.logf("INFO", "Snapshot %s: %d files of %s", sub.Snapshot.Hash, len(sub.Snapshot.Files), sub.Snapshot.Root)

	sessions := x.r.opts.Sessions
	id := sub.Session.ID
	x.logf("INFO", "Using session %s", id)
	sess, err := sessions.Start(ctx, sub.Session, workspace.StartOptions{Reporter: x.rep})
	if err != nil {
		return nil, err
	}
	if sess.CreatedOn != nil && !sess.CreatedOn.Before(x.rec.CreatedOn) {
		x.logf("INFO", "Session %s was started for this run (Python %s)", id, sess.PythonVersion)
	}
	if sess.Message != "" {
		x.logf("WARNING", "Session %s: %s", id, sess.Message)
	}
	if sess.InstallIncomplete {
		// Said before any line runs, where the user looks: the run may
		// fail with a bare ModuleNotFoundError otherwise.
		msg := fmt.Sprintf("session %s: its last package install failed or was interrupted, so some requirements may be missing and lines may fail with ModuleNotFoundError; `pfz packages install --flow %s` installs them", id, sess.FlowDir)
		x.logf("WARNING", "%s", msg)
		x.rep.Report(workspace.Event{Kind: workspace.EventWarning, Message: msg})
	}
	python, workers, memMB, err := sessions.Python(ctx, id)
	if err != nil {
		return nil, err
	}
	release, err := sessions.Acquire(ctx, id)
	if err != nil {
		return nil, err
	}
	defer release()

	f, err := x.loadFlow(filepath.Join(snapDir, filepath.FromSlash(sub.Snapshot.FlowFile)))
	if err != nil {
		return nil, err
	}
	if len(sub.Init) > 0 && f.Kind == flow.KindDAG {
		x.logf("WARNING", "init is used only by flex flows; this DAG flow ignores it")
	}
	x.mu.Lock()
	x.rec.Python, x.rec.Workers = python, workers
	x.dirty = true
	x.mu.Unlock()
	x.logf("INFO", "Python %s, %d workers, line timeout %s", python, workers, lineTimeoutOf(sub))

	cfg := executor.Config{
		Flow:         f,
		Dir:          snapDir,
		Python:       python,
		Workers:      workers,
		MemLimitMB:   memMB,
		BaseEnv:      flowBaseEnv(x.r.opts.Env),
		Env:          sub.EnvironmentVariables,
		Connections:  x.r.opts.Connections,
		LineTimeout:  sub.LineTimeout,
		Mapping:      sub.ColumnMapping,
		MappingOrder: sub.ColumnMappingOrder,
		Sink:         (*runSink)(x),
		RuntimeDir:   filepath.Join(x.r.st.Home(), "cache"),
		HTTPClient:   x.r.opts.HTTPClient,
		Init:         sub.Init,
	}
	if sub.Data != nil {
		cfg.Data = sub.Data.Local
	}
	if x.parent != nil {
		cfg.Parent = x.parent
	}
	if x.prev != nil {
		if err := copyImages(x.prev.dir, x.dir); err != nil {
			return nil, err
		}
		cfg.Reuse = x.prev
		x.logf("INFO", "Resuming run %s: its %d completed lines are reused, the others run again", x.prev.name, x.prev.reused)
	}
	// Counting stops with the run: a short run needs no count (the summary
	// has one) and nothing may change the record after it ended.
	var counting sync.WaitGroup
	defer counting.Wait()
	cctx, stopCount := context.WithCancel(ctx)
	defer stopCount()
	counting.Add(1)
	go func() {
		defer counting.Done()
		x.countLines(cctx, cfg.Data)
	}()
	return executor.Run(ctx, cfg)
}

// loadFlow reads the flow from the snapshot (what runs is what was
// recorded), applies the variant and the submission's connection overrides.
func (x *execution) loadFlow(path string) (*flow.Flow, error) {
	f, ds, err := flow.Load(path)
	if err != nil {
		return nil, err
	}
	if errs := ds.Errors(); len(errs) > 0 {
		e := fault.Wrap(fault.Validation, ds.Err(), "the flow of run %s is not valid", x.name())
		e.Hint = errs[0].Hint
		return nil, e
	}
	f, err = f.WithVariant(x.sub.Variant)
	if err != nil {
		return nil, err
	}
	if err := applyConnections(f, x.sub.Connections); err != nil {
		return nil, err
	}
	return f, nil
}

// applyConnections applies run.yml's connections: {node: {key: value}}:
// "connection" names an llm node's connection, other keys set node inputs
// (deployment_name, model, a python or custom_llm node's connection), as
// promptflow overwrites them; an llm node takes nothing else.
func applyConnections(f *flow.Flow, conns map[string]map[string]string) error {
	nodes := make([]string, 0, len(conns))
	for n := range conns {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, name := range nodes {
		i := -1
		for j := range f.Nodes {
			if f.Nodes[j].Name == name {
				i = j
			}
		}
		if i < 0 {
			var names []string
			for _, n := range f.Nodes {
				names = append(names, n.Name)
			}
			return fault.New(fault.Validation, "connections: node %q is not in the flow", name).
				WithHint("the flow's nodes are: %s", strings.Join(names, ", "))
		}
		n := &f.Nodes[i]
		keys := make([]string, 0, len(conns[name]))
		for k := range conns[name] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := conns[name][k]
			// Only an llm node has a connection of its own; every other
			// node (python, prompt, custom_llm such as the vision tools)
			// takes it as an input, as promptflow overwrites them.
			if n.Type == flow.ToolLLM {
				switch k {
				case "connection":
					n.Connection = v
					continue
				case "deployment_name", "model":
				default:
					return fault.New(fault.Validation, "connections: %q cannot be overridden on the llm node %q", k, name).
						WithHint("an llm node takes connection, deployment_name and model, as promptflow accepts them")
				}
			}
			val := flow.ParseRef(v)
			set := false
			for j := range n.Inputs {
				if n.Inputs[j].Name == k {
					n.Inputs[j].Value, set = val, true
				}
			}
			if !set {
				n.Inputs = append(n.Inputs, flow.NodeInput{Name: k, Value: val})
			}
		}
	}
	return nil
}

// countLines counts the data lines in the background so progress can say
// "of N"; a jsonl file is counted by its non-blank lines without decoding.
func (x *execution) countLines(ctx context.Context, data string) {
	var n int64
	var err error
	switch {
	case data == "" && x.parent != nil:
		n = int64(x.parent.lines.Len())
	case data == "":
		return
	default:
		n, err = countRows(ctx, data)
	}
	if err != nil || n <= 0 || ctx.Err() != nil {
		return
	}
	x.total.Store(n)
	x.mu.Lock()
	x.rec.LinesTotal = n
	x.dirty = true
	x.mu.Unlock()
}

func countRows(ctx context.Context, data string) (int64, error) {
	st, err := os.Stat(data)
	if err != nil {
		return 0, err
	}
	if st.Mode().IsRegular() && strings.EqualFold(filepath.Ext(data), ".jsonl") {
		f, err := os.Open(data)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		br := bufio.NewReaderSize(f, 1<<20)
		var n int64
		blank := true
		for i := 0; ; i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				return 0, ctx.Err()
			}
			chunk, err := br.ReadSlice('\n')
			if len(bytes.TrimSpace(chunk)) > 0 {
				blank = false
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if len(chunk) > 0 && !blank {
				n++
			}
			blank = true
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			if err != nil {
				return 0, err
			}
		}
	}
	rd, err := dataset.Open(ctx, data)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	var n int64
	for {
		if _, _, err := rd.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return 0, err
		}
		n++
		if n%1024 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
}

// watch flushes the appended files, saves progress about once a second and
// stops the run when a cancel request appears. The returned func stops it.
func (x *execution) watch(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(x.r.opts.Poll)
		defer tick.Stop()
		lastSave := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			x.recorded(x.w.Flush())
			if fileExistsAt(filepath.Join(x.dir, run.CancelFile)) && ctx.Err() == nil {
				x.logf("WARNING", "Run %s: cancel requested; stopping", x.name())
				cancel(errCancelRequested)
			}
			if time.Since(lastSave) >= time.Second {
				x.mu.Lock()
				dirty := x.dirty
				x.mu.Unlock()
				if dirty {
					x.recorded(x.save())
				}
				lastSave = time.Now()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// save writes the owner's fields into run.json under the run lock, keeping
// what metadata commands changed meanwhile and a pending cancel request.
func (x *execution) save() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lk, err := x.r.st.Lock(ctx, store.Runs, x.name())
	if err != nil {
		return err
	}
	defer lk.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if disk, err := run.Load(x.dir); err == nil {
		x.rec.DisplayName, x.rec.Description, x.rec.Tags, x.rec.Archived = disk.DisplayName, disk.Description, disk.Tags, disk.Archived
		if disk.Status == workspace.RunCancelRequested && !workspace.IsTerminal(x.rec.Status) {
			x.rec.Status = workspace.RunCancelRequested
		}
	}
	x.rec.LinesCompleted, x.rec.LinesFailed = x.done-x.failed, x.failed
	if t := x.total.Load(); t > 0 {
		x.rec.LinesTotal = t
	}
	x.dirty = false
	return run.Save(x.dir, x.rec)
}

func (x *execution) setStatus(status string) {
	x.mu.Lock()
	x.rec.Status = status
	if status == workspace.RunRunning && x.rec.StartTime.IsZero() {
		x.rec.StartTime = x.r.now()
	}
	x.mu.Unlock()
	x.recorded(x.save())
	x.rep.Report(workspace.Event{Kind: workspace.EventRunStatus, Message: fmt.Sprintf("run %s: %s", x.name(), status), InLog: x.w != nil})
	x.logf("INFO", "Run %s is %s", x.name(), status)
}

// finish records how the run ended. An error means the run's files could
// not all be written; the caller then ends it with finishUnrecorded.
func (x *execution) finish(status string, rerr *workspace.RunError) error {
	inLog := x.w != nil
	if x.w != nil {
		x.logf("INFO", "Run %s is %s", x.name(), status)
		x.recorded(x.w.Close())
		if err := x.recordingFailed(); err != nil {
			return err
		}
		x.w = nil
	}
	run.Unreserve(x.dir)
	x.mu.Lock()
	now := x.r.now()
	x.rec.Status, x.rec.Error, x.rec.EndTime, x.rec.PID = status, rerr, now, 0
	if x.rec.StartTime.IsZero() {
		x.rec.StartTime = x.rec.CreatedOn
	}
	x.mu.Unlock()
	if err := x.save(); err != nil {
		x.recorded(err)
		return err
	}
	x.rep.Report(workspace.Event{Kind: workspace.EventRunStatus, Message: fmt.Sprintf("run %s: %s", x.name(), status), InLog: inLog})
	return nil
}

// summarize records the executor's summary: metrics, counts and the log lines.
func (x *execution) summarize(sum *executor.Summary) {
	metrics := sum.Metrics
	x.mu.Lock()
	if metrics == nil {
		metrics = x.metrics
	}
	x.done, x.failed = int64(sum.Completed+sum.Failed), int64(sum.Failed)
	if sum.Status == executor.StatusCompleted || x.total.Load() == 0 {
		x.total.Store(int64(sum.Total))
	}
	total := x.total.Load()
	x.mu.Unlock()
	if err := run.WriteMetrics(x.dir, metrics); err != nil {
		x.logf("ERROR", "cannot write the metrics: %v", err)
		x.recorded(err)
	}
	x.rep.Report(workspace.Event{Kind: workspace.EventLines, Done: int64(sum.Completed + sum.Failed), Failed: int64(sum.Failed), Total: total})
	x.logf("INFO", "Finished %d / %d lines: %d completed, %d failed, %d canceled, in %s",
		sum.Completed+sum.Failed, total, sum.Completed, sum.Failed, sum.Canceled, human.Duration(sum.End.Sub(sum.Start)))
	names := make([]string, 0, len(sum.AggregationErrors))
	for n := range sum.AggregationErrors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		x.logf("ERROR", "Aggregation node %s failed: %s", n, sum.AggregationErrors[n].Message)
	}
	for _, m := range metrics {
		x.logf("INFO", "Metric %s = %v", m.Key, m.Value)
	}
}

// logf writes one pfz log line to logs.txt and the reporter.
func (x *execution) logf(level, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if x.w != nil {
		x.recorded(x.w.Log(x.r.now(), "execution.bulk", level, msg))
	}
	x.rep.Report(workspace.Event{Kind: workspace.EventLog, Message: msg})
}

// runSink receives what the executor produces; the executor serializes the calls.
type runSink execution

func (s *runSink) x() *execution { return (*execution)(s) }

func (s *runSink) LineStarted(int) {
	x := s.x()
	x.mu.Lock()
	first := !x.running
	x.running = true
	x.mu.Unlock()
	if first {
		x.setStatus(workspace.RunRunning)
	}
}

func (s *runSink) LineDone(res executor.LineResult) {
	x := s.x()
	if err := x.w.Line(res); err != nil {
		x.recorded(err)
	}
	if res.Status != executor.StatusCompleted && res.Error != nil {
		where := ""
		if res.Error.Node != "" {
			where = " in node " + res.Error.Node
		}
		x.logf("ERROR", "Line %d %s%s: %s", res.LineNumber, strings.ToLower(res.Status), where, res.Error.Message)
	}
	x.mu.Lock()
	if res.Status != executor.StatusCanceled {
		x.done++
		if res.Status != executor.StatusCompleted {
			x.failed++
		} else {
			x.elapsedLine += res.End.Sub(res.Start)
		}
	}
	x.dirty = true
	now := time.Now()
	total := x.total.Load()
	event := now.Sub(x.lastEvent) >= 100*time.Millisecond || (total > 0 && x.done >= total)
	if event {
		x.lastEvent = now
	}
	logIt := now.Sub(x.lastLogged) >= 2*time.Second || (total > 0 && x.done >= total)
	if logIt {
		x.lastLogged = now
	}
	done, failed, completed, elapsed := x.done, x.failed, x.done-x.failed, x.elapsedLine
	x.mu.Unlock()
	if event {
		x.rep.Report(workspace.Event{Kind: workspace.EventLines, Done: done, Failed: failed, Total: total})
	}
	if logIt {
		msg := fmt.Sprintf("Finished %d / %d lines.", done, total)
		if total == 0 {
			msg = fmt.Sprintf("Finished %d lines.", done)
		}
		if completed > 0 {
			msg += fmt.Sprintf(" Average execution time for completed lines: %.2f seconds.", elapsed.Seconds()/float64(completed))
		}
		x.logf("INFO", "%s", msg)
	}
}

func (s *runSink) NodeRun(r executor.NodeRunRecord) {
	x := s.x()
	x.recorded(x.w.NodeRun(r))
}

func (s *runSink) Log(e executor.LogEntry) {
	x := s.x()
	source, level := e.Node, "INFO"
	if source == "" {
		source = "execution.bulk"
	}
	if e.Stream == "stderr" {
		level = "WARNING"
	}
	msg := e.Text
	if e.Line >= 0 {
		msg = fmt.Sprintf("[line %d] %s", e.Line, msg)
	}
	x.recorded(x.w.Log(e.Time, source, level, msg))
	shown := msg
	if e.Node != "" {
		shown = e.Node + ": " + msg
	}
	x.rep.Report(workspace.Event{Kind: workspace.EventLog, Message: shown})
}

func (s *runSink) Metric(name string, v any) {
	x := s.x()
	x.mu.Lock()
	x.metrics.Set(name, v)
	x.mu.Unlock()
}
