package runspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/session"
)

type mode int

const (
	modeFile mode = iota + 1
	modeFlow
	modeResume
)

// Top-level run.yml fields (pfazure's RunSchema), in the order messages list them.
var knownFields = []string{
	"$schema", "name", "display_name", "description", "tags", "properties",
	"flow", "data", "run", "column_mapping", "variant", "connections",
	"environment_variables", "init", "runtime", "resources", "identity",
}

// dumpOnly are fields pfazure drops silently on load.
var dumpOnly = map[string]bool{"status": true, "command": true, "outputs": true}

var resourceKeys = []string{"instance_type", "compute", "idle_time_before_shutdown_minutes"}

// resumeAllowed are the keys --resume-from accepts; resumeRejected those it refuses.
var resumeRejected = []string{"flow", "data", "run", "column_mapping", "variant", "connections", "environment_variables", "init"}

// pyFlexEntry is promptflow's FlowEntryRegex.Python: a module:function given to --flow.
var pyFlexEntry = regexp.MustCompile(`^[a-zA-Z0-9_.]+:[a-zA-Z0-9_]+$`)

var registryFlowPattern = regexp.MustCompile(`^azureml://registries/([^/]+)/models/([^/]+)/versions/([^/]+)$`)

type loader struct {
	opts  LoadOptions
	cwd   string
	file  string
	base  string
	mode  mode
	diags diag.List
	spec  *Spec
	// runtimeFromDoc is set when runtime came from the YAML or --set.
	runtimeFromDoc bool
}

// Load reads the run definition: the -f YAML if given (relative paths from its
// folder), --set, then the flags, with pfazure's precedence (flag > --set >
// YAML with -f; --set > flag with --flow; the YAML runtime beats --runtime).
// It checks every field's type and keys and that local paths exist. Problems
// in the definition are diagnostics (the error is then fault.Validation);
// problems with the flags themselves (exclusive options, KEY=VALUE tokens)
// are a fault.Usage error. The Spec is returned even when there are errors,
// for tools that show what was understood.
func Load(opts LoadOptions) (*Spec, diag.List, error) {
	cwd := opts.CWD
	if cwd == "" {
		cwd = "."
	}
	if abs, err := filepath.Abs(cwd); err == nil {
		cwd = abs
	}
	l := &loader{opts: opts, cwd: cwd, spec: &Spec{CWD: cwd, Pos: map[string]Pos{}}}
	f := opts.Flags

	given := 0
	for _, s := range []string{f.File, f.Flow, f.ResumeFrom} {
		if s != "" {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, nil, fault.New(fault.Usage, "More than one is provided for exclusive options: [file, flow, resume-from]").
			WithHint("give only one of --file, --flow and --resume-from")
	case given == 0:
		return nil, nil, fault.New(fault.Usage, "To create a run, one of [file, flow, resume-from] must be specified.").
			WithHint("pass --file run.yml, or --flow <flow folder> with --data, or --resume-from <run name>")
	case f.File != "":
		l.mode = modeFile
	case f.Flow != "":
		l.mode = modeFlow
	default:
		l.mode = modeResume
	}

	sets, err := parseKeyValueList("--set", f.Set)
	if err != nil {
		return nil, nil, err
	}
	flagSets, err := l.flagOverrides()
	if err != nil {
		return nil, nil, err
	}

	var root *node
	switch l.mode {
	case modeFile:
		l.file = f.File
		if !filepath.IsAbs(l.file) {
			l.file = filepath.Join(cwd, l.file)
		}
		l.file = filepath.Clean(l.file)
		l.base = filepath.Dir(l.file)
		l.spec.File = l.file
		root, err = l.readYAML()
		if err != nil {
			return nil, nil, err
		}
		if root == nil { // diagnostics say why
			return l.spec, l.diags, l.result()
		}
		if err := l.applySets(root, sets); err != nil {
			return nil, nil, err
		}
		if err := l.applyFlags(root, flagSets); err != nil {
			return nil, nil, err
		}
	default:
		l.base = cwd
		root = mapNode(Pos{})
		if err := l.applyFlags(root, flagSets); err != nil {
			return nil, nil, err
		}
		if err := l.applySets(root, sets); err != nil {
			return nil, nil, err
		}
	}
	l.spec.BaseDir = l.base

	if l.mode == modeResume {
		if err := l.checkResume(root); err != nil {
			return nil, nil, err
		}
	}
	l.decode(root)
	l.crossChecks()
	return l.spec, l.diags, l.result()
}

func (l *loader) result() error {
	if !l.diags.HasErrors() {
		return nil
	}
	what := "the run definition"
	if l.file != "" {
		what = l.file
	}
	n := len(l.diags.Errors())
	plural := "s"
	if n == 1 {
		plural = ""
	}
	e := fault.Wrap(fault.Validation, l.diags.Err(), "%s has %d error%s", what, n, plural)
	if h := l.diags.Errors()[0].Hint; h != "" {
		e.Hint = h
	}
	return e
}

func (l *loader) add(sev diag.Severity, code string, p Pos, hint, format string, args ...any) {
	l.diags = append(l.diags, diag.Diagnostic{
		Severity: sev, Code: code, File: p.File, Line: p.Line, Column: p.Column,
		Message: fmt.Sprintf(format, args...), Hint: hint,
	})
}

func (l *loader) errorf(code string, p Pos, hint, format string, args ...any) {
	l.add(diag.Error, code, p, hint, format, args...)
}

func (l *loader) warnf(code string, p Pos, hint, format string, args ...any) {
	l.add(diag.Warning, code, p, hint, format, args...)
}

// fromFlag reports whether a value came from a flag rather than the file.
func (l *loader) fromFlag(p Pos) bool { return p.Line == 0 && p.File != l.file }

// readYAML parses the run file into a tree; nil with diagnostics when it
// cannot be used.
func (l *loader) readYAML() (*node, error) {
	st, err := os.Stat(l.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fault.New(fault.Usage, "run file %s does not exist", l.file).
			WithHint("--file paths are relative to the working directory %s", l.cwd)
	case err != nil:
		return nil, fault.Wrap(fault.Usage, err, "cannot read the run file %s", l.file).
			WithHint("check that the file is readable by you")
	case st.IsDir():
		e := fault.New(fault.Usage, "--file %s is a folder, not a run file", l.file)
		for _, name := range []string{"run.yml", "run.yaml"} {
			if fi, err := os.Stat(filepath.Join(l.file, name)); err == nil && fi.Mode().IsRegular() {
				return nil, e.WithHint("did you mean --file %s?", filepath.Join(l.file, name))
			}
		}
		return nil, e.WithHint("pass the run.yml itself; to run a flow folder without a run file, use --flow %s --data <data>", l.file)
	case !st.Mode().IsRegular():
		// A FIFO or a device would block or never end.
		return nil, fault.New(fault.Usage, "--file %s is not a regular file", l.file).
			WithHint("pass the run.yml itself")
	case st.Size() > maxRunFile:
		return nil, fault.New(fault.Usage, "run file %s is larger than %d MiB", l.file, maxRunFile>>20).
			WithHint("a run file is a small YAML; check that --file names the run.yml and not a data file")
	}
	data, err := os.ReadFile(l.file)
	if err != nil {
		return nil, fault.Wrap(fault.Usage, err, "cannot read the run file %s", l.file).
			WithHint("check that the file is readable by you")
	}
	return l.parseYAML(data), nil
}

// maxRunFile bounds what is read of a run file: a run.yml is a few hundred
// bytes, and a huge file is a mistake (a data file passed as -f).
const maxRunFile = 16 << 20

func (l *loader) parseYAML(data []byte) *node {
	start := Pos{File: l.file, Line: 1, Column: 1}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := flow.SafeDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.errorf(CodeYAML, start, "write at least flow: and data: (or run:)", "the run file is empty")
			return nil
		}
		l.yamlError(data, err)
		return nil
	}
	var extra yaml.Node
	switch err := flow.SafeDecode(dec, &extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.yamlError(data, err) // text after the document that is no document
		return nil
	default:
		l.errorf(CodeYAML, Pos{File: l.file, Line: extra.Line, Column: extra.Column},
			"remove the second document (the line with ---)", "the run file holds more than one YAML document")
		return nil
	}
	c := &converter{file: l.file}
	root, err := c.convert(&doc, 0)
	if err != nil {
		var ce *convError
		if !errors.As(err, &ce) {
			ce = &convError{pos: start, msg: err.Error(), hint: "fix the YAML"}
		}
		l.errorf(CodeYAML, ce.pos, ce.hint, "cannot use the YAML: %s", ce.msg)
		return nil
	}
	for _, d := range c.dups {
		l.errorf(CodeDuplicateKey, d.next, "remove one of them", "%s is given twice in one mapping (first on line %d)", d.key, d.first.Line)
	}
	if root.isNull() {
		l.errorf(CodeYAML, start, "write at least flow: and data: (or run:)", "the run file is empty")
		return nil
	}
	if root.kind != kindMap {
		l.errorf(CodeType, root.pos, "a run file is a mapping of keys such as flow:, data: and column_mapping:",
			"the run file must be a mapping, not %s", root.describe())
		return nil
	}
	return root
}

