package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/executor"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/run"
	"github.com/pfz-cli/pfz/internal/redact"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// resumed is the run a --resume-from submission continues: its completed
// lines (with their node runs) are reused, the others run again.
type resumed struct {
	name  string
	dir   string
	lines *run.Lines
	// nodes are the node runs of the completed lines, by line number.
	nodes map[int][]executor.NodeRunRecord
	// flow is the flow file the resumed run was made from (the new run
	// executes its snapshot).
	flow string
	// reused counts the completed lines.
	reused int
}

var _ executor.ReusedLines = (*resumed)(nil)

// Line returns line n of the resumed run when it completed.
func (p *resumed) Line(_ context.Context, n int) (*executor.LineResult, []executor.NodeRunRecord, bool, error) {
	res, ok, err := p.lines.Get(n)
	if err != nil || !ok || res.Status != executor.StatusCompleted {
		return nil, nil, false, err
	}
	return res, p.nodes[n], true, nil
}

func (p *resumed) Close() error { return p.lines.Close() }

// resumeSubmission turns a --resume-from submission (name, display name,
// description, tags, resources and identity) into the full submission of
// the new run: the resumed run's flow snapshot (the files it executed, not
// the flow folder as it is now), data, column mapping, variant,
// connections, environment variables, init and session, as it recorded
// them. The resumed run must have ended and its data must be unchanged
// (resuming over other data would mix two data sets in one run). Values
// the record keeps masked (secrets are never written into a run folder)
// cannot be resumed: the error names them.
func (r *Runs) resumeSubmission(ctx context.Context, sub *workspace.Submission) (*workspace.Submission, *resumed, error) {
	old := sub.ResumeFrom
	rec, err := r.current(ctx, old)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil, nil, fault.New(fault.Validation, "the run to resume, %s, does not exist on the local target", old).
				WithHint("`pfz run list` shows the local runs")
		}
		return nil, nil, err
	}
	if !workspace.IsTerminal(rec.Status) {
		return nil, nil, fault.New(fault.Validation, "run %s is %s: only a run that has ended can be resumed", old, rec.Status).
			WithHint("wait for it with `pfz run stream -n %s` or stop it with `pfz run cancel -n %s`, then resume it", old, old)
	}
	dir := r.st.RunDir(old)
	var prev workspace.Submission
	b, err := os.ReadFile(filepath.Join(dir, run.SubmissionFile))
	if err == nil {
		err = json.Unmarshal(b, &prev)
	}
	if err != nil {
		return nil, nil, fault.Wrap(fault.Failed, err, "cannot read how run %s was submitted", old).
			WithHint("its run folder %s is damaged; create a new run with `pfz run create`", dir)
	}
	if key := maskedSetting(&prev); key != "" {
		return nil, nil, fault.New(fault.Validation, "run %s cannot be resumed: its %s was recorded masked (pfz keeps no secrets in run folders) and would run as %q", old, key, redact.Masked).
			WithHint("keep the secret in a connection and refer to it (${my_connection.api_key}), or set it in pfz's environment instead of the run; then create a new run with `pfz run create`")
	}
	if prev.Snapshot == nil || prev.Snapshot.FlowFile == "" {
		return nil, nil, fault.New(fault.Failed, "run %s recorded no flow snapshot", old).
			WithHint("create a new run with `pfz run create`")
	}
	if err := checkDataUnchanged(ctx, old, prev.Data); err != nil {
		return nil, nil, err
	}

	// The new run executes the resumed run's snapshot.
	snapDir := filepath.Join(dir, run.SnapshotDir)
	snap := *prev.Snapshot
	snap.Files = make([]workspace.FileRef, len(prev.Snapshot.Files))
	for i, f := range prev.Snapshot.Files {
		abs := filepath.Join(snapDir, filepath.FromSlash(f.Rel))
		st, err := os.Stat(abs)
		if err != nil {
			return nil, nil, fault.Wrap(fault.Failed, err, "the snapshot of run %s lacks %s", old, f.Rel).
				WithHint("its run folder %s is damaged; create a new run with `pfz run create`", dir)
		}
		snap.Files[i] = workspace.FileRef{Rel: f.Rel, Abs: abs, Size: st.Size()}
	}

	full := prev
	full.Name, full.DisplayName, full.Description, full.Tags = sub.Name, sub.DisplayName, sub.Description, sub.Tags
	full.ResumeFrom = old
	full.Snapshot = &snap
	full.Flow = filepath.Join(snapDir, filepath.FromSlash(snap.FlowFile))
	full.LineTimeout = time.Duration(rec.LineTimeoutSeconds) * time.Second
	if sub.Runtime != "" {
		full.Runtime = sub.Runtime
	}
	if sub.Resources != (workspace.Resources{}) {
		full.Resources = sub.Resources
	}
	if sub.Identity.Type != "" {
		full.Identity = sub.Identity
	}

	p, err := openResumed(old, dir)
	if err != nil {
		return nil, nil, err
	}
	p.flow = prev.Flow
	return &full, p, nil
}

