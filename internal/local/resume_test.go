package local

import (
	"testing"

	"github.com/pfz-cli/pfz/internal/redact"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// A recorded submission with a masked value cannot be resumed: the first
// masked setting (sorted) is named; references and plain values are not
// masked and pass.
func TestMaskedSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		sub  workspace.Submission
		want string
	}{
		{"nothing masked", workspace.Submission{
			EnvironmentVariables: map[string]string{"A": "1", "KEY_REF": "${conn.api_key}"},
			Connections:          map[string]map[string]string{"llm": {"connection": "c", "deployment_name": "gpt"}},
			Init:                 map[string]any{"model_config": map[string]any{"azure_endpoint": "https://x"}},
			ColumnMapping:        map[string]any{"q": "${data.q}"}}, ""},
		{"environment variable", workspace.Submission{EnvironmentVariables: map[string]string{"OPENAI_API_KEY": redact.Masked, "A": "1"}},
			"environment variable OPENAI_API_KEY"},
		{"a masked part of a URL", workspace.Submission{EnvironmentVariables: map[string]string{"DATA_URL": "https://h/x?sig=" + redact.Masked}},
			"environment variable DATA_URL"},
		{"connection override", workspace.Submission{Connections: map[string]map[string]string{"llm": {"api_key": redact.Masked}}},
			"connection setting llm.api_key"},
		{"nested init", workspace.Submission{Init: map[string]any{"model_config": map[string]any{"api_key": redact.Masked}}},
			"init argument model_config.api_key"},
		{"init list", workspace.Submission{Init: map[string]any{"keys": []any{"a", redact.Masked}}},
			"init argument keys[1]"},
		{"column mapping literal", workspace.Submission{ColumnMapping: map[string]any{"token": redact.Masked}},
			"column mapping of token"},
	} {
		if got := maskedSetting(&tc.sub); got != tc.want {
			t.Errorf("%s: maskedSetting = %q, want %q", tc.name, got, tc.want)
		}
	}
}