// yamlError reports a YAML syntax error at the mistake, with a hint.
func (l *loader) yamlError(data []byte, err error) {
	d := flow.YAMLError(l.file, data, err)
	p := Pos{File: l.file, Line: d.Line, Column: d.Column}
	if p.Line < 1 {
		p.Line, p.Column = 1, 1
	}
	l.errorf(CodeYAML, p, d.Hint, "%s", d.Message)
}

// override is one value a flag sets, at a dotted path.
type override struct {
	path []string
	val  *node
}

// flagOverrides turns the flags into values, in pfazure's order. Flag files
// (.env, init) are read here, relative to the CWD, as pfazure's argparse
// actions read them.
func (l *loader) flagOverrides() ([]override, error) {
	f := l.opts.Flags
	var out []override
	str := func(key, flag, v string) {
		if v != "" {
			out = append(out, override{path: []string{key}, val: scalarNode(v, Pos{File: flag})})
		}
	}
	kvMap := func(key, flag string, kvs []keyValue) {
		n := mapNode(Pos{File: flag})
		for _, kv := range kvs {
			n.put(kv.Key, Pos{File: flag + " " + kv.Token}, scalarNode(kv.Value, Pos{File: flag + " " + kv.Token}))
		}
		out = append(out, override{path: []string{key}, val: n})
	}

	str("name", "--name", f.Name)
	str("flow", "--flow", f.Flow)
	str("variant", "--variant", f.Variant)
	str("data", "--data", f.Data)
	if len(f.ColumnMapping) > 0 {
		kvs, err := parseKeyValueList("--column-mapping", f.ColumnMapping)
		if err != nil {
			return nil, err
		}
		kvMap("column_mapping", "--column-mapping", kvs)
	}
	str("run", "--run", f.Run)
	if f.EnvironmentVariablesGiven || len(f.EnvironmentVariables) > 0 {
		kvs, issues, found, err := envVarTokens("--environment-variables", f.EnvironmentVariables, l.cwd, l.opts.LookupEnv)
		if err != nil {
			return nil, err
		}
		for _, is := range issues {
			l.warnf(CodeDotenv, Pos{File: is.File, Line: is.Line}, is.Hint, "%s", is.Message)
		}
		if len(f.EnvironmentVariables) == 0 {
			if found == "" {
				l.warnf(CodeEnvironmentFile, Pos{File: "--environment-variables"},
					"pass KEY=VALUE pairs or a .env path, or create a .env file",
					"--environment-variables found no .env file from %s upward; the run gets no environment variables", l.cwd)
			} else {
				l.spec.EnvironmentFile = found
			}
		}
		kvMap("environment_variables", "--environment-variables", kvs)
	}
	if len(f.Connections) > 0 {
		kvs, err := parseConnections("--connections", f.Connections)
		if err != nil {
			return nil, err
		}
		n := mapNode(Pos{File: "--connections"})
		for _, kv := range kvs {
			node, key, _ := strings.Cut(kv.Key, ".")
			p := Pos{File: "--connections " + kv.Token}
			sub := n.get(node)
			if sub == nil {
				sub = mapNode(p)
				n.put(node, p, sub)
			}
			sub.put(key, p, scalarNode(kv.Value, p))
		}
		out = append(out, override{path: []string{"connections"}, val: n})
	}
	if len(f.Init) > 0 {
		v, err := l.initFlag(f.Init)
		if err != nil {
			return nil, err
		}
		out = append(out, override{path: []string{"init"}, val: v})
	}
	// pfz-only flags.
	str("display_name", "--display-name", f.DisplayName)
	str("description", "--description", f.Description)
	if len(f.Tags) > 0 {
		kvs, err := parseKeyValueList("--tags", f.Tags)
		if err != nil {
			return nil, err
		}
		kvMap("tags", "--tags", kvs)
	}
	if f.InstanceType != "" {
		out = append(out, override{path: []string{"resources", "instance_type"}, val: scalarNode(f.InstanceType, Pos{File: "--vm-size"})})
	}
	if f.Compute != "" {
		out = append(out, override{path: []string{"resources", "compute"}, val: scalarNode(f.Compute, Pos{File: "--compute"})})
	}
	if f.IdleTime != "" {
		mins, err := parseIdleFlag(f.IdleTime)
		if err != nil {
			return nil, err
		}
		v := &node{kind: kindScalar, tag: tagInt, value: strconv.Itoa(mins), pos: Pos{File: "--idle-time"}}
		out = append(out, override{path: []string{"resources", "idle_time_before_shutdown_minutes"}, val: v})
	}
	if f.Identity != "" {
		v, err := identityFlag(f.Identity)
		if err != nil {
			return nil, err
		}
		out = append(out, override{path: []string{"identity"}, val: v})
	}
	return out, nil
}

