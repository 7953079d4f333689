package flow

import "github.com/pfz-cli/pfz/internal/prompty"

// This file holds the flow model: what flow.dag.yaml says, with the position of
// every value so diagnostics can point at file:line:column. Parsing lives in
// parse.go, validation in validate.go.

// Pos is a 1-based position in the flow file; zero when unknown.
type Pos struct {
	Line   int `json:"line,omitempty" yaml:"line,omitempty"`
	Column int `json:"column,omitempty" yaml:"column,omitempty"`
}

// Kind is what kind of flow a file describes.
type Kind string

const (
	KindDAG     Kind = "dag"     // flow.dag.yaml with nodes
	KindFlex    Kind = "flex"    // a YAML with a top-level entry
	KindPrompty Kind = "prompty" // a .prompty file
)

// Flow is a parsed flow definition.
type Flow struct {
	// Path is the absolute path of the flow file; Dir its folder (the snapshot root).
	Path string `json:"path"`
	Dir  string `json:"dir"`
	Kind Kind   `json:"kind"`
	// File is the flow file path as the caller gave it; diagnostics name it.
	File string `json:"-"`

	Inputs   []Input                  `json:"inputs,omitempty"`  // in file order
	Outputs  []Output                 `json:"outputs,omitempty"` // in file order
	Nodes    []Node                   `json:"nodes,omitempty"`
	Variants map[string]*NodeVariants `json:"node_variants,omitempty"`

	Environment          Environment       `json:"environment"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"` // values stringified as promptflow does
	AdditionalIncludes   []Include         `json:"additional_includes,omitempty"`

	Type        string            `json:"type,omitempty"`     // standard | evaluation | chat
	Language    string            `json:"language,omitempty"` // python | csharp
	Description string            `json:"description,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Entry       string            `json:"entry,omitempty"` // flex flows
	Name        string            `json:"name,omitempty"`
	// MessageFormat is basic (the default when empty) or openai-vision.
	MessageFormat string `json:"message_format,omitempty"`

	// KeyPos holds the position of each top-level key's value, for diagnostics.
	KeyPos map[string]Pos `json:"-"`

	// Prompty is the parsed .prompty file of a prompty flow.
	Prompty *prompty.Spec `json:"-"`

	// Incomplete is set when Parse could not read the file as a flow
	// (invalid YAML, not a mapping, aliases that expand without bound) or
	// the file is empty. The model is then empty because of that problem,
	// which Parse reports once; Validate and checks that compare against the
	// flow (a run's column mapping, variant, connections) stay quiet rather
	// than repeat it as missing inputs and nodes.
	Incomplete bool `json:"-"`
	empty      bool // the file holds no document at all

	// Raw is the whole document as decoded generic YAML (map[string]any), kept so
	// the snapshot can write a patched copy and the session id can hash the
	// environment exactly as promptflow does.
	Raw map[string]any `json:"-"`
}

// ValueType is a flow input/output type: int, double, bool, string, secret,
// prompt_template, list, object, file_path, image, assistant_definition.
type ValueType string

// Valid reports whether the executor knows the type.
func (t ValueType) Valid() bool { return contains(valueTypes, string(t)) }

// Input is one flow input.
type Input struct {
	Name          string    `json:"name"`
	Type          ValueType `json:"type"`
	Default       any       `json:"default,omitempty"`
	HasDefault    bool      `json:"-"`
	Description   string    `json:"description,omitempty"`
	IsChatInput   bool      `json:"is_chat_input,omitempty"`
	IsChatHistory *bool     `json:"is_chat_history,omitempty"`
	Enum          []any     `json:"enum,omitempty"`
	Pos           Pos       `json:"-"`
	// KeyPos holds the position of each key's value (type, default, …).
	KeyPos map[string]Pos `json:"-"`
}

// Output is one flow output.
type Output struct {
	Name           string    `json:"name"`
	Type           ValueType `json:"type"`
	Reference      string    `json:"reference"`
	Description    string    `json:"description,omitempty"`
	IsChatOutput   bool      `json:"is_chat_output,omitempty"`
	EvaluationOnly bool      `json:"evaluation_only,omitempty"`
	Pos            Pos       `json:"-"`
	ReferencePos   Pos       `json:"-"`
	// HasReference is false when the key is absent (promptflow reads it as "").
	HasReference bool           `json:"-"`
	KeyPos       map[string]Pos `json:"-"`
}

// ToolType is a node's type.
type ToolType string

// Valid reports whether the executor knows the node type.
func (t ToolType) Valid() bool { return contains(toolTypes, string(t)) }

const (
	ToolPython    ToolType = "python"
	ToolPrompt    ToolType = "prompt"
	ToolLLM       ToolType = "llm"
	ToolCSharp    ToolType = "csharp"
	ToolCustomLLM ToolType = "custom_llm"
)

// Source says where a node's tool comes from.
type Source struct {
	Type string `json:"type,omitempty"` // code (default) | package | package_with_prompt
	Path string `json:"path,omitempty"` // relative to the flow dir for code
	Tool string `json:"tool,omitempty"` // package tool id
	Pos  Pos    `json:"-"`
}

// Activate is a node's activate condition.
type Activate struct {
	When    *Value `json:"when,omitempty"`
	Is      any    `json:"is,omitempty"`
	HasWhen bool   `json:"-"`
	HasIs   bool   `json:"-"`
	Pos     Pos    `json:"-"`
}

// Node is one node of the DAG (also the body of a variant, whose Name is the
// name of the node that uses variants).
type Node struct {
	Name        string      `json:"name"`
	Type        ToolType    `json:"type"`
	Source      Source      `json:"source"`
	Inputs      []NodeInput `json:"inputs,omitempty"` // in file order
	Connection  string      `json:"connection,omitempty"`
	API         string      `json:"api,omitempty"`
	Provider    string      `json:"provider,omitempty"`
	Module      string      `json:"module,omitempty"`
	Aggregation bool        `json:"aggregation,omitempty"`
	Activate    *Activate   `json:"activate,omitempty"`
	UseVariants bool        `json:"use_variants,omitempty"`
	EnableCache bool        `json:"enable_cache,omitempty"`
	Comment     string      `json:"comment,omitempty"`
	// VariantID is set by WithVariant on a node whose body came from a variant.
	VariantID string `json:"variant_id,omitempty"`
	Pos       Pos    `json:"-"`
	// KeyPos holds the position of each key's value (name, type, source, …).
	KeyPos map[string]Pos `json:"-"`
}

// NodeInput is one named input of a node.
type NodeInput struct {
	Name  string `json:"name"`
	Value Value  `json:"value"`
	Pos   Pos    `json:"-"` // of the key
}

// RefKind says what a value refers to.
type RefKind string

const (
	RefLiteral   RefKind = "literal"    // not a ${…} reference
	RefFlowInput RefKind = "flow_input" // ${inputs.x} or ${flow.x}
	RefNode      RefKind = "node"       // ${node[.section[.path]]}
)

// Value is a node input, an activate `when`, or an output reference, classified
// with promptflow's rules (pfazure-surface.md §3.3).
type Value struct {
	Raw     any     `json:"raw"`
	Kind    RefKind `json:"kind"`
	Name    string  `json:"name,omitempty"`    // flow input name or node name
	Section string  `json:"section,omitempty"` // node section, "output" by default
	Path    string  `json:"path,omitempty"`    // rest after the section, dotted
	Pos     Pos     `json:"-"`
}

// NodeVariants is the node_variants entry of one node.
type NodeVariants struct {
	DefaultVariantID string              `json:"default_variant_id"`
	Variants         map[string]*Variant `json:"variants"`
	Order            []string            `json:"-"` // variant ids in file order
	Pos              Pos                 `json:"-"`
	KeyPos           map[string]Pos      `json:"-"`
}

// Variant is one variant of a node.
type Variant struct {
	ID          string `json:"id"`
	Node        Node   `json:"node"`
	Description string `json:"description,omitempty"`
	Pos         Pos    `json:"-"`
}

// Environment is the flow's environment section.
type Environment struct {
	Image                 string `json:"image,omitempty"`
	PythonRequirementsTxt string `json:"python_requirements_txt,omitempty"`
	Pos                   Pos    `json:"-"`
}

// Include is one additional_includes entry as written.
type Include struct {
	Path string `json:"path"`
	Pos  Pos    `json:"-"`
}
