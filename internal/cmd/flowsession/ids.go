package flowsession

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// deriveIDs sets the lineage id, environment hash and session id of spec,
// as pfazure derives them (protocol §3.6).
func deriveIDs(ctx context.Context, r *Resolved, spec *workspace.SessionSpec) error {
	lineage, err := session.LineageID(r.Flow.Dir, nil)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot derive the lineage id of %s", r.Flow.Dir)
	}
	env, warn := session.ResolveEnvironment(Environment(r), snapshotReader(ctx, r))
	if warn != nil {
		r.Diagnostics = append(r.Diagnostics, warning("session.environment", r.Flow.File, warn.Error()))
	}
	hash, err := session.EnvironmentHash(env)
	if err != nil {
		return fault.Wrap(fault.Validation, err, "cannot hash the environment of %s", r.Flow.File).
			WithHint("check the environment section of the flow")
	}
	spec.LineageID = lineage
	spec.EnvHash = hash
	spec.ID = session.ID(spec.UserAlias, lineage, hash)
	return nil
}

// Environment is the flow's environment section as pfazure hashes it: the
// YAML value, with python_requirements_txt added when the flow does not name
// a requirements file but requirements.txt exists (pfazure's
// _resolve_requirements runs before the hash).
func Environment(r *Resolved) any {
	raw, present := r.Flow.Raw["environment"]
	if !present {
		raw = map[string]any{}
	}
	if r.Declared || r.Requirements == nil {
		return raw
	}
	m, ok := raw.(map[string]any)
	if !ok {
		if raw != nil {
			return raw
		}
		m = map[string]any{}
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[session.RequirementsKey] = filepath.ToSlash(filepath.Base(r.RequirementsPath))
	return out
}

// snapshotReader reads a file of the flow's snapshot: the flow folder, then
// what additional_includes bring in.
func snapshotReader(ctx context.Context, r *Resolved) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(r.Flow.Dir, filepath.FromSlash(name)))
		if err == nil || !errors.Is(err, fs.ErrNotExist) || len(r.Flow.AdditionalIncludes) == 0 {
			return data, err
		}
		snap, _, serr := snapshot.Build(ctx, r.Flow, snapshot.Options{})
		if serr != nil || snap == nil {
			return nil, err
		}
		for _, f := range snap.Files {
			if f.Rel == filepath.ToSlash(filepath.Clean(name)) {
				if f.Content != nil {
					return f.Content, nil
				}
				return os.ReadFile(f.Abs)
			}
		}
		return nil, err
	}
}

// checkVMSize rejects VM sizes pfz does not know, naming the nearest ones.
func checkVMSize(name string) error {
	_, err := session.LookupVMSize(name)
	return err
}
