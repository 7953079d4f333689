// Package flowsession turns a flow folder and the compute settings given on
// the command line into the session the flow binds to: the SessionSpec with
// its id (user alias, lineage id, environment hash), the flow's requirements
// file, and the checks that come before a start. The session and packages
// commands and `run create` share it. No cobra here.
package flowsession

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/requirements"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// DefaultIdleTime is how long a session started from the command line may
// stay unused (the studio's default for CLI sessions).
const DefaultIdleTime = time.Hour

// Settings are the compute settings of `session start` (advanced settings in
// the studio). The zero value is a serverless session with the default VM
// size, one hour of idle time and the user's identity.
type Settings struct {
	ComputeType string // serverless (default) or compute-instance
	VMSize      string
	IdleTime    time.Duration
	Identity    *workspace.Identity
	Compute     string // the compute instance (compute-instance only)
	// StrictVMSize makes a VM size missing from pfz's catalog an error, for
	// a target that sizes the session from the catalog (local); otherwise
	// it is a warning and the workspace has the final say.
	StrictVMSize bool
}

// Validate checks the combination, as the studio's form does: a compute
// instance session has the instance's VM size and identity.
func (s Settings) Validate() error {
	t := s
	t.Infer()
	switch t.ComputeType {
	case workspace.ComputeServerless:
		if s.Compute != "" {
			return fault.New(fault.Usage, "--compute names a compute instance, which needs --compute-type compute-instance").
				WithHint("add --compute-type compute-instance, or drop --compute for serverless compute")
		}
	case workspace.ComputeComputeInstance:
		if s.Compute == "" {
			return fault.New(fault.Usage, "--compute-type compute-instance needs --compute NAME").
				WithHint("name the compute instance the session runs on")
		}
		if err := session.CheckComputeInstance(s.VMSize != "", "--vm-size", s.Identity != nil, "--identity"); err != nil {
			return err
		}
	default:
		return fault.New(fault.Usage, "--compute-type must be serverless or compute-instance, got %q", s.ComputeType)
	}
	return nil
}

// Infer fills in the compute type left unset: compute-instance when a
// compute instance is named, else serverless (as run create infers it from
// resources.compute).
func (s *Settings) Infer() {
	if s.ComputeType != "" {
		return
	}
	s.ComputeType = workspace.ComputeServerless
	if s.Compute != "" {
		s.ComputeType = workspace.ComputeComputeInstance
	}
}

// Resolved is a flow with the session it binds to.
type Resolved struct {
	// RequirementsIncluded reports that RequirementsPath is outside the flow
	// folder, brought into the snapshot by additional_includes.
	RequirementsIncluded bool
	Flow                 *flow.Flow
	Spec                 workspace.SessionSpec
	// Requirements is the flow's requirements file; nil when it has none.
	Requirements *requirements.File
	// RequirementsPath is where the requirements file is, or would be
	// created: environment.python_requirements_txt, else requirements.txt in
	// the flow folder.
	RequirementsPath string
	// Declared reports whether flow.dag.yaml names the requirements file.
	Declared bool
	// Diagnostics are the warnings found on the way.
	Diagnostics diag.List
}

// Resolve loads the flow in dir and builds its session spec for the user
// alias and settings. Errors in the flow or its requirements stop it with a
// validation error that lists them.
func Resolve(ctx context.Context, dir, alias string, s Settings) (*Resolved, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = "."
	}
	f, ds, err := flow.Load(dir)
	if err != nil {
		return nil, err
	}
	if ds.HasErrors() {
		return nil, validationError(f.File, ds)
	}
	r := &Resolved{Flow: f, Diagnostics: ds.Warnings()}
	if err := r.loadRequirements(ctx); err != nil {
		return nil, err
	}
	spec := workspace.SessionSpec{
		FlowDir:     f.Dir,
		UserAlias:   alias,
		ComputeType: s.ComputeType,
		VMSize:      s.VMSize,
		IdleTime:    s.IdleTime,
		Identity:    workspace.Identity{Type: "user_identity"},
		ComputeName: s.Compute,
		Image:       f.Environment.Image,
	}
	if spec.ComputeType == "" {
		spec.ComputeType = workspace.ComputeServerless
	}
	if spec.IdleTime == 0 {
		spec.IdleTime = DefaultIdleTime
	}
	if s.Identity != nil {
		spec.Identity = *s.Identity
	}
	if r.Requirements != nil {
		spec.Requirements = r.Requirements.Lines()
		spec.RequirementsFile = r.RequirementsPath
	}
	if err := deriveIDs(ctx, r, &spec); err != nil {
		return nil, err
	}
	if spec.VMSize != "" {
		// The catalog holds common sizes only; the workspace has the final
		// say, so an unknown size is a warning with the nearest names.
		if err := checkVMSize(spec.VMSize); err != nil {
			if s.StrictVMSize {
				return nil, err
			}
			d := warning("session.vm-size", "--vm-size", err.Error())
			d.Hint = fault.HintOf(err)
			r.Diagnostics = append(r.Diagnostics, d)
		}
	}
	r.Spec = spec
	return r, nil
}

// loadRequirements finds and parses the requirements file, if there is one:
// in the flow folder or, as run create finds it, brought into the snapshot
// by additional_includes (the guide's shared requirements pattern).
func (r *Resolved) loadRequirements(ctx context.Context) error {
	f := r.Flow
	name := f.Environment.PythonRequirementsTxt
	r.Declared = name != ""
	if name == "" {
		name = "requirements.txt"
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.Dir, filepath.FromSlash(name))
	}
	r.RequirementsPath = path
	if _, err := os.Stat(path); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fault.Wrap(fault.Validation, err, "cannot read requirements file %s", path)
		}
		included := ""
		if !filepath.IsAbs(name) {
			included = includedFile(ctx, f, name)
		}
		switch {
		case included != "":
			r.RequirementsPath, r.RequirementsIncluded = included, true
			path = included
		case r.Declared:
			return fault.New(fault.Validation, "requirements file %s named in %s does not exist", path, f.File).
				WithHint("create it, bring it in with additional_includes, or fix environment.python_requirements_txt")
		default:
			return nil
		}
	}
	file, ds, err := requirements.Load(path)
	if err != nil {
		return err
	}
	ds = append(ds, file.Check()...)
	if ds.HasErrors() {
		return validationError(path, ds)
	}
	r.Requirements = file
	r.Diagnostics = append(r.Diagnostics, ds...)
	return nil
}

func validationError(file string, ds diag.List) error {
	n := len(ds.Errors())
	e := fault.Wrap(fault.Validation, ds.Err(), "%s has %d error(s)", file, n)
	if h := ds.Errors()[0].Hint; h != "" {
		e.Hint = h
	}
	return e
}

func warning(code, file, msg string) diag.Diagnostic {
	return diag.Diagnostic{Severity: diag.Warning, Code: code, File: file, Message: msg}
}

// includedFile returns the file that additional_includes bring into the
// flow's snapshot as name, or "" when none does (or the snapshot cannot be
// built: its own problems are reported by validate and run create).
func includedFile(ctx context.Context, f *flow.Flow, name string) string {
	if len(f.AdditionalIncludes) == 0 {
		return ""
	}
	snap, _, err := snapshot.Build(ctx, f, snapshot.Options{})
	if err != nil || snap == nil {
		return ""
	}
	want := filepath.ToSlash(filepath.Clean(filepath.FromSlash(name)))
	for _, file := range snap.Files {
		if file.Rel == want && file.Content == nil {
			return file.Abs
		}
	}
	return ""
}