// initFlag reads --init: one token without "=" is a .json/.jsonl file
// (relative to the CWD), otherwise every token is k=v.
func (l *loader) initFlag(tokens []string) (*node, error) {
	p := Pos{File: "--init"}
	if len(tokens) == 1 && !strings.Contains(tokens[0], "=") {
		path := tokens[0]
		if !filepath.IsAbs(path) {
			path = filepath.Join(l.cwd, path)
		}
		v, err := loadInputData(path)
		if err != nil {
			return nil, fault.Wrap(fault.Usage, err, "--init %s", tokens[0]).
				WithHint("--init takes k=v pairs or one .json/.jsonl file relative to %s", l.cwd)
		}
		return fromValue(v, Pos{File: "--init " + tokens[0]}), nil
	}
	kvs, err := parseKeyValueList("--init", tokens)
	if err != nil {
		return nil, err
	}
	n := mapNode(p)
	for _, kv := range kvs {
		kp := Pos{File: "--init " + kv.Token}
		n.put(kv.Key, kp, scalarNode(kv.Value, kp))
	}
	return n, nil
}

// parseIdleFlag takes whole minutes ("60") or a Go duration ("1h30m") that is
// a whole number of minutes.
func parseIdleFlag(s string) (int, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		if n < 1 {
			return 0, fault.New(fault.Usage, "--idle-time must be at least 1 minute, got %q", s).
				WithHint("give minutes (60) or a duration (1h30m)")
		}
		return n, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fault.New(fault.Usage, "--idle-time %q is neither minutes nor a duration", s).
			WithHint("give minutes (60) or a duration (1h30m)")
	}
	if d < time.Minute || d%time.Minute != 0 {
		return 0, fault.New(fault.Usage, "--idle-time must be a whole number of minutes, at least 1, got %q", s).
			WithHint("sessions shut down in whole minutes: give 60 or 1h")
	}
	return int(d / time.Minute), nil
}

func identityFlag(s string) (*node, error) {
	p := Pos{File: "--identity"}
	n := mapNode(p)
	typ, clientID, hasID := strings.Cut(s, ":")
	switch strings.ToLower(typ) {
	case "user", IdentityUser:
		if hasID {
			return nil, fault.New(fault.Usage, "--identity %s: a client id goes only with managed", s).
				WithHint("use --identity user, --identity managed or --identity managed:<client-id>")
		}
		n.put("type", p, scalarNode(IdentityUser, p))
	case IdentityManaged:
		n.put("type", p, scalarNode(IdentityManaged, p))
		if hasID {
			if clientID == "" {
				return nil, fault.New(fault.Usage, "--identity managed: needs a client id after the colon").
					WithHint("use --identity managed for the workspace's primary identity, or managed:<client-id>")
			}
			n.put("client_id", p, scalarNode(clientID, p))
		}
	default:
		return nil, fault.New(fault.Usage, "--identity %q is not an identity", s).
			WithHint("use --identity user, --identity managed or --identity managed:<client-id>")
	}
	return n, nil
}

