// Package fault holds pfz's error value: a kind that decides the exit code, a
// message, and a hint the user can act on. Every layer may return one; only
// internal/app prints them. It imports nothing from pfz.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the exit code (see `pfz help exit-codes`).
type Kind int

const (
	Failed      Kind = iota // 1: the operation failed
	Usage                   // 2: bad flags or arguments
	Validation              // 2: bad input files (flow, run.yml, requirements)
	Auth                    // 4: authentication or authorization
	Timeout                 // 8: --timeout passed while the work still runs
	Interrupted             // 130: Ctrl-C
	NotFound                // 1: the named thing does not exist
	Unsupported             // 1: not available on this target (yet)
)

// ExitCode maps a kind to the process exit code.
func (k Kind) ExitCode() int {
	switch k {
	case Usage, Validation:
		return 2
	case Auth:
		return 4
	case Timeout:
		return 8
	case Interrupted:
		return 130
	default:
		return 1
	}
}

// Error is an error with a kind and an optional hint.
type Error struct {
	Kind Kind
	Msg  string
	Hint string
	Err  error // the cause, if any; its text is not repeated when Msg is set
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	}
	return "unknown error"
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of the given kind around err.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// WithHint sets the hint and returns the error.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// KindOf returns the kind of the first *Error in err's chain, Failed otherwise.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return Failed
}

// HintOf returns the first non-empty hint in err's chain.
func HintOf(err error) string {
	for err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			return ""
		}
		if fe.Hint != "" {
			return fe.Hint
		}
		err = fe.Err
	}
	return ""
}

// Is reports whether err has the given kind.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
