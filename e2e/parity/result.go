package parity

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Result is what one side made of one case.
type Result struct {
	// Outcome is outcomeCompleted, outcomeFailed (the run ended Failed) or
	// outcomeRefused (no run, or a run that failed before any line).
	Outcome string
	Detail  string // why it was refused or failed, for messages
	Lines   map[int]*Line
	// Metrics in the order the side wrote them (promptflow: as logged).
	Metrics *Object
}

// Line is one data line's record. Inputs and outputs keep the order the
// side recorded them in: it is compared, as inside every dict.
type Line struct {
	Status  string
	Inputs  *Object
	Outputs *Object
}

const (
	outcomeCompleted = "Completed"
	outcomeFailed    = "Failed"
	outcomeRefused   = "refused"
)

// describe says what the result is in a few words, for the run divergence.
func (r *Result) describe() string {
	s := r.Outcome
	if r.Outcome != outcomeRefused {
		counts := map[string]int{}
		for _, l := range r.Lines {
			counts[l.Status]++
		}
		var parts []string
		for _, k := range sortedKeys(toAny(counts)) {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
		s += " (" + strings.Join(parts, ", ") + " lines)"
	}
	if r.Detail != "" {
		s += ": " + firstLine(r.Detail)
	}
	return s
}

func toAny(m map[string]int) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// Divergence is one place where the two sides differ.
type Divergence struct {
	At      string // "run", "line 3", "line 3: status", "line 3: outputs.x[1]", "metrics.acc"
	PF, PFZ string
}

func (d Divergence) String() string {
	return fmt.Sprintf("%s: promptflow %s | pfz %s", d.At, d.PF, d.PFZ)
}

// compare lists every divergence between promptflow's result and pfz's.
func compare(pf, pfz *Result) []Divergence {
	if pf.Outcome == outcomeRefused && pfz.Outcome == outcomeRefused {
		return nil // both refuse: the same, whatever the words
	}
	var out []Divergence
	if pf.Outcome != pfz.Outcome {
		out = append(out, Divergence{At: "run", PF: pf.describe(), PFZ: pfz.describe()})
		if pf.Outcome == outcomeRefused || pfz.Outcome == outcomeRefused {
			return out // no lines on one side: nothing else to compare
		}
	}
	return append(out, compareRuns(pf, pfz)...)
}

func compareRuns(pf, pfz *Result) []Divergence {
	var out []Divergence
	nums := map[int]bool{}
	for n := range pf.Lines {
		nums[n] = true
	}
	for n := range pfz.Lines {
		nums[n] = true
	}
	order := make([]int, 0, len(nums))
	for n := range nums {
		order = append(order, n)
	}
	sort.Ints(order)
	for _, n := range order {
		a, b := pf.Lines[n], pfz.Lines[n]
		at := fmt.Sprintf("line %d", n)
		switch {
		case a == nil:
			out = append(out, Divergence{at, "(no line)", b.Status})
			continue
		case b == nil:
			out = append(out, Divergence{at, a.Status, "(no line)"})
			continue
		}
		if a.Status != b.Status {
			out = append(out, Divergence{at + ": status", a.Status, b.Status})
		}
		var vd []valueDiff
		if (a.Inputs == nil) != (b.Inputs == nil) {
			// One side recorded no inputs at all for the line.
			vd = append(vd, valueDiff{"inputs", showInputs(a.Inputs), showInputs(b.Inputs)})
		} else {
			diffValues("inputs", a.Inputs, b.Inputs, &vd)
		}
		if a.Status == "Completed" && b.Status == "Completed" {
			diffValues("outputs", orEmpty(a.Outputs), orEmpty(b.Outputs), &vd)
		}
		for _, d := range vd {
			out = append(out, Divergence{at + ": " + d.path, d.a, d.b})
		}
	}
	var vd []valueDiff
	diffValues("metrics", orEmpty(pf.Metrics), orEmpty(pfz.Metrics), &vd)
	for _, d := range vd {
		out = append(out, Divergence{d.path, d.a, d.b})
	}
	return out
}

// resolveImages replaces every image reference ({"data:image/png;path": p}
// or {"data:image/png;base64": b}) in v by {"image": "image/png sha256:..."},
// reading a relative path from the first of bases where it exists: the two
// sides keep images in different files, so their content is what is compared.
// Objects keep their key order.
func resolveImages(v any, bases ...string) any {
	switch x := v.(type) {
	case *Object:
		if len(x.Keys) == 1 {
			if img, ok := resolveImage(x.Keys[0], x.Vals[x.Keys[0]], bases); ok {
				return img
			}
		}
		out := newObject()
		for _, k := range x.Keys {
			out.Set(k, resolveImages(x.Vals[k], bases...))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveImages(e, bases...)
		}
		return out
	}
	return v
}

// resolveImage is the {"image": ...} object of one image reference, ok false
// for a member that is no image reference.
func resolveImage(k string, val any, bases []string) (_ *Object, ok bool) {
	s, isStr := val.(string)
	if !isStr || !strings.HasPrefix(k, "data:image/") {
		return nil, false
	}
	mime, kind, _ := strings.Cut(strings.TrimPrefix(k, "data:"), ";")
	var data []byte
	var err error
	switch kind {
	case "path":
		data, err = readFrom(s, bases)
	case "base64":
		data, err = base64.StdEncoding.DecodeString(s)
	default:
		return nil, false
	}
	img := newObject()
	if err != nil {
		img.Set("image", mime+" unreadable: "+err.Error())
		return img, true
	}
	sum := sha256.Sum256(data)
	img.Set("image", mime+" sha256:"+hex.EncodeToString(sum[:8]))
	return img, true
}

func readFrom(p string, bases []string) ([]byte, error) {
	if filepath.IsAbs(p) {
		return os.ReadFile(p)
	}
	var err error
	for _, b := range bases {
		var data []byte
		if data, err = os.ReadFile(filepath.Join(b, p)); err == nil {
			return data, nil
		}
	}
	return nil, fmt.Errorf("%s not found under %v: %w", p, bases, err)
}

func showInputs(m *Object) string {
	if m == nil {
		return "(none recorded)"
	}
	return show(m)
}

// orEmpty is o, or an empty object for none: what a side did not record
// compares as an object without members.
func orEmpty(o *Object) *Object {
	if o == nil {
		return newObject()
	}
	return o
}
