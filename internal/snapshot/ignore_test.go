package snapshot

import (
	"strings"
	"testing"
)

// ignoreCases were checked against git 2.39 (`git check-ignore --no-index`,
// and `git status` where the two disagree): each row is ignore-file content, a
// path, whether it is a folder, and whether it is ignored, parent folders
// included. Rows marked "not git" are deliberate: there pfz does what
// pfazure's pathspec matcher does.
var ignoreCases = []struct {
	rules string
	path  string
	dir   bool
	want  bool
}{
	// Plain names match at any depth, files and folders alike.
	{"foo", "foo", false, true},
	{"foo", "a/b/foo", false, true},
	{"foo", "foo", true, true},
	{"foo", "foo/bar.txt", false, true},
	{"foo", "foobar", false, false},
	{"foo", "a/foo/b", false, true},
	// Stars and question marks stay inside one path part.
	{"*.log", "x.log", false, true},
	{"*.log", "deep/er/x.log", false, true},
	{"*.log", "x.log.txt", false, false},
	{"*.log", ".log", false, true},
	{"a*", "a", false, true},
	{"a*b", "a/b", false, false},
	{"a?c", "abc", false, true},
	{"a?c", "ac", false, false},
	{"a?c", "a/c", false, false},
	{"a**b", "axxb", false, true},
	{"a**b", "ax/xb", false, false},
	{"f?o", "fö", false, false},
	{"f?", "fö", false, true}, // not git: git's ? matches one byte, pathspec one character
	// Bracket expressions.
	{"[abc].txt", "b.txt", false, true},
	{"[abc].txt", "d.txt", false, false},
	{"[a-c].txt", "c.txt", false, true},
	{"[!a-c].txt", "c.txt", false, false},
	{"[!a-c].txt", "d.txt", false, true},
	{"[^a-c].txt", "d.txt", false, true},
	{"[]].txt", "].txt", false, true},
	{"[!]].txt", "a.txt", false, true},
	{"[[:digit:]]x", "7x", false, true},
	{"[[:digit:]]x", "ax", false, false},
	{"[[:upper:][:digit:]]", "Q", false, true},
	{"[a-]", "-", false, true},
	{"[abc", "[abc", false, true}, // not git: git matches nothing, pathspec reads an unclosed [ literally
	// Anchors: a leading or middle slash ties the pattern to the root.
	{"/foo", "foo", false, true},
	{"/foo", "a/foo", false, false},
	{"a/foo", "a/foo", false, true},
	{"a/foo", "b/a/foo", false, false},
	{"a/*.py", "a/x.py", false, true},
	{"a/*.py", "a/b/x.py", false, false},
	// Trailing slash: folders only.
	{"build/", "build", true, true},
	{"build/", "build", false, false},
	{"build/", "src/build", true, true},
	{"build/", "build/x.o", false, true},
	{"/build/", "src/build", true, false},
	{"a/b/", "a/b", true, true},
	{"a/b/", "a/b", false, false},
	// Double stars.
	{"**/foo", "foo", false, true},
	{"**/foo", "a/b/foo", false, true},
	{"**/foo/bar", "x/foo/bar", false, true},
	{"foo/**", "foo", true, false}, // git status agrees (check-ignore says "foo/" matches)
	{"foo/**", "foo/a", false, true},
	{"foo/**", "foo/a/b", false, true},
	{"a/**/b", "a/b", false, true},
	{"a/**/b", "a/x/b", false, true},
	{"a/**/b", "a/x/y/b", false, true},
	{"a/**/b", "a/x/y/c", false, false},
	{"a/**/**/b", "a/x/b", false, true},
	{"**", "anything/at/all", false, true},
	{"/**", "x", false, true},
	{"**/", "x", false, false},
	{"**/", "x", true, true},
	// Negation: the last matching line wins.
	{"*.log\n!keep.log", "keep.log", false, false},
	{"*.log\n!keep.log", "other.log", false, true},
	{"!keep.log\n*.log", "keep.log", false, true},
	{"logs/*\n!logs/keep.txt", "logs/keep.txt", false, false},
	{"logs/*\n!logs/keep.txt", "logs/drop.txt", false, true},
	// ...but nothing inside an excluded folder comes back.
	{"logs\n!logs/keep.txt", "logs/keep.txt", false, true},
	{"logs/\n!logs/keep.txt", "logs/keep.txt", false, true},
	// Comments, blanks, escapes, trailing spaces, CRLF.
	{"# foo\n\nfoo", "foo", false, true},
	{"# foo", "# foo", false, false},
	{"\\#foo", "#foo", false, true},
	{"\\!foo", "!foo", false, true},
	{"foo   ", "foo", false, true},
	{"foo\\ ", "foo ", false, true},
	{"foo\\ ", "foo", false, false},
	{"foo\r\nbar\r\n", "bar", false, true},
	{"\\*", "*", false, true},
	{"\\*", "x", false, false},
	{"/", "x", false, false},
	{"!", "x", false, false},
	// Case matters.
	{"Foo", "foo", false, false},
	// Invalid UTF-8 bytes match themselves only.
	{"a\xff", "a\xff", false, true},
	{"a\xff", "a\xfe", false, false},
	{"a?", "a\xfe", false, true},
}