func (l *loader) applyFlags(root *node, ovs []override) error {
	for _, o := range ovs {
		if err := setPath(root, o.path, o.val, o.val.pos.File); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) applySets(root *node, sets []keyValue) error {
	for _, kv := range sets {
		segs := strings.Split(kv.Key, ".")
		for _, s := range segs {
			if s == "" {
				return fault.New(fault.Usage, "Usage error: --set %s has an empty property name", kv.Token).
					WithHint("write dotted paths such as resources.instance_type=Standard_D4s_v3")
			}
		}
		p := Pos{File: "--set " + kv.Token}
		if err := setPath(root, segs, scalarNode(kv.Value, p), "--set "+kv.Key); err != nil {
			return err
		}
	}
	return nil
}

// setPath sets a value at a dotted path as pydash.set_ does, creating
// mappings on the way; a path through a value that is not a mapping is
// refused with pfazure's message.
func setPath(root *node, path []string, val *node, label string) error {
	cur := root
	for i, seg := range path[:len(path)-1] {
		child := cur.get(seg)
		switch {
		case child.isNull():
			child = mapNode(val.pos)
			cur.put(seg, val.pos, child)
		case child.kind == kindScalar:
			return fault.New(fault.Usage, "Cannot use '--set' on properties defined by reference strings: %s", label).
				WithHint("%s is the string %q in the run definition; set the whole %s instead",
					strings.Join(path[:i+1], "."), child.value, strings.Join(path[:i+1], "."))
		case child.kind == kindSeq:
			return fault.New(fault.Usage, "Cannot use '--set' through a list: %s", label).
				WithHint("%s is a list; run.yml has no list fields", strings.Join(path[:i+1], "."))
		}
		cur = child
	}
	cur.put(path[len(path)-1], val.pos, val)
	return nil
}

// checkResume applies pfazure's --resume-from rules: data-shaping options are
// refused, unknown ones ignored with a warning.
func (l *loader) checkResume(root *node) error {
	var rejected []string
	for _, k := range resumeRejected {
		if hasKey(root, k) {
			rejected = append(rejected, k)
		}
	}
	if len(rejected) > 0 {
		return fault.New(fault.Usage, "'resume_from' is not supported to be used with the following parameters: %s.", strings.Join(rejected, ", ")).
			WithHint("a resumed run reuses the flow, data and settings of %s; give only --name, --display-name, --description, --tags, --runtime, resources and identity", l.opts.Flags.ResumeFrom)
	}
	var unknown []string
	allowed := map[string]bool{"name": true, "display_name": true, "description": true, "tags": true, "resources": true, "identity": true, "runtime": true}
	for _, e := range root.entries {
		if !allowed[e.key] {
			unknown = append(unknown, e.key)
		}
	}
	if len(unknown) > 0 {
		l.warnf(CodeResume, root.get(unknown[0]).pos, "--resume-from takes name, display_name, description, tags, resources and identity",
			"Unrecognized parameters %s are ignored.", strings.Join(unknown, ", "))
		for _, k := range unknown {
			root.del(k)
		}
	}
	l.spec.ResumeFrom = l.opts.Flags.ResumeFrom
	l.spec.Pos["resume_from"] = Pos{File: "--resume-from"}
	return nil
}

// decode walks the merged tree into the Spec.
func (l *loader) decode(root *node) {
	for _, e := range root.entries {
		v := e.val
		key := e.key
		if e.keyTag != tagStr && e.keyTag != "" {
			l.warnf(CodeUnknownField, e.keyPos, "run.yml keys are names such as flow or data",
				"Run schema validation warnings. Unknown fields found: {%s}", key)
			continue
		}
		if dumpOnly[key] {
			continue
		}
		l.spec.Pos[key] = v.pos
		if key != "$schema" && v.isNull() && l.knownField(key) {
			l.errorf(CodeType, v.pos, "give "+key+" a value or remove the key", "%s: Field may not be null.", key)
			continue
		}
		switch key {
		case "$schema":
			if v.kind == kindScalar {
				l.spec.Schema = v.value
			}
		case "name":
			if name, ok := l.str(key, v); ok && l.checkRunName(name, v.pos) {
				l.spec.Name = name
			}
		case "display_name":
			l.spec.DisplayName, _ = l.str(key, v)
		case "description":
			l.spec.Description, _ = l.str(key, v)
		case "run":
			l.spec.Run, _ = l.str(key, v)
		case "runtime":
			if s, ok := l.str(key, v); ok {
				l.spec.Runtime = s
				l.runtimeFromDoc = true
			}
		case "variant":
			l.decodeVariant(v)
		case "tags":
			l.spec.Tags = l.strMap(key, v, true)
		case "properties":
			l.spec.Properties = l.strMap(key, v, true)
		case "flow":
			l.decodeFlow(v)
		case "data":
			l.decodeData(v)
		case "column_mapping":
			l.decodeColumnMapping(v)
		case "connections":
			l.decodeConnections(v)
		case "environment_variables":
			l.decodeEnvVars(v)
		case "init":
			l.decodeInit(v)
		case "resources":
			l.decodeResources(v)
		case "identity":
			l.decodeIdentity(v)
		default:
			hint := "the value is ignored; " + didYouMean(key, knownFields)
			l.warnf(CodeUnknownField, e.keyPos, hint,
				"Run schema validation warnings. Unknown fields found: {%s}", key)
		}
	}
}

// checkRunName rejects a run name that no target can use: the name is the
// run's id in the workspace's URLs and the folder of its record on the local
// target, so path separators, control characters, a leading dot and the
// characters file systems refuse would break one or the other.
func (l *loader) checkRunName(name string, p Pos) bool {
	const hint = "use letters, digits, '_' and '-', e.g. my_eval_run_1; leave name out for a generated one"
	bad := ""
	switch {
	case strings.TrimSpace(name) == "":
		bad = "is blank"
	case len(name) > 255:
		bad = fmt.Sprintf("is %d bytes long; the limit is 255", len(name))
	case strings.HasPrefix(name, "."):
		bad = "starts with a dot"
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }):
		bad = "holds a control character (a line break or tab?)"
	case strings.ContainsAny(name, `/\:*?"<>|`):
		bad = "holds one of / \\ : * ? \" < > |"
	}
	if bad == "" {
		return true
	}
	l.errorf(CodeRunName, p, hint, "%q cannot be a run name: it %s", clipName(name), bad)
	return false
}

