// Package e2e holds the end-to-end tests of the local target's runs: the
// example flows run through local.Workspace in a real Python session,
// cancellation from another process, and a run whose process is killed.
// It has no code of its own.
package e2e
