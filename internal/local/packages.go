package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Packages lists what the session's environment has installed, read from
// the environment itself with pip, each marked by origin: named in the
// requirements, present in a fresh environment (or pfz's runtime), or
// pulled in as a dependency.
func (s *Sessions) Packages(ctx context.Context, id string) (*workspace.PackageList, error) {
	s.repair(ctx)
	rec, err := s.load(id)
	if err != nil {
		return nil, err
	}
	if err := requireRunning(rec); err != nil {
		return nil, err
	}
	dists, err := s.env.List(ctx, rec.Env.Python)
	if err != nil {
		return nil, err
	}
	base := map[string]bool{}
	for _, n := range rec.Env.BasePackages {
		base[n] = true
	}
	reqs := map[string]bool{}
	for _, l := range rec.Requirements {
		if n := requirementName(l); n != "" {
			reqs[n] = true
		}
	}
	out := &workspace.PackageList{SessionID: id, PythonVersion: rec.Env.PythonVersion, Packages: []workspace.Package{}}
	for _, d := range dists {
		n := normalizeName(d.Name)
		origin := workspace.OriginDependency
		switch {
		case reqs[n]:
			origin = workspace.OriginRequirements
		case base[n]:
			origin = workspace.OriginBase
		}
		out.Packages = append(out.Packages, workspace.Package{Name: d.Name, Version: d.Version, Origin: origin})
	}
	if rt := s.opts.Runtime; rt != nil {
		out.Packages = append(out.Packages, workspace.Package{Name: rt.Name, Version: rt.Version, Origin: workspace.OriginBase})
	}
	sort.SliceStable(out.Packages, func(i, j int) bool {
		return normalizeName(out.Packages[i].Name) < normalizeName(out.Packages[j].Name)
	})
	return out, nil
}

// Install installs the requirements of next into the running session id
// and files the session under next.ID (see workspace.Sessions.Install).
//
// When the id changes, the session folder is renamed sessions/<id> →
// sessions/<next.ID> before pip runs: the command has already saved the
// requirements file, so from here on every command computes next.ID, and
// the session must be found there whatever pip does. The rename is the
// commit point of a journal (see rekey); a pfz killed on the way leaves a
// state the next command's maintenance completes. The virtual environment
// moves with the folder, and the scripts in its bin folder that name the
// old path are rewritten.
//
// A run using the session keeps its environment where it is: then the
// packages are installed in place and the rename waits, journaled, for the
// run to end (the first pfz command after it does it). If a session with
// next.ID already exists, the packages go into that one and id is left
// alone; the returned Message says so.
func (s *Sessions) Install(ctx context.Context, id string, next workspace.SessionSpec, opts workspace.StartOptions) (*workspace.Session, error) {
	if next.ID == "" {
		// Only the requirements are given: the rest stays the session's.
		if rec, err := s.load(id); err == nil {
			reqs := next.Requirements
			next = rec.Spec
			next.Requirements = reqs
		}
		next.ID = id
	}
	if !idRe.MatchString(next.ID) {
		return nil, fault.New(fault.Usage, "%q is not a session id (letters, digits, '-' and '_', at most 128)", next.ID)
	}
	s.repair(ctx)
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	if next.ID == id {
		rec, lk, err := s.lockAndLoad(ctx, id)
		if err != nil {
			return nil, err
		}
		defer lk.Unlock()
		return s.installLocked(ctx, rec, next, opts)
	}
	if err := store.CheckName(id); err != nil {
		return nil, fault.Wrap(fault.Usage, err, "%q is not a session id", id)
	}
	unlock, err := s.lockPair(ctx, id, next.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if target, err := s.load(next.ID); err == nil {
		view, err := s.installLocked(ctx, target, next, opts)
		if err != nil {
			return nil, err
		}
		view.Message = joinMsg(view.Message, fmt.Sprintf("session %s already served the new requirements, so the packages were installed there; "+
			"session %s was left as it is (`pfz session stop %s` deletes it)", next.ID, id, id))
		return view, nil
	} else if !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	rec, err := s.load(id)
	if err != nil {
		return nil, err // NotFound: neither session exists
	}
	if err := requireRunning(rec); err != nil {
		return nil, err
	}
	rep := reporterOf(opts)
	j := rekeyJournal{From: id, To: next.ID, Spec: next}
	use, free, err := s.st.TryExclusiveUse(store.Sessions, id)
	if err != nil {
		return nil, err
	}
	if !free {
		// A run has the environment's path; moving it would break the run.
		if err := store.WriteJSON(s.journalPath(id), j, 0o600); err != nil {
			return nil, err
		}
		view, err := s.installLocked(ctx, rec, next, opts)
		if err != nil {
			return nil, err
		}
		view.Message = joinMsg(view.Message, fmt.Sprintf("a run is using this session, so it keeps id %s until the run ends; "+
			"the first pfz command after that files it under %s, the id of the new requirements", id, next.ID))
		return view, nil
	}
	err = s.rekey(j)
	_ = use.Unlock()
	if err != nil {
		return nil, err
	}
	rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("Session %s is now %s (the session id follows the requirements)", id, next.ID)})
	if rec, err = s.load(next.ID); err != nil {
		return nil, err
	}
	return s.installLocked(ctx, rec, next, opts)
}

