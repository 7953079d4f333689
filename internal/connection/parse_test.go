package connection

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

func TestParseAzureOpenAI(t *testing.T) {
	src := `$schema: https://azuremlschemas.azureedge.net/promptflow/latest/AzureOpenAIConnection.schema.json
name: azure_open_ai_connection
type: azure_open_ai
api_key: "k-123"
api_base: "https://x.openai.azure.com/"
api_version: 2024-02-01
`
	c, ds := Parse("aoai.yaml", []byte(src))
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	want := &Connection{
		Schema: "https://azuremlschemas.azureedge.net/promptflow/latest/AzureOpenAIConnection.schema.json",
		Name:   "azure_open_ai_connection", Type: TypeAzureOpenAI, Module: "promptflow.connections",
		APIKey: "k-123", APIBase: "https://x.openai.azure.com/", APIType: "azure", APIVersion: "2024-02-01",
	}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if c.ClassName() != "AzureOpenAIConnection" {
		t.Errorf("class %s", c.ClassName())
	}
	if d := cmp.Diff(map[string]string{"api_key": "k-123", "api_base": "https://x.openai.azure.com/", "api_type": "azure", "api_version": "2024-02-01"}, c.Values()); d != "" {
		t.Errorf("values (-want +got)\n%s", d)
	}
	if d := cmp.Diff([]string{"api_key"}, c.SecretKeys()); d != "" {
		t.Error(d)
	}
}

func TestParseCustom(t *testing.T) {
	src := `name: my_custom
type: custom
configs:
  endpoint: https://api.example
  retries: 3
secrets:
  token: abc
  other: ${env:OTHER_SECRET}
`
	c, ds := Parse("custom.yaml", []byte(src))
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	if c.Configs["retries"] != "3" || c.Secrets["token"] != "abc" {
		t.Errorf("parsed %+v", c)
	}
	if ds := c.ResolveEnv(func(k string) (string, bool) { return "", false }); len(ds) != 1 || ds[0].Code != CodeMissingEnv || !strings.Contains(ds[0].Message, "secrets.other") {
		t.Errorf("missing variable: %v", ds)
	}
	ds = c.ResolveEnv(func(k string) (string, bool) {
		if k == "OTHER_SECRET" {
			return "from-env", true
		}
		return "", false
	})
	if len(ds) != 0 || c.Secrets["other"] != "from-env" {
		t.Errorf("resolve: %v %+v", ds, c.Secrets)
	}
	if d := cmp.Diff([]string{"other", "token"}, c.SecretKeys()); d != "" {
		t.Error(d)
	}
	if v := c.Values(); v["endpoint"] != "https://api.example" || v["token"] != "abc" || len(v) != 4 {
		t.Errorf("values %v", v)
	}
	r := c.Redact()
	if r.Secrets["token"] != Redacted || r.Configs["endpoint"] != "https://api.example" || c.Secrets["token"] != "abc" {
		t.Errorf("redact changed the wrong things: %+v / %+v", r, c)
	}
}

func TestParseDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "severity code line:col"
	}{
		{"syntax", "name: [unclosed\n", []string{"error yaml-syntax"}},
		{"empty", "", []string{"error not-a-mapping 0:0"}},
		{"list", "- a\n- b\n", []string{"error not-a-mapping 1:1"}},
		{"missing name and type", "api_key: x\n", []string{"error missing-key 0:0", "error missing-key 0:0"}},
		{"unknown type", "name: a\ntype: azure_openai\n", []string{"error unknown-type 2:1"}},
		{"unknown key", "name: a\ntype: open_ai\napi_key: k\napi_bse: x\n", []string{"warning unknown-key 4:1"}},
		{"key of another type", "name: a\ntype: serp\napi_key: k\napi_base: x\n", []string{"warning unknown-key 4:1"}},
		{"duplicate", "name: a\nname: b\ntype: serp\napi_key: k\n", []string{"error duplicate-key 2:1"}},
		{"missing required", "name: a\ntype: azure_open_ai\napi_key: k\n", []string{"error missing-key 0:0"}},
		{"keyless aoai", "name: a\ntype: azure_open_ai\napi_base: https://x\nauth_mode: meid_token\n", nil},
		{"placeholder", "name: a\ntype: open_ai\napi_key: \"<user-input>\"\n", []string{"error placeholder-secret 3:1"}},
		{"placeholder secret", "name: a\ntype: custom\nsecrets:\n  k: <to-be-replaced>\n", []string{"error placeholder-secret 4:3"}},
		{"bad name", "name: a/b\ntype: serp\napi_key: k\n", []string{"error invalid-name 1:1"}},
		{"wrong value type", "name: a\ntype: serp\napi_key: [1, 2]\n", []string{"error missing-key 3:1", "error wrong-type 3:10"}},
		{"configs not a mapping", "name: a\ntype: custom\nconfigs: x\n", []string{"error wrong-type 3:10"}},
		{"two documents", "name: a\ntype: serp\napi_key: k\n---\nname: b\n", []string{"error yaml-syntax 4:1"}},
	}
	for _, tt := range tests {
		_, ds := Parse("c.yaml", []byte(tt.src))
		var got []string
		for _, d := range ds {
			s := string(d.Severity) + " " + d.Code
			if tt.name != "syntax" {
				s += " " + itoa(d.Line) + ":" + itoa(d.Column)
			}
			got = append(got, s)
			if d.File != "c.yaml" {
				t.Errorf("%s: diagnostic without the file: %v", tt.name, d)
			}
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s (-want +got)\n%s\n%v", tt.name, d, ds)
		}
	}
}

func TestUnknownKeyNamesTheNearest(t *testing.T) {
	_, ds := Parse("c.yaml", []byte("name: a\ntype: open_ai\napi_key: k\norganisation: x\n"))
	if len(ds) != 1 || ds[0].Hint != "did you mean organization?" {
		t.Errorf("%v", ds)
	}
	_, ds = Parse("c.yaml", []byte("name: a\ntype: azure_openai\n"))
	if len(ds) != 1 || ds[0].Hint != "did you mean azure_open_ai?" {
		t.Errorf("%v", ds)
	}
}

func TestParseCorpusConnection(t *testing.T) {
	p := shared.Path(t, "conformance", "promptflow", "test_configs", "flows", "export", "linux", "connections", "custom_connection.yaml")
	data := mustRead(t, p)
	c, ds := Parse(p, data)
	if ds.HasErrors() {
		t.Fatalf("%v", ds)
	}
	if c.Name != "custom_connection" || c.Type != TypeCustom || c.Configs["CHAT_DEPLOYMENT_NAME"] != "gpt-35-turbo" {
		t.Errorf("%+v", c)
	}
	if _, ok := envRef(c.Secrets["AZURE_OPENAI_API_KEY"]); !ok {
		t.Errorf("the secret should be an env reference: %q", c.Secrets["AZURE_OPENAI_API_KEY"])
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name: a\ntype: open_ai\napi_key: k\n",
		"name: c\ntype: custom\nconfigs:\n  a: 1\nsecrets:\n  b: ${env:B}\n",
		"name: x\ntype: azure_open_ai\napi_base: https://x\nauth_mode: meid_token\n",
		"- 1\n", "", "a: &x [1]\nb: *x\n", "name: [\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ds := Parse("f.yaml", data)
		for _, d := range ds {
			if d.Severity != diag.Error && d.Severity != diag.Warning {
				t.Fatalf("odd severity %v", d)
			}
		}
		if c != nil && !ds.HasErrors() {
			if vs := c.Validate(); vs.HasErrors() {
				t.Fatalf("Parse accepted what Validate rejects: %v", vs)
			}
			r := c.Redact()
			for _, k := range c.SecretKeys() {
				if v := r.Values()[k]; v != "" && v != Redacted {
					t.Fatalf("secret %s not redacted: %q", k, v)
				}
			}
		}
	})
}
