// Package diag holds the diagnostic type every offline check in pfz reports:
// flow validation, run.yml loading, requirements and snapshot checks. It owns
// only the value and its formatting; it imports nothing from pfz.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic stops the work (Error) or only informs.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Diagnostic is one finding with the position it concerns. Line and Column are
// 1-based; 0 means unknown (a whole-file finding).
type Diagnostic struct {
	Severity Severity `json:"severity" yaml:"severity"`
	Code     string   `json:"code" yaml:"code"`
	File     string   `json:"file,omitempty" yaml:"file,omitempty"`
	Line     int      `json:"line,omitempty" yaml:"line,omitempty"`
	Column   int      `json:"column,omitempty" yaml:"column,omitempty"`
	Message  string   `json:"message" yaml:"message"`
	Hint     string   `json:"hint,omitempty" yaml:"hint,omitempty"`
}

// Position renders file:line:column, leaving out the parts that are unknown.
func (d Diagnostic) Position() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
		if d.Column > 0 {
			fmt.Fprintf(&b, ":%d", d.Column)
		}
	}
	return b.String()
}

// String is the one-line form used in error messages and logs.
func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s: %s [%s] %s", d.Position(), d.Severity, d.Code, d.Message)
	if d.Position() == "" {
		s = fmt.Sprintf("%s [%s] %s", d.Severity, d.Code, d.Message)
	}
	if d.Hint != "" {
		s += " (hint: " + d.Hint + ")"
	}
	return s
}

// List is an ordered collection of diagnostics.
type List []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the error diagnostics.
func (l List) Errors() List { return l.filter(Error) }

// Warnings returns only the warning diagnostics.
func (l List) Warnings() List { return l.filter(Warning) }

func (l List) filter(s Severity) List {
	var out List
	for _, d := range l {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by file, line, column, then code, so output is stable.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Code < b.Code
	})
}

// Err wraps a list that has errors as an error value; nil when it has none.
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return &ListError{List: l}
}

// ListError is the error value of a diagnostic list with at least one error.
type ListError struct{ List List }

func (e *ListError) Error() string {
	errs := e.List.Errors()
	lines := make([]string, 0, len(errs))
	for _, d := range errs {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n")
}
