package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// computeRecord is computes/<name>/compute.json: a local compute instance,
// one Python environment that the sessions of several flows of one user
// share. Its VM size and identity are the instance's, set by the session
// that created it.
type computeRecord struct {
	Schema    int                `json:"schema"`
	Name      string             `json:"name"`
	Owner     string             `json:"owner"`
	Status    string             `json:"status"`
	Message   string             `json:"message,omitempty"`
	PID       int                `json:"pid,omitempty"`
	StartedAt time.Time          `json:"started_at,omitzero"`
	VMSize    string             `json:"vm_size"`
	VCPUs     int                `json:"vcpus"`
	MemoryGB  float64            `json:"memory_gb"`
	Identity  workspace.Identity `json:"identity"`
	Env       envInfo            `json:"env"`
	CreatedOn time.Time          `json:"created_on"`
}

func (s *Sessions) computePath(name string) string {
	return filepath.Join(s.st.ComputeDir(name), "compute.json")
}

// loadCompute returns the compute record, or nil when there is none.
func (s *Sessions) loadCompute(name string) (*computeRecord, error) {
	var c computeRecord
	if err := store.ReadJSON(s.computePath(name), &c); err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	if err := store.CheckSchema(s.computePath(name), c.Schema, recordSchema); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *Sessions) saveCompute(c *computeRecord) error {
	c.Schema = recordSchema
	return store.WriteJSON(s.computePath(c.Name), c, 0o600)
}

// checkCompute refuses a session the compute instance cannot take and
// copies the instance's settings into it.
func (s *Sessions) checkCompute(want *record) error {
	c, err := s.loadCompute(want.Compute)
	if err != nil || c == nil {
		return err
	}
	return adoptCompute(c, want)
}

func adoptCompute(c *computeRecord, want *record) error {
	user := want.Spec.UserAlias
	if c.Owner != "" && user != "" && c.Owner != user {
		return fault.New(fault.Auth, "compute instance %s belongs to %s; a compute serves one user only", c.Name, c.Owner).
			WithHint("choose another --compute name, or a serverless session")
	}
	if want.Spec.VMSize != "" && !strings.EqualFold(want.Spec.VMSize, c.VMSize) {
		return fault.New(fault.Usage, "compute instance %s has VM size %s, not %s: the VM size is the instance's", c.Name, c.VMSize, want.Spec.VMSize).
			WithHint("leave --vm-size out, or use another compute instance name")
	}
	if want.Spec.Identity.Type != "" && want.Identity != c.Identity {
		return fault.New(fault.Usage, "compute instance %s uses identity %s, not %s: the identity is the instance's", c.Name, identityText(c.Identity), identityText(want.Identity)).
			WithHint("leave --identity out, or use another compute instance name")
	}
	want.VMSize, want.VCPUs, want.MemoryGB, want.Identity = c.VMSize, c.VCPUs, c.MemoryGB, c.Identity
	return nil
}

