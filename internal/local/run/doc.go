// Package run owns the files of one local run record, PFZ_HOME/runs/<name>/:
//
//	run.json          the record: metadata, status, times, counts, error (atomic writes)
//	submission.json   the submission as it was made (secret-like values masked)
//	lines.jsonl       one object per finished data line: line_number, status,
//	                  inputs, outputs, error, times; appended as lines finish
//	node_runs.jsonl   one object per node run; appended as nodes finish
//	logs.txt          the run's log, appended
//	metrics.json      the metrics the aggregation nodes logged
//	snapshot/         the flow files the run executed
//	cancel.request    present once another process asked the run to stop
//
// Appended files are written in whole lines; a reader skips a torn last line
// left by a killed writer and Repair cuts it off. It also reads the record
// back (details sorted by line number with an offset index, so memory stays
// small for big runs), writes pfazure's download layout and the comparison
// page of `run visualize`. Locks and the lifecycle belong to package local;
// this package knows nothing of sessions or terminals.
package run
