package iostreams

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/briandowns/spinner"
	"github.com/schollz/progressbar/v3"
)

// Progress shows the state of long work on stderr. On a terminal a status is
// a spinner label and counts are a progress bar; off a terminal each change
// of status is one line, and counts are printed at every tenth of the total.
// Its methods are safe for concurrent use.
type Progress struct {
	io *IOStreams

	mu         sync.Mutex
	spin       *spinner.Spinner
	bar        *progressbar.ProgressBar
	barUnit    string
	barTotal   int64
	status     string
	lastDecile map[string]int64
}

// NewProgress returns a progress display on these streams' stderr.
func (s *IOStreams) NewProgress() *Progress {
	return &Progress{io: s, lastDecile: map[string]int64{}}
}

// animated reports whether a spinner can really be drawn: stderr must be a
// terminal file (buffers in tests fall back to lines).
func (p *Progress) animated() bool { return p.io.CanAnimate() && p.io.errFile != nil }

// Status shows a new state. Repeating the current state prints nothing.
func (p *Progress) Status(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if msg == p.status {
		return
	}
	p.status = msg
	if !p.animated() {
		fmt.Fprintln(p.io.ErrOut, msg)
		return
	}
	p.finishBarLocked()
	if p.spin == nil {
		p.spin = spinner.New(spinner.CharSets[14], 120*time.Millisecond, spinner.WithWriterFile(p.io.errFile))
		p.spin.Suffix = " " + msg
		p.spin.Start()
		return
	}
	p.spin.Lock()
	p.spin.Suffix = " " + msg
	p.spin.Unlock()
}

// Count shows done (and failed) of total units ("lines" or "bytes"); total 0
// means unknown.
func (p *Progress) Count(unit string, done, failed, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.io.CanAnimate() {
		p.countLineLocked(unit, done, failed, total)
		return
	}
	if p.spin != nil {
		p.spin.Stop()
		p.spin = nil
	}
	if p.bar == nil || p.barUnit != unit || (total > 0 && total != p.barTotal) {
		p.finishBarLocked()
		max := total
		if max <= 0 {
			max = -1 // progressbar's "unknown total" spinner mode
		}
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.io.ErrOut),
			progressbar.OptionSetDescription(p.status),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
		}
		if showRate(unit, total) {
			opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit))
		}
		if unit == "bytes" {
			opts = append(opts, progressbar.OptionShowBytes(true))
		}
		p.bar = progressbar.NewOptions64(max, opts...)
		p.barUnit, p.barTotal = unit, total
	}
	if failed > 0 {
		p.bar.Describe(fmt.Sprintf("%s (%d failed)", p.status, failed))
	}
	_ = p.bar.Set64(done)
}

// minRateLines is the smallest line count whose rate the bar shows: a rate
// over a handful of lines (75307 lines/s for 5) says nothing.
const minRateLines = 1000

// showRate reports whether a rate means something for the work: bytes
// uploaded always do, lines only when there are many (or an unknown number).
func showRate(unit string, total int64) bool {
	return unit == "bytes" || total <= 0 || total >= minRateLines
}

// countLineLocked prints a count line when the done share crosses a tenth, or
// when the total is unknown and the work ends.
func (p *Progress) countLineLocked(unit string, done, failed, total int64) {
	if total <= 0 {
		return
	}
	decile := done * 10 / total
	if last, ok := p.lastDecile[unit]; ok && last == decile {
		return
	}
	p.lastDecile[unit] = decile
	line := fmt.Sprintf("%s: %d/%d", unit, done, total)
	if unit == "bytes" {
		line = fmt.Sprintf("uploaded %s of %s", humanBytes(done), humanBytes(total))
	}
	if failed > 0 {
		line += fmt.Sprintf(" (%d failed)", failed)
	}
	fmt.Fprintln(p.io.ErrOut, line)
}

// Log prints a line of text on stderr without disturbing the spinner or bar.
func (p *Progress) Log(line string) { p.Print(p.io.ErrOut, line) }

// Print writes a line to w (stdout for a streamed log) without disturbing
// the spinner or bar on stderr.
func (p *Progress) Print(w io.Writer, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.spin != nil {
		p.spin.Stop()
		fmt.Fprintln(w, line)
		p.spin.Start()
		return
	}
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(w, line)
}

// Stop removes the spinner and bar.
func (p *Progress) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.spin != nil {
		p.spin.Stop()
		p.spin = nil
	}
	p.finishBarLocked()
}

func (p *Progress) finishBarLocked() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
