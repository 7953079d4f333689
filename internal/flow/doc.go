// Package flow owns the prompt flow definition (flow.dag.yaml, and the
// flex and prompty kinds as far as discovery goes): finding the flow file,
// parsing it with yaml.v3 nodes so every finding has file:line:column, and
// checking statically what the prompt flow executor would reject at run time.
// It also applies variants and orders nodes for the executor.
//
// It is domain code: it imports only diag and fault from pfz, never cobra,
// viper, a terminal or the network. Files are read from the local disk only
// when the caller passes no ValidateOptions.Exists/ReadFile.
package flow