func clipName(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func (l *loader) knownField(key string) bool {
	for _, k := range knownFields {
		if k == key {
			return true
		}
	}
	return false
}

func quoteHint(key string, v *node) string {
	return fmt.Sprintf("quote it: %s: %q", key, v.value)
}

// str reads a string field; marshmallow's Str accepts nothing else.
func (l *loader) str(key string, v *node) (string, bool) {
	if v.kind == kindScalar && v.tag == tagStr {
		return v.value, true
	}
	hint := fmt.Sprintf("write %s as one text value, e.g. %s: some text", key, lastSeg(key))
	if v.kind == kindScalar {
		hint = quoteHint(lastSeg(key), v)
	}
	l.errorf(CodeType, v.pos, hint, "%s must be a string, not %s (Not a valid string.)", key, v.describe())
	return "", false
}

func lastSeg(path string) string {
	if i := lastDot(path); i >= 0 {
		return path[i+1:]
	}
	return path
}

// strMap reads a mapping of string keys to string (or, with allowNull, null) values.
func (l *loader) strMap(key string, v *node, allowNull bool) map[string]string {
	if v.kind != kindMap {
		l.errorf(CodeType, v.pos, "write "+key+" as a mapping of names to values", "%s must be a mapping, not %s (Not a valid mapping type.)", key, v.describe())
		return nil
	}
	m := make(map[string]string, len(v.entries))
	for _, e := range v.entries {
		path := key + "." + e.key
		if !l.keyIsString(path, e) {
			continue
		}
		l.spec.Pos[path] = e.val.pos
		if allowNull && e.val.isNull() {
			m[e.key] = ""
			continue
		}
		if s, ok := l.str(path, e.val); ok {
			m[e.key] = s
		}
	}
	return m
}

func (l *loader) keyIsString(path string, e entry) bool {
	if e.keyTag == tagStr || e.keyTag == "" {
		return true
	}
	l.errorf(CodeType, e.keyPos, fmt.Sprintf("quote the key: %q:", e.key), "the key of %s must be a string (Not a valid string.)", path)
	return false
}

func (l *loader) decodeVariant(v *node) {
	s, ok := l.str("variant", v)
	if !ok {
		return
	}
	node, variant, err := flow.ParseVariant(s)
	if err != nil {
		l.errorf(CodeVariant, v.pos, "write it as ${<node name>.<variant id>}, e.g. ${summarize_text_content.variant_0}",
			"Invalid variant format: %s, variant should be in format of ${TUNING_NODE.VARIANT}", s)
		return
	}
	// Sent without the quotes a Windows shell may leave around it.
	l.spec.Variant = "${" + node + "." + variant + "}"
}

// resolveLocal makes p absolute against the base folder, following symlinks
// as Python's Path.resolve() does when the path exists.
func (l *loader) resolveLocal(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.base, p)
	}
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// pathHint explains where a missing relative path was looked for.
func (l *loader) pathHint(field, value string, p Pos, extra string) string {
	var b strings.Builder
	switch {
	case filepath.IsAbs(value):
		b.WriteString("check the path")
	case l.mode == modeFile && l.fromFlag(p):
		fmt.Fprintf(&b, "with --file, %s given as a flag or --set is relative to the run file's folder %s, as in pfazure", field, l.base)
		if st, err := os.Stat(filepath.Join(l.cwd, value)); err == nil && st != nil {
			fmt.Fprintf(&b, "; %s exists in the working directory, so pass it as an absolute path", value)
		}
	case l.mode == modeFile:
		fmt.Fprintf(&b, "paths in a run file are relative to its folder %s", l.base)
	default:
		fmt.Fprintf(&b, "paths are relative to the working directory %s", l.cwd)
	}
	if extra != "" {
		b.WriteString("; " + extra)
	}
	return b.String()
}

