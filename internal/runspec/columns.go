package runspec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pfz-cli/pfz/internal/ctxio"
	"github.com/pfz-cli/pfz/internal/dataset"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// bindingPattern is the runtime's test for a mapping value that binds
// (apply_inputs_mapping): the whole string is ${…} with no braces inside.
var bindingPattern = regexp.MustCompile(`^\$\{([^{}]+)\}$`)

// lineNumberKey is reserved in column mappings; the runtime ignores it.
const lineNumberKey = "line_number"

// NeedsRunHint is the hint of CodeNeedsRun.
const NeedsRunHint = "add run: <name of the run to evaluate> (or --run), or map from the data: ${data.<column>}"

// CheckColumnMapping checks the column mapping against the flow's inputs and,
// when dataColumns is not nil, against the columns of local data (nil means
// unknown: remote data). Errors: a ${data.x} to a column the data lacks or
// with no data at all, a ${run.…} without run, a ${…} naming no source, a
// required flow input (no default) that nothing maps. Warnings: a key that is
// not a flow input, a value that looks like a binding but is a literal.
// f may be nil (a remote flow) or Incomplete: only the sources are checked then.
func CheckColumnMapping(spec *Spec, f *flow.Flow, dataColumns []string) diag.List {
	if f != nil && f.Incomplete {
		// The flow file could not be read (its own diagnostic says why): its
		// inputs are unknown, not absent.
		f = nil
	}
	var out diag.List
	add := func(sev diag.Severity, code string, p Pos, hint, format string, args ...any) {
		out = append(out, diag.Diagnostic{Severity: sev, Code: code, File: p.File, Line: p.Line, Column: p.Column,
			Message: fmt.Sprintf(format, args...), Hint: hint})
	}
	cols := map[string]bool{}
	for _, c := range dataColumns {
		cols[c] = true
	}
	hasData := spec.Data != ""
	hasRun := spec.Run != ""
	// A flex flow's inputs come from its entry's signature, which pfz does not
	// read; when the YAML declares none, nothing can be said about them.
	knowInputs := f != nil && !(f.Kind == flow.KindFlex && len(f.Inputs) == 0)
	var inputNames []string
	if f != nil {
		for _, in := range f.Inputs {
			inputNames = append(inputNames, in.Name)
		}
	}

	var needsRun []string // the ${run.…} bindings of a run without run
	var needsRunAt Pos
	keys := make([]string, 0, len(spec.ColumnMapping))
	for k := range spec.ColumnMapping {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, pj := spec.PosOf("column_mapping."+keys[i]), spec.PosOf("column_mapping."+keys[j])
		if pi.Line != pj.Line {
			return pi.Line < pj.Line
		}
		return keys[i] < keys[j]
	})

	for _, k := range keys {
		if k == lineNumberKey {
			continue
		}
		p := spec.PosOf("column_mapping." + k)
		if knowInputs && f.Input(k) == nil {
			hint := "the flow's inputs are: " + strings.Join(inputNames, ", ")
			if len(inputNames) == 0 {
				hint = "the flow declares no inputs"
			} else if n := nearest(k, inputNames, 1); len(n) > 0 {
				hint = "did you mean " + n[0] + "? " + hint
			}
			add(diag.Warning, CodeColumnMapping, p, hint, "column_mapping.%s: the flow has no input named %s; the value is not used", k, k)
		}
		s, ok := spec.ColumnMapping[k].(string)
		if !ok {
			continue // non-strings are literals
		}
		m := bindingPattern.FindStringSubmatch(s)
		if m == nil {
			if strings.Contains(s, "${") {
				add(diag.Warning, CodeColumnMapping, p, "only a value that is exactly ${data.<column>} or ${run.outputs.<output>} binds; anything around it makes the whole value a literal string",
					"column_mapping.%s: %q is passed as a literal string", k, s)
			}
			continue
		}
		parts := strings.Split(m[1], ".")
		switch {
		case len(parts) >= 2 && parts[0] == "data":
			col := strings.Join(parts[1:], ".")
			switch {
			case !hasData:
				hint := "add data: <file or folder> (or --data)"
				if hasRun {
					hint += ", or map it from the referenced run: ${run.inputs." + col + "} (its data) or ${run.outputs.<output>}"
				}
				add(diag.Error, CodeColumnMapping, p, hint, "column_mapping.%s: %s needs data, and the run has none", k, s)
			case dataColumns != nil && !cols[col]:
				add(diag.Error, CodeColumnMapping, p, columnHint(col, dataColumns),
					"column_mapping.%s: the data has no column %q (in its first lines)", k, col)
			}
		case len(parts) >= 3 && parts[0] == "run" && (parts[1] == "outputs" || parts[1] == "inputs"):
			if !hasRun {
				needsRun = append(needsRun, fmt.Sprintf("column_mapping.%s (%s)", k, s))
				if len(needsRun) == 1 {
					needsRunAt = p
				}
			}
		default:
			add(diag.Error, CodeColumnMapping, p, "a binding is ${data.<column>}, ${run.outputs.<output>} or ${run.inputs.<column>}",
				"column_mapping.%s: %s names no input source (Couldn't find these mapping relations: %s)", k, s, s)
		}
	}

	if len(needsRun) > 0 {
		// One finding for all of them: the fix is one run, not one per key.
		verb := "requires"
		if len(needsRun) > 1 {
			verb = "require"
		}
		add(diag.Error, CodeNeedsRun, needsRunAt, NeedsRunHint,
			"%s %s run, and none is given", strings.Join(needsRun, ", "), verb)
	}
	if f == nil {
		return out
	}
	where := spec.PosOf("column_mapping")
	for _, in := range f.RequiredInputs() {
		if _, mapped := spec.ColumnMapping[in.Name]; mapped {
			continue
		}
		// The runtime maps an unmapped input to ${data.<name>}.
		switch {
		case !hasData:
			add(diag.Error, CodeRequiredInput, where,
				fmt.Sprintf("map it in column_mapping, e.g. %s: ${run.outputs.<output>}, or give it a default in the flow", in.Name),
				"flow input %s has no default and nothing maps it (without data, ${data.%s} cannot supply it)", in.Name, in.Name)
		case dataColumns != nil && !cols[in.Name]:
			add(diag.Error, CodeRequiredInput, where,
				fmt.Sprintf("map it in column_mapping: %s: ${data.<column>}; %s", in.Name, columnHint(in.Name, dataColumns)),
				"flow input %s has no default, nothing maps it, and the data has no column %q", in.Name, in.Name)
		}
	}
	return out
}

