// Package flexmeta reads a flex flow entry's signature — inputs, init
// arguments and typed outputs, with promptflow's value types and defaults —
// the way pfazure writes it into the flow.flex.yaml it uploads (recordings
// test_eager_flow_meta_generation, test_eager_flow_run_without_yaml). The
// entry's module is parsed with Python's ast module in a child process and
// never imported: no user code runs in pfz or on its behalf.
package flexmeta

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

//go:embed meta.py
var script string

// Port is one input, output or init argument.
type Port struct {
	Name string
	Type string
	// Default is the default as promptflow records it (str() of the value,
	// "" for None); nil when there is none.
	Default *string
}

// Signature is an entry's interface; a section is empty when the entry has
// none (no init for a function, no outputs unless the return type is a
// dataclass or TypedDict).
type Signature struct {
	Inputs  []Port
	Outputs []Port
	Init    []Port
}

// Read reads the signature of entry (module:function or module:Class), the
// module found under codeDir, with the Python interpreter python.
func Read(ctx context.Context, python, codeDir, entry string) (*Signature, error) {
	cmd := exec.CommandContext(ctx, python, "-I", "-c", script, codeDir, entry)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fault.Wrap(fault.Failed, err, "cannot read the signature of flex entry %s with %s: %s", entry, python, strings.TrimSpace(errb.String())).
			WithHint("pfz reads the entry's Python signature (without running it) to write the flow.flex.yaml it uploads; set the python setting to a Python 3.9+ interpreter")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot read the signature of flex entry %s: unexpected output %q", entry, out.String())
	}
	if e, ok := raw["error"]; ok {
		var msg string
		_ = json.Unmarshal(e, &msg)
		return nil, fault.New(fault.Validation, "flex entry %s: %s", entry, msg).
			WithHint("annotate the entry's parameters with str, int, float, bool, list or dict (or a connection or model configuration class), and its return with str, a dataclass or a TypedDict")
	}
	sig := &Signature{}
	for key, dst := range map[string]*[]Port{"inputs": &sig.Inputs, "outputs": &sig.Outputs, "init": &sig.Init} {
		var pairs [][2]json.RawMessage
		if r, ok := raw[key]; ok {
			if err := json.Unmarshal(r, &pairs); err != nil {
				return nil, fault.Wrap(fault.Failed, err, "cannot read the signature of flex entry %s", entry)
			}
		}
		for _, p := range pairs {
			var name string
			var port struct {
				Type    string  `json:"type"`
				Default *string `json:"default"`
			}
			if json.Unmarshal(p[0], &name) != nil || json.Unmarshal(p[1], &port) != nil {
				return nil, fault.New(fault.Failed, "cannot read the signature of flex entry %s: bad port %s", entry, p[0])
			}
			*dst = append(*dst, Port{Name: name, Type: port.Type, Default: port.Default})
		}
	}
	return sig, nil
}

// String is the signature as one line, for messages.
func (s *Signature) String() string {
	names := func(ps []Port) string {
		var n []string
		for _, p := range ps {
			n = append(n, p.Name+": "+p.Type)
		}
		return strings.Join(n, ", ")
	}
	return fmt.Sprintf("inputs (%s) init (%s) outputs (%s)", names(s.Inputs), names(s.Init), names(s.Outputs))
}