func (l *loader) decodeFlow(v *node) {
	s, ok := l.str("flow", v)
	if !ok {
		return
	}
	if s == "" {
		l.errorf(CodeRequired, v.pos, "give a flow folder, a flow YAML or .prompty file, or azureml:<flow-name>",
			"Invalid flow value: ''. Expecting a local flow folder path or a remote flow pattern like 'azureml:<flow-name>'")
		return
	}
	if strings.HasPrefix(s, "azureml:") {
		if err := checkRemoteFlow(s); err != "" {
			l.errorf(CodeRemote, v.pos, "write azureml:<flow-name> for a workspace flow or azureml://registries/<registry>/models/<flow>/versions/<version>", "%s", err)
			return
		}
		l.spec.Flow, l.spec.FlowRemote = s, true
		return
	}
	abs := l.resolveLocal(s)
	if _, err := os.Stat(abs); err != nil {
		if l.mode == modeFlow && l.fromFlag(v.pos) && pyFlexEntry.MatchString(s) {
			l.spec.FlowEntry = s
			return
		}
		l.errorf(CodePath, v.pos, l.pathHint("flow", s, v.pos, "a flow in the workspace is written azureml:<flow-name>"),
			"flow: Can't find directory or file in resolved absolute path: %s. (Invalid remote flow path. Currently only azureml:<flow-name> is supported)", filepath.ToSlash(abs))
		return
	}
	l.spec.Flow = abs
}

// checkRemoteFlow validates azureml: flow URIs; pfazure accepts anything
// after azureml: and fails later at the service.
func checkRemoteFlow(s string) string {
	msg := fmt.Sprintf("Invalid remote flow pattern, got '%s' while expecting a remote workspace flow like 'azureml:<flow-name>', "+
		"or a remote registry flow like 'azureml://registries/<registry-name>/models/<flow-name>/versions/<version>'", s)
	if strings.HasPrefix(s, "azureml://registries/") {
		if !registryFlowPattern.MatchString(s) {
			return msg
		}
		return ""
	}
	name := strings.TrimPrefix(s, "azureml:")
	if name == "" || strings.ContainsAny(name, "/\\") {
		return msg
	}
	return ""
}

