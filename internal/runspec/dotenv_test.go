package runspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pyDotenvCases were produced by python-dotenv 1.2.2's dotenv_values on the
// same text written to a file; nil is a key without a value (Python None).
// The Go parser was also compared with it on 20,000 random documents: the only
// difference is a leading BOM, which pfz strips (as python-dotenv's main
// branch now does) and 1.2.2 keeps in the first key.
var pyDotenvCases = []struct {
	src  string
	want [][2]any
}{
	{"A=1", [][2]any{{"A", "1"}}},
	{"A=1\nB=${A}2", [][2]any{{"A", "1"}, {"B", "12"}}},
	{"export A=1", [][2]any{{"A", "1"}}},
	{"export  A = 1 # c", [][2]any{{"A", "1"}}},
	{"A='x y'#c", [][2]any{{"A", "x y"}}},
	{"A=\"x\\ny\"", [][2]any{{"A", "x\ny"}}},
	{"A='x\\ny'", [][2]any{{"A", "x\\ny"}}},
	{"'A'=1", [][2]any{{"A", "1"}}},
	{"A", [][2]any{{"A", nil}}},
	{"#c\nA=1", [][2]any{{"A", "1"}}},
	{"A=  # note", [][2]any{{"A", "# note"}}},
	{"A=x #y", [][2]any{{"A", "x"}}},
	{"A=x#y", [][2]any{{"A", "x#y"}}},
	{"A=\"unterminated\nB=2", [][2]any{{"B", "2"}}},
	{"A='a\\'b'", [][2]any{{"A", "a'b"}}},
	{"A='abc\\'", [][2]any{{"A", "abc\\"}}},
	{"A=\"a\\\"b\"", [][2]any{{"A", "a\"b"}}},
	{"A=${UNDEF}", [][2]any{{"A", ""}}},
	{"A=${UNDEF:-dflt}", [][2]any{{"A", "dflt"}}},
	{"A=${A:B}", [][2]any{{"A", "${A:B}"}}},
	{"A=1\nA=2", [][2]any{{"A", "2"}}},
	{"A= \nB=", [][2]any{{"A", ""}, {"B", ""}}},
	{"A=\"x\" junk\nB=2", [][2]any{{"B", "2"}}},
	{"=1\nB=2", [][2]any{{"B", "2"}}},
	{"A B=1", nil},
	{"A#B=1", [][2]any{{"A", nil}}},
	{"A=\"multi\nline\"\nB=3", [][2]any{{"A", "multi\nline"}, {"B", "3"}}},
	{"A=1\r\nB=2\rC=3", [][2]any{{"A", "1"}, {"B", "2"}, {"C", "3"}}},
	{"A=\"tab\\there\"", [][2]any{{"A", "tab\there"}}},
	{"A='it''s'", nil},
	{"exportA=1", [][2]any{{"exportA", "1"}}},
	{"export=1", [][2]any{{"export", "1"}}},
	{"A=\"a\\qb\"", [][2]any{{"A", "a\\qb"}}},
	{"A=${}", [][2]any{{"A", ""}}},
	{"B=${A:-x}\nA=1", [][2]any{{"B", "x"}, {"A", "1"}}},
	{"A=1\nB=\"${A}-${C:-c}\"", [][2]any{{"A", "1"}, {"B", "1-c"}}},
	{"  A  =  spaced value   ", [][2]any{{"A", "spaced value"}}},
	{"A=\"q\" # comment", [][2]any{{"A", "q"}}},
	{"A= 'q' ", [][2]any{{"A", "q"}}},
	{"KEY=\"\"", [][2]any{{"KEY", ""}}},
	{"A=\\\\x", [][2]any{{"A", "\\\\x"}}},
	// pfz strips a BOM (python-dotenv 1.2.2 would name the key "\ufeffA").
	{"\ufeffA=1", [][2]any{{"A", "1"}}},
}

