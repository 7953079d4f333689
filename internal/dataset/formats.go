package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pfz-cli/pfz/internal/ctxio"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ---- jsonl

type jsonlReader struct {
	path string
	f    *os.File
	br   *bufio.Reader
	line int    // physical line, 1-based, for error messages
	buf  []byte // the current line, reused
}

func openJSONL(ctx context.Context, path string) (*jsonlReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &jsonlReader{path: path, f: f, br: bufio.NewReaderSize(ctxio.Reader(ctx, f), 64<<10)}, nil
}

// ErrLineTooLong is ReadLine's error for a line over MaxLineSize.
var ErrLineTooLong = errors.New("line too long")

// ReadLine reads one physical line (with its newline) from br into buf[:0]
// and returns it, refusing with ErrLineTooLong a line longer than
// MaxLineSize before reading past the limit.
func ReadLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineSize {
			return nil, ErrLineTooLong
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, err
	}
}

func (r *jsonlReader) readLine() ([]byte, error) {
	b, err := ReadLine(r.br, r.buf)
	if errors.Is(err, ErrLineTooLong) {
		return nil, TooLong(r.path, r.line+1)
	}
	r.buf = b
	return b, err
}

func (r *jsonlReader) next() (map[string]any, error) {
	for {
		b, err := r.readLine()
		if fault.Is(err, fault.Validation) {
			return nil, err
		}
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, err
		}
		r.line++
		if r.line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			if err == io.EOF {
				return nil, io.EOF
			}
			continue
		}
		row, derr := decodeObject(b)
		if derr != nil {
			return nil, lineErr(r.path, r.line, derr)
		}
		return row, nil
	}
}

func (r *jsonlReader) Close() error { return r.f.Close() }

