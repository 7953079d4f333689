package local

import (
	"context"
	"os"
	"path/filepath"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// FlowTest is a flow ready to run single lines (`flow test`) in its session.
// Close it when done: it stops the workers and releases the session.
type FlowTest struct {
	*executor.Tester
	release func()
	tmp     string
}

// Close stops the workers, releases the session and removes the copy of the
// flow, if one was made.
func (t *FlowTest) Close() {
	if t.Tester != nil {
		t.Tester.Close()
	}
	if t.release != nil {
		t.release()
	}
	if t.tmp != "" {
		_ = os.RemoveAll(t.tmp)
	}
}

// TestFlow prepares the flow of sub (resolved as for a run, without data) in
// its session, starting the session when it is not running. Nothing is
// recorded. A flow the executor cannot run is refused before the session is
// touched. The flow runs in its own folder, or in a temporary copy when it
// has additional_includes. sink receives node runs and printed lines.
func (w *Workspace) TestFlow(ctx context.Context, sub *workspace.Submission, sink executor.Sink, rep workspace.Reporter) (executor.LineRunner, error) {
	if rep == nil {
		rep = workspace.NopReporter{}
	}
	if sub == nil || sub.Snapshot == nil || sub.Session.ID == "" {
		return nil, fault.New(fault.Usage, "the flow test has no resolved flow").WithHint("resolve it with runspec.Resolve first")
	}
	f, ds, err := submissionFlow(sub)
	if err != nil {
		return nil, err
	}
	if errs := ds.Errors(); len(errs) > 0 {
		e := fault.Wrap(fault.Validation, ds.Err(), "the flow is not valid")
		e.Hint = errs[0].Hint
		return nil, e
	}
	if err := executor.Supports(f); err != nil {
		return nil, err
	}
	ss := w.sessions
	if _, err := ss.Start(ctx, sub.Session, workspace.StartOptions{Reporter: rep}); err != nil {
		return nil, err
	}
	python, _, memMB, err := ss.Python(ctx, sub.Session.ID)
	if err != nil {
		return nil, err
	}
	release, err := ss.Acquire(ctx, sub.Session.ID)
	if err != nil {
		return nil, err
	}
	t := &FlowTest{release: release}
	ok := false
	defer func() {
		if !ok {
			t.Close()
		}
	}()
	dir := f.Dir
	if len(f.AdditionalIncludes) > 0 {
		t.tmp, err = os.MkdirTemp("", "pfz-flow-test-*")
		if err != nil {
			return nil, fault.Wrap(fault.Failed, err, "cannot make a folder for the flow with its additional_includes")
		}
		dir = filepath.Join(t.tmp, "flow")
		if err := snapshot.Materialize(ctx, sub.Snapshot, dir); err != nil {
			return nil, err
		}
		if f, _, err = flow.Load(filepath.Join(dir, filepath.FromSlash(sub.Snapshot.FlowFile))); err != nil {
			return nil, err
		}
	}
	if err := applyConnections(f, sub.Connections); err != nil {
		return nil, err
	}
	opts := w.runs.opts
	cfg := executor.Config{
		Flow:        f,
		Variant:     sub.Variant,
		Dir:         dir,
		Python:      python,
		Workers:     1, // lines run one at a time
		MemLimitMB:  memMB,
		BaseEnv:     flowBaseEnv(opts.Env),
		Env:         sub.EnvironmentVariables,
		Connections: opts.Connections,
		LineTimeout: sub.LineTimeout,
		Sink:        sink,
		RuntimeDir:  filepath.Join(w.runs.st.Home(), "cache"),
		HTTPClient:  opts.HTTPClient,
		Init:        sub.Init,
	}
	if dir == f.Dir {
		// The flow runs in the user's own folder: leave no __pycache__ there.
		cfg.BaseEnv = append(append([]string(nil), cfg.BaseEnv...), "PYTHONDONTWRITEBYTECODE=1")
	}
	tester, err := executor.NewTester(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t.Tester = tester
	ok = true
	return t, nil
}
