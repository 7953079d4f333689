package run

import (
	"encoding/json"
	"html/template"
	"io"
	"sort"
	"time"

	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// MaxVisualRows bounds the lines one comparison page shows; the page says
// when lines were left out (show-details and download have them all).
const MaxVisualRows = 2000

// Compared is one run of a comparison page.
type Compared struct {
	Run     *workspace.Run
	Metrics pyjson.Object
	Dir     string // the run folder, whose lines.jsonl is read
}

type pageData struct {
	Title     string
	Generated string
	Runs      []*workspace.Run
	Metrics   []metricRow
	Inputs    []string
	RunCols   []runCols
	Rows      []row
	Truncated int // lines left out
}

type metricRow struct {
	Name   string
	Values []string
}

type runCols struct {
	Name    string
	Outputs []string
}

type row struct {
	Line   int
	Inputs []string
	Runs   []runCell
}

type runCell struct {
	Present bool
	Status  string
	Failed  bool
	Outputs []string
	Error   string
}

// Visualize writes one self-contained HTML page comparing the runs: their
// summaries, their metrics side by side, and their lines joined by line
// number (inputs once, then each run's status and outputs). Everything the
// runs hold is escaped by html/template; the page loads nothing.
func Visualize(w io.Writer, runs []Compared, now time.Time) error {
	data := pageData{Generated: now.Format(time.RFC3339)}
	for i, c := range runs {
		data.Runs = append(data.Runs, c.Run)
		if i > 0 {
			data.Title += ", "
		}
		data.Title += c.Run.Name
	}
	data.Metrics = metricRows(runs)

	type opened struct {
		l    *Lines
		nums []int
	}
	all := make([]opened, len(runs))
	lineSet := map[int]bool{}
	for i, c := range runs {
		l, err := OpenLines(c.Dir)
		if err != nil {
			for _, o := range all[:i] {
				o.l.Close()
			}
			return err
		}
		all[i] = opened{l: l, nums: l.Numbers()}
		for _, n := range all[i].nums {
			lineSet[n] = true
		}
	}
	defer func() {
		for _, o := range all {
			o.l.Close()
		}
	}()
	nums := make([]int, 0, len(lineSet))
	for n := range lineSet {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	if len(nums) > MaxVisualRows {
		data.Truncated = len(nums) - MaxVisualRows
		nums = nums[:MaxVisualRows]
	}

	// Read the shown lines once, then lay out the columns.
	type lineOf = map[int]*lineView
	read := make([]lineOf, len(runs))
	// Columns in the records' order (promptflow's).
	var inputCols pyjson.KeyUnion
	outCols := make([]pyjson.KeyUnion, len(runs))
	for i, o := range all {
		read[i] = lineOf{}
		for _, n := range nums {
			r, ok, err := o.l.Get(n)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			d := Detail(r)
			read[i][n] = &lineView{d: d}
			inputCols.Add(d.Inputs)
			outCols[i].Add(d.Outputs)
		}
	}
	data.Inputs = inputCols.Keys()
	for i, c := range runs {
		data.RunCols = append(data.RunCols, runCols{Name: c.Run.Name, Outputs: outCols[i].Keys()})
	}
	for _, n := range nums {
		rw := row{Line: n}
		for _, k := range data.Inputs {
			v := ""
			for i := range runs {
				if lv := read[i][n]; lv != nil {
					if x, ok := lv.d.Inputs.Get(k); ok {
						v = text(x)
						break
					}
				}
			}
			rw.Inputs = append(rw.Inputs, v)
		}
		for i := range runs {
			lv := read[i][n]
			cell := runCell{}
			if lv != nil {
				cell.Present, cell.Status = true, lv.d.Status
				cell.Failed = lv.d.Status != "Completed"
				if lv.d.Error != nil {
					cell.Error = lv.d.Error.Message
				}
			}
			for _, k := range data.RunCols[i].Outputs {
				v := ""
				if lv != nil {
					if x, ok := lv.d.Outputs.Get(k); ok {
						v = text(x)
					}
				}
				cell.Outputs = append(cell.Outputs, v)
			}
			rw.Runs = append(rw.Runs, cell)
		}
		data.Rows = append(data.Rows, rw)
	}
	return page.Execute(w, data)
}

type lineView struct{ d workspace.LineDetail }

func metricRows(runs []Compared) []metricRow {
	var names pyjson.KeyUnion
	for _, c := range runs {
		names.Add(c.Metrics)
	}
	var out []metricRow
	for _, k := range names.Keys() {
		mr := metricRow{Name: k}
		for _, c := range runs {
			v, ok := c.Metrics.Get(k)
			s := ""
			if ok {
				s = text(v)
			}
			mr.Values = append(mr.Values, s)
		}
		out = append(out, mr)
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// text shows a value: strings as they are, anything else as Python's JSON.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	b, err := pyjson.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"time": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format("2006-01-02 15:04:05")
	},
	"add": func(a, b int) int { return a + b },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pfz runs: {{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem; color: #1b1b1b; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #d0d0d0; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; max-width: 28rem; white-space: pre-wrap; word-break: break-word; }
th { background: #f3f3f3; position: sticky; top: 0; }
th.run { background: #e6eefc; }
td.failed { background: #fdecec; }
td.num { text-align: right; }
.muted { color: #666; }
.scroll { overflow-x: auto; }
</style>
</head>
<body>
<h1>Run comparison: {{.Title}}</h1>
<p class="muted">Written by pfz at {{.Generated}}.</p>

<h2>Runs</h2>
<div class="scroll"><table>
<tr><th>name</th><th>display name</th><th>status</th><th>flow</th><th>variant</th><th>parent run</th><th>lines</th><th>failed</th><th>created</th><th>duration</th></tr>
{{range .Runs}}<tr><td>{{.Name}}</td><td>{{.DisplayName}}</td><td>{{.Status}}</td><td>{{.FlowName}}</td><td>{{.Variant}}</td><td>{{.Run}}</td><td class="num">{{.LinesTotal}}</td><td class="num">{{.LinesFailed}}</td><td>{{time .CreatedOn}}</td><td>{{.Duration}}</td></tr>
{{end}}</table></div>

<h2>Metrics</h2>
{{if .Metrics}}<div class="scroll"><table>
<tr><th>metric</th>{{range .Runs}}<th class="run">{{.Name}}</th>{{end}}</tr>
{{range .Metrics}}<tr><td>{{.Name}}</td>{{range .Values}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</table></div>{{else}}<p class="muted">No run logged metrics.</p>{{end}}

<h2>Lines</h2>
{{if .Rows}}<div class="scroll"><table>
<tr><th rowspan="2">line</th>{{if .Inputs}}<th colspan="{{len .Inputs}}">inputs</th>{{end}}{{range .RunCols}}<th class="run" colspan="{{add (len .Outputs) 1}}">{{.Name}}</th>{{end}}</tr>
<tr>{{range .Inputs}}<th>{{.}}</th>{{end}}{{range .RunCols}}<th class="run">status</th>{{range .Outputs}}<th class="run">{{.}}</th>{{end}}{{end}}</tr>
{{range .Rows}}<tr><td class="num">{{.Line}}</td>{{range .Inputs}}<td>{{.}}</td>{{end}}{{range .Runs}}{{if .Present}}<td{{if .Failed}} class="failed" title="{{.Error}}"{{end}}>{{.Status}}</td>{{range .Outputs}}<td>{{.}}</td>{{end}}{{else}}<td class="muted">—</td>{{range .Outputs}}<td></td>{{end}}{{end}}{{end}}</tr>
{{end}}</table></div>
{{if .Truncated}}<p class="muted">{{.Truncated}} more lines are not shown; <code>pfz run show-details --all-results</code> lists every line.</p>{{end}}
{{else}}<p class="muted">The runs have no recorded lines.</p>{{end}}
</body>
</html>
`
