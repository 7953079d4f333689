package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
)

// SilentError carries an exit code for a failure the command has already
// reported (flow validate printed its diagnostics; a streamed run ended
// Failed). PrintError prints nothing for it.
type SilentError struct {
	Kind fault.Kind
	Err  error // for logs and tests; never printed
}

func (e *SilentError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "already reported"
}

func (e *SilentError) Unwrap() error { return e.Err }

// Silent returns a SilentError of the given kind.
func Silent(k fault.Kind, err error) error { return &SilentError{Kind: k, Err: err} }

// UsageErrorf returns a usage error (exit 2) with a hint to read the help of cmd.
func UsageErrorf(cmd *cobra.Command, format string, args ...any) *fault.Error {
	e := fault.New(fault.Usage, format, args...)
	if cmd != nil {
		e = e.WithHint("see `%s --help`", cmd.CommandPath())
	}
	return e
}

// ExitCode returns the process exit code for err (0 for nil).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var se *SilentError
	if errors.As(err, &se) {
		return se.Kind.ExitCode()
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Kind.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		return fault.Interrupted.ExitCode()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fault.Timeout.ExitCode()
	}
	var le *diag.ListError
	if errors.As(err, &le) {
		return fault.Validation.ExitCode()
	}
	return fault.Failed.ExitCode()
}

// PrintError writes err and its hint to stderr: "error: <message>" then
// "hint: <hint>". Diagnostic lists print one diagnostic per line.
func PrintError(io *iostreams.IOStreams, err error) {
	if err == nil {
		return
	}
	var se *SilentError
	if errors.As(err, &se) {
		return
	}
	cs := io.ColorScheme()
	var le *diag.ListError
	if errors.As(err, &le) && !hasFaultAbove(err) {
		for _, d := range le.List {
			fmt.Fprintln(io.ErrOut, FormatDiagnostic(cs, d))
		}
		return
	}
	msg := err.Error()
	if errors.Is(err, context.Canceled) && !hasFaultAbove(err) {
		msg = "interrupted"
	}
	fmt.Fprintf(io.ErrOut, "%s %s\n", cs.Red("error:"), indentRest(msg))
	if hint := fault.HintOf(err); hint != "" {
		fmt.Fprintf(io.ErrOut, "%s %s\n", cs.Cyan("hint:"), indentRest(hint))
	}
}

func hasFaultAbove(err error) bool {
	var fe *fault.Error
	return errors.As(err, &fe)
}

// indentRest indents continuation lines so multi-line messages stay readable.
func indentRest(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// FormatDiagnostic renders one diagnostic as a stderr line.
func FormatDiagnostic(cs iostreams.ColorScheme, d diag.Diagnostic) string {
	sev := string(d.Severity)
	switch d.Severity {
	case diag.Error:
		sev = cs.Red(sev)
	case diag.Warning:
		sev = cs.Yellow(sev)
	}
	var b strings.Builder
	if p := d.Position(); p != "" {
		b.WriteString(p + ": ")
	}
	fmt.Fprintf(&b, "%s [%s] %s", sev, d.Code, d.Message)
	if d.Hint != "" {
		fmt.Fprintf(&b, "\n  %s %s", cs.Cyan("hint:"), d.Hint)
	}
	return b.String()
}

// Warnf writes "warning: ..." to stderr.
func Warnf(io *iostreams.IOStreams, format string, args ...any) {
	if io == nil {
		return
	}
	fmt.Fprintf(io.ErrOut, "%s %s\n", io.ColorScheme().Yellow("warning:"), fmt.Sprintf(format, args...))
}

// Infof writes an informational line to stderr.
func Infof(io *iostreams.IOStreams, format string, args ...any) {
	fmt.Fprintf(io.ErrOut, format+"\n", args...)
}
