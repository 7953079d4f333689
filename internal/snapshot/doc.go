// Package snapshot decides what a run ships: the flow folder merged with its
// additional_includes, less ignored files, and the Azure ML content hash of
// that tree (protocol.md §4.3). It never copies eagerly and never writes the
// user's files: the merged tree is a list of references to files on disk, plus
// in-memory content for the few files pfz generates (the patched flow YAML and
// zipped includes). Materialize is the one function that writes, and only into
// a folder the caller names.
//
// It owns the ignore-file matcher (git's rules), include resolution and merge
// rules, symlink policy, the hash, and the flow-YAML patch. It imports the
// flow model, diag, fault and workspace types; it must not import cobra,
// viper, a backend or anything that talks to the network.
package snapshot
