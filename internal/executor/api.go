package executor

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/pfz-cli/pfz/internal/flow"
	"github.com/pfz-cli/pfz/internal/pyjson"
)

// ConnectionResolver returns a connection's values by name: "type"
// (AzureOpenAI, OpenAI, Custom, …), "api_key", "api_base", "api_version",
// "api_type", "base_url", "organization", or a custom connection's own keys.
// For a custom connection, "__secret_keys__" may list (comma-separated) the
// keys that are secrets; the rest are configs.
type ConnectionResolver interface {
	Resolve(ctx context.Context, name string) (map[string]string, error)
}

// ParentRun is the run an evaluation run refers to (run: in run.yml), read by
// line number for ${run.outputs.x} and ${run.inputs.x}.
type ParentRun interface {
	// Line returns the parent's line n: its inputs (the parent's data row)
	// and outputs. ok is false when the parent has no completed line n; such
	// lines are left out of the evaluation, as promptflow does.
	Line(ctx context.Context, n int) (inputs, outputs map[string]any, ok bool, err error)
	// LineNumbers lists the parent's line numbers in order; used when the run
	// has no data of its own.
	LineNumbers(ctx context.Context) ([]int, error)
}

// Sink receives what a run produces, as it happens. Run serializes the calls,
// so implementations need no locking.
type Sink interface {
	LineStarted(line int)
	LineDone(LineResult)
	NodeRun(NodeRunRecord)
	Log(LogEntry)
	Metric(name string, value any)
}

// Statuses of lines, node runs and runs.
const (
	StatusCompleted = "Completed"
	StatusFailed    = "Failed"
	StatusCanceled  = "Canceled"
	StatusBypassed  = "Bypassed"
)

// Error codes of line and node errors.
const (
	CodeToolError    = "UserError"                 // the tool raised
	CodeInput        = "InputError"                // flow inputs could not be built from the data
	CodeTimeout      = "LineExecutionTimeoutError" // the line ran past the line timeout
	CodeWorker       = "WorkerCrashed"             // the python worker died or passed its memory limit
	CodeLLM          = "LLMError"                  // the model endpoint failed
	CodeConnection   = "ConnectionError"           // a connection could not be resolved
	CodeCanceled     = "Canceled"                  // the run was canceled
	CodeExecution    = "ExecutionError"            // anything else while running a node
	CodeToolNotFound = "ToolLoadError"             // the tool file or package could not be loaded
)

// LineError says why a line (or a node, or an aggregation) failed.
type LineError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Node      string `json:"node,omitempty"`
	Type      string `json:"type,omitempty"` // the Python exception type
	Traceback string `json:"traceback,omitempty"`
}

func (e *LineError) Error() string { return e.Message }

// LineResult is one data line's outcome.
type LineResult struct {
	LineNumber int           `json:"line_number"`
	Status     string        `json:"status"`
	Inputs     pyjson.Object `json:"inputs"`
	Outputs    pyjson.Object `json:"outputs,omitempty"`
	Error      *LineError    `json:"error,omitempty"`
	Start      time.Time     `json:"start_time"`
	End        time.Time     `json:"end_time"`
}

// NodeRunRecord is one node's run within a line (Line is -1 for aggregation nodes).
type NodeRunRecord struct {
	Node   string         `json:"node"`
	Line   int            `json:"line_number"`
	Status string         `json:"status"`
	Inputs map[string]any `json:"inputs,omitempty"`
	Output any            `json:"output,omitempty"`
	Error  *LineError     `json:"error,omitempty"`
	// Tokens is what an llm node's call used, when the endpoint said.
	Tokens *TokenUsage `json:"tokens,omitempty"`
	Start  time.Time   `json:"start_time"`
	End    time.Time   `json:"end_time"`
}

// LogEntry is one line printed by a tool (Node) while running data line Line
// (-1: aggregation or outside any line), or a message of the executor (Node empty).
type LogEntry struct {
	Time   time.Time `json:"time"`
	Line   int       `json:"line_number"`
	Node   string    `json:"node,omitempty"`
	Stream string    `json:"stream"` // stdout | stderr | pfz
	Text   string    `json:"text"`
}

