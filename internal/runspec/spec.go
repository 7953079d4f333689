package runspec

import (
	"time"
)

// Flags are the `run create` flags as the user typed them. An empty string or
// a nil slice means "not given"; pfazure treats an empty value the same way
// only for None, so `--name ""` is the one place pfz differs (it ignores it).
type Flags struct {
	File, Flow, Data, Variant, Run, Name, DisplayName, Description, Runtime, ResumeFrom string

	// ColumnMapping, Connections (dotted node.key) and Set are raw KEY=VALUE
	// tokens as the user typed them (see ParseKeyValues).
	ColumnMapping, Connections, Set []string

	// EnvironmentVariables are `k=v` tokens or paths ending in .env.
	EnvironmentVariables []string
	// EnvironmentVariablesGiven is true when the flag was given at all; given
	// with no values it loads the nearest .env found upward from the CWD.
	EnvironmentVariablesGiven bool

	// Init is `k=v` tokens or a single .json/.jsonl path.
	Init []string
	// Tags are `k=v` tokens (pfz only; pfazure has no --tags).
	Tags []string

	// InstanceType, Compute and IdleTime set resources.* (pfz only). IdleTime
	// is whole minutes ("60") or a Go duration ("1h30m").
	InstanceType, Compute string
	IdleTime              string
	// Identity is user | user_identity | managed | managed:<client_id> (pfz only).
	Identity string
}

// LoadOptions say what to load.
type LoadOptions struct {
	Flags Flags
	// CWD is the working directory: the base of --flow-mode paths, of
	// --environment-variables and --init files, and where the .env search starts.
	CWD string
	// LookupEnv reads the process environment for dotenv ${VAR} expansion, as
	// python-dotenv does; nil means no process variables (only those the file
	// itself defines). Passed in because only internal/config reads the environment.
	LookupEnv func(key string) (string, bool)
	// SingleLine loads the flags of `flow test`: no data or run is needed.
	SingleLine bool
}

// Pos says where a value came from: a file position, or a flag (File holds
// the flag, e.g. "--data" or "--set resources.compute=x", and Line is 0).
type Pos struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// Resources are the compute settings of a run.
type Resources struct {
	InstanceType string `json:"instance_type,omitempty"`
	Compute      string `json:"compute,omitempty"`
	// IdleTime is resources.idle_time_before_shutdown_minutes; 0 means the
	// target's default (one hour for sessions started from the command line).
	IdleTime time.Duration `json:"idle_time,omitempty"`
}

// Identity types as run.yml spells them.
const (
	IdentityUser    = "user_identity"
	IdentityManaged = "managed"
)