// decodeObject reads one object of Python's JSON (NaN and the infinities
// included, as pandas reads them).
func decodeObject(b []byte) (map[string]any, error) {
	v, err := pyjson.Decode(b)
	if err != nil {
		return nil, err
	}
	m, ok := pyjson.AsMap(v) // a row: its nested dicts keep their order
	if !ok {
		return nil, fmt.Errorf("expected a JSON object, got %s", jsonKind(v))
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, pyjson.NonFinite:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// ---- json: an array of objects, or one object. The document is read whole
// (Python's JSON, NaN included, has no streaming decoder here); data sets
// large enough to matter are jsonl.

type jsonReader struct {
	rows []map[string]any
}

func openJSON(ctx context.Context, path string) (*jsonReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(ctxio.Reader(ctx, f))
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	if len(bytes.TrimSpace(b)) == 0 {
		return &jsonReader{}, nil // an empty file has no rows
	}
	v, err := pyjson.Decode(b)
	if err != nil {
		return nil, fmtErr(path, "not valid JSON: %v", err)
	}
	if m, ok := pyjson.AsMap(v); ok {
		return &jsonReader{rows: []map[string]any{m}}, nil
	}
	switch x := v.(type) {
	case []any:
		r := &jsonReader{rows: make([]map[string]any, len(x))}
		for i, e := range x {
			m, ok := pyjson.AsMap(e)
			if !ok {
				return nil, fmtErr(path, "array elements must be objects, got %s", jsonKind(e))
			}
			r.rows[i] = m
		}
		return r, nil
	}
	return nil, fmtErr(path, "expected a JSON array of objects or one object, got %s", jsonKind(v))
}

func (r *jsonReader) next() (map[string]any, error) {
	if len(r.rows) == 0 {
		return nil, io.EOF
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	return row, nil
}

func (r *jsonReader) Close() error { return nil }

// ---- csv / tsv

// Every cell is read as its text, an empty cell as "", as promptflow reads
// them (pandas with dtype=object and keep_default_na=False): the flow
// input's type decides what the text becomes, so 007 stays "007" for a
// string input and is 7 for an int one.

type delimitedReader struct {
	path   string
	f      *os.File
	cr     *csv.Reader
	header []string
}

func newCSV(r io.Reader, comma rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return cr
}

func openDelimited(ctx context.Context, path string, comma rune) (*delimitedReader, error) {
	// First pass: find a quoted field that is never closed, with constant
	// memory, before any row is used.
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	quotes := &quoteScan{comma: byte(comma), line: 1}
	br := bufio.NewReaderSize(io.TeeReader(ctxio.Reader(ctx, f), quotes), 64<<10)
	skipBOM(br)
	cr := newCSV(br, comma)
	header, err := cr.Read()
	if err == io.EOF {
		f.Close()
		return &delimitedReader{path: path}, nil
	}
	if err != nil {
		f.Close()
		return nil, fmtErr(path, "not valid %s: %v", delimName(comma), err)
	}
	header = ColumnNames(header)
	for n := 0; ; n++ {
		_, err := cr.Read()
		if err == io.EOF {
			if quotes.open() {
				f.Close()
				return nil, fault.New(fault.Validation, "%s: line %d: a quoted field starts here and is never closed: the rest of the file would be one value", path, quotes.quoteLine).
					WithHint("close the quote (a \" inside a quoted field is written \"\"), as pandas.read_csv requires")
			}
			break
		}
		if err != nil {
			f.Close()
			return nil, fmtErr(path, "not valid %s: %v", delimName(comma), err)
		}
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	br = bufio.NewReaderSize(ctxio.Reader(ctx, f), 64<<10)
	skipBOM(br)
	cr = newCSV(br, comma)
	if _, err := cr.Read(); err != nil { // header again
		f.Close()
		return nil, fmtErr(path, "not valid %s: %v", delimName(comma), err)
	}
	return &delimitedReader{path: path, f: f, cr: cr, header: header}, nil
}

// delimitedHeader reads only the column names of a CSV or TSV file.
func delimitedHeader(ctx context.Context, path string, comma rune) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(ctxio.Reader(ctx, f), 64<<10)
	skipBOM(br)
	header, err := newCSV(br, comma).Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmtErr(path, "not valid %s: %v", delimName(comma), err)
	}
	return ColumnNames(header), nil
}

// quoteScan follows the quoting of the raw bytes of a delimited file the
// way encoding/csv reads them with LazyQuotes, to find a quoted field that
// is never closed (LazyQuotes would silently make the rest of the file one
// value; pandas refuses the file).
type quoteScan struct {
	comma     byte
	line      int // current physical line, 1-based
	quoteLine int // where the open quoted field started
	inQuoted  bool
	pending   bool // saw '"' inside a quoted field; the next byte decides
	started   bool // the current field has a byte already
}

func (q *quoteScan) Write(p []byte) (int, error) {
	for _, c := range p {
		if q.inQuoted {
			if q.pending {
				q.pending = false
				switch c {
				case '"':
					continue // an escaped quote
				case q.comma, '\n', '\r':
					q.inQuoted = false // the field ended; c is read below
				default:
					continue // a lazy literal quote
				}
			} else {
				switch c {
				case '"':
					q.pending = true
				case '\n':
					q.line++
				}
				continue
			}
		}
		switch c {
		case '\n':
			q.line++
			q.started = false
		case q.comma:
			q.started = false
		case '"':
			if !q.started {
				q.inQuoted, q.quoteLine = true, q.line
			}
			q.started = true
		default:
			q.started = true
		}
	}
	return len(p), nil
}

// open reports whether the input ended inside a quoted field.
func (q *quoteScan) open() bool { return q.inQuoted && !q.pending }

func delimName(comma rune) string {
	if comma == '\t' {
		return "TSV"
	}
	return "CSV"
}

func skipBOM(br *bufio.Reader) {
	if p, _ := br.Peek(3); bytes.Equal(p, utf8BOM) {
		_, _ = br.Discard(3)
	}
}

// ColumnNames names empty headers "Unnamed: i" and suffixes duplicates ".1",
// ".2", … as pandas.read_csv does, so mappings written against pandas keep
// working. runspec's column check uses it too.
func ColumnNames(h []string) []string {
	out := make([]string, len(h))
	seen := map[string]int{}
	for i, name := range h {
		if strings.TrimSpace(name) == "" {
			name = fmt.Sprintf("Unnamed: %d", i)
		}
		if n, ok := seen[name]; ok {
			seen[name] = n + 1
			name = fmt.Sprintf("%s.%d", name, n+1)
		} else {
			seen[name] = 0
		}
		out[i] = name
	}
	return out
}

func (r *delimitedReader) next() (map[string]any, error) {
	if r.cr == nil {
		return nil, io.EOF
	}
	for {
		rec, err := r.cr.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmtErr(r.path, "not valid: %v", err)
		}
		if len(rec) == 1 && rec[0] == "" && len(r.header) > 1 {
			continue // a blank line
		}
		row := make(map[string]any, len(r.header))
		for i, name := range r.header {
			var cell string
			if i < len(rec) {
				cell = strings.Clone(rec[i]) // ReuseRecord shares the backing array
			}
			row[name] = cell
		}
		return row, nil
	}
}

func (r *delimitedReader) Close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}
