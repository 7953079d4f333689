package run

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Writer appends a running run's lines, node runs and log lines to its
// folder. Writes are buffered (a run may finish a thousand lines a second)
// and reach the files on Flush, which the owner calls a few times a second
// and at the end; every record is one whole line, so a reader never sees
// half of one except after a crash (see Repair). Safe for concurrent use.
type Writer struct {
	dir   string
	mu    sync.Mutex
	files []*appendFile
	lines *appendFile
	nodes *appendFile
	logs  *appendFile
	pid   int
	err   error
}

type appendFile struct {
	f *os.File
	w *bufio.Writer
}

func (af *appendFile) failed(err error) error {
	return fault.Wrap(fault.Failed, err, "cannot write %s", af.f.Name()).
		WithHint("check the free space of %s", filepath.Dir(af.f.Name()))
}

// NewWriter opens (creating or appending to) the appended files of dir.
func NewWriter(dir string) (*Writer, error) {
	w := &Writer{dir: dir, pid: os.Getpid()}
	for _, p := range []struct {
		name string
		dst  **appendFile
	}{{LinesFile, &w.lines}, {NodeRunsFile, &w.nodes}, {LogFile, &w.logs}} {
		f, err := os.OpenFile(filepath.Join(dir, p.name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			_ = w.Close() // closes what did open; the open error is the one to report
			return nil, fault.Wrap(fault.Failed, err, "cannot open %s", filepath.Join(dir, p.name)).
				WithHint("check the free space and permissions of %s", dir)
		}
		af := &appendFile{f: f, w: bufio.NewWriterSize(f, 256<<10)}
		*p.dst = af
		w.files = append(w.files, af)
	}
	return w, nil
}

// writeRecord marshals v onto one line. A value that cannot be encoded
// (a NaN output, say) is recorded by its error instead of being lost.
//
// The newline is written after the record rather than appended to it: for
// a huge line the append would copy the whole record once more.
func (w *Writer) writeRecord(af *appendFile, v any) error {
	b, err := pyjson.Marshal(v)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if _, err := af.w.Write(b); err != nil {
		w.err = af.failed(err)
	} else if err := af.w.WriteByte('\n'); err != nil {
		w.err = af.failed(err)
	}
	return w.err
}

// marshalLine writes a record as one line of Python's JSON: NaN and the
// infinities keep their spelling, as in promptflow's own records.
func marshalLine(v any) ([]byte, error) {
	b, err := pyjson.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Line appends one finished data line; its images are stored as files
// (see ImagesDir).
func (w *Writer) Line(r executor.LineResult) error {
	if err := keepImages(w.dir, &r.Inputs, &r.Outputs); err != nil {
		return err
	}
	err := w.writeRecord(w.lines, r)
	if isMarshalErr(err) {
		r.Outputs = nil
		r.Status = executor.StatusFailed
		r.Error = &executor.LineError{Code: executor.CodeExecution, Message: "the line's outputs cannot be stored as JSON: " + err.Error()}
		return w.writeRecord(w.lines, r)
	}
	return err
}

// NodeRun appends one node run; its images are stored as files.
func (w *Writer) NodeRun(r executor.NodeRunRecord) error {
	if err := keepImages(w.dir, &r.Inputs); err != nil {
		return err
	}
	out, err := storeImages(w.dir, r.Output)
	if err != nil {
		return err
	}
	r.Output = out
	err = w.writeRecord(w.nodes, r)
	if isMarshalErr(err) {
		r.Output = fmt.Sprintf("<not JSON: %v>", err)
		r.Inputs = nil
		return w.writeRecord(w.nodes, r)
	}
	return err
}

// keepImages stores the images in each of vals as files under dir.
func keepImages[T map[string]any | pyjson.Object](dir string, vals ...*T) error {
	for _, m := range vals {
		if *m == nil {
			continue
		}
		v, err := storeImages(dir, *m)
		if err != nil {
			return err
		}
		*m = v.(T)
	}
	return nil
}

func isMarshalErr(err error) bool {
	var ue *json.UnsupportedValueError
	var ut *json.UnsupportedTypeError
	var me *json.MarshalerError
	return errors.As(err, &ue) || errors.As(err, &ut) || errors.As(err, &me)
}

// LogLine formats one log line as logs.txt holds it:
//
//	2024-02-07 16:56:21 +0000   3344 <source> <LEVEL> <message>
func LogLine(t time.Time, pid int, source, level, msg string) string {
	if source == "" {
		source = "execution"
	}
	return fmt.Sprintf("%s %6d %-18s %-7s %s\n", t.Format("2006-01-02 15:04:05 -0700"), pid, source, level, msg)
}

// Log appends one log line; a message of several lines becomes several.
func (w *Writer) Log(t time.Time, source, level, msg string) error {
	msg = strings.TrimRight(msg, "\r\n")
	var sb strings.Builder
	for _, l := range strings.Split(msg, "\n") {
		sb.WriteString(LogLine(t, w.pid, source, level, strings.TrimRight(l, "\r")))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if _, err := w.logs.w.WriteString(sb.String()); err != nil {
		w.err = w.logs.failed(err)
	}
	return w.err
}

// Flush writes what is buffered to the files.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, af := range w.files {
		if err := af.w.Flush(); err != nil && w.err == nil {
			w.err = af.failed(err)
		}
	}
	return w.err
}

// Close flushes, syncs and closes the files.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, af := range w.files {
		if af == nil {
			continue
		}
		if serr := af.f.Sync(); serr != nil && err == nil {
			err = fault.Wrap(fault.Failed, serr, "cannot write %s", af.f.Name())
		}
		if cerr := af.f.Close(); cerr != nil && err == nil {
			err = fault.Wrap(fault.Failed, cerr, "cannot write %s", af.f.Name())
		}
	}
	w.files = nil
	return err
}