// Identity is run.yml's identity section; Type is empty when it is absent.
type Identity struct {
	Type     string `json:"type,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

// Spec is a loaded run definition: typed values after --set and flags, with
// the position of each value (Pos, keyed by dotted path: "flow",
// "column_mapping.url", "resources.instance_type", …).
type Spec struct {
	// File is the absolute path of the run YAML; empty for a run built from flags.
	File string `json:"file,omitempty"`
	// BaseDir is the folder relative paths were resolved from: the YAML's
	// folder with -f, else the CWD.
	BaseDir string `json:"base_dir"`
	// CWD is LoadOptions.CWD, kept for Resolve.
	CWD string `json:"cwd"`

	Schema      string            `json:"$schema,omitempty"`
	Name        string            `json:"name,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Properties  map[string]string `json:"properties,omitempty"`

	// Flow is the absolute local flow path (folder, flow YAML or .prompty) or,
	// when FlowRemote, the remote URI (azureml:<name> or a registry URI).
	Flow       string `json:"flow,omitempty"`
	FlowRemote bool   `json:"flow_remote,omitempty"`
	// FlowEntry is a Python flex entry (module:function) given with --flow.
	FlowEntry string `json:"flow_entry,omitempty"`

	// Data is the absolute local data file or folder or, when DataRemote, the URI.
	Data       string `json:"data,omitempty"`
	DataRemote bool   `json:"data_remote,omitempty"`
	Run        string `json:"run,omitempty"`

	ColumnMapping map[string]any `json:"column_mapping,omitempty"`
	// ColumnMappingOrder is ColumnMapping's keys in the order the run
	// definition gives them (run.yml order; a --set key keeps its place or
	// comes last; --column-mapping replaces the mapping in flag order):
	// promptflow records a line's extra mapped inputs in that order.
	ColumnMappingOrder []string                     `json:"column_mapping_order,omitempty"`
	Variant            string                       `json:"variant,omitempty"`
	Connections        map[string]map[string]string `json:"connections,omitempty"`

	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	// EnvironmentFile is the dotenv file the variables came from, if one.
	EnvironmentFile string `json:"environment_file,omitempty"`

	Init map[string]any `json:"init,omitempty"`

	// Runtime is as given: "" (none, which means automatic), "automatic", a
	// runtime name, or "None" (the workspace default runtime).
	Runtime   string    `json:"runtime,omitempty"`
	Resources Resources `json:"resources"`
	Identity  Identity  `json:"identity"`

	// ResumeFrom is the run to resume (--resume-from); the spec then holds
	// only name, display name, description, tags, runtime, resources, identity.
	ResumeFrom string `json:"resume_from,omitempty"`

	Pos map[string]Pos `json:"-"`
}

// PosOf returns where the value at a dotted path came from, falling back to
// its parents and finally to the run file itself.
func (s *Spec) PosOf(path string) Pos {
	for p := path; p != ""; {
		if pos, ok := s.Pos[p]; ok {
			return pos
		}
		i := lastDot(p)
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Pos{File: s.File}
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// Diagnostic codes reported by this package.
const (
	CodeYAML            = "run.yaml"             // the file is not valid YAML
	CodeUnknownField    = "run.unknown-field"    // a top-level key pfazure does not know (warning)
	CodeUnknownKey      = "run.unknown-key"      // a key under resources or identity (error)
	CodeType            = "run.type"             // a value of the wrong type
	CodeRequired        = "run.required"         // flow, data or run missing
	CodePath            = "run.path"             // a local path that does not exist
	CodeRemote          = "run.remote"           // a malformed remote flow or data URI
	CodeVariant         = "run.variant"          // variant format or target
	CodeIdentity        = "run.identity"         // identity type or client_id
	CodeResources       = "run.resources"        // resources values and combinations
	CodeInstanceType    = "run.instance-type"    // unknown VM size
	CodeDotenv          = "run.dotenv"           // a dotenv line python-dotenv would skip
	CodeInit            = "run.init"             // init kwargs
	CodeRuntime         = "run.runtime"          // runtime precedence
	CodeColumnMapping   = "run.column-mapping"   // mapping to an unknown source, column or input
	CodeNeedsRun        = "run.needs-run"        // ${run.…} bindings without run
	CodeRequiredInput   = "run.required-input"   // a flow input without default that nothing maps
	CodeData            = "run.data"             // data that cannot be read
	CodeConnections     = "run.connections"      // connection overrides
	CodeResume          = "run.resume"           // options that --resume-from ignores or rejects
	CodeFlow            = "run.flow"             // the flow could not be loaded
	CodeDuplicateKey    = "run.duplicate-key"    // a key given twice in one mapping
	CodeSetOverride     = "run.set"              // a --set path that cannot be applied
	CodeEnvironmentFile = "run.environment-file" // the dotenv file given by path
	CodeIgnored         = "run.ignored"          // a value the target will not use
	CodeFlowEntry       = "run.flow-entry"       // --flow module:function
	CodeSnapshot        = "run.snapshot"         // the snapshot could not be built
	CodeNameDerivation  = "run.name"             // default name could not be derived
	CodeRunName         = "run.name"             // a given run name no target can use
)
