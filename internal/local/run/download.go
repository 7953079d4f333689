package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pfz-cli/pfz/internal/atomicfile"
	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/pyjson"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// Files and folders of pfazure's download layout (pfazure-surface.md §6.1).
const (
	DLRunMetadata     = "run_metadata.json"
	DLMeta            = "meta.json"
	DLMetrics         = "metrics.json"
	DLLogs            = "logs.txt"
	DLSnapshot        = "snapshot"
	DLFlowArtifacts   = "flow_artifacts"
	DLNodeArtifacts   = "node_artifacts"
	DLInstanceResults = "instance_results.jsonl"
	DLFlowOutputs     = "flow_outputs"
	DLOutputFile      = "output.jsonl"
)

// flowArtifactBatch is how many lines one flow_artifacts file holds, as the
// service writes them (000000000_000000024.jsonl).
const flowArtifactBatch = 25

// DownloadOptions say what Download writes.
type DownloadOptions struct {
	Src       string         // the run folder
	Run       *workspace.Run // the run as `run show` prints it
	BatchSize int            // meta.json's batch_size: the run's workers
	Dir       string         // the run goes to Dir/<name>
	Overwrite bool
}

// Download writes the run in pfazure's layout under Dir/<name> and returns
// that folder. It builds the folder under a temporary name beside it and
// renames it into place, so an interrupted download leaves no half folder
// under the real name.
func Download(ctx context.Context, o DownloadOptions) (string, error) {
	name := o.Run.Name
	dest := filepath.Join(o.Dir, name)
	if abs, err := filepath.Abs(dest); err == nil {
		dest = abs
	}
	if _, err := os.Lstat(dest); err == nil && !o.Overwrite {
		return "", fault.New(fault.Usage, "Run folder '%s' already exists, please specify a new output path or set the overwrite flag to be true.", dest).
			WithHint("pass --overwrite to replace it, or --output-dir to download elsewhere")
	}
	tmp, err := atomicfile.StageDir(dest, name)
	if err != nil {
		return "", err
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := writeLayout(ctx, o, tmp); err != nil {
		if ctx.Err() != nil {
			return "", fault.Wrap(fault.Interrupted, ctx.Err(), "the download of run %s was interrupted", name)
		}
		return "", err
	}
	if err := atomicfile.ReplaceDir(tmp, dest); err != nil {
		return "", err
	}
	keep = true
	return dest, nil
}

func writeLayout(ctx context.Context, o DownloadOptions, dst string) error {
	md, err := json.Marshal(o.Run)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dst, DLRunMetadata), md); err != nil {
		return err
	}
	batch := o.BatchSize
	if batch <= 0 {
		batch = 1
	}
	if err := writeFile(filepath.Join(dst, DLMeta), []byte(`{"batch_size": `+strconv.Itoa(batch)+`}`)); err != nil {
		return err
	}
	metrics, err := ReadMetrics(o.Src)
	if err != nil {
		return err
	}
	mb, err := pyjson.Marshal(metrics)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot encode the metrics of run %s", o.Run.Name)
	}
	if err := writeFile(filepath.Join(dst, DLMetrics), mb); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(o.Src, LogFile), filepath.Join(dst, DLLogs), true); err != nil {
		return err
	}
	if err := copyTree(ctx, filepath.Join(o.Src, SnapshotDir), filepath.Join(dst, DLSnapshot)); err != nil {
		return err
	}
	// The records refer to their images as images/<id>.<ext>, relative to
	// the folder, so the images go along.
	if _, err := os.Stat(filepath.Join(o.Src, ImagesDir)); err == nil {
		if err := copyTree(ctx, filepath.Join(o.Src, ImagesDir), filepath.Join(dst, ImagesDir)); err != nil {
			return err
		}
	}
	if err := writeLines(ctx, o.Src, o.Run.Name, dst); err != nil {
		return err
	}
	return writeNodeRuns(ctx, o.Src, o.Run.Name, dst)
}

