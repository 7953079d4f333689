package connection

// Diagnostic codes of Parse, Validate and ResolveEnv. They are stable.
const (
	CodeYAMLSyntax   = "yaml-syntax"          // error: the file is not valid YAML
	CodeNotMapping   = "not-a-mapping"        // error: the document is not a mapping of keys
	CodeWrongType    = "wrong-type"           // error: a value is not a scalar (or, for configs/secrets, a mapping of scalars)
	CodeDuplicateKey = "duplicate-key"        // error: a key appears twice in one mapping
	CodeUnknownKey   = "unknown-key"          // warning: a key this connection type does not have; names the nearest known key
	CodeMissingKey   = "missing-key"          // error: name, type or a key the type needs is missing or empty
	CodeUnknownType  = "unknown-type"         // error: type is not a known connection type
	CodeBadName      = "invalid-name"         // error: the name cannot be a connection name
	CodePlaceholder  = "placeholder-secret"   // error: a secret is still a <placeholder>
	CodeMissingEnv   = "missing-env-variable" // error: ${env:NAME} names a variable that is not set
)
