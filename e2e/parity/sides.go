package parity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// side runs cases on one implementation.
type side interface {
	name() string
	// run makes the run name of the case from runYML and reads what it
	// recorded. An error means the harness itself failed (not the run).
	run(ctx context.Context, cs *Case, runYML, name string) (*Result, error)
}

// command is one process a side ran, kept for failure messages.
type command struct {
	args           []string
	dir            string
	stdout, stderr bytes.Buffer
	code           int
}

func runCommand(ctx context.Context, env []string, dir string, logDir, label string, name string, args ...string) (*command, error) {
	c := &command{args: append([]string{name}, args...), dir: dir}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &c.stdout, &c.stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		c.code = ee.ExitCode()
	default:
		return c, fmt.Errorf("%s: %w\n%s", strings.Join(c.args, " "), err, tail(c.stderr.String(), 3000))
	}
	if logDir != "" {
		_ = os.WriteFile(filepath.Join(logDir, label+".stdout"), c.stdout.Bytes(), 0o644)
		_ = os.WriteFile(filepath.Join(logDir, label+".stderr"), c.stderr.Bytes(), 0o644)
	}
	return c, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// pfSide runs promptflow: `pf run create -f run.yml --name NAME` in the
// run.yml's folder, then reads the run folder under HOME/.promptflow/.runs:
// each line's record (flow_artifacts/*.jsonl: status, inputs, output) and
// metrics.json. The run's status is the last JSON document pf prints.
type pfSide struct {
	pf     string
	env    []string
	home   string
	logDir string
}

func (s *pfSide) name() string { return "promptflow" }

func (s *pfSide) run(ctx context.Context, cs *Case, runYML, name string) (*Result, error) {
	env := slices.Clone(s.env)
	for k, v := range cs.PFEnv {
		env = append(env, k+"="+v)
	}
	c, err := runCommand(ctx, env, filepath.Dir(runYML), s.logDir, name+".pf", s.pf,
		"run", "create", "--file", runYML, "--name", name)
	if err != nil {
		return nil, err
	}
	res := &Result{Outcome: outcomeCompleted, Lines: map[int]*Line{}, Metrics: newObject()}
	if c.code != 0 {
		// pf failed; it may still have recorded lines (it can crash after
		// running them), which are then compared.
		res.Outcome = outcomeFailed
		res.Detail = fmt.Sprintf("pf exit code %d: %s", c.code, pfError(c.stderr.String()+c.stdout.String()))
	} else {
		out := c.stdout.String()
		i := strings.LastIndex("\n"+out, "\n{\n")
		if i < 0 {
			return nil, fmt.Errorf("pf run create printed no run:\n%s", tail(out, 3000))
		}
		doc, err := decodeJSON(out[i:])
		if err != nil {
			return nil, fmt.Errorf("pf run create's run: %w\n%s", err, tail(out, 3000))
		}
		run := members(doc)
		if status, _ := run["status"].(string); status != outcomeCompleted {
			res.Outcome = outcomeFailed
			res.Detail = fmt.Sprintf("status %s: %s", status, pfError(c.stderr.String()))
		}
	}
	dir := filepath.Join(s.home, ".promptflow", ".runs", name)
	files, err := filepath.Glob(filepath.Join(dir, "flow_artifacts", "*.jsonl"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			v, err := decodeJSON(l)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			rec := members(v)
			info := members(rec["run_info"])
			n, ok := rec["line_number"].(Number)
			if !ok || info == nil {
				return nil, fmt.Errorf("%s: a record without line_number or run_info: %s", f, tail(l, 500))
			}
			num, err := strconv.Atoi(string(n))
			if err != nil {
				return nil, fmt.Errorf("%s: line_number %s: %w", f, n, err)
			}
			line := &Line{Status: fmt.Sprint(info["status"])}
			if in := asObject(info["inputs"]); in != nil {
				// promptflow adds the line number to each line's inputs.
				line.Inputs = resolveImages(in.without("line_number"), filepath.Dir(f), dir).(*Object)
			}
			if o := asObject(info["output"]); o != nil {
				line.Outputs = resolveImages(o, filepath.Dir(f), filepath.Join(dir, "flow_outputs"), dir).(*Object)
			}
			res.Lines[num] = line
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "metrics.json")); err == nil {
		v, err := decodeJSON(string(b))
		if err != nil {
			return nil, fmt.Errorf("metrics.json: %w", err)
		}
		res.Metrics = asObject(v)
	}
	if len(res.Lines) == 0 && res.Outcome == outcomeFailed {
		res.Outcome = outcomeRefused
	}
	return res, nil
}

var pfErrorLine = regexp.MustCompile(`(?m)^.*(Error|error|Exception)\b.*$`)

