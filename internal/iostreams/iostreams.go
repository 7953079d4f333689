// Package iostreams owns pfz's standard streams and what the terminal can do:
// whether stdout/stderr are terminals, whether colour is wanted (NO_COLOR,
// TERM=dumb, CI), and the spinner and progress bar that appear on stderr only
// on a terminal.
//
// Stream contract: stdout carries data only (the table or the one JSON/YAML
// document); progress, warnings and hints go to stderr. Off a terminal nothing
// animates: state changes are printed as one line each.
//
// It is the only package that asks whether a file is a terminal; it must not
// import cobra, viper or any backend.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
)

// IOStreams is the set of streams a command writes to, with what they support.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// errFile is stderr as a file when it is one; the spinner needs it to
	// decide whether to animate.
	errFile *os.File

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	color     bool
	ci        bool
}

// System returns the process's streams. getenv reads the environment (the
// caller passes it in so this package never reads the process environment
// itself).
func System(getenv func(string) string) *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		errFile:   os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
	s.applyEnv(getenv)
	return s
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// applyEnv sets colour and CI mode from the environment. Colour needs a
// terminal on stderr or stdout and is off with NO_COLOR (any value) or
// TERM=dumb.
func (s *IOStreams) applyEnv(getenv func(string) string) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	s.ci = isTruthy(getenv("CI"))
	_, noColor := lookup(getenv, "NO_COLOR")
	s.color = (s.stdoutTTY || s.stderrTTY) && !noColor && getenv("TERM") != "dumb"
}

// lookup reports whether a variable is set to a non-empty value.
func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func isTruthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// Test returns streams backed by buffers: stdin, stdout and stderr. None is a
// terminal until SetStdoutTTY/SetStderrTTY say so.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetStdoutTTY forces whether stdout counts as a terminal (tests).
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY forces whether stderr counts as a terminal (tests).
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetStdinTTY forces whether stdin counts as a terminal (tests).
func (s *IOStreams) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetColorEnabled forces colour on or off.
func (s *IOStreams) SetColorEnabled(v bool) { s.color = v }

// SetCI forces CI mode.
func (s *IOStreams) SetCI(v bool) { s.ci = v }

// ApplyEnv re-reads NO_COLOR, TERM and CI from getenv.
func (s *IOStreams) ApplyEnv(getenv func(string) string) { s.applyEnv(getenv) }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// IsStdinTTY reports whether stdin is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// ColorEnabled reports whether output may use ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// IsCI reports whether CI is set.
func (s *IOStreams) IsCI() bool { return s.ci }

// CanAnimate reports whether spinners and progress bars may be drawn: stderr
// is a terminal and this is not CI.
func (s *IOStreams) CanAnimate() bool { return s.stderrTTY && !s.ci }

// CanPrompt reports whether pfz may ask the user a question.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY && !s.ci }
