package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/pfz-cli/pfz/internal/pyjson"
	"strings"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ---- jsonl

type jsonlReader struct {
	path string
	f    *os.File
	br   *bufio.Reader
	line int // physical line, 1-based, for error messages
}

func openJSONL(path string) (*jsonlReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &jsonlReader{path: path, f: f, br: bufio.NewReaderSize(f, 64<<10)}, nil
}

func (r *jsonlReader) next() (map[string]any, error) {
	for {
		b, err := r.br.ReadBytes('\n')
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

func openJSON(path string) (*jsonReader, error) {
	b, err := os.ReadFile(path)
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
	switch x := v.(type) {
	case map[string]any:
		return &jsonReader{rows: []map[string]any{x}}, nil
	case []any:
		r := &jsonReader{rows: make([]map[string]any, len(x))}
		for i, e := range x {
			m, ok := e.(map[string]any)
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

func openDelimited(path string, comma rune) (*delimitedReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 64<<10)
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
	return &delimitedReader{path: path, f: f, cr: cr, header: ColumnNames(header)}, nil
}

// delimitedHeader reads only the column names of a CSV or TSV file.
func delimitedHeader(path string, comma rune) ([]string, error) {
	r, err := openDelimited(path, comma)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.header, nil
}

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
