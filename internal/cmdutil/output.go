package cmdutil

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/jmespath/go-jmespath"
	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/iostreams"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// Printer writes a command's result to stdout in the chosen format. With json
// or yaml, stdout gets exactly one document.
type Printer struct {
	IO     *iostreams.IOStreams
	Format string // table, json or yaml
	Query  string // JMESPath, json and yaml only
}

// Printer returns the printer for this invocation: the format from -o,
// PFZ_OUTPUT or the config file, and --query.
func (f *Factory) Printer() (*Printer, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	return NewPrinter(f.IOStreams, cfg.Output, f.Global.Query)
}

// NewPrinter validates the format and the query.
func NewPrinter(io *iostreams.IOStreams, format, query string) (*Printer, error) {
	switch format {
	case "":
		format = config.OutputTable
	case config.OutputTable, config.OutputJSON, config.OutputYAML:
	default:
		return nil, fault.New(fault.Usage, "unknown output format %q", format).
			WithHint("use -o table, -o json or -o yaml")
	}
	if query != "" {
		if format == config.OutputTable {
			return nil, fault.New(fault.Usage, "--query needs -o json or -o yaml").
				WithHint("add -o json")
		}
		if _, err := jmespath.Compile(query); err != nil {
			return nil, fault.Wrap(fault.Usage, err, "invalid --query %q", query).
				WithHint("--query takes a JMESPath expression, e.g. --query 'name' or --query '[].name'")
		}
	}
	return &Printer{IO: io, Format: format, Query: query}, nil
}

// IsTable reports whether the output is a table for people.
func (p *Printer) IsTable() bool { return p.Format == config.OutputTable }

// Print writes v as JSON or YAML, or calls table to render it.
func (p *Printer) Print(v any, table func(*Table)) error {
	if p.IsTable() {
		t := NewTable(p.IO)
		table(t)
		return t.Render()
	}
	return WriteDocument(p.IO.Out, p.Format, p.Query, v)
}

// PrintList prints a list: as a document with json or yaml (an empty list
// is []), as a table otherwise, where an empty list prints nothing on stdout
// and says "no WHAT found" on stderr (a bare header would look like a fault
// and, piped, an empty stdout is what a script expects).
func PrintList[T any](p *Printer, what string, list []T, table func(*Table)) error {
	if list == nil {
		list = []T{}
	}
	if p.IsTable() && len(list) == 0 {
		fmt.Fprintf(p.IO.ErrOut, "no %s found\n", what)
		return nil
	}
	return p.Print(list, table)
}

// WriteDocument marshals v as one JSON or YAML document, after applying the
// JMESPath query when one is given.
func WriteDocument(w io.Writer, format, query string, v any) error {
	data, err := marshalJSON(v)
	if err != nil {
		return err
	}
	if query != "" {
		var generic any
		if err := pyjson.Unmarshal(data, &generic); err != nil {
			return fault.Wrap(fault.Failed, err, "cannot apply --query")
		}
		res, err := jmespath.Search(query, generic)
		if err != nil {
			return fault.Wrap(fault.Usage, err, "--query %q failed", query)
		}
		if data, err = marshalJSON(res); err != nil {
			return err
		}
	}
	if format == config.OutputYAML {
		data, err = jsonToYAML(data)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	_, err = w.Write(data)
	return err
}

// marshalJSON writes v indented; values of flow runs that JSON has no number
// for are written as Python's json writes them (NaN, Infinity, -Infinity),
// as promptflow's own files hold them, rather than lost or turned into text.
func marshalJSON(v any) ([]byte, error) {
	b, err := pyjson.MarshalIndent(v, "  ")
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot encode the output")
	}
	return append(b, '\n'), nil
}

// jsonToYAML re-encodes a JSON document as YAML, keeping the key order of
// the JSON (a yaml.Node decode preserves it) and choosing YAML quoting.
func jsonToYAML(data []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot convert the output to YAML")
	}
	clearStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot encode the output as YAML")
	}
	_ = enc.Close()
	return buf.Bytes(), nil
}

func clearStyle(n *yaml.Node) {
	// NaN, Infinity and -Infinity are numbers in the JSON (a JSON string
	// comes quoted): YAML spells them .nan, .inf and -.inf.
	if n.Kind == yaml.ScalarNode && n.Style == 0 {
		if lit, ok := yamlNonFinite[n.Value]; ok {
			n.Tag, n.Value = "!!float", lit
		}
	}
	n.Style = 0
	// YAML 1.1 readers (PyYAML) take these for booleans; keep them strings.
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && isOldBool(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		clearStyle(c)
	}
}

var yamlNonFinite = map[string]string{"NaN": ".nan", "Infinity": ".inf", "-Infinity": "-.inf"}

func isOldBool(s string) bool {
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false":
		return true
	}
	return false
}

// Table renders rows for people: aligned columns under a header on a
// terminal, header-less tab-separated values when piped.
type Table struct {
	io     *iostreams.IOStreams
	header []string
	rows   [][]string
}

// NewTable returns an empty table on io's stdout.
func NewTable(io *iostreams.IOStreams) *Table { return &Table{io: io} }

// Header sets the column names.
func (t *Table) Header(cols ...string) { t.header = cols }

// Row adds a row.
func (t *Table) Row(cols ...string) { t.rows = append(t.rows, cols) }

// Render writes the table.
func (t *Table) Render() error {
	clean := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")
	for _, r := range t.rows {
		for i := range r {
			r[i] = clean.Replace(r[i])
		}
	}
	if !t.io.IsStdoutTTY() {
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(t.io.Out, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	if len(t.header) > 0 {
		h := make([]string, len(t.header))
		for i, c := range t.header {
			h[i] = strings.ToUpper(c)
		}
		fmt.Fprintln(tw, strings.Join(h, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	out := buf.String()
	if len(t.header) > 0 {
		// Bold after alignment: escape codes would count as width in tabwriter.
		first, rest, _ := strings.Cut(out, "\n")
		out = t.io.ColorScheme().Bold(strings.TrimRight(first, " ")) + "\n" + rest
	}
	_, err := io.WriteString(t.io.Out, out)
	return err
}

// KeyValues renders (key, value) pairs as a two-column table without a
// header; empty values are left out.
func KeyValues(t *Table, pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			t.Row(pairs[i], pairs[i+1])
		}
	}
}
