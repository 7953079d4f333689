// Package prompty reads .prompty files and does what promptflow 1.18.5 does
// with them, short of rendering Jinja and calling the model: it splits the
// file into YAML front matter and template body the way promptflow does,
// checks the front matter offline (diagnostics with file:line:column),
// resolves ${env:…} and ${file:…} references and model overrides, builds the
// inputs of a call (sample, defaults, images), turns a rendered chat prompt
// into role messages (role escaping of inputs, name/content, tool calls,
// images), builds the request parameters and formats the model's answer
// (response first or all, json_object parsed and cut to the declared
// outputs).
//
// Rendering the template and sending the request are the executor's: it owns
// the Jinja engine prompt nodes use and the OpenAI / Azure OpenAI client of
// llm nodes. This package knows nothing
// of terminals, HTTP or Python. It imports diag and suggest only.
package prompty