// computeEnv returns the shared environment of the session's compute
// instance, creating the instance on first use and rebuilding its
// environment when fresh (a reset) or broken. It holds the compute lock
// until release.
func (s *Sessions) computeEnv(ctx context.Context, rec *record, fresh bool, lg *logSink, rep workspace.Reporter) (envInfo, func(), error) {
	name := rec.Compute
	lk, err := s.st.Lock(ctx, store.Computes, name)
	if err != nil {
		return envInfo{}, nil, err
	}
	release := func() { _ = lk.Unlock() }
	// A damaged record is reported, as checkCompute does at the start (its
	// hint says to move the file away): it holds the instance's owner and
	// settings, which a new record would silently change.
	c, err := s.loadCompute(name)
	if err != nil {
		release()
		return envInfo{}, nil, err
	}
	now := s.now()
	if c == nil {
		c = &computeRecord{Name: name, Owner: rec.Spec.UserAlias, VMSize: rec.VMSize, VCPUs: rec.VCPUs,
			MemoryGB: rec.MemoryGB, Identity: rec.Identity, CreatedOn: now}
	} else if err := adoptCompute(c, rec); err != nil {
		release()
		return envInfo{}, nil, err
	}
	healthy := c.Status == workspace.SessionRunning && fileExists(c.Env.Python)
	if healthy && !fresh {
		return c.Env, release, nil
	}
	rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("Preparing compute instance %s", name)})
	c.Status, c.PID, c.StartedAt, c.Message = workspace.SessionStarting, os.Getpid(), now, ""
	err = store.EnsureDir(s.st.ComputeDir(name))
	if err == nil {
		err = s.saveCompute(c)
	}
	if err != nil {
		release()
		return envInfo{}, nil, err
	}
	failCompute := func(err error) (envInfo, func(), error) {
		c.Status, c.PID, c.Message = workspace.SessionFailed, 0, firstLine(err.Error())
		_ = s.saveCompute(c)
		release()
		return envInfo{}, nil, err
	}
	dir := filepath.Join(s.st.ComputeDir(name), "env")
	if err := s.st.Discard(dir); err != nil {
		return failCompute(err)
	}
	env, err := s.createEnv(ctx, dir, lg, rep)
	if err != nil {
		return failCompute(err)
	}
	c.Env = env
	// The sessions of other flows on this instance lost their packages with
	// the old environment: install theirs again. Their failures are theirs
	// to see in this log; they do not fail this session.
	others, _ := s.sessionsOn(name, rec.Spec.ID)
	for _, o := range others {
		if len(meaningful(o.Requirements)) == 0 {
			continue
		}
		o.Env = env
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("Reinstalling the requirements of session %s", o.Spec.ID)})
		if err := s.install(ctx, o, o.Requirements, lg, rep); err != nil {
			fmt.Fprintf(lg, "pfz: reinstalling the requirements of session %s failed: %v\n", o.Spec.ID, err)
		}
	}
	c.Status, c.PID = workspace.SessionRunning, 0
	if err := s.saveCompute(c); err != nil {
		return failCompute(err)
	}
	return env, release, nil
}

// sessionsOn lists the session records on a compute instance, except one.
func (s *Sessions) sessionsOn(compute, except string) ([]*record, error) {
	ids, err := s.st.List(store.Sessions)
	if err != nil {
		return nil, err
	}
	var out []*record
	for _, id := range ids {
		if id == except {
			continue
		}
		r, err := s.load(id)
		if err != nil || r.ComputeType != workspace.ComputeComputeInstance || r.Compute != compute {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// errComputeBusy says the compute lock was not free and wait was false.
var errComputeBusy = errors.New("the compute instance is busy")

// remove deletes a locked session; a compute instance left without
// sessions is released with it (local instances exist for their sessions).
// Without wait it gives up (errComputeBusy) rather than wait behind
// another process working on the compute instance.
func (s *Sessions) remove(ctx context.Context, rec *record, wait bool) error {
	id := rec.Spec.ID
	if rec.ComputeType != workspace.ComputeComputeInstance || rec.Compute == "" {
		return s.removeSessionDir(id)
	}
	var lk *store.Lock
	var err error
	if wait {
		lk, err = s.st.Lock(ctx, store.Computes, rec.Compute)
	} else {
		var ok bool
		lk, ok, err = s.st.TryLock(store.Computes, rec.Compute)
		if err == nil && !ok {
			err = errComputeBusy
		}
	}
	if err != nil {
		return err
	}
	defer lk.Unlock()
	if err := s.removeSessionDir(id); err != nil {
		return err
	}
	others, err := s.sessionsOn(rec.Compute, id)
	if err != nil || len(others) > 0 {
		return err
	}
	return s.st.Discard(s.st.ComputeDir(rec.Compute))
}

func fileExists(p string) bool {
	if p == "" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}