func writeFile(p string, b []byte) error {
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot write %s", p)
	}
	return nil
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func errorDict(e *executor.LineError) any {
	if e == nil {
		return nil
	}
	d := map[string]any{"code": e.Code, "message": e.Message}
	if e.Type != "" {
		d["innerError"] = map[string]any{"code": e.Type, "innerError": nil}
	}
	if e.Node != "" {
		d["node"] = e.Node
	}
	return d
}

// jsonl writes one JSON object a line.
type jsonl struct {
	f *os.File
	w *bufio.Writer
}

func createJSONL(p string) (*jsonl, error) {
	f, err := os.Create(p)
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write %s", p)
	}
	return &jsonl{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (j *jsonl) put(v any) error {
	b, err := marshalLine(v)
	if err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

func (j *jsonl) close() error {
	if j == nil {
		return nil
	}
	err := j.w.Flush()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// flat is the object of instance_results.jsonl: status, inputs.<k> (with
// inputs.line_number) and the outputs by their own names, as the service
// writes it.
func flat(r *executor.LineResult) map[string]any {
	m := map[string]any{"line_number": r.LineNumber, "status": r.Status}
	for _, e := range r.Inputs {
		m["inputs."+e.Key] = e.Value
	}
	m["inputs.line_number"] = r.LineNumber
	for _, e := range r.Outputs {
		m[e.Key] = e.Value
	}
	return m
}

// writeLines writes flow_artifacts/, instance_results.jsonl and
// flow_outputs/output.jsonl, reading the record one line at a time.
func writeLines(ctx context.Context, src, name, dst string) (err error) {
	lines, err := OpenLines(src)
	if err != nil {
		return err
	}
	defer lines.Close()
	for _, d := range []string{DLFlowArtifacts, DLFlowOutputs} {
		if err := os.MkdirAll(filepath.Join(dst, d), 0o755); err != nil {
			return fault.Wrap(fault.Failed, err, "cannot create %s", d)
		}
	}
	inst, err := createJSONL(filepath.Join(dst, DLInstanceResults))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := inst.close(); err == nil {
			err = cerr
		}
	}()
	outs, err := createJSONL(filepath.Join(dst, DLFlowOutputs, DLOutputFile))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := outs.close(); err == nil {
			err = cerr
		}
	}()
	nums := lines.Numbers()
	for start := 0; start < len(nums); start += flowArtifactBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+flowArtifactBatch, len(nums))
		p := filepath.Join(dst, DLFlowArtifacts, fmt.Sprintf("%09d_%09d.jsonl", nums[start], nums[end-1]))
		fa, err := createJSONL(p)
		if err != nil {
			return err
		}
		for i := start; i < end; i++ {
			r, err := lines.At(i)
			if err != nil {
				_ = fa.close() // the read error is the one to report
				return err
			}
			if err := writeLine(fa, inst, outs, name, r); err != nil {
				_ = fa.close() // the write error is the one to report
				return fault.Wrap(fault.Failed, err, "cannot write line %d", r.LineNumber)
			}
		}
		if err := fa.close(); err != nil {
			return fault.Wrap(fault.Failed, err, "cannot write %s", p)
		}
	}
	return nil
}

func writeLine(fa, inst, outs *jsonl, name string, r *executor.LineResult) error {
	// promptflow's order: the line's inputs, then its line number.
	inputs := append(make(pyjson.Object, 0, len(r.Inputs)+1), r.Inputs...)
	inputs.Set("line_number", r.LineNumber)
	var output any
	if r.Outputs != nil {
		output = r.Outputs
	}
	info := map[string]any{
		"run_id":         fmt.Sprintf("%s_%d", name, r.LineNumber),
		"status":         r.Status,
		"error":          errorDict(r.Error),
		"inputs":         inputs,
		"output":         output,
		"metrics":        nil,
		"request":        nil,
		"parent_run_id":  name,
		"root_run_id":    name,
		"source_run_id":  nil,
		"flow_id":        "default_flow_id",
		"start_time":     ts(r.Start),
		"end_time":       ts(r.End),
		"index":          r.LineNumber,
		"api_calls":      nil,
		"variant_id":     "",
		"name":           "",
		"description":    "",
		"tags":           nil,
		"system_metrics": map[string]any{"duration": r.End.Sub(r.Start).Seconds()},
		"result":         output,
		"upload_metrics": false,
	}
	if err := fa.put(map[string]any{
		"line_number": r.LineNumber, "run_info": info, "start_time": ts(r.Start), "end_time": ts(r.End),
		"name": "", "description": "", "status": r.Status, "tags": nil,
	}); err != nil {
		return err
	}
	if err := inst.put(flat(r)); err != nil {
		return err
	}
	if r.Status != executor.StatusCompleted {
		return nil
	}
	o := pyjson.Object{{Key: "line_number", Value: r.LineNumber}}
	for _, e := range r.Outputs {
		o.Set(e.Key, e.Value)
	}
	return outs.put(o)
}

