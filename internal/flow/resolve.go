package flow

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
)

// flowFileNames are searched in a flow folder, in this order (§3.10).
var flowFileNames = []string{"flow.dag.yaml", "flow.dag.yml", "flow.flex.yaml", "flow.flex.yml"}

// maxFlowFile bounds what Load reads: a flow file is a few kilobytes, and a
// huge file is a mistake (a data file passed as the flow) better named early.
const maxFlowFile = 16 << 20

// Resolve finds the flow file for path: a folder is searched for
// flow.dag.yaml, flow.dag.yml, flow.flex.yaml and flow.flex.yml; a file must
// end in .yaml, .yml or .prompty. The result is the path joined as given
// (not made absolute), so diagnostics name what the user typed. Errors are
// *fault.Error of kind Validation with a hint.
func Resolve(path string) (string, error) {
	if path == "" {
		return "", fault.New(fault.Validation, "no flow path given").
			WithHint("pass the flow folder (holding flow.dag.yaml) or the flow file")
	}
	st, err := os.Stat(path)
	if err != nil {
		abs, _ := filepath.Abs(path)
		if errors.Is(err, fs.ErrNotExist) {
			// The message already says it all; the stat error would repeat it.
			return "", fault.New(fault.Validation, "flow path %s does not exist", abs).
				WithHint("check the path; relative paths are taken from the current folder (or from run.yml's folder inside run.yml)")
		}
		return "", fault.Wrap(fault.Validation, err, "cannot read flow path %s", abs).
			WithHint("check that the path is readable by you")
	}
	if st.IsDir() {
		var found []string
		for _, name := range flowFileNames {
			if fi, err := os.Stat(filepath.Join(path, name)); err == nil && !fi.IsDir() {
				found = append(found, name)
			}
		}
		abs, _ := filepath.Abs(path)
		switch len(found) {
		case 0:
			return "", fault.New(fault.Validation, "found neither flow.dag.yaml nor flow.flex.yaml in %s", abs).
				WithHint("pass the folder that holds flow.dag.yaml, or name the flow file itself (a .yaml, .yml or .prompty file)")
		case 1:
			return filepath.Join(path, found[0]), nil
		default:
			return "", fault.New(fault.Validation, "multiple flow files %s exist in %s", strings.Join(found, ", "), abs).
				WithHint("name the flow file to use, or remove the extra one")
		}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".prompty":
		return path, nil
	}
	return "", fault.New(fault.Validation, "the flow file suffix must be yaml, yml or prompty; cannot be %q", filepath.Ext(path)).
		WithHint("pass the flow folder or its flow.dag.yaml")
}

// Load resolves path, reads the flow file and parses it. The error is non-nil
// only when the file cannot be found or read; problems in its content are in
// the diagnostics.
func Load(path string) (*Flow, diag.List, error) {
	file, err := Resolve(path)
	if err != nil {
		return nil, nil, err
	}
	// A FIFO or device named *.yaml would block or never end.
	if st, err := os.Stat(file); err == nil && !st.Mode().IsRegular() {
		return nil, nil, fault.New(fault.Validation, "flow file %s is not a regular file", file).
			WithHint("pass the flow folder or its flow.dag.yaml")
	}
	fh, err := os.Open(file)
	if err != nil {
		return nil, nil, fault.Wrap(fault.Validation, err, "cannot read flow file %s", file).
			WithHint("check that the file exists and is readable by you")
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFlowFile+1))
	if err != nil {
		return nil, nil, fault.Wrap(fault.Validation, err, "cannot read flow file %s", file).
			WithHint("check that the path names a readable regular file")
	}
	if len(data) > maxFlowFile {
		return nil, nil, fault.New(fault.Validation, "flow file %s is larger than %d MiB", file, maxFlowFile>>20).
			WithHint("a flow file is a small YAML; check that the path names the flow and not a data file")
	}
	f, ds := Parse(file, data)
	return f, ds, nil
}

// Check loads the flow and validates it: the diagnostics of both steps, in
// file order.
func Check(path string, opts ValidateOptions) (*Flow, diag.List, error) {
	f, ds, err := Load(path)
	if err != nil {
		return nil, nil, err
	}
	ds = append(ds, f.Validate(opts)...)
	ds.Sort()
	return f, ds, nil
}
