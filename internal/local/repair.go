package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// staleStart is how long a Starting record may go without a lock holder
// before a live pid is taken for a reused one. A detached builder takes
// the lock within milliseconds of being started, so this is generous.
const staleStart = 10 * time.Minute

// Maintenance is what Maintain did.
type Maintenance struct {
	Expired  []string // sessions deleted after their idle time
	Repaired []string // sessions and computes marked Failed after their builder died
	Removed  []string // leftover files and folders deleted
}

// repair runs Maintain before a session command; what it does is told on
// the debug writer, and its failures never stop the command.
func (s *Sessions) repair(ctx context.Context) {
	m, err := s.Maintain(ctx)
	if s.opts.Debug == nil {
		return
	}
	for _, id := range m.Expired {
		fmt.Fprintf(s.opts.Debug, "pfz: session %s was idle past its idle time and was deleted\n", id)
	}
	for _, id := range m.Repaired {
		fmt.Fprintf(s.opts.Debug, "pfz: %s was left Starting by a pfz process that ended; marked Failed\n", id)
	}
	for _, p := range m.Removed {
		fmt.Fprintf(s.opts.Debug, "pfz: removed leftover %s\n", p)
	}
	if err != nil {
		fmt.Fprintf(s.opts.Debug, "pfz: maintenance of %s: %v\n", s.st.Home(), err)
	}
}

// Maintain deletes expired sessions and repairs what killed processes left:
// temp files and trash, folders without a record, sessions or compute
// instances stuck in Starting whose builder is gone (they become Failed
// with a message saying what to do), and half-done re-keys after a package
// install (see Sessions.Install). Every session command runs it first;
// it never waits for a lock, so it skips whatever another process holds.
func (s *Sessions) Maintain(ctx context.Context) (*Maintenance, error) {
	m := &Maintenance{}
	removed, err := s.st.Recover(time.Now())
	m.Removed = append(m.Removed, removed...)
	if err != nil {
		return m, err
	}
	if err := s.repairComputes(m); err != nil {
		return m, err
	}
	s.repairRekeys(m)
	m.Removed = append(m.Removed, s.pruneEnvCache(s.now())...)
	ids, err := s.st.List(store.Sessions)
	if err != nil {
		return m, err
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		s.maintainSession(ctx, id, m)
	}
	return m, nil
}

func (s *Sessions) maintainSession(ctx context.Context, id string, m *Maintenance) {
	rec, err := s.load(id)
	switch {
	case fault.Is(err, fault.NotFound):
		// A folder without a record: its creator died between the two
		// steps, unless it is still working (then it holds the lock).
		s.withTryLock(store.Sessions, id, func() {
			if _, err := s.load(id); fault.Is(err, fault.NotFound) && s.st.Discard(s.st.SessionDir(id)) == nil {
				m.Removed = append(m.Removed, s.st.SessionDir(id))
			}
		})
		return
	case err != nil:
		return // damaged: shown by list, fixed by a new start or a stop
	}
	now := s.now()
	switch rec.Status {
	case workspace.SessionStarting:
		s.withTryLock(store.Sessions, id, func() {
			rec, err := s.load(id)
			if err != nil || rec.Status != workspace.SessionStarting || !builderGone(rec.PID, rec.StartedAt, now) {
				return
			}
			rec.Status = workspace.SessionFailed
			rec.Message = fmt.Sprintf("the pfz process (pid %d) that was building this session ended before it finished; `pfz session reset %s` rebuilds it, `pfz session stop %s` deletes it", rec.PID, id, id)
			rec.PID, rec.Op = 0, ""
			if s.save(rec) == nil {
				m.Repaired = append(m.Repaired, "session "+id)
			}
		})
	default:
		if rec.InstallPID != 0 {
			s.withTryLock(store.Sessions, id, func() {
				// The installer holds the lock while pip runs; a free lock
				// means it died with pip half done.
				rec, err := s.load(id)
				if err != nil || rec.InstallPID == 0 {
					return
				}
				rec.Message = fmt.Sprintf("a package install (pid %d) was interrupted and may have left the environment incomplete; run `pfz packages install` again, or `pfz session reset %s`", rec.InstallPID, id)
				rec.InstallPID, rec.InstallIncomplete = 0, true
				if s.save(rec) == nil {
					m.Repaired = append(m.Repaired, "session "+id)
				}
			})
		}
		if now.Before(rec.expiresAt()) {
			return
		}
		s.withTryLock(store.Sessions, id, func() {
			rec, err := s.load(id)
			if err != nil || rec.Status == workspace.SessionStarting || now.Before(rec.expiresAt()) {
				return
			}
			use, ok, err := s.st.TryExclusiveUse(store.Sessions, id)
			if err != nil || !ok {
				return // a run holds it: it is not idle
			}
			defer use.Unlock()
			if s.remove(ctx, rec, false) == nil {
				m.Expired = append(m.Expired, id)
			}
		})
	}
}

func (s *Sessions) repairComputes(m *Maintenance) error {
	names, err := s.st.List(store.Computes)
	if err != nil {
		return err
	}
	now := s.now()
	for _, name := range names {
		s.withTryLock(store.Computes, name, func() {
			c, err := s.loadCompute(name)
			var ce *store.CorruptError
			switch {
			case err != nil && errors.As(err, &ce):
				return
			case err != nil:
				return
			case c == nil:
				// Without a record the folder is debris of a killed creation
				// or an interrupted release; sessions on it rebuild it.
				if s.st.Discard(s.st.ComputeDir(name)) == nil {
					m.Removed = append(m.Removed, s.st.ComputeDir(name))
				}
			case c.Status == workspace.SessionStarting && builderGone(c.PID, c.StartedAt, now):
				c.Status, c.PID = workspace.SessionFailed, 0
				c.Message = "the pfz process building this compute instance ended before it finished; the next session start on it rebuilds it"
				if s.saveCompute(c) == nil {
					m.Repaired = append(m.Repaired, "compute "+name)
				}
			}
		})
	}
	return nil
}

// withTryLock runs fn under the entity lock if it is free right now.
func (s *Sessions) withTryLock(k store.Kind, name string, fn func()) {
	lk, ok, err := s.st.TryLock(k, name)
	if err != nil || !ok {
		return
	}
	defer lk.Unlock()
	fn()
}

// builderGone reports whether a Starting state has nobody working on it;
// the caller holds the entity lock, so no live builder is mid-build.
func builderGone(pid int, started, now time.Time) bool {
	return !store.Alive(pid) || now.Sub(started) > staleStart
}