// installLocked runs pip install -r with next's requirements in a session
// whose lock the caller holds, and records them: the spec takes next's
// environment at once (it is what the session's id stands for); the lines
// last installed change only when pip succeeds.
func (s *Sessions) installLocked(ctx context.Context, rec *record, next workspace.SessionSpec, opts workspace.StartOptions) (_ *workspace.Session, rerr error) {
	if err := requireRunning(rec); err != nil {
		return nil, err
	}
	lg, err := s.openLog(rec, "install", opts)
	if err != nil {
		return nil, err
	}
	defer closeLog(lg, &rerr)
	rep := reporterOf(opts)
	// A serverless session installs into the environment it has; a
	// compute-instance one into the shared environment, under its lock.
	release := func() {}
	if rec.ComputeType == workspace.ComputeComputeInstance {
		env, rel, err := s.computeEnv(ctx, rec, false, lg, rep)
		if err != nil {
			return nil, err
		}
		release, rec.Env = rel, env
	}
	defer release()
	rec.Spec = withEnvironment(rec.Spec, next)
	rec.InstallPID = os.Getpid()
	if err := s.save(rec); err != nil {
		return nil, err
	}
	err = s.install(ctx, rec, next.Requirements, lg, rep)
	rec.InstallPID = 0
	if err != nil {
		rec.InstallIncomplete = true
		rec.Message = "the last package install failed: " + firstLine(errText(err)) + " (log: " + lg.path + ")"
		if ctx.Err() != nil {
			rec.Message = "the last package install was interrupted before pip finished; the environment may lack some of the requirements: run `pfz packages install` again, or `pfz session reset " + rec.Spec.ID + "`"
		}
		if serr := s.save(rec); serr != nil {
			return nil, errors.Join(err, serr)
		}
		return nil, err
	}
	rec.Requirements = meaningful(next.Requirements)
	rec.Message, rec.InstallIncomplete = "", false
	rec.LastUsed = s.now()
	if err := s.save(rec); err != nil {
		return nil, err
	}
	_ = s.touch(rec.Spec.ID)
	return rec.toSession(), nil
}

