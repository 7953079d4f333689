package runspec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/ctxio"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/flexmeta"
	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/snapshot"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// ResolveOptions are what Resolve needs from outside the run definition.
type ResolveOptions struct {
	// UserAlias is the signed-in user's alias (part of the session id);
	// empty means session.UnknownUser, as pfazure falls back to.
	UserAlias string
	// Now stamps default run names (local time); zero means time.Now().
	Now time.Time
	// NodeID stands for Python's uuid.getnode() in the lineage id of a flow
	// outside a git work tree; nil means the machine's MAC address.
	NodeID func() uint64
	// FlexSignature, when set, reads a flex entry's signature so that the
	// snapshot's flow.flex.yaml carries it, as pfazure uploads it.
	FlexSignature snapshot.SignatureFunc
	// SingleLine resolves the flow for `flow test`: no data or referenced
	// run is needed.
	SingleLine bool
}

// Runtime names (pfazure-surface.md §7.11).
const (
	RuntimeAutomatic = "automatic" // a compute session
	runtimeNone      = "None"      // the workspace default runtime: sent as null
)

// dataColumnLines is how many lines of local data the column check reads.
const dataColumnLines = 1000

// Resolve turns a loaded spec into a Submission: it loads and validates the
// flow (with the snapshot's file set, so a file the ignore rules leave out
// counts as missing), builds the snapshot, hashes local data, checks the
// column mapping against the flow and the data, checks the variant, derives
// the default run, display and experiment names, the lineage id, environment
// hash and session id, and fills runtime ("automatic" by default), resources
// and identity. Everything it finds is in the diagnostics; when one is an
// error the Submission is nil and the error is fault.Validation. A run to
// resume (--resume-from) needs no flow: its Submission carries only what
// pfazure's resume request sends.
func (s *Spec) Resolve(ctx context.Context, ro ResolveOptions) (*workspace.Submission, *flow.Flow, diag.List, error) {
	if ro.Now.IsZero() {
		ro.Now = time.Now()
	}
	if ro.UserAlias == "" {
		ro.UserAlias = session.UnknownUser
	}
	r := &resolver{spec: s, ro: ro}
	sub := &workspace.Submission{
		Name:        s.Name,
		DisplayName: s.DisplayName,
		Description: s.Description,
		Tags:        s.Tags,
		Run:         s.Run,
		Resources: workspace.Resources{
			InstanceType:       s.Resources.InstanceType,
			Compute:            s.Resources.Compute,
			MaxIdleTimeSeconds: int64(s.Resources.IdleTime / time.Second),
		},
		Identity: workspace.Identity{Type: s.Identity.Type, ClientID: s.Identity.ClientID},
	}
	if sub.Identity.Type == "" {
		sub.Identity.Type = IdentityUser
	}
	sub.Session = r.sessionBase()

	if s.ResumeFrom != "" {
		// pfazure's resume request has no automatic default for the runtime.
		sub.ResumeFrom = s.ResumeFrom
		sub.Runtime = runtimeName(s.Runtime, false)
		sub.DisplayName = s.DisplayName
		if sub.Name == "" {
			// pfz names the new run itself (pfazure leaves it to the service)
			// so that a retried resume can tell whether it got through.
			sub.Name = r.resumeDefaultName()
		}
		return sub, nil, nil, nil
	}
	if s.FlowEntry != "" {
		if err := r.entryFlow(); err != nil {
			return nil, nil, nil, err
		}
	}
	if s.Flow == "" && r.entryPath == "" {
		return nil, nil, nil, fault.New(fault.Validation, "the run has no flow").
			WithHint("load the run definition with Load first; it reports a missing flow")
	}

	sub.ColumnMapping = s.ColumnMapping
	sub.ColumnMappingOrder = s.ColumnMappingOrder
	sub.Variant = s.Variant
	sub.Connections = s.Connections
	sub.EnvironmentVariables = s.EnvironmentVariables
	sub.Init = s.Init
	sub.Runtime = runtimeName(s.Runtime, true)

	var f *flow.Flow
	if s.FlowRemote {
		sub.Flow, sub.FlowRemote = s.Flow, true
		name := remoteFlowName(s.Flow)
		sub.Session.LineageID = name
		if sub.Name == "" {
			sub.Name = r.remoteDefaultName(name)
		}
	} else {
		var err error
		f, err = r.localFlow(ctx, sub)
		if err != nil {
			return nil, f, r.diags, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, f, r.diags, err
	}
	if err := r.data(ctx, sub, f); err != nil {
		return nil, f, r.diags, err
	}
	if s.Run == "" && s.Data == "" && !r.ro.SingleLine {
		r.errorf(CodeRequired, Pos{File: s.File}, "give data (or run, for an evaluation run)", "at least one of data or run must be provided")
	}
	if sub.DisplayName == "" {
		sub.DisplayName = sub.Name
	}
	if r.diags.HasErrors() {
		n := len(r.diags.Errors())
		plural := "s"
		if n == 1 {
			plural = ""
		}
		e := fault.Wrap(fault.Validation, r.diags.Err(), "the run cannot be submitted: %d error%s", n, plural)
		e.Hint = r.diags.Errors()[0].Hint
		return nil, f, r.diags, e
	}
	return sub, f, r.diags, nil
}

type resolver struct {
	spec  *Spec
	ro    ResolveOptions
	diags diag.List
	// entryPath and entryYAML are the flow file made for --flow
	// module:function (entryFlow); the file is not on disk.
	entryPath string
	entryYAML []byte
}

func (r *resolver) add(sev diag.Severity, code string, p Pos, hint, format string, args ...any) {
	r.diags = append(r.diags, diag.Diagnostic{Severity: sev, Code: code, File: p.File, Line: p.Line, Column: p.Column,
		Message: fmt.Sprintf(format, args...), Hint: hint})
}

func (r *resolver) errorf(code string, p Pos, hint, format string, args ...any) {
	r.add(diag.Error, code, p, hint, format, args...)
}

func (r *resolver) warnf(code string, p Pos, hint, format string, args ...any) {
	r.add(diag.Warning, code, p, hint, format, args...)
}

// errAt turns an error into a diagnostic at p, keeping its hint.
func (r *resolver) errAt(code string, p Pos, err error) {
	var fe *fault.Error
	msg := err.Error()
	if errors.As(err, &fe) && fe.Msg != "" && fe.Err == nil {
		msg = fe.Msg
	}
	hint := fault.HintOf(err)
	if hint == "" {
		hint = "see the message"
	}
	r.errorf(code, p, hint, "%s", msg)
}

// sessionBase is the part of the session spec that does not depend on the flow.
func (r *resolver) sessionBase() workspace.SessionSpec {
	s := r.spec
	ss := workspace.SessionSpec{
		UserAlias:   r.ro.UserAlias,
		ComputeType: workspace.ComputeServerless,
		VMSize:      s.Resources.InstanceType,
		IdleTime:    s.Resources.IdleTime,
		Identity:    workspace.Identity{Type: s.Identity.Type, ClientID: s.Identity.ClientID},
		ComputeName: s.Resources.Compute,
	}
	if ss.Identity.Type == "" {
		ss.Identity.Type = IdentityUser
	}
	if s.Resources.Compute != "" {
		ss.ComputeType = workspace.ComputeComputeInstance
	}
	return ss
}

// runtimeName maps the run's runtime to runtimeName: none (or "automatic")
// means a compute session when automatic is allowed, "None" the workspace
// default (null on the wire, "" here).
func runtimeName(rt string, automaticDefault bool) string {
	switch rt {
	case "":
		if automaticDefault {
			return RuntimeAutomatic
		}
		return ""
	case runtimeNone:
		return ""
	}
	return rt
}

// remoteFlowName is the flow name of azureml:<name> or of a registry URI.
func remoteFlowName(uri string) string {
	if m := registryFlowPattern.FindStringSubmatch(uri); m != nil {
		return m[2]
	}
	return strings.TrimPrefix(uri, "azureml:")
}

// defaultName is pfazure's generated run name for a local flow:
// <flow folder>_<variant>_<timestamp> for a DAG flow, <flow folder>_<timestamp>
// for flex and prompty flows.
func (r *resolver) defaultName(f *flow.Flow) string {
	if f.Kind != flow.KindDAG {
		return session.DefaultFlexRunName(f.Dir, r.ro.Now)
	}
	return session.DefaultRunName(f.Dir, r.spec.Variant, r.ro.Now)
}

// remoteDefaultName is the same for a remote flow, whose name stands for the
// folder name.
func (r *resolver) remoteDefaultName(flowName string) string {
	v := session.DefaultVariant
	if r.spec.Variant != "" {
		if _, id, err := flow.ParseVariant(r.spec.Variant); err == nil {
			v = id
		}
	}
	return session.SanitizeName(flowName + "_" + v + "_" + r.timestamp())
}

// resumeDefaultName is <resumed run>_resume_<timestamp>.
func (r *resolver) resumeDefaultName() string {
	return session.SanitizeName(r.spec.ResumeFrom + "_resume_" + r.timestamp())
}

func (r *resolver) timestamp() string {
	return r.ro.Now.Format("20060102_150405") + fmt.Sprintf("_%06d", r.ro.Now.Nanosecond()/1000)
}

// entryFlow makes the flex flow of --flow module:function as promptflow's
// SDK does: a flow.flex.yaml holding `entry: module:function` in the working
// folder, which is the code folder. pfz never writes it there: the file
// exists only in the run's snapshot. A flow.flex.yaml already in the folder
// is refused rather than silently overruled (promptflow warns and ignores it).
func (r *resolver) entryFlow() error {
	s := r.spec
	dir := s.CWD
	if dir == "" {
		dir = "."
	}
	path, err := filepath.Abs(filepath.Join(dir, "flow.flex.yaml"))
	if err != nil {
		return fault.Wrap(fault.Failed, err, "cannot locate the working folder")
	}
	if _, err := os.Lstat(path); err == nil {
		return fault.New(fault.Validation, "--flow %s names a Python entry, but %s already exists", s.FlowEntry, path).
			WithHint("run that flow with --flow %s, or name the entry in it", filepath.Dir(path))
	}
	r.entryPath, r.entryYAML = path, []byte("entry: "+s.FlowEntry+"\n")
	return nil
}

// loadFlow reads the flow file, or parses the generated one of an entry.
func (r *resolver) loadFlow(path string) (*flow.Flow, diag.List, error) {
	if r.entryYAML != nil {
		f, ds := flow.Parse(path, r.entryYAML)
		return f, ds, nil
	}
	return flow.Load(path)
}

// localFlow loads, snapshots and validates a local flow and derives the
// names and the session. A non-nil error stops Resolve (the flow cannot be
// read); problems in the flow are diagnostics.
func (r *resolver) localFlow(ctx context.Context, sub *workspace.Submission) (*flow.Flow, error) {
	s := r.spec
	path := s.Flow
	if r.entryPath != "" {
		path = r.entryPath
	}
	f, ds, err := r.loadFlow(path)
	r.diags = append(r.diags, ds...)
	if err != nil {
		r.errAt(CodeFlow, s.PosOf("flow"), err)
		e := fault.Wrap(fault.Validation, r.diags.Err(), "the run cannot be submitted: the flow cannot be loaded")
		e.Hint = fault.HintOf(err)
		return nil, e
	}
	sub.Flow = f.Path
	sub.ExperimentName = session.ExperimentName(f.Dir)
	if sub.Name == "" {
		sub.Name = r.defaultName(f)
	}

	var sig *flexmeta.Signature
	var readSig snapshot.SignatureFunc
	if r.ro.FlexSignature != nil {
		readSig = func(ctx context.Context, dir, entry string) (*flexmeta.Signature, error) {
			var err error
			sig, err = r.ro.FlexSignature(ctx, dir, entry)
			return sig, err
		}
	}
	snap, files, ds, err := snapshot.Check(ctx, f, snapshot.Options{IgnoreToolsJSON: f.Language != "csharp", FlexSignature: readSig,
		FlowContent: r.entryYAML},
		flow.ValidateOptions{Batch: true})
	r.diags = append(r.diags, ds...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return f, ctxErr
		}
		if !fault.Is(err, fault.Validation) || len(ds.Errors()) == 0 {
			r.errAt(CodeSnapshot, s.PosOf("flow"), err)
		}
	}
	sub.Snapshot = snap

	if !f.Incomplete {
		r.checkVariant(f)
		r.checkConnections(f)
	}
	if sig != nil {
		r.checkInit(sig)
	}
	if len(s.Init) > 0 && f.Kind == flow.KindDAG && !f.Incomplete {
		r.warnf(CodeInit, s.PosOf("init"), "remove init, or use a flex flow (flow.flex.yaml) whose class takes these arguments",
			"init is used only by flex flows; this DAG flow ignores it")
	}

	lineage, err := session.LineageID(f.Dir, r.ro.NodeID)
	if err != nil {
		r.errAt(CodeFlow, s.PosOf("flow"), err)
		return f, nil
	}
	sub.Session.FlowDir = f.Dir
	sub.Session.LineageID = lineage
	if snap == nil {
		return f, nil // the snapshot's errors are reported; no environment to hash
	}
	env := r.environment(f, files)
	resolved, werr := session.ResolveEnvironment(env, files.ReadFile)
	if werr != nil {
		r.warnf(CodeFlow, Pos{File: f.Path}, "check environment.python_requirements_txt in the flow", "%v", werr)
	}
	hash, err := session.EnvironmentHash(resolved)
	if err != nil {
		r.errAt(CodeFlow, Pos{File: f.Path}, err)
		return f, nil
	}
	sub.Session.EnvHash = hash
	sub.Session.ID = session.ID(r.ro.UserAlias, lineage, hash)
	if m, ok := resolved.(map[string]any); ok {
		if img, ok := m["image"].(string); ok {
			sub.Session.Image = img
		}
		if lines, ok := m[session.RequirementsKey].([]any); ok {
			for _, l := range lines {
				if str, ok := l.(string); ok {
					sub.Session.Requirements = append(sub.Session.Requirements, str)
				}
			}
			if name, ok := env.(map[string]any)[session.RequirementsKey].(string); ok {
				if ref, ok := files.File(name); ok {
					sub.Session.RequirementsFile = ref.Abs
				}
			}
		}
	}
	return f, nil
}