// pfError picks the line of pf's output that says what went wrong.
func pfError(s string) string {
	var best string
	for _, m := range pfErrorLine.FindAllString(s, -1) {
		if strings.Contains(m, "azure.monitor") || strings.HasPrefix(strings.TrimSpace(m), "File ") {
			continue
		}
		best = strings.TrimSpace(m)
	}
	if best == "" {
		best = strings.TrimSpace(tail(s, 300))
	}
	return best
}

// pfzSide runs the built pfz on the local target: `pfz run create -f run.yml
// -n NAME`, then `run show -o json`, `run show-details --all-results -o
// json` and `run show-metrics -o json`, as a user reads a run.
type pfzSide struct {
	bin    string
	env    []string
	home   string // PFZ_HOME
	logDir string
}

func (s *pfzSide) name() string { return "pfz" }

func (s *pfzSide) run(ctx context.Context, _ *Case, runYML, name string) (*Result, error) {
	dir := filepath.Dir(runYML)
	c, err := runCommand(ctx, s.env, dir, s.logDir, name+".pfz", s.bin,
		"run", "create", "--target", "local", "-f", runYML, "-n", name, "-o", "json")
	if err != nil {
		return nil, err
	}
	if c.code == 2 {
		return &Result{Outcome: outcomeRefused, Detail: pfzError(c.stderr.String())}, nil
	}
	shown, err := s.json(ctx, dir, name+".show", "run", "show", "--target", "local", "-n", name, "-o", "json")
	if err != nil {
		if c.code != 0 {
			return &Result{Outcome: outcomeRefused, Detail: pfzError(c.stderr.String())}, nil
		}
		return nil, err
	}
	run := members(shown)
	status, _ := run["status"].(string)
	res := &Result{Outcome: status, Lines: map[int]*Line{}, Metrics: newObject()}
	if status != outcomeCompleted {
		res.Outcome = outcomeFailed
		res.Detail = pfzError(c.stderr.String())
		if e, ok := run["error"]; ok {
			res.Detail = show(e) + " " + res.Detail
		}
	}
	details, err := s.json(ctx, dir, name+".details", "run", "show-details", "--target", "local", "-n", name, "--all-results", "-o", "json")
	if err != nil {
		return nil, err
	}
	list, _ := details.([]any)
	runDir := filepath.Join(s.home, "runs", name)
	for _, e := range list {
		row, _ := e.(*Object)
		if row == nil {
			return nil, fmt.Errorf("pfz show-details: a line that is no object: %s", show(e))
		}
		n, ok := row.Vals["line_number"].(Number)
		if !ok {
			return nil, fmt.Errorf("pfz show-details: a line without line_number: %s", show(row))
		}
		num, err := strconv.Atoi(string(n))
		if err != nil {
			return nil, fmt.Errorf("pfz show-details: line_number %s: %w", n, err)
		}
		line := &Line{Status: fmt.Sprint(row.Vals["status"]), Inputs: newObject(), Outputs: newObject()}
		for _, k := range row.Keys { // the columns in pfz's order
			if in, ok := strings.CutPrefix(k, "inputs."); ok {
				line.Inputs.Set(in, row.Vals[k])
			} else if out, ok := strings.CutPrefix(k, "outputs."); ok {
				line.Outputs.Set(out, row.Vals[k])
			}
		}
		line.Inputs = resolveImages(line.Inputs, runDir, filepath.Join(runDir, "snapshot"), dir).(*Object)
		line.Outputs = resolveImages(line.Outputs, runDir).(*Object)
		res.Lines[num] = line
	}
	metrics, err := s.json(ctx, dir, name+".metrics", "run", "show-metrics", "--target", "local", "-n", name, "-o", "json")
	if err != nil {
		return nil, err
	}
	res.Metrics = asObject(metrics)
	if len(res.Lines) == 0 && res.Outcome == outcomeFailed {
		res.Outcome = outcomeRefused
	}
	return res, nil
}

// json runs a pfz command that must succeed and print one JSON document.
func (s *pfzSide) json(ctx context.Context, dir, label string, args ...string) (any, error) {
	c, err := runCommand(ctx, s.env, dir, s.logDir, label, s.bin, args...)
	if err != nil {
		return nil, err
	}
	if c.code != 0 {
		return nil, fmt.Errorf("pfz %s: exit code %d\n%s", strings.Join(args, " "), c.code, tail(c.stderr.String(), 2000))
	}
	v, err := decodeJSON(c.stdout.String())
	if err != nil {
		return nil, fmt.Errorf("pfz %s: %w\n%s", strings.Join(args, " "), err, tail(c.stdout.String(), 2000))
	}
	return v, nil
}

// pfzError is the error line pfz printed.
func pfzError(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "error: ") {
			return l
		}
	}
	return strings.TrimSpace(tail(s, 300))
}