// isRemoteURI is pfazure's is_remote_uri: azureml:… or a URL with a scheme and a host.
func isRemoteURI(s string) bool {
	if strings.HasPrefix(s, "azureml:") {
		return true
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || !isScheme(scheme) {
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	host, _, _ = strings.Cut(host, "#")
	return host != ""
}

func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func (l *loader) decodeData(v *node) {
	s, ok := l.str("data", v)
	if !ok {
		return
	}
	if isRemoteURI(s) {
		l.spec.Data, l.spec.DataRemote = s, true
		return
	}
	abs := l.resolveLocal(s)
	if s == "" {
		l.errorf(CodePath, v.pos, "give a data file or folder, or remote data such as azureml:<name>:<version>", "data is empty")
		return
	}
	if _, err := os.Stat(abs); err != nil {
		l.errorf(CodePath, v.pos, l.pathHint("data", s, v.pos, "remote data is written azureml:<name>:<version>, azureml://datastores/… or https://…"),
			"data: Can't find directory or file in resolved absolute path: %s. (Invalid remote path. Currently only azureml://xxx or public URL(e.g. https://xxx) are supported.)", filepath.ToSlash(abs))
		return
	}
	l.spec.Data = abs
}

func (l *loader) decodeColumnMapping(v *node) {
	if v.kind != kindMap {
		l.errorf(CodeType, v.pos, "write column_mapping as a mapping of flow input names to ${data.<column>} or ${run.outputs.<output>}",
			"column_mapping should be a dictionary, got %s instead.", v.describe())
		return
	}
	m := make(map[string]any, len(v.entries))
	order := make([]string, 0, len(v.entries))
	for _, e := range v.entries {
		path := "column_mapping." + e.key
		if !l.keyIsString(path, e) {
			continue
		}
		l.spec.Pos[path] = e.val.pos
		if _, dup := m[e.key]; !dup {
			order = append(order, e.key)
		}
		m[e.key] = toValue(e.val)
	}
	l.spec.ColumnMapping = m
	l.spec.ColumnMappingOrder = order
}

func (l *loader) decodeConnections(v *node) {
	if v.kind != kindMap {
		l.errorf(CodeType, v.pos, "write connections as node: {connection: <name>, deployment_name: <name>}",
			"connections must be a mapping of node names, not %s (Not a valid mapping type.)", v.describe())
		return
	}
	out := make(map[string]map[string]string, len(v.entries))
	for _, e := range v.entries {
		path := "connections." + e.key
		if !l.keyIsString(path, e) {
			continue
		}
		l.spec.Pos[path] = e.val.pos
		if e.val.kind != kindMap {
			l.errorf(CodeType, e.val.pos, "write it as "+e.key+": {connection: <name>}",
				"%s must be a mapping of connection settings, not %s (Not a valid mapping type.)", path, e.val.describe())
			continue
		}
		sub := make(map[string]string, len(e.val.entries))
		for _, ke := range e.val.entries {
			kp := path + "." + ke.key
			if !l.keyIsString(kp, ke) {
				continue
			}
			l.spec.Pos[kp] = ke.val.pos
			switch {
			case ke.val.isNull():
				l.errorf(CodeConnections, ke.val.pos, "give it a value or remove the key", "%s has no value", kp)
			case ke.val.kind != kindScalar:
				l.errorf(CodeConnections, ke.val.pos, "connection settings are names such as connection: my_aoai",
					"%s must be a single value, not %s", kp, ke.val.describe())
			default:
				// The service takes strings; a number such as a model version
				// is sent as written.
				sub[ke.key] = ke.val.value
			}
		}
		out[e.key] = sub
	}
	l.spec.Connections = out
}

func (l *loader) decodeEnvVars(v *node) {
	switch {
	case v.kind == kindMap:
		m := make(map[string]string, len(v.entries))
		for _, e := range v.entries {
			path := "environment_variables." + e.key
			if !l.keyIsString(path, e) {
				continue
			}
			l.spec.Pos[path] = e.val.pos
			if e.val.isNull() {
				l.errorf(CodeType, e.val.pos, fmt.Sprintf("write %s: \"\" for an empty value", e.key), "%s: Field may not be null.", path)
				continue
			}
			if s, ok := l.str(path, e.val); ok {
				m[e.key] = s
			}
		}
		l.spec.EnvironmentVariables = m
	case v.kind == kindScalar && v.tag == tagStr:
		abs := l.resolveLocal(v.value)
		st, err := os.Stat(abs)
		if err != nil {
			l.errorf(CodePath, v.pos, l.pathHint("environment_variables", v.value, v.pos, "or write the variables as a mapping"),
				"environment_variables: Can't find directory or file in resolved absolute path: %s.", filepath.ToSlash(abs))
			return
		}
		if st.IsDir() {
			l.errorf(CodeEnvironmentFile, v.pos, "name a dotenv file, not a folder", "environment_variables: %s is a folder, not a dotenv file", filepath.ToSlash(abs))
			return
		}
		entries, issues, err := readDotenvFile(abs, l.opts.LookupEnv)
		if err != nil {
			l.errorf(CodeEnvironmentFile, v.pos, "", "environment_variables: cannot read %s: %v", abs, err)
			return
		}
		for _, is := range issues {
			l.warnf(CodeDotenv, Pos{File: is.File, Line: is.Line}, is.Hint, "%s", is.Message)
		}
		m := make(map[string]string, len(entries))
		for _, e := range entries {
			m[e.Key] = e.Value
			l.spec.Pos["environment_variables."+e.Key] = Pos{File: abs, Line: e.Line}
		}
		l.spec.EnvironmentVariables = m
		l.spec.EnvironmentFile = abs
	default:
		l.errorf(CodeType, v.pos, "write a mapping of names to string values, or the path of a dotenv file",
			"environment_variables must be a mapping or a dotenv file path, not %s", v.describe())
	}
}

func (l *loader) decodeInit(v *node) {
	switch {
	case v.kind == kindMap:
		m, _ := toValue(v).(map[string]any)
		for _, e := range v.entries {
			l.spec.Pos["init."+e.key] = e.val.pos
		}
		l.spec.Init = m
	case v.kind == kindScalar && v.tag == tagStr:
		// A string is a file (--init files are read before they get here).
		l.decodeInitFile(v)
	default:
		l.errorf(CodeInit, v.pos, "write init as a mapping of __init__ arguments, or the path of a .json/.jsonl file",
			"Invalid init kwargs: %s. Expecting a dictionary.", describeValue(v))
	}
}

// decodeInitFile loads `init: <file>`. pfazure resolves it from the CWD, unlike
// every other path; pfz looks next to the run file first and falls back to the
// CWD with a warning, so both layouts keep working.
func (l *loader) decodeInitFile(v *node) {
	p := v.value
	candidates := []string{l.resolveLocal(p)}
	if !filepath.IsAbs(p) && l.base != l.cwd {
		candidates = append(candidates, filepath.Join(l.cwd, p))
	}
	var path string
	for i, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			path = c
			if i == 1 {
				l.warnf(CodeInit, v.pos, "move the file next to the run file, or give an absolute path",
					"init: %s was found in the working directory, not next to the run file (pfazure reads it from the working directory)", p)
			}
			break
		}
	}
	if path == "" {
		l.errorf(CodeInit, v.pos, l.pathHint("init", p, v.pos, ""), "Cannot find inputs file %s", filepath.ToSlash(candidates[0]))
		return
	}
	val, err := loadInputData(path)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, errInitFile.Error()+": ")
		l.errorf(CodeInit, v.pos, "init files are .json (an object) or .jsonl (the first line is used)", "%s", msg)
		return
	}
	m, ok := val.(map[string]any)
	if !ok {
		l.errorf(CodeInit, v.pos, "the file must hold a JSON object of __init__ arguments", "Invalid init kwargs: %v. Expecting a dictionary.", val)
		return
	}
	l.spec.Init = toValue(fromValue(m, v.pos)).(map[string]any)
}

func describeValue(v *node) string {
	if v.kind == kindScalar {
		return v.value
	}
	return v.describe()
}

func (l *loader) decodeResources(v *node) {
	if v.kind != kindMap {
		l.errorf(CodeType, v.pos, "write resources as a mapping: instance_type: <VM size> or compute: <compute instance>",
			"resources should be a dict, got %s", v.describe())
		return
	}
	keys := resourceKeys
	if l.mode == modeResume {
		keys = append([]string{"runtime"}, resourceKeys...)
	}
	for _, e := range v.entries {
		path := "resources." + e.key
		if !l.keyIsString(path, e) {
			continue
		}
		l.spec.Pos[path] = e.val.pos
		switch e.key {
		case "instance_type":
			l.spec.Resources.InstanceType, _ = l.str(path, e.val)
		case "compute":
			l.spec.Resources.Compute, _ = l.str(path, e.val)
		case "idle_time_before_shutdown_minutes":
			l.decodeIdle(path, e.val)
		case "runtime":
			if l.mode == modeResume {
				if s, ok := l.str(path, e.val); ok {
					l.spec.Runtime = s
					l.runtimeFromDoc = true
				}
				continue
			}
			fallthrough
		default:
			l.errorf(CodeUnknownKey, e.keyPos, didYouMean(e.key, keys), "resources.%s: Unknown field.", e.key)
		}
	}
}