func columnHint(col string, cols []string) string {
	if len(cols) == 0 {
		return "the data has no columns (no lines)"
	}
	list := strings.Join(cols, ", ")
	if n := nearest(col, cols, 1); len(n) > 0 {
		return "did you mean " + n[0] + "? The data's columns are: " + list
	}
	return "the data's columns are: " + list
}

// DataColumns returns the union of the columns of the first maxLines lines
// (rows) of a data file, or of each data file in a folder, in order of first
// appearance (maxLines <= 0: 100). Files are streamed, never read whole: a
// .jsonl line or .json array element is one row; a .csv or .tsv file gives
// its header, named as pandas names it. A .parquet file, which pfz cannot
// read, makes the columns unknown: the result is nil with no error. In a
// folder, files are read recursively in lexical order, skipping hidden
// folders and files of other types, as internal/dataset reads them.
func DataColumns(ctx context.Context, path string, maxLines int) ([]string, error) {
	if maxLines <= 0 {
		maxLines = 100
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fault.New(fault.Validation, "data %s does not exist", path).
				WithHint("check the data path; relative paths in run.yml are resolved from the YAML's folder")
		}
		return nil, fault.Wrap(fault.Validation, err, "cannot read data %s", path)
	}
	u := &union{seen: map[string]bool{}, cols: []string{}}
	if !st.IsDir() {
		unknown, err := fileColumns(ctx, path, maxLines, u)
		if err != nil || unknown {
			return nil, err
		}
		return u.cols, nil
	}
	var files []string
	unknown := false
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jsonl", ".json", ".csv", ".tsv":
			files = append(files, p)
		case ".parquet":
			unknown = true
		}
		return nil
	})
	if err != nil {
		return nil, fault.Wrap(fault.Validation, err, "cannot list data folder %s", path)
	}
	if unknown {
		return nil, nil
	}
	if len(files) == 0 {
		return nil, fault.New(fault.Validation, "Couldn't find any inputs data at the given input paths: %s", path).
			WithHint("put .jsonl, .json, .csv or .tsv files in the data folder")
	}
	sort.Strings(files)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := fileColumns(ctx, f, maxLines, u); err != nil {
			return nil, err
		}
	}
	return u.cols, nil
}

