package run

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Lines reads lines.jsonl in line-number order. Opening it builds an index
// of (line number, offset, length) — a few dozen bytes a line — and reads
// each record only when asked, so a run of millions of lines can be shown,
// downloaded or evaluated without holding its data in memory. A line
// written twice counts once, by its last record. Safe for concurrent use.
type Lines struct {
	f   *os.File
	idx []entry
}

type entry struct {
	line int
	off  int64
	n    int
}

// OpenLines indexes dir/lines.jsonl; a missing file is an empty run.
func OpenLines(dir string) (*Lines, error) {
	p := filepath.Join(dir, LinesFile)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lines{}, nil
	}
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", p)
	}
	idx, err := indexFile(f)
	var ce *store.CorruptError
	if errors.As(err, &ce) {
		f.Close()
		return nil, &fault.Error{Kind: fault.Failed, Err: ce,
			Hint: "another program wrote this file: restore it from a download of the run, or move it away to show the run without lines"}
	}
	if err != nil {
		f.Close()
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", p)
	}
	return &Lines{f: f, idx: idx}, nil
}

// indexFile scans whole lines; a torn last line (no newline: its writer
// was killed) is left out, and blank lines are skipped. A whole line that is
// not a line record (no line number) means the file is not what pfz wrote:
// a *store.CorruptError naming the line, never a run that looks empty.
func indexFile(f *os.File) ([]entry, error) {
	br := bufio.NewReaderSize(f, 1<<20)
	var idx []entry
	var off int64
	var long []byte
	sorted := true
	physical := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if err == io.EOF {
			break // a torn tail, or nothing
		}
		if err != nil {
			return nil, err
		}
		physical++
		if n, ok := lineNumberOf(line); ok {
			if len(idx) > 0 && n < idx[len(idx)-1].line {
				sorted = false
			}
			idx = append(idx, entry{line: n, off: off, n: len(line)})
		} else if len(bytes.TrimSpace(line)) > 0 {
			return nil, &store.CorruptError{Path: f.Name(), Err: fmt.Errorf("line %d is not a line record (a JSON object with a line_number)", physical)}
		}
		off += int64(len(line))
	}
	if !sorted {
		sort.SliceStable(idx, func(i, j int) bool { return idx[i].line < idx[j].line })
	}
	// Keep the last record of a line written twice.
	out := idx[:0]
	for i, e := range idx {
		if i+1 < len(idx) && idx[i+1].line == e.line {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

var lineNumberPrefix = []byte(`{"line_number":`)

// lineNumberOf reads the line number of a record; records written by
// Writer start with it, others are decoded.
func lineNumberOf(b []byte) (int, bool) {
	if rest, ok := bytes.CutPrefix(b, lineNumberPrefix); ok {
		end := 0
		for end < len(rest) && (rest[end] >= '0' && rest[end] <= '9' || end == 0 && rest[end] == '-') {
			end++
		}
		if end < len(rest) && (rest[end] == ',' || rest[end] == '}') {
			if n, err := strconv.Atoi(string(rest[:end])); err == nil {
				return n, true
			}
		}
	}
	var v struct {
		LineNumber *int `json:"line_number"`
	}
	if json.Unmarshal(b, &v) != nil || v.LineNumber == nil {
		return 0, false
	}
	return *v.LineNumber, true
}

// Len is the number of lines recorded.
func (l *Lines) Len() int { return len(l.idx) }

// Numbers lists the recorded line numbers in order.
func (l *Lines) Numbers() []int {
	out := make([]int, len(l.idx))
	for i, e := range l.idx {
		out[i] = e.line
	}
	return out
}

// At reads the i-th line in line-number order.
func (l *Lines) At(i int) (*executor.LineResult, error) {
	e := l.idx[i]
	buf := make([]byte, e.n)
	if _, err := l.f.ReadAt(buf, e.off); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", l.f.Name())
	}
	var r executor.LineResult
	if err := decodeNumbers(buf, &r); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "line %d of %s is damaged", e.line, l.f.Name())
	}
	return &r, nil
}

// Get reads line n; ok is false when the run has no record of it.
func (l *Lines) Get(n int) (*executor.LineResult, bool, error) {
	i := sort.Search(len(l.idx), func(i int) bool { return l.idx[i].line >= n })
	if i == len(l.idx) || l.idx[i].line != n {
		return nil, false, nil
	}
	r, err := l.At(i)
	return r, err == nil, err
}

