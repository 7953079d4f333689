// Package runspec owns the run definition: run.yml (every field of pfazure's
// RunSchema, plus resources.idle_time_before_shutdown_minutes), the
// `run create` flags, --set, pfazure's precedence and path rules, KEY=VALUE
// and dotenv parsing, the column-mapping check against the flow and the data,
// and Resolve, which turns a loaded Spec into a workspace.Submission.
//
// Load is pure apart from reading the files the run names (the YAML, a dotenv
// file, an init file) and makes no network call; Resolve also reads the flow
// folder and the data. This is a domain package: it must not import cobra,
// viper, the terminal or a backend, and it reads no environment variable
// (LoadOptions.LookupEnv is passed in).
//
// Where pfz follows pfazure (pfazure-surface.md §1.4, §1.6, §2, §7):
//   - precedence: with -f, flag > --set > YAML, and a flag replaces a whole
//     value (--column-mapping drops the YAML mapping; --set column_mapping.x
//     changes one key); with --flow, --set > flag; the YAML runtime beats the
//     hidden --runtime (with a warning when they differ);
//   - paths: relative to the YAML's folder with -f, flags given alongside it
//     included; relative to the CWD with --flow; --environment-variables and
//     --init files always from the CWD;
//   - unknown top-level keys warn; unknown keys under resources and identity
//     fail; identity.type is case-insensitive; a value of the wrong type fails
//     with marshmallow's words ("Not a valid string.");
//   - the messages of the exclusive options, KEY=VALUE usage errors, --set
//     through a string, resume restrictions, missing paths and remote URIs.
//
// Where pfz decides differently, on purpose:
//   - resources.idle_time_before_shutdown_minutes is accepted (pfazure: "Unknown field.");
//   - `init: <file>` in run.yml is looked up next to the YAML first and then in
//     the CWD (pfazure reads only the CWD), with a warning for the latter;
//   - none of file/flow/resume-from says "[file, flow, resume-from]" (pfazure
//     names "source", which it does not have);
//   - the variant format is checked at load (pfazure only at the service), and
//     surrounding quotes are dropped before it is sent;
//   - azureml:<name> must name a flow (non-empty, no "/"), and in --flow mode it
//     is never taken for a Python module:function entry;
//   - a module:function --flow is recognised but Resolve refuses it (Unsupported);
//   - resources.instance_type is checked against internal/session's VM catalog
//     and written as the catalog spells it;
//   - instance_type or a managed identity next to resources.compute warns (a
//     compute-instance session uses the instance's size and identity);
//   - connection override values are sent as strings; an empty flag value
//     (--name "") counts as not given; duplicate YAML keys are errors (as in
//     ruamel), not last-wins;
//   - Resolve checks the column mapping, the variant, connection node names and
//     the flow itself before anything is uploaded (pfazure checks none).
//
// dotenv differences from python-dotenv are listed in dotenv.go.
package runspec