type union struct {
	seen map[string]bool
	cols []string
}

func (u *union) add(c string) {
	if !u.seen[c] {
		u.seen[c] = true
		u.cols = append(u.cols, c)
	}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func fileColumns(ctx context.Context, path string, maxLines int, u *union) (unknown bool, err error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".parquet" {
		return true, nil
	}
	if st, err := os.Stat(path); err == nil {
		if err := ctxio.CheckRegular(path, st); err != nil {
			return false, err
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return false, fault.Wrap(fault.Validation, err, "cannot read data %s", path)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(ctxio.Reader(ctx, fh), 64<<10)
	if p, _ := br.Peek(3); bytes.Equal(p, utf8BOM) {
		_, _ = br.Discard(3)
	}
	switch ext {
	case ".csv", ".tsv":
		return false, delimitedColumns(path, br, ext == ".tsv", u)
	case ".json":
		return false, jsonColumns(ctx, path, br, maxLines, u)
	}
	// .jsonl, and any other suffix, which promptflow also reads as jsonl.
	return false, jsonlColumns(ctx, path, br, maxLines, u)
}

func dataErr(path, format string, args ...any) error {
	return fault.New(fault.Validation, "data %s: %s", path, fmt.Sprintf(format, args...)).
		WithHint("promptflow reads .jsonl (one JSON object per line), .json (an array of objects), .csv and .tsv (a header row)")
}

func jsonlColumns(ctx context.Context, path string, br *bufio.Reader, maxLines int, u *union) error {
	rows := 0
	var buf []byte
	for lineNo := 1; rows < maxLines; lineNo++ {
		line, err := dataset.ReadLine(br, buf)
		if errors.Is(err, dataset.ErrLineTooLong) {
			return dataset.TooLong(path, lineNo)
		}
		buf = line
		if len(bytes.TrimSpace(line)) > 0 {
			// Python's JSON: NaN and the infinities are values too.
			if err := objectKeys(json.NewDecoder(bytes.NewReader(pyjson.Standard(line))), u); err != nil {
				return dataErr(path, "line %d is not a JSON object: %v", lineNo, err)
			}
			rows++
			if rows%1000 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fault.Wrap(fault.Validation, err, "cannot read data %s", path)
		}
	}
	return nil
}

func jsonColumns(ctx context.Context, path string, br *bufio.Reader, maxLines int, u *union) error {
	// Read whole, as internal/dataset reads a .json file (Python's JSON, NaN
	// included, has no streaming decoder).
	data, err := io.ReadAll(br)
	if err != nil {
		return fault.Wrap(fault.Validation, err, "cannot read data %s", path)
	}
	dec := json.NewDecoder(bytes.NewReader(pyjson.Standard(data)))
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return dataErr(path, "not valid JSON: %v", err)
	}
	switch tok {
	case json.Delim('{'):
		// One object is one row, as internal/dataset reads it.
		if err := restKeys(dec, u); err != nil {
			return dataErr(path, "not valid JSON: %v", err)
		}
		return nil
	case json.Delim('['):
	default:
		return dataErr(path, "expected a JSON array of objects, got %v", tok)
	}
	for rows := 0; rows < maxLines && dec.More(); rows++ {
		if err := objectKeys(dec, u); err != nil {
			return dataErr(path, "element %d is not a JSON object: %v", rows, err)
		}
		if rows%1000 == 999 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// objectKeys reads one JSON object from dec and adds its keys in order.
func objectKeys(dec *json.Decoder, u *union) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("got %v", tok)
	}
	return restKeys(dec, u)
}

// restKeys reads the members of an object whose { was read.
func restKeys(dec *json.Decoder, u *union) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("expected a key, got %v", tok)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
		u.add(key)
	}
	_, err := dec.Token() // }
	return err
}

func delimitedColumns(path string, r io.Reader, tsv bool, u *union) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	if tsv {
		cr.Comma = '\t'
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return dataErr(path, "cannot read the header row: %v", err)
	}
	for _, c := range dataset.ColumnNames(header) {
		u.add(c)
	}
	return nil
}
