package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/run"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// WorkspaceOptions configure the local workspace (New) and its runs
// (NewRuns). Sessions is required.
type WorkspaceOptions struct {
	// Sessions are the local sessions runs execute in (NewSessions).
	Sessions *Sessions
	// Home is PFZ_HOME; empty is the sessions' home.
	Home string
	// Connections resolves the connections flows name (see StoreConnections).
	Connections executor.ConnectionResolver
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Env is the environment python workers start from; nil is pfz's own.
	Env []string
	// HTTPClient calls model endpoints; nil is the executor's default.
	HTTPClient *http.Client
	// CancelWait is how long Cancel waits for the run to stop (15s when 0).
	CancelWait time.Duration
	// Poll is how often a running run flushes its files and looks for a
	// cancel request (200ms when 0).
	Poll time.Duration
	// Debug receives what maintenance repaired (runs left by dead processes).
	Debug io.Writer
}

// Runs is the local target's workspace.Runs: runs execute in this process,
// in the flow's session, and are recorded under PFZ_HOME/runs/<name>/ (see
// package run for the files).
//
// Ownership: the process executing a run holds the run's shared "use" lock
// until it ends; the kernel drops it when the process dies, which is how
// every other command tells a live run from one whose process was killed.
// Such a run is marked Failed (Canceled when a cancel was requested) by the
// next command that reads it. Writers of run.json take the run's lock.
type Runs struct {
	st   *store.Store
	opts WorkspaceOptions
	now  func() time.Time
}

var _ workspace.Runs = (*Runs)(nil)

