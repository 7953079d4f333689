// Package dataset reads the input data of a flow run: a jsonl, json (an array
// of objects, or one object), csv or tsv file, or a folder of such files. Rows
// are streamed one at a time so a run over a very large file keeps bounded
// memory (a first pass learns the columns, so that a row lacking one gets
// NaN as in promptflow). It owns format detection and value reading: JSON
// numbers keep their text as json.Number (big integers and 1.0 vs 1 survive
// the trip to Python), NaN and the infinities are pyjson.NonFinite, objects
// inside a row are pyjson.Object (the file's key order kept), CSV and
// TSV cells are their text. It knows nothing about flows or column mapping.
package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/ctxio"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Reader streams the rows of a data source.
type Reader interface {
	// Next returns the next row and its 0-based line number (its position
	// across the whole source). At the end it returns io.EOF.
	Next() (row map[string]any, line int, err error)
	// Close releases the open file.
	Close() error
}

// formats by file suffix (lower-cased).
const (
	fmtJSONL = "jsonl"
	fmtJSON  = "json"
	fmtCSV   = "csv"
	fmtTSV   = "tsv"
)

func formatOf(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl":
		return fmtJSONL, nil
	case ".json":
		return fmtJSON, nil
	case ".csv":
		return fmtCSV, nil
	case ".tsv":
		return fmtTSV, nil
	case ".parquet":
		return "", fault.New(fault.Validation, "data file %s is parquet, which pfz cannot read", path).
			WithHint("convert it to jsonl, for example with pandas: pd.read_parquet(p).to_json(out, orient='records', lines=True)")
	}
	// promptflow users often keep jsonl under other names (.txt, no suffix):
	// read them as jsonl rather than refuse.
	return fmtJSONL, nil
}

// supportedInFolder reports whether a file inside a data folder is read.
// Unlike a file named directly, unknown suffixes (images, readmes) are skipped.
func supportedInFolder(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".json", ".csv", ".tsv":
		return true
	}
	return false
}

// Open opens a data file or folder. A folder is read file by file in lexical
// order of the relative paths (recursively), line numbers continuing across files.
func Open(ctx context.Context, path string) (Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fault.New(fault.Validation, "data %s does not exist", path).
				WithHint("check the data path; relative paths in run.yml are resolved from the YAML's folder")
		}
		return nil, fault.Wrap(fault.Failed, err, "open data %s", path)
	}
	files := []string{path}
	if st.IsDir() {
		if files, err = folderFiles(path); err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fault.New(fault.Validation, "Couldn't find any inputs data at the given input paths: %s", path).
				WithHint("put .jsonl, .json, .csv or .tsv files in the data folder")
		}
	}
	cols, err := columnUnion(ctx, files)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		r, err := openFile(ctx, path)
		if err != nil {
			return nil, err
		}
		return &numbered{src: r, cols: cols}, nil
	}
	return &numbered{src: &multi{ctx: ctx, files: files}, cols: cols}, nil
}

// Missing is the value of a column a row does not have while other rows
// do: NaN, as in the table promptflow reads the data into (pandas). A string
// input reads it as "nan"; an int input refuses it.
func Missing() any { return pyjson.NonFinite(math.NaN()) }

// columnUnion is every column of the data, when some row may lack one (a
// jsonl or json file, or several files); nil for one CSV or TSV file, whose
// rows all have the header's columns.
func columnUnion(ctx context.Context, files []string) ([]string, error) {
	if len(files) == 1 {
		if f, err := formatOf(files[0]); err != nil || f == fmtCSV || f == fmtTSV {
			return nil, nil
		}
	}
	seen := map[string]bool{}
	var cols []string
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			cols = append(cols, name)
		}
	}
	for _, p := range files {
		format, err := formatOf(p)
		if err != nil {
			return nil, err
		}
		if format == fmtCSV || format == fmtTSV {
			comma := ','
			if format == fmtTSV {
				comma = '\t'
			}
			h, err := delimitedHeader(ctx, p, comma)
			if err != nil {
				return nil, err
			}
			for _, c := range h {
				add(c)
			}
			continue
		}
		r, err := openFile(ctx, p)
		if err != nil {
			return nil, err
		}
		for n := 0; ; n++ {
			if n%4096 == 0 && ctx.Err() != nil {
				r.Close()
				return nil, ctx.Err()
			}
			row, err := r.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				r.Close()
				return nil, err
			}
			for k := range row {
				add(k)
			}
		}
		r.Close()
	}
	return cols, nil
}

func folderFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if supportedInFolder(p) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "list data folder %s", dir)
	}
	sort.Strings(files)
	return files, nil
}

// rowSource yields rows without numbering.
type rowSource interface {
	next() (map[string]any, error)
	Close() error
}

func openFile(ctx context.Context, path string) (rowSource, error) {
	format, err := formatOf(path)
	if err != nil {
		return nil, err
	}
	// Opening a pipe would block and /dev/zero never ends.
	if st, err := os.Stat(path); err == nil {
		if err := ctxio.CheckRegular(path, st); err != nil {
			return nil, err
		}
	}
	switch format {
	case fmtJSON:
		return openJSON(ctx, path)
	case fmtCSV:
		return openDelimited(ctx, path, ',')
	case fmtTSV:
		return openDelimited(ctx, path, '\t')
	default:
		return openJSONL(ctx, path)
	}
}

type numbered struct {
	src  rowSource
	cols []string // every column; a row lacking one gets Missing()
	line int
}

func (n *numbered) Next() (map[string]any, int, error) {
	row, err := n.src.next()
	if err != nil {
		return nil, 0, err
	}
	for _, c := range n.cols {
		if _, ok := row[c]; !ok {
			row[c] = Missing()
		}
	}
	line := n.line
	n.line++
	return row, line, nil
}

func (n *numbered) Close() error { return n.src.Close() }

// multi chains the files of a folder.
type multi struct {
	ctx   context.Context
	files []string
	cur   rowSource
}

func (m *multi) next() (map[string]any, error) {
	for {
		if m.cur == nil {
			if len(m.files) == 0 {
				return nil, io.EOF
			}
			if err := m.ctx.Err(); err != nil {
				return nil, err
			}
			r, err := openFile(m.ctx, m.files[0])
			if err != nil {
				return nil, err
			}
			m.files = m.files[1:]
			m.cur = r
		}
		row, err := m.cur.next()
		if err == io.EOF {
			_ = m.cur.Close()
			m.cur = nil
			continue
		}
		return row, err
	}
}

func (m *multi) Close() error {
	if m.cur != nil {
		return m.cur.Close()
	}
	return nil
}

// Columns returns the sorted names of the data's columns (every file's, as
// the first n rows (n <= 0: 10) show them). It is what `run create` shows
// when a column mapping names a column the data lacks.
func Columns(ctx context.Context, path string, n int) ([]string, error) {
	if n <= 0 {
		n = 10
	}
	r, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		row, _, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for k := range row {
			seen[k] = true
		}
	}
	cols := make([]string, 0, len(seen))
	for k := range seen {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	return cols, nil
}

// MaxLineSize is the largest data line pfz reads: 64 MiB, far beyond any
// prompt input (a model's whole context is a few MB of text), small enough
// that a file without newlines (a binary file, a JSON document on one huge
// line) fails with its line number instead of exhausting memory.
const MaxLineSize = 64 << 20

// TooLong is the error for line of path being over MaxLineSize.
func TooLong(path string, line int) error {
	return fault.New(fault.Validation, "%s: line %d is longer than %d MB, the largest data line pfz reads", path, line, MaxLineSize>>20).
		WithHint("split the value, or keep large content in files the flow reads by path; a .jsonl file holds one JSON object per line")
}

func lineErr(path string, line int, err error) error {
	return fault.Wrap(fault.Validation, err, "%s: line %d is not valid", path, line).
		WithHint("each line of a .jsonl file must be one JSON object")
}

func fmtErr(path string, format string, args ...any) error {
	return fault.New(fault.Validation, "%s: %s", path, fmt.Sprintf(format, args...))
}