// environment is the flow's environment as pfazure hashes it: the YAML value
// ({} when absent), with python_requirements_txt added when the snapshot
// holds a requirements.txt the flow does not name (Flow._resolve_requirements).
func (r *resolver) environment(f *flow.Flow, files snapshot.View) any {
	raw, present := f.Raw["environment"]
	if !present {
		raw = map[string]any{}
	}
	if f.Kind == flow.KindPrompty || f.Environment.PythonRequirementsTxt != "" {
		return raw
	}
	if _, ok := files.File("requirements.txt"); !ok {
		return raw
	}
	out := map[string]any{}
	if m, ok := raw.(map[string]any); ok {
		for k, v := range m {
			out[k] = v
		}
	} else if raw != nil {
		return raw
	}
	out[session.RequirementsKey] = "requirements.txt"
	return out
}

func (r *resolver) checkVariant(f *flow.Flow) {
	s := r.spec
	if s.Variant == "" {
		return
	}
	p := s.PosOf("variant")
	if f.Kind != flow.KindDAG {
		r.errorf(CodeVariant, p, "remove variant; only DAG flows (flow.dag.yaml) have node_variants",
			"variant %s: a %s flow has no variants", s.Variant, f.Kind)
		return
	}
	if _, err := f.WithVariant(s.Variant); err != nil {
		r.errAt(CodeVariant, p, err)
	}
}

