package flow

// Diagnostic codes reported by Parse and Validate. They are stable: scripts,
// tests and other packages match on them. Each line says what the code means;
// the severity is the one normally used (a few depend on options, noted).
const (
	// Reading the file.
	CodeYAMLSyntax   = "yaml-syntax"            // error: the file is not valid YAML
	CodeMultipleDocs = "multiple-docs"          // error: more than one YAML document in the file
	CodeNotMapping   = "not-a-mapping"          // error: the document is not a mapping of keys
	CodeWrongType    = "wrong-type"             // error: a value has the wrong YAML type (string, bool, list, mapping…)
	CodeDuplicateKey = "duplicate-key"          // error: a key appears twice in one mapping
	CodeUnknownKey   = "unknown-key"            // warning: a key prompt flow does not know; names the nearest known key
	CodeLegacySkip   = "legacy-skip"            // warning: `skip` is no longer read by prompt flow; use activate
	CodeEmptyFlow    = "empty-flow"             // error: the flow file is empty; warning: the flow has no nodes
	CodeFlexFlow     = "flex-flow"              // info: the file is a flex flow (top-level entry); DAG checks do not apply
	CodeBadEntry     = "invalid-entry"          // error: a flex flow entry is not `module:function`
	CodeBadMsgFormat = "invalid-message-format" // error: message_format is not basic or openai-vision
	CodeBadFlowType  = "invalid-flow-type"      // error: type is not standard, evaluation or chat
	CodeBadLanguage  = "invalid-language"       // error: language is not python or csharp

	// Inputs and outputs.
	CodeMissingInputType  = "missing-input-type"       // error: a flow input has no type
	CodeMissingOutputType = "missing-output-type"      // error: a flow output has no type
	CodeUnknownValueType  = "unknown-value-type"       // error: an input/output type that is not a prompt flow value type
	CodeNoInputs          = "no-inputs"                // error for batch runs (ValidateOptions.Batch), else warning: the flow has no inputs
	CodeMultiChatInputs   = "multiple-chat-inputs"     // warning: more than one is_chat_input (chat and serving reject it)
	CodeMultiChatOutputs  = "multiple-chat-outputs"    // warning: more than one is_chat_output (chat and serving reject it)
	CodeNoChatOutput      = "missing-chat-output"      // warning: a chat input but no is_chat_output (chat and serving reject it)
	CodeEmptyOutputRef    = "empty-output-reference"   // error: an output with no or an empty reference
	CodeLiteralOutputRef  = "literal-output-reference" // warning: an output reference that is not ${…}, so it is a constant
	CodeOutputAggregation = "output-aggregation-ref"   // warning: an output references an aggregation node and is dropped

	// References.
	CodeUnknownInputRef = "unknown-input-ref"        // error: ${inputs.x} names a flow input that is not declared
	CodeUnknownNodeRef  = "unknown-node-ref"         // error: ${node…} names a node that does not exist
	CodeNodeCycle       = "node-cycle"               // error: nodes depend on each other in a circle (inputs and activate.when)
	CodeAggregationRef  = "aggregation-ref"          // error: a non-aggregation node references an aggregation node
	CodeAggActivateRef  = "aggregation-activate-ref" // error: an aggregation node's activate.when references a non-aggregation node

	// Nodes.
	CodeMissingNodeName   = "missing-node-name"        // error: a node without a name
	CodeDuplicateNode     = "duplicate-node"           // error: two nodes with the same name
	CodeMissingNodeType   = "missing-node-type"        // error: a node without a type
	CodeUnknownNodeType   = "unknown-node-type"        // error: a type that is not llm, python, prompt, csharp or custom_llm
	CodeMissingSource     = "missing-node-source"      // error: a node without a source
	CodeUnknownSourceType = "unknown-source-type"      // error: source.type is not code, package or package_with_prompt
	CodeMissingSourcePath = "missing-source-path"      // error: a code source without a path
	CodeMissingSourceTool = "missing-source-tool"      // error: a package source without a tool
	CodeSourceNotFound    = "source-not-found"         // error: the source file does not exist in the flow folder or includes
	CodePathOutsideFlow   = "path-outside-flow"        // error: an absolute path or one that leaves the flow folder
	CodeCustomLLMSource   = "custom-llm-source"        // error: a custom_llm node whose source is not package_with_prompt
	CodeInvalidActivate   = "invalid-activate"         // error: activate without both `when` and `is`
	CodeEmptyActivate     = "empty-activate"           // warning: activate with `when` and `is` both null
	CodeMissingLLMAPI     = "missing-llm-api"          // error: an llm node without api
	CodeUnknownLLMAPI     = "unknown-llm-api"          // error: an llm api other than chat or completion
	CodeUnknownProvider   = "unknown-llm-provider"     // warning: a provider that is not a known one (the connection decides)
	CodeInvalidModule     = "invalid-module"           // error: module is not a dotted Python module name
	CodeTemplateConflict  = "template-input-conflict"  // error: a prompt template variable has the name of a tool parameter
	CodeConnectionMissing = "connection-not-found"     // error (when ValidateOptions.Connection is set): the connection does not exist
	CodeConnectionType    = "connection-type"          // error (when ValidateOptions.Connection is set): an llm node's connection type cannot serve LLMs
	CodeEnvConnection     = "env-connection-not-found" // warning (when ValidateOptions.Connection is set): environment_variables names a missing connection
	CodeUnknownTool       = "unknown-package-tool"     // error (when ValidateOptions.Tool is set): a package tool that is not installed

	// Assistant definitions (a node input named assistant_definition).
	CodeAssistantMissing    = "assistant-definition-not-found" // error: the assistant definition file does not exist
	CodeAssistantInvalid    = "assistant-definition-invalid"   // error: the assistant definition is not valid YAML of the right shape
	CodeAssistantSourceType = "assistant-tool-source-type"     // error: an assistant tool source.type other than code or package
	CodeAssistantToolFile   = "assistant-tool-not-found"       // error: an assistant code tool file that does not exist

	// Variants.
	CodeMissingVariants   = "missing-node-variants"   // error: use_variants without a node_variants entry
	CodeMissingDefaultVar = "missing-default-variant" // error: node_variants without default_variant_id
	CodeUnknownVariant    = "unknown-variant"         // error: default_variant_id (or a chosen variant) that is not defined
	CodeNoVariants        = "no-variants"             // error: node_variants with an empty variants map
	CodeUnusedVariants    = "unused-node-variants"    // warning: node_variants for a node that does not set use_variants or does not exist

	// Environment and files.
	CodeRequirementsNotFound = "requirements-not-found" // warning (pfazure warns and runs without it): environment.python_requirements_txt does not exist
	CodeIncludeNotFound      = "include-not-found"      // error: an additional_includes entry that does not exist
	CodeDuplicateInclude     = "duplicate-include"      // warning: the same additional_includes entry twice
)
