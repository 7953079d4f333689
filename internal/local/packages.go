package local

import (
	"context"
	"os"
	"regexp"
	"sort"
	"strings"

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

// Install installs the requirement lines (the whole requirements file after
// the command edited it) into the session, and records them.
func (s *Sessions) Install(ctx context.Context, id string, requirements []string, opts workspace.StartOptions) (*workspace.Session, error) {
	s.repair(ctx)
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	rec, lk, err := s.lockAndLoad(ctx, id)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	if err := requireRunning(rec); err != nil {
		return nil, err
	}
	lg, err := s.openLog(rec, "install", opts)
	if err != nil {
		return nil, err
	}
	defer lg.Close()
	rep := reporterOf(opts)
	// A serverless session installs into the environment it has; a
	// compute-instance one into the shared environment, under its lock.
	release := func() {}
	if rec.ComputeType == workspace.ComputeComputeInstance {
		env, rel, err := s.prepareEnv(ctx, rec, false, lg, rep)
		if err != nil {
			return nil, err
		}
		release, rec.Env = rel, env
	}
	defer release()
	rec.InstallPID = os.Getpid()
	if err := s.save(rec); err != nil {
		return nil, err
	}
	err = s.install(ctx, rec, requirements, lg, rep)
	rec.InstallPID = 0
	if err != nil {
		rec.Message = "the last package install failed: " + firstLine(errText(err)) + " (log: " + lg.path + ")"
		_ = s.save(rec)
		return nil, err
	}
	rec.Requirements = meaningful(requirements)
	rec.Spec.Requirements = requirements
	rec.Message = ""
	rec.LastUsed = s.now()
	if err := s.save(rec); err != nil {
		return nil, err
	}
	_ = s.touch(id)
	return rec.toSession(), nil
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
