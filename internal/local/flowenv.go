package local

import (
	"os"
	"strings"
)

// heldBack are the variables python workers never inherit: the credentials
// pfz itself uses (to reach Azure, a private package feed) and its own
// settings. A flow sees the rest of the environment, as under promptflow,
// plus its environment_variables; a flow that needs one of these names it
// there (run.yml environment_variables or --environment-variables), so
// passing a credential to flow code is always a visible choice.
var heldBack = map[string]bool{
	"AZURE_CLIENT_SECRET":               true,
	"AZURE_CLIENT_CERTIFICATE_PASSWORD": true,
	"AZURE_FEDERATED_TOKEN":             true,
	"AZURE_FEDERATED_TOKEN_FILE":        true,
	"AZURE_PASSWORD":                    true,
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN":    true,
	"ACTIONS_ID_TOKEN_REQUEST_URL":      true,
	"IDENTITY_HEADER":                   true,
	"MSI_SECRET":                        true,
}

// FlowEnviron returns environ without the variables a flow should not
// inherit: heldBack and every PFZ_* setting (PFZ_PRIVATE_FEED_TOKEN among
// them).
func FlowEnviron(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if heldBack[strings.ToUpper(k)] || strings.HasPrefix(strings.ToUpper(k), "PFZ_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// flowBaseEnv is the environment the python workers of a run or a flow test
// start from: env (the process environment when nil) without what a flow
// should not inherit. Runs and flow tests share it, so neither can leak
// pfz's credentials into user code.
func flowBaseEnv(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	return FlowEnviron(env)
}