func (r *resolver) checkConnections(f *flow.Flow) {
	s := r.spec
	if len(s.Connections) == 0 || f.Kind != flow.KindDAG {
		return
	}
	var names []string
	for _, n := range f.Nodes {
		names = append(names, n.Name)
	}
	for _, node := range sortedKeys(s.Connections) {
		if f.Node(node) != nil {
			continue
		}
		hint := "the flow's nodes are: " + strings.Join(names, ", ")
		if n := nearest(node, names, 1); len(n) > 0 {
			hint = "did you mean " + n[0] + "? " + hint
		}
		r.warnf(CodeConnections, s.PosOf("connections."+node), hint, "connections.%s: the flow has no node named %s; the override is not used", node, node)
	}
}

// data hashes local data, reads its columns and checks the column mapping.
func (r *resolver) data(ctx context.Context, sub *workspace.Submission, f *flow.Flow) error {
	s := r.spec
	var cols []string
	switch {
	case s.Data == "":
	case s.DataRemote:
		sub.Data = &workspace.Data{Remote: s.Data}
	default:
		d, err := localData(ctx, s.Data)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.errAt(CodeData, s.PosOf("data"), err)
			break
		}
		sub.Data = d
		cols, err = DataColumns(ctx, s.Data, dataColumnLines)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.errAt(CodeData, s.PosOf("data"), err)
			return nil
		}
		if cols != nil && len(cols) == 0 {
			r.errorf(CodeData, s.PosOf("data"), "add lines to the data file",
				"Couldn't find any inputs data at the given input paths: %s (the data has no lines)", s.Data)
			return nil
		}
	}
	if !r.ro.SingleLine {
		r.diags = append(r.diags, CheckColumnMapping(s, f, cols)...)
	}
	return nil
}

