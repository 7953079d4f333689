package parity

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Corpus is testdata/parity/cases.yaml: the promptflow features the suite
// covers and the runs that exercise them.
type Corpus struct {
	Features []Feature `yaml:"features"`
	Cases    []Case    `yaml:"cases"`
}

// Feature is one row of the generated table.
type Feature struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Case is one run of one flow, made by both sides from the same run.yml.
type Case struct {
	Name     string   `yaml:"name"`
	Run      string   `yaml:"run"` // run.yml, relative to testdata/parity
	Features []string `yaml:"features"`
	// PFEnv are extra environment variables for promptflow only, where
	// promptflow needs a setting to run the case at all (the comment in
	// cases.yaml says why).
	PFEnv map[string]string `yaml:"pf_env"`
	// After names an earlier case whose run this case's run.yml refers to
	// (an evaluation run: `run: parity_<after>`); each side runs it after
	// its own run of that case has finished.
	After string `yaml:"after"`
}

// Known is one entry of known-differences.yaml: a divergence the suite
// accepts, and why.
type Known struct {
	Case    string   `yaml:"case"`
	Feature string   `yaml:"feature"`
	At      []string `yaml:"at"`     // divergence places, * matching any text
	Status  string   `yaml:"status"` // statusNotYet or statusOnPurpose
	Issue   int      `yaml:"issue"`  // the issue that will fix a "not yet"
	What    string   `yaml:"what"`   // what differs, precisely
	Why     string   `yaml:"why"`    // the reason (required for "on purpose")
	// Varies says the places differ from run to run (timing decides them):
	// the entry holds while any of them occurs, not each.
	Varies bool `yaml:"varies"`

	pats []*regexp.Regexp
}

const (
	statusSame      = "same"
	statusNotYet    = "not yet"
	statusOnPurpose = "differs on purpose"
)

// matches says whether the entry covers a divergence at the place.
func (k *Known) matches(at string) bool {
	for _, p := range k.pats {
		if p.MatchString(at) {
			return true
		}
	}
	return false
}

func globRegexp(glob string) (*regexp.Regexp, error) {
	parts := strings.Split(glob, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.Compile("^" + strings.Join(parts, ".*") + "$")
}

// loadCorpus reads and checks cases.yaml and known-differences.yaml under
// dir: every case's run.yml exists, every feature has a case, every known
// difference names a case and a feature of that case, says what differs and
// has a reason or an issue.
func loadCorpus(dir string) (*Corpus, []*Known, error) {
	var c Corpus
	if err := readYAML(filepath.Join(dir, "cases.yaml"), &c); err != nil {
		return nil, nil, err
	}
	var known []*Known
	if err := readYAML(filepath.Join(dir, "known-differences.yaml"), &known); err != nil {
		return nil, nil, err
	}
	var errs []string
	feats := map[string]bool{}
	for _, f := range c.Features {
		if f.ID == "" || f.Name == "" || feats[f.ID] {
			errs = append(errs, fmt.Sprintf("feature %q: needs a unique id and a name", f.ID))
		}
		feats[f.ID] = true
	}
	covered := map[string]bool{}
	cases := map[string]*Case{}
	for i := range c.Cases {
		cs := &c.Cases[i]
		if cs.Name == "" || cases[cs.Name] != nil || !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(cs.Name) {
			errs = append(errs, fmt.Sprintf("case %q: needs a unique name of a-z, 0-9 and _", cs.Name))
		}
		cases[cs.Name] = cs
		if _, err := os.Stat(filepath.Join(dir, cs.Run)); err != nil {
			errs = append(errs, fmt.Sprintf("case %s: %v", cs.Name, err))
		}
		if len(cs.Features) == 0 {
			errs = append(errs, fmt.Sprintf("case %s: names no feature", cs.Name))
		}
		if cs.After != "" && (cases[cs.After] == nil || cs.After == cs.Name) {
			errs = append(errs, fmt.Sprintf("case %s: after %q names no earlier case", cs.Name, cs.After))
		}
		for _, f := range cs.Features {
			if !feats[f] {
				errs = append(errs, fmt.Sprintf("case %s: unknown feature %q", cs.Name, f))
			}
			covered[f] = true
		}
	}
	for _, f := range c.Features {
		if !covered[f.ID] {
			errs = append(errs, fmt.Sprintf("feature %s: no case covers it", f.ID))
		}
	}
	for i, k := range known {
		where := fmt.Sprintf("known difference #%d (%s %v)", i+1, k.Case, k.At)
		cs := cases[k.Case]
		switch {
		case cs == nil:
			errs = append(errs, where+": unknown case")
		case !slices.Contains(cs.Features, k.Feature):
			errs = append(errs, fmt.Sprintf("%s: feature %q is not one of the case's %v", where, k.Feature, cs.Features))
		}
		if len(k.At) == 0 || strings.TrimSpace(k.What) == "" {
			errs = append(errs, where+": needs at and what")
		}
		switch k.Status {
		case statusNotYet:
			if k.Issue == 0 {
				errs = append(errs, where+`: a "not yet" names the issue that will fix it`)
			}
		case statusOnPurpose:
			if strings.TrimSpace(k.Why) == "" {
				errs = append(errs, where+`: a difference on purpose says why`)
			}
		default:
			errs = append(errs, fmt.Sprintf("%s: status %q is neither %q nor %q", where, k.Status, statusNotYet, statusOnPurpose))
		}
		for _, g := range k.At {
			re, err := globRegexp(g)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			k.pats = append(k.pats, re)
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("testdata/parity is inconsistent:\n  %s", strings.Join(errs, "\n  "))
	}
	return &c, known, nil
}

func readYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