func TestIgnored(t *testing.T) {
	for _, tc := range ignoreCases {
		r, errs := ParseIgnore(".gitignore", []byte(tc.rules))
		if len(errs) != 0 {
			t.Errorf("ParseIgnore(%q): %v", tc.rules, errs)
			continue
		}
		if got := r.Ignored(tc.path, tc.dir); got != tc.want {
			t.Errorf("rules %q, path %q (dir=%v): ignored=%v, want %v", tc.rules, tc.path, tc.dir, got, tc.want)
		}
	}
}

func TestParseIgnoreErrors(t *testing.T) {
	r, errs := ParseIgnore("x/.amlignore", []byte("ok\nbad\\\n  \n*.tmp"))
	if len(errs) != 1 || errs[0].Line != 2 || errs[0].Source != "x/.amlignore" {
		t.Fatalf("errors = %+v, want one on line 2", errs)
	}
	if !strings.Contains(errs[0].Error(), "x/.amlignore:2") {
		t.Errorf("error text %q does not name the place", errs[0].Error())
	}
	if !r.Match("ok", false) || !r.Match("a.tmp", false) || r.Match("bad", false) {
		t.Error("the usable lines around a bad one must still apply")
	}
}

func TestWhy(t *testing.T) {
	r, _ := ParseIgnore(".gitignore", []byte("*.log\n!keep.log\nbuild/\n"))
	for _, tc := range []struct {
		path string
		dir  bool
		want string
	}{
		{"a.log", false, ".gitignore:1: *.log"},
		{"keep.log", false, ""},
		{"build", true, ".gitignore:3: build/"},
		{"src.py", false, ""},
	} {
		if got := r.Why(tc.path, tc.dir); got != tc.want {
			t.Errorf("Why(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	var zero *IgnoreRules
	if zero.Ignored("x", false) || zero.Why("x", false) != "" {
		t.Error("nil rules must ignore nothing")
	}
}

// TestIgnoreManyStars makes sure patterns full of "**" stay fast on deep
// paths: without the memo this case takes exponential time.
func TestIgnoreManyStars(t *testing.T) {
	r, _ := ParseIgnore("x", []byte(strings.Repeat("**/a/", 12)+"b"))
	deep := strings.Repeat("a/", 40) + "c"
	if r.Match(deep, false) {
		t.Error("must not match: last part differs")
	}
	if !r.Match(strings.Repeat("a/", 40)+"b", false) {
		t.Error("must match")
	}
	r2, _ := ParseIgnore("x", []byte(strings.Repeat("*a", 30)+"b"))
	if r2.Match(strings.Repeat("a", 200), false) {
		t.Error("must not match")
	}
}

// FuzzParseIgnore checks that any ignore-file content parses and matches
// without panicking, and that appending "!" + a line to the rules always
// re-includes what that line alone would exclude.
func FuzzParseIgnore(f *testing.F) {
	for _, tc := range ignoreCases {
		f.Add(tc.rules, tc.path, tc.dir)
	}
	f.Add("[[:alpha:]-z]\n\\", "a/b", true)
	f.Add("[z-a]", "q", false)
	f.Add("\uFEFFfoo", "foo", false)
	f.Fuzz(func(t *testing.T, rules, path string, dir bool) {
		r, _ := ParseIgnore("fuzz", []byte(rules))
		r.Ignored(path, dir)
		r.Why(path, dir)
		for _, line := range strings.Split(rules, "\n") {
			line = strings.TrimPrefix(strings.TrimSuffix(line, "\r"), "\uFEFF")
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			neg, _ := ParseIgnore("fuzz", []byte(line+"\n!"+line))
			if neg.Match(path, dir) {
				t.Fatalf("%q then its negation still excludes %q", line, path)
			}
		}
	})
}
