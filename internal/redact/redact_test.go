package redact

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/workspace"
)

func TestValue(t *testing.T) {
	tests := []struct {
		name, key, value, want string
	}{
		{"secret name", "OPENAI_API_KEY", "abc", Masked},
		{"secret name, any case", "Db_Password", "hunter2", Masked},
		{"connection reference stays", "OPENAI_API_KEY", "${my_aoai.api_key}", "${my_aoai.api_key}"},
		{"empty stays", "API_KEY", "", ""},
		{"plain value", "MODE", "keywords", "keywords"},
		{"URL password", "ENDPOINT", "https://user:pass@x.openai.azure.com/path", "https://user:***@x.openai.azure.com/path"},
		{"SAS signature", "DATA_URL", "https://a.blob.core.windows.net/c/d.jsonl?sv=2022-11-02&sig=abc%2Bdef&se=2030", "https://a.blob.core.windows.net/c/d.jsonl?sv=2022-11-02&sig=***&se=2030"},
		{"function key in a query", "HOOK", "https://f.azurewebsites.net/api/x?code=s3cr3t", "https://f.azurewebsites.net/api/x?code=***"},
		{"URL without secrets is untouched", "BASE", "https://x.openai.azure.com/?api-version=2024-02-01", "https://x.openai.azure.com/?api-version=2024-02-01"},
		{"SQL connection string", "DB", "Server=x;Database=y;Password=hunter2;", "Server=x;Database=y;Password=***;"},
		{"storage connection string", "STORAGE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=QUJD==;EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=core.windows.net"},
		{"JWT", "HEADER", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl", "Bearer ***"},
		{"sk- key", "CONFIG", "model=gpt key=sk-abcdefghijklmnopqrstuvwx", "model=gpt key=***"},
		{"short sk- word is not a key", "NOTE", "sk-ip this", "sk-ip this"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Value(tt.key, tt.value); got != tt.want {
				t.Errorf("Value(%q, %q) = %q, want %q", tt.key, tt.value, got, tt.want)
			}
		})
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"https://u:p@h/?sig=x", "Password=x;", "eyJaaaaaaaaaa.eyJbbbbbbbbbb.c", "sk-0123456789abcdef01", "%zz://", "a://b?&&=&sig="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if Text(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, Text(out))
		}
	})
}

func TestSubmission(t *testing.T) {
	sub := &workspace.Submission{
		Name:                 "run1",
		EnvironmentVariables: map[string]string{"API_KEY": "sk-123", "MODE": "fast", "TOKEN_REF": "${conn.api_key}", "EMPTY_SECRET": "", "DB": "Server=x;Password=hunter2"},
		Connections:          map[string]map[string]string{"chat": {"connection": "aoai", "api_key": "abc", "deployment_name": "gpt-4o"}},
		Init:                 map[string]any{"model_config": map[string]any{"api_key": "abc", "azure_endpoint": "https://x.openai.azure.com"}, "n": 3, "extra": []any{"sk-abcdefghijklmnopqrstuvwx"}},
		ColumnMapping:        map[string]any{"q": "${data.q}", "password": "hunter2"},
		Data:                 &workspace.Data{Remote: "https://a.blob.core.windows.net/c/d.jsonl?sig=abc"},
	}
	got := Submission(sub)
	want := &workspace.Submission{
		Name:                 "run1",
		EnvironmentVariables: map[string]string{"API_KEY": Masked, "MODE": "fast", "TOKEN_REF": "${conn.api_key}", "EMPTY_SECRET": "", "DB": "Server=x;Password=***"},
		Connections:          map[string]map[string]string{"chat": {"connection": "aoai", "api_key": Masked, "deployment_name": "gpt-4o"}},
		Init:                 map[string]any{"model_config": map[string]any{"api_key": Masked, "azure_endpoint": "https://x.openai.azure.com"}, "n": 3, "extra": []any{Masked}},
		ColumnMapping:        map[string]any{"q": "${data.q}", "password": Masked},
		Data:                 &workspace.Data{Remote: "https://a.blob.core.windows.net/c/d.jsonl?sig=***"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if sub.EnvironmentVariables["API_KEY"] != "sk-123" || sub.Connections["chat"]["api_key"] != "abc" ||
		sub.Init["model_config"].(map[string]any)["api_key"] != "abc" || sub.Data.Remote != "https://a.blob.core.windows.net/c/d.jsonl?sig=abc" {
		t.Error("the submission itself was changed")
	}
	// Absent stays absent: a dry run prints no empty sections.
	empty := Submission(&workspace.Submission{Name: "r"})
	if empty.EnvironmentVariables != nil || empty.Connections != nil || empty.Init != nil || empty.ColumnMapping != nil || empty.Data != nil {
		t.Errorf("nil fields filled: %+v", empty)
	}
}

func TestStrings(t *testing.T) {
	got := Strings(map[string]string{"OPENAI_API_KEY": "sk", "AZURE_CLIENT_SECRET": "s", "api_base": "https://x", "TOKEN": "", "MY_PASSWORD": "p"})
	want := map[string]string{"OPENAI_API_KEY": Masked, "AZURE_CLIENT_SECRET": Masked, "api_base": "https://x", "TOKEN": "", "MY_PASSWORD": Masked}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}