// localData lists and hashes a local data file or folder for upload.
func localData(ctx context.Context, p string) (*workspace.Data, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fault.Wrap(fault.Validation, err, "cannot read data %s", p)
	}
	if err := ctxio.CheckRegular(p, st); err != nil {
		return nil, err
	}
	d := &workspace.Data{Local: p, IsDir: st.IsDir()}
	if st.IsDir() {
		files, err := snapshot.ListDir(ctx, p)
		if err != nil {
			return nil, err
		}
		hash, err := snapshot.Hash(ctx, files)
		if err != nil {
			return nil, err
		}
		d.Files, d.Hash = files, hash
	} else {
		hash, err := snapshot.HashFile(ctx, p)
		if err != nil {
			return nil, err
		}
		d.Hash = hash
		d.Files = []workspace.FileRef{{Rel: filepath.Base(p), Abs: p, Size: st.Size()}}
	}
	d.BlobPath = "LocalUpload/" + d.Hash + "/" + filepath.Base(p)
	return d, nil
}

// checkInit applies pfazure's checks of init kwargs against a flex class
// entry's signature (_validate_init_kwargs): every kwarg is an init
// parameter, and a model configuration names a connection, the only kind
// the cloud resolves.
func (r *resolver) checkInit(sig *flexmeta.Signature) {
	s := r.spec
	params := map[string]string{}
	var names []string
	for _, p := range sig.Init {
		params[p.Name] = p.Type
		names = append(names, p.Name+": "+p.Type)
	}
	keys := make([]string, 0, len(s.Init))
	for k := range s.Init {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		typ, ok := params[k]
		if !ok {
			r.errorf(CodeInit, s.PosOf("init"), "give only the entry's __init__ parameters",
				"Init kwargs %s is not in the flow signature. Current signatures: %s", k, strings.Join(names, ", "))
			continue
		}
		if typ != "AzureOpenAIModelConfiguration" && typ != "OpenAIModelConfiguration" {
			continue
		}
		if m, isMap := s.Init[k].(map[string]any); !isMap || m["connection"] == nil || m["connection"] == "" {
			r.errorf(CodeInit, s.PosOf("init"), fmt.Sprintf("give %s a connection: init: {%s: {connection: <workspace connection>, azure_deployment: ...}}", k, k),
				"Init kwargs %s with type %s is missing connection. Only connection model configs with connection is supported in cloud.", k, typ)
		}
	}
}
