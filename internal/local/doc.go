// Package local is the embedded workspace of the local target: compute
// sessions are Python virtual environments under PFZ_HOME, runs execute on
// this machine. This part owns sessions and their packages; the store
// (internal/local/store) owns files, locks and atomic writes.
//
// A session lives in PFZ_HOME/sessions/<id>/:
//
//	session.json    the record (spec, settings, status, environment)
//	used.json       when it was last used (written without the lock)
//	env/            the virtual environment (serverless sessions)
//	logs/           venv and pip output of every start, reset and install
//
// A local compute instance (--compute-type compute-instance --compute NAME)
// lives in PFZ_HOME/computes/<name>/ with one environment that the sessions
// of several flows share, as on Azure ML. It belongs to the user who made
// it and is released with its last session.
//
// Idle expiry happens at the next pfz invocation: every session command
// first deletes the sessions whose idle time has passed since they were
// last used (unless a run holds them, see Sessions.Acquire), and repairs
// what killed processes left behind: a session stuck in Starting whose
// builder is gone becomes Failed with a hint; stale temp files go away.
//
// Private feeds: a requirements line such as
// `-i https://{private}@feed/simple` gets its {private} replaced, at install
// time only, by the token Options.PrivateToken returns (the command line
// reads it from PFZ_PRIVATE_FEED_TOKEN; "user:token" or a bare token). The
// token reaches pip through its environment (pip expands ${NAME} in
// requirements files), never a file or an argument, and is masked in logs.
//
// It must not import cobra, viper or the terminal packages.
package local
