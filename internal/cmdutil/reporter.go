package cmdutil

import (
	"io"

	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Reporter renders workspace progress events on stderr: a spinner and a
// progress bar on a terminal, one line per state change otherwise. Call Stop
// when the work ends.
type Reporter struct {
	p *iostreams.Progress
	// Logs, when set, receives log events (a run's log as it is written, or
	// an installer's output with --debug); otherwise they go to stderr.
	Logs io.Writer
	// DropLogs discards log events when Logs is nil: progress only.
	DropLogs  bool
	logged    bool
	submitted bool
}

var _ workspace.Reporter = (*Reporter)(nil)

// NewReporter returns a reporter on io's stderr.
func NewReporter(io *iostreams.IOStreams) *Reporter {
	return &Reporter{p: io.NewProgress()}
}

// Report shows one event.
func (r *Reporter) Report(e workspace.Event) {
	switch e.Kind {
	case workspace.EventStatus:
		r.p.Status(e.Message)
	case workspace.EventLines:
		r.p.Count("lines", e.Done, e.Failed, e.Total)
	case workspace.EventBytes:
		r.p.Count("bytes", e.Done, e.Failed, e.Total)
	case workspace.EventRunStatus:
		switch {
		case r.Logs == nil:
			r.p.Status(e.Message)
		case !e.InLog:
			// The streamed log is the one place a person follows: the
			// state goes there too, once.
			r.p.Print(r.Logs, e.Message)
		}
	case workspace.EventSubmitted:
		if !r.submitted {
			r.submitted = true
			r.p.Log("submitted run " + e.Message)
		}
	case workspace.EventWarning:
		r.p.Log("warning: " + e.Message)
	case workspace.EventLog:
		switch {
		case r.Logs != nil:
			r.p.Print(r.Logs, e.Message)
			r.logged = true
		case !r.DropLogs:
			r.p.Log(e.Message)
		}
	default:
		if e.Message != "" {
			r.p.Log(e.Message)
		}
	}
}

// Submitted reports whether "submitted run NAME" was printed.
func (r *Reporter) Submitted() bool { return r.submitted }

// Logged reports whether any log event went to Logs.
func (r *Reporter) Logged() bool { return r.logged }

// Stop clears the spinner or bar.
func (r *Reporter) Stop() { r.p.Stop() }