// Config is one run.
type Config struct {
	// Flow is the parsed flow. Nodes that still use variants get Variant (or
	// their default variant) applied.
	Flow    *flow.Flow
	Variant string
	// Dir is the snapshot root the node sources are read from; Flow.Dir when empty.
	Dir string
	// Python is the session's interpreter; "python3" when empty.
	Python string
	// Workers is the number of python workers (size it from the VM size); 1 when <= 0.
	Workers int
	// Concurrency is the number of lines in flight; Workers when the flow has
	// python nodes, otherwise max(2×Workers, 4).
	Concurrency int
	// MemLimitMB stops a python worker whose memory passes it (0: no limit).
	MemLimitMB int
	// BaseEnv is the environment workers start from (usually the caller's os.Environ()).
	BaseEnv []string
	// Env is the run's environment_variables; they override the flow's per key.
	// Values of the form ${conn.key} are read from connections.
	Env         map[string]string
	Connections ConnectionResolver
	// LineTimeout bounds each line; PF_LINE_TIMEOUT_SEC from the environment
	// variables, else 600s, when zero.
	LineTimeout time.Duration
	// Mapping is the column mapping (run.yml column_mapping): ${data.x},
	// ${run.outputs.x}, ${run.inputs.x} or literals, by flow input.
	Mapping map[string]any
	// MappingOrder is Mapping's keys in the run definition's order; the
	// line's inputs take the mapped keys that are no flow input read by
	// default in it. Keys it lacks (or all, when nil) follow sorted.
	MappingOrder []string
	// Data is the data file or folder; with no data the lines are the Parent's.
	Data   string
	Parent ParentRun
	Sink   Sink
	// Pool is a started pool to use (its Dir and environment must suit the
	// run); when nil Run starts its own and stops it at the end.
	Pool *Pool
	// RuntimeDir is where the embedded python runtime is written (see PoolConfig).
	RuntimeDir string
	// HTTPClient calls the model endpoints; a client with sane timeouts when nil.
	HTTPClient *http.Client
	// Log, if set, receives the executor's own messages as text lines.
	Log io.Writer
	// Init is a flex flow class's __init__ arguments (--init, run.yml init).
	Init map[string]any
	// OnChunk, when set, receives each item a flex entry's generator output
	// yields, as it is yielded (flow test streams them).
	OnChunk func(chunk any)
	// Reuse, when set, holds the completed lines of a run being resumed
	// (--resume-from): such a line is not run again; its recorded result and
	// node runs are reported as they were and feed the aggregation, which
	// runs over every completed line.
	Reuse ReusedLines
}

// ReusedLines are the lines of a resumed run that need not run again.
type ReusedLines interface {
	// Line returns line n's recorded result and node runs; ok is false when
	// line n did not complete (it then runs). Safe for concurrent use.
	Line(ctx context.Context, n int) (res *LineResult, nodes []NodeRunRecord, ok bool, err error)
}

// Summary is how a run ended.
type Summary struct {
	Status    string `json:"status"` // Completed | Canceled (failed lines do not fail the run)
	Total     int    `json:"total"`
	Completed int    `json:"completed"`
	Failed    int    `json:"failed"`
	Canceled  int    `json:"canceled"`
	// AggregationOutputs are the outputs of aggregation nodes, by node.
	AggregationOutputs map[string]any `json:"aggregation_outputs,omitempty"`
	// AggregationErrors are the aggregation nodes that failed; they do not
	// fail the run.
	AggregationErrors map[string]*LineError `json:"aggregation_errors,omitempty"`
	// Metrics are in the order they were logged (a metric logged again
	// keeps its place), as promptflow writes metrics.json.
	Metrics pyjson.Object `json:"metrics,omitempty"`
	// Error is the error of the first failed line (by line number), when a
	// line failed.
	Error  *LineError `json:"error,omitempty"`
	Python WorkerInfo `json:"python"`
	Start  time.Time  `json:"start_time"`
	End    time.Time  `json:"end_time"`
}