func dotenvPairs(src string, lookup func(string) (string, bool)) [][2]any {
	raw, _ := parseDotenv(universalNewlines(src))
	exp, _ := expandDotenv(raw, lookup)
	var out [][2]any
	for _, e := range exp {
		if e.HasValue {
			out = append(out, [2]any{e.Key, e.Value})
		} else {
			out = append(out, [2]any{e.Key, nil})
		}
	}
	return out
}

func TestDotenvMatchesPythonDotenv(t *testing.T) {
	for _, tc := range pyDotenvCases {
		got := dotenvPairs(tc.src, nil)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("dotenv %q (-python +pfz):\n%s", tc.src, diff)
		}
	}
}

func TestDotenvProcessEnvironment(t *testing.T) {
	env := map[string]string{"HOME_DIR": "/home/u", "A": "from-env"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	// The file's own earlier values win over the process environment
	// (dotenv_values uses override=True).
	got := dotenvPairs("P=${HOME_DIR}/x\nB=${A}\nA=file\nC=${A}", lookup)
	want := [][2]any{{"P", "/home/u/x"}, {"B", "from-env"}, {"A", "file"}, {"C", "file"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDotenvIssues(t *testing.T) {
	src := "A=1\nBAD LINE\n\nNOVAL\nA=2\nAPI=${azure_open_ai_connection.api_base}\nX=${MISSING}\n"
	entries, issues := parseDotenvValues(src, nil)
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key+"="+e.Value)
	}
	if diff := cmp.Diff([]string{"A=2", "API=", "X="}, keys); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	type issue struct {
		Line int
		Has  string
	}
	want := []issue{
		{2, "could not parse"},
		{4, "NOVAL has no value"},
		{5, "A is defined again (first on line 1)"},
		{6, "${azure_open_ai_connection.api_base} is not defined"},
		{7, "${MISSING} is not defined"},
	}
	if len(issues) != len(want) {
		t.Fatalf("issues = %+v, want %d", issues, len(want))
	}
	for i, w := range want {
		if issues[i].Line != w.Line || !strings.Contains(issues[i].Message, w.Has) {
			t.Errorf("issue %d = line %d %q, want line %d containing %q", i, issues[i].Line, issues[i].Message, w.Line, w.Has)
		}
	}
	if !strings.Contains(issues[3].Hint, "environment_variables mapping") {
		t.Errorf("a dotted reference should hint at run.yml's mapping, got %q", issues[3].Hint)
	}
}

func TestReadDotenvFileNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.env")
	if err := os.WriteFile(p, []byte("OK=1\nbad line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, issues, err := readDotenvFile(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Key != "OK" || entries[0].Line != 1 {
		t.Errorf("entries = %+v", entries)
	}
	if len(issues) != 1 || issues[0].File != p || issues[0].Line != 2 {
		t.Errorf("issues = %+v", issues)
	}
	if _, _, err := readDotenvFile(filepath.Join(t.TempDir(), "missing.env"), nil); err == nil {
		t.Error("a missing file must be an error")
	}
}

func FuzzDotenv(f *testing.F) {
	for _, tc := range pyDotenvCases {
		f.Add(tc.src)
	}
	f.Add("export A='x\n\"y\\'\nB=${A:-${B}}")
	f.Fuzz(func(t *testing.T, src string) {
		entries, issues := parseDotenvValues(src, func(string) (string, bool) { return "", false })
		seen := map[string]bool{}
		for _, e := range entries {
			if e.Key == "" {
				t.Fatalf("empty key from %q", src)
			}
			if seen[e.Key] {
				t.Fatalf("key %q twice from %q", e.Key, src)
			}
			seen[e.Key] = true
			if e.Line < 1 {
				t.Fatalf("line %d for %q", e.Line, src)
			}
		}
		for _, is := range issues {
			if is.Line < 1 || is.Message == "" {
				t.Fatalf("issue %+v from %q", is, src)
			}
		}
	})
}