// writeNodeRuns writes node_artifacts/<node>/<line>.jsonl (aggregation
// nodes: aggregation.jsonl), one node run each, streaming node_runs.jsonl.
func writeNodeRuns(ctx context.Context, src, name, dst string) error {
	p := filepath.Join(src, NodeRunsFile)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot read %s", p)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	made := map[string]bool{}
	for n := 0; ; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // a torn tail is left out
		}
		if err != nil {
			return fault.Wrap(fault.Failed, err, "cannot read %s", p)
		}
		var r executor.NodeRunRecord
		if decodeNumbers(b, &r) != nil || r.Node == "" || !filepath.IsLocal(r.Node) || filepath.Base(r.Node) != r.Node {
			continue
		}
		dir := filepath.Join(dst, DLNodeArtifacts, r.Node)
		if !made[r.Node] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fault.Wrap(fault.Failed, err, "cannot create %s", dir)
			}
			made[r.Node] = true
		}
		file := fmt.Sprintf("%09d.jsonl", r.Line)
		parent := fmt.Sprintf("%s_%d", name, r.Line)
		var line any = r.Line
		if r.Line < 0 {
			file, parent, line = "aggregation.jsonl", name, nil
		}
		info := map[string]any{
			"node":           r.Node,
			"flow_run_id":    name,
			"run_id":         fmt.Sprintf("%s_%s_%v", name, r.Node, lineOrAgg(r.Line)),
			"status":         r.Status,
			"inputs":         r.Inputs,
			"output":         r.Output,
			"metrics":        nil,
			"error":          errorDict(r.Error),
			"parent_run_id":  parent,
			"start_time":     ts(r.Start),
			"end_time":       ts(r.End),
			"index":          line,
			"api_calls":      nil,
			"variant_id":     "",
			"cached_run_id":  nil,
			"system_metrics": map[string]any{"duration": r.End.Sub(r.Start).Seconds()},
			"result":         r.Output,
		}
		rec, err := marshalLine(map[string]any{
			"node_name": r.Node, "line_number": line, "run_info": info,
			"start_time": ts(r.Start), "end_time": ts(r.End), "status": r.Status,
		})
		if err != nil {
			continue
		}
		if err := appendTo(filepath.Join(dir, file), rec); err != nil {
			return err
		}
	}
}

func lineOrAgg(n int) any {
	if n < 0 {
		return "reduce"
	}
	return n
}

func appendTo(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot write %s", p)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot write %s", p)
	}
	return nil
}

// copyFile copies a regular file; a missing source is an empty file when
// emptyIfMissing, else an error.
func copyFile(from, to string, emptyIfMissing bool) error {
	in, err := os.Open(from)
	if errors.Is(err, fs.ErrNotExist) && emptyIfMissing {
		return writeFile(to, nil)
	}
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot read %s", from)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot write %s", to)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot copy %s to %s", from, to)
	}
	return nil
}

// copyTree copies regular files and folders; symlinks and special files
// are left out (a snapshot holds none; the copy must not follow one out).
func copyTree(ctx context.Context, from, to string) error {
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(to, 0o755)
	}
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fault.Wrap(fault.Failed, err, "cannot read %s", p)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		switch {
		case d.IsDir() && d.Name() == "__pycache__":
			return filepath.SkipDir // the workers' bytecode, not part of the snapshot
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target, false)
		}
		return nil
	})
}