// maskedSetting names the first recorded setting whose value was masked.
func maskedSetting(s *workspace.Submission) string {
	var found []string
	for k, v := range s.EnvironmentVariables {
		if strings.Contains(v, redact.Masked) {
			found = append(found, "environment variable "+k)
		}
	}
	for node, kv := range s.Connections {
		for k, v := range kv {
			if strings.Contains(v, redact.Masked) {
				found = append(found, "connection setting "+node+"."+k)
			}
		}
	}
	var walk func(what, path string, v any)
	walk = func(what, path string, v any) {
		switch t := v.(type) {
		case string:
			if strings.Contains(t, redact.Masked) {
				found = append(found, what+" "+path)
			}
		case map[string]any:
			for k, x := range t {
				walk(what, strings.TrimPrefix(path+"."+k, "."), x)
			}
		case []any:
			for i, x := range t {
				walk(what, fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	for k, v := range s.Init {
		walk("init argument", k, v)
	}
	for k, v := range s.ColumnMapping {
		walk("column mapping of", k, v)
	}
	if len(found) == 0 {
		return ""
	}
	sort.Strings(found)
	return found[0]
}

// checkDataUnchanged refuses to resume over data that changed since the
// run read it.
func checkDataUnchanged(ctx context.Context, old string, d *workspace.Data) error {
	if d == nil || d.Local == "" || d.Hash == "" {
		return nil
	}
	st, err := os.Stat(d.Local)
	if err != nil {
		return fault.Wrap(fault.Validation, err, "the data of run %s, %s, can no longer be read", old, d.Local).
			WithHint("put the data back where the run read it, or create a new run with `pfz run create`")
	}
	var hash string
	if st.IsDir() {
		files, err := snapshot.ListDir(ctx, d.Local)
		if err != nil {
			return err
		}
		hash, err = snapshot.Hash(ctx, files)
		if err != nil {
			return err
		}
	} else if hash, err = snapshot.HashFile(ctx, d.Local); err != nil {
		return err
	}
	if hash != d.Hash {
		return fault.New(fault.Validation, "the data of run %s, %s, changed since the run read it: resuming would mix lines of two data sets", old, d.Local).
			WithHint("restore the data the run read, or create a new run of the changed data with `pfz run create`")
	}
	return nil
}

// openResumed indexes the resumed run's lines and reads the node runs of
// its completed lines.
func openResumed(name, dir string) (*resumed, error) {
	lines, err := run.OpenLines(dir)
	if err != nil {
		return nil, err
	}
	p := &resumed{name: name, dir: dir, lines: lines, nodes: map[int][]executor.NodeRunRecord{}}
	completed := map[int]bool{}
	for i := 0; i < lines.Len(); i++ {
		res, err := lines.At(i)
		if err != nil {
			lines.Close()
			return nil, err
		}
		if res.Status == executor.StatusCompleted {
			completed[res.LineNumber] = true
		}
	}
	p.reused = len(completed)
	np := filepath.Join(dir, run.NodeRunsFile)
	f, err := os.Open(np)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		lines.Close()
		return nil, fault.Wrap(fault.Failed, err, "cannot read %s", np)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' { // a torn last record is left out
			var nr executor.NodeRunRecord
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if derr := dec.Decode(&nr); derr != nil {
				lines.Close()
				return nil, fault.Wrap(fault.Failed, derr, "%s is damaged", np)
			}
			if completed[nr.Line] {
				p.nodes[nr.Line] = append(p.nodes[nr.Line], nr)
			}
		}
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			lines.Close()
			return nil, fault.Wrap(fault.Failed, err, "cannot read %s", np)
		}
	}
}

// copyImages gives the new run the images its reused lines refer to
// (images/<id>.<ext>, relative to the run folder).
func copyImages(from, to string) error {
	src := filepath.Join(from, run.ImagesDir)
	entries, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot read %s", src)
	}
	dst := filepath.Join(to, run.ImagesDir)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return fault.Wrap(fault.Failed, err, "cannot create %s", dst)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return fault.Wrap(fault.Failed, err, "cannot read %s", filepath.Join(src, e.Name()))
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			return fault.Wrap(fault.Failed, err, "cannot write %s", filepath.Join(dst, e.Name()))
		}
	}
	return nil
}