// CountKept counts the lines lines.jsonl keeps, completed and failed
// (anything not completed), as `run show` reports them.
func CountKept(dir string) (completed, failed int64, err error) {
	l, err := OpenLines(dir)
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	for i := 0; i < l.Len(); i++ {
		lr, err := l.At(i)
		if err != nil {
			return completed, failed, err
		}
		if lr.Status == executor.StatusCompleted {
			completed++
		} else {
			failed++
		}
	}
	return completed, failed, nil
}

// Close releases the file.
func (l *Lines) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	return l.f.Close()
}

// decodeNumbers decodes Python's JSON keeping numbers as json.Number (an int
// output prints back as it was written), NaN, Infinity and -Infinity as
// pyjson.NonFinite, and dicts in the order they were written (a parent
// run's outputs reach an evaluation run as the parent's nodes made them).
func decodeNumbers(b []byte, v any) error {
	return pyjson.UnmarshalOrdered(b, v)
}

// Detail turns a recorded line into the neutral row `run show-details` prints.
func Detail(r *executor.LineResult) workspace.LineDetail {
	d := workspace.LineDetail{LineNumber: r.LineNumber, Status: r.Status,
		Inputs: make(pyjson.Object, 0, len(r.Inputs)), Outputs: append(pyjson.Object{}, r.Outputs...)}
	for _, e := range r.Inputs {
		if e.Key != "line_number" {
			d.Inputs = append(d.Inputs, e)
		}
	}
	if r.Error != nil {
		d.Error = &workspace.RunError{Code: r.Error.Code, Message: r.Error.Message}
	}
	return d
}

// Details returns the first max lines (max <= 0: all) in line-number order.
func Details(dir string, max int) ([]workspace.LineDetail, error) {
	l, err := OpenLines(dir)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	n := l.Len()
	if max > 0 && max < n {
		n = max
	}
	out := make([]workspace.LineDetail, 0, n)
	for i := 0; i < n; i++ {
		r, err := l.At(i)
		if err != nil {
			return nil, err
		}
		out = append(out, Detail(r))
	}
	return out, nil
}

// ReadMetrics reads metrics.json in its order; none is an empty Object.
func ReadMetrics(dir string) (pyjson.Object, error) {
	p := filepath.Join(dir, MetricsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return pyjson.Object{}, nil
	}
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", p)
	}
	m := pyjson.Object{}
	if err := decodeNumbers(b, &m); err != nil {
		return nil, fault.Wrap(fault.Failed, &store.CorruptError{Path: p, Err: err}, "the metrics of the run are damaged").
			WithHint("move %s away to show the run without metrics", p)
	}
	return m, nil
}

// WriteMetrics writes metrics.json atomically, as Python's JSON (a NaN
// metric stays NaN), in m's order (promptflow's: as they were logged).
func WriteMetrics(dir string, m pyjson.Object) error {
	if m == nil {
		m = pyjson.Object{}
	}
	p := filepath.Join(dir, MetricsFile)
	b, err := pyjson.MarshalIndent(m, "  ")
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot encode %s", p)
	}
	return store.WriteFile(p, append(b, '\n'), 0o600)
}

// ReadLogs returns logs.txt up to its last whole line.
func ReadLogs(dir string) (string, error) {
	p := filepath.Join(dir, LogFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fault.Wrap(fault.Failed, err, "cannot read %s", p)
	}
	if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
		b = b[:i+1]
	}
	return string(b), nil
}

// Repair cuts the torn last line a killed writer left in each appended
// file, so every file holds whole records again. It returns the files it cut.
func Repair(dir string) ([]string, error) {
	var cut []string
	for _, name := range []string{LinesFile, NodeRunsFile, LogFile} {
		p := filepath.Join(dir, name)
		did, err := cutTornTail(p)
		if err != nil {
			return cut, err
		}
		if did {
			cut = append(cut, p)
		}
	}
	return cut, nil
}

func cutTornTail(p string) (bool, error) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fault.Wrap(fault.Failed, err, "cannot repair %s", p)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := st.Size()
	if size == 0 {
		return false, nil
	}
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	for end > 0 {
		start := max(0, end-chunk)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return false, fault.Wrap(fault.Failed, err, "cannot repair %s", p)
		}
		if end == size && b[len(b)-1] == '\n' {
			return false, nil
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return true, truncate(f, start+int64(i)+1)
		}
		end = start
	}
	return true, truncate(f, 0)
}

func truncate(f *os.File, n int64) error {
	if err := f.Truncate(n); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot repair %s", f.Name())
	}
	return f.Sync()
}
