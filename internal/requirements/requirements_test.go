package requirements

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/testutil/shared"
)

var ignoreUnexported = cmpopts.IgnoreUnexported(Requirement{})

func TestRequirements(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Requirement
	}{
		{
			name: "plain names and comments",
			src:  "# a comment\nrequests\n\n  Flask_SQLAlchemy  # trailing\n",
			want: []Requirement{
				{Name: "requests", Normalized: "requests", Text: "requests", Line: 2, Column: 1},
				{Name: "Flask_SQLAlchemy", Normalized: "flask-sqlalchemy", Text: "Flask_SQLAlchemy", Line: 4, Column: 3},
			},
		},
		{
			name: "specifiers extras and markers",
			src:  "requests[socks, Security] >= 2.0 , <3 ; python_version >= \"3.8\"\nnumpy==1.26.*\nfoo~=1.4.2\nbar===weird-1\nbaz (>=1,<2)\n",
			want: []Requirement{
				{Name: "requests", Normalized: "requests", Extras: []string{"socks", "security"}, Specifier: ">=2.0,<3",
					Specs: []Spec{{">=", "2.0"}, {"<", "3"}}, Marker: `python_version >= "3.8"`,
					Text: `requests[socks, Security] >= 2.0 , <3 ; python_version >= "3.8"`, Line: 1, Column: 1},
				{Name: "numpy", Normalized: "numpy", Specifier: "==1.26.*", Specs: []Spec{{"==", "1.26.*"}}, Text: "numpy==1.26.*", Line: 2, Column: 1},
				{Name: "foo", Normalized: "foo", Specifier: "~=1.4.2", Specs: []Spec{{"~=", "1.4.2"}}, Text: "foo~=1.4.2", Line: 3, Column: 1},
				{Name: "bar", Normalized: "bar", Specifier: "===weird-1", Specs: []Spec{{"===", "weird-1"}}, Text: "bar===weird-1", Line: 4, Column: 1},
				{Name: "baz", Normalized: "baz", Specifier: ">=1,<2", Specs: []Spec{{">=", "1"}, {"<", "2"}}, Text: "baz (>=1,<2)", Line: 5, Column: 1},
			},
		},
		{
			name: "URLs paths and editables",
			src: "pkg @ https://example.com/pkg-1.0.tar.gz ; sys_platform == \"linux\"\n" +
				"https://example.com/dist/Other_Pkg-2.0-py3-none-any.whl\n" +
				"git+https://github.com/org/repo.git@v1#egg=repo_name\n" +
				"./dist/local_pkg-1.0-py3-none-any.whl\n" +
				"-e ./mylib\n" +
				"--editable git+https://github.com/org/lib.git#egg=lib\n" +
				"file:///tmp/thing-1.0.tar.gz\n" +
				"thing-2.0-py3-none-any.whl\n",
			want: []Requirement{
				{Name: "pkg", Normalized: "pkg", URL: "https://example.com/pkg-1.0.tar.gz", Marker: `sys_platform == "linux"`,
					Text: `pkg @ https://example.com/pkg-1.0.tar.gz ; sys_platform == "linux"`, Line: 1, Column: 1},
				{Name: "Other_Pkg", Normalized: "other-pkg", URL: "https://example.com/dist/Other_Pkg-2.0-py3-none-any.whl",
					Text: "https://example.com/dist/Other_Pkg-2.0-py3-none-any.whl", Line: 2, Column: 1},
				{Name: "repo_name", Normalized: "repo-name", URL: "git+https://github.com/org/repo.git@v1#egg=repo_name",
					Text: "git+https://github.com/org/repo.git@v1#egg=repo_name", Line: 3, Column: 1},
				{Name: "local_pkg", Normalized: "local-pkg", URL: "./dist/local_pkg-1.0-py3-none-any.whl", Local: true,
					Text: "./dist/local_pkg-1.0-py3-none-any.whl", Line: 4, Column: 1},
				{Name: "mylib", Normalized: "mylib", URL: "./mylib", Editable: true, Local: true, Text: "./mylib", Line: 5, Column: 4},
				{Name: "lib", Normalized: "lib", URL: "git+https://github.com/org/lib.git#egg=lib", Editable: true,
					Text: "git+https://github.com/org/lib.git#egg=lib", Line: 6, Column: 12},
				{Name: "thing", Normalized: "thing", URL: "file:///tmp/thing-1.0.tar.gz", Local: true, Text: "file:///tmp/thing-1.0.tar.gz", Line: 7, Column: 1},
				{Name: "thing", Normalized: "thing", URL: "thing-2.0-py3-none-any.whl", Local: true, Text: "thing-2.0-py3-none-any.whl", Line: 8, Column: 1},
			},
		},
		{
			name: "continuations hashes and CRLF",
			src:  "foo \\\r\n    >=1.0 \\\r\n    --hash=sha256:abcd\r\nbar==2 --hash sha256:ef --config-settings=\"a=b c\" # note\r\n",
			want: []Requirement{
				{Name: "foo", Normalized: "foo", Specifier: ">=1.0", Specs: []Spec{{">=", "1.0"}}, Options: []string{"--hash=sha256:abcd"},
					Text: "foo     >=1.0", Line: 1, Column: 1},
				{Name: "bar", Normalized: "bar", Specifier: "==2", Specs: []Spec{{"==", "2"}}, Options: []string{"--hash", "--config-settings=a=b c"},
					Text: "bar==2", Line: 4, Column: 1},
			},
		},
		{
			name: "hash sign without a space is part of a URL",
			src:  "https://host/x.tar.gz#egg=x # real comment\n",
			want: []Requirement{{Name: "x", Normalized: "x", URL: "https://host/x.tar.gz#egg=x", Text: "https://host/x.tar.gz#egg=x", Line: 1, Column: 1}},
		},
		{
			name: "unicode before the requirement counts columns in characters",
			src:  "\u00a0\u00a0émoji-free==1\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := Parse("requirements.txt", []byte(tt.src))
			got := f.Requirements()
			if diff := cmp.Diff(tt.want, got, ignoreUnexported, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Requirements() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequirementString(t *testing.T) {
	tests := map[string]string{
		"Requests[Socks,a] >= 2.0 , <3 ; python_version >= '3'": "Requests[a,socks]>=2.0,<3; python_version >= '3'",
		"pkg @ https://h/p.whl ; os_name == 'nt'":               "pkg @ https://h/p.whl ; os_name == 'nt'",
		"git+https://h/r.git#egg=r":                             "git+https://h/r.git#egg=r",
		"plain":                                                 "plain",
	}
	for in, want := range tests {
		r, err := ParseSpec(in)
		if err != nil {
			t.Fatalf("ParseSpec(%q): %v", in, err)
		}
		if got := r.String(); got != want {
			t.Errorf("ParseSpec(%q).String() = %q, want %q", in, got, want)
		}
	}
}

type wantDiag struct {
	sev          diag.Severity
	code         string
	line, column int
}

func diags(l diag.List) []wantDiag {
	var out []wantDiag
	for _, d := range l {
		out = append(out, wantDiag{d.Severity, d.Code, d.Line, d.Column})
	}
	return out
}

func TestParseDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantDiag
	}{
		{"clean", "requests\n# c\n-i https://x/simple\n", nil},
		{"bad name", "requests\n  !!nope\n", []wantDiag{{diag.Error, CodeInvalid, 2, 3}}},
		{"bad version", "x==1.0abc.def\n", []wantDiag{{diag.Error, CodeInvalid, 1, 4}}},
		{"bad version after space", "x >= 1.0abc.def\n", []wantDiag{{diag.Error, CodeInvalid, 1, 6}}},
		{"bad marker", "x; python_version >>> '3'\n", []wantDiag{{diag.Error, CodeInvalid, 1, 3}}},
		{"unclosed extras", "x[a,b\n", []wantDiag{{diag.Error, CodeInvalid, 1, 6}}},
		{"option without value", "-i\n", []wantDiag{{diag.Error, CodeOptionSyntax, 1, 1}}},
		{"unclosed quote", "--hash 'abc\n", []wantDiag{{diag.Error, CodeOptionSyntax, 1, 1}}},
		{"bad editable", "-e https://example.com/x\n", []wantDiag{{diag.Error, CodeInvalid, 1, 4}}},
		{"empty editable value", "ok\n--ed=\n", []wantDiag{{diag.Error, CodeInvalid, 2, 1}}},
		{"empty quoted editable value", "  -e ''\n", []wantDiag{{diag.Error, CodeInvalid, 1, 3}}},
		{"invalid utf-8", "ok\nbad\xff\n", []wantDiag{{diag.Error, CodeEncoding, 2, 4}}},
		{"error inside a continuation", "x \\\n  ==\n", []wantDiag{{diag.Error, CodeInvalid, 2, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := Parse("r.txt", []byte(tt.src))
			if diff := cmp.Diff(tt.want, diags(d), cmp.AllowUnexported(wantDiag{})); diff != "" {
				t.Errorf("Parse diagnostics mismatch (-want +got):\n%s\n%v", diff, d)
			}
			for _, x := range d {
				if x.File != "r.txt" || x.Hint == "" || x.Message == "" {
					t.Errorf("diagnostic lacks file, hint or message: %+v", x)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantDiag
	}{
		{"clean", "requests>=2\npromptflow\npromptflow-tools[x]\n-i https://{private}@pkgs.dev.azure.com/o/_packaging/f/pypi/simple/\n", nil},
		{"pinned promptflow", "promptflow==1.10.0\nPromptFlow_Tools >= 1.4\n", []wantDiag{
			{diag.Warning, CodePinnedPromptflow, 1, 1}, {diag.Warning, CodePinnedPromptflow, 2, 1}}},
		{"promptflow from a URL", "promptflow @ https://h/promptflow-1.0-py3-none-any.whl\n", []wantDiag{{diag.Warning, CodePinnedPromptflow, 1, 1}}},
		{"local wheel", "ok\n  ./dist/p-1.0-py3-none-any.whl\n", []wantDiag{{diag.Error, CodeLocalPath, 2, 3}}},
		{"local directory and editable", "../shared_lib\n-e .\n", []wantDiag{{diag.Error, CodeLocalPath, 1, 1}, {diag.Error, CodeLocalPath, 2, 4}}},
		{"windows path", `C:\wheels\p-1.0-py3-none-any.whl` + "\n", []wantDiag{{diag.Error, CodeLocalPath, 1, 1}}},
		{"file URL by name", "p @ file:///wheels/p-1.0-py3-none-any.whl\n", []wantDiag{{diag.Error, CodeLocalPath, 1, 1}}},
		{"local find-links", "--find-links ./wheels\n-f https://h/links\n", []wantDiag{{diag.Error, CodeLocalPath, 1, 14}}},
		{"unknown option", "--index-ur https://x\n--bogus\n", []wantDiag{{diag.Error, CodeUnknownOption, 2, 1}}},
		{"ambiguous prefix", "--no https://x\n", []wantDiag{{diag.Error, CodeUnknownOption, 1, 1}}},
		{"option on a requirement line", "pkg -i https://x/simple\n", []wantDiag{{diag.Warning, CodeIgnoredOption, 1, 5}}},
		{"hash without requirement", "--hash=sha256:ab\n", []wantDiag{{diag.Warning, CodeIgnoredOption, 1, 1}}},
		{"stray word on option line", "-r a.txt b.txt\n", []wantDiag{{diag.Warning, CodeIgnoredOption, 1, 10}}},
		{"duplicate", "a==1\nb\nA==2\na; os_name=='nt'\n", []wantDiag{{diag.Warning, CodeDuplicate, 3, 1}}},
		{"credentials", "--extra-index-url https://me:s3cret@h/simple\n-i https://${TOKEN}@h/simple\n", []wantDiag{{diag.Warning, CodeCredentials, 1, 19}}},
		{"nested file outside the flow", "-r ../common.txt\n-c sub/c.txt\n--requirement=/etc/r.txt\n", []wantDiag{
			{diag.Warning, CodeIncludeOutside, 1, 4}, {diag.Warning, CodeIncludeOutside, 3, 15}}},
		{"comment swallows the next line", "a \\\n  ==1 # c \\\nb\nc\n# only \\\n", []wantDiag{{diag.Warning, CodeSwallowedLine, 3, 1}}},
		{"private over http", "-i http://{private}@h/simple\n", []wantDiag{{diag.Warning, CodeInsecurePrivate, 1, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, pd := Parse("r.txt", []byte(tt.src))
			if pd.HasErrors() {
				t.Fatalf("unexpected parse errors: %v", pd)
			}
			d := f.Check()
			if diff := cmp.Diff(tt.want, diags(d), cmp.AllowUnexported(wantDiag{})); diff != "" {
				t.Errorf("Check mismatch (-want +got):\n%s\n%v", diff, d)
			}
			for _, x := range d {
				if x.Hint == "" {
					t.Errorf("no hint: %v", x)
				}
				if x.Code == CodeLocalPath && !strings.Contains(x.Hint, "custom base image") {
					t.Errorf("local path hint does not name the custom base image: %q", x.Hint)
				}
				if strings.Contains(x.String(), "s3cret") {
					t.Errorf("secret leaked into diagnostic: %v", x)
				}
			}
		})
	}
}

func TestRoundTripAndLines(t *testing.T) {
	tests := []struct {
		src   string
		lines []string
	}{
		{"", []string{}},
		{"\n", []string{""}},
		{"a", []string{"a"}},
		{"a\r\nb\rc\n", []string{"a", "b", "c"}},
		{"a\n\n", []string{"a", ""}},
		{"\ufeffa\n", []string{"\ufeffa"}},
		{"a\x0cb\x1cc\u2028d\u0085e\n", []string{"a", "b", "c", "d", "e"}},
		{"x \\\ny\n", []string{`x \`, "y"}},
	}
	for _, tt := range tests {
		f, _ := Parse("r", []byte(tt.src))
		if got := string(f.Bytes()); got != tt.src {
			t.Errorf("Bytes() = %q, want %q", got, tt.src)
		}
		if diff := cmp.Diff(tt.lines, f.Lines(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Lines(%q) mismatch (-want +got):\n%s", tt.src, diff)
		}
		got, err := SplitLines([]byte(tt.src))
		if err != nil || !cmp.Equal(got, tt.lines, cmpopts.EquateEmpty()) {
			t.Errorf("SplitLines(%q) = %q, %v", tt.src, got, err)
		}
	}
	if _, err := SplitLines([]byte("a\xffb")); err == nil {
		t.Error("SplitLines accepted invalid UTF-8")
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name, src, spec, want string
		changed               bool
	}{
		{"append to empty", "", "requests>=2", "requests>=2\n", true},
		{"append keeps CRLF", "a\r\nb", "c==1", "a\r\nb\r\nc==1\r\n", true},
		{"upgrade in place keeps comment and indent", "# deps\n  Requests==2.0   # http\nnumpy\n", "requests==2.31",
			"# deps\n  requests==2.31   # http\nnumpy\n", true},
		{"same requirement is a no-op", "requests [socks]>=2 # x\n", "Requests[socks] >= 2", "requests [socks]>=2 # x\n", false},
		{"drops hashes keeps other per-requirement options", "a==1 --hash=sha256:x --config-settings=k=v # c\n", "a==2",
			"a==2 --config-settings=k=v # c\n", true},
		{"replaces a continued requirement", "x \\\n  ==1 # old\ny\n", "x==2", "x==2 # old\ny\n", true},
		{"removes later duplicates", "a==1\nb\na==3 # dup\nc\n", "a>=4", "a>=4\nb\nc\n", true},
		{"dangling continuation is closed first", "a \\", "b", "a \\\n\nb\n", true},
		{"editable replaced by a release", "-e git+https://h/r.git#egg=r\n", "r==1", "r==1\n", true},
		{"marker and extras", "x\n", "y[a]; python_version<'3.12'", "x\ny[a]; python_version<'3.12'\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := Parse("r.txt", []byte(tt.src))
			changed, err := f.Add(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("Bytes() after Add = %q, want %q", got, tt.want)
			}
			spec, _ := ParseSpec(tt.spec)
			found := false
			for _, r := range f.Requirements() {
				if r.Normalized == spec.Normalized {
					found = found || r.key() == spec.key()
				}
			}
			if !found {
				t.Errorf("after Add the file has no %s: %v", spec, f.Requirements())
			}
		})
	}
}

func TestAddErrors(t *testing.T) {
	tests := []struct {
		spec, hint string
	}{
		{"", "NAME[EXTRAS]"},
		{"-i https://x", "NAME[EXTRAS]"},
		{"requests>>2", "NAME[EXTRAS]"},
		{"pkg; python_version", "NAME[EXTRAS]"},
		{"./dist/p-1.0-py3-none-any.whl", "custom base image"},
		{"p @ file:///x/p.whl", "custom base image"},
	}
	for _, tt := range tests {
		f, _ := Parse("r.txt", []byte("a\n"))
		_, err := f.Add(tt.spec)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.Validation {
			t.Errorf("Add(%q) error = %v, want a validation fault", tt.spec, err)
			continue
		}
		if !strings.Contains(fe.Hint, tt.hint) {
			t.Errorf("Add(%q) hint = %q, want it to mention %q", tt.spec, fe.Hint, tt.hint)
		}
		if string(f.Bytes()) != "a\n" {
			t.Errorf("failed Add(%q) changed the file: %q", tt.spec, f.Bytes())
		}
	}
}

func TestIndexURLsAndRender(t *testing.T) {
	src := "# feed: {private} stays in comments\n" +
		"-i https://{private}@pkgs.dev.azure.com/o/_packaging/f/pypi/simple/ # {private}\n" +
		"--extra-index-url=https://pypi.org/simple\n" +
		"-f https://{private}@h/links\n" +
		"pkg==1\n"
	f, d := Parse("r.txt", []byte(src))
	if len(d) != 0 {
		t.Fatal(d)
	}
	want := []IndexURL{
		{URL: "https://{private}@pkgs.dev.azure.com/o/_packaging/f/pypi/simple/", HasPrivate: true, Line: 2, Column: 4},
		{URL: "https://pypi.org/simple", Extra: true, Line: 3, Column: 19},
	}
	if diff := cmp.Diff(want, f.IndexURLs()); diff != "" {
		t.Errorf("IndexURLs mismatch (-want +got):\n%s", diff)
	}
	got := string(f.Render("user:t/k@n"))
	wantR := strings.Replace(src, "https://{private}@pkgs", "https://user:t%2Fk%40n@pkgs", 1)
	wantR = strings.Replace(wantR, "https://{private}@h/links", "https://user:t%2Fk%40n@h/links", 1)
	if got != wantR {
		t.Errorf("Render =\n%s\nwant\n%s", got, wantR)
	}
	if string(f.Bytes()) != src {
		t.Error("Render changed the file")
	}
}

func TestIncludes(t *testing.T) {
	f, _ := Parse("r.txt", []byte("-r base.txt\n--constraint=c.txt\n--requirement other.txt\n"))
	want := []Include{
		{Path: "base.txt", Line: 1, Column: 4},
		{Path: "c.txt", Constraint: true, Line: 2, Column: 14},
		{Path: "other.txt", Line: 3, Column: 15},
	}
	if diff := cmp.Diff(want, f.Includes()); diff != "" {
		t.Errorf("Includes mismatch (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "requirements.txt")
	if err := os.WriteFile(p, []byte("promptflow==1.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, d, err := Load(p)
	if err != nil || len(d) != 0 {
		t.Fatalf("Load: %v %v", d, err)
	}
	if c := f.Check(); len(c) != 1 || c[0].File != p {
		t.Errorf("Check after Load = %v", c)
	}
	_, _, err = Load(filepath.Join(dir, "missing.txt"))
	if !fault.Is(err, fault.Validation) || fault.HintOf(err) == "" {
		t.Errorf("Load(missing) = %v, want a validation fault with a hint", err)
	}
}

// TestConformanceFixtures parses every requirements file of the promptflow
// fixture corpus: none has a syntax error, and the pins it has are reported.
func TestConformanceFixtures(t *testing.T) {
	root := shared.Path(t, "conformance", "promptflow", "test_configs")
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(strings.ToLower(d.Name()), "requirements") {
			return err
		}
		n++
		f, pd, err := Load(p)
		if err != nil {
			return err
		}
		if len(pd) != 0 {
			t.Errorf("%s: %v", p, pd)
		}
		data, _ := os.ReadFile(p)
		if string(f.Bytes()) != string(data) {
			t.Errorf("%s does not round-trip", p)
		}
		for _, c := range f.Check() {
			if c.Code != CodePinnedPromptflow {
				t.Errorf("%s: unexpected %v", p, c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("found only %d requirements files under %s", n, root)
	}
}

func ExampleFile_Add() {
	f, _ := Parse("requirements.txt", []byte("# tools\nrequests==2.0  # http client\n"))
	_, _ = f.Add("requests>=2.31")
	_, _ = f.Add("numpy")
	fmt.Print(string(f.Bytes()))
	// Output:
	// # tools
	// requests>=2.31  # http client
	// numpy
}