// withEnvironment is cur with the flow and environment of next: what an
// install changes. The id is the caller's business (see finishRekey); the
// compute settings stay the running session's.
func withEnvironment(cur, next workspace.SessionSpec) workspace.SessionSpec {
	out := cur
	if next.FlowDir != "" {
		out.FlowDir = cleanDir(next.FlowDir)
	}
	if out.UserAlias == "" {
		out.UserAlias = next.UserAlias
	}
	out.LineageID, out.EnvHash, out.Image = next.LineageID, next.EnvHash, next.Image
	out.Requirements, out.RequirementsFile = next.Requirements, next.RequirementsFile
	return out
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// lockPair takes the locks of two sessions in name order, so that two
// processes re-keying in opposite directions cannot deadlock.
func (s *Sessions) lockPair(ctx context.Context, a, b string) (unlock func(), err error) {
	if b < a {
		a, b = b, a
	}
	la, err := s.st.Lock(ctx, store.Sessions, a)
	if err != nil {
		return nil, err
	}
	lb, err := s.st.Lock(ctx, store.Sessions, b)
	if err != nil {
		_ = la.Unlock()
		return nil, err
	}
	return func() { _ = lb.Unlock(); _ = la.Unlock() }, nil
}

// --- re-keying ---------------------------------------------------------------
//
// Moving a session from sessions/<from> to sessions/<to> takes three steps:
//
//  1. write the journal sessions/<from>/rekey.json (from, to, the new spec);
//  2. rename the folder to sessions/<to>: the commit point;
//  3. finish: rebase the record's paths (environment, log) and the
//     environment's scripts onto the new folder, give the record the new
//     spec, and delete the journal.
//
// A journal found by maintenance says where a killed process stopped: in
// sessions/<from>, step 2 is still to do (done once the session is free
// and <to> has no session; dropped when <to> got a session meanwhile); in
// sessions/<to>, step 3 is (it is idempotent).

const rekeyFile = "rekey.json"

// rekeyJournal is sessions/<dir>/rekey.json.
type rekeyJournal struct {
	From string                `json:"from"`
	To   string                `json:"to"`
	Spec workspace.SessionSpec `json:"spec"`
}

func (s *Sessions) journalPath(id string) string {
	return filepath.Join(s.st.SessionDir(id), rekeyFile)
}

// rekey moves a session. The caller holds both session locks and the
// exclusive use of j.From, and has checked that j.To has no record.
func (s *Sessions) rekey(j rekeyJournal) error {
	if err := store.WriteJSON(s.journalPath(j.From), j, 0o600); err != nil {
		return err
	}
	if s.crashed("journal") {
		return errCrashed
	}
	return s.commitRekey(j)
}

// errCrashed ends an operation that a test stopped with crashAt.
var errCrashed = errors.New("stopped by the test as if killed")

func (s *Sessions) crashed(point string) bool {
	return s.crashAt != nil && s.crashAt(point)
}

func (s *Sessions) commitRekey(j rekeyJournal) error {
	dst := s.st.SessionDir(j.To)
	// A folder without a record is debris of a killed start; the session
	// being moved takes its place.
	if err := s.st.Discard(dst); err != nil {
		return err
	}
	if err := os.Rename(s.st.SessionDir(j.From), dst); err != nil {
		_ = os.Remove(s.journalPath(j.From))
		return fault.Wrap(fault.Failed, err, "cannot move session %s to %s", j.From, j.To).
			WithHint("the session keeps its old id; `pfz session reset` on the flow builds it anew under %s", j.To)
	}
	if s.crashed("rename") {
		return errCrashed
	}
	return s.finishRekey(j)
}

// finishRekey is step 3; it may run any number of times.
func (s *Sessions) finishRekey(j rekeyJournal) error {
	rec, err := s.load(j.To)
	if err != nil {
		return err
	}
	oldDir, newDir := s.st.SessionDir(j.From), s.st.SessionDir(j.To)
	if p, ok := rebase(rec.Env.Dir, oldDir, newDir); ok {
		if err := fixScripts(p, rec.Env.Dir); err != nil {
			return err
		}
		if s.crashed("scripts") {
			return errCrashed
		}
		rec.Env.Dir = p
		if py, ok := rebase(rec.Env.Python, oldDir, newDir); ok {
			rec.Env.Python = py
		}
	}
	if p, ok := rebase(rec.LogFile, oldDir, newDir); ok {
		rec.LogFile = p
	}
	rec.Spec = withEnvironment(rec.Spec, j.Spec)
	rec.Spec.ID = j.To
	if err := s.save(rec); err != nil {
		return err
	}
	if s.crashed("record") {
		return errCrashed
	}
	if err := os.Remove(s.journalPath(j.To)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fault.Wrap(fault.Failed, err, "cannot finish moving session %s to %s", j.From, j.To)
	}
	return nil
}

// rebase moves p from under oldDir to under newDir; ok is false when p is
// not under oldDir (a compute instance's environment, say).
func rebase(p, oldDir, newDir string) (string, bool) {
	if p == "" {
		return p, false
	}
	rel, err := filepath.Rel(oldDir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p, false
	}
	return filepath.Join(newDir, rel), true
}

// fixScripts rewrites the text scripts of a moved virtual environment
// (console scripts' #! lines, activate*) that name its old folder. Python
// itself finds the environment from its own path, so `python -m pip` and
// pfz's workers work without this; the scripts would not. The .exe
// launchers of a Windows environment are left as they are.
func fixScripts(envDir, oldEnvDir string) error {
	for _, sub := range []string{"bin", "Scripts"} {
		dir := filepath.Join(envDir, sub)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(dir, e.Name())
			info, err := e.Info()
			if err != nil || info.Size() > 1<<20 {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if !bytes.HasPrefix(data, []byte("#!")) && !strings.HasPrefix(e.Name(), "activate") {
				continue
			}
			if !bytes.Contains(data, []byte(oldEnvDir)) {
				continue
			}
			data = bytes.ReplaceAll(data, []byte(oldEnvDir), []byte(envDir))
			if err := store.WriteFile(p, data, info.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	return nil
}

// repairRekeys completes or drops the re-keys that killed processes (or a
// run that was using the session) left journaled. It never waits for a lock.
func (s *Sessions) repairRekeys(m *Maintenance) {
	dirs, err := s.st.List(store.Sessions)
	if err != nil {
		return
	}
	for _, dir := range dirs {
		var j rekeyJournal
		if store.ReadJSON(s.journalPath(dir), &j) != nil {
			continue
		}
		if store.CheckName(j.From) != nil || store.CheckName(j.To) != nil || j.From == j.To || (dir != j.From && dir != j.To) {
			if os.Remove(s.journalPath(dir)) == nil {
				m.Removed = append(m.Removed, s.journalPath(dir))
			}
			continue
		}
		s.withTryLock(store.Sessions, j.From, func() {
			s.withTryLock(store.Sessions, j.To, func() {
				if msg := s.repairRekey(dir, j); msg != "" {
					m.Repaired = append(m.Repaired, msg)
				}
			})
		})
	}
}

// repairRekey handles one journal under both session locks.
func (s *Sessions) repairRekey(dir string, j rekeyJournal) string {
	var again rekeyJournal
	if store.ReadJSON(s.journalPath(dir), &again) != nil || again.From != j.From || again.To != j.To {
		return "" // finished or changed meanwhile
	}
	if dir == j.To {
		if s.finishRekey(j) != nil {
			return ""
		}
		return fmt.Sprintf("session %s: finished moving it to %s", j.From, j.To)
	}
	if _, err := s.load(j.To); !fault.Is(err, fault.NotFound) {
		// <to> has a session of its own (or a damaged record): keep both.
		if os.Remove(s.journalPath(j.From)) != nil {
			return ""
		}
		return fmt.Sprintf("session %s: not moved to %s, which has a session of its own", j.From, j.To)
	}
	use, ok, err := s.st.TryExclusiveUse(store.Sessions, j.From)
	if err != nil || !ok {
		return "" // a run still uses it: later
	}
	defer use.Unlock()
	if s.commitRekey(j) != nil {
		return ""
	}
	return fmt.Sprintf("session %s: moved to %s, the id of its requirements", j.From, j.To)
}

func errText(err error) string {
	s := err.Error()
	if i := strings.Index(s, ":\n"); i >= 0 {
		return strings.TrimSpace(s[i+2:])
	}
	return s
}

var (
	nameNormRe = regexp.MustCompile(`[-_.]+`)
	reqNameRe  = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)`)
)

// normalizeName is the PEP 503 normalized project name.
func normalizeName(n string) string { return strings.ToLower(nameNormRe.ReplaceAllString(n, "-")) }

// requirementName is the project a requirements line names, or "" for
// options (-i, -r, --extra-index-url …), paths and URLs without a name.
func requirementName(line string) string {
	t := strings.TrimSpace(line)
	if i := strings.Index(t, " #"); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	if t == "" || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "#") || strings.Contains(strings.SplitN(t, "@", 2)[0], "/") {
		return ""
	}
	m := reqNameRe.FindString(t)
	if m == "" {
		return ""
	}
	return normalizeName(m)
}
