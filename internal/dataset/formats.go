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
	"strconv"
	"strings"

	"github.com/pfz-cli/pfz/internal/ctxio"
	"github.com/pfz-cli/pfz/internal/fault"
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

func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	m, ok := v.(map[string]any)
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
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// ---- json: an array of objects streamed element by element, or one object.

type jsonReader struct {
	path   string
	f      *os.File
	dec    *json.Decoder
	single bool // the document is one object, already returned or not
	done   bool
}

func openJSON(ctx context.Context, path string) (*jsonReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(ctxio.Reader(ctx, f), 64<<10)
	if p, _ := br.Peek(3); bytes.Equal(p, utf8BOM) {
		_, _ = br.Discard(3)
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	r := &jsonReader{path: path, f: f, dec: dec}
	tok, err := dec.Token()
	if err == io.EOF {
		r.done = true // an empty file has no rows
		return r, nil
	}
	if err != nil {
		f.Close()
		return nil, fmtErr(path, "not valid JSON: %v", err)
	}
	switch tok {
	case json.Delim('['):
	case json.Delim('{'):
		r.single = true
	default:
		f.Close()
		return nil, fmtErr(path, "expected a JSON array of objects or one object, got %v", tok)
	}
	return r, nil
}

func (r *jsonReader) next() (map[string]any, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.single {
		r.done = true
		row, err := r.restOfObject()
		if err != nil {
			return nil, fmtErr(r.path, "not valid JSON: %v", err)
		}
		return row, nil
	}
	if !r.dec.More() {
		r.done = true
		if _, err := r.dec.Token(); err != nil { // the closing ]
			return nil, fmtErr(r.path, "not valid JSON: %v", err)
		}
		return nil, io.EOF
	}
	var v any
	if err := r.dec.Decode(&v); err != nil {
		return nil, fmtErr(r.path, "not valid JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmtErr(r.path, "array elements must be objects, got %s", jsonKind(v))
	}
	return m, nil
}

// restOfObject decodes the members of an object whose '{' was consumed.
func (r *jsonReader) restOfObject() (map[string]any, error) {
	m := map[string]any{}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("expected an object key, got %v", tok)
		}
		var v any
		if err := r.dec.Decode(&v); err != nil {
			return nil, err
		}
		m[key] = v
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, err
	}
	return m, nil
}

func (r *jsonReader) Close() error { return r.f.Close() }

// ---- csv / tsv

// colKind is the inferred type of a column, narrowing as values are seen, as
// pandas.read_csv does: all ints → int, all numbers → float, all True/False →
// bool, otherwise strings. Empty cells become null and do not widen a column.
type colKind int

const (
	kindUnknown colKind = iota // only empty cells so far
	kindBool
	kindInt
	kindFloat
	kindString
)

func cellKind(s string) colKind {
	switch s {
	case "":
		return kindUnknown
	case "True", "TRUE", "true", "False", "FALSE", "false":
		return kindBool
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return kindInt
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		// Go accepts hex floats and "Inf" spellings pandas reads differently;
		// keep only plain decimal numbers numeric.
		if strings.ContainsAny(s, "xXpP_") {
			return kindString
		}
		if l := strings.ToLower(strings.TrimLeft(s, "+-")); l == "inf" || l == "infinity" || l == "nan" {
			return kindString
		}
		return kindFloat
	}
	return kindString
}

func widen(a, b colKind) colKind {
	switch {
	case a == kindUnknown:
		return b
	case b == kindUnknown || a == b:
		return a
	case (a == kindInt && b == kindFloat) || (a == kindFloat && b == kindInt):
		return kindFloat
	}
	return kindString
}

type delimitedReader struct {
	path   string
	f      *os.File
	cr     *csv.Reader
	header []string
	kinds  []colKind
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
	// First pass: infer column types over the whole file with constant memory,
	// so a column's type does not depend on which row is read first.
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
	kinds := make([]colKind, len(header))
	for n := 0; ; n++ {
		rec, err := cr.Read()
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
		for i := range kinds {
			if i < len(rec) {
				kinds[i] = widen(kinds[i], cellKind(rec[i]))
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
	return &delimitedReader{path: path, f: f, cr: cr, header: header, kinds: kinds}, nil
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
				cell = rec[i]
			}
			row[name] = typed(cell, r.kinds[i])
		}
		return row, nil
	}
}

func typed(cell string, k colKind) any {
	if cell == "" {
		return nil
	}
	switch k {
	case kindBool:
		return cell == "True" || cell == "TRUE" || cell == "true"
	case kindInt:
		return json.Number(cell)
	case kindFloat:
		f, _ := strconv.ParseFloat(cell, 64)
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64) + floatSuffix(f))
	}
	return strings.Clone(cell) // ReuseRecord shares the backing array
}

// floatSuffix keeps a float column float in Python (3 → 3.0).
func floatSuffix(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if strings.ContainsAny(s, ".eE") {
		return ""
	}
	return ".0"
}

func (r *delimitedReader) Close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}
