package runspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pfz-cli/pfz/internal/fault"
)

func TestStripQuotation(t *testing.T) {
	for in, want := range map[string]string{
		`"a"`: "a", `'a'`: "a", `"a'`: `"a'`, `a`: "a", `""`: "", `"`: "", `'`: "",
		`"'a'"`: `'a'`, `x"`: `x"`, `"x`: `"x`, `''''`: "''",
	} {
		if got := stripQuotation(in); got != want {
			t.Errorf("stripQuotation(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseKeyValues(t *testing.T) {
	tests := []struct {
		name    string
		tokens  []string
		want    map[string]string
		wantErr string
	}{
		{"plain", []string{"url=${data.url}"}, map[string]string{"url": "${data.url}"}, ""},
		{"first = splits", []string{"a=b=c"}, map[string]string{"a": "b=c"}, ""},
		{"quoted value", []string{`url='${data.url}'`}, map[string]string{"url": "${data.url}"}, ""},
		{"quoted token", []string{`"url=${data.url}"`}, map[string]string{"url": "${data.url}"}, ""},
		{"quoted token and value", []string{`'k="v"'`}, map[string]string{"k": "v"}, ""},
		{"later wins", []string{"a=1", "a=2"}, map[string]string{"a": "2"}, ""},
		{"empty value", []string{"a="}, map[string]string{"a": ""}, ""},
		{"value spaces kept", []string{"a= x "}, map[string]string{"a": " x "}, ""},
		{"no equals", []string{"a=1", "oops"}, nil, "Usage error: --column-mapping KEY=VALUE [KEY=VALUE ...]"},
		{"empty key", []string{"=x"}, nil, "Usage error: --column-mapping KEY=VALUE"},
		{"none", nil, map[string]string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKeyValues("--column-mapping", tc.tokens)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if !fault.Is(err, fault.Usage) || fault.HintOf(err) == "" {
					t.Errorf("want a Usage error with a hint, got %#v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConnections(t *testing.T) {
	kvs, err := parseConnections("--connections", []string{"llm.connection=aoai", "llm.deployment_name='gpt-4'"})
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != 2 || kvs[1].Value != "gpt-4" {
		t.Errorf("kvs = %+v", kvs)
	}
	for _, bad := range []string{"llm=aoai", ".connection=x", "llm.=x", "a.b.c=x", "noequals"} {
		if _, err := parseConnections("--connections", []string{bad}); !fault.Is(err, fault.Usage) {
			t.Errorf("%q: want a usage error, got %v", bad, err)
		}
	}
}

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnvVarTokens(t *testing.T) {
	root := t.TempDir()
	cwd := filepath.Join(root, "a", "b")
	writeFile(t, filepath.Join(root, ".env"), "UP=1\n")
	writeFile(t, filepath.Join(cwd, "x.env"), "X=file\nY=${UP:-none}\n")
	if err := os.MkdirAll(cwd, 0o755); err != nil {
		t.Fatal(err)
	}

	kvs, _, found, err := envVarTokens("--environment-variables", nil, cwd, nil)
	if err != nil || found != filepath.Join(root, ".env") || len(kvs) != 1 || kvs[0].Key != "UP" {
		t.Errorf("no tokens: kvs=%+v found=%q err=%v; want the .env two folders up", kvs, found, err)
	}

	kvs, _, _, err = envVarTokens("--environment-variables", []string{"X=flag", "x.env", "Z='q'"}, cwd, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range kvs {
		got[kv.Key] = kv.Value
	}
	if diff := cmp.Diff(map[string]string{"X": "file", "Y": "none", "Z": "q"}, got); diff != "" {
		t.Errorf("later tokens win (-want +got):\n%s", diff)
	}

	for tok, want := range map[string]string{
		"nofile":      "expects file path endswith .env or KEY=VALUE",
		"missing.env": "cannot find the file missing.env",
	} {
		_, _, _, err := envVarTokens("--environment-variables", []string{tok}, cwd, nil)
		if !fault.Is(err, fault.Usage) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want usage error %q", tok, err, want)
		}
	}

	empty := t.TempDir()
	kvs, _, found, err = envVarTokens("--environment-variables", nil, empty, nil)
	if err != nil {
		t.Fatal(err)
	}
	if found == "" && len(kvs) != 0 {
		t.Errorf("no .env found, yet values: %+v", kvs)
	}
}

func TestLoadInputData(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "i.json"), `{"a": 1, "b": {"c": [1.5]}}`)
	writeFile(t, filepath.Join(dir, "i.jsonl"), "\n{\"first\": true}\n{\"second\": 2}\n")
	writeFile(t, filepath.Join(dir, "i.txt"), `{}`)
	writeFile(t, filepath.Join(dir, "e.jsonl"), "\n\n")

	v, err := loadInputData(filepath.Join(dir, "i.jsonl"))
	if err != nil || cmp.Diff(map[string]any{"first": true}, v) != "" {
		t.Errorf("jsonl: %v %v, want the first record", v, err)
	}
	if v, err := loadInputData(filepath.Join(dir, "i.json")); err != nil || v.(map[string]any)["a"] == nil {
		t.Errorf("json: %v %v", v, err)
	}
	for name, want := range map[string]string{
		"i.txt":     "Only support jsonl or json file as input.",
		"nope.json": "Cannot find inputs file",
		"e.jsonl":   "has no records",
		"":          "Cannot find inputs file",
	} {
		_, err := loadInputData(filepath.Join(dir, name))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", name, err, want)
		}
	}
}

func FuzzParseKeyValues(f *testing.F) {
	for _, s := range []string{"a=b", `"a=b"`, `a='b'`, "=", `"`, "a.b=c=d", "noeq", `'k="v"'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		m, err := ParseKeyValues("--set", []string{tok})
		if err != nil {
			if !fault.Is(err, fault.Usage) {
				t.Fatalf("want a usage error, got %v", err)
			}
			return
		}
		if len(m) != 1 {
			t.Fatalf("one token gave %d pairs", len(m))
		}
		for k, v := range m {
			if k == "" || strings.Contains(k, "=") || !strings.Contains(stripQuotation(tok), k+"=") {
				t.Fatalf("key %q from %q", k, tok)
			}
			if len(v) > len(tok) {
				t.Fatalf("value %q longer than the token %q", v, tok)
			}
		}
		if _, err := parseConnections("--connections", []string{tok}); err != nil && !fault.Is(err, fault.Usage) {
			t.Fatalf("connections: %v", err)
		}
	})
}

// --environment-variables often carries API keys: a malformed item is
// located, never echoed.
func TestEnvironmentVariablesNeverEchoed(t *testing.T) {
	cwd := t.TempDir()
	for _, tok := range []string{"sk-REAL-VALUE", "=sk-REAL-VALUE"} {
		_, _, _, err := envVarTokens("--environment-variables", []string{tok}, cwd, nil)
		if err == nil {
			t.Fatalf("%q accepted", tok)
		}
		text := err.Error() + "\n" + fault.HintOf(err)
		if strings.Contains(text, "REAL-VALUE") || !strings.Contains(text, "not shown") {
			t.Errorf("%q: %s", tok, text)
		}
	}
	// Other options still quote the token: it is a mapping, not a secret.
	_, err := ParseKeyValues("--column-mapping", []string{"question"})
	if !strings.Contains(fault.HintOf(err), `"question"`) {
		t.Errorf("column mapping hint: %v", fault.HintOf(err))
	}
}