func (l *loader) decodeIdle(path string, v *node) {
	var n int64
	ok := false
	if v.kind == kindScalar && (v.tag == tagInt || v.tag == tagStr) {
		n, ok = parseYAMLInt(strings.TrimSpace(v.value))
	}
	if !ok {
		l.errorf(CodeResources, v.pos, "give whole minutes, e.g. idle_time_before_shutdown_minutes: 60",
			"%s must be a whole number of minutes, not %s", path, describeValue(v))
		return
	}
	if n < 1 || n > 1<<31 {
		l.errorf(CodeResources, v.pos, "give at least 1 minute", "%s must be at least 1 minute, got %d", path, n)
		return
	}
	l.spec.Resources.IdleTime = time.Duration(n) * time.Minute
}

func (l *loader) decodeIdentity(v *node) {
	if v.kind != kindMap {
		l.errorf(CodeType, v.pos, "write identity: {type: user_identity} or {type: managed, client_id: <id>}",
			"Run's identity should be a dict, got %s", v.describe())
		return
	}
	var typ string
	typNode := v.get("type")
	for _, e := range v.entries {
		path := "identity." + e.key
		if !l.keyIsString(path, e) {
			continue
		}
		l.spec.Pos[path] = e.val.pos
		switch e.key {
		case "type":
			s, ok := l.str(path, e.val)
			if !ok {
				return
			}
			typ = strings.ToLower(s)
			if typ != IdentityManaged && typ != IdentityUser {
				hint := "use type: user_identity (the default) or type: managed"
				if n := nearest(typ, []string{IdentityManaged, IdentityUser, "user"}, 1); len(n) > 0 {
					want := n[0]
					if want == "user" {
						want = IdentityUser
					}
					hint = "did you mean " + want + "? " + hint
				}
				l.errorf(CodeIdentity, e.val.pos, hint, "identity.type: Value '%s' passed is not in set ['managed'] or ['user_identity']", s)
				return
			}
		case "client_id":
		default:
			l.errorf(CodeUnknownKey, e.keyPos, didYouMean(e.key, []string{"type", "client_id"}), "identity.%s: Unknown field.", e.key)
		}
	}
	if typNode == nil {
		l.errorf(CodeIdentity, v.pos, "add type: user_identity or type: managed", "identity.type: Missing data for required field.")
		return
	}
	l.spec.Identity.Type = typ
	if c := v.get("client_id"); c != nil {
		switch typ {
		case IdentityUser:
			l.errorf(CodeUnknownKey, keyPosOf(v, "client_id"), "client_id goes only with type: managed",
				"identity.client_id: Unknown field. (a user identity has no client id)")
		default:
			if s, ok := l.str("identity.client_id", c); ok {
				if s == "" {
					l.errorf(CodeIdentity, c.pos, "remove client_id to use the workspace's primary user-assigned identity", "identity.client_id is empty")
				}
				l.spec.Identity.ClientID = s
			}
		}
	}
}

func keyPosOf(n *node, key string) Pos {
	for _, e := range n.entries {
		if e.key == key {
			return e.keyPos
		}
	}
	return n.pos
}

// crossChecks are the rules that look at more than one field.
func (l *loader) crossChecks() {
	s := l.spec
	filePos := Pos{File: l.file}
	if l.file != "" {
		// A key that is missing has no place of its own; the file's start
		// keeps the location clickable.
		filePos.Line, filePos.Column = 1, 1
	}
	if l.mode != modeResume {
		if s.Flow == "" && s.FlowEntry == "" {
			if _, given := s.Pos["flow"]; !given {
				l.errorf(CodeRequired, filePos, "add flow: <flow folder> to the run file, or pass --flow",
					"Invalid flow value: None. Expecting a local flow folder path or a remote flow pattern like 'azureml:<flow-name>'")
			}
		}
		_, hasData := s.Pos["data"]
		_, hasRun := s.Pos["run"]
		if !hasData && !hasRun && !l.opts.SingleLine {
			l.errorf(CodeRequired, filePos, "add data: <file or folder> (or run: <run name> for an evaluation run), or pass --data",
				"at least one of data or run must be provided")
		}
	}
	// The hidden --runtime flag loses to a runtime in the run definition, as in pfazure.
	if rt := l.opts.Flags.Runtime; rt != "" {
		if l.runtimeFromDoc {
			if rt != s.Runtime {
				l.warnf(CodeRuntime, s.Pos["runtime"], "remove runtime from the run file to use --runtime",
					"runtime %q from the run definition wins over --runtime %q, as in pfazure", s.Runtime, rt)
			}
		} else {
			s.Runtime = rt
			s.Pos["runtime"] = Pos{File: "--runtime"}
		}
	}
	if s.Resources.Compute != "" {
		// As `session start` refuses them: the instance has its own size and identity.
		size, sizePos := "resources.instance_type", s.PosOf("resources.instance_type")
		if strings.HasPrefix(sizePos.File, "--") {
			size = sizePos.File // given on the command line
		}
		if err := session.CheckComputeInstance(s.Resources.InstanceType != "", size, false, ""); err != nil {
			l.errorf(CodeResources, sizePos, fault.HintOf(err), "%s", err.Error())
		}
		if err := session.CheckComputeInstance(false, "", s.Identity.Type == IdentityManaged, "identity"); err != nil {
			l.errorf(CodeIdentity, s.PosOf("identity.type"), fault.HintOf(err), "%s", err.Error())
		}
	}
	l.checkInstanceType()
}