// NewRuns opens the local runs under opts.Home.
func NewRuns(opts WorkspaceOptions) (*Runs, error) {
	if opts.Sessions == nil {
		return nil, errors.New("local: NewRuns needs the sessions")
	}
	if opts.Home == "" {
		opts.Home = opts.Sessions.st.Home()
	}
	st, err := store.New(opts.Home)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.CancelWait <= 0 {
		opts.CancelWait = 15 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	return &Runs{st: st, opts: opts, now: now}, nil
}

// Dir is the folder of a run.
func (r *Runs) Dir(name string) string { return r.st.RunDir(name) }

func runNotFound(name string) error {
	return fault.New(fault.NotFound, "there is no local run %s", name).
		WithHint("`pfz run list` shows the local runs")
}

// loadRun reads a run record; missing is fault.NotFound.
func (r *Runs) loadRun(name string) (*run.Record, error) {
	if err := store.CheckName(name); err != nil {
		return nil, fault.Wrap(fault.Usage, err, "%q is not a run name", name)
	}
	rec, err := run.Load(r.st.RunDir(name))
	if run.IsNotExist(err) {
		return nil, runNotFound(name)
	}
	return rec, err
}

// current loads a run and settles it when its process died.
func (r *Runs) current(ctx context.Context, name string) (*run.Record, error) {
	rec, err := r.loadRun(name)
	if err != nil {
		return nil, err
	}
	return r.settle(ctx, rec), nil
}

// settle marks a run whose owner is gone as ended: Failed, or Canceled
// when a cancel was asked for. It never waits for a lock: a run another
// process holds is alive by definition.
func (r *Runs) settle(_ context.Context, rec *run.Record) *run.Record {
	if workspace.IsTerminal(rec.Status) {
		return rec
	}
	name := rec.Name
	lk, ok, err := r.st.TryLock(store.Runs, name)
	if err != nil || !ok {
		return rec
	}
	defer lk.Unlock()
	use, ok, err := r.st.TryExclusiveUse(store.Runs, name)
	if err != nil || !ok {
		return rec // its process runs it
	}
	defer use.Unlock()
	dir := r.st.RunDir(name)
	cur, err := run.Load(dir)
	if err != nil || workspace.IsTerminal(cur.Status) {
		if err != nil {
			return rec
		}
		return cur
	}
	run.Unreserve(dir)
	cut, _ := run.Repair(dir)
	canceled := cur.Status == workspace.RunCancelRequested || fileExistsAt(filepath.Join(dir, run.CancelFile))
	if completed, failed, err := run.CountKept(dir); err == nil {
		cur.LinesCompleted, cur.LinesFailed = completed, failed
	}
	who := "the pfz process"
	if cur.PID > 0 {
		who = fmt.Sprintf("the pfz process (pid %d)", cur.PID)
	}
	msg := fmt.Sprintf("%s that ran this run ended before the run finished (it was killed or crashed); the %d lines it finished are kept: `pfz run show-details -n %s` lists them, and `pfz run create` runs the flow again under a new name",
		who, cur.LinesCompleted+cur.LinesFailed, name)
	if canceled {
		cur.Status = workspace.RunCanceled
	} else {
		cur.Status = workspace.RunFailed
	}
	cur.Error = &workspace.RunError{Code: "ProcessEnded", Message: msg}
	cur.EndTime = r.now()
	if cur.StartTime.IsZero() {
		cur.StartTime = cur.CreatedOn
	}
	if run.Save(dir, cur) != nil {
		return rec
	}
	if w := r.opts.Debug; w != nil {
		fmt.Fprintf(w, "pfz: run %s was left %s by a pfz process that ended; marked %s\n", name, rec.Status, cur.Status)
		for _, p := range cut {
			fmt.Fprintf(w, "pfz: cut a torn last line off %s\n", p)
		}
	}
	return cur
}

func fileExistsAt(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Get returns one run.
func (r *Runs) Get(ctx context.Context, name string) (*workspace.Run, error) {
	rec, err := r.current(ctx, name)
	if err != nil {
		return nil, err
	}
	return rec.View(r.st.RunDir(name)), nil
}

// List returns the local runs, newest first: at most opts.MaxResults (50
// when <= 0), archived ones only or as well when asked.
func (r *Runs) List(ctx context.Context, opts workspace.ListOptions) ([]workspace.Run, error) {
	if opts.ArchivedOnly && opts.IncludeArchived {
		return nil, fault.New(fault.Usage, "Cannot specify both 'archived_only' and 'include_archived'").
			WithHint("give --archived-only or --include-archived, not both")
	}
	max := opts.MaxResults
	if max <= 0 {
		max = 50
	}
	names, err := r.st.List(store.Runs)
	if err != nil {
		return nil, err
	}
	out := []workspace.Run{}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := r.st.RunDir(name)
		rec, err := run.Load(dir)
		if run.IsNotExist(err) {
			r.discardDebris(name)
			continue
		}
		if err != nil {
			if opts.ArchivedOnly {
				continue // it cannot say whether it is archived
			}
			out = append(out, workspace.Run{Name: name, Target: workspace.TargetLocal, Status: workspace.RunFailed,
				Error: &workspace.RunError{Code: "DamagedRecord", Message: err.Error() + " (" + fault.HintOf(err) + ")"}})
			continue
		}
		rec = r.settle(ctx, rec)
		switch {
		case opts.ArchivedOnly && !rec.Archived:
			continue
		case !opts.ArchivedOnly && !opts.IncludeArchived && rec.Archived:
			continue
		}
		out = append(out, *rec.View(dir))
	}
	slices.SortStableFunc(out, func(a, b workspace.Run) int {
		switch {
		case a.CreatedOn == nil && b.CreatedOn == nil:
		case a.CreatedOn == nil:
			return 1
		case b.CreatedOn == nil:
			return -1
		case !a.CreatedOn.Equal(*b.CreatedOn):
			return b.CreatedOn.Compare(*a.CreatedOn)
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// discardDebris deletes a run folder without a record whose creator is
// gone (killed between making the folder and writing the record).
func (r *Runs) discardDebris(name string) {
	lk, ok, err := r.st.TryLock(store.Runs, name)
	if err != nil || !ok {
		return
	}
	defer lk.Unlock()
	use, ok, err := r.st.TryExclusiveUse(store.Runs, name)
	if err != nil || !ok {
		return
	}
	defer use.Unlock()
	dir := r.st.RunDir(name)
	if _, err := os.Lstat(filepath.Join(dir, run.RecordFile)); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if r.st.Discard(dir) == nil && r.opts.Debug != nil {
		fmt.Fprintf(r.opts.Debug, "pfz: removed %s, a run folder a killed pfz process left without a record\n", dir)
	}
}

// Cancel asks a running run to stop: it writes the cancel request the
// running process polls for, marks the run CancelRequested and waits (up
// to CancelWait) until the run has ended. A run that has ended already is
// left as it is.
func (r *Runs) Cancel(ctx context.Context, name string) error {
	rec, err := r.current(ctx, name)
	if err != nil {
		return err
	}
	if workspace.IsTerminal(rec.Status) {
		return nil
	}
	dir := r.st.RunDir(name)
	lk, err := r.st.Lock(ctx, store.Runs, name)
	if err != nil {
		return err
	}
	cur, err := run.Load(dir)
	if err == nil && !workspace.IsTerminal(cur.Status) {
		if err = store.WriteFile(filepath.Join(dir, run.CancelFile), []byte(r.now().UTC().Format(time.RFC3339Nano)+"\n"), 0o600); err == nil {
			cur.Status = workspace.RunCancelRequested
			err = run.Save(dir, cur)
		}
	}
	lk.Unlock()
	if err != nil {
		return err
	}
	deadline := time.NewTimer(r.opts.CancelWait)
	defer deadline.Stop()
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	for {
		rec, err := r.current(ctx, name)
		if err != nil || workspace.IsTerminal(rec.Status) {
			return err
		}
		select {
		case <-ctx.Done():
			return fault.Wrap(fault.Interrupted, ctx.Err(), "stopped waiting for run %s to cancel; the request stands", name).
				WithHint("`pfz run show -n %s` shows when it has stopped", name)
		case <-deadline.C:
			return nil // the request stands; the run shows CancelRequested
		case <-tick.C:
		}
	}
}

// ended loads a run that must have ended for a read command.
func (r *Runs) ended(ctx context.Context, name string) (*run.Record, error) {
	rec, err := r.current(ctx, name)
	if err != nil {
		return nil, err
	}
	if !workspace.IsTerminal(rec.Status) {
		return nil, fault.New(fault.Failed, "run %q is not completed, the status is %q", name, rec.Status).
			WithHint("wait for it with `pfz run stream -n %s`, or pick a run that has ended", name)
	}
	return rec, nil
}

// Details returns the run's lines in line-number order, at most max (all when max <= 0).
func (r *Runs) Details(ctx context.Context, name string, max int) ([]workspace.LineDetail, error) {
	if _, err := r.ended(ctx, name); err != nil {
		return nil, err
	}
	return run.Details(r.st.RunDir(name), max)
}

// Metrics returns what the run's aggregation nodes logged.
func (r *Runs) Metrics(ctx context.Context, name string) (pyjson.Object, error) {
	if _, err := r.ended(ctx, name); err != nil {
		return nil, err
	}
	return run.ReadMetrics(r.st.RunDir(name))
}

// Logs returns the run's log so far.
func (r *Runs) Logs(ctx context.Context, name string) (string, error) {
	if _, err := r.current(ctx, name); err != nil {
		return "", err
	}
	return run.ReadLogs(r.st.RunDir(name))
}

// Update changes display name, description, tags (merged, as the service
// does) and the archived flag.
func (r *Runs) Update(ctx context.Context, name string, upd workspace.RunUpdate) (*workspace.Run, error) {
	if upd.DisplayName == nil && upd.Description == nil && upd.Tags == nil && upd.Archived == nil {
		return nil, fault.New(fault.Usage, "Nothing provided to update the run.").
			WithHint("give --set display_name=..., description=... or tags.KEY=VALUE")
	}
	if _, err := r.current(ctx, name); err != nil {
		return nil, err
	}
	lk, err := r.st.Lock(ctx, store.Runs, name)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	dir := r.st.RunDir(name)
	rec, err := run.Load(dir)
	if err != nil {
		if run.IsNotExist(err) {
			return nil, runNotFound(name)
		}
		return nil, err
	}
	if upd.DisplayName != nil {
		rec.DisplayName = *upd.DisplayName
	}
	if upd.Description != nil {
		rec.Description = *upd.Description
	}
	if len(upd.Tags) > 0 {
		if rec.Tags == nil {
			rec.Tags = map[string]string{}
		}
		for k, v := range upd.Tags {
			rec.Tags[k] = v
		}
	}
	if upd.Archived != nil {
		rec.Archived = *upd.Archived
	}
	if err := run.Save(dir, rec); err != nil {
		return nil, err
	}
	return rec.View(dir), nil
}

// Download writes the run in pfazure's layout under dir/<name>.
func (r *Runs) Download(ctx context.Context, name, dir string, overwrite bool) (string, error) {
	rec, err := r.ended(ctx, name)
	if err != nil {
		return "", err
	}
	src := r.st.RunDir(name)
	return run.Download(ctx, run.DownloadOptions{
		Src: src, Run: rec.View(src), BatchSize: rec.Workers, Dir: dir, Overwrite: overwrite,
	})
}

// Visualize writes one HTML page comparing the runs under
// PFZ_HOME/visualize/ and returns its path.
func (r *Runs) Visualize(ctx context.Context, names []string) (string, error) {
	if len(names) == 0 {
		return "", fault.New(fault.Usage, "no run to visualize").WithHint("give -n NAME[,NAME...]")
	}
	var runs []run.Compared
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		rec, err := r.current(ctx, name)
		if err != nil {
			return "", err
		}
		dir := r.st.RunDir(name)
		m, err := run.ReadMetrics(dir)
		if err != nil {
			return "", err
		}
		runs = append(runs, run.Compared{Run: rec.View(dir), Metrics: m, Dir: dir})
	}
	var sb strings.Builder
	now := r.now()
	if err := run.Visualize(&sb, runs, now); err != nil {
		return "", err
	}
	out := filepath.Join(r.st.Home(), "visualize")
	if err := store.EnsureDir(out); err != nil {
		return "", err
	}
	base := runs[0].Run.Name
	if len(base) > 100 {
		base = base[:100]
	}
	if len(runs) > 1 {
		base += fmt.Sprintf("-and-%d-more", len(runs)-1)
	}
	p := filepath.Join(out, fmt.Sprintf("%s-%s.html", base, now.Format("20060102-150405.000")))
	if err := store.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
		return "", err
	}
	return p, nil
}
