package cmdutil

import "testing"

func TestRedact(t *testing.T) {
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
			if got := Redact(tt.key, tt.value); got != tt.want {
				t.Errorf("Redact(%q, %q) = %q, want %q", tt.key, tt.value, got, tt.want)
			}
		})
	}
}

func FuzzRedactValue(f *testing.F) {
	for _, s := range []string{"https://u:p@h/?sig=x", "Password=x;", "eyJaaaaaaaaaa.eyJbbbbbbbbbb.c", "sk-0123456789abcdef01", "%zz://", "a://b?&&=&sig="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactValue(s)
		if RedactValue(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, RedactValue(out))
		}
	})
}
