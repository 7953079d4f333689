// Package executor runs a DAG flow over input data on this machine: it owns the
// line scheduler (nodes run as soon as their inputs are ready, lines run in
// parallel), the pool of long-lived python workers that run python tool nodes,
// prompt rendering (jinja2 templates in Go), llm calls to OpenAI and Azure
// OpenAI, activate conditions, aggregation nodes and their metrics, per-line
// timeouts and errors, and cancellation. It reads the flow model and data;
// it must not import backends or anything that prints to a terminal.
package executor
